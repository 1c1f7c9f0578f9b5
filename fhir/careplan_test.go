package fhir

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/mbcplan/mbcplan/fhir/fhirtest"
	"github.com/mbcplan/mbcplan/recommend"
)

// cpUpdate is the -update flag that rewrites the golden files. It is looked
// up first so another test file of the package may define it too.
var cpUpdate = func() func() bool {
	if f := flag.Lookup("update"); f != nil {
		return func() bool { return f.Value.String() == "true" }
	}
	b := flag.Bool("update", false, "rewrite golden files")
	return func() bool { return *b }
}()

var cpNow = time.Date(2026, 12, 1, 9, 30, 0, 0, time.UTC)

func cpContext() DraftContext {
	return DraftContext{
		PatientRef:    "Patient/p1",
		EncounterRef:  "Encounter/e1",
		ClinicianRef:  "Practitioner/dr1",
		ClinicianName: "Dr. Example Oncologist",
		Now:           cpNow,
	}
}

func loinc(code, display string) *recommend.Coding {
	return &recommend.Coding{System: "http://loinc.org", Code: code, Display: display}
}

func src(refs ...string) recommend.Source {
	return recommend.Source{Refs: refs, Date: "2026-10-01", Status: "final"}
}

func cpFacts(patient string) recommend.Facts {
	return recommend.Facts{
		Patient: recommend.Patient{Ref: patient, Sex: recommend.SexFemale, BirthDate: "1958-04-02"},
		Cancer: []recommend.Finding{{
			Coding:         recommend.Coding{System: "http://snomed.info/sct", Code: "254837009", Display: "Malignant neoplasm of breast"},
			ClinicalStatus: "active",
			Source:         src("Condition/bc1"),
		}},
	}
}

// planHRPositive: ER+ PR+ HER2- postmenopausal, first line, AI + CDK4/6.
func planHRPositive() recommend.Plan {
	return recommend.Plan{
		KnowledgeVersion: recommend.KnowledgeVersion,
		KnowledgeDate:    recommend.KnowledgeDate,
		Generated:        "2026-12-01",
		Patient:          recommend.PatientSummary{Ref: "Patient/p1", Sex: recommend.SexFemale},
		Subtype: recommend.Subtype{
			ER:   recommend.Call{Value: "positive", Source: src("Observation/er1")},
			PR:   recommend.Call{Value: "positive", Source: src("Observation/pr1")},
			HER2: recommend.Call{Value: "negative", Source: src("Observation/her2-1")},
			HR:   recommend.Call{Value: "positive"},
			Name: "HR+/HER2-", Summary: "ER+ PR+ HER2- (IHC 1+, HER2-low)",
		},
		Menopause: recommend.MenopauseCall{Status: "postmenopausal", Basis: "recorded"},
		Disease:   recommend.DiseaseCall{Metastatic: true, Sites: []string{"bone"}},
		Line:      1,
		Options: []recommend.Option{
			{
				ID: "H02-ai-cdk46", Rank: 1, Preferred: true, Title: "Letrozole + ribociclib", Category: "endocrine+cdk46", Line: 1,
				Drugs: []recommend.Drug{
					{Name: "letrozole", RxNorm: "72965", Choice: "ai"},
					{Name: "anastrozole", RxNorm: "84857", Choice: "ai"},
					{Name: "ribociclib", RxNorm: "1873916"},
				},
				Schedule:  "per label",
				Rationale: "HR+/HER2- metastatic disease, first line, no prior endocrine resistance",
				Rules:     []string{"H02", "C06"},
				FactsUsed: []recommend.FactUse{
					{Fact: "ER positive", Source: src("Observation/er1")},
					{Fact: "metastatic bone disease", Source: src("Condition/met1", "urn:uuid:5b2c")},
					{Fact: "postmenopausal", Source: src("Observation/meno1")},
				},
				Evidence: []recommend.Evidence{{RuleID: "H02", Source: "NCCN Breast", Year: 2025, Strength: "Category 1, preferred", Checked: true}},
				Monitoring: []recommend.Item{
					{ID: "M-ecg", Kind: "monitoring", Text: "ECG at baseline, day 14 and start of cycle 2", Rules: []string{"S04"}},
				},
			},
			{
				ID: "H02-ai", Rank: 2, Title: "Letrozole alone", Category: "endocrine", Line: 1,
				Drugs:    []recommend.Drug{{Name: "letrozole", RxNorm: "72965"}},
				Rules:    []string{"H02"},
				Evidence: []recommend.Evidence{{RuleID: "H02", Source: "ESMO MBC", Year: 2024}},
			},
		},
		NotProposed: []recommend.NotProposed{{Drug: "tamoxifen", Reason: "aromatase inhibitor preferred after menopause", Rules: []string{"H02"}}},
		SafetyFlags: []recommend.Flag{
			{ID: "F-qt", Kind: "qt", Severity: recommend.SeverityCaution, Text: "Ribociclib prolongs QT: baseline ECG needed", Rules: []string{"S04"}, Options: []string{"H02-ai-cdk46"}},
			{ID: "F-other", Kind: "liver", Severity: recommend.SeverityInfo, Text: "only for the alternative", Rules: []string{"S05"}, Options: []string{"H02-ai"}},
		},
		Monitoring: []recommend.Item{
			{ID: "M-cbc", Kind: "monitoring", Text: "Blood count every 2 weeks for 2 cycles", Rules: []string{"S02"}, Options: []string{"H02-ai-cdk46"}},
			{ID: "M-other", Kind: "monitoring", Text: "only for the alternative", Rules: []string{"S09"}, Options: []string{"H02-ai"}},
		},
		DataNeeded: []recommend.DataNeeded{
			{ID: "D-qtcf", Item: "QTcF", Why: "ribociclib needs a baseline QTcF below 450 ms", Reason: "missing", Rules: []string{"S04"}},
		},
		Lifestyle:      []recommend.Item{{ID: "L-exercise", Kind: "lifestyle", Text: "Regular physical activity as tolerated", Rules: []string{"L01"}}},
		Trials:         []recommend.Item{{ID: "T-screen", Kind: "trial", Text: "Screen for clinical trials", Rules: []string{"T01"}}},
		SharedDecision: []recommend.Item{{ID: "SD-goals", Kind: "shared-decision", Text: "Discuss goals of care & side effects <before> starting", Rules: []string{"SD1"}}},
	}
}

