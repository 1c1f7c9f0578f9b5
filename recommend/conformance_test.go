package recommend

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// Regressions found by running the synthetic patient library end to end
// (cmd/mbcplan/scenarios_test.go): HER2 results that complete each other
// across days, and safety flags that must show when they left no option to
// attach to.

func her2ISH(st ReceptorStatus, date string) HER2Result {
	return HER2Result{ISH: st, Method: "ish", Final: true, Source: src("Observation/ish-"+date, date)}
}

func onSpecimen(r HER2Result, ref string) HER2Result {
	r.Specimen, r.SpecimenRef = SpecimenMetastatic, ref
	return r
}

func TestHER2ResultsOfOneTime(t *testing.T) {
	tests := []struct {
		name          string
		her2          []HER2Result
		wantHER2      string
		wantLow       string
		wantNeed      string // a DataNeeded id that must be listed
		wantNoNeedIHC bool   // her2-ihc must not be asked
	}{
		{
			name:     "IHC 2+ and ISH not amplified three days later on one specimen: HER2-low",
			her2:     []HER2Result{onSpecimen(her2IHC(IHC2, "2026-08-16"), "Specimen/s1"), onSpecimen(her2ISH(ReceptorNegative, "2026-08-19"), "Specimen/s1")},
			wantHER2: "negative", wantLow: "yes", wantNoNeedIHC: true,
		},
		{
			name:     "IHC 2+ then ISH not amplified three days later, no specimen: the reflex ISH completes the IHC",
			her2:     []HER2Result{her2IHC(IHC2, "2026-10-26"), her2ISH(ReceptorNegative, "2026-10-29")},
			wantHER2: "negative", wantLow: "yes", wantNoNeedIHC: true,
		},
		{
			name:     "IHC 2+ then ISH amplified, no specimen: HER2-positive",
			her2:     []HER2Result{her2IHC(IHC2, "2026-10-26"), her2ISH(ReceptorPositive, "2026-10-29")},
			wantHER2: "positive", wantLow: "no",
		},
		{
			name:     "IHC 2+ and ISH on different identified specimens: not completed, IHC asked",
			her2:     []HER2Result{onSpecimen(her2IHC(IHC2, "2026-10-26"), "Specimen/a"), onSpecimen(her2ISH(ReceptorNegative, "2026-10-29"), "Specimen/b")},
			wantHER2: "negative", wantLow: "unknown", wantNeed: "her2-ihc",
		},
		{
			name:     "IHC 2+ and an ISH two months later, no specimen: not a reflex test, IHC asked",
			her2:     []HER2Result{her2IHC(IHC2, "2026-08-01"), her2ISH(ReceptorNegative, "2026-10-01")},
			wantHER2: "negative", wantLow: "unknown", wantNeed: "her2-ihc",
		},
		{
			name:     "IHC 1+ then ISH not amplified, no specimen: only an IHC 2+ awaits ISH",
			her2:     []HER2Result{her2IHC(IHC1, "2026-10-26"), her2ISH(ReceptorNegative, "2026-10-29")},
			wantHER2: "negative", wantLow: "unknown", wantNeed: "her2-ihc",
		},
		{
			name:     "IHC 3+ and IHC 1+ on one specimen on different days: conflicting",
			her2:     []HER2Result{onSpecimen(her2IHC(IHC3, "2026-10-01"), "Specimen/s1"), onSpecimen(her2IHC(IHC1, "2026-10-05"), "Specimen/s1")},
			wantHER2: "unknown", wantLow: "unknown", wantNeed: "conflict-her2",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Recommend(patient(func(f *Facts) { f.HER2 = tt.her2 }), testNow, Settings{})
			if got := p.Subtype.HER2.Value; got != tt.wantHER2 {
				t.Errorf("HER2 got %q (%s); want %q", got, p.Subtype.HER2.Basis, tt.wantHER2)
			}
			if got := p.Subtype.HER2Low.Value; got != tt.wantLow {
				t.Errorf("HER2-low got %q (%s); want %q", got, p.Subtype.HER2Low.Basis, tt.wantLow)
			}
			var need []string
			for _, d := range p.DataNeeded {
				need = append(need, d.ID)
			}
			if tt.wantNeed != "" && !contains(need, tt.wantNeed) {
				t.Errorf("data needed got %v; want %s", need, tt.wantNeed)
			}
			if tt.wantNoNeedIHC && contains(need, "her2-ihc") {
				t.Errorf("data needed got %v; want no her2-ihc", need)
			}
		})
	}
}

