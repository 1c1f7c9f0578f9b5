package fhir

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/mbcplan/mbcplan/recommend"
)

// Identifier systems of the records mbcplan writes. A draft's identifier is
// derived from its inputs (see BuildCarePlan), so the same inputs give the
// same identifier and a conditional create never makes a duplicate.
const (
	// DraftIdentifierSystem identifies proposals (intent proposal).
	DraftIdentifierSystem = "urn:mbcplan:draft"
	// PlanIdentifierSystem identifies accepted plans (intent plan).
	PlanIdentifierSystem = "urn:mbcplan:plan"
	// NoteIdentifierSystem identifies DocumentReference notes of accepted plans.
	NoteIdentifierSystem = "urn:mbcplan:note"
	// AppIdentifierSystem identifies the app itself as a Device.
	AppIdentifierSystem = "urn:mbcplan:app"
	// AppIdentifierValue is the app's identifier value.
	AppIdentifierValue = "mbcplan"
	// RulesURIPrefix starts CarePlan.instantiatesUri: the rule set and its
	// version, then "#" and the option ID.
	RulesURIPrefix = "urn:mbcplan:rules:"
)

// Code systems written by the CarePlan mapping.
const (
	cpSystemRxNorm   = "http://www.nlm.nih.gov/research/umls/rxnorm"
	cpSystemLOINC    = "http://loinc.org"
	cpSystemSNOMED   = "http://snomed.info/sct"
	cpSystemCategory = "http://hl7.org/fhir/us/core/CodeSystem/careplan-category"
	cpCategoryCode   = "assess-plan"
	cpXHTMLNS        = "http://www.w3.org/1999/xhtml"
)

// Sentinel errors of the CarePlan mapping.
var (
	// ErrUnknownOption: the option ID asked for is not in the plan.
	ErrUnknownOption = errors.New("fhir: unknown option")
	// ErrPatientMismatch: the plan is about another patient than the
	// launch context.
	ErrPatientMismatch = errors.New("fhir: plan is about another patient than the context")
	// ErrUnknownChoice: a choice names a group of alternatives the chosen
	// option does not have, or a drug that is not in its group.
	ErrUnknownChoice = errors.New("fhir: unknown choice")
)

// unverifiedRxNorm are RxNorm codes the clinical reference marks partial or
// unverified (REFERENCE.md sections 2 and 8): they may be used to read a
// record but are never written. A drug carrying one is written by name.
var unverifiedRxNorm = map[string]bool{
	"2267582": true, // fam-trastuzumab deruxtecan
	"2361285": true, // tucatinib
	"2099704": true, // talazoparib
	"2360231": true, // sacituzumab govitecan
	"2360232": true, // sacituzumab govitecan (conflicting source)
}

// DraftContext is who writes a draft, for whom and when.
type DraftContext struct {
	// PatientRef is the patient in context ("Patient/123"); when empty the
	// plan's patient reference is used.
	PatientRef string
	// EncounterRef is the encounter in context, if any.
	EncounterRef string
	// ClinicianRef is the launching clinician (fhirUser, "Practitioner/9");
	// ClinicianName its display. Empty on the command line.
	ClinicianRef  string
	ClinicianName string
	// Now is the time of writing (required).
	Now time.Time
	// OptionID is the option the clinician chose; empty picks the
	// top-ranked option.
	OptionID string
	// Note is the clinician's free-text note, if any.
	Note string
	// Choices are the clinician's choices among alternatives: the choice
	// group of the chosen option (recommend.Drug.Choice, "cdk46") → the
	// drug chosen ("palbociclib", compared without regard to case). Only
	// the chosen drug of a group becomes an activity; the others are named
	// in a note. A group without a choice (or with an empty one) is written
	// as one activity per alternative, each saying the clinician chooses
	// one. A group or drug the option does not have is ErrUnknownChoice.
	Choices map[string]string
}

// Element ids of the annotations the writer edits.
const (
	clinicianNoteID = "clinician-note"
)

