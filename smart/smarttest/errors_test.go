package smarttest

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// pageStatus checks that resp is an HTML page (not a redirect) with status.
func pageStatus(t *testing.T, resp *http.Response, status int) {
	t.Helper()
	if resp.StatusCode != status {
		t.Errorf("status: got %d (Location %q); want %d", resp.StatusCode, resp.Header.Get("Location"), status)
	}
	if loc := resp.Header.Get("Location"); loc != "" {
		t.Errorf("Location: got %q; want no redirect", loc)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("Content-Type: got %q; want an HTML page", ct)
	}
}

func TestAuthorizeErrors(t *testing.T) {
	f := newFixture(t)
	_, challenge := pkce(t)
	launch := f.launch(LaunchContext{Patient: "p1"})
	tests := []struct {
		name string
		edit func(url.Values)
		// page is the status of a page answer; 0 means an error redirect with code.
		page int
		code string
	}{
		{"unknown client_id", func(v url.Values) { v.Set("client_id", "nobody") }, 400, ""},
		{"missing client_id", func(v url.Values) { v.Del("client_id") }, 400, ""},
		{"repeated client_id", func(v url.Values) { v.Add("client_id", "public-app") }, 400, ""},
		{"unregistered redirect_uri", func(v url.Values) { v.Set("redirect_uri", "http://evil.test/callback") }, 400, ""},
		{"redirect_uri with a trailing slash", func(v url.Values) { v.Set("redirect_uri", callback+"/") }, 400, ""},
		{"missing redirect_uri", func(v url.Values) { v.Del("redirect_uri") }, 400, ""},
		{"missing state", func(v url.Values) { v.Del("state") }, 0, "invalid_request"},
		{"aud with a trailing slash", func(v url.Values) { v.Set("aud", f.issuer+"/") }, 0, "invalid_request"},
		{"aud of another server", func(v url.Values) { v.Set("aud", "http://other.test/fhir") }, 0, "invalid_request"},
		{"missing aud", func(v url.Values) { v.Del("aud") }, 0, "invalid_request"},
		{"plain PKCE", func(v url.Values) { v.Set("code_challenge_method", "plain") }, 0, "invalid_request"},
		{"no PKCE", func(v url.Values) { v.Del("code_challenge_method"); v.Del("code_challenge") }, 0, "invalid_request"},
		{"challenge of the wrong length", func(v url.Values) { v.Set("code_challenge", "abc") }, 0, "invalid_request"},
		{"response_type token", func(v url.Values) { v.Set("response_type", "token") }, 0, "unsupported_response_type"},
		{"missing response_type", func(v url.Values) { v.Del("response_type") }, 0, "invalid_request"},
		{"missing scope", func(v url.Values) { v.Del("scope") }, 0, "invalid_scope"},
		{"only unsupported scopes", func(v url.Values) { v.Set("scope", "admin system/*.rs") }, 0, "invalid_scope"},
		{"tampered launch code", func(v url.Values) { v.Set("launch", launch[:len(launch)-1]+"x") }, 0, "invalid_request"},
		{"launch without the launch scope", func(v url.Values) { v.Set("scope", "patient/*.rs") }, 0, "invalid_scope"},
		{"repeated scope", func(v url.Values) { v.Add("scope", "openid") }, 0, "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.t = t
			params := f.authParams("public-app", launch, challenge, ehrScope)
			tt.edit(params)
			resp := f.authorize(params)
			if tt.page != 0 {
				pageStatus(t, resp, tt.page)
				return
			}
			q := f.redirected(resp)
			if q.Get("error") != tt.code || q.Get("error_description") == "" || q.Get("code") != "" {
				t.Errorf("redirect: got error %q (%s) code %q; want %q with a description and no code",
					q.Get("error"), q.Get("error_description"), q.Get("code"), tt.code)
			}
			if want := params.Get("state"); q.Get("state") != want && len(params["state"]) == 1 {
				t.Errorf("state: got %q; want %q", q.Get("state"), want)
			}
		})
	}
}

