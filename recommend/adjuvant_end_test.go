package recommend

import (
	"slices"
	"testing"
)

func TestAdjuvantAIWithoutEndDate(t *testing.T) {
	adjuvant := func(status, end string) func(*Facts) {
		return func(f *Facts) {
			f.Medications = []Medication{med("MedicationRequest/ana", MedRequest, status, "2019-02-01", end, "anastrozole")}
		}
	}
	ids := func(p Plan) []string {
		var out []string
		for _, o := range p.Options {
			out = append(out, o.ID)
		}
		return out
	}
	needs := func(p Plan, id string) bool {
		return slices.ContainsFunc(p.DataNeeded, func(d DataNeeded) bool { return d.ID == id })
	}
	t.Run("adjuvant anastrozole completed, end not recorded: both C07 paths, AI first, end date asked", func(t *testing.T) {
		p := Recommend(patient(adjuvant("completed", "")), testNow, Settings{})
		got := ids(p)
		if len(got) < 2 || got[0] != "H02-nsai-cdk46" || !slices.Contains(got, "H03-fulv-cdk46") {
			t.Errorf("options %v; want H02-nsai-cdk46 first and H03-fulv-cdk46 as an alternative", got)
		}
		for _, o := range p.Options {
			if o.ID == "H03-fulv-cdk46" && o.Preferred {
				t.Errorf("H03 preferred while the timing is unknown")
			}
		}
		if !needs(p, "adjuvant-et-end") {
			t.Errorf("data needed %v; want adjuvant-et-end", p.DataNeeded)
		}
	})
	t.Run("adjuvant anastrozole ended in 2024, relapse in 2026: endocrine-sensitive, H02 only", func(t *testing.T) {
		p := Recommend(patient(adjuvant("completed", "2024-02-01")), testNow, Settings{})
		if got := ids(p); slices.Contains(got, "H03-fulv-cdk46") || !slices.Contains(got, "H02-nsai-cdk46") {
			t.Errorf("options %v; want H02 and no H03", got)
		}
		if needs(p, "adjuvant-et-end") {
			t.Errorf("end date asked although recorded")
		}
	})
	t.Run("adjuvant anastrozole ended 6 months before relapse: AI-resistant, H03 preferred", func(t *testing.T) {
		p := Recommend(patient(adjuvant("completed", "2026-04-01")), testNow, Settings{})
		if got := ids(p); len(got) == 0 || got[0] != "H03-fulv-cdk46" || slices.Contains(got, "H02-nsai-cdk46") {
			t.Errorf("options %v; want H03-fulv-cdk46 first and no H02", got)
		}
	})
}