// BuildCarePlan maps a plan and the chosen option to a CarePlan proposal:
// status draft, intent proposal, category assess-plan, an identifier derived
// from the inputs, one MedicationRequest activity per drug of the chosen
// option, ServiceRequest activities for monitoring, tests, referrals and
// data-needed orders, other items as described activities, and notes naming
// the alternatives, the drugs not proposed, the safety flags and the data
// needed. Only the chosen option's drugs appear as products. Where the
// option offers alternatives (recommend.Drug.Choice), dc.Choices picks one:
// only it becomes an activity and the others are named in a note; without
// a choice each alternative is an activity described as "One of: …" for
// the clinician to choose. A plan without options gives a work-up proposal
// (orders and notes, no drugs).
//
// The CarePlan has no id: the server (or the app store) assigns it.
func BuildCarePlan(p recommend.Plan, f recommend.Facts, dc DraftContext) (*r4.CarePlan, error) {
	if dc.Now.IsZero() {
		return nil, errors.New("fhir: careplan: no time given")
	}
	patient := dc.PatientRef
	if patient == "" {
		patient = p.Patient.Ref
	}
	if patient == "" {
		patient = f.Patient.Ref
	}
	if patient == "" {
		return nil, errors.New("fhir: careplan: no patient reference")
	}
	for _, r := range []string{p.Patient.Ref, f.Patient.Ref} {
		if r != "" && r != patient {
			return nil, ErrPatientMismatch
		}
	}
	opt, err := chooseOption(p, dc.OptionID)
	if err != nil {
		return nil, err
	}
	optID := ""
	if opt != nil {
		optID = opt.ID
	}
	groups, err := resolveChoices(opt, dc.Choices)
	if err != nil {
		return nil, err
	}

	cp := &r4.CarePlan{
		Status: r4.RequestStatusDraft,
		Intent: r4.CarePlanIntentProposal,
		Category: []r4.CodeableConcept{{
			Coding: []r4.Coding{{
				System:  cpStr(cpSystemCategory),
				Code:    cpStr(cpCategoryCode),
				Display: cpStr("Assessment and Plan of Treatment"),
			}},
		}},
		Identifier: []r4.Identifier{{
			System: cpStr(DraftIdentifierSystem),
			Value:  cpStr(draftIdentity(patient, p, f, opt, groups)),
		}},
		InstantiatesUri: []string{rulesURI(p.KnowledgeVersion, optID)},
		Subject:         r4.Reference{Reference: cpStr(patient), Type: cpStr("Patient")},
		Created:         cpStr(cpTime(dc.Now)),
		Author:          appReference(),
	}
	if dc.EncounterRef != "" {
		cp.Encounter = &r4.Reference{Reference: cpStr(dc.EncounterRef)}
	}
	if c := clinicianReference(dc); c != nil {
		cp.Contributor = []r4.Reference{*c}
	}
	cp.Title = cpStr(draftTitle(opt))
	cp.Description = cpStr(draftDescription(p, opt))
	cp.Addresses = refList(cancerRefs(f))
	cp.SupportingInfo = refList(supportingRefs(p, opt))
	cp.Activity = buildActivities(p, opt, groups)
	cp.Note = buildNotes(p, opt, groups, dc)
	cp.Text = CarePlanNarrative(cp)
	return cp, nil
}

// chooseOption returns the option with the given ID, or the top-ranked one
// when id is empty (nil when the plan has none).
func chooseOption(p recommend.Plan, id string) (*recommend.Option, error) {
	if id != "" {
		for i := range p.Options {
			if p.Options[i].ID == id {
				return &p.Options[i], nil
			}
		}
		return nil, ErrUnknownOption
	}
	var best *recommend.Option
	for i := range p.Options {
		o := &p.Options[i]
		if best == nil || rankBefore(o.Rank, best.Rank) {
			best = o
		}
	}
	return best, nil
}

// choiceGroup is one set of alternatives within an option: drugs sharing
// a non-empty recommend.Drug.Choice, of which one is given.
type choiceGroup struct {
	// names are the alternatives, in the option's order, without duplicates.
	names []string
	// chosen is the clinician's choice (one of names, as the plan spells
	// it); empty when none was made.
	chosen string
}

// open reports whether the clinician still has to choose among the
// group's alternatives.
func (g *choiceGroup) open() bool { return g != nil && g.chosen == "" && len(g.names) > 1 }

// others are the alternatives not chosen.
func (g *choiceGroup) others() []string {
	var out []string
	for _, n := range g.names {
		if n != g.chosen {
			out = append(out, n)
		}
	}
	return out
}

// resolveChoices groups the option's alternatives and applies the
// clinician's choices. A choice for a group the option lacks, or naming a
// drug outside its group, is ErrUnknownChoice; an empty choice is none.
func resolveChoices(opt *recommend.Option, choices map[string]string) (map[string]*choiceGroup, error) {
	groups := map[string]*choiceGroup{}
	if opt != nil {
		for _, d := range opt.Drugs {
			name := strings.TrimSpace(d.Name)
			if d.Choice == "" || name == "" {
				continue
			}
			g := groups[d.Choice]
			if g == nil {
				g = &choiceGroup{}
				groups[d.Choice] = g
			}
			if !slices.Contains(g.names, d.Name) {
				g.names = append(g.names, d.Name)
			}
		}
	}
	for key, drug := range choices {
		drug = strings.TrimSpace(drug)
		if drug == "" {
			continue
		}
		g := groups[key]
		if g == nil {
			return nil, ErrUnknownChoice
		}
		for _, n := range g.names {
			if strings.EqualFold(strings.TrimSpace(n), drug) {
				g.chosen = n
			}
		}
		if g.chosen == "" {
			return nil, ErrUnknownChoice
		}
	}
	return groups, nil
}

