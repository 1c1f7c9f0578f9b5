package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/mbcplan/mbcplan/fhir"
	"github.com/mbcplan/mbcplan/recommend"
	"github.com/mbcplan/mbcplan/smart"
)

var reviewNow = time.Date(2026, 12, 1, 9, 30, 0, 0, time.UTC)

// reviewApp is the real app wiring (middleware, routes, the SQLite app
// store) without a listener or an EHR: sessions are put in directly.
type reviewApp struct {
	a    *app
	h    http.Handler
	logs *syncBuffer
}

func newReviewApp(t *testing.T, frameOrigins ...string) *reviewApp {
	t.Helper()
	gin.SetMode(gin.ReleaseMode)
	logs := &syncBuffer{}
	st, err := openSQLiteStore(t.Context(), ":memory:", func() time.Time { return reviewNow })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Errorf("store Close: %v", err)
		}
	})
	p, err := loadPages()
	if err != nil {
		t.Fatal(err)
	}
	a := &app{
		cfg:      Config{EHRs: []EHRConfig{{Name: "ehr", FrameOrigins: frameOrigins}}},
		log:      newLogger(logs, "debug"),
		now:      func() time.Time { return reviewNow },
		sessions: newMemSessions(time.Hour),
		pages:    p,
		metrics:  newMetrics(),
		store:    st,
		jwks:     http.NotFoundHandler(),
		ehrs:     map[string]EHRConfig{},
	}
	a.ready.Store(true)
	e, err := a.engine()
	if err != nil {
		t.Fatal(err)
	}
	return &reviewApp{a: a, h: e, logs: logs}
}

// addSession puts a launch of patient at the EHR issuer whose drafts are
// kept in the app store (no FHIR client is needed for them).
func (ra *reviewApp) addSession(t *testing.T, issuer, patient string) *session {
	t.Helper()
	id, err := newSessionID()
	if err != nil {
		t.Fatal(err)
	}
	s := &session{
		id:     id,
		launch: &smart.Launch{EHRName: "ehr", FHIRBase: issuer, PatientID: patient, FHIRUser: "Practitioner/dr1"},
		ehr:    EHRConfig{Name: "ehr", Issuer: issuer, WriteBack: "app-store"},
		used:   reviewNow,
	}
	ra.a.sessions.Put(s)
	return s
}

func (ra *reviewApp) do(t *testing.T, method, target string, body string) *httptest.ResponseRecorder {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req := httptest.NewRequestWithContext(t.Context(), method, target, r)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	w := httptest.NewRecorder()
	ra.h.ServeHTTP(w, req)
	return w
}

// writeDraft writes the session's draft as postDraft does (same writer,
// same draft context) and records it as the session's open draft.
func (ra *reviewApp) writeDraft(t *testing.T, s *session) *fhir.Draft {
	t.Helper()
	plan := recommend.Plan{
		KnowledgeVersion: recommend.KnowledgeVersion,
		Patient:          recommend.PatientSummary{Ref: patientRef(s)},
		Options: []recommend.Option{{
			ID: "H02-ai", Rank: 1, Title: "Letrozole", Drugs: []recommend.Drug{{Name: "letrozole", RxNorm: "72965"}}, Rules: []string{"H02"},
		}},
		DataNeeded: []recommend.DataNeeded{},
	}
	d, err := ra.a.writer(s).WriteDraft(t.Context(), plan, recommend.Facts{}, ra.a.draftContext(s, "H02-ai", ""))
	if err != nil {
		t.Fatalf("WriteDraft: %v", err)
	}
	s.mu.Lock()
	s.draftID, s.draftWhere = d.ID, d.Where
	s.mu.Unlock()
	return d
}

type apiAnswer struct {
	Error   string `json:"error"`
	Message string `json:"message"`
	Draft   *struct {
		ID      string `json:"id"`
		Version string `json:"version"`
		Status  string `json:"status"`
	} `json:"draft"`
}