func TestAuthorizeExpiredLaunch(t *testing.T) {
	f := newFixture(t)
	_, challenge := pkce(t)
	launch := f.launch(LaunchContext{Patient: "p1"})
	f.clock.Advance(launchLifetime)
	q := f.redirected(f.authorize(f.authParams("public-app", launch, challenge, ehrScope)))
	if q.Get("error") != "invalid_request" {
		t.Errorf("expired launch: got error %q; want invalid_request", q.Get("error"))
	}
}

func TestAuthorizeBadRequests(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name        string
		method      string
		contentType string
		body        string
		want        int
	}{
		{"PUT", http.MethodPut, "", "", http.StatusMethodNotAllowed},
		{"POST JSON", http.MethodPost, "application/json", `{"client_id":"public-app"}`, http.StatusBadRequest},
		{"POST malformed form", http.MethodPost, "application/x-www-form-urlencoded", "client_id=%zz", http.StatusBadRequest},
		{"POST too large", http.MethodPost, "application/x-www-form-urlencoded", "x=" + strings.Repeat("a", maxFormBytes), http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), tt.method, f.base+"/authorize", strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if tt.contentType != "" {
				req.Header.Set("Content-Type", tt.contentType)
			}
			resp, err := f.http.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			pageStatus(t, resp, tt.want)
		})
	}
}

func TestTokenErrors(t *testing.T) {
	f := newFixture(t)
	// fresh returns a new code for client and its verifier.
	fresh := func(t *testing.T, client string) (string, string) {
		f.t = t
		verifier, challenge := pkce(t)
		return f.code(f.authParams(client, f.launch(LaunchContext{Patient: "p1"}), challenge, ehrScope)), verifier
	}
	public := func(form url.Values) url.Values { form.Set("client_id", "public-app"); return form }
	otherVerifier, _ := pkce(t)

	tests := []struct {
		name   string
		client string
		// request builds the token request from a fresh code and verifier.
		request func(code, verifier string) (url.Values, []string)
		status  int
		code    string
	}{
		{"wrong PKCE verifier", "public-app", func(c, v string) (url.Values, []string) {
			return public(codeForm(c, otherVerifier)), nil
		}, 401, "invalid_grant"},
		{"missing PKCE verifier", "public-app", func(c, v string) (url.Values, []string) {
			form := public(codeForm(c, v))
			form.Del("code_verifier")
			return form, nil
		}, 400, "invalid_request"},
		{"malformed PKCE verifier", "public-app", func(c, v string) (url.Values, []string) {
			return public(codeForm(c, "short")), nil
		}, 400, "invalid_request"},
		{"redirect_uri differs", "public-app", func(c, v string) (url.Values, []string) {
			form := public(codeForm(c, v))
			form.Set("redirect_uri", otherBack)
			return form, nil
		}, 401, "invalid_grant"},
		{"missing redirect_uri", "public-app", func(c, v string) (url.Values, []string) {
			form := public(codeForm(c, v))
			form.Del("redirect_uri")
			return form, nil
		}, 400, "invalid_request"},
		{"unknown code", "public-app", func(c, v string) (url.Values, []string) {
			return public(codeForm("forged", v)), nil
		}, 401, "invalid_grant"},
		{"missing code", "public-app", func(c, v string) (url.Values, []string) {
			return public(codeForm("", v)), nil
		}, 400, "invalid_request"},
		{"code of another client", "secret-app", func(c, v string) (url.Values, []string) {
			return public(codeForm(c, v)), nil
		}, 401, "invalid_grant"},
		{"unknown client_id", "public-app", func(c, v string) (url.Values, []string) {
			form := codeForm(c, v)
			form.Set("client_id", "nobody")
			return form, nil
		}, 401, "invalid_client"},
		{"no client authentication", "public-app", func(c, v string) (url.Values, []string) {
			return codeForm(c, v), nil
		}, 400, "invalid_request"},
		{"confidential client without its secret", "secret-app", func(c, v string) (url.Values, []string) {
			form := codeForm(c, v)
			form.Set("client_id", "secret-app")
			return form, nil
		}, 401, "invalid_client"},
		{"wrong client secret", "secret-app", func(c, v string) (url.Values, []string) {
			return codeForm(c, v), []string{"secret-app", "guess"}
		}, 401, "invalid_client"},
		{"client secret in the body", "secret-app", func(c, v string) (url.Values, []string) {
			form := codeForm(c, v)
			form.Set("client_id", "secret-app")
			form.Set("client_secret", clientSecret)
			return form, nil
		}, 401, "invalid_client"},
		{"Basic for a public client", "public-app", func(c, v string) (url.Values, []string) {
			return codeForm(c, v), []string{"public-app", ""}
		}, 401, "invalid_client"},
		{"Basic client_id differs from body", "secret-app", func(c, v string) (url.Values, []string) {
			form := codeForm(c, v)
			form.Set("client_id", "public-app")
			return form, []string{"secret-app", clientSecret}
		}, 401, "invalid_client"},
		{"JWT client without an assertion", "jwt-app", func(c, v string) (url.Values, []string) {
			form := codeForm(c, v)
			form.Set("client_id", "jwt-app")
			return form, nil
		}, 401, "invalid_client"},
		{"Basic and an assertion together", "secret-app", func(c, v string) (url.Values, []string) {
			return withAssertion(codeForm(c, v), f.assertion("jwt-app", f.rsaKey, nil)), []string{"secret-app", clientSecret}
		}, 400, "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, verifier := fresh(t, tt.client)
			form, basic := tt.request(code, verifier)
			r := f.post(form, basic)
			wantError(t, r, tt.status, tt.code)
			if basic != nil && tt.code == "invalid_client" && r.header.Get("WWW-Authenticate") == "" {
				t.Errorf("WWW-Authenticate: got none; want a Basic challenge")
			}
		})
	}
}

