package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is an io.Writer safe for the server goroutine and the test.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// urlWriter hands the first "listening on URL" line to the test.
type urlWriter struct {
	once sync.Once
	ch   chan string
	rest syncBuffer
}

var listeningRE = regexp.MustCompile(`listening on (http://\S+)`)

func (w *urlWriter) Write(p []byte) (int, error) {
	if m := listeningRE.FindSubmatch(p); m != nil {
		w.once.Do(func() { w.ch <- string(m[1]) })
	}
	return w.rest.Write(p)
}

type server struct {
	base string
	logs *syncBuffer
}

const testData = "../../testdata/patients"

// startServer runs `mbcplan serve` in-process on a free port, as a user would
// start it, and stops it when the test ends.
func startServer(t *testing.T, extra ...string) *server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := &urlWriter{ch: make(chan string, 1)}
	logs := &syncBuffer{}
	done := make(chan error, 1)
	args := append([]string{"serve", "--addr", "127.0.0.1:0", "--sandbox-data", testData}, extra...)
	go func() { done <- run(ctx, args, func(string) string { return "" }, out, logs) }()
	var base string
	select {
	case base = <-out.ch:
	case err := <-done:
		cancel()
		t.Fatalf("serve exited before listening: %v\nlogs:\n%s", err, logs.String())
	case <-time.After(60 * time.Second):
		cancel()
		t.Fatalf("serve did not print its URL within 60s; logs:\n%s", logs.String())
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	// /healthz answers once the server serves.
	resp, err := http.Get(base + "/healthz")
	if err != nil {
		t.Fatalf("GET /healthz: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /healthz: status %d; want 200", resp.StatusCode)
	}
	return &server{base: base, logs: logs}
}

// browser is an HTTP client that follows redirects and keeps cookies, as a
// browser profile does.
func browser(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, Timeout: 30 * time.Second}
}

func get(t *testing.T, c *http.Client, u string) (*http.Response, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: reading body: %v", u, err)
	}
	return resp, string(b)
}

var launchLinkRE = regexp.MustCompile(`href="(/sandbox/launch\?[^"]*patient=([^"&]+)[^"]*)"`)

// launchLinks maps patient id → the launcher's plain "Launch" link.
func launchLinks(t *testing.T, s *server, c *http.Client) map[string]string {
	t.Helper()
	resp, body := get(t, c, s.base+"/")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /: status %d; want 200", resp.StatusCode)
	}
	links := map[string]string{}
	for _, m := range launchLinkRE.FindAllStringSubmatch(body, -1) {
		href := html.UnescapeString(m[1])
		if strings.Contains(href, "sim=") {
			continue
		}
		id, _ := url.QueryUnescape(html.UnescapeString(m[2]))
		if _, ok := links[id]; !ok {
			links[id] = s.base + href
		}
	}
	if len(links) == 0 {
		t.Fatalf("launcher lists no launch links; page:\n%s", body)
	}
	return links
}

// launchPatient follows the launcher's link for patient through the SMART
// EHR launch and returns the app page URL and the launch id.
func launchPatient(t *testing.T, s *server, c *http.Client, patient string) (appURL, launch string) {
	t.Helper()
	links := launchLinks(t, s, c)
	link, ok := links[patient]
	if !ok {
		t.Fatalf("launcher has no link for %s; has %d patients", patient, len(links))
	}
	resp, body := get(t, c, link)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("launch of %s ended with status %d; body:\n%s", patient, resp.StatusCode, body)
	}
	final := resp.Request.URL
	if !strings.HasPrefix(final.Path, "/app/") {
		t.Fatalf("launch of %s ended at %s; want /app/{launch}", patient, final.Path)
	}
	return final.String(), strings.TrimPrefix(final.Path, "/app/")
}

func getJSON(t *testing.T, c *http.Client, u string, v any) int {
	t.Helper()
	resp, body := get(t, c, u)
	if err := json.Unmarshal([]byte(body), v); err != nil {
		t.Fatalf("GET %s: not JSON (%v): %.300s", u, err, body)
	}
	return resp.StatusCode
}