// sortedKeys returns a map's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// rankBefore orders ranks ascending with 0 (unranked) last.
func rankBefore(a, b int) bool {
	switch {
	case a == 0:
		return false
	case b == 0:
		return true
	}
	return a < b
}

func rulesURI(version, optionID string) string {
	if version == "" {
		version = "unknown"
	}
	u := RulesURIPrefix + version
	if optionID != "" {
		u += "#" + optionID
	}
	return u
}

// draftIdentity is the hex SHA-256 digest of the patient reference, the
// knowledge version, the option ID, a digest of the facts used (the
// option's facts, the subtype calls and the cancer conditions, each as its
// sorted references and values) and, when the clinician chose among
// alternatives, the choices (group=drug, sorted). A draft without choices
// keeps the identifier it had before choices existed.
func draftIdentity(patient string, p recommend.Plan, f recommend.Facts, opt *recommend.Option, groups map[string]*choiceGroup) string {
	var facts []string
	add := func(kind, value string, s recommend.Source) {
		refs := append([]string(nil), s.Refs...)
		sort.Strings(refs)
		facts = append(facts, strings.Join([]string{kind, value, strings.Join(refs, ","), s.Date, s.Status,
			strconv.FormatBool(s.StatedByClinician)}, "\x1f"))
	}
	optID := ""
	if opt != nil {
		optID = opt.ID
		for _, u := range opt.FactsUsed {
			add("fact", u.Fact, u.Source)
		}
	}
	for _, c := range []struct {
		name string
		call recommend.Call
	}{
		{"er", p.Subtype.ER}, {"pr", p.Subtype.PR}, {"her2", p.Subtype.HER2}, {"hr", p.Subtype.HR},
		{"her2-low", p.Subtype.HER2Low}, {"her2-ultralow", p.Subtype.HER2Ultralow},
	} {
		add(c.name, c.call.Value, c.call.Source)
	}
	for _, c := range f.Cancer {
		add("cancer", c.Coding.System+"|"+c.Coding.Code, c.Source)
	}
	sort.Strings(facts)
	fd := sha256.Sum256([]byte(strings.Join(facts, "\n")))
	parts := []string{patient, p.KnowledgeVersion, optID, hex.EncodeToString(fd[:])}
	var chosen []string
	for _, k := range sortedKeys(groups) {
		if c := groups[k].chosen; c != "" {
			chosen = append(chosen, k+"="+c)
		}
	}
	if len(chosen) > 0 {
		parts = append(parts, "choices:"+strings.Join(chosen, "\x1f"))
	}
	id := sha256.Sum256([]byte(strings.Join(parts, "\n")))
	return hex.EncodeToString(id[:])
}

// appReference is the app as a logical Device reference: an identifier and
// a display, no literal reference, so no server needs a Device resource.
func appReference() *r4.Reference {
	return &r4.Reference{
		Type:       cpStr("Device"),
		Identifier: &r4.Identifier{System: cpStr(AppIdentifierSystem), Value: cpStr(AppIdentifierValue)},
		Display:    cpStr("mbcplan (treatment-planning decision support)"),
	}
}

// clinicianReference is the launching clinician, or nil when unknown.
func clinicianReference(dc DraftContext) *r4.Reference {
	if dc.ClinicianRef == "" && dc.ClinicianName == "" {
		return nil
	}
	r := &r4.Reference{}
	if dc.ClinicianRef != "" {
		r.Reference = cpStr(dc.ClinicianRef)
	}
	if dc.ClinicianName != "" {
		r.Display = cpStr(dc.ClinicianName)
	}
	return r
}

func draftTitle(opt *recommend.Option) string {
	if opt == nil {
		return "Proposed work-up for metastatic breast cancer"
	}
	return "Proposed treatment plan: " + opt.Title
}