// planHER2Cardiac: HER2+ with LVEF 45%, the clinician picks the second option.
func planHER2Cardiac() recommend.Plan {
	return recommend.Plan{
		KnowledgeVersion: recommend.KnowledgeVersion,
		Generated:        "2026-12-01",
		Patient:          recommend.PatientSummary{Ref: "Patient/p2", Sex: recommend.SexFemale},
		Subtype: recommend.Subtype{
			ER:   recommend.Call{Value: "negative", Source: src("Observation/er2")},
			PR:   recommend.Call{Value: "negative", Source: src("Observation/pr2")},
			HER2: recommend.Call{Value: "positive", Source: src("Observation/her2-ihc", "Observation/her2-ish")},
			Name: "HER2+", Summary: "ER- PR- HER2+ (IHC 3+)",
		},
		Line: 1,
		Options: []recommend.Option{
			{
				ID: "P01-thp", Rank: 1, Preferred: true, Title: "Trastuzumab + pertuzumab + docetaxel", Category: "her2",
				Drugs: []recommend.Drug{
					{Name: "trastuzumab", RxNorm: "224905"}, {Name: "pertuzumab", RxNorm: "1298944"}, {Name: "docetaxel", RxNorm: "72962"},
				},
				Rules: []string{"P01"}, FactsUsed: []recommend.FactUse{{Fact: "HER2 positive", Source: src("Observation/her2-ihc")}},
			},
			{
				ID: "P03-tdxd", Rank: 2, Title: "Trastuzumab deruxtecan", Category: "adc",
				// T-DXd's RxNorm code is not verified: the name alone is written.
				Drugs:     []recommend.Drug{{Name: "trastuzumab deruxtecan"}},
				Rules:     []string{"P03"},
				FactsUsed: []recommend.FactUse{{Fact: "HER2 positive", Source: src("Observation/her2-ihc")}, {Fact: "LVEF 45%", Source: src("Observation/lvef1")}},
				Flags:     []recommend.Flag{{ID: "F-cardio", Kind: "cardiac", Severity: recommend.SeverityBlock, Text: "start only after cardio-oncology review", Rules: []string{"P01"}}},
				Monitoring: []recommend.Item{
					{ID: "M-lvef", Kind: "monitoring", Text: "LVEF every 3 months", Rules: []string{"S01"}, Code: loinc("10230-1", "Left ventricular Ejection fraction")},
					{ID: "R-cardio", Kind: "referral", Text: "Cardio-oncology referral", Rules: []string{"P01"}},
					// Not LOINC or SNOMED: the code is dropped, the text kept.
					{ID: "M-icd", Kind: "test", Text: "Odd coded test", Code: &recommend.Coding{System: "http://hl7.org/fhir/sid/icd-10-cm", Code: "Z01.8"}},
				},
			},
		},
		Removed:     []recommend.Removed{{OptionID: "A01-ac", Title: "Doxorubicin + cyclophosphamide", Reason: "LVEF below 50%", Gate: "anthracycline-cardiac"}},
		NotProposed: []recommend.NotProposed{{Drug: "doxorubicin", Reason: "LVEF below 50% (anthracyclines never proposed with cardiac dysfunction)", Rules: []string{"S03"}}},
		SafetyFlags: []recommend.Flag{{ID: "F-cardio", Kind: "cardiac", Severity: recommend.SeverityBlock, Text: "start only after cardio-oncology review", Rules: []string{"P01"}}},
		DataNeeded:  []recommend.DataNeeded{},
		Messages:    []recommend.Message{{Level: "warning", Text: "LVEF 40–49%: HER2-directed therapy only after cardio-oncology review", Rules: []string{"P01"}}},
	}
}

