package smart

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// fakeClock is a settable clock shared by a test's client and fake EHR.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock { return &fakeClock{t: time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type flavor int

const (
	epic flavor = iota
	oracle
	launcher
)

func (f flavor) String() string { return [...]string{"epic", "oracle", "launcher"}[f] }

// fakeEHR is an authorization server and FHIR endpoint that behaves like
// Epic, Oracle Health or the SMART launcher in the ways that matter here.
type fakeEHR struct {
	t      *testing.T
	srv    *httptest.Server
	flavor flavor
	clock  *fakeClock

	clientID    string
	secret      string              // confidential symmetric when set
	clientJWKS  *jose.JSONWebKeySet // private_key_jwt when set
	redirectURI string
	patients    map[string]string // launch token -> patient id
	simulate    string            // a launcher auth_error
	grantWrite  bool              // grant the write scopes requested
	noWellKnown bool              // Epic-like server without .well-known

	idKey *rsa.PrivateKey

	mu             sync.Mutex
	codes          map[string]codeGrant
	refreshTokens  map[string]codeGrant
	accessTokens   map[string]time.Time // token -> expiry
	jtis           map[string]bool
	authorizeReqs  []url.Values
	authorizeMeth  []string
	tokenReqs      []url.Values
	refreshes      int
	fhirRequests   int
	fhirAuthHeader []string
	reject401      int // refuse this many more FHIR requests with 401
}

type codeGrant struct {
	challenge, redirectURI, scope, patient, nonce string
}

func newFakeEHR(t *testing.T, fl flavor, clock *fakeClock) *fakeEHR {
	t.Helper()
	f := &fakeEHR{
		t: t, flavor: fl, clock: clock,
		clientID:      fl.String() + "-client",
		patients:      map[string]string{},
		grantWrite:    true,
		idKey:         rsaKey(t),
		codes:         map[string]codeGrant{},
		refreshTokens: map[string]codeGrant{},
		accessTokens:  map[string]time.Time{},
		jtis:          map[string]bool{},
	}
	f.srv = httptest.NewTLSServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	f.redirectURI = "https://app.example/callback"
	return f
}

func isWriteScope(s string) bool {
	_, perms, ok := strings.Cut(s, ".")
	if !ok || !strings.Contains(s, "/") {
		return false
	}
	return perms == "write" || perms != "read" && strings.ContainsAny(perms, "cud")
}

// rsaKey returns a new 2048-bit key.
func rsaKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func (f *fakeEHR) iss() string      { return f.srv.URL + "/fhir" }
func (f *fakeEHR) tokenURL() string { return f.srv.URL + "/auth/token" }
func (f *fakeEHR) idIssuer() string {
	if f.flavor == launcher {
		return f.iss() // the launcher's id_token iss is its FHIR base
	}
	return f.srv.URL + "/oauth2"
}

func (f *fakeEHR) newLaunch(patient string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	l := "launch-" + randHex(f.t)
	f.patients[l] = patient
	return l
}

func randHex(t *testing.T) string {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x", b)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		return
	}
}

func oauthErr(w http.ResponseWriter, status int, code, desc string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

func (f *fakeEHR) serve(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/fhir/.well-known/smart-configuration":
		f.smartConfig(w, r)
	case r.URL.Path == "/fhir/metadata":
		f.metadata(w, r)
	case r.URL.Path == "/auth/authorize":
		f.authorize(w, r)
	case r.URL.Path == "/auth/token":
		f.token(w, r)
	case r.URL.Path == strings.TrimPrefix(f.idIssuer(), f.srv.URL)+"/.well-known/openid-configuration":
		writeJSON(w, 200, map[string]string{"issuer": f.idIssuer(), "jwks_uri": f.srv.URL + "/jwks"})
	case strings.HasPrefix(r.URL.Path, "/fhir/"):
		f.fhir(w, r)
	case r.URL.Path == "/jwks":
		k := jose.JSONWebKey{Key: &f.idKey.PublicKey, Algorithm: "RS256", Use: "sig"}
		if f.flavor != launcher {
			k.KeyID = "id-key-1"
		}
		writeJSON(w, 200, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{k}})
	default:
		http.NotFound(w, r)
	}
}

func (f *fakeEHR) smartConfig(w http.ResponseWriter, r *http.Request) {
	if f.flavor == oracle || f.noWellKnown {
		http.NotFound(w, r)
		return
	}
	caps := []string{"launch-ehr", "launch-standalone", "client-public", "client-confidential-symmetric",
		"client-confidential-asymmetric", "context-ehr-patient", "sso-openid-connect", "permission-v2", "permission-v1"}
	if f.flavor == epic {
		caps = append(caps, "authorize-post")
	}
	writeJSON(w, 200, map[string]any{
		"authorization_endpoint":                f.srv.URL + "/auth/authorize",
		"token_endpoint":                        f.tokenURL(),
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "private_key_jwt"},
		"code_challenge_methods_supported":      []string{"S256"},
		"capabilities":                          caps,
	})
}

