package smarttest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/json"
	"io"
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

// fakeClock is a clock the tests move by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

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

const (
	callback     = "http://app.test/callback"
	otherBack    = "http://app.test/other"
	clientSecret = "s3cr3t+/= &x" // characters that Basic form-encoding must carry
)

// signingKey is a client's private key and how it signs assertions.
type signingKey struct {
	key any
	kid string
	alg jose.SignatureAlgorithm
}

// fixture is a running sandbox authorization server.
type fixture struct {
	t       *testing.T
	srv     *Server
	ts      *httptest.Server
	clock   *fakeClock
	http    *http.Client // never follows redirects
	issuer  string
	base    string
	rsaKey  signingKey
	ecKey   signingKey
	urlKey  signingKey // served by a JWKS URL
	backend signingKey
}

func newRSAKey(t *testing.T, kid string) signingKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return signingKey{key: k, kid: kid, alg: jose.RS384}
}

func newECKey(t *testing.T, kid string) signingKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return signingKey{key: k, kid: kid, alg: jose.ES384}
}

func (k signingKey) public() jose.JSONWebKey {
	var pub any
	switch p := k.key.(type) {
	case *rsa.PrivateKey:
		pub = &p.PublicKey
	case *ecdsa.PrivateKey:
		pub = &p.PublicKey
	}
	return jose.JSONWebKey{Key: pub, KeyID: k.kid, Algorithm: string(k.alg), Use: "sig"}
}

// newFixture starts a server with these clients: public-app (public),
// secret-app (client_secret_basic), jwt-app (inline RS384 and ES384 keys),
// url-app (keys at a JWKS URL) and backend (inline keys, no redirect URI).
func newFixture(t *testing.T, mutate ...func(*Config)) *fixture {
	t.Helper()
	f := &fixture{
		t:       t,
		clock:   &fakeClock{t: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)},
		rsaKey:  newRSAKey(t, "rsa-1"),
		ecKey:   newECKey(t, "ec-1"),
		urlKey:  newECKey(t, "url-1"),
		backend: newECKey(t, "backend-1"),
	}
	jwksSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if err := json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{f.urlKey.public()}}); err != nil {
			t.Error(err)
		}
	}))
	t.Cleanup(jwksSrv.Close)

	f.ts = httptest.NewUnstartedServer(nil)
	origin := "http://" + f.ts.Listener.Addr().String()
	f.issuer = origin + "/sandbox/fhir"
	f.base = origin + "/sandbox/auth"
	cfg := Config{
		Issuer:  f.issuer,
		BaseURL: f.base,
		Clients: []Client{
			{ID: "public-app", RedirectURIs: []string{callback, otherBack}},
			{ID: "secret-app", Secret: clientSecret, RedirectURIs: []string{callback}},
			{ID: "jwt-app", RedirectURIs: []string{callback},
				JWKS: &jose.JSONWebKeySet{Keys: []jose.JSONWebKey{f.rsaKey.public(), f.ecKey.public()}}},
			{ID: "url-app", RedirectURIs: []string{callback}, JWKSURL: jwksSrv.URL + "/jwks.json"},
			{ID: "backend", JWKS: &jose.JSONWebKeySet{Keys: []jose.JSONWebKey{f.backend.public()}}},
		},
		Patients:     []Patient{{ID: "p1", Name: "Ada Test"}, {ID: "p2", Name: "Grace Sample"}},
		Practitioner: "Practitioner/sandbox-oncologist",
		StyleURL:     origin + "/sandbox/style.json",
		Now:          f.clock.Now,
	}
	for _, m := range mutate {
		m(&cfg)
	}
	srv, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	f.srv = srv
	mux := http.NewServeMux()
	mux.Handle("/sandbox/auth/", srv.Handler())
	mux.Handle("/sandbox/fhir/.well-known/smart-configuration", srv.SmartConfiguration())
	f.ts.Config.Handler = mux
	f.ts.Start()
	t.Cleanup(f.ts.Close)
	f.http = &http.Client{
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return f
}