func draftDescription(p recommend.Plan, opt *recommend.Option) string {
	var b strings.Builder
	b.WriteString("Proposal generated by mbcplan for clinician review; it is not an order.")
	if p.Subtype.Summary != "" {
		b.WriteString(" Subtype: " + p.Subtype.Summary + ".")
	}
	line := p.Line
	if opt != nil && opt.Line != 0 {
		line = opt.Line
	}
	if line > 0 {
		b.WriteString(" Line of therapy: " + strconv.Itoa(line) + ".")
	}
	if opt == nil {
		b.WriteString(" No treatment option could be proposed from the record; see the data needed.")
		return b.String()
	}
	b.WriteString(" Option " + strconv.Itoa(opt.Rank) + ": " + opt.Title)
	if opt.Preferred {
		b.WriteString(" (guideline-preferred)")
	}
	b.WriteString(".")
	if opt.Rationale != "" {
		b.WriteString(" Rationale: " + opt.Rationale)
		if !strings.HasSuffix(opt.Rationale, ".") {
			b.WriteString(".")
		}
	}
	if opt.Schedule != "" {
		b.WriteString(" Schedule: " + opt.Schedule + ".")
	}
	return b.String()
}

// cancerRefs are the breast cancer Conditions the plan addresses.
func cancerRefs(f recommend.Facts) []string {
	var refs []string
	for _, c := range f.Cancer {
		refs = append(refs, c.Refs...)
	}
	return refs
}

// supportingRefs are the resources the chosen option and the subtype call
// relied on.
func supportingRefs(p recommend.Plan, opt *recommend.Option) []string {
	var refs []string
	if opt != nil {
		for _, u := range opt.FactsUsed {
			refs = append(refs, u.Refs...)
		}
	}
	for _, c := range []recommend.Call{p.Subtype.ER, p.Subtype.PR, p.Subtype.HER2, p.Subtype.HR, p.Subtype.HER2Low, p.Subtype.HER2Ultralow} {
		refs = append(refs, c.Refs...)
	}
	return refs
}

// refList turns references into Reference elements, in first-seen order,
// without duplicates, keeping only references a server can resolve
// ("Type/id", with or without a version, or an absolute http(s) URL): a
// Bundle's urn:uuid means nothing outside that Bundle.
func refList(refs []string) []r4.Reference {
	seen := map[string]bool{}
	var out []r4.Reference
	for _, r := range refs {
		if seen[r] || !resolvableRef(r) {
			continue
		}
		seen[r] = true
		out = append(out, r4.Reference{Reference: cpStr(r)})
	}
	return out
}

// resolvableRef reports whether r is a literal reference a server can
// resolve.
func resolvableRef(r string) bool {
	if strings.HasPrefix(r, "https://") || strings.HasPrefix(r, "http://") {
		return len(r) < 2048 && !strings.ContainsAny(r, " \t\n")
	}
	parts := strings.Split(r, "/")
	if len(parts) != 2 && !(len(parts) == 4 && parts[2] == "_history") {
		return false
	}
	if !isResourceType(parts[0]) || !isFHIRID(parts[1]) {
		return false
	}
	return len(parts) == 2 || isFHIRID(parts[3])
}

