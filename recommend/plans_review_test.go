package recommend

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
	"unicode"
)

// The plan review: invariants every plan must keep so that it reads as an
// oncologist expects — consistent, not noisy, honest. They are checked
// across every named scenario (rules, clinical review) and across generated
// facts, and read only the plan, the facts and the rule table.

// planLevelFlags are the flags that may name no option by design: a safety
// condition that kept drugs out is shown even when no option is left for it
// to attach to (S02: cardiac history or HER2-directed therapy deferred; S04:
// ribociclib left out for QT reasons).
var planLevelFlags = map[string]bool{"S02": true, "S04": true}

// brandNames must never name a drug in an option's title or rationale: the
// plan names drugs by their generic names.
var brandNames = []string{"kisqali", "ibrance", "verzenio", "enhertu", "trodelvy", "kadcyla", "herceptin", "perjeta",
	"phesgo", "tukysa", "nerlynx", "tykerb", "piqray", "truqap", "orserdu", "faslodex", "femara", "arimidex", "aromasin",
	"lynparza", "talzenna", "keytruda", "xeloda", "halaven", "afinitor", "zometa", "xgeva", "prolia", "zoladex", "lupron", "itovebi"}

// actionWords: a message says what to do (or what the plan does instead).
var actionWords = []string{"order ", "refer", "confirm", "check", "re-evaluate", "reassess", "consider", "start ",
	"continue", "give ", "follow", "use ", "ask", "discuss", "decide", "accompan", "includes", "is proposed", "are proposed", "shown"}

// planCase is one plan under review.
type planCase struct {
	name     string
	facts    Facts
	settings Settings
}

// reviewCases are the named scenarios, a few section 8 edge cases, and
// generated facts (seeded, so a failure replays).
func reviewCases(generated int) []planCase {
	var cases []planCase
	for _, sc := range allScenarios() {
		cases = append(cases, planCase{sc.name, sc.facts, sc.settings})
	}
	extra := []planCase{
		{"deceased patient with bone metastases", patient(func(f *Facts) { f.Patient.Deceased = true }), Settings{}},
		{"deceased patient, no metastasis", patient(func(f *Facts) { f.Patient.Deceased = true; f.Metastases = nil }), Settings{}},
		{"regional axillary nodes only, ER-low, discordant ER", patient(func(f *Facts) {
			m := metastasis("lymph-node", "2026-10-05")
			m.Kind = MetastasisUncertain
			f.Metastases = []Metastasis{m}
			f.ER = []ReceptorResult{erResult(ReceptorPositive, fp(60), "2025-01-01", SpecimenPrimary), erResult(ReceptorPositive, fp(5), "2026-10-01", SpecimenPrimary)}
		}), Settings{}},
		{"early breast cancer, HER2 only 'negative', ER missing", patient(func(f *Facts) {
			f.Metastases = nil
			f.ER = nil
			f.HER2 = []HER2Result{{Status: ReceptorNegative, Final: true, Source: src("Observation/her2-neg", "2026-10-01")}}
		}), Settings{}},
		{"HER2+ with heart failure and LVEF 33%", patient(her2Positive, withLVEF(33, "2026-11-20"), withComorb(comorbidity(HeartFailure, "active"))), Settings{}},
		{"HR+/HER2- with heart failure", patient(withComorb(comorbidity(HeartFailure, "active"))), Settings{}},
		{"long QT syndrome, tamoxifen running", patient(withComorb(comorbidity(LongQT, "active")), withMeds(med("MedicationRequest/tam", MedRequest, "active", "2026-10-10", "", "tamoxifen"))), Settings{}},
		{"HER2+ first line, taxane and paclitaxel allergies", patient(her2Positive, func(f *Facts) {
			f.Allergies = []Allergy{
				{Classes: []string{"taxane"}, Finding: Finding{ClinicalStatus: "active", VerificationStatus: "confirmed", Source: src("AllergyIntolerance/a1", "2020-01-01")}},
				{Drugs: []string{"paclitaxel"}, Finding: Finding{ClinicalStatus: "active", VerificationStatus: "confirmed", Source: src("AllergyIntolerance/a2", "2021-01-01")}},
			}
		}), Settings{}},
		{"PIK3CA after AI + CDK4/6i, diabetes and HbA1c above range, neutropenia", patient(line1Progressed("letrozole", "palbociclib"), withVariants(variant("PIK3CA", "somatic")),
			withComorb(comorbidity(Diabetes, "active"), comorbidity(Neutropenia, "active")), func(f *Facts) {
				f.Labs = append(f.Labs, lab(LabHbA1c, 9.1, RangeHigh, ago(3)))
			}), Settings{LVEFThresholds: "eu"}},
	}
	cases = append(cases, extra...)
	r := rand.New(rand.NewPCG(20261201, 11))
	for i := 0; i < generated; i++ {
		cases = append(cases, planCase{fmt.Sprintf("generated case %d", i), genFacts(r), Settings{}})
	}
	return cases
}

