package recommend_test

import (
	"fmt"
	"strings"
	"time"

	"github.com/mbcplan/mbcplan/recommend"
)

// A 52-year-old woman with ER-positive, HER2 IHC 2+/ISH-negative breast
// cancer and new bone and liver metastases; no menopausal status recorded.
func ExampleRecommend() {
	pct := 80.0
	final := func(ref, date string) recommend.Source {
		return recommend.Source{Refs: []string{ref}, Date: date, Status: "final"}
	}
	facts := recommend.Facts{
		Patient: recommend.Patient{Ref: "Patient/example", Sex: recommend.SexFemale, BirthDate: "1974-04-02"},
		ER:      []recommend.ReceptorResult{{Status: recommend.ReceptorPositive, Percent: &pct, Final: true, Source: final("Observation/er", "2026-10-20")}},
		PR:      []recommend.ReceptorResult{{Status: recommend.ReceptorNegative, Final: true, Source: final("Observation/pr", "2026-10-20")}},
		HER2: []recommend.HER2Result{
			{IHC: recommend.IHC2, Final: true, Source: final("Observation/her2-ihc", "2026-10-20")},
			{ISH: recommend.ReceptorNegative, Final: true, Source: final("Observation/her2-ish", "2026-10-20")},
		},
		Metastases: []recommend.Metastasis{
			{Kind: recommend.MetastasisDistant, Site: "bone", Basis: "condition", Finding: recommend.Finding{ClinicalStatus: "active", Source: final("Condition/bone", "2026-10-25")}},
			{Kind: recommend.MetastasisDistant, Site: "liver", Visceral: true, Basis: "condition", Finding: recommend.Finding{ClinicalStatus: "active", Source: final("Condition/liver", "2026-10-25")}},
		},
	}
	now := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	plan := recommend.Recommend(facts, now, recommend.Settings{})

	fmt.Println(plan.Subtype.Summary)
	fmt.Println("menopause:", plan.Menopause.Status, "line:", plan.Line)
	for _, o := range plan.Options {
		var names []string
		for _, d := range o.Drugs {
			names = append(names, d.Name)
		}
		fmt.Printf("%d. %s [%s] %s\n", o.Rank, o.ID, strings.Join(o.Rules, ","), strings.Join(names, ", "))
	}
	for _, d := range plan.DataNeeded {
		fmt.Println("needed:", d.ID)
	}
	// Output:
	// HR+/HER2- (ER positive, PR negative, HER2 negative, HER2-low yes)
	// menopause: unknown line: 1
	// 1. H02-nsai-cdk46 [C06,C07,H01,H02] letrozole, anastrozole, palbociclib, ribociclib, abemaciclib, goserelin, leuprolide
	// 2. L07-bone-agent [L07] zoledronic acid, denosumab
	// needed: pregnancy-test
	// needed: ecg-qtcf
	// needed: ecog
	// needed: electrolytes
	// needed: labs-cbc
	// needed: labs-liver
	// needed: labs-renal
	// needed: menopause
}