// planHER2Unknown: HER2 not tested; no anticancer option, a work-up.
func planHER2Unknown() recommend.Plan {
	return recommend.Plan{
		KnowledgeVersion: recommend.KnowledgeVersion,
		Generated:        "2026-12-01",
		Patient:          recommend.PatientSummary{Ref: "Patient/p3"},
		Subtype:          recommend.Subtype{ER: recommend.Call{Value: "positive", Source: src("Observation/er3")}, HER2: recommend.Call{Value: "unknown"}, Name: "unknown"},
		Options:          []recommend.Option{},
		DataNeeded: []recommend.DataNeeded{
			{ID: "D-her2", Item: "HER2 status", Why: "no first-line option without HER2", Reason: "missing", Blocking: true, Order: loinc("48676-1", "HER2 [Interpretation] in Tissue"), Rules: []string{"C03"}},
		},
		Monitoring: []recommend.Item{{ID: "L07-bma", Kind: "supportive", Text: "Bone-modifying agent for bone metastases", Rules: []string{"L07"}}},
		Messages:   []recommend.Message{{Level: "stop", Text: "HER2 status not found — HER2-targeted therapy not assessed", Rules: []string{"C03"}}},
	}
}

type cpCase struct {
	name  string
	plan  recommend.Plan
	facts recommend.Facts
	dc    DraftContext
}

func cpCases() []cpCase {
	dc2 := cpContext()
	dc2.PatientRef, dc2.OptionID, dc2.Note = "Patient/p2", "P03-tdxd", "Patient prefers a single agent; cardiology seen <2026-11-20> & agrees."
	dc3 := cpContext()
	dc3.PatientRef, dc3.ClinicianRef, dc3.ClinicianName, dc3.EncounterRef = "Patient/p3", "", "", ""
	dc4 := cpContext()
	dc4.Choices = map[string]string{"ai": "Anastrozole"}
	return []cpCase{
		{"ER+ PR+ HER2- postmenopausal, first line, top-ranked option", planHRPositive(), cpFacts("Patient/p1"), cpContext()},
		{"ER+ PR+ HER2- postmenopausal, clinician chooses anastrozole", planHRPositive(), cpFacts("Patient/p1"), dc4},
		{"HER2+ with LVEF 45%, clinician picks T-DXd", planHER2Cardiac(), cpFacts("Patient/p2"), dc2},
		{"HER2 unknown, no option: work-up from the command line", planHER2Unknown(), cpFacts("Patient/p3"), dc3},
	}
}

func goldenName(s string) string {
	var b strings.Builder
	for _, c := range strings.ToLower(s) {
		switch {
		case c >= 'a' && c <= 'z' || c >= '0' && c <= '9':
			b.WriteRune(c)
		case b.Len() > 0 && !strings.HasSuffix(b.String(), "-"):
			b.WriteByte('-')
		}
	}
	return strings.TrimSuffix(b.String(), "-")
}

