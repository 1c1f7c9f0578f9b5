package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mbcplan/mbcplan/fhir/fhirtest"
	"github.com/mbcplan/mbcplan/recommend"
)

// TestFactsCommandSameFromBundleAndServer: what an integration engineer runs
// first gives the same facts from a Bundle file and from a FHIR server.
func TestFactsCommandSameFromBundleAndServer(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(testData, "01-*.json"))
	if err != nil || len(files) != 1 {
		t.Fatalf("library patient 01: %v %v", files, err)
	}
	data, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	store := fhirtest.NewStore()
	if err := store.LoadBundle(data); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(nil)
	srv.Config.Handler = fhirtest.NewServer(store, fhirtest.Options{BaseURL: srv.URL})
	defer srv.Close()

	facts := func(args ...string) recommend.Facts {
		t.Helper()
		var out, errOut bytes.Buffer
		if err := run(context.Background(), append([]string{"facts"}, args...), func(string) string { return "" }, &out, &errOut); err != nil {
			t.Fatalf("facts %v: %v (%s)", args, err, errOut.String())
		}
		var f recommend.Facts
		if err := json.Unmarshal(out.Bytes(), &f); err != nil {
			t.Fatalf("facts %v: output is not Facts JSON: %v", args, err)
		}
		return f
	}
	fromFile := facts("--bundle", files[0])
	fromServer := facts("--fhir-base", srv.URL, "--patient", "mbc-01")
	if fromFile.Patient.Ref != "Patient/mbc-01" || len(fromFile.ER) == 0 || fromFile.ER[len(fromFile.ER)-1].Status != recommend.ReceptorPositive {
		t.Errorf("facts from the bundle: patient %q, ER %+v; want Patient/mbc-01 with ER positive", fromFile.Patient.Ref, fromFile.ER)
	}
	a, err := json.Marshal(fromFile)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(fromServer)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Errorf("facts differ between the bundle and the server:\nbundle %.400s\nserver %.400s", a, b)
	}
}

func TestFactsAndRecommendRefuseBadInput(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no input", []string{"facts"}, "--bundle"},
		{"both inputs", []string{"facts", "--bundle", "x.json", "--fhir-base", "http://127.0.0.1:1"}, "not both"},
		{"server without patient", []string{"recommend", "--fhir-base", "http://127.0.0.1:1"}, "--patient"},
		{"missing file", []string{"recommend", "--bundle", "no-such-file.json"}, "cannot read"},
		{"write draft from a file", []string{"recommend", "--bundle", "x.json", "--write-draft"}, "--fhir-base"},
		{"bad statement", []string{"recommend", "--bundle", "x.json", "--her2", "maybe"}, "--her2"},
		{"bad qtcf", []string{"recommend", "--bundle", "x.json", "--qtcf", "9000"}, "--qtcf"},
		{"bad date", []string{"recommend", "--bundle", "x.json", "--now", "tomorrow"}, "--now"},
		{"bad patient form", []string{"facts", "--fhir-base", "http://127.0.0.1:1", "--patient", "p", "--patient-param", "url"}, "--patient-param"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var errOut bytes.Buffer
			err := run(context.Background(), tc.args, func(string) string { return "" }, io.Discard, &errOut)
			if err == nil || exitCode(err) != 2 {
				t.Fatalf("run %v: %v; want a usage error (exit 2)", tc.args, err)
			}
			if !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q: want one line naming %q", err, tc.want)
			}
		})
	}
}
