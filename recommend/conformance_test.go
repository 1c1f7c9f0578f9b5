package recommend

import (
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