// checkGolden compares v, as decoded JSON, with the golden file, or
// rewrites it with -update.
func checkGolden(t *testing.T, path string, v any) {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	got := buf.Bytes()
	if cpUpdate() {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden (run with -update to create it): %v", err)
	}
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatalf("golden %s: %v", path, err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("%s differs from the golden file (run with -update and review the diff):\ngot  %s", path, got)
	}
}

func TestCarePlanGolden(t *testing.T) {
	for _, tc := range cpCases() {
		t.Run(tc.name, func(t *testing.T) {
			cp, err := BuildCarePlan(tc.plan, tc.facts, tc.dc)
			if err != nil {
				t.Fatalf("BuildCarePlan: %v", err)
			}
			if err := Validate(cp); err != nil {
				t.Errorf("Validate: %v", err)
			}
			base := filepath.Join("testdata", "careplan", goldenName(tc.name))
			checkGolden(t, base+".careplan.json", cp)
			pv, err := BuildProvenance("CarePlan/cp1/_history/1", ActivityDraft, tc.dc, carePlanSources(cp))
			if err != nil {
				t.Fatalf("BuildProvenance: %v", err)
			}
			checkGolden(t, base+".provenance.json", pv)
		})
	}
}

func TestCarePlanRoundTrip(t *testing.T) {
	for _, tc := range cpCases() {
		t.Run(tc.name, func(t *testing.T) {
			cp, err := BuildCarePlan(tc.plan, tc.facts, tc.dc)
			if err != nil {
				t.Fatal(err)
			}
			b1, err := json.Marshal(cp)
			if err != nil {
				t.Fatal(err)
			}
			back, err := r4.UnmarshalCarePlan(b1)
			if err != nil {
				t.Fatalf("UnmarshalCarePlan: %v", err)
			}
			b2, err := json.Marshal(back)
			if err != nil {
				t.Fatal(err)
			}
			var v1, v2 map[string]any
			if err := json.Unmarshal(b1, &v1); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(b2, &v2); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(v1, v2) {
				t.Errorf("round trip changed the CarePlan:\nfirst  %s\nsecond %s", b1, b2)
			}
			if err := Validate(&back); err != nil {
				t.Errorf("Validate after round trip: %v", err)
			}
			// Status and intent are written explicitly, never left to zero values.
			if v1["status"] != "draft" || v1["intent"] != "proposal" || v1["resourceType"] != "CarePlan" {
				t.Errorf("got status %v intent %v resourceType %v; want draft proposal CarePlan", v1["status"], v1["intent"], v1["resourceType"])
			}
		})
	}
}

// productNames lists the drug names written as activity products.
func productNames(cp *r4.CarePlan) []string {
	var names []string
	for _, a := range cp.Activity {
		if a.Detail != nil && a.Detail.ProductCodeableConcept != nil && a.Detail.ProductCodeableConcept.Text != nil {
			names = append(names, *a.Detail.ProductCodeableConcept.Text)
		}
	}
	return names
}

func TestCarePlanOnlyProposedDrugs(t *testing.T) {
	for _, tc := range cpCases() {
		t.Run(tc.name, func(t *testing.T) {
			cp, err := BuildCarePlan(tc.plan, tc.facts, tc.dc)
			if err != nil {
				t.Fatal(err)
			}
			opt, err := chooseOption(tc.plan, tc.dc.OptionID)
			if err != nil {
				t.Fatal(err)
			}
			want := wantProducts(opt, tc.dc.Choices)
			if got := productNames(cp); !slices.Equal(got, want) {
				t.Errorf("got products %q; want %q", got, want)
			}
			for _, np := range tc.plan.NotProposed {
				if slices.Contains(productNames(cp), np.Drug) {
					t.Errorf("not-proposed drug %q written as a product", np.Drug)
				}
				if !noteContains(cp, np.Drug) {
					t.Errorf("not-proposed drug %q not named in a note", np.Drug)
				}
			}
			for _, a := range cp.Activity {
				if a.Detail == nil || a.Detail.ProductCodeableConcept == nil {
					continue
				}
				for _, c := range a.Detail.ProductCodeableConcept.Coding {
					if *c.System != cpSystemRxNorm {
						t.Errorf("product coded in %s; want RxNorm only", *c.System)
					}
				}
			}
		})
	}
}

