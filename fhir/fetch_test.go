package fhir

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mbcplan/mbcplan/recommend"
)

// fakeFHIR is a minimal FHIR server for FetchRecord tests. Its searches
// ignore every parameter but the paging offset: it returns all resources of
// the type, whoever they are about, as a careless server would.
type fakeFHIR struct {
	byType   map[string][]json.RawMessage
	byID     map[string]json.RawMessage // "Type/id"
	pageSize int
	delay    time.Duration
	status   map[string]int // resource type → forced HTTP status
	// onlyForm, when set, makes searches match nothing unless the patient
	// parameter has this form: "reference" (Patient/{id}, as Medplum) or
	// "bare" ({id}).
	onlyForm string
	// refuseWide, when set, answers Observation searches without a code or
	// the laboratory category with this status (as Epic refuses them).
	refuseWide int

	mu      sync.Mutex
	queries map[string][]url.Values
}

func newFakeFHIR() *fakeFHIR {
	return &fakeFHIR{byType: map[string][]json.RawMessage{}, byID: map[string]json.RawMessage{},
		status: map[string]int{}, queries: map[string][]url.Values{}}
}

// load adds a Bundle's resources, rewriting urn:uuid references to Type/id
// as a server does on a transaction.
func (s *fakeFHIR) load(t testing.TB, bundle []byte) {
	t.Helper()
	var env bundleEnvelope
	if err := json.Unmarshal(bundle, &env); err != nil {
		t.Fatal(err)
	}
	repl := map[string]string{}
	for _, e := range env.Entry {
		r, err := parseResource(e.Resource)
		if err == nil && e.FullURL != "" && r.ID != "" {
			repl[e.FullURL] = r.Type + "/" + r.ID
		}
	}
	for _, e := range env.Entry {
		raw := []byte(e.Resource)
		for from, to := range repl {
			raw = bytes.ReplaceAll(raw, []byte(`"`+from+`"`), []byte(`"`+to+`"`))
		}
		r, err := parseResource(raw)
		if err != nil {
			continue
		}
		s.byType[r.Type] = append(s.byType[r.Type], raw)
		s.byID[r.Type+"/"+r.ID] = raw
	}
}