func TestPlanLevelSafetyFlags(t *testing.T) {
	tests := []struct {
		name     string
		facts    Facts
		id, kind string
		severity Severity
		textHas  string
	}{
		{
			name:  "HER2+ with heart failure and LVEF 33%: HER2-directed therapy deferred, the cardiac flag stays",
			facts: patient(her2Positive, withLVEF(33, "2026-11-20"), withComorb(comorbidity(HeartFailure, "active"))),
			id:    "S02", kind: "cardiac", severity: SeverityCaution, textHas: "deferred",
		},
		{
			name:  "HR+/HER2- with heart failure: cardiac flag although no HER2-directed option",
			facts: patient(withComorb(comorbidity(HeartFailure, "active"))),
			id:    "S02", kind: "cardiac", severity: SeverityCaution, textHas: "heart failure",
		},
		{
			name:  "long QT syndrome: ribociclib left out and flagged",
			facts: patient(withComorb(comorbidity(LongQT, "active"))),
			id:    "S04", kind: "qt", severity: SeverityInfo, textHas: "long QT",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Recommend(tt.facts, testNow, Settings{})
			var got []string
			found := false
			for _, f := range p.SafetyFlags {
				got = append(got, f.ID+"/"+f.Kind+"/"+string(f.Severity))
				if f.ID == tt.id && f.Kind == tt.kind && f.Severity == tt.severity && strings.Contains(f.Text, tt.textHas) {
					found = true
					if len(f.Options) != 0 {
						t.Errorf("flag %s names options %v; want a plan-level flag", f.ID, f.Options)
					}
				}
			}
			if !found {
				t.Errorf("safety flags got %v; want %s/%s/%s mentioning %q", got, tt.id, tt.kind, tt.severity, tt.textHas)
			}
		})
	}
}

func TestAllergyToOneAlternative(t *testing.T) {
	allergy := func(drugs, classes []string) func(*Facts) {
		return func(f *Facts) {
			f.Allergies = []Allergy{{Drugs: drugs, Classes: classes, Substance: Coding{Display: "test substance"},
				Finding: Finding{ClinicalStatus: "active", VerificationStatus: "confirmed", Source: src("AllergyIntolerance/a1", "2020-01-01")}}}
		}
	}
	tests := []struct {
		name     string
		facts    Facts
		severity Severity
		textHas  string
	}{
		{"HER2+ first line, paclitaxel allergy: THP flagged, docetaxel remains", patient(her2Positive, allergy([]string{"paclitaxel"}, nil)), SeverityCaution, "choose docetaxel"},
		{"HER2+ first line, taxane allergy: no taxane left, THP blocked", patient(her2Positive, allergy(nil, []string{"taxane"})), SeverityBlock, "includes"},
		{"HER2+ first line, trastuzumab allergy: no alternative, THP blocked", patient(her2Positive, allergy([]string{"trastuzumab"}, nil)), SeverityBlock, "trastuzumab"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Recommend(tt.facts, testNow, Settings{})
			o, ok := optionByID(p, "P02-thp")
			if !ok {
				t.Fatalf("options %v; want P02-thp kept (an allergy flags, it does not remove)", ids(p.Options, func(o Option) string { return o.ID }))
			}
			var got []string
			found := false
			for _, f := range o.Flags {
				if f.ID != "ALLERGY" {
					continue
				}
				got = append(got, string(f.Severity)+": "+f.Text)
				if f.Severity == tt.severity && strings.Contains(f.Text, tt.textHas) {
					found = true
				}
			}
			if !found {
				t.Errorf("allergy flags got %q; want %s mentioning %q", got, tt.severity, tt.textHas)
			}
		})
	}
}

func TestStaleLabsBeforeAnyStart(t *testing.T) {
	oldLabs := func(f *Facts) {
		for i := range f.Labs {
			f.Labs[i].Date = "2026-10-01"
		}
	}
	tests := []struct {
		name     string
		facts    Facts
		want     []string
		wantNone []string
	}{
		{"first-line AI + CDK4/6i, liver metastases only (no bone agent), 55-day-old normal labs: blood count, liver and renal tests repeated",
			patient(oldLabs, func(f *Facts) { f.Metastases = []Metastasis{metastasis("liver", "2026-10-05")} }), []string{"stale-labs-cbc", "stale-labs-liver", "stale-labs-renal"}, nil},
		{"first-line AI + CDK4/6i with fresh labs: nothing stale",
			patient(), nil, []string{"stale-labs-cbc", "stale-labs-liver", "stale-labs-renal"}},
		{"old creatinine above range: an adverse value stays in force, not stale",
			patient(oldLabs, func(f *Facts) { f.Labs[2] = lab(LabCreatinine, 2.1, RangeHigh, "2026-10-01") }), []string{"stale-labs-cbc"}, []string{"stale-labs-renal"}},
		{"not metastatic: no option, nothing stale",
			patient(oldLabs, func(f *Facts) { f.Metastases = nil }), nil, []string{"stale-labs-cbc", "stale-labs-renal"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Recommend(tt.facts, testNow, Settings{})
			var got []string
			for _, d := range p.DataNeeded {
				got = append(got, d.ID)
			}
			for _, id := range tt.want {
				if !contains(got, id) {
					t.Errorf("data needed got %v; want %s", got, id)
				}
			}
			for _, id := range tt.wantNone {
				if contains(got, id) {
					t.Errorf("data needed got %v; want no %s", got, id)
				}
			}
		})
	}
}

