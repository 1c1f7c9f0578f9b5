package main

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/mbcplan/mbcplan/fhir"
	"github.com/mbcplan/mbcplan/fhir/fhirtest"
	"github.com/mbcplan/mbcplan/recommend"
)

// The unseen patients (testdata/unseen) were written apart from the
// library, the way mCODE, Epic and Oracle Health send records: searchsets
// with OperationOutcome entries, documents, transactions, local codes,
// OIDs and text values. Their expectations follow the clinical reference,
// in the library's schema, and they run through the same checks.

// knownRuleGaps lists checks of the unseen patients that fail because the
// rules (package recommend, under clinical review) do not yet do what
// REFERENCE.md asks, keyed "<patient id>/<check>", with the rule. A listed
// check that fails is skipped with its reason; one that passes fails the
// test, so the entry is removed once the rules are fixed. Reading gaps are
// fixed in package fhir, never listed here.
var knownRuleGaps = map[string]string{}

// unseenUltralow are the HER2-ultralow calls the unseen bundles settle
// (expectations.json has no field for them): IHC 0 with no membrane
// staining is not ultralow; IHC 0 without a staining description is
// unknown (section 8).
var unseenUltralow = map[string]string{
	"unseen-01": "no", "unseen-04": "unknown", "unseen-21": "no", "unseen-24": "unknown",
}

// unseenDir finds testdata/unseen beside the patient library.
func unseenDir(t *testing.T) string {
	t.Helper()
	lib, err := fhirtest.LibraryDir()
	if err != nil {
		t.Fatalf("LibraryDir: %v", err)
	}
	return filepath.Join(filepath.Dir(lib), "unseen")
}

func loadUnseen(t *testing.T) (*fhirtest.Library, string) {
	t.Helper()
	dir := unseenDir(t)
	lib, err := fhirtest.LoadLibrary(dir)
	if err != nil {
		t.Fatalf("LoadLibrary(%s): %v", dir, err)
	}
	if len(lib.Scenarios) < 10 {
		t.Fatalf("LoadLibrary(%s): %d patients; want at least 10", dir, len(lib.Scenarios))
	}
	return lib, dir
}

// reportGaps fails t for every problem not listed in gaps, skips t with the
// listed ones, and fails for a listed check that passes now.
func reportGaps(t *testing.T, id string, pb problems, gaps map[string]string, kind string) {
	t.Helper()
	checks := make([]string, 0, len(pb))
	for c := range pb {
		checks = append(checks, c)
	}
	sort.Strings(checks)
	var known []string
	for _, c := range checks {
		key := id + "/" + c
		if why, ok := gaps[key]; ok {
			known = append(known, fmt.Sprintf("%s (known %s: %s): %s", key, kind, why, strings.Join(pb[c], "; ")))
			continue
		}
		for _, msg := range pb[c] {
			t.Errorf("%s: %s", c, msg)
		}
	}
	keys := make([]string, 0, len(gaps))
	for k := range gaps {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, key := range keys {
		if c, ok := strings.CutPrefix(key, id+"/"); ok && len(pb[c]) == 0 {
			t.Errorf("%s[%q] passes now: remove the entry", kind, key)
		}
	}
	if len(known) > 0 && !t.Failed() {
		t.Skip(strings.Join(known, "\n"))
	}
}

// TestUnseenPatients runs every unseen patient through the reader, the
// mapping and the rules, and checks the plan against its expectations.
func TestUnseenPatients(t *testing.T) {
	lib, _ := loadUnseen(t)
	for _, sc := range lib.Scenarios {
		t.Run(sc.ID, func(t *testing.T) {
			rec, err := fhir.RecordFromBundle(sc.Bundle)
			if err != nil {
				t.Fatalf("RecordFromBundle(%s): %v", sc.File, err)
			}
			f := fhir.MapFacts(rec)
			f.Statements = expectedStatements(t, sc)
			p := recommend.Recommend(f, lib.AsOf, recommend.Settings{})
			pb := problems{}
			checkPlan(p, f, sc.Expect, pb)
			if want, ok := unseenUltralow[sc.ID]; ok && p.Subtype.HER2Ultralow.Value != want {
				pb.add("her2Ultralow", "got %q (%s); want %q", p.Subtype.HER2Ultralow.Value, p.Subtype.HER2Ultralow.Basis, want)
			}
			reportGaps(t, sc.ID, pb, knownRuleGaps, "rule gap")
		})
	}
}

// TestUnseenRecommendCommand runs `mbcplan recommend --careplan` on every
// unseen patient: exit 0, a draft proposal about the patient, and products
// that are the top-ranked option's drugs and nothing the expectations
// forbid.
func TestUnseenRecommendCommand(t *testing.T) {
	lib, dir := loadUnseen(t)
	asOf := lib.AsOf.Format("2006-01-02")
	for _, sc := range lib.Scenarios {
		t.Run(sc.ID, func(t *testing.T) {
			checkRecommendCommand(t, sc, filepath.Join(dir, sc.File), asOf)
		})
	}
}

func TestReportGapsKeys(t *testing.T) {
	// Every knownRuleGaps key names an unseen patient and a check that
	// checkPlan can report.
	lib, _ := loadUnseen(t)
	checks := map[string]bool{
		"er": true, "pr": true, "her2": true, "hr": true, "her2Low": true, "her2Ultralow": true, "menopause": true,
		"menopauseBasis": true, "sex": true, "metastatic": true, "line": true, "continue": true, "pregnant": true,
		"mustPropose": true, "mustNotPropose": true, "noDrug": true, "dataNeeded": true, "flags": true,
		"skipped": true, "otherSubject": true, "basis": true, "vocabulary": true, "patient": true,
	}
	for key, why := range knownRuleGaps {
		id, c, ok := strings.Cut(key, "/")
		if _, found := lib.Lookup(id); !ok || !found || !checks[c] {
			t.Errorf("knownRuleGaps[%q]: want \"<unseen patient id>/<check>\"", key)
		}
		if why == "" {
			t.Errorf("knownRuleGaps[%q]: no reason", key)
		}
	}
}
