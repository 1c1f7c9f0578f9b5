package fhir

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// newTestClient starts a TLS server with h and a client for its /fhir base.
func newTestClient(t *testing.T, h http.HandlerFunc, opts ...Option) (*Client, *httptest.Server) {
	t.Helper()
	ts := httptest.NewTLSServer(h)
	t.Cleanup(ts.Close)
	opts = append([]Option{WithRetry(3, time.Millisecond)}, opts...)
	c, err := NewClient(ts.URL+"/fhir/", ts.Client(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c, ts
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/fhir+json")
	w.WriteHeader(status)
	io.WriteString(w, body)
}

func TestNewClientRejectsBadBase(t *testing.T) {
	for _, base := range []string{"", "fhir", "ftp://x/fhir", "https://user:pw@x/fhir", "://bad"} {
		if _, err := NewClient(base, nil); err == nil {
			t.Errorf("NewClient(%q) succeeded; want an error", base)
		} else if len(base) > 6 && strings.Contains(err.Error(), base) {
			t.Errorf("error %q quotes the base URL", err)
		}
	}
	c, err := NewClient("https://ehr.example/fhir/", nil)
	if err != nil || c.Base() != "https://ehr.example/fhir" {
		t.Errorf("Base() = %v, %v; want https://ehr.example/fhir", c, err)
	}
}

func TestReadSendsAcceptAndParsesVersion(t *testing.T) {
	var gotAccept, gotPath string
	c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		gotAccept, gotPath = r.Header.Get("Accept"), r.URL.Path
		w.Header().Set("ETag", `W/"7"`)
		writeJSON(w, 200, `{"resourceType":"Patient","id":"p1","meta":{"versionId":"7"}}`)
	})
	r, err := c.Read(t.Context(), "Patient", "p1")
	if err != nil {
		t.Fatal(err)
	}
	if gotAccept != "application/fhir+json" {
		t.Errorf("Accept = %q; want application/fhir+json", gotAccept)
	}
	if gotPath != "/fhir/Patient/p1" {
		t.Errorf("path = %q; want /fhir/Patient/p1", gotPath)
	}
	if r.Type != "Patient" || r.ID != "p1" || r.VersionID != "7" || r.ETag != `W/"7"` {
		t.Errorf("resource = %+v; want Patient/p1 version 7", r)
	}
}

func TestReadRejectsBadID(t *testing.T) {
	c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) { t.Error("request sent") })
	for _, id := range []string{"", "../metadata", "a/b", "x?y=1", strings.Repeat("a", 65)} {
		if _, err := c.Read(t.Context(), "Patient", id); err == nil || strings.Contains(err.Error(), id) && id != "" {
			t.Errorf("Read(%q) = %v; want an error without the id", id, err)
		}
	}
}

func TestSearchPercentEncodesValues(t *testing.T) {
	var raw string
	var got url.Values
	c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		raw, got = r.URL.RawQuery, r.URL.Query()
		writeJSON(w, 200, `{"resourceType":"Bundle","type":"searchset"}`)
	})
	q := url.Values{"patient": {"p 1"}, "code": {"http://loinc.org|85337-4,http://loinc.org|16112-5"}}
	if _, err := c.Search(t.Context(), "Observation", q); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(raw, "http://") || strings.Contains(raw, "|") {
		t.Errorf("raw query %q; want the system URL and | percent-encoded", raw)
	}
	if got.Get("code") != q.Get("code") || got.Get("patient") != "p 1" {
		t.Errorf("server decoded %v; want %v", got, q)
	}
}

// pagedServer serves Observation pages; next links are absolute, relative
// or absent after the last page.
func pagedServer(t *testing.T, pages int, relative bool, hits *atomic.Int32) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		page := 0
		fmt.Sscanf(r.URL.Query().Get("page"), "%d", &page)
		next := ""
		if page+1 < pages {
			link := fmt.Sprintf("Observation?page=%d", page+1)
			if !relative {
				link = "https://" + r.Host + "/fhir/" + link
			}
			next = fmt.Sprintf(`,"link":[{"relation":"self","url":"x"},{"relation":"next","url":%q}]`, link)
		}
		writeJSON(w, 200, fmt.Sprintf(`{"resourceType":"Bundle","type":"searchset"%s,"entry":[
			{"fullUrl":"x","resource":{"resourceType":"Observation","id":"o%d"},"search":{"mode":"match"}},
			{"resource":{"resourceType":"OperationOutcome"},"search":{"mode":"outcome"}}]}`, next, page))
	}
}

func TestSearchFollowsNextLinks(t *testing.T) {
	for _, relative := range []bool{false, true} {
		t.Run(fmt.Sprintf("relative=%v", relative), func(t *testing.T) {
			var hits atomic.Int32
			c, _ := newTestClient(t, pagedServer(t, 3, relative, &hits))
			res, err := c.Search(t.Context(), "Observation", url.Values{"patient": {"p1"}})
			if err != nil {
				t.Fatal(err)
			}
			if len(res) != 3 || res[2].ID != "o2" || res[0].Mode != "match" {
				t.Errorf("results %+v; want o0, o1, o2 without the OperationOutcome", res)
			}
		})
	}
}

