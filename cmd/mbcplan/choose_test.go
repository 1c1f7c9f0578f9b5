package main

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mbcplan/mbcplan/fhir/fhirtest"
)

func TestParseChoice(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want map[string]string
		ok   bool
	}{
		{"one choice", []string{"cdk46=palbociclib"}, map[string]string{"cdk46": "palbociclib"}, true},
		{"spaces trimmed", []string{" nsai = letrozole "}, map[string]string{"nsai": "letrozole"}, true},
		{"the same choice twice", []string{"cdk46=palbociclib", "cdk46=Palbociclib"}, map[string]string{"cdk46": "Palbociclib"}, true},
		{"no equals sign", []string{"cdk46"}, nil, false},
		{"no drug", []string{"cdk46="}, nil, false},
		{"no group", []string{"=palbociclib"}, nil, false},
		{"two drugs for one group", []string{"cdk46=palbociclib", "cdk46=ribociclib"}, nil, false},
		{"a group too long", []string{strings.Repeat("g", 101) + "=x"}, nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := map[string]string{}
			var err error
			for _, a := range tc.args {
				if err = parseChoice(got, a); err != nil {
					break
				}
			}
			if (err == nil) != tc.ok {
				t.Fatalf("parseChoice(%q): got error %v; want ok %v", tc.args, err, tc.ok)
			}
			if tc.ok && !mapsEqual(got, tc.want) {
				t.Errorf("parseChoice(%q): got %v; want %v", tc.args, got, tc.want)
			}
		})
	}
	many := map[string]string{}
	for i := range maxChoices {
		if err := parseChoice(many, "g"+strings.Repeat("x", i)+"=d"); err != nil {
			t.Fatal(err)
		}
	}
	if err := parseChoice(many, "one-more=d"); err == nil {
		t.Errorf("choice %d: got no error; want one", maxChoices+1)
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// TestRecommendChoose: --choose keeps the chosen drugs and names the
// others; a drug the option does not offer, or a malformed flag, is a
// usage error (exit 2).
func TestRecommendChoose(t *testing.T) {
	lib := loadScenarios(t)
	dir, err := fhirtest.LibraryDir()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "01-hrpos-postmeno-first-line.json")
	base := []string{"recommend", "--careplan", "--bundle", path, "--now", lib.AsOf.Format("2006-01-02")}
	products := func(out string) []string {
		t.Helper()
		var cp carePlanDoc
		if err := json.Unmarshal([]byte(out), &cp); err != nil {
			t.Fatalf("careplan output: %v", err)
		}
		var names []string
		for _, a := range cp.Activity {
			if a.Detail != nil && a.Detail.Product != nil {
				names = append(names, a.Detail.Product.Text)
			}
		}
		return names
	}

	out, errOut, err := runCommand(t, base...)
	if err != nil {
		t.Fatalf("recommend: %v (stderr %q)", err, errOut)
	}
	all := products(out)
	if len(all) < 3 || !strings.Contains(out, "choose one before accepting") {
		t.Fatalf("without --choose: got products %q; want every alternative, each asking for a choice", all)
	}

	out, errOut, err = runCommand(t, append(base, "--choose", "nsai=Anastrozole", "--choose", "cdk46=palbociclib")...)
	if err != nil {
		t.Fatalf("recommend --choose: %v (stderr %q)", err, errOut)
	}
	if got := products(out); !slices.Equal(got, []string{"anastrozole", "palbociclib"}) {
		t.Errorf("got products %q; want [anastrozole palbociclib]", got)
	}
	if !strings.Contains(out, "alternatives considered: letrozole.") || strings.Contains(out, "choose one before accepting") {
		t.Error("the chosen draft does not name the alternatives considered, or still asks for a choice")
	}

	for _, bad := range [][]string{
		{"--choose", "cdk46=tamoxifen"},
		{"--choose", "no-such-group=palbociclib"},
		{"--choose", "cdk46"},
	} {
		_, _, err := runCommand(t, append(base, bad...)...)
		if err == nil || exitCode(err) != 2 {
			t.Errorf("recommend %q: got %v; want a usage error (exit 2)", bad, err)
		}
	}
}

func TestDraftRequestChoicesValidation(t *testing.T) {
	long := strings.Repeat("x", 101)
	eleven := map[string]string{}
	for i := range 11 {
		eleven[strings.Repeat("g", i+1)] = "d"
	}
	tests := []struct {
		name    string
		choices map[string]string
		ok      bool
	}{
		{"none", nil, true},
		{"two", map[string]string{"nsai": "letrozole", "cdk46": "palbociclib"}, true},
		{"eleven", eleven, false},
		{"a key too long", map[string]string{long: "d"}, false},
		{"a value too long", map[string]string{"cdk46": long}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := validate.Struct(draftRequest{OptionID: "H02", Choices: tc.choices})
			if (err == nil) != tc.ok {
				t.Errorf("got %v; want ok %v", err, tc.ok)
			}
		})
	}
}
