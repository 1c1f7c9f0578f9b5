package fhir

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mbcplan/mbcplan/fhir/fhirtest"
)

func TestVRead(t *testing.T) {
	sb := newSandbox(t, fhirtest.Options{}, nil)
	ctx := t.Context()
	v1, err := sb.store.Put([]byte(`{"resourceType":"CarePlan","id":"cp1","status":"draft","intent":"proposal","subject":{"reference":"Patient/p1"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sb.store.Put([]byte(`{"resourceType":"CarePlan","id":"cp1","status":"revoked","intent":"proposal","subject":{"reference":"Patient/p1"}}`)); err != nil {
		t.Fatal(err)
	}
	r, err := sb.client.VRead(ctx, "CarePlan", "cp1", v1.VersionID)
	if err != nil {
		t.Fatalf("VRead: %v", err)
	}
	if r.Type != "CarePlan" || r.ID != "cp1" || r.VersionID != v1.VersionID || !strings.Contains(string(r.Raw), `"draft"`) {
		t.Errorf("got %s/%s version %s; want CarePlan/cp1 version %s, status draft", r.Type, r.ID, r.VersionID, v1.VersionID)
	}
	if _, err := sb.client.VRead(ctx, "CarePlan", "cp1", "99"); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing version: got %v; want ErrNotFound", err)
	}
	if _, err := sb.client.VRead(ctx, "CarePlan", "nope", "1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing resource: got %v; want ErrNotFound", err)
	}
	for _, tc := range []struct{ typ, id, version string }{
		{"careplan", "cp1", "1"}, {"CarePlan", "cp/1", "1"}, {"CarePlan", "cp1", ""}, {"CarePlan", "cp1", "1/../2"},
	} {
		if _, err := sb.client.VRead(ctx, tc.typ, tc.id, tc.version); err == nil {
			t.Errorf("VRead(%q, %q, %q): got no error; want one", tc.typ, tc.id, tc.version)
		}
	}
}

// TestVReadWrongAnswer: a server answering with another version or another
// resource is refused, the request path is the _history one, and the
// error names neither id nor version.
func TestVReadWrongAnswer(t *testing.T) {
	tests := []struct {
		name, body, etag string
		ok               bool
	}{
		{"the version asked for", `{"resourceType":"CarePlan","id":"cp1","meta":{"versionId":"2"}}`, "", true},
		{"the version only in the ETag", `{"resourceType":"CarePlan","id":"cp1"}`, `W/"2"`, true},
		{"no version stated at all", `{"resourceType":"CarePlan","id":"cp1"}`, "", true},
		{"the current version instead", `{"resourceType":"CarePlan","id":"cp1","meta":{"versionId":"3"}}`, "", false},
		{"another resource", `{"resourceType":"CarePlan","id":"cp9","meta":{"versionId":"2"}}`, "", false},
		{"another type", `{"resourceType":"Patient","id":"cp1","meta":{"versionId":"2"}}`, "", false},
		{"not a resource", `<html>`, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var path string
			ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				path = r.URL.Path
				if tc.etag != "" {
					w.Header().Set("ETag", tc.etag)
				}
				w.Header().Set("Content-Type", "application/fhir+json")
				_, _ = w.Write([]byte(tc.body))
			}))
			t.Cleanup(ts.Close)
			c, err := NewClient(ts.URL, ts.Client(), WithRetry(1, time.Millisecond))
			if err != nil {
				t.Fatal(err)
			}
			r, err := c.VRead(t.Context(), "CarePlan", "cp1", "2")
			if path != "/CarePlan/cp1/_history/2" {
				t.Errorf("got path %q; want /CarePlan/cp1/_history/2", path)
			}
			if tc.ok {
				if err != nil || r.VersionID != "2" {
					t.Errorf("got %v, %v; want version 2", r, err)
				}
				return
			}
			if err == nil {
				t.Fatal("got no error; want one")
			}
			if strings.Contains(err.Error(), "cp1") || strings.Contains(err.Error(), "cp9") {
				t.Errorf("error %q names an id", err)
			}
		})
	}
}