func TestSearchPageCap(t *testing.T) {
	var hits atomic.Int32
	c, _ := newTestClient(t, pagedServer(t, 100, false, &hits), WithMaxPages(4))
	res, err := c.Search(t.Context(), "Observation", nil)
	if !errors.Is(err, ErrPageLimit) {
		t.Fatalf("error = %v; want ErrPageLimit", err)
	}
	if len(res) != 4 || hits.Load() != 4 {
		t.Errorf("got %d results in %d requests; want 4 and 4", len(res), hits.Load())
	}
}

func TestSearchNextLinkToAnotherHost(t *testing.T) {
	var pages atomic.Int32
	c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		pages.Add(1)
		switch r.URL.Query().Get("page") {
		case "":
			// A server behind a proxy naming its internal host: rebased.
			writeJSON(w, 200, `{"resourceType":"Bundle","link":[{"relation":"next","url":"http://fhir-internal:8080/fhir/Observation?page=2"}]}`)
		case "2":
			// Another server altogether: refused, the token stays here.
			writeJSON(w, 200, `{"resourceType":"Bundle","link":[{"relation":"next","url":"https://evil.example/steal?page=3"}]}`)
		default:
			t.Errorf("request for %s; want none", r.URL)
		}
	})
	_, err := c.Search(t.Context(), "Observation", nil)
	if err == nil || strings.Contains(err.Error(), "evil") {
		t.Errorf("error = %v; want a refusal that does not quote the link", err)
	}
	if pages.Load() != 2 {
		t.Errorf("%d pages read; want 2 (the internal host's link followed on the base host)", pages.Load())
	}
}

func TestGetRetries(t *testing.T) {
	for _, status := range []int{429, 503, 500} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			var hits atomic.Int32
			c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
				if hits.Add(1) < 3 {
					writeJSON(w, status, `{}`)
					return
				}
				writeJSON(w, 200, `{"resourceType":"Patient","id":"p1"}`)
			})
			if _, err := c.Read(t.Context(), "Patient", "p1"); err != nil {
				t.Fatalf("Read: %v; want success on the third attempt", err)
			}
			if hits.Load() != 3 {
				t.Errorf("%d requests; want 3", hits.Load())
			}
		})
	}
}

func TestGetGivesUpAfterAttempts(t *testing.T) {
	var hits atomic.Int32
	c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		writeJSON(w, 503, `{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"transient","diagnostics":"Patient Jane Doe locked"}]}`)
	})
	_, err := c.Read(t.Context(), "Patient", "p1")
	var re *ResponseError
	if !errors.As(err, &re) || re.Status != 503 {
		t.Fatalf("error = %v; want a ResponseError 503", err)
	}
	if hits.Load() != 3 {
		t.Errorf("%d requests; want 3", hits.Load())
	}
	if strings.Contains(err.Error(), "Jane") || !strings.Contains(re.Diagnostics, "Jane") {
		t.Errorf("error %q, diagnostics %q; want diagnostics kept apart from the message", err, re.Diagnostics)
	}
}

func TestWritesAreNotRetried(t *testing.T) {
	for _, method := range []string{"POST", "PUT"} {
		t.Run(method, func(t *testing.T) {
			var hits atomic.Int32
			c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
				hits.Add(1)
				writeJSON(w, 503, `{}`)
			})
			var err error
			if method == "POST" {
				_, _, err = c.Create(t.Context(), "CarePlan", []byte(`{"resourceType":"CarePlan"}`), nil)
			} else {
				_, err = c.Update(t.Context(), "CarePlan", "c1", []byte(`{"resourceType":"CarePlan","id":"c1"}`), "2")
			}
			if err == nil || hits.Load() != 1 {
				t.Errorf("%s: error %v after %d requests; want an error after 1", method, err, hits.Load())
			}
		})
	}
}

func TestCreateAndUpdateHeaders(t *testing.T) {
	var ifNoneExist, ifMatch, ctype string
	c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case "POST":
			ifNoneExist, ctype = r.Header.Get("If-None-Exist"), r.Header.Get("Content-Type")
			w.Header().Set("Location", "https://"+r.Host+"/fhir/CarePlan/c9/_history/1")
			w.Header().Set("ETag", `W/"1"`)
			w.WriteHeader(201)
		case "PUT":
			ifMatch = r.Header.Get("If-Match")
			writeJSON(w, 200, `{"resourceType":"CarePlan","id":"c9","meta":{"versionId":"3"}}`)
		}
	})
	r, created, err := c.Create(t.Context(), "CarePlan", []byte(`{}`), url.Values{"identifier": {"urn:x|a b"}})
	if err != nil || !created || r.ID != "c9" || r.VersionID != "1" {
		t.Fatalf("Create = %+v, %v, %v; want created CarePlan/c9 version 1", r, created, err)
	}
	if ifNoneExist != "identifier=urn%3Ax%7Ca+b" || ctype != "application/fhir+json" {
		t.Errorf("If-None-Exist %q, Content-Type %q; want encoded search and application/fhir+json", ifNoneExist, ctype)
	}
	r, err = c.Update(t.Context(), "CarePlan", "c9", []byte(`{}`), "2")
	if err != nil || r.VersionID != "3" || ifMatch != `W/"2"` {
		t.Errorf("Update = %+v, %v with If-Match %q; want version 3 and W/\"2\"", r, err, ifMatch)
	}
}