func decodeAnswer(t *testing.T, w *httptest.ResponseRecorder) apiAnswer {
	t.Helper()
	var a apiAnswer
	if err := json.Unmarshal(w.Body.Bytes(), &a); err != nil {
		t.Fatalf("answer is not JSON (%v): %.300s", err, w.Body.String())
	}
	return a
}

// Two EHRs (or the sandbox and an EHR) can both have a Patient/123 who are
// different people. Their drafts share the app store: a draft written for
// one must neither be returned for nor revoke the other's.
func TestSamePatientIDAtTwoEHRsKeepsSeparateDrafts(t *testing.T) {
	ra := newReviewApp(t)
	atA := ra.addSession(t, "https://ehr-a.example.org/fhir", "123")
	atB := ra.addSession(t, "https://ehr-b.example.org/fhir", "123")

	dA := ra.writeDraft(t, atA)
	dB := ra.writeDraft(t, atB)
	if dB.ID == dA.ID {
		t.Fatalf("EHR B's draft is EHR A's draft %s (same patient id, same inputs); want a draft of its own", dA.ID)
	}
	if len(dB.Replaced) != 0 {
		t.Errorf("EHR B's draft replaced %v; want nothing (A's patient is someone else)", dB.Replaced)
	}
	now, err := ra.a.writer(atA).Read(t.Context(), dA.ID)
	if err != nil {
		t.Fatalf("read A's draft: %v", err)
	}
	if now.Status != "draft" {
		t.Errorf("A's draft status = %q after B wrote one; want draft (untouched)", now.Status)
	}
	// A draft id of the other EHR is not found through this EHR's view.
	if _, err := ra.a.writer(atB).Read(t.Context(), dA.ID); !errors.Is(err, fhir.ErrNotFound) {
		t.Errorf("EHR B reading EHR A's draft: got %v; want ErrNotFound", err)
	}
	// The same EHR still finds its own open draft to replace.
	atA2 := ra.addSession(t, "https://ehr-a.example.org/fhir/", "123")
	atA2.launch.FHIRBase = "https://ehr-a.example.org/fhir"
	plan := recommend.Plan{
		KnowledgeVersion: recommend.KnowledgeVersion,
		Patient:          recommend.PatientSummary{Ref: "Patient/123"},
		Options:          []recommend.Option{{ID: "H03-x", Rank: 1, Title: "Exemestane", Drugs: []recommend.Drug{{Name: "exemestane"}}, Rules: []string{"H03"}}},
		DataNeeded:       []recommend.DataNeeded{},
	}
	d2, err := ra.a.writer(atA2).WriteDraft(t.Context(), plan, recommend.Facts{}, ra.a.draftContext(atA2, "H03-x", ""))
	if err != nil {
		t.Fatalf("second draft at A: %v", err)
	}
	if len(d2.Replaced) != 1 {
		t.Errorf("second draft at A replaced %v; want A's first draft", d2.Replaced)
	}
}

func TestScopedStoreRefusesAnotherScopesRecords(t *testing.T) {
	base := fhir.NewMemStore(func() time.Time { return reviewNow })
	a := scopeStore(base, "https://a.example.org/fhir")
	b := scopeStore(base, "https://b.example.org/fhir/")
	ctx := t.Context()
	ra, _, err := a.Create(ctx, draftRecord("Patient/1", "urn:mbcplan:draft|x", "draft"))
	if err != nil {
		t.Fatal(err)
	}
	if ra.PatientRef != "Patient/1" || ra.Identifier != "urn:mbcplan:draft|x" {
		t.Errorf("created record reads back as %q %q; want the references without the scope", ra.PatientRef, ra.Identifier)
	}
	rb, created, err := b.Create(ctx, draftRecord("Patient/1", "urn:mbcplan:draft|x", "draft"))
	if err != nil || !created || rb.ID == ra.ID {
		t.Errorf("B's Create with A's identifier: id %s created %v err %v; want a new record", rb.ID, created, err)
	}
	if found, err := b.Find(ctx, "CarePlan", "Patient/1", "draft"); err != nil || len(found) != 1 || found[0].ID != rb.ID {
		t.Errorf("B's Find: got %d records, err %v; want only its own", len(found), err)
	}
	if _, err := b.Get(ctx, "CarePlan", ra.ID, ""); !errors.Is(err, fhir.ErrNotFound) {
		t.Errorf("B's Get of A's record: %v; want ErrNotFound", err)
	}
	if _, err := b.Update(ctx, draftRecord("Patient/1", "urn:mbcplan:draft|x", "revoked"), ""); err == nil {
		t.Errorf("B's Update of a record with no id: got nil; want an error")
	}
	up := draftRecord("Patient/1", "urn:mbcplan:draft|x", "revoked")
	up.ID = ra.ID
	if _, err := b.Update(ctx, up, ""); !errors.Is(err, fhir.ErrNotFound) {
		t.Errorf("B's Update of A's record: %v; want ErrNotFound", err)
	}
	if got, err := a.Get(ctx, "CarePlan", ra.ID, ""); err != nil || got.Status != "draft" {
		t.Errorf("A's record after B's attempts: status %q err %v; want draft", got.Status, err)
	}
}

