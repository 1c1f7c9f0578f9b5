package fhir

import (
	"encoding/json"
	"reflect"
	"slices"
	"testing"

	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"
)

// writtenDraft wraps a CarePlan as a written draft.
func writtenDraft(t *testing.T, cp *r4.CarePlan) *Draft {
	t.Helper()
	raw, err := json.Marshal(cp)
	if err != nil {
		t.Fatal(err)
	}
	return &Draft{ID: "d1", CarePlan: raw}
}

func TestDraftChoices(t *testing.T) {
	allCDK := []string{"palbociclib", "ribociclib", "abemaciclib"}
	tests := []struct {
		name    string
		choices map[string]string
		// keep, when set, narrows the CDK4/6 alternatives by an edit that
		// removes the others.
		keep     string
		want     []Choice
		wantOpen bool
	}{
		{name: "written without choices: alternatives open", wantOpen: true},
		{name: "abemaciclib chosen when written", choices: map[string]string{"cdk46": "abemaciclib"},
			want: []Choice{{Drug: "abemaciclib", From: allCDK}}},
		{name: "the only drug of a group is no choice", choices: map[string]string{"gnrh": "goserelin", "cdk46": "Palbociclib"},
			want: []Choice{{Drug: "palbociclib", From: allCDK}}},
		{name: "an edit left ribociclib alone", keep: "ribociclib",
			want: []Choice{{Drug: "ribociclib", From: allCDK}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dc := cpContext()
			dc.OptionID, dc.Choices = "H03-fulv-cdk46", tc.choices
			cp, err := BuildCarePlan(planCDKChoice(), cpFacts("Patient/p1"), dc)
			if err != nil {
				t.Fatalf("BuildCarePlan: %v", err)
			}
			if tc.keep != "" {
				var kept []r4.CarePlanActivity
				for _, a := range cp.Activity {
					if a.Detail != nil {
						if name, _ := productName(a.Detail); name != tc.keep && slices.Contains(allCDK, name) {
							continue
						}
					}
					kept = append(kept, a)
				}
				cp.Activity = kept
				settleChoices(cp, dc)
			}
			chosen, open, err := writtenDraft(t, cp).Choices()
			if err != nil {
				t.Fatalf("Choices: %v", err)
			}
			if !reflect.DeepEqual(chosen, tc.want) || open != tc.wantOpen {
				t.Errorf("got choices %+v, open %v; want %+v, open %v", chosen, open, tc.want, tc.wantOpen)
			}
		})
	}
}

func TestDraftChoicesUndecodable(t *testing.T) {
	d := &Draft{ID: "d1", CarePlan: json.RawMessage(`{"resourceType":"CarePlan","activity":"Patient/secret-42"}`)}
	chosen, open, err := d.Choices()
	if err == nil || chosen != nil || open {
		t.Fatalf("got %+v, %v, %v; want an error and nothing", chosen, open, err)
	}
	if got := err.Error(); got != "fhir: draft choices: the CarePlan could not be decoded" {
		t.Errorf("error %q; want no content of the CarePlan", got)
	}
}