func TestTokenReusedCodeRevokes(t *testing.T) {
	f := newFixture(t)
	verifier, challenge := pkce(t)
	code := f.code(f.authParams("public-app", f.launch(LaunchContext{Patient: "p1"}), challenge, ehrScope))
	form := public(codeForm(code, verifier))
	first := f.post(form, nil)
	if first.status != http.StatusOK {
		t.Fatalf("first exchange: got %d; want 200", first.status)
	}
	wantError(t, f.post(form, nil), http.StatusUnauthorized, "invalid_grant")
	if _, err := f.srv.Introspect(first.str("access_token")); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("Introspect after code replay: got %v; want ErrInvalidToken (revoked)", err)
	}
	refresh := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {first.str("refresh_token")}, "client_id": {"public-app"}}
	wantError(t, f.post(refresh, nil), http.StatusUnauthorized, "invalid_grant")
}

func public(form url.Values) url.Values {
	form.Set("client_id", "public-app")
	return form
}

func TestTokenExpiredCode(t *testing.T) {
	tests := []struct {
		name   string
		wait   time.Duration
		status int
	}{
		{"59 s after authorize", 59 * time.Second, http.StatusOK},
		{"60 s after authorize", 60 * time.Second, http.StatusUnauthorized},
		{"an hour after authorize", time.Hour, http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			verifier, challenge := pkce(t)
			code := f.code(f.authParams("public-app", f.launch(LaunchContext{Patient: "p1"}), challenge, ehrScope))
			f.clock.Advance(tt.wait)
			r := f.post(public(codeForm(code, verifier)), nil)
			if tt.status == http.StatusOK {
				if r.status != http.StatusOK {
					t.Errorf("got %d %q; want 200", r.status, r.str("error"))
				}
				return
			}
			wantError(t, r, tt.status, "invalid_grant")
		})
	}
}