// A draft changed at the EHR (or in the store) so that it is about another
// patient is neither shown nor accepted, rejected or edited from this launch.
func TestReviewRefusesADraftAboutAnotherPatient(t *testing.T) {
	ra := newReviewApp(t)
	s := ra.addSession(t, "https://ehr.example.org/fhir", "p1")
	d := ra.writeDraft(t, s)
	if v := ra.a.currentDraft(t.Context(), s); v == nil || v.ID != d.ID {
		t.Fatalf("current draft = %+v; want the launch's draft %s", v, d.ID)
	}

	// Someone moves the draft to another patient.
	store := scopeStore(ra.a.store, s.launch.FHIRBase)
	cur, err := store.Get(t.Context(), "CarePlan", d.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	var cp map[string]any
	if err := json.Unmarshal(cur.JSON, &cp); err != nil {
		t.Fatal(err)
	}
	cp["subject"] = map[string]any{"reference": "Patient/p2"}
	cur.JSON, err = json.Marshal(cp)
	if err != nil {
		t.Fatal(err)
	}
	moved, err := store.Update(t.Context(), cur, cur.VersionID)
	if err != nil {
		t.Fatal(err)
	}

	if v := ra.a.currentDraft(t.Context(), s); v != nil {
		t.Errorf("current draft = %+v; want none (it is about Patient/p2)", v)
	}
	for _, step := range []struct{ path, body string }{
		{"accept", `{"version":"` + moved.VersionID + `"}`},
		{"reject", `{"version":"` + moved.VersionID + `","reason":"not indicated"}`},
		{"draft/edit", `{"version":"` + moved.VersionID + `","note":"checked"}`},
	} {
		w := ra.do(t, http.MethodPost, "/api/"+string(s.id)+"/"+step.path, step.body)
		if a := decodeAnswer(t, w); w.Code != http.StatusConflict || a.Error != "wrong-patient" {
			t.Errorf("POST %s: status %d error %q; want 409 wrong-patient", step.path, w.Code, a.Error)
		}
	}
	after, err := store.Get(t.Context(), "CarePlan", d.ID, "")
	if err != nil || after.VersionID != moved.VersionID {
		t.Errorf("draft version after the refused steps = %s (%v); want %s (nothing written)", after.VersionID, err, moved.VersionID)
	}
}

// The launch's own draft still goes through (the check is not in the way).
func TestReviewAcceptsTheLaunchsOwnDraft(t *testing.T) {
	ra := newReviewApp(t)
	s := ra.addSession(t, "https://ehr.example.org/fhir", "p1")
	d := ra.writeDraft(t, s)
	w := ra.do(t, http.MethodPost, "/api/"+string(s.id)+"/reject", `{"version":"`+d.VersionID+`","reason":"not indicated"}`)
	if a := decodeAnswer(t, w); w.Code != http.StatusOK || a.Draft == nil || a.Draft.Status != "revoked" {
		t.Errorf("reject own draft: status %d %+v; want 200 and a revoked draft", w.Code, a)
	}
}

// Request bodies: one JSON object, known fields, a size cap; the answers
// name the problem but never echo the request.
func TestAPIBodiesAreStrictAndAnswersDoNotEchoInput(t *testing.T) {
	ra := newReviewApp(t)
	s := ra.addSession(t, "https://ehr.example.org/fhir", "p1")
	ra.writeDraft(t, s)
	const marker = "ZZECHOZZ"
	tests := []struct {
		name, path, body string
		status           int
	}{
		{"unknown field", "reject", `{"version":"1","reason":"abc","` + marker + `":1}`, http.StatusBadRequest},
		{"trailing data", "reject", `{"version":"1","reason":"abc"} {"` + marker + `":1}`, http.StatusBadRequest},
		{"trailing garbage", "reject", `{"version":"1","reason":"abc"}` + marker, http.StatusBadRequest},
		{"wrong type", "reject", `{"version":1,"reason":"` + marker + `"}`, http.StatusBadRequest},
		{"invalid map key", "draft", `{"optionId":"H02-ai","choices":{"` + strings.Repeat(marker, 20) + `":"letrozole"}}`, http.StatusBadRequest},
		{"invalid map value", "draft", `{"optionId":"H02-ai","choices":{"g":"` + strings.Repeat(marker, 20) + `"}}`, http.StatusBadRequest},
		{"empty body", "reject", ``, http.StatusBadRequest},
		{"too large", "reject", `{"version":"1","reason":"` + strings.Repeat("a", 2<<20) + `"}`, http.StatusRequestEntityTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := ra.do(t, http.MethodPost, "/api/"+string(s.id)+"/"+tc.path, tc.body)
			a := decodeAnswer(t, w)
			if w.Code != tc.status || a.Error != "bad-request" {
				t.Errorf("status %d error %q; want %d bad-request", w.Code, a.Error, tc.status)
			}
			if strings.Contains(w.Body.String(), marker) {
				t.Errorf("answer echoes the request: %s", w.Body.String())
			}
		})
	}
	if strings.Contains(ra.logs.String(), marker) {
		t.Errorf("logs hold request content")
	}
}

