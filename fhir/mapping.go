package fhir

import (
	"encoding/json"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode"

	"github.com/mbcplan/mbcplan/recommend"
	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"
)

// MapFacts maps a record to the facts the rules use. Every fact keeps the
// references and dates of the resources it came from; nothing is defaulted
// (a value that cannot be read is left unknown). The output is sorted, oldest
// first, so the same record always gives the same facts.
func MapFacts(rec *Record) recommend.Facts {
	var f recommend.Facts
	if rec == nil {
		return f
	}
	m := &mapper{f: &f, rec: rec, index: map[string]*Resource{}, skipped: map[string]bool{},
		reportNotFinal: map[string]bool{}, reportSpecimen: map[string]string{}}
	for _, s := range rec.Skipped {
		m.skipped[s.Resource] = true
	}
	f.Record.Skipped = append(f.Record.Skipped, rec.Skipped...)
	f.Record.OtherSubject = rec.OtherSubject
	m.decodeAll()
	m.reportResults()
	m.patient()
	for i := range m.res {
		r := &m.res[i]
		switch v := r.decoded.(type) {
		case *r4.Observation:
			m.observation(r, v)
		case *r4.Condition:
			m.condition(r, v)
		case *r4.MedicationRequest:
			m.medicationRequest(r, v)
		case *r4.MedicationStatement:
			m.medicationStatement(r, v)
		case *r4.MedicationAdministration:
			m.medicationAdministration(r, v)
		case *r4.Procedure:
			m.procedure(r, v)
		case *r4.AllergyIntolerance:
			m.allergy(r, v)
		}
	}
	m.mergeISH()
	m.finish()
	return f
}

// mapper holds the state of one MapFacts call.
type mapper struct {
	f       *recommend.Facts
	rec     *Record
	res     []Resource
	index   map[string]*Resource // "Type/id" and fullUrl
	skipped map[string]bool
	// ish collects ratio and copy-number results to merge by day and specimen.
	ish      []recommend.HER2Result
	notFinal []string
	// reportNotFinal are the results of reports that are not final;
	// reportSpecimen the one specimen a result's report names.
	reportNotFinal map[string]bool
	reportSpecimen map[string]string
}

// decodeAll decodes the resources a hand-built record has not decoded yet;
// one that fails is listed as skipped.
func (m *mapper) decodeAll() {
	m.res = make([]Resource, 0, len(m.rec.Resources))
	for _, r := range m.rec.Resources {
		if r.decoded == nil {
			d, err := decodeStrict(r.Type, r.Raw)
			if err != nil {
				name := r.Ref()
				if name == "" {
					name = "resource"
				}
				if !m.skipped[name] {
					m.f.Record.Skipped = append(m.f.Record.Skipped, recommend.Skipped{Resource: name, Reason: decodeReason(r.Type, err)})
					m.skipped[name] = true
				}
				continue
			}
			r.decoded = d
		}
		m.res = append(m.res, r)
	}
	for i := range m.res {
		r := &m.res[i]
		if r.ID != "" {
			m.index[r.Type+"/"+r.ID] = r
		}
		if r.FullURL != "" {
			m.index[r.FullURL] = r
		}
	}
}

// lookup resolves a reference to a resource of the record.
func (m *mapper) lookup(ref string) *Resource {
	if ref == "" {
		return nil
	}
	if r, ok := m.index[ref]; ok {
		return r
	}
	ref = stripHistory(ref)
	if r, ok := m.index[ref]; ok {
		return r
	}
	if strings.HasPrefix(ref, "http://") || strings.HasPrefix(ref, "https://") {
		parts := strings.Split(strings.TrimRight(ref, "/"), "/")
		if n := len(parts); n >= 2 {
			return m.index[parts[n-2]+"/"+parts[n-1]]
		}
	}
	return nil
}