func TestTokenMalformedRequests(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name        string
		method      string
		contentType string
		body        string
		status      int
		code        string
	}{
		{"GET", http.MethodGet, "", "", 405, "invalid_request"},
		{"JSON body", http.MethodPost, "application/json", `{"grant_type":"authorization_code"}`, 400, "invalid_request"},
		{"no content type", http.MethodPost, "", "grant_type=authorization_code", 400, "invalid_request"},
		{"bad percent-encoding", http.MethodPost, "application/x-www-form-urlencoded", "grant_type=%zz", 400, "invalid_request"},
		{"body too large", http.MethodPost, "application/x-www-form-urlencoded", "grant_type=" + strings.Repeat("a", maxFormBytes), 400, "invalid_request"},
		{"repeated parameter", http.MethodPost, "application/x-www-form-urlencoded", "grant_type=authorization_code&code=a&code=b", 400, "invalid_request"},
		{"missing grant_type", http.MethodPost, "application/x-www-form-urlencoded", "code=a", 400, "invalid_request"},
		{"unknown grant_type", http.MethodPost, "application/x-www-form-urlencoded", "grant_type=password&username=u", 400, "unsupported_grant_type"},
		{"empty body", http.MethodPost, "application/x-www-form-urlencoded", "", 400, "invalid_request"},
		{"Bearer authorization", http.MethodPost, "application/x-www-form-urlencoded", "grant_type=authorization_code&code=a", 401, "invalid_client"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), tt.method, f.base+"/token", strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if tt.contentType != "" {
				req.Header.Set("Content-Type", tt.contentType)
			}
			if tt.name == "Bearer authorization" {
				req.Header.Set("Authorization", "Bearer abc")
			}
			f.t = t
			r := f.postRequest(req)
			wantError(t, r, tt.status, tt.code)
		})
	}
}

// postRequest sends req and decodes the JSON answer.
func (f *fixture) postRequest(req *http.Request) tokenReply {
	f.t.Helper()
	resp, err := f.http.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		f.t.Fatal(err)
	}
	r := tokenReply{status: resp.StatusCode, header: resp.Header}
	if err := json.Unmarshal(body, &r.body); err != nil {
		f.t.Fatalf("token answer is not JSON: %q", body)
	}
	return r
}

func TestClientAssertionErrors(t *testing.T) {
	f := newFixture(t)
	strangerRSA := newRSAKey(t, "rsa-1") // same kid, another key
	tests := []struct {
		name      string
		assertion func() string
		edit      func(url.Values)
		status    int
		code      string
	}{
		{"aud is the FHIR base", func() string {
			return f.assertion("jwt-app", f.rsaKey, func(c *assertionClaims) { c.Audience = []string{f.issuer} })
		}, nil, 401, "invalid_client"},
		{"sub differs from iss", func() string {
			return f.assertion("jwt-app", f.rsaKey, func(c *assertionClaims) { c.Subject = "someone" })
		}, nil, 401, "invalid_client"},
		{"iss is unknown", func() string {
			return f.assertion("nobody", f.rsaKey, nil)
		}, nil, 401, "invalid_client"},
		{"iss is a public client", func() string {
			return f.assertion("public-app", f.rsaKey, nil)
		}, nil, 401, "invalid_client"},
		{"expired", func() string {
			return f.assertion("jwt-app", f.rsaKey, func(c *assertionClaims) { c.Expiry = f.clock.Now().Add(-time.Second).Unix() })
		}, nil, 401, "invalid_client"},
		{"exp more than five minutes ahead", func() string {
			return f.assertion("jwt-app", f.rsaKey, func(c *assertionClaims) { c.Expiry = f.clock.Now().Add(6 * time.Minute).Unix() })
		}, nil, 401, "invalid_client"},
		{"no exp", func() string {
			return f.assertion("jwt-app", f.rsaKey, func(c *assertionClaims) { c.Expiry = 0 })
		}, nil, 401, "invalid_client"},
		{"no jti", func() string {
			return f.assertion("jwt-app", f.rsaKey, func(c *assertionClaims) { c.ID = "" })
		}, nil, 401, "invalid_client"},
		{"unknown kid", func() string {
			k := f.rsaKey
			k.kid = "rsa-2"
			return f.assertion("jwt-app", k, nil)
		}, nil, 401, "invalid_client"},
		{"no kid", func() string {
			k := f.rsaKey
			k.kid = ""
			return f.assertion("jwt-app", k, nil)
		}, nil, 401, "invalid_client"},
		{"signed by another key with the same kid", func() string {
			return f.assertion("jwt-app", strangerRSA, nil)
		}, nil, 401, "invalid_client"},
		{"RS256 is not offered", func() string {
			k := f.rsaKey
			k.alg = jose.RS256
			return f.assertion("jwt-app", k, nil)
		}, nil, 401, "invalid_client"},
		{"HS256 with a shared secret", func() string {
			secret := make([]byte, 32)
			if _, err := rand.Read(secret); err != nil {
				t.Fatal(err)
			}
			return f.assertion("jwt-app", signingKey{key: secret, kid: "rsa-1", alg: jose.HS256}, nil)
		}, nil, 401, "invalid_client"},
		{"not a JWT", func() string { return "not.a.jwt" }, nil, 401, "invalid_client"},
		{"client_id differs from iss", func() string {
			return f.assertion("jwt-app", f.rsaKey, nil)
		}, func(v url.Values) { v.Set("client_id", "url-app") }, 401, "invalid_client"},
		{"wrong client_assertion_type", func() string {
			return f.assertion("jwt-app", f.rsaKey, nil)
		}, func(v url.Values) { v.Set("client_assertion_type", "urn:example:saml") }, 400, "invalid_request"},
		{"empty client_assertion", func() string { return "" }, nil, 400, "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.t = t
			form := withAssertion(url.Values{"grant_type": {"client_credentials"}, "scope": {"system/*.rs"}}, tt.assertion())
			if tt.edit != nil {
				tt.edit(form)
			}
			wantError(t, f.post(form, nil), tt.status, tt.code)
		})
	}
}

