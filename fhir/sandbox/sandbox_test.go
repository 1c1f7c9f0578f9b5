package sandbox

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mbcplan/mbcplan/fhir/fhirtest"
)

// clock is a test clock that tests move forward.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func libraryDir(t *testing.T) string {
	t.Helper()
	dir, err := fhirtest.LibraryDir()
	if err != nil {
		t.Fatalf("LibraryDir: %v", err)
	}
	return dir
}

// env is a sandbox served by a test server whose URL is the PublicURL.
type env struct {
	sb    *Sandbox
	ts    *httptest.Server
	clock *clock
}

func start(t *testing.T, cfg Config) env {
	t.Helper()
	var h http.Handler
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	c := &clock{t: time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)}
	cfg.PublicURL = "http://" + ts.Listener.Addr().String()
	cfg.Now = c.now
	if cfg.DataDir == "" {
		cfg.DataDir = libraryDir(t)
	}
	sb, err := New(cfg)
	if err != nil {
		ts.Close()
		t.Fatalf("New: %v", err)
	}
	h = sb.Handler()
	ts.Start()
	t.Cleanup(ts.Close)
	return env{sb: sb, ts: ts, clock: c}
}

// noRedirect is a client that returns redirects instead of following them.
func noRedirect() *http.Client {
	return &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

type reply struct {
	status int
	header http.Header
	body   []byte
}

func get(t *testing.T, u, token string) reply {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), "GET", u, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return send(t, req)
}

func send(t *testing.T, req *http.Request) reply {
	t.Helper()
	res, err := noRedirect().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return reply{res.StatusCode, res.Header, body}
}

func TestLauncherListsPatients(t *testing.T) {
	e := start(t, Config{})
	lib, err := fhirtest.LoadLibrary(libraryDir(t))
	if err != nil {
		t.Fatal(err)
	}
	r := get(t, e.ts.URL+"/", "")
	if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /: got %d %q; want 200 text/html", r.status, r.header.Get("Content-Type"))
	}
	page := string(r.body)
	if len(lib.Scenarios) == 0 {
		t.Fatal("the library has no scenarios")
	}
	for _, sc := range lib.Scenarios {
		href := `href="/sandbox/launch?patient=` + url.QueryEscape(sc.ID) + `"`
		if !strings.Contains(page, href) {
			t.Errorf("launcher: no %s for scenario %s", href, sc.ID)
		}
		title := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "'", "&#39;", `"`, "&#34;", "+", "&#43;").Replace(sc.Title)
		if !strings.Contains(page, title) {
			t.Errorf("launcher: no title %q for %s", title, sc.ID)
		}
	}
	standalone := `href="` + e.ts.URL + "/launch?iss=" + url.QueryEscape(e.sb.Issuer()) + `"`
	if !strings.Contains(page, standalone) {
		t.Errorf("launcher: no standalone link %s", standalone)
	}
	if !strings.Contains(page, "sim=fhir_401") {
		t.Errorf("launcher: no fhir_401 simulation link")
	}
	if strings.Contains(page, "<script") {
		t.Errorf("launcher: has a script")
	}
	if css := get(t, e.ts.URL+"/sandbox/launcher.css", ""); css.status != 200 || !strings.HasPrefix(css.header.Get("Content-Type"), "text/css") {
		t.Errorf("launcher.css: got %d %q; want 200 text/css", css.status, css.header.Get("Content-Type"))
	}
	if r := get(t, e.ts.URL+"/elsewhere", ""); r.status != 404 {
		t.Errorf("GET /elsewhere: got %d; want 404", r.status)
	}
}

func TestLaunchRedirectsToTheApp(t *testing.T) {
	e := start(t, Config{AppLaunchURL: "https://app.example/launch?tenant=t1"})
	tests := []struct {
		name, query string
		status      int
	}{
		{"known patient", "patient=mbc-01", 302},
		{"with banner and simulation", "patient=mbc-01&banner=1&sim=fhir_401", 302},
		{"unknown patient", "patient=nobody", 404},
		{"no patient", "", 404},
		{"unknown simulation", "patient=mbc-01&sim=meteor", 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := get(t, e.ts.URL+"/sandbox/launch?"+tt.query, "")
			if r.status != tt.status {
				t.Fatalf("GET /sandbox/launch?%s: got %d; want %d", tt.query, r.status, tt.status)
			}
			if r.status != 302 {
				return
			}
			loc, err := url.Parse(r.header.Get("Location"))
			if err != nil {
				t.Fatal(err)
			}
			q := loc.Query()
			if loc.Scheme+"://"+loc.Host+loc.Path != "https://app.example/launch" || q.Get("tenant") != "t1" {
				t.Errorf("Location: got %s; want the app's launch URL with its query kept", loc)
			}
			if q.Get("iss") != e.sb.Issuer() || q.Get("launch") == "" {
				t.Errorf("Location query: got iss %q launch %q; want iss %q and a launch code", q.Get("iss"), q.Get("launch"), e.sb.Issuer())
			}
		})
	}
}

