// Package smarttest is the SMART App Launch authorization server of the
// sandbox EHR: test and demo equipment in the spirit of net/http/httptest.
//
// `mbcplan serve` mounts it beside the app so that a newcomer can launch the
// app without an EHR at hand, and the tests of the SMART client run their
// launches against it. It imitates the behaviour of the public SMART launcher
// (smart-launcher-v2): EHR and standalone launches, PKCE S256 only, public,
// client_secret_basic and private_key_jwt clients, refresh tokens, an RS256
// id_token without a kid header, and errors simulated per launch.
//
// Everything lives in memory and expires; a Server is safe for concurrent
// use. It never logs, so codes and tokens cannot leak through it.
//
// Lifetimes: launch codes last an hour and may be used again (a reloaded
// launch works); authorization codes are single use and last 60 s (a
// replayed code also revokes the tokens it bought); a standalone picker
// choice lasts 10 minutes and is made once; access tokens last
// Config.AccessTokenLifetime; refresh tokens (issued for offline_access or
// online_access) last 24 hours. A refresh returns a new refresh token and,
// as with the launcher's stateless tokens, leaves the old one valid until
// it expires. Simulations are chosen per EHR launch (LaunchContext), so a
// standalone launch or a backend-services client never simulates errors.
//
// Status codes of token errors follow the launcher: invalid_request,
// unsupported_grant_type and invalid_scope answer 400; invalid_grant answers
// 401 (as the launcher does, although RFC 6749 says 400); invalid_client
// answers 401. The simulated token errors invalid_client_secret,
// invalid_client, invalid_jti and expired_registration_token all answer 401
// invalid_client: each is a failed client authentication, and a real server
// answers those with 401 (RFC 6749 section 5.2, RFC 7523 section 3.1).
package smarttest

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// Lifetimes of what the server keeps in memory.
const (
	codeLifetime      = 60 * time.Second
	launchLifetime    = time.Hour
	pickerLifetime    = 10 * time.Minute
	refreshLifetime   = 24 * time.Hour
	maxAssertionAhead = 5 * time.Minute
	sweepInterval     = time.Minute
	jwksFetchTimeout  = 5 * time.Second
	defaultAccessLife = time.Hour
	defaultFHIRUser   = "Practitioner/sandbox-practitioner"
	maxFormBytes      = 64 << 10
	maxJWKSBytes      = 1 << 20
)

// Errors returned by Introspect.
var (
	// ErrInvalidToken: the token was never issued, or was revoked.
	ErrInvalidToken = errors.New("smarttest: invalid access token")
	// ErrExpiredToken: the token was issued and has expired.
	ErrExpiredToken = errors.New("smarttest: expired access token")
	// ErrSimulated401: the token belongs to a launch that simulates FHIR
	// calls answering 401.
	ErrSimulated401 = errors.New("smarttest: simulated 401 for FHIR calls")
	// ErrSimulated503: the token belongs to a launch that simulates an
	// unavailable FHIR server (503 to every call).
	ErrSimulated503 = errors.New("smarttest: simulated 503 for FHIR calls")
)

// Errors returned by NewLaunch.
var (
	// ErrUnknownPatient: the launch names a patient that is not in Config.Patients.
	ErrUnknownPatient = errors.New("smarttest: unknown patient")
	// ErrUnknownSimulation: the launch asks for a simulation this server does not know.
	ErrUnknownSimulation = errors.New("smarttest: unknown simulation")
)

// Config configures a Server.
type Config struct {
	// Issuer is the FHIR base URL: the iss handed to the app at launch and
	// the aud it must send, byte for byte, e.g. http://127.0.0.1:8080/sandbox/fhir.
	Issuer string
	// BaseURL is this server's base URL, e.g. http://127.0.0.1:8080/sandbox/auth.
	// It is also the iss of the id_tokens.
	BaseURL string
	// Clients are the registered clients.
	Clients []Client
	// Patients are the known patients: launches must name one, and the
	// standalone picker lists them.
	Patients []Patient
	// Practitioner is the signed-in user, e.g. "Practitioner/sandbox-oncologist".
	// It is made absolute against Issuer for fhirUser. Empty means
	// "Practitioner/sandbox-practitioner".
	Practitioner string
	// StyleURL is the smart_style_url handed out with tokens (optional).
	StyleURL string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// AccessTokenLifetime is how long access tokens last; zero means one hour.
	AccessTokenLifetime time.Duration
}