func (f *fakeEHR) metadata(w http.ResponseWriter, r *http.Request) {
	if !strings.Contains(r.Header.Get("Accept"), "json") {
		w.Header().Set("Content-Type", "application/fhir+xml")
		fmt.Fprint(w, `<CapabilityStatement xmlns="http://hl7.org/fhir"/>`)
		return
	}
	w.Header().Set("Content-Type", "application/fhir+json")
	fmt.Fprintf(w, `{"resourceType":"CapabilityStatement","rest":[{"mode":"server","security":{"extension":[
	  {"url":"http://example.org/other"},
	  {"url":"http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris","extension":[
	    {"url":"token","valueUri":"%s"},{"url":"authorize","valueUri":"%s/auth/authorize"}]}]}}]}`, f.tokenURL(), f.srv.URL)
}

func (f *fakeEHR) authorize(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", 400)
		return
	}
	p := r.Form
	if r.Method == http.MethodPost {
		p = r.PostForm
	}
	f.mu.Lock()
	f.authorizeReqs = append(f.authorizeReqs, p)
	f.authorizeMeth = append(f.authorizeMeth, r.Method)
	f.mu.Unlock()
	redirect := p.Get("redirect_uri")
	fail := func(code, desc string) {
		u, err := url.Parse(redirect)
		if err != nil {
			oauthErr(w, 400, code, desc)
			return
		}
		q := u.Query()
		q.Set("error", code)
		q.Set("error_description", desc)
		if s := p.Get("state"); s != "" {
			q.Set("state", s)
		}
		u.RawQuery = q.Encode()
		http.Redirect(w, r, u.String(), http.StatusFound)
	}
	switch f.simulate {
	case "auth_invalid_client_id":
		fail("invalid_client", "Simulated invalid client_id parameter error")
		return
	case "auth_invalid_redirect_uri":
		fail("invalid_request", "Simulated invalid redirect_uri parameter error")
		return
	case "auth_invalid_scope":
		fail("invalid_scope", "Simulated invalid scope error")
		return
	}
	if redirect != f.redirectURI {
		fail("invalid_request", "Invalid redirect_uri")
		return
	}
	if p.Get("response_type") != "code" {
		fail("unsupported_response_type", "want code")
		return
	}
	if p.Get("client_id") != f.clientID {
		fail("invalid_client", `Invalid client_id "x"`)
		return
	}
	if p.Get("aud") != f.iss() { // byte for byte, as the launcher does
		fail("invalid_request", "Bad audience value")
		return
	}
	if p.Get("code_challenge_method") != "S256" || len(p.Get("code_challenge")) != 43 {
		fail("invalid_request", "PKCE S256 required")
		return
	}
	scope := p.Get("scope")
	for _, s := range strings.Fields(scope) {
		if strings.Contains(s, "*") {
			fail("invalid_scope", "wildcard scopes are not supported")
			return
		}
		if f.flavor == oracle && strings.HasPrefix(s, "patient/") && !strings.HasSuffix(s, ".read") && !strings.HasSuffix(s, ".write") {
			fail("invalid_scope", "v2 scopes are not supported")
			return
		}
	}
	patient := ""
	if l := p.Get("launch"); l != "" {
		f.mu.Lock()
		pt, ok := f.patients[l]
		f.mu.Unlock()
		if !ok {
			fail("invalid_request", "unknown launch")
			return
		}
		patient = pt
	} else if strings.Contains(scope, "launch/patient") {
		patient = "standalone-pt"
	}
	code := "code-" + randHex(f.t)
	f.mu.Lock()
	f.codes[code] = codeGrant{challenge: p.Get("code_challenge"), redirectURI: redirect, scope: scope, patient: patient, nonce: p.Get("nonce")}
	f.mu.Unlock()
	u, _ := url.Parse(redirect)
	q := u.Query()
	q.Set("code", code)
	q.Set("state", p.Get("state"))
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.String(), http.StatusFound)
}

