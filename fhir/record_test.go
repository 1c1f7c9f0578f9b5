package fhir

import (
	"bytes"
	"encoding/json"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/mbcplan/mbcplan/fhir/fhirtest"
	"github.com/mbcplan/mbcplan/recommend"
)

// startSandbox serves the whole patient library from the fhirtest server.
func startSandbox(t *testing.T, lib *fhirtest.Library, opts fhirtest.Options) *Client {
	t.Helper()
	store := fhirtest.NewStore()
	for _, sc := range lib.Scenarios {
		if err := store.LoadBundle(sc.Bundle); err != nil {
			t.Fatalf("load %s: %v", sc.ID, err)
		}
	}
	ts := httptest.NewUnstartedServer(nil)
	ts.Config.ErrorLog = log.New(io.Discard, "", 0)
	ts.StartTLS()
	t.Cleanup(ts.Close)
	opts.BaseURL = ts.URL + "/fhir"
	ts.Config.Handler = fhirtest.NewServer(store, opts)
	c, err := NewClient(ts.URL+"/fhir", ts.Client(), WithRetry(3, time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestFetchRecordMatchesBundle reads every library patient from the
// sandbox FHIR server, also one that ignores patient= and one whose proxy
// collapses "//" in raw query strings, and checks the facts equal those
// read from the patient's Bundle.
func TestFetchRecordMatchesBundle(t *testing.T) {
	lib := loadLibrary(t)
	for _, mode := range []struct {
		name     string
		opts     fhirtest.Options
		patients int
	}{
		{"well-behaved", fhirtest.Options{}, len(lib.Scenarios)},
		{"ignores patient=", fhirtest.Options{IgnorePatientParam: true, PageSize: 50}, 4},
		{"collapses // in queries", fhirtest.Options{CollapseQuerySlashes: true, PageSize: 5}, 4},
	} {
		t.Run(mode.name, func(t *testing.T) {
			c := startSandbox(t, lib, mode.opts)
			for _, sc := range lib.Scenarios[:mode.patients] {
				rec, err := c.FetchRecord(t.Context(), patientIDOf(t, sc.Bundle))
				if err != nil {
					t.Fatalf("%s: %v", sc.ID, err)
				}
				direct, err := RecordFromBundle(sc.Bundle)
				if err != nil {
					t.Fatal(err)
				}
				got, want := MapFacts(rec), MapFacts(direct)
				if mode.opts.IgnorePatientParam && got.Record.OtherSubject == 0 {
					t.Errorf("%s: other subject 0; want the other patients' resources counted", sc.ID)
				}
				if g, w := skippedSet(got.Record.Skipped), skippedSet(want.Record.Skipped); g != w {
					t.Errorf("%s: skipped from the server %s; want %s as from the bundle", sc.ID, g, w)
				}
				got.Record, want.Record = recommend.RecordNotes{}, recommend.RecordNotes{} // compared above
				gj, _ := json.MarshalIndent(got, "", " ")
				wj, _ := json.MarshalIndent(want, "", " ")
				if !bytes.Equal(gj, wj) {
					t.Errorf("%s: facts read from the server differ from the bundle's:\n%s", sc.ID, firstDiff(string(gj), string(wj)))
				}
			}
		})
	}
}

func patientIDOf(t *testing.T, bundle []byte) string {
	t.Helper()
	rec, err := RecordFromBundle(bundle)
	if err != nil {
		t.Fatal(err)
	}
	return rec.PatientID
}

// firstDiff shows the first differing line of two texts with context.
func firstDiff(a, b string) string {
	al, bl := bytes.Split([]byte(a), []byte("\n")), bytes.Split([]byte(b), []byte("\n"))
	for i := 0; i < len(al) && i < len(bl); i++ {
		if !bytes.Equal(al[i], bl[i]) {
			lo := max(0, i-3)
			return "server: " + string(bytes.Join(al[lo:min(len(al), i+3)], []byte("\n"))) +
				"\nbundle: " + string(bytes.Join(bl[lo:min(len(bl), i+3)], []byte("\n")))
		}
	}
	return "lengths differ"
}

var _ http.Handler = (*fhirtest.Server)(nil)

// skippedSet lists the skipped resources and reasons, sorted.
func skippedSet(s []recommend.Skipped) string {
	var out []string
	for _, x := range s {
		out = append(out, x.Resource+": "+x.Reason)
	}
	sort.Strings(out)
	return strings.Join(out, "; ")
}