func postJSON(t *testing.T, c *http.Client, u string, in, out any) int {
	t.Helper()
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Post(u, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatalf("POST %s: %v", u, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if out != nil {
		if err := json.Unmarshal(body, out); err != nil {
			t.Fatalf("POST %s: answer not JSON (%v): %.300s", u, err, body)
		}
	}
	return resp.StatusCode
}

type planAnswer struct {
	Plan struct {
		Patient struct {
			Ref string `json:"ref"`
		} `json:"patient"`
		Subtype struct {
			ER   struct{ Value string } `json:"er"`
			HER2 struct{ Value string } `json:"her2"`
		} `json:"subtype"`
		Options []struct {
			ID    string `json:"id"`
			Drugs []struct {
				Name   string `json:"name"`
				Choice string `json:"choice"`
			} `json:"drugs"`
		} `json:"options"`
	} `json:"plan"`
	Facts struct {
		Patient struct {
			Ref string `json:"ref"`
		} `json:"patient"`
	} `json:"facts"`
	Context struct {
		NeedPatientBanner bool `json:"needPatientBanner"`
	} `json:"context"`
	Error string `json:"error"`
}

func TestLauncherToAppOverHTTP(t *testing.T) {
	s := startServer(t)
	c := browser(t)
	appURL, launch := launchPatient(t, s, c, "mbc-01")

	resp, body := get(t, c, appURL)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET app page: status %d; want 200", resp.StatusCode)
	}
	if !strings.Contains(body, launch) {
		t.Errorf("app page does not carry its launch id")
	}
	csp := resp.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "frame-ancestors") || strings.Contains(csp, "unsafe-inline") {
		t.Errorf("app page CSP = %q; want frame-ancestors and no unsafe-inline", csp)
	}
	if xfo := resp.Header.Get("X-Frame-Options"); xfo != "" {
		t.Errorf("X-Frame-Options = %q; want none (the EHR may frame the app)", xfo)
	}

	var p planAnswer
	if st := getJSON(t, c, s.base+"/api/"+launch+"/plan", &p); st != http.StatusOK {
		t.Fatalf("GET plan: status %d (%s); want 200", st, p.Error)
	}
	if p.Facts.Patient.Ref != "Patient/mbc-01" || p.Plan.Patient.Ref != "Patient/mbc-01" {
		t.Errorf("plan patient = %q / facts patient = %q; want Patient/mbc-01", p.Plan.Patient.Ref, p.Facts.Patient.Ref)
	}
}

func TestTwoLaunchesOneCookieJarStaySeparate(t *testing.T) {
	s := startServer(t)
	c := browser(t) // one cookie jar, as two tabs of one browser profile
	_, l1 := launchPatient(t, s, c, "mbc-01")
	_, l2 := launchPatient(t, s, c, "mbc-03")
	if l1 == l2 {
		t.Fatalf("two launches share one launch id")
	}
	for i := 0; i < 3; i++ { // interleaved
		for _, tc := range []struct{ launch, want string }{{l1, "Patient/mbc-01"}, {l2, "Patient/mbc-03"}} {
			var p planAnswer
			if st := getJSON(t, c, s.base+"/api/"+tc.launch+"/plan", &p); st != http.StatusOK {
				t.Fatalf("GET plan: status %d (%s)", st, p.Error)
			}
			if p.Plan.Patient.Ref != tc.want || p.Facts.Patient.Ref != tc.want {
				t.Fatalf("round %d: launch shows %q; want %q", i, p.Plan.Patient.Ref, tc.want)
			}
		}
	}
}

func TestBadLaunchInputIsAnsweredClearly(t *testing.T) {
	s := startServer(t)
	c := browser(t)
	tests := []struct {
		name, path string
		status     int
		want       string
	}{
		{"no iss", "/launch", http.StatusBadRequest, "without the EHR"},
		{"iss not a URL", "/launch?iss=not-a-url&launch=x", http.StatusBadRequest, "not a URL"},
		{"unknown iss", "/launch?iss=" + url.QueryEscape("https://ehr.example.org/fhir") + "&launch=x", http.StatusBadRequest, "not set up"},
		{"callback without state", "/callback?code=abc", http.StatusBadRequest, "sign-in"},
		{"callback with forged state", "/callback?code=abc&state=forged", http.StatusBadRequest, "sign-in"},
		{"unknown launch id", "/app/" + strings.Repeat("A", 43), http.StatusUnauthorized, "session has ended"},
		{"malformed launch id", "/app/not-a-launch", http.StatusUnauthorized, "session has ended"},
		{"path outside the app", "/app/..%2f..%2fetc", http.StatusNotFound, "does not exist"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := get(t, c, s.base+tc.path)
			if resp.StatusCode != tc.status {
				t.Errorf("GET %s: status %d; want %d", tc.path, resp.StatusCode, tc.status)
			}
			if !strings.Contains(body, tc.want) {
				t.Errorf("GET %s: page does not say %q:\n%.400s", tc.path, tc.want, body)
			}
			if strings.Contains(body, "goroutine") || strings.Contains(body, ".go:") {
				t.Errorf("GET %s: page shows internals", tc.path)
			}
		})
	}
	var e struct{ Error, Message, RequestID string }
	if st := getJSON(t, c, s.base+"/api/"+strings.Repeat("B", 43)+"/plan", &e); st != http.StatusUnauthorized || e.Error != "session-expired" {
		t.Errorf("API with unknown launch: status %d error %q; want 401 session-expired", st, e.Error)
	}
}