func (s *fakeFHIR) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.delay > 0 {
		select {
		case <-time.After(s.delay):
		case <-r.Context().Done():
			return
		}
	}
	parts := strings.Split(strings.Trim(strings.TrimPrefix(r.URL.Path, "/fhir"), "/"), "/")
	q := r.URL.Query()
	if len(parts) == 1 {
		s.mu.Lock()
		s.queries[parts[0]] = append(s.queries[parts[0]], q)
		s.mu.Unlock()
	}
	if st := s.status[parts[0]]; st != 0 {
		writeJSON(w, st, `{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"forbidden"}]}`)
		return
	}
	if s.refuseWide != 0 && parts[0] == "Observation" && len(parts) == 1 && q.Get("code") == "" && q.Get("category") != "laboratory" {
		writeJSON(w, s.refuseWide, `{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"required"}]}`)
		return
	}
	if len(parts) == 2 {
		raw, ok := s.byID[parts[0]+"/"+parts[1]]
		if !ok {
			writeJSON(w, 404, `{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"not-found"}]}`)
			return
		}
		w.Header().Set("Content-Type", "application/fhir+json")
		w.Write(raw)
		return
	}
	all := s.byType[parts[0]]
	if pv := q.Get("patient"); s.onlyForm != "" && strings.HasPrefix(pv, "Patient/") != (s.onlyForm == "reference") {
		all = nil
	}
	off, _ := strconv.Atoi(q.Get("_offset"))
	end := len(all)
	if s.pageSize > 0 && off+s.pageSize < end {
		end = off + s.pageSize
	}
	if off > len(all) {
		off = len(all)
	}
	var b bytes.Buffer
	b.WriteString(`{"resourceType":"Bundle","type":"searchset"`)
	if end < len(all) {
		q.Set("_offset", strconv.Itoa(end))
		fmt.Fprintf(&b, `,"link":[{"relation":"next","url":%q}]`, parts[0]+"?"+q.Encode())
	}
	b.WriteString(`,"entry":[`)
	for i, raw := range all[off:end] {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"resource":`)
		b.Write(raw)
		b.WriteString(`,"search":{"mode":"match"}}`)
	}
	b.WriteString(`]}`)
	writeJSON(w, 200, b.String())
}

func (s *fakeFHIR) start(t testing.TB, opts ...Option) *Client {
	t.Helper()
	ts := httptest.NewUnstartedServer(s)
	ts.Config.ErrorLog = log.New(io.Discard, "", 0)
	ts.StartTLS()
	t.Cleanup(ts.Close)
	c, err := NewClient(ts.URL+"/fhir", ts.Client(), append([]Option{WithRetry(2, time.Millisecond)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestFetchRecordLeaksNoOtherPatient(t *testing.T) {
	lib := loadLibrary(t)
	a, _ := lib.Lookup("mbc-01")
	b, _ := lib.Lookup("mbc-03")
	srv := newFakeFHIR()
	srv.load(t, a.Bundle)
	srv.load(t, b.Bundle)
	srv.pageSize = 4
	c := srv.start(t)

	rec, err := c.FetchRecord(t.Context(), "mbc-01")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range append(rec.Resources, rec.CarePlans...) {
		if bytes.Contains(r.Raw, []byte("mbc-03")) {
			t.Errorf("%s about the other patient leaked into the record", r.Ref())
		}
	}
	if rec.OtherSubject == 0 {
		t.Error("other subject = 0; want the other patient's resources counted")
	}
	seen := map[string]bool{}
	for _, r := range rec.Resources {
		if seen[r.Ref()] {
			t.Errorf("%s twice; want results deduplicated", r.Ref())
		}
		seen[r.Ref()] = true
	}
	f := MapFacts(rec)
	direct, err := RecordFromBundle(a.Bundle)
	if err != nil {
		t.Fatal(err)
	}
	want := MapFacts(direct)
	if len(f.ER) != len(want.ER) || len(f.HER2) != len(want.HER2) || len(f.Metastases) != len(want.Metastases) {
		t.Errorf("fetched facts ER %d HER2 %d metastases %d; want %d %d %d as from the bundle",
			len(f.ER), len(f.HER2), len(f.Metastases), len(want.ER), len(want.HER2), len(want.Metastases))
	}
	for _, e := range f.ER {
		if e.Status != recommend.ReceptorPositive {
			t.Errorf("ER %+v; want mbc-01's positive results only", e)
		}
	}
}

func TestFetchRecordWave(t *testing.T) {
	lib := loadLibrary(t)
	a, _ := lib.Lookup("mbc-01")
	srv := newFakeFHIR()
	srv.load(t, a.Bundle)
	srv.status["MedicationAdministration"] = 403
	c := srv.start(t, WithPatientParam(PatientReference))

	rec, err := c.FetchRecord(t.Context(), "mbc-01")
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for typ, qs := range srv.queries {
		types = append(types, typ)
		for _, q := range qs {
			if q.Get("patient") != "Patient/mbc-01" {
				t.Errorf("%s searched with patient=%q; want Patient/mbc-01", typ, q.Get("patient"))
			}
		}
	}
	sort.Strings(types)
	want := []string{"AllergyIntolerance", "CarePlan", "Condition", "DiagnosticReport", "MedicationAdministration", "MedicationRequest",
		"MedicationStatement", "Observation", "Procedure", "Specimen"}
	if strings.Join(types, ",") != strings.Join(want, ",") {
		t.Errorf("searched %v; want %v", types, want)
	}
	if n := len(srv.queries["Observation"]); n != 5 {
		t.Errorf("%d Observation searches; want 5 (two code lists, category laboratory, categories survey/exam/social-history, and all)", n)
	}
	codes := map[string]bool{}
	for _, q := range srv.queries["Observation"] {
		for _, c := range strings.Split(q.Get("code"), ",") {
			codes[c] = true
		}
	}
	for _, c := range []string{"http://loinc.org|85337-4", "http://loinc.org|48676-1", "http://snomed.info/sct|161712005",
		"http://loinc.org|89247-1", "http://loinc.org|10230-1", "http://loinc.org|82810-3", "http://loinc.org|85147-7",
		"http://loinc.org|69548-6", "http://loinc.org|97509-4", "http://loinc.org|1742-6"} {
		if !codes[c] {
			t.Errorf("code %s not searched", c)
		}
	}
	found := false
	for _, s := range rec.Skipped {
		if s.Resource == "MedicationAdministration search" && strings.Contains(s.Reason, "403") {
			found = true
		}
	}
	if !found {
		t.Errorf("skipped %v; want the refused MedicationAdministration search listed", rec.Skipped)
	}
	if rec.PatientID != "mbc-01" || rec.Patient == nil {
		t.Errorf("patient %q %s; want mbc-01", rec.PatientID, rec.Patient)
	}
}

func TestFetchRecordUnauthorized(t *testing.T) {
	srv := newFakeFHIR()
	srv.status["Observation"] = 401
	srv.byID["Patient/p1"] = json.RawMessage(`{"resourceType":"Patient","id":"p1"}`)
	c := srv.start(t)
	_, err := c.FetchRecord(t.Context(), "p1")
	if !errors.Is(err, ErrUnauthorized) {
		t.Errorf("error = %v; want ErrUnauthorized", err)
	}
	if _, err := newFakeFHIR().start(t).FetchRecord(t.Context(), "missing"); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing patient: error %v; want ErrNotFound", err)
	}
	if _, err := c.FetchRecord(t.Context(), "no/such"); err == nil || strings.Contains(err.Error(), "no/such") {
		t.Errorf("invalid id: error %v; want one that does not quote it", err)
	}
}

func TestFetchRecordReadsReferencedSpecimenAndMedication(t *testing.T) {
	srv := newFakeFHIR()
	srv.byID["Patient/p1"] = json.RawMessage(`{"resourceType":"Patient","id":"p1","gender":"female"}`)
	srv.byType["Observation"] = []json.RawMessage{json.RawMessage(`{"resourceType":"Observation","id":"o1","status":"final",
		"code":{"coding":[{"system":"http://loinc.org","code":"85337-4"}]},"subject":{"reference":"Patient/p1"},
		"specimen":{"reference":"Specimen/s1"},"valueCodeableConcept":{"coding":[{"system":"http://loinc.org","code":"LA6576-8"}]}}`)}
	srv.byType["MedicationRequest"] = []json.RawMessage{json.RawMessage(`{"resourceType":"MedicationRequest","id":"m1","status":"active",
		"intent":"order","subject":{"reference":"Patient/p1"},"medicationReference":{"reference":"Medication/med1"}}`)}
	srv.byID["Specimen/s1"] = json.RawMessage(`{"resourceType":"Specimen","id":"s1","subject":{"reference":"Patient/p1"},
		"collection":{"bodySite":{"text":"Liver, core biopsy"}}}`)
	srv.byID["Medication/med1"] = json.RawMessage(`{"resourceType":"Medication","id":"med1","code":{"text":"Kisqali 200 MG Oral Tablet"}}`)
	c := srv.start(t)
	rec, err := c.FetchRecord(t.Context(), "p1")
	if err != nil {
		t.Fatal(err)
	}
	f := MapFacts(rec)
	if len(f.ER) != 1 || f.ER[0].Specimen != recommend.SpecimenMetastatic || f.ER[0].SpecimenRef != "Specimen/s1" {
		t.Errorf("ER = %+v; want a result on the metastatic specimen", f.ER)
	}
	if len(f.Medications) != 1 || strings.Join(f.Medications[0].Drugs, ",") != "ribociclib" {
		t.Errorf("medications = %+v; want ribociclib from the referenced Medication", f.Medications)
	}
}

func TestFetchRecordPatientFormAuto(t *testing.T) {
	lib := loadLibrary(t)
	a, _ := lib.Lookup("mbc-01")
	direct, err := RecordFromBundle(a.Bundle)
	if err != nil {
		t.Fatal(err)
	}
	want := MapFacts(direct)
	// forms counts the searches sent since the last call, by whether they
	// used the reference form, and forgets them.
	forms := func(srv *fakeFHIR) map[bool]int {
		srv.mu.Lock()
		defer srv.mu.Unlock()
		n := map[bool]int{}
		for _, qs := range srv.queries {
			for _, q := range qs {
				n[strings.HasPrefix(q.Get("patient"), "Patient/")]++
			}
		}
		srv.queries = map[string][]url.Values{}
		return n
	}
	check := func(t *testing.T, c *Client) {
		t.Helper()
		rec, err := c.FetchRecord(t.Context(), "mbc-01")
		if err != nil {
			t.Fatal(err)
		}
		f := MapFacts(rec)
		if len(f.ER) != len(want.ER) || len(f.HER2) != len(want.HER2) || len(f.Metastases) != len(want.Metastases) || len(f.Metastases) == 0 {
			t.Errorf("facts ER %d HER2 %d metastases %d; want %d %d %d as from the bundle",
				len(f.ER), len(f.HER2), len(f.Metastases), len(want.ER), len(want.HER2), len(want.Metastases))
		}
	}
	t.Run("server that matches only patient=Patient/{id} (Medplum)", func(t *testing.T) {
		srv := newFakeFHIR()
		srv.load(t, a.Bundle)
		srv.onlyForm = "reference"
		c := srv.start(t)
		check(t, c)
		w := len(patientSearches("mbc-01", PatientBareID))
		if n := forms(srv); n[false] != w || n[true] != w {
			t.Errorf("first read: %d bare and %d reference searches; want %d and %d (a bare wave, then the reference wave)", n[false], n[true], w, w)
		}
		// The client remembers the form: later reads, even concurrent ones,
		// send only the reference form.
		var wg sync.WaitGroup
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rec, err := c.FetchRecord(t.Context(), "mbc-01")
				if err != nil || len(rec.Resources) == 0 {
					t.Errorf("later read: %d resources, error %v; want the record", len(rec.Resources), err)
				}
			}()
		}
		wg.Wait()
		if n := forms(srv); n[false] != 0 || n[true] != 4*w {
			t.Errorf("later reads: %d bare and %d reference searches; want 0 and %d", n[false], n[true], 4*w)
		}
	})
	t.Run("server that matches only patient={id}", func(t *testing.T) {
		srv := newFakeFHIR()
		srv.load(t, a.Bundle)
		srv.onlyForm = "bare"
		c := srv.start(t)
		check(t, c)
		check(t, c)
		w := len(patientSearches("mbc-01", PatientBareID))
		if n := forms(srv); n[false] != 2*w || n[true] != 0 {
			t.Errorf("%d bare and %d reference searches; want %d and 0", n[false], n[true], 2*w)
		}
	})
	t.Run("patient with no resources on a bare-id server", func(t *testing.T) {
		srv := newFakeFHIR()
		srv.load(t, a.Bundle)
		srv.byID["Patient/p2"] = json.RawMessage(`{"resourceType":"Patient","id":"p2"}`)
		srv.onlyForm = "bare"
		c := srv.start(t)
		check(t, c)
		forms(srv)
		// A patient with nothing recorded: the client knows the bare form
		// works here, so it does not try the other.
		rec, err := c.FetchRecord(t.Context(), "p2")
		if err != nil {
			t.Fatal(err)
		}
		if n := forms(srv); n[true] != 0 {
			t.Errorf("%d reference searches for an empty record after the bare form worked; want 0", n[true])
		}
		if len(rec.Resources) != 0 {
			t.Errorf("resources %d; want none", len(rec.Resources))
		}
	})
	t.Run("forced forms are kept", func(t *testing.T) {
		srv := newFakeFHIR()
		srv.load(t, a.Bundle)
		srv.onlyForm = "reference"
		c := srv.start(t, WithPatientParam(PatientBareID))
		rec, err := c.FetchRecord(t.Context(), "mbc-01")
		if err != nil {
			t.Fatal(err)
		}
		if n := forms(srv); n[true] != 0 || len(rec.Resources) != 0 {
			t.Errorf("PatientBareID: %d reference searches, %d resources; want 0 and 0", n[true], len(rec.Resources))
		}
	})
}

func TestFetchRecordReadsPanelMembers(t *testing.T) {
	// An Epic-style panel: the search finds the panel, whose results are
	// member Observations with local codes that no search returned.
	srv := newFakeFHIR()
	srv.byID["Patient/p1"] = json.RawMessage(`{"resourceType":"Patient","id":"p1","gender":"female"}`)
	srv.byType["Observation"] = []json.RawMessage{json.RawMessage(`{"resourceType":"Observation","id":"panel","status":"final",
		"code":{"text":"BREAST CANCER PROGNOSTIC PANEL"},"subject":{"reference":"Patient/p1"},"effectiveDateTime":"2024-02-01",
		"hasMember":[{"reference":"Observation/m-er"},{"reference":"Observation/m-her2"},{"reference":"Observation/m-other"}]}`)}
	srv.byID["Observation/m-er"] = json.RawMessage(`{"resourceType":"Observation","id":"m-er","status":"final",
		"code":{"text":"ER ASSAY"},"subject":{"reference":"Patient/p1"},"effectiveDateTime":"2024-02-01","valueString":"Positive (80%)"}`)
	srv.byID["Observation/m-her2"] = json.RawMessage(`{"resourceType":"Observation","id":"m-her2","status":"final",
		"code":{"text":"HER2/NEU BY IHC"},"subject":{"reference":"Patient/p1"},"effectiveDateTime":"2024-02-01","valueString":"3+"}`)
	srv.byID["Observation/m-other"] = json.RawMessage(`{"resourceType":"Observation","id":"m-other","status":"final",
		"code":{"text":"ER ASSAY"},"subject":{"reference":"Patient/p2"},"valueString":"Negative"}`)
	c := srv.start(t)
	rec, err := c.FetchRecord(t.Context(), "p1")
	if err != nil {
		t.Fatal(err)
	}
	f := MapFacts(rec)
	if len(f.ER) != 1 || f.ER[0].Status != recommend.ReceptorPositive || len(f.HER2) != 1 || f.HER2[0].IHC != recommend.IHC3 {
		t.Errorf("ER %+v HER2 %+v; want ER positive and HER2 3+ from the panel's members", f.ER, f.HER2)
	}
	if rec.OtherSubject != 1 {
		t.Errorf("other subject %d; want the member about someone else counted", rec.OtherSubject)
	}
}

// TestFetchRecordOptionalSearchesCostNothing: a server that refuses the
// wide Observation searches (Epic requires a category or code) or fails on
// them still gives the record, with nothing listed as skipped for them.
func TestFetchRecordOptionalSearchesCostNothing(t *testing.T) {
	lib := loadLibrary(t)
	a := lib.Scenarios[0]
	for _, status := range []int{http.StatusBadRequest, http.StatusForbidden, http.StatusInternalServerError} {
		srv := newFakeFHIR()
		srv.load(t, a.Bundle)
		c := srv.start(t)
		srv.refuseWide = status
		rec, err := c.FetchRecord(t.Context(), "mbc-01")
		if err != nil {
			t.Fatalf("status %d on the wide searches: %v; want the record", status, err)
		}
		if len(rec.Resources) == 0 {
			t.Errorf("status %d on the wide searches: no resources; want the record", status)
		}
		for _, s := range rec.Skipped {
			if strings.Contains(s.Resource, "search") {
				t.Errorf("status %d on the wide searches: skipped %q; want nothing listed", status, s.Resource)
			}
		}
	}
}