func TestDiscovery(t *testing.T) {
	e := start(t, Config{CarePlanReadOnly: true})
	if e.sb.Issuer() != e.ts.URL+"/sandbox/fhir" {
		t.Errorf("Issuer: got %q; want %q", e.sb.Issuer(), e.ts.URL+"/sandbox/fhir")
	}
	r := get(t, e.sb.Issuer()+"/metadata", "")
	var cs struct {
		FHIRVersion string `json:"fhirVersion"`
		Rest        []struct {
			Security struct {
				Extension []struct {
					Extension []struct {
						URL      string `json:"url"`
						ValueURI string `json:"valueUri"`
					} `json:"extension"`
				} `json:"extension"`
			} `json:"security"`
			Resource []struct {
				Type        string `json:"type"`
				Interaction []struct {
					Code string `json:"code"`
				} `json:"interaction"`
			} `json:"resource"`
		} `json:"rest"`
	}
	if err := json.Unmarshal(r.body, &cs); err != nil || r.status != 200 {
		t.Fatalf("metadata: got %d, %v; want 200 JSON", r.status, err)
	}
	if cs.FHIRVersion != "4.0.1" || len(cs.Rest) != 1 || len(cs.Rest[0].Security.Extension) != 1 {
		t.Fatalf("metadata: got %+v; want 4.0.1 with oauth-uris", cs)
	}
	uris := map[string]string{}
	for _, x := range cs.Rest[0].Security.Extension[0].Extension {
		uris[x.URL] = x.ValueURI
	}
	if uris["authorize"] != e.ts.URL+"/sandbox/auth/authorize" || uris["token"] != e.ts.URL+"/sandbox/auth/token" {
		t.Errorf("oauth-uris: got %v", uris)
	}
	for _, res := range cs.Rest[0].Resource {
		if res.Type != "CarePlan" {
			continue
		}
		for _, i := range res.Interaction {
			if i.Code == "create" || i.Code == "update" {
				t.Errorf("CarePlan read-only: got interaction %s", i.Code)
			}
		}
	}

	conf := smartConfig(t, e)
	if conf.AuthorizationEndpoint != e.ts.URL+"/sandbox/auth/authorize" || conf.TokenEndpoint != e.ts.URL+"/sandbox/auth/token" {
		t.Errorf("smart-configuration: got %+v", conf)
	}
}

type smartConfiguration struct {
	AuthorizationEndpoint string `json:"authorization_endpoint"`
	TokenEndpoint         string `json:"token_endpoint"`
}

func smartConfig(t *testing.T, e env) smartConfiguration {
	t.Helper()
	r := get(t, e.sb.Issuer()+"/.well-known/smart-configuration", "")
	var c smartConfiguration
	if err := json.Unmarshal(r.body, &c); err != nil || r.status != 200 {
		t.Fatalf("smart-configuration: got %d, %v; want 200 JSON", r.status, err)
	}
	return c
}

type tokenReply struct {
	AccessToken string `json:"access_token"`
	Patient     string `json:"patient"`
	Encounter   string `json:"encounter"`
	Scope       string `json:"scope"`
}