// patient maps the Patient; when strict decoding fails, gender and birth
// date are still read when they are valid.
func (m *mapper) patient() {
	p := &m.f.Patient
	p.Ref = m.rec.PatientRef
	if p.Ref == "" && m.rec.PatientID != "" {
		p.Ref = "Patient/" + m.rec.PatientID
	}
	if len(m.rec.Patient) == 0 {
		return
	}
	if pt, err := r4.UnmarshalPatient(unescaped(m.rec.Patient)); err == nil {
		if pt.Gender != nil {
			p.Sex = sexOf(pt.Gender.Code())
		}
		if pt.BirthDate != nil && dateRe.MatchString(*pt.BirthDate) {
			p.BirthDate = *pt.BirthDate
		}
		p.Deceased = (pt.DeceasedBoolean != nil && *pt.DeceasedBoolean) || (pt.DeceasedDateTime != nil && *pt.DeceasedDateTime != "")
		p.Name = humanName(pt.Name)
		return
	}
	var lenient struct {
		Gender    json.RawMessage `json:"gender"`
		BirthDate json.RawMessage `json:"birthDate"`
	}
	if json.Unmarshal(m.rec.Patient, &lenient) != nil {
		return
	}
	var g, bd string
	if json.Unmarshal(lenient.Gender, &g) == nil {
		p.Sex = sexOf(g)
	}
	if json.Unmarshal(lenient.BirthDate, &bd) == nil && dateRe.MatchString(bd) {
		p.BirthDate = bd
	}
}

var dateRe = regexp.MustCompile(`^\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?)?$`)

func sexOf(g string) recommend.Sex {
	switch g {
	case "female":
		return recommend.SexFemale
	case "male":
		return recommend.SexMale
	case "other":
		return recommend.SexOther
	}
	return recommend.SexUnknown
}

func humanName(names []r4.HumanName) string {
	pick := -1
	for i, n := range names {
		if n.Use != nil && n.Use.Code() == "official" {
			pick = i
			break
		}
	}
	if pick < 0 && len(names) > 0 {
		pick = 0
	}
	if pick < 0 {
		return ""
	}
	n := names[pick]
	if n.Text != nil && *n.Text != "" {
		return *n.Text
	}
	parts := append([]string(nil), n.Given...)
	if n.Family != nil {
		parts = append(parts, *n.Family)
	}
	return strings.Join(parts, " ")
}

// ---- small helpers over samply types ----

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func ccText(cc *r4.CodeableConcept) string {
	if cc == nil {
		return ""
	}
	if cc.Text != nil && *cc.Text != "" {
		return *cc.Text
	}
	for _, c := range cc.Coding {
		if c.Display != nil && *c.Display != "" {
			return *c.Display
		}
	}
	return ""
}

// ccAllText is the text and every display, lower-cased, for text matching.
func ccAllText(cc *r4.CodeableConcept) string {
	if cc == nil {
		return ""
	}
	var b strings.Builder
	b.WriteString(str(cc.Text))
	for _, c := range cc.Coding {
		b.WriteByte(' ')
		b.WriteString(str(c.Display))
	}
	return strings.ToLower(b.String())
}

func toCoding(c r4.Coding) recommend.Coding {
	return recommend.Coding{System: systemOf(c), Code: str(c.Code), Display: str(c.Display)}
}

// firstCoding prefers a coding of one of the systems given.
func firstCoding(cc *r4.CodeableConcept, systems ...string) recommend.Coding {
	if cc == nil {
		return recommend.Coding{}
	}
	for _, s := range systems {
		for _, c := range cc.Coding {
			if systemOf(c) == s && str(c.Code) != "" {
				return toCoding(c)
			}
		}
	}
	if len(cc.Coding) > 0 {
		out := toCoding(cc.Coding[0])
		if out.Display == "" {
			out.Display = str(cc.Text)
		}
		return out
	}
	return recommend.Coding{Display: str(cc.Text)}
}

// systemOf is the coding's system in its canonical form (see
// canonicalSystem).
func systemOf(c r4.Coding) string {
	if c.System == nil {
		return ""
	}
	return canonicalSystem(*c.System)
}