// Client is a registered client.
type Client struct {
	ID string
	// Secret is the client secret of a confidential symmetric client
	// (client_secret_basic). A client without Secret, JWKS and JWKSURL is public.
	Secret       string
	RedirectURIs []string
	// JWKS holds the public keys of a private_key_jwt client, inline.
	JWKS *jose.JSONWebKeySet
	// JWKSURL is where the keys of a private_key_jwt client are fetched from
	// (at each authentication, with a timeout) when JWKS is nil.
	JWKSURL string
}

func (c Client) asymmetric() bool { return c.JWKS != nil || c.JWKSURL != "" }
func (c Client) public() bool     { return c.Secret == "" && !c.asymmetric() }

// Patient is a patient the sandbox knows.
type Patient struct {
	ID   string
	Name string
}

// Simulation is an error the server simulates for one launch, as the SMART
// launcher can.
type Simulation string

// The simulations, by where they fire.
const (
	SimulateNone Simulation = ""
	// At authorize: redirect with error=unauthorized_client.
	SimulateInvalidClientID Simulation = "invalid_client_id"
	// At authorize: a 400 page, no redirect.
	SimulateInvalidRedirectURI Simulation = "invalid_redirect_uri"
	// At authorize: redirect with error=invalid_scope.
	SimulateInvalidScope Simulation = "invalid_scope"
	// At token: 401 invalid_client.
	SimulateInvalidClientSecret Simulation = "invalid_client_secret"
	// At token: 401 invalid_client.
	SimulateInvalidClient Simulation = "invalid_client"
	// At token: 401 invalid_client.
	SimulateInvalidJTI Simulation = "invalid_jti"
	// At token: 401 invalid_client.
	SimulateExpiredRegistrationToken Simulation = "expired_registration_token"
	// At refresh: 401 invalid_grant.
	SimulateExpiredRefreshToken Simulation = "expired_refresh_token"
	// At Introspect: ErrSimulated401, so that FHIR calls answer 401.
	SimulateFHIR401 Simulation = "fhir_401"
	// At Introspect: ErrSimulated503, so that FHIR calls answer 503.
	SimulateFHIR503 Simulation = "fhir_503"
)

func (sim Simulation) known() bool {
	switch sim {
	case SimulateNone, SimulateInvalidClientID, SimulateInvalidRedirectURI, SimulateInvalidScope,
		SimulateInvalidClientSecret, SimulateInvalidClient, SimulateInvalidJTI,
		SimulateExpiredRegistrationToken, SimulateExpiredRefreshToken, SimulateFHIR401, SimulateFHIR503:
		return true
	}
	return false
}

// LaunchContext is what an EHR launch hands the app.
type LaunchContext struct {
	Patient           string
	Encounter         string
	NeedPatientBanner bool
	Simulate          Simulation
}

// Grant is what an access token allows, as Introspect reports it.
type Grant struct {
	// Patient is the patient in context; "" for backend services.
	Patient string
	Scopes  []string
	// ClientID is the client the token was issued to.
	ClientID string
	Expires  time.Time
	// FHIRUser is the absolute URL of the user who authorized; "" for
	// backend services.
	FHIRUser string
}

// Server is the SMART authorization server. Create it with New.
type Server struct {
	issuer       string
	baseURL      string
	basePath     string
	authorizeURL string
	tokenURL     string
	jwksURL      string
	pickerURL    string
	fhirUser     string
	subject      string
	styleURL     string
	now          func() time.Time
	accessLife   time.Duration
	clients      map[string]Client
	patients     []Patient
	patientIDs   map[string]bool
	signer       jose.Signer
	publicKeys   jose.JSONWebKeySet
	httpClient   *http.Client
	pages        *template.Template

	mu        sync.Mutex
	lastSweep time.Time
	launches  map[string]launchRecord
	pending   map[string]pendingRecord
	codes     map[string]*codeRecord
	tokens    map[string]tokenRecord
	refreshes map[string]refreshRecord
	jtis      map[string]time.Time
}