// dataNeededVocabulary is the DataNeeded id vocabulary the UI, the
// CarePlan writer and testdata/patients/expectations.json share.
func dataNeededVocabulary(id string) bool {
	switch id {
	case "er", "pr", "her2", "her2-ihc", "hr-status", "menopause", "metastasis",
		"pregnancy-test", "lvef", "ecg-qtcf", "ecog", "pdl1", "genomic-pik3ca-akt1-pten",
		"esr1", "germline-brca", "labs-cbc", "labs-liver", "labs-renal", "glucose-hba1c",
		"electrolytes", "stop-reason", "adjuvant-et-end", "rebiopsy":
		return true
	}
	for _, p := range []string{"conflict-", "not-final-"} {
		if m, ok := strings.CutPrefix(id, p); ok {
			return m == "er" || m == "pr" || m == "her2"
		}
	}
	if m, ok := strings.CutPrefix(id, "stale-"); ok {
		switch m {
		case "lvef", "pregnancy", "labs-cbc", "labs-liver", "labs-renal", "ecog", "qtcf":
			return true
		}
	}
	return false
}

func TestPropertyDataNeededVocabulary(t *testing.T) {
	r := rand.New(rand.NewPCG(20261120, 7))
	n := 2000
	if testing.Short() {
		n = 500
	}
	seen := map[string]bool{}
	for i := 0; i < n; i++ {
		p := Recommend(genFacts(r), testNow, Settings{})
		for _, d := range p.DataNeeded {
			seen[d.ID] = true
			if !dataNeededVocabulary(d.ID) {
				t.Fatalf("case %d: data needed id %q (%s); want an id of the vocabulary", i, d.ID, d.Item)
			}
			if d.Reason == "" || d.Why == "" {
				t.Errorf("case %d: data needed %q without reason or why", i, d.ID)
			}
		}
	}
	if len(seen) < 10 {
		t.Errorf("generated plans listed %d distinct data-needed ids; want at least 10, or the property proves little", len(seen))
	}
}

func TestBoneAgentAlreadyPrescribed(t *testing.T) {
	tests := []struct {
		name       string
		meds       []Medication
		wantOption string
		wantDrugs  []string
	}{
		{"bone metastases, no bone agent: zoledronic acid or denosumab", nil, "L07-bone-agent", []string{"denosumab", "zoledronic acid"}},
		{"bone metastases on denosumab (mbc-18): continue it, no second agent",
			[]Medication{med("MedicationRequest/dmab", MedRequest, "active", "2024-05-06", "2027-02-18", "denosumab")}, "L07-bone-agent-continue", []string{"denosumab"}},
		{"bone metastases, denosumab order ended: a new agent is considered",
			[]Medication{med("MedicationRequest/dmab", MedRequest, "active", "2024-05-06", "2025-02-18", "denosumab")}, "L07-bone-agent", []string{"denosumab", "zoledronic acid"}},
		{"bone metastases, zoledronic acid stopped: a new agent is considered",
			[]Medication{med("MedicationRequest/zol", MedRequest, "stopped", "2024-05-06", "", "zoledronic acid")}, "L07-bone-agent", []string{"denosumab", "zoledronic acid"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Recommend(patient(withMeds(tt.meds...)), testNow, Settings{})
			var bone []Option
			for _, o := range p.Options {
				if optionHas(o, classBone) {
					bone = append(bone, o)
				}
			}
			if len(bone) != 1 || bone[0].ID != tt.wantOption {
				t.Fatalf("bone-agent options got %v; want only %s", ids(bone, func(o Option) string { return o.ID }), tt.wantOption)
			}
			got := ids(bone[0].Drugs, func(d Drug) string { return d.Name })
			if strings.Join(got, ",") != strings.Join(tt.wantDrugs, ",") {
				t.Errorf("%s drugs got %v; want %v", tt.wantOption, got, tt.wantDrugs)
			}
		})
	}
}