// clientAuth checks the client's authentication; it reports a failure itself.
func (f *fakeEHR) clientAuth(w http.ResponseWriter, r *http.Request) bool {
	switch f.simulate {
	case "auth_invalid_client_secret":
		oauthErr(w, 401, "invalid_client", "Simulated invalid client secret error")
		return false
	case "token_invalid_token":
		oauthErr(w, 401, "invalid_client", "Simulated invalid client error")
		return false
	case "token_invalid_jti":
		oauthErr(w, 401, "invalid_client", "Simulated invalid 'jti' value")
		return false
	case "token_expired_registration_token":
		oauthErr(w, 401, "invalid_client", "Simulated expired token error")
		return false
	}
	if f.secret != "" {
		id, secret, ok := r.BasicAuth()
		if !ok {
			oauthErr(w, 401, "invalid_request", "Basic authentication is required for confidential clients")
			return false
		}
		if r.PostForm.Get("client_secret") != "" {
			oauthErr(w, 400, "invalid_request", "secret in the body")
			return false
		}
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
		if id != f.clientID || secret != f.secret {
			oauthErr(w, 401, "invalid_client", "Invalid client_secret in the basic auth header")
			return false
		}
		return true
	}
	if f.clientJWKS != nil {
		if msg := f.checkAssertion(r.PostForm); msg != "" {
			oauthErr(w, 401, "invalid_client", msg)
			return false
		}
		return true
	}
	if r.PostForm.Get("client_id") != f.clientID {
		oauthErr(w, 401, "invalid_client", "client_id missing")
		return false
	}
	if _, _, ok := r.BasicAuth(); ok {
		oauthErr(w, 400, "invalid_request", "a public client sent Basic auth")
		return false
	}
	return true
}

func (f *fakeEHR) checkAssertion(form url.Values) string {
	if form.Get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" {
		return "bad client_assertion_type"
	}
	tok, err := jwt.ParseSigned(form.Get("client_assertion"), []jose.SignatureAlgorithm{jose.RS384, jose.ES384})
	if err != nil {
		return "assertion: " + err.Error()
	}
	h := tok.Headers[0]
	if h.ExtraHeaders["typ"] != "JWT" {
		return "typ must be JWT"
	}
	keys := f.clientJWKS.Key(h.KeyID)
	if h.KeyID == "" || len(keys) != 1 || keys[0].Algorithm != h.Algorithm {
		return "no key for kid"
	}
	var c jwt.Claims
	if err := tok.Claims(keys[0].Key, &c); err != nil {
		return "bad signature"
	}
	now := f.clock.Now()
	if c.Issuer != f.clientID || c.Subject != f.clientID {
		return "iss/sub"
	}
	if len(c.Audience) != 1 || c.Audience[0] != f.tokenURL() {
		return "aud must be the token URL"
	}
	if c.Expiry == nil || c.Expiry.Time().After(now.Add(5*time.Minute)) || !c.Expiry.Time().After(now) {
		return "exp must be within 5 minutes"
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if c.ID == "" || f.jtis[c.ID] {
		return "jti reused"
	}
	f.jtis[c.ID] = true
	return ""
}

func (f *fakeEHR) token(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		oauthErr(w, 400, "invalid_request", "form POST required")
		return
	}
	if err := r.ParseForm(); err != nil {
		oauthErr(w, 400, "invalid_request", "bad form")
		return
	}
	f.mu.Lock()
	f.tokenReqs = append(f.tokenReqs, r.PostForm)
	f.mu.Unlock()
	switch r.PostForm.Get("grant_type") {
	case "authorization_code":
		if !f.clientAuth(w, r) {
			return
		}
		f.mu.Lock()
		g, ok := f.codes[r.PostForm.Get("code")]
		delete(f.codes, r.PostForm.Get("code"))
		f.mu.Unlock()
		if !ok {
			oauthErr(w, 401, "invalid_grant", "Invalid or used code")
			return
		}
		sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
		if base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge {
			oauthErr(w, 401, "invalid_grant", "Invalid grant or Invalid PKCE Verifier")
			return
		}
		if r.PostForm.Get("redirect_uri") != g.redirectURI {
			oauthErr(w, 401, "invalid_request", "Invalid redirect_uri parameter")
			return
		}
		f.issue(w, g, true, false)
	case "refresh_token":
		if f.flavor != launcher && !f.clientAuth(w, r) {
			return
		}
		if f.simulate == "token_expired_refresh_token" {
			oauthErr(w, 403, "invalid_grant", "Expired refresh token")
			return
		}
		f.mu.Lock()
		g, ok := f.refreshTokens[r.PostForm.Get("refresh_token")]
		f.refreshes++
		f.mu.Unlock()
		if !ok {
			oauthErr(w, 401, "invalid_grant", "Invalid refresh token")
			return
		}
		f.issue(w, g, f.flavor != oracle, true)
	default:
		oauthErr(w, 400, "unsupported_grant_type", "no")
	}
}

