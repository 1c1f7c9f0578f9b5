package fhir

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/mbcplan/mbcplan/fhir/fhirtest"
	"github.com/mbcplan/mbcplan/recommend"
)

// TestFetchRecordMatchesBundleUnseen reads every unseen patient (written the
// way Epic, Oracle Health and mCODE send records) from the sandbox FHIR
// server and checks the facts equal those read from the patient's Bundle:
// the search wave finds what a Bundle holds, whatever its style.
func TestFetchRecordMatchesBundleUnseen(t *testing.T) {
	lib, err := fhirtest.LoadLibrary(filepath.Join("..", "testdata", "unseen"))
	if err != nil {
		t.Fatalf("unseen library: %v", err)
	}
	c := startSandbox(t, lib, fhirtest.Options{PageSize: 7})
	for _, sc := range lib.Scenarios {
		t.Run(sc.ID, func(t *testing.T) {
			rec, err := c.FetchRecord(t.Context(), patientIDOf(t, sc.Bundle))
			if err != nil {
				t.Fatalf("FetchRecord: %v", err)
			}
			direct, err := RecordFromBundle(sc.Bundle)
			if err != nil {
				t.Fatal(err)
			}
			got, want := MapFacts(rec), MapFacts(direct)
			got.Record, want.Record = recommend.RecordNotes{}, recommend.RecordNotes{}
			gj, err := json.MarshalIndent(got, "", " ")
			if err != nil {
				t.Fatal(err)
			}
			wj, err := json.MarshalIndent(want, "", " ")
			if err != nil {
				t.Fatal(err)
			}
			// A Bundle entry without an id is known by its urn:uuid fullUrl;
			// the server names it Type/{uuid}: the same resource.
			gj, wj = uuidRefs.ReplaceAll(gj, []byte(`"ref:$1"`)), uuidRefs.ReplaceAll(wj, []byte(`"ref:$1"`))
			if !bytes.Equal(gj, wj) {
				t.Errorf("facts read from the server differ from the bundle's:\n%s", firstDiff(string(gj), string(wj)))
			}
		})
	}
}

var uuidRefs = regexp.MustCompile(`"(?:urn:uuid:|[A-Z][A-Za-z]+/)([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})"`)
