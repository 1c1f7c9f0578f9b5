package fhir

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/mbcplan/mbcplan/recommend"
)

// drugActivities lists each drug activity as "product: description".
func drugActivities(cp *r4.CarePlan) []string {
	var out []string
	for _, a := range cp.Activity {
		d := a.Detail
		if d == nil || d.Kind == nil || *d.Kind != r4.CarePlanActivityKindMedicationRequest {
			continue
		}
		name, _ := productName(d)
		desc := ""
		if d.Description != nil {
			desc = *d.Description
		}
		out = append(out, name+": "+desc)
	}
	return out
}

// planCDKChoice: fulvestrant given in any case, one of three CDK4/6
// inhibitors, and an option with a single-drug group.
func planCDKChoice() recommend.Plan {
	p := planHRPositive()
	p.Options = append(p.Options, recommend.Option{
		ID: "H03-fulv-cdk46", Rank: 3, Title: "Fulvestrant + CDK4/6 inhibitor", Category: "endocrine+cdk46", Line: 1,
		Drugs: []recommend.Drug{
			{Name: "fulvestrant", RxNorm: "282357"},
			{Name: "palbociclib", RxNorm: "1601374", Choice: "cdk46"},
			{Name: "ribociclib", RxNorm: "1873916", Choice: "cdk46"},
			{Name: "abemaciclib", RxNorm: "1946825", Choice: "cdk46"},
			{Name: "goserelin", RxNorm: "50610", Choice: "gnrh"},
		},
		Rules: []string{"H03"},
	})
	return p
}

func TestCarePlanChoices(t *testing.T) {
	const cdkOpen = "One of: palbociclib, ribociclib, abemaciclib — choose one before accepting; part of Fulvestrant + CDK4/6 inhibitor"
	tests := []struct {
		name    string
		choices map[string]string
		// want are the drug activities, "product: description".
		want []string
		// notes must appear; absent must not.
		notes, absent []string
	}{
		{
			name: "no choice: each alternative says it is one of three",
			want: []string{
				"fulvestrant: Part of Fulvestrant + CDK4/6 inhibitor",
				"palbociclib: " + cdkOpen, "ribociclib: " + cdkOpen, "abemaciclib: " + cdkOpen,
				"goserelin: Part of Fulvestrant + CDK4/6 inhibitor",
			},
			absent: []string{"chosen by the clinician"},
		},
		{
			name:    "abemaciclib chosen: the others are named in a note",
			choices: map[string]string{"cdk46": "abemaciclib"},
			want: []string{
				"fulvestrant: Part of Fulvestrant + CDK4/6 inhibitor",
				"abemaciclib: Chosen by the clinician from: palbociclib, ribociclib, abemaciclib; part of Fulvestrant + CDK4/6 inhibitor",
				"goserelin: Part of Fulvestrant + CDK4/6 inhibitor",
			},
			notes: []string{"abemaciclib chosen by the clinician; alternatives considered: palbociclib, ribociclib."},
		},
		{
			name:    "an empty choice leaves the group open",
			choices: map[string]string{"cdk46": " "},
			want: []string{
				"fulvestrant: Part of Fulvestrant + CDK4/6 inhibitor",
				"palbociclib: " + cdkOpen, "ribociclib: " + cdkOpen, "abemaciclib: " + cdkOpen,
				"goserelin: Part of Fulvestrant + CDK4/6 inhibitor",
			},
			absent: []string{"chosen by the clinician"},
		},
		{
			name:    "the only drug of a group chosen: nothing to consider",
			choices: map[string]string{"gnrh": "goserelin", "cdk46": "Palbociclib"},
			want: []string{
				"fulvestrant: Part of Fulvestrant + CDK4/6 inhibitor",
				"palbociclib: Chosen by the clinician from: palbociclib, ribociclib, abemaciclib; part of Fulvestrant + CDK4/6 inhibitor",
				"goserelin: Part of Fulvestrant + CDK4/6 inhibitor",
			},
			notes:  []string{"palbociclib chosen by the clinician; alternatives considered: ribociclib, abemaciclib."},
			absent: []string{"goserelin chosen"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dc := cpContext()
			dc.OptionID, dc.Choices = "H03-fulv-cdk46", tc.choices
			cp, err := BuildCarePlan(planCDKChoice(), cpFacts("Patient/p1"), dc)
			if err != nil {
				t.Fatalf("BuildCarePlan: %v", err)
			}
			if err := Validate(cp); err != nil {
				t.Errorf("Validate: %v", err)
			}
			if got := drugActivities(cp); !slices.Equal(got, tc.want) {
				t.Errorf("got drug activities\n%q\nwant\n%q", got, tc.want)
			}
			for _, n := range tc.notes {
				if !noteContains(cp, n) {
					t.Errorf("no note %q", n)
				}
			}
			for _, n := range tc.absent {
				if noteContains(cp, n) {
					t.Errorf("unexpected note %q", n)
				}
			}
		})
	}
}

