package fhirtest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
)

const patientB = "0a1b2c3d-0000-4000-8000-00000000000b"

// fixtureStore returns a store loaded with testdata/two-patients.json.
func fixtureStore(t testing.TB) *Store {
	t.Helper()
	data, err := os.ReadFile("testdata/two-patients.json")
	if err != nil {
		t.Fatal(err)
	}
	s := NewStore()
	if err := s.LoadBundle(data); err != nil {
		t.Fatalf("LoadBundle: %v", err)
	}
	return s
}

// startServer serves a fixture store with opts at the root of a test server.
func startServer(t *testing.T, opts Options) (*httptest.Server, *Store) {
	t.Helper()
	store := fixtureStore(t)
	ts := httptest.NewServer(NewServer(store, opts))
	t.Cleanup(ts.Close)
	return ts, store
}

type response struct {
	status int
	header http.Header
	body   []byte
}

// call sends one request; headers are given as "Name: value" strings.
func call(t *testing.T, method, url, body string, headers ...string) response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", ContentType)
	}
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ":")
		req.Header.Set(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: res.StatusCode, header: res.Header, body: data}
}

// testBundle is the part of a searchset Bundle the tests look at.
type testBundle struct {
	ResourceType string `json:"resourceType"`
	Type         string `json:"type"`
	Total        *int   `json:"total"`
	Link         []struct {
		Relation string `json:"relation"`
		URL      string `json:"url"`
	} `json:"link"`
	Entry []struct {
		FullURL  string `json:"fullUrl"`
		Resource struct {
			ResourceType string `json:"resourceType"`
			ID           string `json:"id"`
		} `json:"resource"`
		Search struct {
			Mode string `json:"mode"`
		} `json:"search"`
	} `json:"entry"`
}

func (b testBundle) ids() []string {
	out := []string{}
	for _, e := range b.Entry {
		out = append(out, e.Resource.ID)
	}
	return out
}

func (b testBundle) link(rel string) string {
	for _, l := range b.Link {
		if l.Relation == rel {
			return l.URL
		}
	}
	return ""
}

func decodeBundle(t *testing.T, r response) testBundle {
	t.Helper()
	var b testBundle
	if err := json.Unmarshal(r.body, &b); err != nil {
		t.Fatalf("decode bundle: %v", err)
	}
	if b.ResourceType != "Bundle" || b.Type != "searchset" {
		t.Fatalf("got resourceType %q type %q; want Bundle searchset", b.ResourceType, b.Type)
	}
	return b
}

// outcomeCode returns the first issue code of an OperationOutcome body, or
// "" if the body is not one.
func outcomeCode(r response) string {
	var oo struct {
		ResourceType string `json:"resourceType"`
		Issue        []struct {
			Code string `json:"code"`
		} `json:"issue"`
	}
	if err := json.Unmarshal(r.body, &oo); err != nil || oo.ResourceType != "OperationOutcome" || len(oo.Issue) == 0 {
		return ""
	}
	return oo.Issue[0].Code
}

// field decodes one top-level string field of a JSON resource.
func field(t *testing.T, body []byte, path ...string) string {
	t.Helper()
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("decode: %v", err)
	}
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return ""
		}
		v = m[p]
	}
	s, _ := v.(string)
	return s
}
