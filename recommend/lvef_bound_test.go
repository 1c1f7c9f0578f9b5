package recommend

import "testing"

// withLVEFBound records an LVEF reported as a bound ("<40 %").
func withLVEFBound(cmp string, v float64, date string) func(*Facts) {
	return func(f *Facts) {
		withLVEF(v, date)(f)
		f.LVEF[len(f.LVEF)-1].Comparator = cmp
	}
}

func TestLVEFReportedAsABound(t *testing.T) {
	tests := []struct {
		name         string
		lvef         func(*Facts)
		wantDeferred bool
		wantCaution  bool
	}{
		{"HER2+ with LVEF <40%: every value it allows is below 40, HER2-directed therapy deferred", withLVEFBound("<", 40, "2026-11-20"), true, false},
		{"HER2+ with LVEF 40%: the 40–49% group, options stay after cardio-oncology review", withLVEF(40, "2026-11-20"), false, true},
		{"HER2+ with LVEF <=40%: 40 itself is allowed, so not deferred; caution", withLVEFBound("<=", 40, "2026-11-20"), false, true},
		{"HER2+ with LVEF <45%: below 50 for sure, caution", withLVEFBound("<", 45, "2026-11-20"), false, true},
		{"HER2+ with LVEF >60%: reassuring", withLVEFBound(">", 60, "2026-11-20"), false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := Recommend(patient(her2Positive, tc.lvef), testNow, Settings{})
			s := derive(patient(her2Positive, tc.lvef), testNow, Settings{}, ruleTable())
			if got := s.her2Deferred(); got != tc.wantDeferred {
				t.Errorf("her2Deferred = %v; want %v", got, tc.wantDeferred)
			}
			if got := s.her2CardiacCaution(); got != tc.wantCaution {
				t.Errorf("her2CardiacCaution = %v; want %v", got, tc.wantCaution)
			}
			if tc.wantDeferred && len(optionsOfClass(p, "cardiotoxic_HER2")) > 0 {
				t.Errorf("options %v; want no HER2-directed antibody or ADC", optionSummary(p))
			}
		})
	}
}