func TestLogsHoldNoSecretsOrIdentifiers(t *testing.T) {
	s := startServer(t)
	c := browser(t)
	// Capture the OAuth code and state of one launch by not following the
	// callback redirect automatically.
	var seen []string
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		for _, k := range []string{"code", "state", "launch", "iss"} {
			if v := req.URL.Query().Get(k); v != "" {
				seen = append(seen, v)
			}
		}
		return nil
	}
	_, launch := launchPatient(t, s, c, "mbc-01")
	var p planAnswer
	getJSON(t, c, s.base+"/api/"+launch+"/plan", &p)
	seen = append(seen, launch, "mbc-01")
	logs := s.logs.String()
	if !strings.Contains(logs, `"route"`) {
		t.Fatalf("no access log lines captured; logs:\n%s", logs)
	}
	for _, v := range seen {
		if len(v) >= 6 && strings.Contains(logs, v) {
			t.Errorf("logs contain a launch value (%d chars) that must stay out", len(v))
		}
	}
	if name := "Patient/mbc-01"; strings.Contains(logs, name) {
		t.Errorf("logs contain the patient reference")
	}
	fmt.Fprint(io.Discard, logs)
}

// simLink is the launcher link for patient with an error simulation.
func simLink(s *server, patient, sim string) string {
	return s.base + "/sandbox/launch?" + url.Values{"patient": {patient}, "sim": {sim}}.Encode()
}

func TestSimulatedEHRErrorsGetSpecificPages(t *testing.T) {
	s := startServer(t)
	tests := []struct {
		sim    string
		status int
		want   []string // all must appear on the final page
	}{
		{"invalid_client_id", http.StatusBadRequest, []string{"refused to sign mbcplan in", "unauthorized_client"}},
		{"invalid_scope", http.StatusBadRequest, []string{"refused to sign mbcplan in", "invalid_scope"}},
		{"invalid_redirect_uri", http.StatusBadRequest, []string{"redirect"}},
		{"invalid_client_secret", http.StatusBadRequest, []string{"refused to sign mbcplan in", "invalid_client"}},
		{"invalid_client", http.StatusBadRequest, []string{"refused to sign mbcplan in", "invalid_client"}},
		{"invalid_jti", http.StatusBadRequest, []string{"refused to sign mbcplan in", "invalid_client"}},
		{"expired_registration_token", http.StatusBadRequest, []string{"refused to sign mbcplan in", "invalid_client"}},
	}
	for _, tc := range tests {
		t.Run(tc.sim, func(t *testing.T) {
			c := browser(t)
			resp, body := get(t, c, simLink(s, "mbc-01", tc.sim))
			if resp.StatusCode != tc.status {
				t.Errorf("status %d; want %d (ended at %s)", resp.StatusCode, tc.status, resp.Request.URL.Path)
			}
			for _, w := range tc.want {
				if !strings.Contains(strings.ToLower(body), strings.ToLower(w)) {
					t.Errorf("final page does not say %q:\n%.600s", w, body)
				}
			}
			if strings.HasPrefix(resp.Request.URL.Path, "/app/") {
				t.Errorf("a failed launch reached the app page")
			}
		})
	}

	t.Run("fhir_401", func(t *testing.T) {
		c := browser(t)
		_, body := get(t, c, simLink(s, "mbc-01", "fhir_401"))
		_ = body
		_, launch := launchPatientVia(t, c, simLink(s, "mbc-01", "fhir_401"))
		var e struct{ Error, Message string }
		st := getJSON(t, c, s.base+"/api/"+launch+"/plan", &e)
		if st != http.StatusUnauthorized || e.Error != "relaunch" {
			t.Errorf("plan with FHIR answering 401: status %d error %q; want 401 relaunch", st, e.Error)
		}
		if !strings.Contains(e.Message, "open mbcplan again") {
			t.Errorf("message %q does not ask for a re-launch", e.Message)
		}
	})
	logs := s.logs.String()
	for _, leak := range []string{"Bearer ", "code_verifier", "client_secret", "access_token"} {
		if strings.Contains(logs, leak) {
			t.Errorf("logs contain %q", leak)
		}
	}
}

