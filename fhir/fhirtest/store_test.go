package fhirtest

import (
	"net/http/httptest"
	"strings"
	"testing"
)

func TestLoadBundleKeepsIDsAndResolvesFullURLs(t *testing.T) {
	s := fixtureStore(t)
	tests := []struct {
		typ, id string
		path    []string
		want    string
	}{
		{"Patient", "pat-a", []string{"id"}, "pat-a"},
		{"Patient", patientB, []string{"id"}, patientB}, // id taken from urn:uuid fullUrl
		{"Observation", "er-a", []string{"subject", "reference"}, "Patient/pat-a"},
		{"Observation", "er-b", []string{"subject", "reference"}, "Patient/" + patientB},
		{"Observation", "er-a", []string{"meta", "versionId"}, "1"},
	}
	for _, tt := range tests {
		res, ok := s.Get(tt.typ, tt.id)
		if !ok {
			t.Errorf("Get(%s, %s): not found", tt.typ, tt.id)
			continue
		}
		if got := field(t, res.JSON, tt.path...); got != tt.want {
			t.Errorf("%s/%s %v: got %q; want %q", tt.typ, tt.id, tt.path, got, tt.want)
		}
	}
	if got := len(s.Resources("Observation")); got != 4 {
		t.Errorf("Observations: got %d; want 4", got)
	}
}

func TestLoadBundleKeepsNumbersAsWritten(t *testing.T) {
	s := fixtureStore(t)
	res, _ := s.Get("Observation", "lvef-a")
	if !strings.Contains(string(res.JSON), `"value":55.50`) {
		t.Errorf("got %s; want the value 55.50 kept as written", res.JSON)
	}
}

func TestLoadBundleRejectsBadBundles(t *testing.T) {
	tests := []struct {
		name, data string
	}{
		{"malformed JSON", `{"resourceType":"Bundle","entry":[`},
		{"not a Bundle", `{"resourceType":"Patient","id":"secret-id"}`},
		{"entry without resource", `{"resourceType":"Bundle","entry":[{"fullUrl":"urn:uuid:x"}]}`},
		{"resource without resourceType", `{"resourceType":"Bundle","entry":[{"resource":{"id":"secret-id"}}]}`},
		{"invalid id", `{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Patient","id":"secret id!"}}]}`},
		{"delete entry", `{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Patient","id":"p"},"request":{"method":"DELETE","url":"Patient/p"}}]}`},
		{"second entry bad", `{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Patient","id":"p1"}},{"resource":{"resourceType":"Patient","id":"secret id!"}}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewStore()
			err := s.LoadBundle([]byte(tt.data))
			if err == nil {
				t.Fatalf("LoadBundle(%s): got nil error; want one", tt.data)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("error %q quotes the input", err)
			}
			if got := len(s.Resources("Patient")); got != 0 {
				t.Errorf("got %d patients stored after a failed load; want 0", got)
			}
		})
	}
}

func TestPutAddsVersions(t *testing.T) {
	s := NewStore()
	for i, want := range []string{"1", "2"} {
		res, err := s.Put([]byte(`{"resourceType":"Practitioner","id":"doc","active":true}`))
		if err != nil {
			t.Fatalf("Put %d: %v", i, err)
		}
		if res.VersionID != want {
			t.Errorf("Put %d: got version %q; want %q", i, res.VersionID, want)
		}
	}
	if _, ok := s.Version("Practitioner", "doc", "1"); !ok {
		t.Errorf("Version 1: not found after a second Put")
	}
	if _, err := s.Put([]byte(`[1]`)); err == nil {
		t.Errorf("Put of an array: got nil error; want one")
	}
}

func TestLibraryBundlesLoad(t *testing.T) {
	dir, err := LibraryDir()
	if err != nil {
		t.Fatalf("LibraryDir: %v", err)
	}
	lib, err := LoadLibrary(dir)
	if err != nil {
		t.Fatalf("LoadLibrary: %v", err)
	}
	for _, sc := range lib.Scenarios {
		t.Run(sc.ID, func(t *testing.T) {
			s := NewStore()
			if err := s.LoadBundle(sc.Bundle); err != nil {
				t.Fatalf("LoadBundle(%s): %v", sc.File, err)
			}
			if _, ok := s.Get("Patient", sc.ID); !ok {
				t.Errorf("Patient %s: not found", sc.ID)
			}
			for _, typ := range s.Types() {
				for _, res := range s.Resources(typ) {
					if strings.Contains(string(res.JSON), `"reference":"urn:uuid:`) {
						t.Errorf("%s: a urn:uuid reference was left unresolved", res.Ref())
					}
				}
			}
			ts := httptest.NewServer(NewServer(s, Options{}))
			defer ts.Close()
			b := decodeBundle(t, call(t, "GET", ts.URL+"/Observation?_count=100&patient="+sc.ID, ""))
			for _, e := range b.Entry {
				res, _ := s.Get("Observation", e.Resource.ID)
				if got := field(t, res.JSON, "subject", "reference"); got != "Patient/"+sc.ID {
					t.Errorf("search patient=%s returned %s about %q", sc.ID, e.Resource.ID, got)
				}
			}
		})
	}
}

func TestStoredJSONKeepsComparators(t *testing.T) {
	ts, store := startServer(t, Options{})
	if _, err := store.Put([]byte(`{"resourceType":"Observation","id":"pr-pct","subject":{"reference":"Patient/pat-a"},"valueQuantity":{"comparator":"<","value":0.5,"unit":"%"},"note":[{"text":"a & b > c"}]}`)); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/Observation/pr-pct", "/Observation?_id=pr-pct"} {
		body := string(call(t, "GET", ts.URL+path, "").body)
		if !strings.Contains(body, `"comparator":"<"`) || !strings.Contains(body, `"a & b > c"`) {
			t.Errorf("GET %s: got %s; want <, > and & unescaped", path, body)
		}
	}
}
