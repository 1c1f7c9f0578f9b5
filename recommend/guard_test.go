package recommend

import "testing"

// TestGuardRemovesUnsafeOptions feeds the guard options that a faulty rule
// could produce and checks each is removed with its gate.
func TestGuardRemovesUnsafeOptions(t *testing.T) {
	opt := func(id, category string, names ...string) Option {
		return Option{ID: id, Category: category, Drugs: drugs(names...), Rules: []string{"H02"}}
	}
	tests := []struct {
		name  string
		facts Facts
		opt   Option
		flags []Flag
		gate  string
	}{
		{"trastuzumab for a HER2-negative patient", patient(), opt("X-t", "her2", "trastuzumab", "pertuzumab", "docetaxel"), nil, "her2-negative-or-unknown"},
		{"T-DXd for HER2-negative without HER2-low known", patient(func(f *Facts) { f.HER2 = []HER2Result{{Status: ReceptorNegative, Final: true}} }), opt("X-d", "adc", "fam-trastuzumab deruxtecan"), nil, "her2-negative-or-unknown"},
		{"chemotherapy with HER2 unknown", patient(func(f *Facts) { f.HER2 = nil }), opt("X-c", "chemotherapy", "capecitabine"), nil, "her2-unknown"},
		{"letrozole for a triple-negative patient", patient(tnbc), opt("X-l", "endocrine", "letrozole"), nil, "hr-negative-or-unknown"},
		{"letrozole without OFS at 44, premenopausal", patient(premenopausal), opt("X-l", "endocrine", "letrozole"), nil, "ovarian-suppression"},
		{"fulvestrant for a man without a GnRH agonist", patient(func(f *Facts) { f.Patient.Sex = SexMale }), opt("X-f", "endocrine", "fulvestrant"), nil, "ovarian-suppression"},
		{"tamoxifen alone at 44 without OFS declined", patient(premenopausal), opt("X-t", "endocrine", "tamoxifen"), nil, "tamoxifen-alone"},
		{"ribociclib with long QT", patient(withComorb(comorbidity(LongQT, "resolved"))), opt("X-r", "endocrine+cdk46", "letrozole", "ribociclib"), nil, "qt"},
		{"ribociclib with tamoxifen", patient(), opt("X-r", "endocrine+cdk46", "tamoxifen", "ribociclib"), nil, "qt"},
		{"doxorubicin after prior epirubicin", patient(tnbc, withMeds(med("MedicationAdministration/e", MedAdministration, "completed", "2020-01-01", "2020-04-01", "epirubicin"))), opt("X-a", "chemotherapy", "doxorubicin"), nil, "cardiac-anthracycline"},
		{"doxorubicin with LVEF 45%", patient(tnbc, withLVEF(45, "2026-11-20")), opt("X-a", "chemotherapy", "doxorubicin"), nil, "cardiac-anthracycline"},
		{"trastuzumab with LVEF 35%", patient(her2Positive, withLVEF(35, "2026-11-20")), opt("X-t", "her2", "trastuzumab"), nil, "cardiac-her2"},
		{"T-DXd with ILD and no flag", patient(her2Positive, withComorb(comorbidity(ILD, "inactive"))), opt("X-d", "adc", "fam-trastuzumab deruxtecan"), nil, "ild-no-caution"},
		{"any drug during pregnancy", patient(premenopausal, func(f *Facts) { f.Pregnancy = nil; p := Pregnant; f.Statements.Pregnancy = &p }), opt("X-z", "supportive", "zoledronic acid"), nil, "pregnancy"},
		{"bone agent without metastatic disease", patient(func(f *Facts) { f.Metastases = nil }), opt("X-z", "supportive", "zoledronic acid"), nil, "not-metastatic"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := derive(tt.facts, testNow, Settings{}, ruleTable())
			kept, removed := guard([]Option{tt.opt}, tt.flags, gatesOf(s))
			if len(kept) != 0 || len(removed) != 1 || removed[0].Gate != tt.gate {
				t.Errorf("got kept %v removed %+v; want removed by gate %s", kept, removed, tt.gate)
			}
		})
	}
}

// TestGuardKeepsSafeOptions: the same gates keep what they must keep.
func TestGuardKeepsSafeOptions(t *testing.T) {
	ildFlag := []Flag{{ID: "S07", Kind: "ild", Severity: SeverityCaution, Options: []string{"X-d"}}}
	tests := []struct {
		name  string
		facts Facts
		opt   Option
		flags []Flag
	}{
		{"T-DXd for HER2-low", patient(), Option{ID: "X-d", Category: "adc", Drugs: drugs("fam-trastuzumab deruxtecan")}, nil},
		{"T-DXd with ILD and an explicit caution", patient(her2Positive, withComorb(comorbidity(ILD, "active"))), Option{ID: "X-d", Category: "adc", Drugs: drugs("fam-trastuzumab deruxtecan")}, ildFlag},
		{"bone agent with HER2 unknown", patient(func(f *Facts) { f.HER2 = nil }), Option{ID: "X-z", Category: "supportive", Drugs: drugs("zoledronic acid")}, nil},
		{"letrozole with goserelin at 44", patient(premenopausal), Option{ID: "X-l", Category: "endocrine", Drugs: drugs("letrozole", "goserelin")}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := derive(tt.facts, testNow, Settings{}, ruleTable())
			kept, removed := guard([]Option{tt.opt}, tt.flags, gatesOf(s))
			if len(kept) != 1 || len(removed) != 0 {
				t.Errorf("got kept %v removed %+v; want the option kept", kept, removed)
			}
		})
	}
}
