package smart

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

const testRedirect = "https://app.example/callback"

// testKeys returns a KeySet with one EC P-384 key and its PEM.
func testKeys(t *testing.T) (*KeySet, []byte) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	p := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	ks, err := ParseKeySet(p)
	if err != nil {
		t.Fatal(err)
	}
	return ks, p
}

type clientOpts struct {
	keys   *KeySet
	logger *slog.Logger
}

func newTestClient(t *testing.T, clock *fakeClock, f *fakeEHR, o clientOpts, ehrs ...EHR) *Client {
	t.Helper()
	c, err := New(Config{
		EHRs:        ehrs,
		RedirectURI: testRedirect,
		HTTPClient:  f.srv.Client(),
		Keys:        o.keys,
		Now:         clock.Now,
		Logger:      o.logger,
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

// follow sends the browser to the authorize endpoint and returns the callback query.
func follow(t *testing.T, f *fakeEHR, a *Authorization) url.Values {
	t.Helper()
	hc := *f.srv.Client()
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	var resp *http.Response
	var err error
	if a.Form != nil {
		if a.URL != "" {
			t.Errorf("got both URL and Form; want one")
		}
		resp, err = hc.PostForm(a.Form.Action, a.Form.Fields)
	} else {
		resp, err = hc.Get(a.URL)
	}
	if err != nil {
		t.Fatalf("authorize request: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("authorize: got status %d; want 302", resp.StatusCode)
	}
	u, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	if got := u.Scheme + "://" + u.Host + u.Path; got != testRedirect {
		t.Fatalf("redirected to %q; want %q", got, testRedirect)
	}
	return u.Query()
}

func runLaunch(t *testing.T, c *Client, f *fakeEHR, iss, launch string) (*Launch, error) {
	t.Helper()
	a, err := c.Begin(t.Context(), iss, launch)
	if err != nil {
		return nil, err
	}
	return c.Complete(t.Context(), follow(t, f, a))
}

func getPatient(t *testing.T, hc *http.Client, f *fakeEHR) (*http.Response, error) {
	t.Helper()
	resp, err := hc.Get(f.iss() + "/Patient/p1")
	if err == nil {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	return resp, err
}

func TestEpicLaunchWithPrivateKeyJWTAndAuthorizePOST(t *testing.T) {
	clock := newClock()
	f := newFakeEHR(t, epic, clock)
	ks, _ := testKeys(t)
	f.clientJWKS = ks.PublicJWKS()
	c := newTestClient(t, clock, f, clientOpts{keys: ks}, EHR{
		Name: "epic", Issuers: []string{f.iss()}, ClientID: f.clientID, UsePrivateKeyJWT: true,
		Scopes: []string{"Patient.rs", "Observation.rs", "CarePlan.cu"}, AuthorizePOST: true,
	})
	a, err := c.Begin(t.Context(), f.iss(), f.newLaunch("pt-epic"))
	if err != nil {
		t.Fatalf("Begin: %v", err)
	}
	if a.Form == nil || a.URL != "" {
		t.Fatalf("got URL %q, Form %v; want a POST form (authorize-post advertised and configured)", a.URL, a.Form)
	}
	if got, want := a.Form.Action, f.srv.URL+"/auth/authorize"; got != want {
		t.Errorf("form action: got %q; want %q", got, want)
	}
	l, err := c.Complete(t.Context(), follow(t, f, a))
	if err != nil {
		t.Fatalf("Complete: %v", err)
	}
	p, method := f.lastAuthorize()
	if method != http.MethodPost {
		t.Errorf("authorize method: got %s; want POST", method)
	}
	wantScope := "launch openid fhirUser online_access patient/Patient.rs patient/Observation.rs patient/CarePlan.cu"
	if got := p.Get("scope"); got != wantScope {
		t.Errorf("scope: got %q; want %q", got, wantScope)
	}
	if l.PatientID != "pt-epic" || l.EncounterID != "enc-1" {
		t.Errorf("context: got patient %q encounter %q; want pt-epic enc-1", l.PatientID, l.EncounterID)
	}
	if l.NeedPatientBanner {
		t.Errorf("NeedPatientBanner: got true; want false (Epic sends the string \"false\")")
	}
	if l.FHIRUser != "Practitioner/prac-epic" || l.FHIRUserURL != f.iss()+"/Practitioner/prac-epic" {
		t.Errorf("user: got %q %q; want Practitioner/prac-epic and its absolute URL", l.FHIRUser, l.FHIRUserURL)
	}
	if len(l.FHIRContext) != 1 || l.FHIRContext[0].Reference != "DiagnosticReport/dr1" {
		t.Errorf("fhirContext: got %+v; want DiagnosticReport/dr1", l.FHIRContext)
	}
	if l.Tenant != "tenant-1" || l.SmartStyleURL != f.srv.URL+"/style.json" {
		t.Errorf("got tenant %q style %q", l.Tenant, l.SmartStyleURL)
	}
	if !l.CanWrite("CarePlan") || l.CanWrite("Observation") || !l.Allows("Observation", 's') {
		t.Errorf("CanWrite(CarePlan)=%v CanWrite(Observation)=%v Allows(Observation,s)=%v; want true false true",
			l.CanWrite("CarePlan"), l.CanWrite("Observation"), l.Allows("Observation", 's'))
	}
	if len(l.Warnings) != 0 {
		t.Errorf("warnings: got %q; want none", l.Warnings)
	}
	tr := f.tokenRequests()[0]
	if tr.Get("client_assertion") == "" || tr.Get("client_secret") != "" {
		t.Errorf("token request: want a client assertion and no secret")
	}
	resp, err := getPatient(t, l.HTTPClient(f.srv.Client()), f)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("FHIR read: got %v %v; want 200", resp, err)
	}
}

func TestOracleLaunchMetadataDiscoveryV1ScopesAndRefresh(t *testing.T) {
	clock := newClock()
	f := newFakeEHR(t, oracle, clock)
	f.secret = "s3cret-oracle"
	c := newTestClient(t, clock, f, clientOpts{}, EHR{
		Name: "oracle", Issuers: []string{f.iss()}, ClientID: f.clientID, ClientSecret: Secret(f.secret),
		Scopes: []string{"Patient.r", "Observation.rs", "CarePlan.cu"}, OfflineAccess: true,
	})
	l, err := runLaunch(t, c, f, f.iss(), f.newLaunch("pt-oracle"))
	if err != nil {
		t.Fatalf("launch: %v", err)
	}
	p, method := f.lastAuthorize()
	wantScope := "launch openid fhirUser offline_access patient/Patient.read patient/Observation.read patient/CarePlan.write"
	if got := p.Get("scope"); got != wantScope || method != http.MethodGet {
		t.Errorf("authorize: got %s scope %q; want GET %q", method, got, wantScope)
	}
	if got, want := l.Expiry, clock.Now().Add(570*time.Second); !got.Equal(want) {
		t.Errorf("Expiry: got %v; want %v", got, want)
	}
	if !l.NeedPatientBanner {
		t.Errorf("NeedPatientBanner: got false; want true when absent")
	}
	hc := l.HTTPClient(f.srv.Client())
	for i := 0; i < 3; i++ {
		clock.Advance(520 * time.Second) // inside the 60-second margin of a 570-second token
		resp, err := getPatient(t, hc, f)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("read %d after %v: got %v %v; want 200", i, 520*time.Second, resp, err)
		}
	}
	reqs := f.tokenRequests()
	var rts []string
	for _, r := range reqs {
		if r.Get("grant_type") == "refresh_token" {
			rts = append(rts, r.Get("refresh_token"))
		}
	}
	if len(rts) != 3 {
		t.Fatalf("refreshes: got %d; want 3", len(rts))
	}
	if rts[0] == "" || rts[1] != rts[0] || rts[2] != rts[0] {
		t.Errorf("refresh tokens sent: got %q; want the first one kept (Oracle sends none on refresh)", rts)
	}
}

func TestMetadataFallbackSendsFHIRJSONAccept(t *testing.T) {
	clock := newClock()
	f := newFakeEHR(t, epic, clock)
	f.noWellKnown = true // metadata answers XML unless asked for JSON
	c := newTestClient(t, clock, f, clientOpts{}, EHR{Name: "epic", Issuers: []string{f.iss()}, ClientID: f.clientID,
		Scopes: []string{"Patient.rs"}})
	cfg, err := c.Discover(t.Context(), f.iss())
	if err != nil {
		t.Fatalf("Discover: %v", err)
	}
	if !cfg.FromMetadata || cfg.TokenEndpoint != f.tokenURL() || cfg.Supports("permission-v2") {
		t.Errorf("got %+v; want token endpoint from oauth-uris and no capabilities", cfg)
	}
}

func TestDiscoveryFailureSaysWhat(t *testing.T) {
	clock := newClock()
	f := newFakeEHR(t, oracle, clock)
	c := newTestClient(t, clock, f, clientOpts{}, EHR{Name: "x", Issuers: []string{f.srv.URL + "/nothing"}, ClientID: "c",
		Scopes: []string{"Patient.rs"}})
	_, err := c.Begin(t.Context(), f.srv.URL+"/nothing", "l")
	if !errors.Is(err, ErrDiscovery) {
		t.Fatalf("got %v; want ErrDiscovery", err)
	}
	for _, want := range []string{"smart-configuration: HTTP 404", "metadata: HTTP 404"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

func TestDiscoveryIsCachedWithTTL(t *testing.T) {
	clock := newClock()
	f := newFakeEHR(t, launcher, clock)
	var n int
	var mu sync.Mutex
	inner := f.srv.Config.Handler
	f.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "smart-configuration") {
			mu.Lock()
			n++
			mu.Unlock()
		}
		inner.ServeHTTP(w, r)
	})
	c := newTestClient(t, clock, f, clientOpts{}, EHR{Name: "l", Issuers: []string{f.iss()}, ClientID: f.clientID, Scopes: []string{"Patient.rs"}})
	for _, step := range []time.Duration{0, 30 * time.Minute, 31 * time.Minute} {
		clock.Advance(step)
		if _, err := c.Discover(t.Context(), f.iss()); err != nil {
			t.Fatal(err)
		}
	}
	if n != 2 {
		t.Errorf("fetches: got %d; want 2 (cached for an hour)", n)
	}
}

func TestLauncherLaunchRefreshAnd401Retry(t *testing.T) {
	clock := newClock()
	f := newFakeEHR(t, launcher, clock)
	c := newTestClient(t, clock, f, clientOpts{}, EHR{Name: "launcher", Issuers: []string{f.iss()}, ClientID: f.clientID,
		Scopes: []string{"Patient.rs", "Observation.rs"}})
	l, err := runLaunch(t, c, f, f.iss(), f.newLaunch("pt-l"))
	if err != nil {
		t.Fatalf("launch: %v", err)
	}
	p, _ := f.lastAuthorize()
	if p.Get("aud") != f.iss() || p.Get("launch") == "" || p.Get("redirect_uri") != testRedirect {
		t.Errorf("authorize params: got aud %q redirect %q", p.Get("aud"), p.Get("redirect_uri"))
	}
	if len(p.Get("state")) < 22 { // 128 bits in base64url
		t.Errorf("state: got %d characters; want at least 128 bits", len(p.Get("state")))
	}
	if l.FHIRUser != "Practitioner/prac-launcher" || l.FHIRUserURL != f.iss()+"/Practitioner/prac-launcher" {
		t.Errorf("user: got %q %q", l.FHIRUser, l.FHIRUserURL)
	}
	if !l.NeedPatientBanner {
		t.Errorf("NeedPatientBanner: got false; want true")
	}
	hc := l.HTTPClient(f.srv.Client())

	// One 401 (plain text): renew once and retry, the refreshed id_token has no aud.
	f.mu.Lock()
	f.reject401 = 1
	f.mu.Unlock()
	resp, err := getPatient(t, hc, f)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("after one 401: got %v %v; want 200 after a retry", resp, err)
	}
	if f.refreshes != 1 {
		t.Errorf("refreshes: got %d; want 1", f.refreshes)
	}

	// A POST with a replayable body is retried with the same body.
	f.mu.Lock()
	f.reject401 = 1
	f.mu.Unlock()
	resp, err = hc.Post(f.iss()+"/Observation", "application/fhir+json", strings.NewReader(`{"resourceType":"Observation"}`))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("POST after 401: got %v %v; want 200", resp, err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("X-Body"); got != `{"resourceType":"Observation"}` {
		t.Errorf("replayed body: got %q", got)
	}

	// Two 401s in a row: ErrReauthorize.
	f.mu.Lock()
	f.reject401 = 2
	f.mu.Unlock()
	_, err = getPatient(t, hc, f)
	if !errors.Is(err, ErrReauthorize) {
		t.Fatalf("after two 401s: got %v; want ErrReauthorize", err)
	}
}

func TestExpiredRefreshTokenAsksForRelaunch(t *testing.T) {
	clock := newClock()
	f := newFakeEHR(t, launcher, clock)
	c := newTestClient(t, clock, f, clientOpts{}, EHR{Name: "launcher", Issuers: []string{f.iss()}, ClientID: f.clientID,
		Scopes: []string{"Patient.rs"}, OfflineAccess: true})
	l, err := runLaunch(t, c, f, f.iss(), f.newLaunch("pt"))
	if err != nil {
		t.Fatal(err)
	}
	f.simulate = "token_expired_refresh_token"
	clock.Advance(2 * time.Hour)
	_, err = getPatient(t, l.HTTPClient(nil), f)
	if !errors.Is(err, ErrReauthorize) {
		t.Fatalf("got %v; want ErrReauthorize", err)
	}
	var ae *AuthError
	if !errors.As(err, &ae) || ae.Stage != StageRefresh || ae.Code != "invalid_grant" || ae.Status != 403 {
		t.Fatalf("got %#v; want *AuthError refresh invalid_grant 403", ae)
	}
	// The launch stays dead: no second refresh request.
	n := len(f.tokenRequests())
	if _, err := l.TokenSource().Token(); !errors.Is(err, ErrReauthorize) {
		t.Errorf("TokenSource after failure: got %v; want ErrReauthorize", err)
	}
	if got := len(f.tokenRequests()); got != n {
		t.Errorf("token requests: got %d more; want none", got-n)
	}
}

func TestAudIsIssExactlyAsReceived(t *testing.T) {
	clock := newClock()
	f := newFakeEHR(t, launcher, clock)
	c := newTestClient(t, clock, f, clientOpts{}, EHR{Name: "launcher", Issuers: []string{f.iss()}, ClientID: f.clientID,
		Scopes: []string{"Patient.rs"}})
	a, err := c.Begin(t.Context(), f.iss()+"/", "l")
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(a.URL)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := u.Query().Get("aud"), f.iss()+"/"; got != want {
		t.Errorf("aud: got %q; want %q (verbatim)", got, want)
	}
	// The launcher refuses it, and the callback says what to check.
	_, err = c.Complete(t.Context(), follow(t, f, a))
	var ae *AuthError
	if !errors.As(err, &ae) || !strings.Contains(ae.Hint, "issuer") {
		t.Errorf("got %v; want an *AuthError whose hint names the issuer", err)
	}
}

func TestAuthorizationServerErrorsHaveSpecificHints(t *testing.T) {
	tests := []struct {
		simulate   string
		confidence string // client setup: "public", "secret" or "jwt"
		wantStage  string
		wantCode   string
		wantStatus int
		wantHint   string
	}{
		{"auth_invalid_client_id", "public", StageAuthorize, "invalid_client", 0, "client ID"},
		{"auth_invalid_redirect_uri", "public", StageAuthorize, "invalid_request", 0, "redirect URI"},
		{"auth_invalid_scope", "public", StageAuthorize, "invalid_scope", 0, "scopes"},
		{"auth_invalid_client_secret", "secret", StageToken, "invalid_client", 401, "client secret"},
		{"token_invalid_token", "secret", StageToken, "invalid_client", 401, "client authentication"},
		{"token_invalid_jti", "jwt", StageToken, "invalid_client", 401, "jti"},
		{"token_expired_registration_token", "jwt", StageToken, "invalid_client", 401, "registration"},
	}
	for _, tt := range tests {
		t.Run(tt.simulate, func(t *testing.T) {
			clock := newClock()
			f := newFakeEHR(t, launcher, clock)
			e := EHR{Name: "launcher", Issuers: []string{f.iss()}, ClientID: f.clientID, Scopes: []string{"Patient.rs"}}
			var o clientOpts
			switch tt.confidence {
			case "secret":
				f.secret = "pw"
				e.ClientSecret = "pw"
			case "jwt":
				ks, _ := testKeys(t)
				f.clientJWKS = ks.PublicJWKS()
				o.keys = ks
				e.UsePrivateKeyJWT = true
			}
			c := newTestClient(t, clock, f, o, e)
			f.simulate = tt.simulate
			_, err := runLaunch(t, c, f, f.iss(), f.newLaunch("pt"))
			var ae *AuthError
			if !errors.As(err, &ae) {
				t.Fatalf("got %v; want *AuthError", err)
			}
			if ae.Stage != tt.wantStage || ae.Code != tt.wantCode || ae.Status != tt.wantStatus || ae.EHR != "launcher" {
				t.Errorf("got stage %q code %q status %d ehr %q; want %q %q %d launcher", ae.Stage, ae.Code, ae.Status, ae.EHR,
					tt.wantStage, tt.wantCode, tt.wantStatus)
			}
			if !strings.Contains(ae.Hint, tt.wantHint) {
				t.Errorf("hint %q; want it to mention %q", ae.Hint, tt.wantHint)
			}
			if strings.Contains(ae.Error(), ae.Description) {
				t.Errorf("Error() %q holds the server's description", ae.Error())
			}
		})
	}
}

func TestHintReadsTheJSONErrorNotTheStatus(t *testing.T) {
	tests := []struct {
		name, stage, code, desc string
		status                  int
		want                    string
	}{
		{"launcher invalid_grant with 401 on code", StageToken, "invalid_grant", "Invalid grant or Invalid PKCE Verifier", 401, "PKCE"},
		{"launcher invalid_grant with 401 on refresh", StageRefresh, "invalid_grant", "Invalid refresh token", 401, "refresh token"},
		{"expired refresh token 403", StageRefresh, "invalid_grant", "Expired refresh token", 403, "launch the app again"},
		{"basic auth required", StageToken, "invalid_request", "Basic authentication is required for confidential clients", 401, "HTTP Basic"},
		{"no JSON at all", StageToken, "", "", 401, "client ID"},
		{"server error", StageToken, "", "", 502, "try again"},
		{"user declined", StageAuthorize, "access_denied", "", 0, "declined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := hint(tt.stage, tt.code, tt.desc, tt.status); !strings.Contains(got, tt.want) {
				t.Errorf("hint(%q, %q, %q, %d) = %q; want it to mention %q", tt.stage, tt.code, tt.desc, tt.status, got, tt.want)
			}
		})
	}
}