func isResourceType(s string) bool {
	if s == "" || s[0] < 'A' || s[0] > 'Z' {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// isFHIRID checks the FHIR id syntax: 1–64 of [A-Za-z0-9-.].
func isFHIRID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// itemApplies reports whether an item belongs to the chosen option (items
// naming no option belong to every option).
func itemApplies(options []string, opt *recommend.Option) bool {
	if len(options) == 0 {
		return true
	}
	if opt == nil {
		return false
	}
	for _, id := range options {
		if id == opt.ID {
			return true
		}
	}
	return false
}

// buildActivities makes the drug activities, then the orders, then the
// other items. Activity element ids are stable within a draft ("drug-1",
// "order-2", "item-3"): an edit removes activities by them.
func buildActivities(p recommend.Plan, opt *recommend.Option, groups map[string]*choiceGroup) []r4.CarePlanActivity {
	var acts []r4.CarePlanActivity
	n := 0
	next := func(prefix string) *string {
		n++
		return cpStr(prefix + "-" + strconv.Itoa(n))
	}
	if opt != nil {
		for _, d := range opt.Drugs {
			if strings.TrimSpace(d.Name) == "" {
				continue
			}
			desc := "Part of " + opt.Title
			if g := groups[d.Choice]; d.Choice != "" && g != nil && len(g.names) > 1 {
				switch {
				case g.open():
					desc = alternativesDescription(g.names) + "; part of " + opt.Title
				case d.Name != g.chosen:
					// Only the chosen alternative is proposed; the others
					// are named in a note.
					continue
				default:
					desc = chosenDescription(g.names) + "; part of " + opt.Title
				}
			}
			if opt.Schedule != "" {
				desc += "; schedule: " + opt.Schedule
			}
			acts = append(acts, r4.CarePlanActivity{
				Id: next("drug"),
				Detail: &r4.CarePlanActivityDetail{
					Kind:                   cpKind(r4.CarePlanActivityKindMedicationRequest),
					InstantiatesUri:        []string{rulesURI(p.KnowledgeVersion, opt.ID)},
					Status:                 r4.CarePlanActivityStatusNotStarted,
					ProductCodeableConcept: drugConcept(d),
					Description:            cpStr(desc),
				},
			})
		}
	}

	var items []recommend.Item
	seen := map[string]bool{}
	addItems := func(list []recommend.Item) {
		for _, it := range list {
			key := it.ID
			if key == "" {
				key = it.Kind + "\x1f" + it.Text
			}
			if seen[key] || !itemApplies(it.Options, opt) {
				continue
			}
			seen[key] = true
			items = append(items, it)
		}
	}
	addItems(p.Monitoring)
	if opt != nil {
		addItems(opt.Monitoring)
	}
	for _, it := range items {
		acts = append(acts, serviceActivity(next("order"), it.Code, it.Text, itemDescription(it)))
	}
	for _, dn := range p.DataNeeded {
		if dn.Order == nil {
			continue
		}
		desc := "Data needed: " + dn.Item
		if dn.Why != "" {
			desc += " — " + dn.Why
		}
		desc += ruleSuffix(dn.Rules)
		acts = append(acts, serviceActivity(next("order"), dn.Order, dn.Item, desc))
	}

	var other []recommend.Item
	seen = map[string]bool{}
	for _, list := range [][]recommend.Item{p.Lifestyle, p.Trials, p.SharedDecision} {
		for _, it := range list {
			key := it.ID + "\x1f" + it.Kind + "\x1f" + it.Text
			if seen[key] || !itemApplies(it.Options, opt) {
				continue
			}
			seen[key] = true
			other = append(other, it)
		}
	}
	for _, it := range other {
		d := &r4.CarePlanActivityDetail{
			Status:      r4.CarePlanActivityStatusNotStarted,
			Description: cpStr(itemDescription(it)),
		}
		if c := orderConcept(it.Code, ""); c != nil {
			d.Code = c
		}
		acts = append(acts, r4.CarePlanActivity{Id: next("item"), Detail: d})
	}
	return acts
}

func itemDescription(it recommend.Item) string {
	label := itemKindLabel(it.Kind)
	s := it.Text
	if label != "" {
		s = label + ": " + s
	}
	return s + ruleSuffix(it.Rules)
}

func itemKindLabel(kind string) string {
	switch kind {
	case "monitoring":
		return "Monitoring"
	case "test":
		return "Test"
	case "referral":
		return "Referral"
	case "lifestyle":
		return "Lifestyle"
	case "trial":
		return "Clinical trial screening"
	case "shared-decision":
		return "Shared decision"
	case "supportive":
		return "Supportive care"
	}
	return ""
}

// ruleSuffix is " [R1, R2]" or "".
func ruleSuffix(rules []string) string {
	var uniq []string
	for _, r := range rules {
		if r != "" && !slices.Contains(uniq, r) {
			uniq = append(uniq, r)
		}
	}
	if len(uniq) == 0 {
		return ""
	}
	return " [" + strings.Join(uniq, ", ") + "]"
}

// serviceActivity is a ServiceRequest-kind activity; the code is written
// only when it is LOINC or SNOMED CT, otherwise the text stands alone.
func serviceActivity(id *string, code *recommend.Coding, text, desc string) r4.CarePlanActivity {
	return r4.CarePlanActivity{
		Id: id,
		Detail: &r4.CarePlanActivityDetail{
			Kind:        cpKind(r4.CarePlanActivityKindServiceRequest),
			Code:        orderConcept(code, text),
			Status:      r4.CarePlanActivityStatusNotStarted,
			Description: cpStr(desc),
		},
	}
}

// orderConcept is a LOINC or SNOMED concept with text; codes of any other
// system are left out. Nil when there is neither code nor text.
func orderConcept(c *recommend.Coding, text string) *r4.CodeableConcept {
	cc := &r4.CodeableConcept{}
	if c != nil && (c.System == cpSystemLOINC || c.System == cpSystemSNOMED) && validCode(c.Code) {
		cd := r4.Coding{System: cpStr(c.System), Code: cpStr(c.Code)}
		if c.Display != "" {
			cd.Display = cpStr(c.Display)
		}
		cc.Coding = []r4.Coding{cd}
		if text == "" {
			text = c.Display
		}
	}
	if text != "" {
		cc.Text = cpStr(text)
	}
	if cc.Coding == nil && cc.Text == nil {
		return nil
	}
	return cc
}

// validCode accepts LOINC (digits and one hyphen) and SNOMED (digits) codes.
func validCode(s string) bool {
	if s == "" || len(s) > 20 {
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return s[0] != '-' && s[len(s)-1] != '-'
}

// Wording of alternatives in a drug activity's description. The narrative
// groups the activities of one open choice by their shared description.
const (
	altPrefix        = "One of: "
	altSuffix        = " — choose one before accepting"
	chosenPrefix     = "Chosen by the clinician from: "
	altNameSeparator = ", "
)

// alternativesDescription says plainly that a drug is one of N
// alternatives and that the clinician chooses one.
func alternativesDescription(names []string) string {
	return altPrefix + strings.Join(names, altNameSeparator) + altSuffix
}

// chosenDescription says which alternatives a chosen drug was chosen from.
func chosenDescription(names []string) string {
	return chosenPrefix + strings.Join(names, altNameSeparator)
}

// choiceNote names a choice and the alternatives considered.
func choiceNote(chosen string, others []string) string {
	return chosen + " chosen by the clinician; alternatives considered: " + strings.Join(others, altNameSeparator) + "."
}

// openChoiceOf returns the alternatives an activity description names
// when it is one of an open choice.
func openChoiceOf(desc string) (names []string, ok bool) {
	rest, found := strings.CutPrefix(desc, altPrefix)
	if !found {
		return nil, false
	}
	list, _, found := strings.Cut(rest, altSuffix)
	if !found {
		return nil, false
	}
	return strings.Split(list, altNameSeparator), true
}

// drugConcept is the verified RxNorm ingredient code with the drug's name,
// or the name alone when no verified code is known (or the code is one the
// clinical reference marks partial or unverified).
func drugConcept(d recommend.Drug) *r4.CodeableConcept {
	cc := &r4.CodeableConcept{Text: cpStr(d.Name)}
	if isDigits(d.RxNorm) && !unverifiedRxNorm[d.RxNorm] {
		cc.Coding = []r4.Coding{{System: cpStr(cpSystemRxNorm), Code: cpStr(d.RxNorm), Display: cpStr(d.Name)}}
	}
	return cc
}

func isDigits(s string) bool {
	if s == "" || len(s) > 12 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// buildNotes writes the basis, the alternatives, the drugs not proposed,
// the safety flags, the data needed and the plan's warnings, then the
// clinician's note.
func buildNotes(p recommend.Plan, opt *recommend.Option, groups map[string]*choiceGroup, dc DraftContext) []r4.Annotation {
	now := cpTime(dc.Now)
	var notes []r4.Annotation
	add := func(text string) {
		notes = append(notes, r4.Annotation{AuthorString: cpStr("mbcplan"), Time: cpStr(now), Text: text})
	}
	if opt != nil {
		basis := "Basis of the proposal (" + p.KnowledgeVersion + "): rules " + strings.Join(opt.Rules, ", ") + "."
		for _, e := range opt.Evidence {
			basis += " " + evidenceText(e) + "."
		}
		add(basis)
		for _, k := range sortedKeys(groups) {
			g := groups[k]
			if g.chosen == "" || len(g.names) < 2 {
				continue
			}
			add(choiceNote(g.chosen, g.others()))
		}
	}
	if p.Continue != nil && p.Continue.Text != "" {
		add("Current regimen: " + p.Continue.Text + ruleSuffix(p.Continue.Rules))
	}
	for i := range p.Options {
		o := &p.Options[i]
		if opt != nil && o.ID == opt.ID {
			continue
		}
		add("Alternative considered (option " + strconv.Itoa(o.Rank) + ", " + o.ID + "): " + o.Title + ruleSuffix(o.Rules))
	}
	for _, np := range p.NotProposed {
		add("Not proposed: " + np.Drug + " — " + np.Reason + ruleSuffix(np.Rules))
	}
	for _, r := range p.Removed {
		add("Removed by the safety guard (" + r.Gate + "): " + r.Title + " — " + r.Reason)
	}
	flags := append([]recommend.Flag(nil), p.SafetyFlags...)
	if opt != nil {
		flags = append(flags, opt.Flags...)
	}
	seenFlag := map[string]bool{}
	for _, fl := range flags {
		if !itemApplies(fl.Options, opt) || (fl.ID != "" && seenFlag[fl.ID]) {
			continue
		}
		seenFlag[fl.ID] = true
		add("Safety flag (" + string(fl.Severity) + ", " + fl.Kind + "): " + fl.Text + ruleSuffix(append([]string{fl.ID}, fl.Rules...)))
	}
	for _, dn := range p.DataNeeded {
		s := "Data needed (" + dn.Reason
		if dn.Blocking {
			s += ", blocking"
		}
		s += "): " + dn.Item
		if dn.Why != "" {
			s += " — " + dn.Why
		}
		add(s + ruleSuffix(dn.Rules))
	}
	for _, d := range p.Discordance {
		add("Receptor discordance (" + d.Marker + "): " + d.Text)
	}
	for _, m := range p.Messages {
		if m.Level == "info" {
			continue
		}
		add("Note (" + m.Level + "): " + m.Text + ruleSuffix(m.Rules))
	}
	if strings.TrimSpace(dc.Note) != "" {
		notes = append(notes, clinicianNote(dc))
	}
	return notes
}

// clinicianNote is the clinician's own note on the draft.
func clinicianNote(dc DraftContext) r4.Annotation {
	a := r4.Annotation{Id: cpStr(clinicianNoteID), Time: cpStr(cpTime(dc.Now)), Text: dc.Note}
	if c := clinicianReference(dc); c != nil {
		a.AuthorReference = c
	} else {
		a.AuthorString = cpStr("clinician")
	}
	return a
}

func evidenceText(e recommend.Evidence) string {
	s := e.RuleID + ": " + e.Source
	if e.Year != 0 {
		s += " " + strconv.Itoa(e.Year)
	}
	if e.Strength != "" {
		s += ", " + e.Strength
	}
	if e.Checked {
		s += " (checked in source)"
	} else {
		s += " (guideline status to confirm)"
	}
	return s
}

// Validate checks a CarePlan written by mbcplan: the R4 required elements
// (status, intent, subject, activity detail status, annotation text) and
// our contract: the identifier, the assess-plan category, a generated XHTML
// narrative, intent proposal with status draft, completed or revoked (or
// intent plan with status active, completed or revoked), products only on
// MedicationRequest activities and coded only with verified RxNorm codes
// (never one the clinical reference marks partial), an alternative's product
// among the alternatives its description names, ServiceRequest
// activities with a code, order codes only LOINC or SNOMED CT. Error
// messages name the element, never its content.
func Validate(cp *r4.CarePlan) error {
	if cp == nil {
		return errors.New("fhir: careplan: nil")
	}
	switch cp.Intent {
	case r4.CarePlanIntentProposal:
		switch cp.Status {
		case r4.RequestStatusDraft, r4.RequestStatusCompleted, r4.RequestStatusRevoked:
		default:
			return fmt.Errorf("fhir: careplan: proposal with status %s", cp.Status.Code())
		}
		if !hasIdentifier(cp.Identifier, DraftIdentifierSystem) {
			return errors.New("fhir: careplan: proposal without a draft identifier")
		}
		if len(cp.InstantiatesUri) == 0 || !strings.HasPrefix(cp.InstantiatesUri[0], RulesURIPrefix) {
			return errors.New("fhir: careplan: proposal without the rule set in instantiatesUri")
		}
	case r4.CarePlanIntentPlan:
		switch cp.Status {
		case r4.RequestStatusActive, r4.RequestStatusCompleted, r4.RequestStatusRevoked, r4.RequestStatusEnteredInError:
		default:
			return fmt.Errorf("fhir: careplan: plan with status %s", cp.Status.Code())
		}
		if !hasIdentifier(cp.Identifier, PlanIdentifierSystem) {
			return errors.New("fhir: careplan: plan without a plan identifier")
		}
		if len(cp.BasedOn) == 0 {
			return errors.New("fhir: careplan: plan not basedOn a proposal")
		}
	default:
		return fmt.Errorf("fhir: careplan: intent %s", cp.Intent.Code())
	}
	if cp.Subject.Reference == nil || *cp.Subject.Reference == "" {
		return errors.New("fhir: careplan: no subject")
	}
	if !hasCategory(cp.Category) {
		return errors.New("fhir: careplan: no assess-plan category")
	}
	if cp.Created == nil {
		return errors.New("fhir: careplan: no created date")
	}
	if _, err := time.Parse(time.RFC3339, *cp.Created); err != nil {
		return errors.New("fhir: careplan: created is not a dateTime")
	}
	if cp.Author == nil {
		return errors.New("fhir: careplan: no author")
	}
	if err := validateNarrative(cp.Text); err != nil {
		return err
	}
	for i, a := range cp.Activity {
		if err := validateActivity(a); err != nil {
			return fmt.Errorf("fhir: careplan: activity %d: %w", i+1, err)
		}
	}
	for i, n := range cp.Note {
		if strings.TrimSpace(n.Text) == "" {
			return fmt.Errorf("fhir: careplan: note %d without text", i+1)
		}
	}
	return nil
}

func hasIdentifier(ids []r4.Identifier, system string) bool {
	for _, id := range ids {
		if id.System != nil && *id.System == system && id.Value != nil && *id.Value != "" {
			return true
		}
	}
	return false
}

func hasCategory(cats []r4.CodeableConcept) bool {
	for _, c := range cats {
		for _, cd := range c.Coding {
			if cd.System != nil && *cd.System == cpSystemCategory && cd.Code != nil && *cd.Code == cpCategoryCode {
				return true
			}
		}
	}
	return false
}

var errActivity = errors.New("invalid activity")

func validateActivity(a r4.CarePlanActivity) error {
	if a.Reference != nil && a.Detail != nil {
		return fmt.Errorf("%w: both reference and detail", errActivity)
	}
	d := a.Detail
	if d == nil {
		if a.Reference == nil {
			return fmt.Errorf("%w: neither reference nor detail", errActivity)
		}
		return nil
	}
	isMed := d.Kind != nil && *d.Kind == r4.CarePlanActivityKindMedicationRequest
	isService := d.Kind != nil && *d.Kind == r4.CarePlanActivityKindServiceRequest
	if d.ProductReference != nil {
		return fmt.Errorf("%w: product reference", errActivity)
	}
	if d.ProductCodeableConcept != nil && !isMed {
		return fmt.Errorf("%w: product outside a MedicationRequest activity", errActivity)
	}
	if isMed {
		pc := d.ProductCodeableConcept
		if pc == nil || (pc.Text == nil && len(pc.Coding) == 0) {
			return fmt.Errorf("%w: MedicationRequest without a product", errActivity)
		}
		for _, c := range pc.Coding {
			if c.System == nil || *c.System != cpSystemRxNorm || c.Code == nil || !isDigits(*c.Code) {
				return fmt.Errorf("%w: product coded outside RxNorm", errActivity)
			}
			if unverifiedRxNorm[*c.Code] {
				return fmt.Errorf("%w: product with an unverified RxNorm code", errActivity)
			}
		}
		if d.Description != nil {
			if names, ok := openChoiceOf(*d.Description); ok && (pc.Text == nil || !slices.Contains(names, *pc.Text)) {
				return fmt.Errorf("%w: alternative not among the alternatives it names", errActivity)
			}
		}
	}
	if isService && d.Code == nil {
		return fmt.Errorf("%w: ServiceRequest without a code", errActivity)
	}
	if d.Code != nil {
		for _, c := range d.Code.Coding {
			if c.System == nil || (*c.System != cpSystemLOINC && *c.System != cpSystemSNOMED) || c.Code == nil || !validCode(*c.Code) {
				return fmt.Errorf("%w: code outside LOINC and SNOMED CT", errActivity)
			}
		}
	}
	return nil
}

func cpStr(s string) *string { return &s }

func cpKind(k r4.CarePlanActivityKind) *r4.CarePlanActivityKind { return &k }

// cpTime formats a FHIR dateTime in UTC with seconds.
func cpTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// carePlanSources are the resources a CarePlan was derived from (addresses
// and supportingInfo), for the Provenance entities.
func carePlanSources(cp *r4.CarePlan) []string {
	var refs []string
	for _, list := range [][]r4.Reference{cp.Addresses, cp.SupportingInfo} {
		for _, r := range list {
			if r.Reference != nil {
				refs = append(refs, *r.Reference)
			}
		}
	}
	return refs
}

// Choice is a drug the clinician chose among an option's alternatives, as
// a CarePlan records it.
type Choice struct {
	// Drug is the drug chosen, as the plan spells it.
	Drug string `json:"drug"`
	// From are the alternatives it was chosen from, Drug among them.
	From []string `json:"from"`
}

// Choices reads what the draft's CarePlan records of the clinician's
// choices among alternatives: each drug chosen ("Chosen by the clinician
// from: …"), and whether alternatives are still open ("One of: …"), which
// Accept refuses with ErrChoiceNeeded. The error is a CarePlan that cannot
// be decoded.
func (d *Draft) Choices() (chosen []Choice, open bool, err error) {
	var cp r4.CarePlan
	if err := json.Unmarshal(d.CarePlan, &cp); err != nil {
		return nil, false, errors.New("fhir: draft choices: the CarePlan could not be decoded")
	}
	for _, a := range cp.Activity {
		det := a.Detail
		if det == nil || det.Description == nil {
			continue
		}
		rest, found := strings.CutPrefix(*det.Description, chosenPrefix)
		if !found {
			continue
		}
		list, _, _ := strings.Cut(rest, "; ")
		name, _ := productName(det)
		if name == "" {
			continue
		}
		chosen = append(chosen, Choice{Drug: name, From: strings.Split(list, altNameSeparator)})
	}
	return chosen, hasOpenChoice(&cp), nil
}
