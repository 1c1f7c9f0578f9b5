package fhirtest

import (
	"encoding/json"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
)

func FuzzLoadBundle(f *testing.F) {
	seed, err := os.ReadFile("testdata/two-patients.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Add([]byte(`{"resourceType":"Bundle","entry":[{"fullUrl":"urn:uuid:1","resource":{"resourceType":"Patient"}}]}`))
	f.Add([]byte(`{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Observation","subject":{"reference":"urn:uuid:1"}},"request":{"method":"PUT","url":"Observation/o1"}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s := NewStore()
		err := s.LoadBundle(data)
		if err != nil {
			if len(data) > 16 && strings.Contains(err.Error(), string(data)) {
				t.Errorf("error %q quotes the input", err)
			}
			if n := len(s.Types()); n != 0 {
				t.Errorf("got %d types stored after a failed load; want 0", n)
			}
			return
		}
		for _, typ := range s.Types() {
			for _, res := range s.Resources(typ) {
				var doc struct {
					ResourceType string `json:"resourceType"`
					ID           string `json:"id"`
				}
				if err := json.Unmarshal(res.JSON, &doc); err != nil || doc.ResourceType != typ || doc.ID != res.ID {
					t.Errorf("stored %s: got %q/%q, %v; want a resource that round-trips", res.Ref(), doc.ResourceType, doc.ID, err)
				}
			}
		}
	})
}

func FuzzSearchQuery(f *testing.F) {
	for _, q := range []string{
		"patient=pat-a&code=http%3A%2F%2Floinc.org%7C16112-5,48676-1",
		"date=ge2024-01-01&date=lt2025&_sort=-date,_lastUpdated&_count=2&_offset=1",
		"identifier=%7CMRN-A&category=laboratory&status=final",
		"date=eb2024-03-05T10:00:00%2B01:00",
		"_count=0&_summary=count",
	} {
		f.Add(q)
	}
	store := fixtureStore(f)
	srv := NewServer(store, Options{BaseURL: "http://fhir.test"})
	f.Fuzz(func(t *testing.T, query string) {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "/Observation", nil)
		req.URL.RawQuery = query
		srv.ServeHTTP(rec, req)
		switch rec.Code {
		case 200:
			var b struct {
				ResourceType string `json:"resourceType"`
				Total        int    `json:"total"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &b); err != nil || b.ResourceType != "Bundle" || b.Total > 4 {
				t.Errorf("query %q: got %s; want a Bundle of at most 4", query, rec.Body)
			}
		case 400:
			if len(query) > 16 && strings.Contains(rec.Body.String(), query) {
				t.Errorf("query %q: the OperationOutcome quotes it", query)
			}
		default:
			t.Errorf("query %q: got status %d; want 200 or 400", query, rec.Code)
		}
	})
}
