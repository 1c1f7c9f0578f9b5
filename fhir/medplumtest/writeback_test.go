package medplumtest

import (
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mbcplan/mbcplan/fhir"
	"github.com/mbcplan/mbcplan/recommend"
)

// TestWriteBack carries a draft through the app's Writer against Medplum.
// Every CarePlan and Provenance it writes passes Medplum's validateResource
// (the wrapper refuses invalid ones with 400), so a write that succeeds is
// also a validation that succeeded.
func TestWriteBack(t *testing.T) {
	t.Parallel()
	lib := library(t)
	s := startMedplum(t)
	c := newClient(t, s.URL, fhir.WithPatientParam(fhir.PatientReference))
	w := &fhir.Writer{Client: c}

	t.Run("golden CarePlans and Provenances pass Medplum's validation", func(t *testing.T) {
		files, err := filepath.Glob(filepath.Join("..", "testdata", "careplan", "*.json"))
		if err != nil {
			t.Fatal(err)
		}
		scenarios, err := filepath.Glob(filepath.Join("..", "testdata", "careplan", "scenarios", "*.json"))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, scenarios...)
		if len(files) == 0 {
			t.Skip("no golden CarePlans in fhir/testdata/careplan yet")
		}
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			typ := "CarePlan"
			if strings.HasSuffix(f, ".provenance.json") {
				typ = "Provenance"
			}
			r := call(t, s.Client, "POST", s.URL+"/"+typ, string(data))
			if r.status != http.StatusCreated {
				t.Errorf("%s: got status %d; want 201; Medplum says %.600s", filepath.Base(f), r.status, r.body)
			}
		}
	})

	// The patient and plan of the first scenario, as the app would read them.
	sc := lib.Scenarios[0]
	loadOnly(t, s, sc)
	rec, err := c.FetchRecord(t.Context(), sc.ID)
	if err != nil {
		t.Fatal(err)
	}
	facts := fhir.MapFacts(rec)
	plan := recommend.Recommend(facts, lib.AsOf, recommend.Settings{})
	dc := fhir.DraftContext{
		PatientRef:    "Patient/" + sc.ID,
		ClinicianRef:  "Practitioner/mbcplan-test-oncologist",
		ClinicianName: "Test Oncologist",
		Now:           lib.AsOf.Add(9 * time.Hour),
		Choices:       firstChoices(plan),
	}
	carePlans := func(t *testing.T) []resource {
		t.Helper()
		r := call(t, s.Client, "GET", s.URL+"/CarePlan?subject=Patient/"+sc.ID+"&_count=100", "")
		mustStatus(t, "search CarePlan", r, http.StatusOK)
		var out []resource
		for _, e := range decode[bundle](t, r).Entry {
			out = append(out, e.Resource)
		}
		return out
	}
	countProvenance := func(t *testing.T) int {
		t.Helper()
		r := call(t, s.Client, "GET", s.URL+"/Provenance?_count=100", "")
		mustStatus(t, "search Provenance", r, http.StatusOK)
		return len(decode[bundle](t, r).Entry)
	}

	var draft *fhir.Draft
	t.Run("the same draft written twice is one CarePlan", func(t *testing.T) {
		d1, err := w.WriteDraft(t.Context(), plan, facts, dc)
		if err != nil {
			t.Fatalf("WriteDraft: %v", err)
		}
		if d1.Where != fhir.WhereEHR || !d1.Created || d1.Status != "draft" || len(d1.Warnings) != 0 {
			t.Errorf("first write: got where %q created %v status %q warnings %q; want ehr true draft none",
				d1.Where, d1.Created, d1.Status, d1.Warnings)
		}
		later := dc
		later.Now = later.Now.Add(time.Hour)
		d2, err := w.WriteDraft(t.Context(), plan, facts, later)
		if err != nil {
			t.Fatalf("WriteDraft again: %v", err)
		}
		if d2.Created || d2.ID != d1.ID {
			t.Errorf("second write: got created %v id %s; want false %s", d2.Created, d2.ID, d1.ID)
		}
		if cps := carePlans(t); len(cps) != 1 {
			t.Errorf("CarePlans for %s: got %d; want 1", sc.ID, len(cps))
		}
		// The Provenance's target is versioned (CarePlan/{id}/_history/{vid});
		// the Writer searches both forms, so the second write finds it.
		if n := countProvenance(t); n != 1 {
			t.Errorf("Provenances: got %d; want 1", n)
		}
		draft = d1
	})
	if draft == nil {
		t.Fatal("no draft to review")
	}

	t.Run("accept with a stale version is a ConflictError, then accept succeeds", func(t *testing.T) {
		note := "Discussed with the patient."
		edited, err := w.Edit(t.Context(), draft.ID, draft.VersionID, fhir.Edit{Note: &note}, dc)
		if err != nil {
			t.Fatalf("Edit: %v", err)
		}
		if edited.VersionID == draft.VersionID {
			t.Fatalf("Edit: got version %s unchanged; want a new one", edited.VersionID)
		}
		_, err = w.Accept(t.Context(), draft.ID, draft.VersionID, dc)
		var ce *fhir.ConflictError
		if !errors.As(err, &ce) || !errors.Is(err, fhir.ErrPreconditionFailed) {
			t.Fatalf("Accept with the version before the edit: got %v; want a ConflictError (412)", err)
		}
		if ce.Current == nil || ce.Action != "accept" {
			t.Errorf("ConflictError: got action %q current %v; want accept and the current draft", ce.Action, ce.Current)
		}
		acc, err := w.Accept(t.Context(), draft.ID, edited.VersionID, dc)
		if err != nil {
			t.Fatalf("Accept with the current version: %v", err)
		}
		if acc.Proposal.Status != "completed" || acc.Plan.Status != "active" || acc.Plan.Where != fhir.WhereEHR {
			t.Errorf("Accept: got proposal %s, plan %s in %s; want completed, active in ehr",
				acc.Proposal.Status, acc.Plan.Status, acc.Plan.Where)
		}
		statuses := map[string]int{}
		for _, cp := range carePlans(t) {
			statuses[cp.Status]++
		}
		if statuses["completed"] != 1 || statuses["active"] != 1 || len(statuses) != 2 {
			t.Errorf("CarePlan statuses after acceptance: got %v; want one completed, one active", statuses)
		}
	})
}

// firstChoices picks the first drug of every group of alternatives of the
// top-ranked option, as a clinician must before accepting.
func firstChoices(p recommend.Plan) map[string]string {
	if len(p.Options) == 0 {
		return nil
	}
	m := map[string]string{}
	for _, d := range p.Options[0].Drugs {
		if d.Choice != "" && m[d.Choice] == "" {
			m[d.Choice] = d.Name
		}
	}
	return m
}