func TestStateIsSingleUseAndExpires(t *testing.T) {
	clock := newClock()
	f := newFakeEHR(t, launcher, clock)
	c := newTestClient(t, clock, f, clientOpts{}, EHR{Name: "launcher", Issuers: []string{f.iss()}, ClientID: f.clientID,
		Scopes: []string{"Patient.rs"}})

	a, err := c.Begin(t.Context(), f.iss(), f.newLaunch("pt"))
	if err != nil {
		t.Fatal(err)
	}
	cb := follow(t, f, a)
	if _, err := c.Complete(t.Context(), cb); err != nil {
		t.Fatalf("first use: %v", err)
	}
	if _, err := c.Complete(t.Context(), cb); !errors.Is(err, ErrStateMismatch) {
		t.Errorf("second use: got %v; want ErrStateMismatch", err)
	}
	forged := url.Values{"code": {"x"}, "state": {"not-ours"}}
	if _, err := c.Complete(t.Context(), forged); !errors.Is(err, ErrStateMismatch) {
		t.Errorf("unknown state: got %v; want ErrStateMismatch", err)
	}
	if _, err := c.Complete(t.Context(), url.Values{"code": {"x"}}); !errors.Is(err, ErrStateMismatch) {
		t.Errorf("no state: got %v; want ErrStateMismatch", err)
	}

	a, err = c.Begin(t.Context(), f.iss(), f.newLaunch("pt"))
	if err != nil {
		t.Fatal(err)
	}
	cb = follow(t, f, a)
	clock.Advance(10*time.Minute + time.Second)
	if _, err := c.Complete(t.Context(), cb); !errors.Is(err, ErrStateExpired) {
		t.Errorf("after 10 minutes: got %v; want ErrStateExpired", err)
	}
	if _, err := c.Complete(t.Context(), cb); !errors.Is(err, ErrStateMismatch) {
		t.Errorf("expired state reused: got %v; want ErrStateMismatch", err)
	}
}