func TestCarePlanTextGroupsAlternatives(t *testing.T) {
	dc := cpContext()
	dc.OptionID = "H03-fulv-cdk46"
	cp, err := BuildCarePlan(planCDKChoice(), cpFacts("Patient/p1"), dc)
	if err != nil {
		t.Fatal(err)
	}
	want := "Proposed drugs:\n" +
		"- fulvestrant (RxNorm 282357): Part of Fulvestrant + CDK4/6 inhibitor [not-started]\n" +
		"- One of: palbociclib, ribociclib, abemaciclib — choose one before accepting; part of Fulvestrant + CDK4/6 inhibitor:\n" +
		"  - palbociclib (RxNorm 1601374) [not-started]\n" +
		"  - ribociclib (RxNorm 1873916) [not-started]\n" +
		"  - abemaciclib (RxNorm 1946825) [not-started]\n" +
		"- goserelin (RxNorm 50610): Part of Fulvestrant + CDK4/6 inhibitor [not-started]\n"
	if got := CarePlanText(cp); !strings.Contains(got, want) {
		t.Errorf("got text\n%s\nwant it to hold\n%s", got, want)
	}
	if got, want := drugSummary(cp), "fulvestrant; one of palbociclib, ribociclib, abemaciclib (not yet chosen); goserelin"; got != want {
		t.Errorf("got summary %q; want %q", got, want)
	}
}

func TestCarePlanNeverWritesUnverifiedRxNorm(t *testing.T) {
	// A plan whose drug carries a partial code (as a future catalogue
	// mistake might): the drug is written by name only.
	p := planHER2Cardiac()
	p.Options[1].Drugs[0].RxNorm = "2267582"
	dc := cpContext()
	dc.PatientRef, dc.OptionID = "Patient/p2", "P03-tdxd"
	cp, err := BuildCarePlan(p, cpFacts("Patient/p2"), dc)
	if err != nil {
		t.Fatal(err)
	}
	if err := Validate(cp); err != nil {
		t.Errorf("Validate: %v", err)
	}
	b, err := json.Marshal(cp)
	if err != nil {
		t.Fatal(err)
	}
	if code := forbiddenCode(string(b)); code != "" {
		t.Errorf("CarePlan holds the unverified RxNorm code %s", code)
	}
	if got := productNames(cp); !slices.Equal(got, []string{"trastuzumab deruxtecan"}) {
		t.Errorf("got products %q; want the name alone", got)
	}
}

func TestValidateRejectsUnverifiedAndStrayAlternatives(t *testing.T) {
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
		{"tucatinib's partial code", func(cp *r4.CarePlan) { cp.Activity[2].Detail.ProductCodeableConcept.Coding[0].Code = cpStr("2361285") }},
		{"sacituzumab's conflicting code", func(cp *r4.CarePlan) { cp.Activity[2].Detail.ProductCodeableConcept.Coding[0].Code = cpStr("2360232") }},
		{"an alternative not among those it names", func(cp *r4.CarePlan) { cp.Activity[0].Detail.ProductCodeableConcept.Text = cpStr("exemestane") }},
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

// forbiddenRxNorm are the codes REFERENCE.md section 8 marks partial: they
// are never written.
var forbiddenRxNorm = []string{"2267582", "2361285", "2099704", "2360231", "2360232"}

// forbiddenCode returns the first forbidden code s holds as a whole number,
// or "".
func forbiddenCode(s string) string {
	for _, code := range forbiddenRxNorm {
		for i := strings.Index(s, code); i >= 0; {
			end := i + len(code)
			before := i == 0 || s[i-1] < '0' || s[i-1] > '9'
			after := end == len(s) || s[end] < '0' || s[end] > '9'
			if before && after {
				return code
			}
			next := strings.Index(s[i+1:], code)
			if next < 0 {
				break
			}
			i += 1 + next
		}
	}
	return ""
}

func TestForbiddenCode(t *testing.T) {
	tests := []struct{ in, want string }{
		{`"code": "2267582"`, "2267582"},
		{`RxNorm 2099704)`, "2099704"},
		{`22675821 and 12360231`, ""},
		{`12267582 then 2360232`, "2360232"},
	}
	for _, tc := range tests {
		if got := forbiddenCode(tc.in); got != tc.want {
			t.Errorf("forbiddenCode(%q): got %q; want %q", tc.in, got, tc.want)
		}
	}
}

// TestGoldensSafeAndRoundTrip walks every golden of the CarePlan mapping:
// none holds a partial RxNorm code anywhere (codes, text or narrative),
// every CarePlan passes Validate and survives samply's models unchanged,
// and every Provenance survives them too.
func TestGoldensSafeAndRoundTrip(t *testing.T) {
	root := filepath.Join("testdata", "careplan")
	n := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".json") {
			return err
		}
		n++
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if code := forbiddenCode(string(data)); code != "" {
			t.Errorf("%s holds the partial RxNorm code %s", path, code)
		}
		var back any
		switch {
		case strings.HasSuffix(path, ".careplan.json"):
			cp, err := r4.UnmarshalCarePlan(data)
			if err != nil {
				t.Errorf("%s: UnmarshalCarePlan: %v", path, err)
				return nil
			}
			if err := Validate(&cp); err != nil {
				t.Errorf("%s: Validate: %v", path, err)
			}
			back = cp
		case strings.HasSuffix(path, ".provenance.json"):
			pv, err := r4.UnmarshalProvenance(data)
			if err != nil {
				t.Errorf("%s: UnmarshalProvenance: %v", path, err)
				return nil
			}
			back = pv
		default:
			t.Errorf("%s: not a CarePlan or Provenance golden", path)
			return nil
		}
		b, err := json.Marshal(back)
		if err != nil {
			t.Errorf("%s: marshal: %v", path, err)
			return nil
		}
		var want, got any
		if err := json.Unmarshal(data, &want); err != nil {
			t.Errorf("%s: %v", path, err)
			return nil
		}
		if err := json.Unmarshal(b, &got); err != nil {
			t.Errorf("%s: %v", path, err)
			return nil
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s changed in a round trip through samply's models:\ngot %s", path, b)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 6 {
		t.Errorf("got %d goldens; want at least 6", n)
	}
}
