package fhir

import "testing"

// TestLVEFBoundKeepsItsComparator: "<40 %" is an adverse bound the rules
// must read as below 40, not as an LVEF of 40.
func TestLVEFBoundKeepsItsComparator(t *testing.T) {
	tests := []struct {
		name, value string
		want        *float64
		wantCmp     string
	}{
		{"upper bound below the cut-off", `,"valueQuantity":{"value":40,"comparator":"<","unit":"%"}`, fp(40), "<"},
		{"plain value", `,"valueQuantity":{"value":40,"unit":"%"}`, fp(40), ""},
		{"upper bound across the cut-off is not read", `,"valueQuantity":{"value":55,"comparator":"<","unit":"%"}`, nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := mapResources(t, obs("lvef", "10230-1", tc.value))
			if tc.want == nil {
				if len(f.LVEF) != 0 {
					t.Fatalf("LVEF %+v; want none read", f.LVEF)
				}
				return
			}
			if len(f.LVEF) != 1 || f.LVEF[0].Value == nil {
				t.Fatalf("LVEF %+v; want one value", f.LVEF)
			}
			if got := f.LVEF[0]; *got.Value != *tc.want || got.Comparator != tc.wantCmp {
				t.Errorf("LVEF %g comparator %q; want %g %q", *got.Value, got.Comparator, *tc.want, tc.wantCmp)
			}
		})
	}
}
