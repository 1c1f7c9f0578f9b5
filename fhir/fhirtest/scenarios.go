package fhirtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// ExpectationsFile is the name of the expectations file in the patient
// library directory.
const ExpectationsFile = "expectations.json"

// Expectation is one patient's entry in testdata/patients/expectations.json:
// the answer written down from the clinical reference before any code ran.
type Expectation struct {
	ID       string        `json:"id"`
	File     string        `json:"file"`
	Scenario string        `json:"scenario"`
	Facts    ExpectedFacts `json:"facts"`
	// Statements are clinician statements (recommend.Statements as JSON) to
	// apply before the rules; nil when there are none.
	Statements json.RawMessage `json:"statements,omitempty"`
	// MustPropose: for each entry, at least one of AnyOf must appear in a
	// proposed option. MustNotPropose: none of AnyOf may appear in any.
	MustPropose    []DrugExpectation `json:"mustPropose"`
	MustNotPropose []DrugExpectation `json:"mustNotPropose"`
	// NoDrug is true when no drug at all may be proposed.
	NoDrug bool `json:"noDrug"`
	// DataNeeded and Flags are the minimum the plan must list.
	DataNeeded []DataExpectation `json:"dataNeeded"`
	Flags      []FlagExpectation `json:"flags"`
	// Skipped counts malformed resources a reader must skip; OtherSubject
	// counts resources about another patient that a reader must drop.
	Skipped      int `json:"skipped"`
	OtherSubject int `json:"otherSubject"`
	// Rules are the REFERENCE.md rule IDs the expectation follows from.
	Rules []string `json:"rules"`
	Notes string   `json:"notes,omitempty"`
}

// ExpectedFacts are the key facts a reader and the rules must arrive at.
// The string values follow the plan's vocabulary ("positive", "yes",
// "postmenopausal", "age ≥ 60", …).
type ExpectedFacts struct {
	ER             string `json:"er"`
	PR             string `json:"pr"`
	HER2           string `json:"her2"`
	HER2Low        string `json:"her2Low"`
	HR             string `json:"hr"`
	Menopause      string `json:"menopause"`
	MenopauseBasis string `json:"menopauseBasis"`
	Metastatic     bool   `json:"metastatic"`
	// Line is the line of therapy the options are for; 0 when no line
	// applies (non-metastatic disease).
	Line     int    `json:"line"`
	Continue bool   `json:"continue"`
	Pregnant bool   `json:"pregnant"`
	Sex      string `json:"sex"`
}

// DrugExpectation names drugs or class tags (rxnorm-drug-sets.json keys,
// plus triptorelin, inavolisib and nab-paclitaxel).
type DrugExpectation struct {
	AnyOf []string `json:"anyOf"`
	Rules []string `json:"rules"`
	Why   string   `json:"why,omitempty"`
}

// DataExpectation is a data-needed item the plan must list.
type DataExpectation struct {
	ID    string   `json:"id"`
	Rules []string `json:"rules"`
	Why   string   `json:"why,omitempty"`
}

// FlagExpectation is a safety flag (an S rule ID) the plan must raise.
type FlagExpectation struct {
	ID   string `json:"id"`
	Kind string `json:"kind"`
	Why  string `json:"why,omitempty"`
}

// Scenario is one synthetic patient: its Bundle as stored and what the
// program must make of it.
type Scenario struct {
	ID     string
	File   string
	Title  string
	Bundle []byte
	Expect Expectation
}

// Library is the whole patient library. AsOf is the reference date every
// test passes as "now".
type Library struct {
	AsOf      time.Time
	Scenarios []Scenario
}

type expectationsDoc struct {
	AsOf     string        `json:"asOf"`
	About    string        `json:"about,omitempty"`
	Patients []Expectation `json:"patients"`
}

// LoadLibrary reads dir/expectations.json and every Bundle it lists, in the
// order listed. It fails on an unknown field, a duplicate ID or file, a file
// outside dir, or a Bundle that is not valid JSON.
func LoadLibrary(dir string) (*Library, error) {
	raw, err := os.ReadFile(filepath.Join(dir, ExpectationsFile))
	if err != nil {
		return nil, fmt.Errorf("fhirtest: read expectations: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var doc expectationsDoc
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("fhirtest: decode expectations: %v", err)
	}
	asOf, err := time.Parse(time.DateOnly, doc.AsOf)
	if err != nil {
		return nil, fmt.Errorf("fhirtest: expectations asOf: %v", err)
	}
	lib := &Library{AsOf: asOf}
	ids := map[string]bool{}
	files := map[string]bool{}
	for i, e := range doc.Patients {
		switch {
		case e.ID == "" || e.File == "":
			return nil, fmt.Errorf("fhirtest: expectations entry %d: id and file are required", i)
		case filepath.Base(e.File) != e.File:
			return nil, fmt.Errorf("fhirtest: %s: file %q is not a plain file name", e.ID, e.File)
		case ids[e.ID]:
			return nil, fmt.Errorf("fhirtest: duplicate patient id %s", e.ID)
		case files[e.File]:
			return nil, fmt.Errorf("fhirtest: %s: file %s listed twice", e.ID, e.File)
		}
		ids[e.ID], files[e.File] = true, true
		b, err := os.ReadFile(filepath.Join(dir, e.File))
		if err != nil {
			return nil, fmt.Errorf("fhirtest: %s: %w", e.ID, err)
		}
		if !json.Valid(b) {
			return nil, fmt.Errorf("fhirtest: %s: %s is not valid JSON", e.ID, e.File)
		}
		lib.Scenarios = append(lib.Scenarios, Scenario{ID: e.ID, File: e.File, Title: e.Scenario, Bundle: b, Expect: e})
	}
	return lib, nil
}

// Lookup returns the scenario whose patient ID is id.
func (l *Library) Lookup(id string) (Scenario, bool) {
	for _, s := range l.Scenarios {
		if s.ID == id {
			return s, true
		}
	}
	return Scenario{}, false
}

// ErrNoLibrary means no testdata/patients directory was found above the
// working directory.
var ErrNoLibrary = errors.New("fhirtest: testdata/patients not found")

// LibraryDir finds <repo>/testdata/patients by walking up from the working
// directory (tests run in their package directory).
func LibraryDir() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("fhirtest: working directory: %w", err)
	}
	for {
		cand := filepath.Join(dir, "testdata", "patients")
		if _, err := os.Stat(filepath.Join(cand, ExpectationsFile)); err == nil {
			return cand, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", ErrNoLibrary
		}
		dir = parent
	}
}