// wantProducts are the drugs a CarePlan should propose: every drug of the
// option, except that a choice keeps only the chosen drug of its group.
func wantProducts(opt *recommend.Option, choices map[string]string) []string {
	var want []string
	if opt == nil {
		return nil
	}
	for _, d := range opt.Drugs {
		if c := choices[d.Choice]; d.Choice != "" && c != "" && !strings.EqualFold(c, d.Name) {
			continue
		}
		want = append(want, d.Name)
	}
	return want
}

func noteContains(cp *r4.CarePlan, s string) bool {
	for _, n := range cp.Note {
		if strings.Contains(n.Text, s) {
			return true
		}
	}
	return false
}

func TestCarePlanContent(t *testing.T) {
	cp, err := BuildCarePlan(planHRPositive(), cpFacts("Patient/p1"), cpContext())
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		what string
		ok   bool
	}{
		{"category assess-plan", hasCategory(cp.Category)},
		{"subject Patient/p1", *cp.Subject.Reference == "Patient/p1"},
		{"encounter Encounter/e1", cp.Encounter != nil && *cp.Encounter.Reference == "Encounter/e1"},
		{"author is the app", cp.Author != nil && *cp.Author.Identifier.Value == AppIdentifierValue},
		{"contributor is the clinician", len(cp.Contributor) == 1 && *cp.Contributor[0].Reference == "Practitioner/dr1"},
		{"addresses the cancer", len(cp.Addresses) == 1 && *cp.Addresses[0].Reference == "Condition/bc1"},
		{"instantiatesUri names rules and option", slices.Equal(cp.InstantiatesUri, []string{RulesURIPrefix + recommend.KnowledgeVersion + "#H02-ai-cdk46"})},
		{"created is now", *cp.Created == "2026-12-01T09:30:00Z"},
		{"alternative named", noteContains(cp, "Letrozole alone")},
		{"safety flag with rule ID", noteContains(cp, "F-qt") && noteContains(cp, "S04")},
		{"flag of another option left out", !noteContains(cp, "only for the alternative")},
		{"data needed noted", noteContains(cp, "QTcF")},
		{"narrative escapes text", strings.Contains(cp.Text.Div, "&amp; side effects &lt;before&gt;")},
		{"alternatives within the option read as one choice", strings.Contains(cp.Text.Div,
			"<li>One of: letrozole, anastrozole — choose one before accepting; part of Letrozole + ribociclib; schedule: per label:"+
				"<ul><li>letrozole (RxNorm 72965) [not-started]</li><li>anastrozole (RxNorm 84857) [not-started]</li></ul></li>")},
		{"a drug given in any case is listed on its own", strings.Contains(cp.Text.Div,
			"<li>ribociclib (RxNorm 1873916): Part of Letrozole + ribociclib; schedule: per label [not-started]</li>")},
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("%s: not so", c.what)
		}
	}
	var refs []string
	for _, r := range cp.SupportingInfo {
		refs = append(refs, *r.Reference)
	}
	want := []string{"Observation/er1", "Condition/met1", "Observation/meno1", "Observation/pr1", "Observation/her2-1"}
	if !slices.Equal(refs, want) {
		t.Errorf("got supportingInfo %q; want %q (urn:uuid dropped, no duplicates)", refs, want)
	}
	var kinds []string
	for _, a := range cp.Activity {
		k := "none"
		if a.Detail.Kind != nil {
			k = a.Detail.Kind.Code()
		}
		kinds = append(kinds, *a.Id+":"+k)
	}
	wantKinds := []string{"drug-1:MedicationRequest", "drug-2:MedicationRequest", "drug-3:MedicationRequest", "order-4:ServiceRequest", "order-5:ServiceRequest", "item-6:none", "item-7:none", "item-8:none"}
	if !slices.Equal(kinds, wantKinds) {
		t.Errorf("got activities %q; want %q", kinds, wantKinds)
	}
}