// launchAndToken runs an EHR launch for patient with the app's side done
// by hand: launch link, authorize with PKCE, token.
func launchAndToken(t *testing.T, e env, launchQuery, scope string) tokenReply {
	t.Helper()
	r := get(t, e.ts.URL+"/sandbox/launch?"+launchQuery, "")
	if r.status != 302 {
		t.Fatalf("launch: got %d; want 302", r.status)
	}
	loc, err := url.Parse(r.header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	iss, launch := loc.Query().Get("iss"), loc.Query().Get("launch")
	conf := smartConfig(t, e)

	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		t.Fatal(err)
	}
	verifier := base64.RawURLEncoding.EncodeToString(raw[:])
	sum := sha256.Sum256([]byte(verifier))
	redirect := e.ts.URL + "/callback"
	q := url.Values{
		"response_type":         {"code"},
		"client_id":             {DefaultClientID},
		"redirect_uri":          {redirect},
		"scope":                 {scope},
		"state":                 {"state-1"},
		"aud":                   {iss},
		"launch":                {launch},
		"code_challenge":        {base64.RawURLEncoding.EncodeToString(sum[:])},
		"code_challenge_method": {"S256"},
	}
	r = get(t, conf.AuthorizationEndpoint+"?"+q.Encode(), "")
	if r.status != 302 {
		t.Fatalf("authorize: got %d (%s); want 302", r.status, r.body)
	}
	back, err := url.Parse(r.header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(back.String(), redirect+"?") || back.Query().Get("state") != "state-1" || back.Query().Get("code") == "" {
		t.Fatalf("authorize redirect: got error %q; want the callback with state and code", back.Query().Get("error"))
	}
	form := url.Values{
		"grant_type":    {"authorization_code"},
		"code":          {back.Query().Get("code")},
		"redirect_uri":  {redirect},
		"code_verifier": {verifier},
		"client_id":     {DefaultClientID},
	}
	req, err := http.NewRequestWithContext(t.Context(), "POST", conf.TokenEndpoint, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r = send(t, req)
	var tok tokenReply
	if err := json.Unmarshal(r.body, &tok); err != nil || r.status != 200 || tok.AccessToken == "" {
		t.Fatalf("token: got %d, %v; want 200 with an access token", r.status, err)
	}
	return tok
}

const ehrScope = "launch openid fhirUser patient/*.rs patient/CarePlan.cu"

func TestTokenReadsItsPatientOnly(t *testing.T) {
	e := start(t, Config{})
	tok := launchAndToken(t, e, "patient=mbc-01", ehrScope)
	if tok.Patient != "mbc-01" {
		t.Errorf("token patient: got %q; want mbc-01", tok.Patient)
	}
	iss := e.sb.Issuer()
	tests := []struct {
		name, path string
		status     int
	}{
		{"own Patient", "/Patient/mbc-01", 200},
		{"own encounter", "/Encounter/" + tok.Encounter, 200},
		{"the signed-in practitioner", "/" + Practitioner, 200},
		{"own observations", "/Observation?patient=mbc-01", 200},
		{"another Patient", "/Patient/mbc-02", 403},
		{"another patient's observations", "/Observation?patient=mbc-02", 403},
		{"another patient's conditions by subject", "/Condition?subject=Patient/mbc-02", 403},
	}
	for _, tt := range tests {
		r := get(t, iss+tt.path, tok.AccessToken)
		if r.status != tt.status {
			t.Errorf("%s: GET %s got %d; want %d", tt.name, tt.path, r.status, tt.status)
		}
	}
	if r := get(t, iss+"/Patient/mbc-01", ""); r.status != 401 {
		t.Errorf("no token: got %d; want 401", r.status)
	}

	plan := `{"resourceType":"CarePlan","status":"draft","intent":"proposal","subject":{"reference":"Patient/mbc-01"}}`
	req, err := http.NewRequestWithContext(t.Context(), "POST", iss+"/CarePlan", strings.NewReader(plan))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	req.Header.Set("Content-Type", fhirtest.ContentType)
	if r := send(t, req); r.status != 201 {
		t.Errorf("create CarePlan: got %d; want 201", r.status)
	}
	if got := len(e.sb.Store().Resources("CarePlan")); got != 1 {
		t.Errorf("stored CarePlans: got %d; want 1", got)
	}

	e.clock.advance(2 * time.Hour)
	r := get(t, iss+"/Patient/mbc-01", tok.AccessToken)
	if r.status != 401 || !strings.Contains(r.header.Get("WWW-Authenticate"), `error="invalid_token"`) {
		t.Errorf("expired token: got %d %q; want 401 invalid_token", r.status, r.header.Get("WWW-Authenticate"))
	}
}

func TestSimulatedFHIR401(t *testing.T) {
	e := start(t, Config{})
	tok := launchAndToken(t, e, "patient=mbc-01&sim=fhir_401", ehrScope)
	r := get(t, e.sb.Issuer()+"/Patient/mbc-01", tok.AccessToken)
	if r.status != 401 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/plain") {
		t.Errorf("fhir_401: got %d %q; want 401 text/plain", r.status, r.header.Get("Content-Type"))
	}
}

func TestSimulatedFHIR503(t *testing.T) {
	e := start(t, Config{})
	tok := launchAndToken(t, e, "patient=mbc-01&sim=fhir_503", ehrScope)
	for _, path := range []string{"/Patient/mbc-01", "/Observation?patient=mbc-01"} {
		r := get(t, e.sb.Issuer()+path, tok.AccessToken)
		if r.status != http.StatusServiceUnavailable {
			t.Errorf("fhir_503: GET %s got %d; want 503", path, r.status)
		}
	}
	// Another launch's token is not affected.
	ok := launchAndToken(t, e, "patient=mbc-01", ehrScope)
	if r := get(t, e.sb.Issuer()+"/Patient/mbc-01", ok.AccessToken); r.status != http.StatusOK {
		t.Errorf("a launch without the simulation: got %d; want 200", r.status)
	}
}

func TestCarePlanReadOnly(t *testing.T) {
	e := start(t, Config{CarePlanReadOnly: true})
	tok := launchAndToken(t, e, "patient=mbc-01", ehrScope)
	plan := `{"resourceType":"CarePlan","status":"draft","intent":"proposal","subject":{"reference":"Patient/mbc-01"}}`
	req, err := http.NewRequestWithContext(t.Context(), "POST", e.sb.Issuer()+"/CarePlan", strings.NewReader(plan))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	if r := send(t, req); r.status != 405 {
		t.Errorf("create CarePlan on a read-only sandbox: got %d; want 405", r.status)
	}
}

func TestNewRefusesBadData(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"malformed bundle", map[string]string{"01-ok.json": okBundle, "02-broken.json": `{"resourceType":"Bundle","entry":[`}, "02-broken.json"},
		{"not a bundle", map[string]string{"03-patient.json": `{"resourceType":"Patient","id":"x"}`}, "03-patient.json"},
		{"no patients", map[string]string{"04-empty.json": `{"resourceType":"Bundle","type":"collection"}`}, "no Patient"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, body := range tt.files {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			_, err := New(Config{PublicURL: "http://127.0.0.1:8080", DataDir: dir})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New: got %v; want an error naming %q", err, tt.want)
			}
		})
	}
	for _, pub := range []string{"", "127.0.0.1:8080", "http://127.0.0.1:8080/app", "ftp://x"} {
		if _, err := New(Config{PublicURL: pub, DataDir: libraryDir(t)}); err == nil {
			t.Errorf("New with PublicURL %q: got nil error; want one", pub)
		}
	}
}