func TestStatusErrors(t *testing.T) {
	tests := []struct {
		status int
		want   error
	}{
		{401, ErrUnauthorized}, {403, ErrForbidden}, {404, ErrNotFound}, {410, ErrNotFound},
		{412, ErrPreconditionFailed}, {409, ErrConflict},
	}
	for _, tt := range tests {
		c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, tt.status, `{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"not-found","diagnostics":"Patient/secret-id not found"},{"severity":"x","code":"made-up"}]}`)
		})
		_, err := c.Read(t.Context(), "Patient", "secret-id")
		if !errors.Is(err, tt.want) {
			t.Errorf("status %d: error %v; want %v", tt.status, err, tt.want)
		}
		var re *ResponseError
		if !errors.As(err, &re) || re.Status != tt.status || len(re.Codes) != 2 || re.Codes[0] != "not-found" || re.Codes[1] != "unknown" {
			t.Errorf("status %d: %#v; want status and codes [not-found unknown]", tt.status, re)
		}
		if strings.Contains(err.Error(), "secret") {
			t.Errorf("error %q leaks the id or diagnostics", err)
		}
	}
}

func TestOversizeBody(t *testing.T) {
	c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, `{"resourceType":"Patient","id":"p1","text":"`+strings.Repeat("x", 4096)+`"}`)
	}, WithMaxBody(1024))
	if _, err := c.Read(t.Context(), "Patient", "p1"); !errors.Is(err, ErrTooLarge) {
		t.Errorf("error = %v; want ErrTooLarge", err)
	}
}

func TestSlowServerAndDeadline(t *testing.T) {
	release := make(chan struct{})
	var hits atomic.Int32
	c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		select {
		case <-release:
		case <-r.Context().Done():
		}
		panic(http.ErrAbortHandler) // never answer
	}, WithTimeouts(150*time.Millisecond, 900*time.Millisecond, time.Second))
	defer close(release)

	t.Run("caller's context ends first", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := c.Read(ctx, "Patient", "p1")
		if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 2*time.Second {
			t.Errorf("error %v after %v; want DeadlineExceeded promptly", err, time.Since(start))
		}
	})
	t.Run("attempts time out and are retried within the deadline", func(t *testing.T) {
		hits.Store(0)
		start := time.Now()
		_, err := c.Read(t.Context(), "Patient", "p1")
		if err == nil || time.Since(start) > 2*time.Second {
			t.Errorf("error %v after %v; want a failure within the overall deadline", err, time.Since(start))
		}
		// Under load an attempt may time out before the server sees it; the
		// error counts the attempts made.
		if !strings.Contains(err.Error(), "gave up after 3 attempts") || hits.Load() == 0 {
			t.Errorf("error %q after %d requests seen; want 3 attempts", err, hits.Load())
		}
		if strings.Contains(err.Error(), "p1") || strings.Contains(err.Error(), "127.0.0.1") {
			t.Errorf("error %q quotes the URL", err)
		}
	})
}

func TestCapabilities(t *testing.T) {
	c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/fhir/metadata" {
			t.Errorf("path %q; want /fhir/metadata", r.URL.Path)
		}
		writeJSON(w, 200, `{"resourceType":"CapabilityStatement","fhirVersion":"4.0.1","rest":[{"mode":"server","resource":[
			{"type":"CarePlan","interaction":[{"code":"read"},{"code":"create"},{"code":"search-type"}],"conditionalCreate":true},
			{"type":"Observation","interaction":[{"code":"read"},{"code":"search-type"}]}]}]}`)
	})
	cs, err := c.Capabilities(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		typ, interaction string
		want             bool
	}{
		{"CarePlan", "create", true}, {"CarePlan", "conditional-create", true}, {"CarePlan", "update", false},
		{"Observation", "search-type", true}, {"Observation", "create", false}, {"Observation", "conditional-create", false},
		{"Patient", "read", false},
	}
	for _, tt := range tests {
		if got := cs.Supports(tt.typ, tt.interaction); got != tt.want {
			t.Errorf("Supports(%s, %s) = %v; want %v", tt.typ, tt.interaction, got, tt.want)
		}
	}
	var nilCS *Capabilities
	if nilCS.Supports("CarePlan", "create") {
		t.Error("nil Capabilities supports create; want false")
	}
}