func TestCarePlanIdentity(t *testing.T) {
	base := func() (recommend.Plan, recommend.Facts, DraftContext) {
		return planHRPositive(), cpFacts("Patient/p1"), cpContext()
	}
	id := func(p recommend.Plan, f recommend.Facts, dc DraftContext) string {
		t.Helper()
		cp, err := BuildCarePlan(p, f, dc)
		if err != nil {
			t.Fatal(err)
		}
		return *cp.Identifier[0].Value
	}
	p, f, dc := base()
	ref := id(p, f, dc)
	if len(ref) != 64 {
		t.Fatalf("got identifier of %d hex digits; want 64", len(ref))
	}
	same := []struct {
		name   string
		change func(*recommend.Plan, *recommend.Facts, *DraftContext)
	}{
		{"another time", func(_ *recommend.Plan, _ *recommend.Facts, dc *DraftContext) { dc.Now = dc.Now.Add(48 * time.Hour) }},
		{"another clinician and note", func(_ *recommend.Plan, _ *recommend.Facts, dc *DraftContext) {
			dc.ClinicianRef, dc.Note = "Practitioner/dr2", "x"
		}},
		{"top option chosen explicitly", func(_ *recommend.Plan, _ *recommend.Facts, dc *DraftContext) { dc.OptionID = "H02-ai-cdk46" }},
		{"facts' references in another order", func(p *recommend.Plan, _ *recommend.Facts, _ *DraftContext) {
			fu := p.Options[0].FactsUsed
			fu[0], fu[2] = fu[2], fu[0]
			fu[1].Refs = []string{"urn:uuid:5b2c", "Condition/met1"}
		}},
	}
	for _, c := range same {
		p, f, dc := base()
		c.change(&p, &f, &dc)
		if got := id(p, f, dc); got != ref {
			t.Errorf("%s: got identifier %s; want %s (same inputs)", c.name, got, ref)
		}
	}
	differ := []struct {
		name   string
		change func(*recommend.Plan, *recommend.Facts, *DraftContext)
	}{
		{"another option", func(_ *recommend.Plan, _ *recommend.Facts, dc *DraftContext) { dc.OptionID = "H02-ai" }},
		{"another knowledge version", func(p *recommend.Plan, _ *recommend.Facts, _ *DraftContext) {
			p.KnowledgeVersion = "mbcplan-rules-2027.01"
		}},
		{"another patient", func(p *recommend.Plan, f *recommend.Facts, dc *DraftContext) {
			p.Patient.Ref, f.Patient.Ref, dc.PatientRef = "Patient/p9", "Patient/p9", "Patient/p9"
		}},
		{"a newer ER result", func(p *recommend.Plan, _ *recommend.Facts, _ *DraftContext) {
			p.Options[0].FactsUsed[0].Source = src("Observation/er9")
		}},
		{"a fact's value changed", func(p *recommend.Plan, _ *recommend.Facts, _ *DraftContext) {
			p.Subtype.HER2.Value = "unknown"
		}},
	}
	choose := func(m map[string]string) func(*recommend.Plan, *recommend.Facts, *DraftContext) {
		return func(_ *recommend.Plan, _ *recommend.Facts, dc *DraftContext) { dc.Choices = m }
	}
	sameChoice := []struct {
		name   string
		change func(*recommend.Plan, *recommend.Facts, *DraftContext)
	}{
		{"an empty choice is no choice", choose(map[string]string{"ai": ""})},
		{"no choices at all", choose(map[string]string{})},
	}
	for _, c := range sameChoice {
		p, f, dc := base()
		c.change(&p, &f, &dc)
		if got := id(p, f, dc); got != ref {
			t.Errorf("%s: got identifier %s; want %s (same inputs)", c.name, got, ref)
		}
	}
	p, f, dc = base()
	choose(map[string]string{"ai": "letrozole"})(&p, &f, &dc)
	letrozole := id(p, f, dc)
	choose(map[string]string{"ai": " LETROZOLE "})(&p, &f, &dc)
	if got := id(p, f, dc); got != letrozole {
		t.Errorf("the same choice spelt otherwise: got identifier %s; want %s", got, letrozole)
	}
	differ = append(differ, []struct {
		name   string
		change func(*recommend.Plan, *recommend.Facts, *DraftContext)
	}{
		{"letrozole chosen", choose(map[string]string{"ai": "letrozole"})},
		{"anastrozole chosen", choose(map[string]string{"ai": "anastrozole"})},
	}...)
	seen := map[string]string{ref: "no choice"}
	for _, c := range differ {
		p, f, dc := base()
		c.change(&p, &f, &dc)
		got := id(p, f, dc)
		if prev, dup := seen[got]; dup {
			t.Errorf("%s: same identifier as %s; want a new one", c.name, prev)
		}
		seen[got] = c.name
	}
}