const okBundle = `{"resourceType":"Bundle","type":"collection","entry":[
 {"fullUrl":"urn:uuid:6f1d0c4e-1111-4222-8333-444455556666",
  "resource":{"resourceType":"Patient","id":"tmp-1","name":[{"text":"Temp Patient"}]}}]}`

func TestTitlesFromFileNamesWithoutExpectations(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "09-her2-low_case.json"), []byte(okBundle), 0o600); err != nil {
		t.Fatal(err)
	}
	e := start(t, Config{DataDir: dir})
	page := string(get(t, e.ts.URL+"/", "").body)
	for _, want := range []string{"Temp Patient", "09 her2 low case", `href="/sandbox/launch?patient=tmp-1"`} {
		if !strings.Contains(page, want) {
			t.Errorf("launcher: missing %q", want)
		}
	}
}

func TestLogsCountsNotIdentifiers(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"01-first.json", "02-again.json"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(okBundle), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	var buf strings.Builder
	_, err := New(Config{PublicURL: "http://127.0.0.1:8080", DataDir: dir, Logger: slog.New(slog.NewJSONHandler(&buf, nil))})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	logs := buf.String()
	if !strings.Contains(logs, "02-again.json") {
		t.Errorf("logs %s: want a warning naming the bundle that replaces resources", logs)
	}
	for _, phi := range []string{"tmp-1", "Temp Patient"} {
		if strings.Contains(logs, phi) {
			t.Errorf("logs %s: hold %q", logs, phi)
		}
	}
}