// planProblems lists every invariant the plan breaks.
func planProblems(f Facts, p Plan, table map[string]Rule) []string {
	var probs []string
	bad := func(format string, args ...any) { probs = append(probs, fmt.Sprintf(format, args...)) }

	live := map[string]bool{}
	for _, o := range p.Options {
		if live[o.ID] {
			bad("option %s listed twice", o.ID)
		}
		live[o.ID] = true
	}

	// No duplicates.
	seen := map[string]bool{}
	for _, d := range p.DataNeeded {
		if seen[d.ID] {
			bad("data needed %s listed twice", d.ID)
		}
		seen[d.ID] = true
	}
	lists := map[string][]Item{"monitoring": p.Monitoring, "lifestyle": p.Lifestyle, "trials": p.Trials, "sharedDecision": p.SharedDecision}
	for _, o := range p.Options {
		lists["monitoring of "+o.ID] = o.Monitoring
	}
	for name, items := range lists {
		ids, texts := map[string]bool{}, map[string]bool{}
		for _, it := range items {
			if ids[it.ID] {
				bad("%s: item %s listed twice", name, it.ID)
			}
			if texts[it.Text] {
				bad("%s: item text %q listed twice", name, it.Text)
			}
			ids[it.ID], texts[it.Text] = true, true
		}
	}
	for _, o := range p.Options {
		fl := map[string]bool{}
		for _, f := range o.Flags {
			if fl[f.ID] {
				bad("option %s: flag %s attached twice", o.ID, f.ID)
			}
			fl[f.ID] = true
		}
	}
	np := map[string]bool{}
	for _, n := range p.NotProposed {
		if np[n.Drug] {
			bad("not proposed %q listed twice", n.Drug)
		}
		np[n.Drug] = true
	}
	msgs := map[string]bool{}
	for _, m := range p.Messages {
		if msgs[m.Text] {
			bad("message %q listed twice", m.Text)
		}
		msgs[m.Text] = true
	}

	// Every reference names an existing option.
	for _, f := range p.SafetyFlags {
		if len(f.Options) == 0 && !planLevelFlags[f.ID] {
			bad("flag %s (%s) names no option and is not plan-level by design", f.ID, f.Text)
		}
		for _, id := range f.Options {
			if !live[id] {
				bad("flag %s names option %s, which is not in the plan", f.ID, id)
			}
		}
	}
	for name, items := range lists {
		for _, it := range items {
			for _, id := range it.Options {
				if !live[id] {
					bad("%s: item %s names option %s, which is not in the plan", name, it.ID, id)
				}
			}
		}
	}

	// Every rule ID exists in the rule table.
	rule := func(where string, ids ...string) {
		for _, id := range ids {
			if _, ok := table[id]; !ok {
				bad("%s cites rule %q, which is not in the rule table", where, id)
			}
		}
	}
	for _, o := range p.Options {
		rule("option "+o.ID, o.Rules...)
		for _, e := range o.Evidence {
			rule("evidence of "+o.ID, e.RuleID)
		}
		for _, f := range o.Flags {
			rule("flag "+f.ID+" of "+o.ID, f.Rules...)
		}
	}
	for _, f := range p.SafetyFlags {
		rule("flag "+f.ID, append([]string{f.ID}, f.Rules...)...)
	}
	for name, items := range lists {
		for _, it := range items {
			rule(name+" item "+it.ID, it.Rules...)
			for _, e := range it.Evidence {
				rule(name+" item "+it.ID+" evidence", e.RuleID)
			}
		}
	}
	for _, d := range p.DataNeeded {
		rule("data needed "+d.ID, d.Rules...)
	}
	for _, m := range p.Messages {
		rule("message "+m.Text, m.Rules...)
	}
	for _, n := range p.NotProposed {
		rule("not proposed "+n.Drug, n.Rules...)
	}
	rule("rules fired", p.RulesFired...)
	for _, c := range []Call{p.Subtype.ER, p.Subtype.PR, p.Subtype.HER2, p.Subtype.HR, p.Subtype.HER2Low, p.Subtype.HER2Ultralow, p.Pregnancy} {
		rule("call "+c.Value, c.Rules...)
	}
	if p.Continue != nil {
		rule("continue", p.Continue.Rules...)
	}

	// Order: blocking data needed first; ranks 1..n, preferred first.
	for i := 1; i < len(p.DataNeeded); i++ {
		if p.DataNeeded[i].Blocking && !p.DataNeeded[i-1].Blocking {
			bad("blocking data needed %s after non-blocking %s", p.DataNeeded[i].ID, p.DataNeeded[i-1].ID)
		}
	}
	for i, o := range p.Options {
		if o.Rank != i+1 {
			bad("option %s rank %d at position %d", o.ID, o.Rank, i+1)
		}
		if i > 0 && o.Preferred && !p.Options[i-1].Preferred {
			bad("preferred option %s ranks after a non-preferred one", o.ID)
		}
	}

	// The rules keep the section 8 gates themselves; the final guard is a
	// backstop that should find nothing to remove.
	// A running regimen is continued by policy (section 8), not proposed by
	// a rule: when it breaks a gate the guard takes it out, and the plan
	// must say to review it.
	for _, r := range p.Removed {
		if r.OptionID != "CONT-current" {
			bad("the final guard removed %s (%s): a rule proposed an option breaking a gate", r.OptionID, r.Reason)
			continue
		}
		warned := false
		for _, m := range p.Messages {
			warned = warned || (m.Level == "warning" && strings.Contains(m.Text, r.Reason))
		}
		if !warned {
			bad("the running regimen was removed (%s) without a warning to review it", r.Reason)
		}
	}

	// An option never contradicts a "stop" message.
	for _, m := range p.Messages {
		if m.Level != "stop" {
			continue
		}
		for _, o := range p.Options {
			switch {
			case contains(m.Rules, "C05"):
				bad("option %s beside the stop message %q", o.ID, m.Text)
			case contains(m.Rules, "S10") && len(o.Drugs) > 0:
				bad("option %s with drugs beside the pregnancy stop message", o.ID)
			case contains(m.Rules, "C03") && o.Category != "supportive" && o.Category != "continue":
				bad("anticancer option %s beside the HER2-unknown stop message", o.ID)
			case contains(m.Rules, "C01") && (optionHas(o, classEndocrine) || strings.HasPrefix(o.ID, "T0")):
				bad("endocrine or triple-negative option %s beside the hormone-receptor-unknown stop message", o.ID)
			case contains(m.Rules, "P01") && optionHas(o, classHER2Cardio):
				bad("HER2-directed antibody or ADC %s beside the deferral stop message", o.ID)
			}
		}
	}

	// Not metastatic (C05), or deceased: only what would establish
	// metastatic disease and the plain message.
	if !p.Disease.Metastatic || f.Patient.Deceased {
		for _, d := range p.DataNeeded {
			if d.ID != "metastasis" || f.Patient.Deceased {
				bad("data needed %s without metastatic disease (%s)", d.ID, d.Item)
			}
		}
		if len(p.Messages) != 1 || !contains(p.Messages[0].Rules, "C05") {
			bad("messages %+v; want only the plain C05 message", p.Messages)
		}
		if len(p.Options)+len(p.SafetyFlags)+len(p.Monitoring)+len(p.Trials)+len(p.SharedDecision)+len(p.NotProposed) > 0 {
			bad("options, flags, monitoring, trials, shared decision or not-proposed entries without metastatic disease")
		}
		for _, it := range p.Lifestyle {
			if f.Patient.Deceased {
				bad("lifestyle item %s for a patient who has died", it.ID)
			}
			if strings.Contains(strings.ToLower(it.Text), "metasta") {
				bad("lifestyle item %s presupposes metastatic disease: %q", it.ID, it.Text)
			}
		}
	}

	// Wording.
	for _, o := range p.Options {
		for _, d := range o.Drugs {
			if _, ok := drugCatalogue[d.Name]; !ok || d.Name != strings.ToLower(d.Name) {
				bad("option %s: drug %q is not a lower-case generic name of the catalogue", o.ID, d.Name)
			}
		}
		for _, text := range []string{o.Title, o.Rationale} {
			lower := strings.ToLower(text)
			for _, b := range brandNames {
				if strings.Contains(lower, b) {
					bad("option %s names a brand (%s): %q", o.ID, b, text)
				}
			}
			for name := range drugCatalogue {
				for i := strings.Index(lower, name); i >= 0; {
					if i > 0 && text[i:i+len(name)] != name {
						bad("option %s: drug %q not in lower case mid-sentence: %q", o.ID, name, text)
					}
					j := strings.Index(lower[i+1:], name)
					if j < 0 {
						break
					}
					i += 1 + j
				}
			}
		}
		allChecked := true
		for _, e := range o.Evidence {
			allChecked = allChecked && e.Checked
		}
		if o.Schedule != perLabel && (!allChecked || !strings.HasSuffix(o.Schedule, ")")) {
			bad("option %s: schedule %q is neither \"per label\" nor a quoted ✔ schedule with its source", o.ID, o.Schedule)
		}
		if !allChecked && !strings.Contains(strings.ToLower(o.Title+" "+o.Rationale), "guideline status") {
			bad("option %s rests on a † rule and does not say \"guideline status to confirm\": %q", o.ID, o.Rationale)
		}
	}
	allDagger := func(ids []string) bool {
		for _, id := range ids {
			if r, ok := table[id]; !ok || r.Checked {
				return false
			}
		}
		return len(ids) > 0
	}
	for _, f := range p.SafetyFlags {
		if allDagger(f.Rules) && !strings.Contains(f.Text, "guideline status to confirm") {
			bad("flag %s rests on † rules only and does not say \"guideline status to confirm\": %q", f.ID, f.Text)
		}
	}
	for name, items := range lists {
		for _, it := range items {
			if allDagger(it.Rules) && !strings.Contains(it.Text, "guideline status to confirm") {
				bad("%s item %s rests on † rules only and does not say \"guideline status to confirm\": %q", name, it.ID, it.Text)
			}
		}
	}
	for _, m := range p.Messages {
		// Stop messages state the section 8 gates, which are decided
		// policies, not guideline statements.
		if m.Level != "stop" && allDagger(m.Rules) && !strings.Contains(m.Text, "guideline status to confirm") {
			bad("message rests on † rules only and does not say \"guideline status to confirm\": %q", m.Text)
		}
		if !oneSentence(m.Text) {
			bad("message is not one sentence: %q", m.Text)
		}
		act := false
		for _, w := range actionWords {
			act = act || strings.Contains(strings.ToLower(m.Text), w)
		}
		if !act {
			bad("message does not say what to do: %q", m.Text)
		}
	}
	var texts []string
	for _, o := range p.Options {
		texts = append(texts, o.Title, o.Rationale, o.Schedule)
	}
	for _, f := range p.SafetyFlags {
		texts = append(texts, f.Text)
	}
	for _, items := range lists {
		for _, it := range items {
			texts = append(texts, it.Text)
		}
	}
	for _, m := range p.Messages {
		texts = append(texts, m.Text)
	}
	for _, d := range p.DataNeeded {
		texts = append(texts, d.Item, d.Why)
	}
	for _, t := range texts {
		l := strings.ToLower(t)
		for _, dose := range []string{"mg/m", "mg/kg", "auc ", "auc=", "mg/m²"} {
			if strings.Contains(l, dose) {
				bad("text holds a computed dose (%s): %q", dose, t)
			}
		}
	}

	// No option repeats, whole, a regimen the disease progressed on.
	for _, o := range p.Options {
		if o.Category == "continue" || o.Category == "supportive" || len(o.Drugs) == 0 {
			continue
		}
		for _, r := range p.Regimens {
			if r.Setting != "metastatic" || !r.Progression {
				continue
			}
			if repeats(o, r) {
				bad("option %s repeats the regimen %v the disease progressed on (started %s)", o.ID, r.Drugs, r.Start)
			}
		}
	}
	return probs
}