func TestCarePlanErrors(t *testing.T) {
	tests := []struct {
		name   string
		change func(*recommend.Plan, *recommend.Facts, *DraftContext)
		want   error
	}{
		{"unknown option", func(_ *recommend.Plan, _ *recommend.Facts, dc *DraftContext) { dc.OptionID = "Z99" }, ErrUnknownOption},
		{"choice of a drug outside its group", func(_ *recommend.Plan, _ *recommend.Facts, dc *DraftContext) {
			dc.Choices = map[string]string{"ai": "Z99-exemestane"}
		}, ErrUnknownChoice},
		{"choice of a drug given in any case", func(_ *recommend.Plan, _ *recommend.Facts, dc *DraftContext) {
			dc.Choices = map[string]string{"ai": "ribociclib"}
		}, ErrUnknownChoice},
		{"choice for a group the option lacks", func(_ *recommend.Plan, _ *recommend.Facts, dc *DraftContext) {
			dc.Choices = map[string]string{"Z99": "letrozole"}
		}, ErrUnknownChoice},
		{"choice for a group of another option", func(_ *recommend.Plan, _ *recommend.Facts, dc *DraftContext) {
			dc.OptionID, dc.Choices = "H02-ai", map[string]string{"ai": "letrozole"}
		}, ErrUnknownChoice},
		{"plan about another patient", func(p *recommend.Plan, _ *recommend.Facts, _ *DraftContext) { p.Patient.Ref = "Patient/other" }, ErrPatientMismatch},
		{"no time", func(_ *recommend.Plan, _ *recommend.Facts, dc *DraftContext) { dc.Now = time.Time{} }, nil},
		{"no patient anywhere", func(p *recommend.Plan, f *recommend.Facts, dc *DraftContext) {
			p.Patient.Ref, f.Patient.Ref, dc.PatientRef = "", "", ""
		}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, f, dc := planHRPositive(), cpFacts("Patient/p1"), cpContext()
			tc.change(&p, &f, &dc)
			_, err := BuildCarePlan(p, f, dc)
			if err == nil {
				t.Fatal("got no error; want one")
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("got %v; want %v", err, tc.want)
			}
			if strings.Contains(err.Error(), "Patient/") || strings.Contains(err.Error(), "Z99") {
				t.Errorf("error %q names an input", err)
			}
		})
	}
}

func TestValidateRejects(t *testing.T) {
	mk := func() *r4.CarePlan {
		cp, err := BuildCarePlan(planHRPositive(), cpFacts("Patient/p1"), cpContext())
		if err != nil {
			t.Fatal(err)
		}
		return cp
	}
	tests := []struct {
		name  string
		spoil func(*r4.CarePlan)
	}{
		{"status active on a proposal", func(cp *r4.CarePlan) { cp.Status = r4.RequestStatusActive }},
		{"intent order", func(cp *r4.CarePlan) { cp.Intent = r4.CarePlanIntentOrder }},
		{"no subject", func(cp *r4.CarePlan) { cp.Subject = r4.Reference{} }},
		{"no identifier", func(cp *r4.CarePlan) { cp.Identifier = nil }},
		{"no category", func(cp *r4.CarePlan) { cp.Category = nil }},
		{"no narrative", func(cp *r4.CarePlan) { cp.Text = nil }},
		{"narrative without namespace", func(cp *r4.CarePlan) { cp.Text.Div = "<div><p>x</p></div>" }},
		{"narrative not well-formed", func(cp *r4.CarePlan) { cp.Text.Div = `<div xmlns="http://www.w3.org/1999/xhtml"><p>x</div>` }},
		{"narrative with script", func(cp *r4.CarePlan) {
			cp.Text.Div = `<div xmlns="http://www.w3.org/1999/xhtml"><script>x</script></div>`
		}},
		{"narrative status extensions", func(cp *r4.CarePlan) { cp.Text.Status = r4.NarrativeStatusExtensions }},
		{"product on a ServiceRequest activity", func(cp *r4.CarePlan) {
			cp.Activity[3].Detail.ProductCodeableConcept = &r4.CodeableConcept{Text: cpStr("tamoxifen")}
		}},
		{"product coded outside RxNorm", func(cp *r4.CarePlan) {
			cp.Activity[0].Detail.ProductCodeableConcept.Coding[0].System = cpStr("http://snomed.info/sct")
		}},
		{"MedicationRequest without product", func(cp *r4.CarePlan) { cp.Activity[0].Detail.ProductCodeableConcept = nil }},
		{"ServiceRequest without code", func(cp *r4.CarePlan) { cp.Activity[3].Detail.Code = nil }},
		{"order coded in ICD-10", func(cp *r4.CarePlan) {
			cp.Activity[3].Detail.Code.Coding = []r4.Coding{{System: cpStr("http://hl7.org/fhir/sid/icd-10-cm"), Code: cpStr("Z01")}}
		}},
		{"activity with reference and detail", func(cp *r4.CarePlan) {
			cp.Activity[0].Reference = &r4.Reference{Reference: cpStr("MedicationRequest/1")}
		}},
		{"empty note", func(cp *r4.CarePlan) { cp.Note[0].Text = " " }},
		{"no created", func(cp *r4.CarePlan) { cp.Created = nil }},
	}
	if err := Validate(mk()); err != nil {
		t.Fatalf("Validate(valid): %v", err)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cp := mk()
			tc.spoil(cp)
			if err := Validate(cp); err == nil {
				t.Error("got no error; want one")
			}
		})
	}
}