// A crafted callback link cannot put its own words on an mbcplan page: only
// registered OAuth error codes are named.
func TestCallbackErrorPageNamesOnlyKnownOAuthCodes(t *testing.T) {
	for _, tc := range []struct {
		code      string
		wantShown bool
	}{
		{"access_denied", true},
		{"invalid_scope", true},
		{"Your session expired: call 555-0100 and give your password", false},
	} {
		ae := classify(&smart.AuthError{Stage: smart.StageAuthorize, Code: tc.code})
		if got := strings.Contains(ae.message, tc.code); got != tc.wantShown {
			t.Errorf("code %q: message %q; shown %v, want %v", tc.code, ae.message, got, tc.wantShown)
		}
	}
}

func TestSecurityHeadersOnPagesAndAPI(t *testing.T) {
	ra := newReviewApp(t, "https://ehr.example.org/")
	s := ra.addSession(t, "https://ehr.example.org/fhir", "p1")
	for _, target := range []string{"/app/" + string(s.id), "/api/" + strings.Repeat("A", 43) + "/plan", "/launch", "/nowhere"} {
		w := ra.do(t, http.MethodGet, target, "")
		h := w.Header()
		if got := h.Get("Cache-Control"); got != "no-store" {
			t.Errorf("%s: Cache-Control %q; want no-store", target, got)
		}
		if got := h.Get("Referrer-Policy"); got != "no-referrer" {
			t.Errorf("%s: Referrer-Policy %q; want no-referrer (the launch id is in the URL)", target, got)
		}
		if h.Get("Set-Cookie") != "" {
			t.Errorf("%s: sets a cookie; want none", target)
		}
		csp := h.Get("Content-Security-Policy")
		for _, want := range []string{"script-src 'self';", "style-src 'self';", "form-action 'self';", "base-uri 'none'", "frame-ancestors 'self' https://ehr.example.org"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s: CSP %q; want %q", target, csp, want)
			}
		}
		if strings.Contains(csp, "https:;") || strings.Contains(csp, " http:") || strings.Contains(csp, "ehr.example.org/") {
			t.Errorf("%s: CSP %q allows whole schemes or carries a path", target, csp)
		}
	}
}