func (f *fakeEHR) issue(w http.ResponseWriter, g codeGrant, newRefresh, refreshed bool) {
	expiresIn := 3600
	if f.flavor == oracle {
		expiresIn = 570
	}
	access := "at-" + randHex(f.t)
	if f.flavor == epic { // looks like a JWT but is not one we could verify
		access = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9." + randHex(f.t) + "." + randHex(f.t)
	}
	var granted []string
	for _, s := range strings.Fields(g.scope) {
		if !f.grantWrite && isWriteScope(s) {
			continue
		}
		granted = append(granted, s)
	}
	resp := map[string]any{
		"access_token": access,
		"token_type":   "Bearer",
		"expires_in":   expiresIn,
		"scope":        strings.Join(granted, " "),
	}
	if !refreshed {
		resp["patient"] = g.patient
		resp["encounter"] = "enc-1"
		resp["smart_style_url"] = f.srv.URL + "/style.json"
		resp["tenant"] = "tenant-1"
		switch f.flavor {
		case epic:
			resp["need_patient_banner"] = "false"
			resp["fhirContext"] = []any{map[string]any{"reference": "DiagnosticReport/dr1"}}
		case launcher:
			resp["need_patient_banner"] = true
		}
	}
	if strings.Contains(g.scope, "openid") {
		resp["id_token"] = f.idToken(g, refreshed)
	}
	f.mu.Lock()
	f.accessTokens[access] = f.clock.Now().Add(time.Duration(expiresIn) * time.Second)
	if strings.Contains(g.scope, "offline_access") || strings.Contains(g.scope, "online_access") {
		if newRefresh {
			rt := "rt-" + randHex(f.t)
			f.refreshTokens[rt] = g
			resp["refresh_token"] = rt
		}
	}
	f.mu.Unlock()
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, 200, resp)
}

func (f *fakeEHR) idToken(g codeGrant, refreshed bool) string {
	opts := (&jose.SignerOptions{}).WithType("JWT")
	key := jose.JSONWebKey{Key: f.idKey}
	if f.flavor != launcher {
		key.KeyID = "id-key-1"
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key}, opts)
	if err != nil {
		f.t.Error(err)
		return ""
	}
	now := f.clock.Now()
	claims := map[string]any{
		"iss": f.idIssuer(),
		"sub": "user-sub",
		"exp": now.Add(time.Hour).Unix(),
		"iat": now.Unix(),
	}
	if !(refreshed && f.flavor == launcher) {
		claims["aud"] = f.clientID
	}
	if !refreshed {
		claims["nonce"] = g.nonce
	}
	switch f.flavor {
	case epic:
		claims["fhirUser"] = f.iss() + "/Practitioner/prac-epic"
	case oracle:
		claims["fhirUser"] = f.iss() + "/Practitioner/prac-oracle"
	default:
		claims["fhirUser"] = "Practitioner/prac-launcher"
		claims["profile"] = "Practitioner/prac-launcher"
	}
	s, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		f.t.Error(err)
	}
	return s
}

func (f *fakeEHR) fhir(w http.ResponseWriter, r *http.Request) {
	auth := r.Header.Get("Authorization")
	tok := strings.TrimPrefix(auth, "Bearer ")
	f.mu.Lock()
	f.fhirRequests++
	f.fhirAuthHeader = append(f.fhirAuthHeader, auth)
	exp, ok := f.accessTokens[tok]
	reject := f.reject401 > 0
	if reject {
		f.reject401--
	}
	f.mu.Unlock()
	if !ok || !f.clock.Now().Before(exp) || reject {
		if f.flavor == launcher {
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(401)
			fmt.Fprint(w, "Unauthorized")
			return
		}
		w.Header().Set("Content-Type", "application/fhir+json")
		w.WriteHeader(401)
		fmt.Fprint(w, `{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"login"}]}`)
		return
	}
	if r.Body != nil {
		var body strings.Builder
		buf := make([]byte, 512)
		for {
			n, err := r.Body.Read(buf)
			body.Write(buf[:n])
			if err != nil {
				break
			}
		}
		w.Header().Set("X-Body", body.String())
	}
	w.Header().Set("Content-Type", "application/fhir+json")
	fmt.Fprint(w, `{"resourceType":"Patient","id":"x"}`)
}

func (f *fakeEHR) tokenRequests() []url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]url.Values(nil), f.tokenReqs...)
}

func (f *fakeEHR) lastAuthorize() (url.Values, string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.authorizeReqs) == 0 {
		return nil, ""
	}
	return f.authorizeReqs[len(f.authorizeReqs)-1], f.authorizeMeth[len(f.authorizeMeth)-1]
}