// canonicalSystem maps the spellings senders use for the code systems the
// reader knows (HL7 OIDs, a trailing slash, https, a stray space as in
// "http: //snomed.info/sct") to their canonical URIs; other systems are
// returned trimmed.
func canonicalSystem(s string) string {
	if _, ok := knownSystems[s]; ok {
		return s
	}
	t := strings.TrimSpace(s)
	if strings.ContainsAny(t, " \t") {
		t = strings.Join(strings.Fields(t), "")
	}
	if c, ok := systemAliases[strings.ToLower(strings.TrimSuffix(t, "/"))]; ok {
		return c
	}
	return t
}

func codeIn(c r4.Coding, system string) (string, bool) {
	if c.Code == nil || systemOf(c) != system {
		return "", false
	}
	return strings.TrimSpace(*c.Code), true
}

func number(n *json.Number) *float64 {
	if n == nil {
		return nil
	}
	v, err := n.Float64()
	if err != nil {
		return nil
	}
	return &v
}

func periodStart(p *r4.Period) string {
	if p == nil {
		return ""
	}
	return str(p.Start)
}

func periodEnd(p *r4.Period) string {
	if p == nil {
		return ""
	}
	return str(p.End)
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// statusOfResource is the status as written in the resource's JSON (samply
// decodes a missing status as a real code).
func statusOfResource(r *Resource) string {
	if r.statusRead {
		return r.status
	}
	var h struct {
		Status json.RawMessage `json:"status"`
	}
	if json.Unmarshal(r.Raw, &h) != nil {
		return ""
	}
	return statusOf(h.Status)
}

func ccCode(cc *r4.CodeableConcept) string {
	if cc == nil {
		return ""
	}
	for _, c := range cc.Coding {
		if c.Code != nil && *c.Code != "" {
			return *c.Code
		}
	}
	return ""
}

// ---- drugs ----

// drugPatterns are the drug and brand names matched in medication text,
// normalised (see normName), longest first: a match is blanked so that
// "trastuzumab deruxtecan" does not also read as trastuzumab.
var drugPatterns = buildDrugPatterns()

type drugPattern struct {
	name  string // normalised, padded with spaces
	drugs []string
}

func buildDrugPatterns() []drugPattern {
	names := map[string][]string{}
	for d := range drugClasses {
		names[normName(d)] = []string{d}
	}
	for k, v := range brandNames {
		names[normName(k)] = v
	}
	out := make([]drugPattern, 0, len(names))
	for k, v := range names {
		out = append(out, drugPattern{" " + k + " ", v})
	}
	sort.Slice(out, func(i, j int) bool {
		if len(out[i].name) != len(out[j].name) {
			return len(out[i].name) > len(out[j].name)
		}
		return out[i].name < out[j].name
	})
	return out
}

// normName lower-cases s and turns every run of characters other than
// letters and digits into one space.
func normName(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r > 127 && unicode.IsLetter(r) {
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = false
			b.WriteRune(r)
			continue
		}
		space = true
	}
	return b.String()
}

// matchDrugs returns the canonical drug names of the RxNorm codings and the
// texts given, most specific first, sorted.
func matchDrugs(codings []r4.Coding, texts ...string) []string {
	set := map[string]bool{}
	for _, c := range codings {
		if code, ok := codeIn(c, sysRxNorm); ok {
			for _, d := range rxnormDrugs[code] {
				set[d] = true
			}
		}
		if code, ok := codeIn(c, sysSNOMED); ok && snomedSubstanceDrugs[code] != "" {
			set[snomedSubstanceDrugs[code]] = true
		}
	}
	for _, t := range texts {
		if t == "" {
			continue
		}
		t = " " + normName(t) + " "
		for _, p := range drugPatterns {
			if len(p.name) > len(t) {
				continue
			}
			if i := strings.Index(t, p.name); i >= 0 {
				for _, d := range p.drugs {
					set[d] = true
				}
				t = t[:i+1] + strings.Repeat("#", len(p.name)-2) + t[i+len(p.name)-1:]
			}
		}
	}
	if set["fam-trastuzumab deruxtecan"] || set["ado-trastuzumab emtansine"] {
		delete(set, "trastuzumab")
	}
	if set["nab-paclitaxel"] {
		delete(set, "paclitaxel")
	}
	if len(set) == 0 {
		return nil
	}
	out := make([]string, 0, len(set))
	for d := range set {
		out = append(out, d)
	}
	sort.Strings(out)
	return out
}