func TestClientAssertionReplay(t *testing.T) {
	f := newFixture(t)
	a := f.assertion("backend", f.backend, nil)
	form := func() url.Values {
		return withAssertion(url.Values{"grant_type": {"client_credentials"}, "scope": {"system/*.rs"}}, a)
	}
	if r := f.post(form(), nil); r.status != http.StatusOK {
		t.Fatalf("first use: got %d %q; want 200", r.status, r.str("error"))
	}
	wantError(t, f.post(form(), nil), http.StatusUnauthorized, "invalid_client")
}

func TestClientAssertionJWKSURLDown(t *testing.T) {
	f := newFixture(t, func(c *Config) {
		for i := range c.Clients {
			if c.Clients[i].ID == "url-app" {
				c.Clients[i].JWKSURL = "http://127.0.0.1:1/jwks.json" // nothing listens on port 1
			}
		}
	})
	verifier, challenge := pkce(t)
	code := f.code(f.authParams("url-app", f.launch(LaunchContext{Patient: "p1"}), challenge, ehrScope))
	r := f.post(withAssertion(codeForm(code, verifier), f.assertion("url-app", f.urlKey, nil)), nil)
	wantError(t, r, http.StatusUnauthorized, "invalid_client")
}

func TestSimulations(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		sim Simulation
		// at is where the error shows: authorize (redirect or page), token, refresh or fhir.
		at     string
		status int
		code   string
	}{
		{SimulateInvalidClientID, "authorize", http.StatusFound, "unauthorized_client"},
		{SimulateInvalidScope, "authorize", http.StatusFound, "invalid_scope"},
		{SimulateInvalidRedirectURI, "authorize", http.StatusBadRequest, ""},
		{SimulateInvalidClientSecret, "token", http.StatusUnauthorized, "invalid_client"},
		{SimulateInvalidClient, "token", http.StatusUnauthorized, "invalid_client"},
		{SimulateInvalidJTI, "token", http.StatusUnauthorized, "invalid_client"},
		{SimulateExpiredRegistrationToken, "token", http.StatusUnauthorized, "invalid_client"},
		{SimulateExpiredRefreshToken, "refresh", http.StatusUnauthorized, "invalid_grant"},
		{SimulateFHIR401, "fhir", 0, ""},
		{SimulateFHIR503, "fhir", 0, ""},
	}
	for _, tt := range tests {
		t.Run(string(tt.sim), func(t *testing.T) {
			f.t = t
			verifier, challenge := pkce(t)
			params := f.authParams("secret-app", f.launch(LaunchContext{Patient: "p1", Simulate: tt.sim}), challenge, ehrScope)
			resp := f.authorize(params)
			if tt.at == "authorize" {
				if tt.status == http.StatusBadRequest {
					pageStatus(t, resp, tt.status)
					return
				}
				q := f.redirected(resp)
				if q.Get("error") != tt.code || q.Get("state") != "state-123" || !strings.Contains(q.Get("error_description"), "simulated") {
					t.Errorf("redirect: got error %q state %q (%s); want %q, the state and a description", q.Get("error"), q.Get("state"), q.Get("error_description"), tt.code)
				}
				return
			}
			q := f.redirected(resp)
			r := f.post(codeForm(q.Get("code"), verifier), []string{"secret-app", clientSecret})
			if tt.at == "token" {
				wantError(t, r, tt.status, tt.code)
				return
			}
			if r.status != http.StatusOK {
				t.Fatalf("token: got %d %q; want 200", r.status, r.str("error"))
			}
			switch tt.at {
			case "refresh":
				refresh := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {r.str("refresh_token")}}
				wantError(t, f.post(refresh, []string{"secret-app", clientSecret}), tt.status, tt.code)
			case "fhir":
				want := ErrSimulated401
				if tt.sim == SimulateFHIR503 {
					want = ErrSimulated503
				}
				if _, err := f.srv.Introspect(r.str("access_token")); !errors.Is(err, want) {
					t.Errorf("Introspect: got %v; want %v", err, want)
				}
			}
		})
	}
}