func TestUnknownIssuerIsRefused(t *testing.T) {
	clock := newClock()
	f := newFakeEHR(t, launcher, clock)
	c := newTestClient(t, clock, f, clientOpts{}, EHR{Name: "launcher", Issuers: []string{f.iss()}, ClientID: f.clientID,
		Scopes: []string{"Patient.rs"}})
	for _, iss := range []string{"https://evil.example/fhir", f.iss() + "x", f.srv.URL, ""} {
		if _, err := c.Begin(t.Context(), iss, "l"); !errors.Is(err, ErrUnknownIssuer) {
			t.Errorf("Begin(%q): got %v; want ErrUnknownIssuer", iss, err)
		}
	}
}

func TestInterleavedLaunchesKeepSeparateState(t *testing.T) {
	clock := newClock()
	f := newFakeEHR(t, launcher, clock)
	c := newTestClient(t, clock, f, clientOpts{}, EHR{Name: "launcher", Issuers: []string{f.iss()}, ClientID: f.clientID,
		Scopes: []string{"Patient.rs"}})
	a1, err := c.Begin(t.Context(), f.iss(), f.newLaunch("patient-one"))
	if err != nil {
		t.Fatal(err)
	}
	a2, err := c.Begin(t.Context(), f.iss(), f.newLaunch("patient-two"))
	if err != nil {
		t.Fatal(err)
	}
	cb1, cb2 := follow(t, f, a1), follow(t, f, a2)
	l2, err := c.Complete(t.Context(), cb2)
	if err != nil {
		t.Fatal(err)
	}
	l1, err := c.Complete(t.Context(), cb1)
	if err != nil {
		t.Fatal(err)
	}
	if l1.PatientID != "patient-one" || l2.PatientID != "patient-two" {
		t.Errorf("got %q and %q; want patient-one and patient-two", l1.PatientID, l2.PatientID)
	}
	// Swapping a code onto the other launch's state fails PKCE.
	a3, _ := c.Begin(t.Context(), f.iss(), f.newLaunch("patient-three"))
	a4, _ := c.Begin(t.Context(), f.iss(), f.newLaunch("patient-four"))
	cb3, cb4 := follow(t, f, a3), follow(t, f, a4)
	cb3.Set("code", cb4.Get("code"))
	var ae *AuthError
	if _, err := c.Complete(t.Context(), cb3); !errors.As(err, &ae) || ae.Code != "invalid_grant" {
		t.Errorf("swapped code: got %v; want invalid_grant", err)
	}
}