// launchPatientVia follows a launch link and returns the app URL and launch id.
func launchPatientVia(t *testing.T, c *http.Client, link string) (string, string) {
	t.Helper()
	resp, body := get(t, c, link)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Request.URL.Path, "/app/") {
		t.Fatalf("launch ended at %s with status %d:\n%.300s", resp.Request.URL.Path, resp.StatusCode, body)
	}
	return resp.Request.URL.String(), strings.TrimPrefix(resp.Request.URL.Path, "/app/")
}

type apiDraft struct {
	Draft struct {
		ID, Version, Status, Where, Subject, OptionID string
		Created                                       bool
	} `json:"draft"`
	Accepted *struct {
		ID, Where, Status string
		DocumentReference *struct{ ID, Where string } `json:"documentReference"`
	} `json:"accepted"`
	Error   string   `json:"error"`
	Changes []string `json:"changes"`
}

func firstOption(t *testing.T, c *http.Client, s *server, launch string) string {
	t.Helper()
	id, _ := firstOptionChoices(t, c, s, launch)
	return id
}

// firstOptionChoices returns the top-ranked option and a choice of its first
// drug in every group of alternatives, as a clinician makes before accepting.
func firstOptionChoices(t *testing.T, c *http.Client, s *server, launch string) (string, map[string]string) {
	t.Helper()
	var p planAnswer
	if st := getJSON(t, c, s.base+"/api/"+launch+"/plan", &p); st != http.StatusOK {
		t.Fatalf("GET plan: %d %s", st, p.Error)
	}
	if len(p.Plan.Options) == 0 {
		t.Fatalf("plan has no options")
	}
	o := p.Plan.Options[0]
	choices := map[string]string{}
	for _, d := range o.Drugs {
		if d.Choice != "" && choices[d.Choice] == "" {
			choices[d.Choice] = d.Name
		}
	}
	return o.ID, choices
}

func TestDraftsFromTwoLaunchesKeepTheirOwnPatient(t *testing.T) {
	s := startServer(t)
	c := browser(t)
	_, l1 := launchPatient(t, s, c, "mbc-01")
	_, l2 := launchPatient(t, s, c, "mbc-03")
	o1, o2 := firstOption(t, c, s, l1), firstOption(t, c, s, l2)
	var d2, d1 apiDraft
	if st := postJSON(t, c, s.base+"/api/"+l2+"/draft", map[string]string{"optionId": o2}, &d2); st != http.StatusOK {
		t.Fatalf("draft 2: %d %s", st, d2.Error)
	}
	if st := postJSON(t, c, s.base+"/api/"+l1+"/draft", map[string]string{"optionId": o1}, &d1); st != http.StatusOK {
		t.Fatalf("draft 1: %d %s", st, d1.Error)
	}
	if d1.Draft.Subject != "Patient/mbc-01" || d2.Draft.Subject != "Patient/mbc-03" {
		t.Errorf("draft subjects %q, %q; want Patient/mbc-01, Patient/mbc-03", d1.Draft.Subject, d2.Draft.Subject)
	}
	if d1.Draft.Where != "ehr" {
		t.Errorf("sandbox draft where = %q; want ehr (the sandbox can keep CarePlans)", d1.Draft.Where)
	}
	// An option of the other patient's plan is not accepted here.
	if o1 != o2 {
		var e apiDraft
		if st := postJSON(t, c, s.base+"/api/"+l1+"/draft", map[string]string{"optionId": o2}, &e); st == http.StatusOK {
			t.Errorf("draft with another plan's option %q: status 200; want an error", o2)
		}
	}
	// Writing the same draft again gives the same CarePlan, not a new one.
	var again apiDraft
	if st := postJSON(t, c, s.base+"/api/"+l1+"/draft", map[string]string{"optionId": o1}, &again); st != http.StatusOK {
		t.Fatalf("draft again: %d %s", st, again.Error)
	}
	if again.Draft.ID != d1.Draft.ID || again.Draft.Created {
		t.Errorf("second identical draft: id %q created %v; want id %q created false", again.Draft.ID, again.Draft.Created, d1.Draft.ID)
	}
}

