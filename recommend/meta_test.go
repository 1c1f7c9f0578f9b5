package recommend

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// allScenarios are every named scenario row of the package's tables.
func allScenarios() []scenario { return append(scenarios(), reviewScenarios()...) }

// TestEveryRuleFires fails when a rule of the table never fires in the
// scenario tables.
func TestEveryRuleFires(t *testing.T) {
	fired := map[string]bool{}
	for _, sc := range allScenarios() {
		for _, id := range Recommend(sc.facts, testNow, sc.settings).RulesFired {
			fired[id] = true
		}
	}
	for _, r := range Rules() {
		if !fired[r.ID] {
			t.Errorf("rule %s (%s) never fires in the scenarios; got fired %d rules", r.ID, r.Title, len(fired))
		}
	}
}

// everyPatient are the rules whose condition is true for every patient
// (none since lifestyle advice L01–L03 stops for a patient who has died).
var everyPatient = map[string]bool{}

// TestEveryRuleSuppressed fails when no scenario row asserts that a rule
// stays silent: each rule needs a row where its key precondition is false,
// named in the row's silent list (checked by TestScenarios and
// TestClinicalReview), and the plan of that row must indeed not fire it.
func TestEveryRuleSuppressed(t *testing.T) {
	suppressed := map[string][]string{}
	for _, sc := range allScenarios() {
		fired := Recommend(sc.facts, testNow, sc.settings).RulesFired
		for _, id := range sc.silent {
			if contains(fired, id) {
				t.Errorf("%s: rule %s listed silent but fired", sc.name, id)
				continue
			}
			suppressed[id] = append(suppressed[id], sc.name)
		}
	}
	for _, r := range Rules() {
		if everyPatient[r.ID] {
			if len(suppressed[r.ID]) > 0 {
				t.Errorf("rule %s is listed as applying to every patient but %v suppress it", r.ID, suppressed[r.ID])
			}
			continue
		}
		if len(suppressed[r.ID]) == 0 {
			t.Errorf("rule %s (%s) is never asserted silent by a scenario; want a row where its precondition is false", r.ID, r.Title)
		}
	}
}

// TestRuleTableIsComplete checks the table's plain data: unique IDs, every
// section 3 rule present, a source, a year, a strength and a condition.
func TestRuleTableIsComplete(t *testing.T) {
	want := map[string]int{"C": 8, "H": 16, "P": 7, "T": 6, "S": 12, "L": 7}
	got := map[string]int{}
	seen := map[string]bool{}
	for _, r := range Rules() {
		if seen[r.ID] {
			t.Errorf("rule %s appears twice; want unique IDs", r.ID)
		}
		seen[r.ID] = true
		if len(r.ID) == 3 && strings.ContainsAny(r.ID[1:], "0123456789") {
			got[r.ID[:1]]++
		}
		if r.Title == "" || r.Proposes == "" || r.Source == "" || r.Year == 0 || r.Strength == "" || r.when == nil || r.then == nil {
			t.Errorf("rule %s got %+v; want title, proposes, source, year, strength, condition and action", r.ID, r)
		}
	}
	for prefix, n := range want {
		if got[prefix] != n {
			t.Errorf("rules with prefix %s got %d; want %d", prefix, got[prefix], n)
		}
	}
}

// TestDeterministic: the same facts and now give byte-identical JSON.
func TestDeterministic(t *testing.T) {
	for _, sc := range scenarios() {
		a, err := json.Marshal(Recommend(sc.facts, testNow, sc.settings))
		if err != nil {
			t.Fatalf("%s: marshal: %v", sc.name, err)
		}
		for i := 0; i < 3; i++ {
			b, err := json.Marshal(Recommend(sc.facts, testNow, sc.settings))
			if err != nil {
				t.Fatalf("%s: marshal: %v", sc.name, err)
			}
			if !bytes.Equal(a, b) {
				t.Errorf("%s: run %d got different JSON; want byte-identical plans", sc.name, i+2)
			}
		}
	}
}

// TestOptionsCarryTheirBasis: every option has rules, evidence from the
// table, a rank in order, and only verified RxNorm codes.
func TestOptionsCarryTheirBasis(t *testing.T) {
	for _, sc := range scenarios() {
		p := Recommend(sc.facts, testNow, sc.settings)
		if p.Options == nil || p.DataNeeded == nil {
			t.Errorf("%s: options %v, data needed %v; want non-nil slices", sc.name, p.Options == nil, p.DataNeeded == nil)
		}
		for i, o := range p.Options {
			if o.Rank != i+1 {
				t.Errorf("%s: option %s rank got %d; want %d", sc.name, o.ID, o.Rank, i+1)
			}
			if len(o.Rules) == 0 || len(o.Evidence) == 0 || o.Rationale == "" {
				t.Errorf("%s: option %s got rules %v evidence %v; want both and a rationale", sc.name, o.ID, o.Rules, o.Evidence)
			}
			if !strings.HasPrefix(o.ID, o.Evidence[0].RuleID) && o.ID != "CONT-current" {
				t.Errorf("%s: option %s first evidence %s; want the main rule", sc.name, o.ID, o.Evidence[0].RuleID)
			}
			for _, d := range o.Drugs {
				if want := verifiedRxNorm[d.Name]; d.RxNorm != want {
					t.Errorf("%s: %s RxNorm got %q; want %q", sc.name, d.Name, d.RxNorm, want)
				}
			}
		}
	}
}

// verifiedRxNorm copies the "verified" ingredient codes of codes.json;
// anything else must be written by name only.
var verifiedRxNorm = map[string]string{
	"tamoxifen": "10324", "anastrozole": "84857", "letrozole": "72965", "exemestane": "258494", "goserelin": "50610",
	"leuprolide": "42375", "fulvestrant": "282357", "palbociclib": "1601374", "ribociclib": "1873916", "abemaciclib": "1946825",
	"trastuzumab": "224905", "pertuzumab": "1298944", "ado-trastuzumab emtansine": "1371041", "capecitabine": "194000",
	"docetaxel": "72962", "paclitaxel": "56946", "alpelisib": "2169285", "olaparib": "1597582", "pembrolizumab": "1547545",
	"everolimus": "141704", "lapatinib": "480167", "neratinib": "1940643", "eribulin": "1045452", "cyclophosphamide": "3002",
	"doxorubicin": "3639", "carboplatin": "40048", "gemcitabine": "12574", "atezolizumab": "1792776", "toremifene": "38409",
	"epirubicin": "3995", "cisplatin": "2555", "vinorelbine": "39541", "zoledronic acid": "77655", "denosumab": "993449",
}