// ---- sorting ----

func lessSource(a, b recommend.Source) bool {
	if a.Date != b.Date {
		return a.Date < b.Date
	}
	return firstRef(a) < firstRef(b)
}

func firstRef(s recommend.Source) string {
	if len(s.Refs) == 0 {
		return ""
	}
	return s.Refs[0]
}

// finish sorts every list and fills the record notes.
func (m *mapper) finish() {
	f := m.f
	sort.SliceStable(f.ER, func(i, j int) bool { return lessSource(f.ER[i].Source, f.ER[j].Source) })
	sort.SliceStable(f.PR, func(i, j int) bool { return lessSource(f.PR[i].Source, f.PR[j].Source) })
	sort.SliceStable(f.HER2, func(i, j int) bool { return lessSource(f.HER2[i].Source, f.HER2[j].Source) })
	sort.SliceStable(f.Menopause, func(i, j int) bool { return lessSource(f.Menopause[i].Source, f.Menopause[j].Source) })
	sort.SliceStable(f.Pregnancy, func(i, j int) bool { return lessSource(f.Pregnancy[i].Source, f.Pregnancy[j].Source) })
	sort.SliceStable(f.ECOG, func(i, j int) bool { return lessSource(f.ECOG[i].Source, f.ECOG[j].Source) })
	sort.SliceStable(f.Karnofsky, func(i, j int) bool { return lessSource(f.Karnofsky[i].Source, f.Karnofsky[j].Source) })
	sort.SliceStable(f.LVEF, func(i, j int) bool { return lessSource(f.LVEF[i].Source, f.LVEF[j].Source) })
	sort.SliceStable(f.Labs, func(i, j int) bool {
		if f.Labs[i].Kind != f.Labs[j].Kind {
			return f.Labs[i].Kind < f.Labs[j].Kind
		}
		return lessSource(f.Labs[i].Source, f.Labs[j].Source)
	})
	sort.SliceStable(f.Cancer, func(i, j int) bool { return lessSource(f.Cancer[i].Source, f.Cancer[j].Source) })
	sort.SliceStable(f.Metastases, func(i, j int) bool {
		a, b := f.Metastases[i], f.Metastases[j]
		if a.Source.Date != b.Source.Date || firstRef(a.Source) != firstRef(b.Source) {
			return lessSource(a.Source, b.Source)
		}
		return a.Site < b.Site
	})
	sort.SliceStable(f.Comorbidities, func(i, j int) bool {
		a, b := f.Comorbidities[i], f.Comorbidities[j]
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		return lessSource(a.Source, b.Source)
	})
	sort.SliceStable(f.Medications, func(i, j int) bool {
		a, b := f.Medications[i], f.Medications[j]
		da, db := firstNonEmpty(a.Start, a.Source.Date), firstNonEmpty(b.Start, b.Source.Date)
		if da != db {
			return da < db
		}
		return firstRef(a.Source) < firstRef(b.Source)
	})
	sort.SliceStable(f.DiseaseStatus, func(i, j int) bool { return lessSource(f.DiseaseStatus[i].Source, f.DiseaseStatus[j].Source) })
	sort.SliceStable(f.Allergies, func(i, j int) bool { return lessSource(f.Allergies[i].Source, f.Allergies[j].Source) })
	sort.SliceStable(f.Variants, func(i, j int) bool {
		a, b := f.Variants[i], f.Variants[j]
		if a.Gene != b.Gene {
			return a.Gene < b.Gene
		}
		return lessSource(a.Source, b.Source)
	})
	sort.SliceStable(f.PDL1, func(i, j int) bool { return lessSource(f.PDL1[i].Source, f.PDL1[j].Source) })
	sort.Strings(m.notFinal)
	var nf []string
	for i, r := range m.notFinal {
		if i == 0 || r != m.notFinal[i-1] {
			nf = append(nf, r)
		}
	}
	f.Record.NotFinal = nf
}

// parseFloat reads a decimal number.
func parseFloat(s string) (float64, bool) {
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	return v, err == nil
}
