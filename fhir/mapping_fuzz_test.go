package fhir

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode"

	"github.com/mbcplan/mbcplan/recommend"
)

// safeMessages are every error and skip reason RecordFromBundle and
// MapFacts may produce, with digits removed: an output outside this set
// could carry input text.
var safeMessages = []string{
	"fhir: the bundle is empty",
	"fhir: the input is not a JSON FHIR Bundle",
	"fhir: the input is not a FHIR Bundle",
	"fhir: the bundle has no entries",
	"fhir: bundle must hold exactly one Patient (found )",
	"fhir: the bundle's Patient has an invalid id",
	"fhir: the bundle's Patient has neither id nor fullUrl",
	"not a FHIR resource",
	"no patient reference",
	"entered in error",
	"cancelled",
	"not a FHIR R4 resource type",
	"another entry has the same type and id; the first one was read",
	"pathology report without coded results",
	"a contained resource without a valid id",
}

// reasonOK reports whether a skip reason follows one of the reader's
// templates, whose only variable parts are schema names.
func reasonOK(s string) bool {
	for _, m := range safeMessages {
		if s == m {
			return true
		}
	}
	rest, ok := strings.CutPrefix(s, "invalid ")
	if !ok {
		return false
	}
	typ, detail, ok := strings.Cut(rest, ": ")
	if !ok || !validType(typ) && typ != "resource" {
		return false
	}
	detail = strings.TrimSuffix(detail, "; only gender and birth date were read")
	switch {
	case detail == "malformed JSON", detail == "not valid FHIR R4 JSON", detail == "a field has the wrong JSON type",
		detail == errStringNumber.Error():
		return true
	case strings.HasPrefix(detail, "unrecognised ") && strings.HasSuffix(detail, " code"):
		return validType(strings.TrimSuffix(strings.TrimPrefix(detail, "unrecognised "), " code"))
	case strings.HasPrefix(detail, "field ") && strings.Contains(detail, " has the wrong JSON type ("):
		path := strings.TrimPrefix(detail, "field ")
		path = path[:strings.Index(path, " ")]
		return safePath(path)
	}
	return false
}

func stripDigits(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsDigit(r) {
			return -1
		}
		return r
	}, s)
}

func addSeeds(f *testing.F) {
	for _, pat := range []string{"testdata/mcode/*.json", "testdata/cerner/*.json", "testdata/holdout/*.json", "../testdata/patients/*.json", "../testdata/unseen/*.json"} {
		files, _ := filepath.Glob(pat)
		for _, file := range files {
			if strings.HasSuffix(file, "expectations.json") {
				continue
			}
			// Large seeds slow the fuzzing engine down to a crawl; the
			// unit tests cover them.
			if b, err := os.ReadFile(file); err == nil && len(b) <= 24<<10 {
				f.Add(b)
			}
		}
	}
	f.Add([]byte(`{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Patient","id":"p"}},
		{"resource":{"resourceType":"Observation","status":"final","subject":{"reference":"Patient/p"},
		"code":{"text":"HER2 IHC"},"valueString":"2+ equivocal"}}]}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`[]`))
}

func FuzzRecordFromBundle(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		rec, err := RecordFromBundle(data)
		if err != nil {
			msg := stripDigits(err.Error())
			ok := false
			for _, m := range safeMessages {
				ok = ok || msg == m
			}
			if !ok {
				t.Fatalf("error %q is not one of the reader's fixed messages", err)
			}
			return
		}
		for _, s := range rec.Skipped {
			if !reasonOK(s.Reason) {
				t.Fatalf("skip reason %q is not one of the reader's templates", s.Reason)
			}
		}
		facts := MapFacts(rec)
		for _, s := range facts.Record.Skipped {
			if !reasonOK(s.Reason) {
				t.Fatalf("skip reason %q is not one of the reader's templates", s.Reason)
			}
		}
		// Valid output round-trips through JSON.
		b, err := json.Marshal(facts)
		if err != nil {
			t.Fatal(err)
		}
		var back recommend.Facts
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		// Mapping is deterministic.
		if b2, _ := json.Marshal(MapFacts(rec)); string(b2) != string(b) {
			t.Fatal("MapFacts gave different facts for the same record")
		}
	})
}

// FuzzMapFacts maps hand-built records (no reader checks): one resource of
// each mapped type built from the input.
func FuzzMapFacts(f *testing.F) {
	f.Add([]byte(`{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"85147-7"}]},"valueString":"CPS ≥10"}`))
	f.Add([]byte(`{"resourceType":"MedicationRequest","status":"active","contained":[{"resourceType":"Medication","id":"m","code":{"text":"Enhertu"}}],"medicationReference":{"reference":"#m"}}`))
	f.Add([]byte(`{"resourceType":"Condition","code":{"coding":[{"system":"http://hl7.org/fhir/sid/icd-10-cm","code":"C79.51"}]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var head struct {
			ResourceType string `json:"resourceType"`
		}
		if json.Unmarshal(data, &head) != nil {
			return
		}
		rec := &Record{PatientID: "p", PatientRef: "Patient/p", Patient: json.RawMessage(data),
			Resources: []Resource{{Type: head.ResourceType, ID: "x", Raw: data}}}
		facts := MapFacts(rec)
		for _, s := range facts.Record.Skipped {
			if !reasonOK(s.Reason) {
				t.Fatalf("skip reason %q is not one of the reader's templates", s.Reason)
			}
		}
	})
}

func TestReasonsAreTemplates(t *testing.T) {
	for _, s := range []string{"invalid Observation: unrecognised ObservationStatus code", "entered in error",
		"invalid Patient: field telecom.rank has the wrong JSON type (string); only gender and birth date were read"} {
		if !reasonOK(s) {
			t.Errorf("reasonOK(%q) = false; want true", s)
		}
	}
	if reasonOK("invalid Observation: unknown code `Jane Doe`") {
		t.Error("a reason quoting a value passes; want it rejected")
	}
}