func TestAuthorizePostPageCSP(t *testing.T) {
	csp := authorizePostCSP("https://auth.example.org/oauth2/authorize?x=1", []string{"https://ehr.example.org"})
	// 'self': an EHR with a signed-in user redirects the POST straight to
	// /callback, and browsers check that redirect against form-action.
	for _, want := range []string{"form-action 'self' https://auth.example.org;", "script-src 'self'", "base-uri 'none'", "object-src 'none'", "frame-ancestors 'self' https://ehr.example.org"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q; want %q", csp, want)
		}
	}
	if bad := authorizePostCSP("javascript:alert(1)", nil); !strings.Contains(bad, "form-action 'self';") {
		t.Errorf("CSP for a non-http action = %q; want form-action 'self' alone", bad)
	}
}

func TestFrameOriginsMustBeOrigins(t *testing.T) {
	for _, tc := range []struct {
		origin string
		ok     bool
	}{
		{"https://ehr.example.org", true},
		{"https://ehr.example.org:8443/", true},
		{"https://ehr.example.org/;script-src", false},
		{"https://ehr.example.org/app", false},
		{"https://ehr.example.org?x", false},
		{"ftp://ehr.example.org", false},
	} {
		cfg := filepath.Join(t.TempDir(), "ehrs.json")
		data, err := json.Marshal([]map[string]any{{"name": "e", "issuer": "https://ehr.example.org/fhir", "clientId": "c", "frameOrigins": []string{tc.origin}}})
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(cfg, data, 0o600); err != nil {
			t.Fatal(err)
		}
		_, err = parseServeConfig([]string{"--ehr-config", cfg}, func(string) string { return "" }, io.Discard)
		if (err == nil) != tc.ok {
			t.Errorf("frame origin %q: got %v; want ok %v", tc.origin, err, tc.ok)
		}
	}
}

func TestStoreFileIsPrivate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.db")
	st, err := openSQLiteStore(t.Context(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		t.Errorf("store file mode %v; want no access for group and others", perm)
	}
	var logs bytes.Buffer
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	warnIfShared(slog.New(slog.NewJSONHandler(&logs, nil)), "--store / MBCPLAN_STORE", path)
	if !strings.Contains(logs.String(), "readable by other users") || strings.Contains(logs.String(), path) {
		t.Errorf("warning for a shared store file = %q; want a warning without the path", logs.String())
	}
}

// An unknown iss is refused before any request leaves the app: the
// allowlist is the only gate before discovery.
func TestUnknownIssuerFetchesNothing(t *testing.T) {
	var hits atomic.Int32
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		http.NotFound(w, r)
	}))
	t.Cleanup(ts.Close)
	ra := newReviewApp(t)
	sc, err := smart.New(smart.Config{
		EHRs:        []smart.EHR{{Name: "known", Issuers: []string{"https://known.example.org/fhir"}, ClientID: "c", Scopes: defaultScopes}},
		RedirectURI: "http://127.0.0.1/callback",
		HTTPClient:  ts.Client(),
	})
	if err != nil {
		t.Fatal(err)
	}
	ra.a.smart = sc
	for _, iss := range []string{ts.URL + "/fhir", ts.URL, "https://known.example.org.evil.example/fhir", "https://known.example.org/fhir/../x"} {
		w := ra.do(t, http.MethodGet, "/launch?"+url.Values{"iss": {iss}, "launch": {"x"}}.Encode(), "")
		if w.Code != http.StatusBadRequest || w.Header().Get("Location") != "" {
			t.Errorf("launch from %s: status %d location %q; want 400 and no redirect", iss, w.Code, w.Header().Get("Location"))
		}
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the unknown issuers' server got %d requests; want none", n)
	}
}