// New checks cfg and returns a Server with a fresh RSA signing key.
func New(cfg Config) (*Server, error) {
	issuer, err := checkBaseURL(cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("smarttest: Issuer: %v", err)
	}
	base, err := checkBaseURL(cfg.BaseURL)
	if err != nil {
		return nil, fmt.Errorf("smarttest: BaseURL: %v", err)
	}
	if cfg.AccessTokenLifetime < 0 {
		return nil, errors.New("smarttest: AccessTokenLifetime is negative")
	}
	if cfg.StyleURL != "" {
		if _, err := checkAbsoluteURL(cfg.StyleURL); err != nil {
			return nil, fmt.Errorf("smarttest: StyleURL: %v", err)
		}
	}
	practitioner := cfg.Practitioner
	if practitioner == "" {
		practitioner = defaultFHIRUser
	}
	fhirUser, subject, err := absoluteUser(issuer.String(), practitioner)
	if err != nil {
		return nil, err
	}

	clients := make(map[string]Client, len(cfg.Clients))
	for i, c := range cfg.Clients {
		if c.ID == "" {
			return nil, fmt.Errorf("smarttest: client %d has no ID", i)
		}
		if _, dup := clients[c.ID]; dup {
			return nil, fmt.Errorf("smarttest: client %d: duplicate ID", i)
		}
		for _, u := range c.RedirectURIs {
			if _, err := checkAbsoluteURL(u); err != nil {
				return nil, fmt.Errorf("smarttest: client %d: redirect URI: %v", i, err)
			}
		}
		if c.JWKSURL != "" {
			if _, err := checkAbsoluteURL(c.JWKSURL); err != nil {
				return nil, fmt.Errorf("smarttest: client %d: JWKSURL: %v", i, err)
			}
		}
		c.RedirectURIs = slices.Clone(c.RedirectURIs)
		if c.JWKS != nil {
			keys := jose.JSONWebKeySet{Keys: make([]jose.JSONWebKey, 0, len(c.JWKS.Keys))}
			for _, k := range c.JWKS.Keys {
				keys.Keys = append(keys.Keys, k.Public())
			}
			c.JWKS = &keys
		}
		clients[c.ID] = c
	}
	patientIDs := make(map[string]bool, len(cfg.Patients))
	for i, p := range cfg.Patients {
		if p.ID == "" {
			return nil, fmt.Errorf("smarttest: patient %d has no ID", i)
		}
		if patientIDs[p.ID] {
			return nil, fmt.Errorf("smarttest: patient %d: duplicate ID", i)
		}
		patientIDs[p.ID] = true
	}

	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("smarttest: generate signing key: %v", err)
	}
	// Like the SMART launcher, the id_token carries no kid header.
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return nil, fmt.Errorf("smarttest: signer: %v", err)
	}
	pub := jose.JSONWebKey{Key: &key.PublicKey, Algorithm: string(jose.RS256), Use: "sig"}
	thumb, err := pub.Thumbprint(cryptoSHA256)
	if err != nil {
		return nil, fmt.Errorf("smarttest: key thumbprint: %v", err)
	}
	pub.KeyID = b64(thumb)

	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	life := cfg.AccessTokenLifetime
	if life == 0 {
		life = defaultAccessLife
	}
	b := strings.TrimSuffix(base.String(), "/")
	return &Server{
		issuer:       issuer.String(),
		baseURL:      b,
		basePath:     strings.TrimSuffix(base.EscapedPath(), "/"),
		authorizeURL: b + "/authorize",
		tokenURL:     b + "/token",
		jwksURL:      b + "/jwks",
		pickerURL:    b + "/picker",
		fhirUser:     fhirUser,
		subject:      subject,
		styleURL:     cfg.StyleURL,
		now:          now,
		accessLife:   life,
		clients:      clients,
		patients:     slices.Clone(cfg.Patients),
		patientIDs:   patientIDs,
		signer:       signer,
		publicKeys:   jose.JSONWebKeySet{Keys: []jose.JSONWebKey{pub}},
		httpClient:   &http.Client{Timeout: jwksFetchTimeout},
		pages:        template.Must(template.New("pages").Parse(pageTemplates)),
		launches:     map[string]launchRecord{},
		pending:      map[string]pendingRecord{},
		codes:        map[string]*codeRecord{},
		tokens:       map[string]tokenRecord{},
		refreshes:    map[string]refreshRecord{},
		jtis:         map[string]time.Time{},
	}, nil
}

