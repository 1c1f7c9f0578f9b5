package main

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/mbcplan/mbcplan/fhir"
	"github.com/mbcplan/mbcplan/recommend"
)

var storeNow = time.Date(2026, 12, 1, 9, 30, 0, 0, time.UTC)

// storeImpls are the DraftStore implementations checked against the same
// contract: the SQLite store (in memory and in a file) and fhir.MemStore.
func storeImpls(t *testing.T) map[string]fhir.DraftStore {
	t.Helper()
	open := func(path string) fhir.DraftStore {
		s, err := openSQLiteStore(t.Context(), path, func() time.Time { return storeNow })
		if err != nil {
			t.Fatalf("openSQLiteStore: %v", err)
		}
		t.Cleanup(func() {
			if err := s.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
		return s
	}
	return map[string]fhir.DraftStore{
		"sqlite in memory": open(":memory:"),
		"sqlite file":      open(filepath.Join(t.TempDir(), "mbcplan.db")),
		"fhir.MemStore":    fhir.NewMemStore(func() time.Time { return storeNow }),
	}
}

func draftRecord(patient, ident, status string) fhir.StoredResource {
	return fhir.StoredResource{
		Type: "CarePlan", PatientRef: patient, Identifier: ident, Status: status,
		JSON: []byte(`{"resourceType":"CarePlan","status":"` + status + `"}`),
	}
}

func TestDraftStoreContract(t *testing.T) {
	for name, s := range storeImpls(t) {
		t.Run(name, func(t *testing.T) {
			ctx := t.Context()
			a, created, err := s.Create(ctx, draftRecord("Patient/p1", "urn:mbcplan:draft|abc", "draft"))
			if err != nil || !created || a.ID == "" || a.VersionID != "1" || !a.Updated.Equal(storeNow) {
				t.Fatalf("Create: got %+v created %v err %v; want a new version 1", a, created, err)
			}
			again, created, err := s.Create(ctx, draftRecord("Patient/p1", "urn:mbcplan:draft|abc", "draft"))
			if err != nil || created || again.ID != a.ID {
				t.Errorf("conditional Create: got id %s created %v err %v; want the existing %s", again.ID, created, err, a.ID)
			}
			b, created, err := s.Create(ctx, draftRecord("Patient/p1", "urn:mbcplan:draft|def", "draft"))
			if err != nil || !created || b.ID == a.ID {
				t.Fatalf("Create another: got %+v created %v err %v", b, created, err)
			}
			if _, _, err := s.Create(ctx, fhir.StoredResource{Type: "CarePlan", ID: a.ID, JSON: []byte(`{}`)}); !errors.Is(err, fhir.ErrConflict) {
				t.Errorf("Create with a taken id: got %v; want ErrConflict", err)
			}

			upd := draftRecord("Patient/p1", "urn:mbcplan:draft|abc", "revoked")
			upd.ID = a.ID
			if _, err := s.Update(ctx, upd, "7"); !errors.Is(err, fhir.ErrPreconditionFailed) {
				t.Errorf("Update stale: got %v; want ErrPreconditionFailed", err)
			}
			u, err := s.Update(ctx, upd, "1")
			if err != nil || u.VersionID != "2" {
				t.Fatalf("Update: got %+v %v; want version 2", u, err)
			}
			missing := upd
			missing.ID = "nope"
			if _, err := s.Update(ctx, missing, ""); !errors.Is(err, fhir.ErrNotFound) {
				t.Errorf("Update missing: got %v; want ErrNotFound", err)
			}

			latest, err := s.Get(ctx, "CarePlan", a.ID, "")
			if err != nil || latest.VersionID != "2" || latest.Status != "revoked" || string(latest.JSON) != string(upd.JSON) {
				t.Errorf("Get latest: got %+v %v; want version 2 revoked", latest, err)
			}
			first, err := s.Get(ctx, "CarePlan", a.ID, "1")
			if err != nil || first.Status != "draft" {
				t.Errorf("Get version 1: got %+v %v; want the draft", first, err)
			}
			for _, v := range []string{"3", "x"} {
				if _, err := s.Get(ctx, "CarePlan", a.ID, v); !errors.Is(err, fhir.ErrNotFound) {
					t.Errorf("Get version %q: got %v; want ErrNotFound", v, err)
				}
			}
			if _, err := s.Get(ctx, "Provenance", a.ID, ""); !errors.Is(err, fhir.ErrNotFound) {
				t.Errorf("Get other type: got %v; want ErrNotFound", err)
			}

			ids := func(status string) []string {
				t.Helper()
				found, err := s.Find(ctx, "CarePlan", "Patient/p1", status)
				if err != nil {
					t.Fatalf("Find: %v", err)
				}
				var out []string
				for _, f := range found {
					out = append(out, f.ID+":"+f.VersionID)
				}
				return out
			}
			if got, want := ids(""), []string{a.ID + ":2", b.ID + ":1"}; !slices.Equal(got, want) {
				t.Errorf("Find any: got %q; want %q (latest versions, oldest first)", got, want)
			}
			if got, want := ids("draft"), []string{b.ID + ":1"}; !slices.Equal(got, want) {
				t.Errorf("Find draft: got %q; want %q", got, want)
			}
			if found, err := s.Find(ctx, "CarePlan", "Patient/p2", ""); err != nil || len(found) != 0 {
				t.Errorf("Find other patient: got %d %v; want none", len(found), err)
			}
			// A revoked draft no longer matches a conditional create.
			c, created, err := s.Create(ctx, draftRecord("Patient/p1", "urn:mbcplan:draft|abc", "draft"))
			if err != nil || !created || c.ID == a.ID {
				t.Errorf("Create after revoke: got %s created %v %v; want a new draft", c.ID, created, err)
			}
		})
	}
}

func TestDraftStoreConcurrentCreate(t *testing.T) {
	for name, s := range storeImpls(t) {
		t.Run(name, func(t *testing.T) {
			var wg sync.WaitGroup
			var mu sync.Mutex
			made := 0
			for i := 0; i < 8; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, created, err := s.Create(t.Context(), draftRecord("Patient/p1", "urn:mbcplan:draft|same", "draft"))
					if err != nil {
						t.Errorf("Create: %v", err)
						return
					}
					if created {
						mu.Lock()
						made++
						mu.Unlock()
					}
				}()
			}
			wg.Wait()
			if made != 1 {
				t.Errorf("got %d creates of the same identifier; want 1", made)
			}
		})
	}
}