func TestDraftEditAcceptAndConflict(t *testing.T) {
	s := startServer(t)
	c := browser(t)
	_, l := launchPatient(t, s, c, "mbc-01")
	o, choices := firstOptionChoices(t, c, s, l)
	// Without a choice among alternatives the draft cannot be accepted.
	var open apiDraft
	if st := postJSON(t, c, s.base+"/api/"+l+"/draft", map[string]any{"optionId": o}, &open); st != http.StatusOK {
		t.Fatalf("draft without choices: %d %s", st, open.Error)
	}
	if len(choices) > 0 {
		var refused apiDraft
		if st := postJSON(t, c, s.base+"/api/"+l+"/accept", map[string]any{"version": open.Draft.Version}, &refused); st != http.StatusConflict || refused.Error != "choice-needed" {
			t.Errorf("accept with alternatives open: status %d error %q; want 409 choice-needed", st, refused.Error)
		}
	}
	var d apiDraft
	if st := postJSON(t, c, s.base+"/api/"+l+"/draft", map[string]any{"optionId": o, "note": "discussed with patient", "choices": choices}, &d); st != http.StatusOK {
		t.Fatalf("draft: %d %s", st, d.Error)
	}
	stale := d.Draft.Version
	var e apiDraft
	if st := postJSON(t, c, s.base+"/api/"+l+"/draft/edit", map[string]any{"version": stale, "note": "edited once"}, &e); st != http.StatusOK {
		t.Fatalf("edit: %d %s", st, e.Error)
	}
	// A second edit based on the old version is a conflict that says what changed.
	var conflict apiDraft
	if st := postJSON(t, c, s.base+"/api/"+l+"/draft/edit", map[string]any{"version": stale, "note": "edited from a stale page"}, &conflict); st != http.StatusConflict || conflict.Error != "conflict" {
		t.Fatalf("stale edit: status %d error %q; want 409 conflict", st, conflict.Error)
	}
	if len(conflict.Changes) == 0 {
		t.Errorf("conflict lists no changes")
	}
	// Accepting with a stale version is refused too; with the current one it works.
	if st := postJSON(t, c, s.base+"/api/"+l+"/accept", map[string]any{"version": stale}, &conflict); st != http.StatusConflict {
		t.Errorf("stale accept: status %d; want 409", st)
	}
	var acc apiDraft
	if st := postJSON(t, c, s.base+"/api/"+l+"/accept", map[string]any{"version": e.Draft.Version}, &acc); st != http.StatusOK {
		t.Fatalf("accept: %d %s", st, acc.Error)
	}
	if acc.Draft.Status != "completed" || acc.Accepted == nil || acc.Accepted.Status != "active" {
		t.Errorf("accept: proposal %q, plan %+v; want completed and an active plan", acc.Draft.Status, acc.Accepted)
	}
	// Bad bodies are refused clearly.
	var bad struct{ Error, Message string }
	resp, err := c.Post(s.base+"/api/"+l+"/reject", "application/json", strings.NewReader("{not json"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&bad); err != nil || resp.StatusCode != http.StatusBadRequest || bad.Error != "bad-request" {
		t.Errorf("malformed JSON: status %d error %q; want 400 bad-request", resp.StatusCode, bad.Error)
	}
}

func TestReadOnlyEHRKeepsDraftInAppStoreAndWritesNote(t *testing.T) {
	s := startServer(t, "--sandbox-careplan-readonly")
	c := browser(t)
	_, l := launchPatient(t, s, c, "mbc-01")
	o, choices := firstOptionChoices(t, c, s, l)
	var d apiDraft
	if st := postJSON(t, c, s.base+"/api/"+l+"/draft", map[string]any{"optionId": o, "choices": choices}, &d); st != http.StatusOK {
		t.Fatalf("draft: %d %s", st, d.Error)
	}
	if d.Draft.Where != "app-store" {
		t.Fatalf("draft where = %q; want app-store (the EHR refuses CarePlan create)", d.Draft.Where)
	}
	var acc apiDraft
	if st := postJSON(t, c, s.base+"/api/"+l+"/accept", map[string]any{"version": d.Draft.Version}, &acc); st != http.StatusOK {
		t.Fatalf("accept: %d %s", st, acc.Error)
	}
	if acc.Accepted == nil || acc.Accepted.DocumentReference == nil || acc.Accepted.DocumentReference.Where != "ehr" {
		t.Errorf("accepted = %+v; want a DocumentReference note written to the EHR", acc.Accepted)
	}
}