// checkBaseURL accepts an absolute http(s) URL without query or fragment.
func checkBaseURL(raw string) (*url.URL, error) {
	u, err := checkAbsoluteURL(raw)
	if err != nil {
		return nil, err
	}
	if u.RawQuery != "" || u.Fragment != "" || u.ForceQuery {
		return nil, errors.New("must have no query or fragment")
	}
	return u, nil
}

func checkAbsoluteURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errors.New("not a URL")
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("must be an absolute http or https URL")
	}
	return u, nil
}

// absoluteUser turns "Practitioner/x" (or an absolute URL) into the
// absolute fhirUser URL and the relative reference used as sub.
func absoluteUser(issuer, practitioner string) (abs, rel string, err error) {
	if u, err := url.Parse(practitioner); err == nil && u.IsAbs() {
		return practitioner, practitioner, nil
	}
	typ, id, ok := strings.Cut(practitioner, "/")
	if !ok || typ == "" || id == "" || strings.Contains(id, "/") {
		return "", "", errors.New(`smarttest: Practitioner must look like "Practitioner/id"`)
	}
	return strings.TrimSuffix(issuer, "/") + "/" + practitioner, practitioner, nil
}

// Handler serves the endpoints under BaseURL's path: /authorize (GET and
// POST), /token, /jwks, /picker, /.well-known/openid-configuration and
// /.well-known/smart-configuration. It accepts request paths with or
// without BaseURL's path, so it can be mounted with or without
// http.StripPrefix.
func (s *Server) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		if rest, ok := strings.CutPrefix(p, s.basePath); ok && s.basePath != "" && strings.HasPrefix(rest, "/") {
			p = rest
		}
		switch p {
		case "/authorize":
			s.authorize(w, r)
		case "/token":
			s.token(w, r)
		case "/jwks":
			s.jwks(w, r)
		case "/picker":
			s.picker(w, r)
		case "/.well-known/openid-configuration":
			s.openIDConfiguration(w, r)
		case "/.well-known/smart-configuration":
			s.smartConfiguration(w, r)
		default:
			http.NotFound(w, r)
		}
	})
}

// NewLaunch records an EHR launch and returns its opaque launch code. The
// code can be used for an hour, as often as the app is launched with it.
func (s *Server) NewLaunch(lc LaunchContext) (string, error) {
	if !s.patientIDs[lc.Patient] {
		return "", ErrUnknownPatient
	}
	if !lc.Simulate.known() {
		return "", ErrUnknownSimulation
	}
	code, err := randomString()
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.sweepLocked(now)
	s.launches[code] = launchRecord{ctx: lc, expires: now.Add(launchLifetime)}
	return code, nil
}

// Introspect reports what an access token allows. It returns
// ErrInvalidToken for a token it never issued (or revoked),
// ErrExpiredToken for an expired one, and ErrSimulated401 (ErrSimulated503)
// for a token of a launch that simulates FHIR calls answering 401 (503).
func (s *Server) Introspect(token string) (Grant, error) {
	s.mu.Lock()
	rec, ok := s.tokens[token]
	now := s.now()
	s.mu.Unlock()
	if !ok {
		return Grant{}, ErrInvalidToken
	}
	if !now.Before(rec.grant.Expires) {
		return Grant{}, ErrExpiredToken
	}
	switch rec.sim {
	case SimulateFHIR401:
		return Grant{}, ErrSimulated401
	case SimulateFHIR503:
		return Grant{}, ErrSimulated503
	}
	g := rec.grant
	g.Scopes = slices.Clone(g.Scopes)
	return g, nil
}

// fetchJWKS fetches a client's key set.
func (s *Server) fetchJWKS(ctx context.Context, u string) (*jose.JSONWebKeySet, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, errors.New("smarttest: bad JWKS URL")
	}
	req.Header.Set("Accept", "application/json")
	resp, err := s.httpClient.Do(req)
	if err != nil {
		return nil, errors.New("smarttest: JWKS fetch failed")
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("smarttest: JWKS fetch answered %d", resp.StatusCode)
	}
	var set jose.JSONWebKeySet
	if err := decodeJSON(resp.Body, maxJWKSBytes, &set); err != nil {
		return nil, errors.New("smarttest: JWKS is not a JSON key set")
	}
	return &set, nil
}