func TestNewLaunch(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name string
		lc   LaunchContext
		want error
	}{
		{"known patient", LaunchContext{Patient: "p1", Encounter: "e1", NeedPatientBanner: true}, nil},
		{"known patient with a simulation", LaunchContext{Patient: "p2", Simulate: SimulateFHIR401}, nil},
		{"unknown patient", LaunchContext{Patient: "p-unknown"}, ErrUnknownPatient},
		{"no patient", LaunchContext{}, ErrUnknownPatient},
		{"unknown simulation", LaunchContext{Patient: "p1", Simulate: "explode"}, ErrUnknownSimulation},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, err := f.srv.NewLaunch(tt.lc)
			if !errors.Is(err, tt.want) {
				t.Fatalf("NewLaunch(%+v): got error %v; want %v", tt.lc, err, tt.want)
			}
			if err != nil {
				if code != "" || strings.Contains(err.Error(), tt.lc.Patient) && tt.lc.Patient != "" {
					t.Errorf("NewLaunch(%+v): got code %q, error %q; want no code and no patient id in the error", tt.lc, code, err)
				}
				return
			}
			if len(code) != 43 || seen[code] {
				t.Errorf("launch code: got %q; want 43 fresh characters", code)
			}
			seen[code] = true
		})
	}
}

func TestIntrospect(t *testing.T) {
	f := newFixture(t)
	r := f.ehrTokens(LaunchContext{Patient: "p1"}, "launch patient/*.rs")
	tok := r.str("access_token")
	tests := []struct {
		name    string
		token   string
		advance time.Duration
		want    error
	}{
		{"valid token", tok, 0, nil},
		{"unknown token", "forged", 0, ErrInvalidToken},
		{"empty token", "", 0, ErrInvalidToken},
		{"token just before expiry", tok, time.Hour - time.Second, nil},
		{"token at expiry", tok, time.Second, ErrExpiredToken},
		{"token long expired, after a sweep", tok, 12 * time.Hour, ErrExpiredToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.clock.Advance(tt.advance)
			if tt.advance > time.Hour {
				// Another launch makes the server sweep its stores.
				f.launch(LaunchContext{Patient: "p1"})
			}
			g, err := f.srv.Introspect(tt.token)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Introspect: got %v; want %v", err, tt.want)
			}
			if err == nil && g.Patient != "p1" {
				t.Errorf("Introspect patient: got %q; want p1", g.Patient)
			}
			if err != nil && strings.Contains(err.Error(), tok) {
				t.Errorf("error %q quotes the token", err)
			}
		})
	}
}