func TestMissingWriteScopeWarns(t *testing.T) {
	clock := newClock()
	f := newFakeEHR(t, launcher, clock)
	f.grantWrite = false
	c := newTestClient(t, clock, f, clientOpts{}, EHR{Name: "launcher", Issuers: []string{f.iss()}, ClientID: f.clientID,
		Scopes: []string{"Patient.rs", "CarePlan.cu"}})
	l, err := runLaunch(t, c, f, f.iss(), f.newLaunch("pt"))
	if err != nil {
		t.Fatal(err)
	}
	if l.CanWrite("CarePlan") {
		t.Errorf("CanWrite(CarePlan): got true; want false")
	}
	want := "CarePlan: write access not granted (create, update)"
	if len(l.Warnings) != 1 || l.Warnings[0] != want {
		t.Errorf("warnings: got %q; want [%q]", l.Warnings, want)
	}
}

func TestConcurrentRequestsRefreshOnce(t *testing.T) {
	clock := newClock()
	f := newFakeEHR(t, launcher, clock)
	c := newTestClient(t, clock, f, clientOpts{}, EHR{Name: "launcher", Issuers: []string{f.iss()}, ClientID: f.clientID,
		Scopes: []string{"Patient.rs"}})
	l, err := runLaunch(t, c, f, f.iss(), f.newLaunch("pt"))
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(3590 * time.Second)
	hc := l.HTTPClient(f.srv.Client())
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := hc.Get(f.iss() + "/Patient/p1")
			if err != nil {
				errs <- err
				return
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				errs <- errors.New(resp.Status)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("request: %v", err)
	}
	if f.refreshes != 1 {
		t.Errorf("refreshes: got %d; want 1", f.refreshes)
	}
}

