package recommend

import "testing"

func TestCombinedERPRResult(t *testing.T) {
	combined := func(status ReceptorStatus, final bool) func(*Facts) {
		return func(f *Facts) {
			f.ER, f.PR = nil, nil
			f.HRCombined = []ReceptorResult{{Status: status, Method: "coded", Final: final, Source: src("Observation/erpr", "2026-10-01")}}
		}
	}
	tests := []struct {
		name      string
		facts     Facts
		wantHR    string
		endocrine bool
	}{
		{"only a combined ER+PR result, positive: hormone-receptor positive, endocrine options", patient(combined(ReceptorPositive, true)), "positive", true},
		{"only a combined ER+PR result, negative: HR stays unknown (which receptor is not said), no endocrine option", patient(combined(ReceptorNegative, true)), "unknown", false},
		{"combined ER+PR positive but preliminary: not used", patient(combined(ReceptorPositive, false)), "unknown", false},
		{"separate ER and PR negative win over nothing", patient(hrNegative), "negative", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := Recommend(tc.facts, testNow, Settings{})
			if p.Subtype.HR.Value != tc.wantHR {
				t.Errorf("HR %q (%s); want %q", p.Subtype.HR.Value, p.Subtype.HR.Basis, tc.wantHR)
			}
			if got := len(optionsOfClass(p, "endocrine")) > 0; got != tc.endocrine {
				t.Errorf("endocrine options %v: got %v; want %v", optionSummary(p), got, tc.endocrine)
			}
			if tc.wantHR == "positive" && len(p.Subtype.HR.Refs) == 0 {
				t.Errorf("HR positive from the combined result carries no source reference")
			}
		})
	}
}