// repeats: every drug the option gives was in the regimen (for a choice
// group, every alternative was).
func repeats(o Option, r Regimen) bool {
	for _, d := range o.Drugs {
		if drugHas(d.Name, classGnRH) {
			continue
		}
		if !contains(r.Drugs, d.Name) {
			return false
		}
	}
	return true
}

// oneSentence: the text ends with a full stop and no sentence starts
// inside it.
func oneSentence(text string) bool {
	if !strings.HasSuffix(text, ".") {
		return false
	}
	rs := []rune(strings.TrimSuffix(text, "."))
	for i := 0; i+2 < len(rs); i++ {
		if (rs[i] == '.' || rs[i] == '!' || rs[i] == '?') && rs[i+1] == ' ' && unicode.IsUpper(rs[i+2]) {
			return false
		}
	}
	return true
}

func TestPlansReadAsExpected(t *testing.T) {
	n := 3000
	if testing.Short() {
		n = 600
	}
	table := map[string]Rule{}
	for _, r := range Rules() {
		table[r.ID] = r
	}
	byProblem := map[string][]string{}
	for _, c := range reviewCases(n) {
		p := Recommend(c.facts, testNow, c.settings)
		for _, pr := range planProblems(c.facts, p, table) {
			byProblem[pr] = append(byProblem[pr], c.name)
		}
	}
	keys := make([]string, 0, len(byProblem))
	for k := range byProblem {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		names := byProblem[k]
		t.Errorf("got %s (in %d plans, first %q); want none", k, len(names), names[0])
	}
}