func TestSQLiteStorePersists(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mbcplan.db")
	s, err := openSQLiteStore(t.Context(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	a, _, err := s.Create(t.Context(), draftRecord("Patient/p1", "urn:mbcplan:draft|abc", "draft"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2, err := openSQLiteStore(t.Context(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if err := s2.Ping(t.Context()); err != nil {
		t.Errorf("Ping: %v", err)
	}
	got, err := s2.Get(t.Context(), "CarePlan", a.ID, "")
	if err != nil || got.Identifier != a.Identifier {
		t.Errorf("after reopening: got %+v %v; want the draft", got, err)
	}
	if _, err := openSQLiteStore(t.Context(), "", nil); err == nil {
		t.Error("empty path: got no error; want one")
	}
}

// TestSQLiteStoreWriteBack runs the app-store write-back path on SQLite.
func TestSQLiteStoreWriteBack(t *testing.T) {
	s, err := openSQLiteStore(t.Context(), ":memory:", func() time.Time { return storeNow })
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	w := &fhir.Writer{Store: s}
	plan := recommend.Plan{
		KnowledgeVersion: recommend.KnowledgeVersion,
		Patient:          recommend.PatientSummary{Ref: "Patient/p1"},
		Options: []recommend.Option{{
			ID: "H02-ai", Rank: 1, Title: "Letrozole", Drugs: []recommend.Drug{{Name: "letrozole", RxNorm: "72965"}}, Rules: []string{"H02"},
		}},
		DataNeeded: []recommend.DataNeeded{},
	}
	dc := fhir.DraftContext{PatientRef: "Patient/p1", ClinicianRef: "Practitioner/dr1", Now: storeNow}
	ctx := context.Background()
	d, err := w.WriteDraft(ctx, plan, recommend.Facts{}, dc)
	if err != nil {
		t.Fatalf("WriteDraft: %v", err)
	}
	if d.Where != fhir.WhereAppStore {
		t.Errorf("got where %q; want app-store", d.Where)
	}
	note := "checked"
	e, err := w.Edit(ctx, d.ID, d.VersionID, fhir.Edit{Note: &note}, dc)
	if err != nil {
		t.Fatalf("Edit: %v", err)
	}
	_, err = w.Accept(ctx, d.ID, d.VersionID, dc)
	var ce *fhir.ConflictError
	if !errors.As(err, &ce) || !slices.Contains(ce.Changes, "note: 1 → 2 entries") {
		t.Errorf("stale accept: got %v; want a ConflictError naming the note", err)
	}
	acc, err := w.Accept(ctx, d.ID, e.VersionID, dc)
	if err != nil {
		t.Fatalf("Accept: %v", err)
	}
	if acc.Plan.Status != "active" || acc.Proposal.Status != "completed" || acc.Note == nil || acc.Note.Where != fhir.WhereAppStore {
		t.Errorf("got plan %q proposal %q note %+v; want active, completed, a note kept in the app store", acc.Plan.Status, acc.Proposal.Status, acc.Note)
	}
	for _, typ := range []string{"CarePlan", "Provenance", "DocumentReference"} {
		found, err := s.Find(ctx, typ, "Patient/p1", "")
		if err != nil || len(found) == 0 {
			t.Errorf("%s: got %d %v; want some", typ, len(found), err)
		}
	}
}