// TestCarePlanGoldenScenarios maps every patient of the scenario library
// through the reader, the rules and the CarePlan mapping.
func TestCarePlanGoldenScenarios(t *testing.T) {
	dir, err := fhirtest.LibraryDir()
	if err != nil {
		t.Skipf("no scenario library: %v", err)
	}
	lib, err := fhirtest.LoadLibrary(dir)
	if err != nil {
		t.Fatalf("LoadLibrary: %v", err)
	}
	for _, sc := range lib.Scenarios {
		t.Run(sc.ID, func(t *testing.T) {
			rec, err := RecordFromBundle(sc.Bundle)
			if err != nil {
				t.Fatalf("RecordFromBundle: %v", err)
			}
			facts := MapFacts(rec)
			plan := recommend.Recommend(facts, lib.AsOf, recommend.Settings{})
			dc := DraftContext{
				PatientRef: facts.Patient.Ref, ClinicianRef: "Practitioner/dr1", ClinicianName: "Dr. Example Oncologist",
				Now: lib.AsOf,
			}
			cp, err := BuildCarePlan(plan, facts, dc)
			if err != nil {
				t.Fatalf("BuildCarePlan: %v", err)
			}
			if err := Validate(cp); err != nil {
				t.Errorf("Validate: %v", err)
			}
			b, err := json.Marshal(cp)
			if err != nil {
				t.Fatal(err)
			}
			back, err := r4.UnmarshalCarePlan(b)
			if err != nil {
				t.Fatalf("round trip: %v", err)
			}
			if err := Validate(&back); err != nil {
				t.Errorf("Validate after round trip: %v", err)
			}
			opt, err := chooseOption(plan, "")
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			if opt != nil {
				for _, d := range opt.Drugs {
					want = append(want, d.Name)
				}
			}
			if got := productNames(cp); !slices.Equal(got, want) {
				t.Errorf("got products %q; want the top option's %q", got, want)
			}
			for _, a := range cp.Activity {
				if a.Detail == nil || a.Detail.ProductCodeableConcept == nil {
					continue
				}
				for _, c := range a.Detail.ProductCodeableConcept.Coding {
					if !verifiedRxNorm(opt, *c.Code) {
						t.Errorf("product code %s is not a verified RxNorm of the option", *c.Code)
					}
				}
			}
			base := filepath.Join("testdata", "careplan", "scenarios", goldenName(sc.ID))
			checkGolden(t, base+".careplan.json", cp)
			pv, err := BuildProvenance("CarePlan/cp1/_history/1", ActivityDraft, dc, carePlanSources(cp))
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, base+".provenance.json", pv)
		})
	}
}

func verifiedRxNorm(opt *recommend.Option, code string) bool {
	if opt == nil {
		return false
	}
	for _, d := range opt.Drugs {
		if d.RxNorm == code {
			return true
		}
	}
	return false
}