func TestTokenIsNotSentToOtherHosts(t *testing.T) {
	clock := newClock()
	f := newFakeEHR(t, launcher, clock)
	other := newFakeEHR(t, launcher, clock)
	c := newTestClient(t, clock, f, clientOpts{}, EHR{Name: "launcher", Issuers: []string{f.iss()}, ClientID: f.clientID,
		Scopes: []string{"Patient.rs"}})
	l, err := runLaunch(t, c, f, f.iss(), f.newLaunch("pt"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := getPatient(t, l.HTTPClient(f.srv.Client()), other); err != nil {
		t.Fatal(err)
	}
	if got := other.fhirAuthHeader; len(got) != 1 || got[0] != "" {
		t.Errorf("Authorization sent to another host: %q", got)
	}
}

func TestLogsHoldNoCodesStatesTokensOrSecrets(t *testing.T) {
	clock := newClock()
	f := newFakeEHR(t, oracle, clock)
	f.secret = "very-secret-value"
	var buf bytes.Buffer
	var mu sync.Mutex
	logger := slog.New(slog.NewJSONHandler(&lockedWriter{w: &buf, mu: &mu}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c := newTestClient(t, clock, f, clientOpts{logger: logger}, EHR{Name: "oracle", Issuers: []string{f.iss()},
		ClientID: f.clientID, ClientSecret: Secret(f.secret), Scopes: []string{"Patient.rs"}, OfflineAccess: true})
	launch := f.newLaunch("pt-secret-id")
	a, err := c.Begin(t.Context(), f.iss(), launch)
	if err != nil {
		t.Fatal(err)
	}
	cb := follow(t, f, a)
	l, err := c.Complete(t.Context(), cb)
	if err != nil {
		t.Fatal(err)
	}
	logger.Info("objects", "launch", l, "authorization", a, "secret", Secret(f.secret), "ehr", c.ehrs[0])
	clock.Advance(time.Hour)
	if _, err := getPatient(t, l.HTTPClient(f.srv.Client()), f); err != nil {
		t.Fatal(err)
	}
	// A failing callback logs too.
	if _, err := c.Complete(t.Context(), url.Values{"error": {"invalid_scope"}, "error_description": {"scope patient/X.rs rejected"}, "state": {"st"}}); err == nil {
		t.Fatal("want an error")
	}
	mu.Lock()
	out := buf.String()
	mu.Unlock()
	if !strings.Contains(out, "launch complete") || !strings.Contains(out, "token renewed") {
		t.Fatalf("log lacks the launch and the renewal:\n%s", out)
	}
	secrets := []string{f.secret, cb.Get("code"), cb.Get("state"), launch, "pt-secret-id", "patient/X.rs"}
	p, _ := f.lastAuthorize()
	secrets = append(secrets, p.Get("code_challenge"), p.Get("nonce"))
	for _, r := range f.tokenRequests() {
		secrets = append(secrets, r.Get("refresh_token"), r.Get("code_verifier"))
	}
	f.mu.Lock()
	for tok := range f.accessTokens {
		secrets = append(secrets, tok)
	}
	f.mu.Unlock()
	for _, s := range secrets {
		if s != "" && strings.Contains(out, s) {
			t.Errorf("log holds a secret value %q:\n%s", s, out)
		}
	}
}

type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func TestStandaloneLaunchAsksForPatientPicker(t *testing.T) {
	clock := newClock()
	f := newFakeEHR(t, launcher, clock)
	c := newTestClient(t, clock, f, clientOpts{}, EHR{Name: "launcher", Issuers: []string{f.iss()}, ClientID: f.clientID,
		Scopes: []string{"Patient.rs"}})
	l, err := runLaunch(t, c, f, f.iss(), "")
	if err != nil {
		t.Fatal(err)
	}
	p, _ := f.lastAuthorize()
	if _, ok := p["launch"]; ok || !strings.HasPrefix(p.Get("scope"), "launch/patient ") {
		t.Errorf("standalone authorize: got launch %q scope %q; want no launch and launch/patient", p.Get("launch"), p.Get("scope"))
	}
	if l.PatientID != "standalone-pt" {
		t.Errorf("patient: got %q", l.PatientID)
	}
}

func TestCanceledContext(t *testing.T) {
	clock := newClock()
	f := newFakeEHR(t, launcher, clock)
	c := newTestClient(t, clock, f, clientOpts{}, EHR{Name: "launcher", Issuers: []string{f.iss()}, ClientID: f.clientID,
		Scopes: []string{"Patient.rs"}})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := c.Begin(ctx, f.iss(), "l"); !errors.Is(err, ErrDiscovery) {
		t.Errorf("got %v; want ErrDiscovery", err)
	}
}