// pkce returns a fresh verifier and its S256 challenge.
func pkce(t *testing.T) (verifier, challenge string) {
	t.Helper()
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	verifier = b64(b)
	sum := sha256.Sum256([]byte(verifier))
	return verifier, b64(sum[:])
}

// authParams is a well-formed authorization request.
func (f *fixture) authParams(clientID, launch, challenge, scope string) url.Values {
	v := url.Values{
		"response_type":         {"code"},
		"client_id":             {clientID},
		"redirect_uri":          {callback},
		"scope":                 {scope},
		"state":                 {"state-123"},
		"aud":                   {f.issuer},
		"code_challenge":        {challenge},
		"code_challenge_method": {"S256"},
	}
	if launch != "" {
		v.Set("launch", launch)
	}
	return v
}

const ehrScope = "launch openid fhirUser offline_access patient/*.rs"

func (f *fixture) get(u string) *http.Response {
	f.t.Helper()
	resp, err := f.http.Get(u)
	if err != nil {
		f.t.Fatalf("GET: %v", err)
	}
	f.t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// authorize sends the request with GET.
func (f *fixture) authorize(params url.Values) *http.Response {
	f.t.Helper()
	return f.get(f.base + "/authorize?" + params.Encode())
}

// redirected checks that resp redirects to the callback and returns the
// callback's query.
func (f *fixture) redirected(resp *http.Response) url.Values {
	f.t.Helper()
	if resp.StatusCode != http.StatusFound {
		body, _ := io.ReadAll(resp.Body)
		f.t.Fatalf("authorize status: got %d; want 302 (body %q)", resp.StatusCode, body)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		f.t.Fatalf("Location: %v", err)
	}
	q := loc.Query()
	loc.RawQuery = ""
	if got := loc.String(); got != callback {
		f.t.Fatalf("redirect target: got %q; want %q", got, callback)
	}
	return q
}

// code runs a successful authorization and returns the code.
func (f *fixture) code(params url.Values) string {
	f.t.Helper()
	q := f.redirected(f.authorize(params))
	if q.Get("error") != "" {
		f.t.Fatalf("authorize: got error %q (%s); want a code", q.Get("error"), q.Get("error_description"))
	}
	if got, want := q.Get("state"), params.Get("state"); got != want {
		f.t.Fatalf("state: got %q; want %q", got, want)
	}
	return q.Get("code")
}

// tokenReply is a decoded token endpoint answer.
type tokenReply struct {
	status int
	header http.Header
	body   map[string]any
}

func (r tokenReply) str(k string) string {
	s, _ := r.body[k].(string)
	return s
}

// post sends a form to the token endpoint; basic, if non-nil, is {id, secret}.
func (f *fixture) post(form url.Values, basic []string) tokenReply {
	f.t.Helper()
	return f.postRaw(form.Encode(), "application/x-www-form-urlencoded", func(r *http.Request) {
		if basic != nil {
			r.SetBasicAuth(url.QueryEscape(basic[0]), url.QueryEscape(basic[1]))
		}
	})
}

func (f *fixture) postRaw(body, contentType string, edit func(*http.Request)) tokenReply {
	f.t.Helper()
	req, err := http.NewRequestWithContext(f.t.Context(), http.MethodPost, f.base+"/token", strings.NewReader(body))
	if err != nil {
		f.t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	if edit != nil {
		edit(req)
	}
	resp, err := f.http.Do(req)
	if err != nil {
		f.t.Fatalf("POST token: %v", err)
	}
	defer resp.Body.Close()
	r := tokenReply{status: resp.StatusCode, header: resp.Header}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		f.t.Fatalf("token Content-Type: got %q; want application/json", ct)
	}
	if err := json.NewDecoder(resp.Body).Decode(&r.body); err != nil {
		f.t.Fatalf("token body: %v", err)
	}
	return r
}

// wantError checks an OAuth error answer.
func wantError(t *testing.T, r tokenReply, status int, code string) {
	t.Helper()
	if r.status != status || r.str("error") != code {
		t.Errorf("got %d %q (%s); want %d %q", r.status, r.str("error"), r.str("error_description"), status, code)
	}
	if r.str("error") != "" && r.str("error_description") == "" {
		t.Errorf("error %q has no error_description", r.str("error"))
	}
	if _, ok := r.body["access_token"]; ok {
		t.Errorf("an error answer carries an access_token")
	}
}

func codeForm(code, verifier string) url.Values {
	return url.Values{
		"grant_type":    {"authorization_code"},
		"code":          {code},
		"redirect_uri":  {callback},
		"code_verifier": {verifier},
	}
}

// assertionClaims are the claims of a client assertion.
type assertionClaims struct {
	Issuer   string   `json:"iss,omitempty"`
	Subject  string   `json:"sub,omitempty"`
	Audience []string `json:"aud,omitempty"`
	Expiry   int64    `json:"exp,omitempty"`
	ID       string   `json:"jti,omitempty"`
}

// assertion signs a client assertion for clientID; edit may spoil it.
func (f *fixture) assertion(clientID string, k signingKey, edit func(*assertionClaims)) string {
	f.t.Helper()
	jti := make([]byte, 16)
	if _, err := rand.Read(jti); err != nil {
		f.t.Fatal(err)
	}
	c := assertionClaims{
		Issuer:   clientID,
		Subject:  clientID,
		Audience: []string{f.base + "/token"},
		Expiry:   f.clock.Now().Add(4 * time.Minute).Unix(),
		ID:       b64(jti),
	}
	if edit != nil {
		edit(&c)
	}
	return signAssertion(f.t, k, c)
}

func signAssertion(t *testing.T, k signingKey, claims any) string {
	t.Helper()
	opts := (&jose.SignerOptions{}).WithType("JWT")
	if k.kid != "" {
		opts = opts.WithHeader(jose.HeaderKey("kid"), k.kid)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: k.alg, Key: k.key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	s, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func withAssertion(form url.Values, assertion string) url.Values {
	form.Set("client_assertion_type", jwtBearer)
	form.Set("client_assertion", assertion)
	return form
}

// launch records an EHR launch and fails the test on error.
func (f *fixture) launch(lc LaunchContext) string {
	f.t.Helper()
	code, err := f.srv.NewLaunch(lc)
	if err != nil {
		f.t.Fatalf("NewLaunch: %v", err)
	}
	return code
}

// ehrTokens runs a whole EHR launch for the public client.
func (f *fixture) ehrTokens(lc LaunchContext, scope string) tokenReply {
	f.t.Helper()
	verifier, challenge := pkce(f.t)
	code := f.code(f.authParams("public-app", f.launch(lc), challenge, scope))
	form := codeForm(code, verifier)
	form.Set("client_id", "public-app")
	r := f.post(form, nil)
	if r.status != http.StatusOK {
		f.t.Fatalf("token: got %d %q (%s); want 200", r.status, r.str("error"), r.str("error_description"))
	}
	return r
}

// verifyIDToken checks the id_token's signature against /jwks and returns its claims.
func (f *fixture) verifyIDToken(idToken string) map[string]any {
	f.t.Helper()
	resp := f.get(f.base + "/jwks")
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		f.t.Fatalf("jwks: %v", err)
	}
	tok, err := jwt.ParseSigned(idToken, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		f.t.Fatalf("id_token: %v", err)
	}
	if kid := tok.Headers[0].KeyID; kid != "" {
		f.t.Errorf("id_token kid: got %q; want none (as the SMART launcher)", kid)
	}
	for _, k := range set.Keys {
		var claims map[string]any
		if err := tok.Claims(k.Key, &claims); err == nil {
			return claims
		}
	}
	f.t.Fatalf("id_token does not verify with any key of /jwks (%d keys)", len(set.Keys))
	return nil
}
