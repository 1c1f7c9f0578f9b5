package smart

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
)

// Authorization tells the caller where to send the browser. Exactly one of
// URL and Form is set.
type Authorization struct {
	// URL is the authorize URL for a GET redirect (302/303).
	URL string
	// Form is set when the authorize request must be POSTed: render a page
	// with a <form method="post"> holding Fields as hidden inputs and a submit
	// button, plus an external script that submits it (no inline script).
	Form *PostForm
}

// PostForm is an authorize request to send as an HTML form POST.
type PostForm struct {
	Action string     // the authorize endpoint
	Fields url.Values // the authorize parameters, one hidden input each
}

// LogValue keeps the state and launch token out of logs.
func (a *Authorization) LogValue() slog.Value {
	method := "GET"
	if a.Form != nil {
		method = "POST"
	}
	return slog.GroupValue(slog.String("method", method))
}

// pending is an authorization in progress, keyed by its state.
type pending struct {
	ehr      *EHR
	iss      string
	launch   bool
	verifier string
	nonce    string
	cfg      *Configuration
	scopes   []string
	auth     clientAuth
	created  time.Time
}

type stateStore struct {
	mu  sync.Mutex
	m   map[string]*pending
	max int
}

func (s *stateStore) put(state string, p *pending, now time.Time, ttl time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.m) >= s.max {
		for k, v := range s.m {
			if now.Sub(v.created) >= ttl {
				delete(s.m, k)
			}
		}
		if len(s.m) >= s.max {
			return fmt.Errorf("smart: too many authorizations in progress")
		}
	}
	s.m[state] = p
	return nil
}

// take removes and returns the authorization for state: a state is used once.
func (s *stateStore) take(state string, now time.Time, ttl time.Duration) (*pending, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.m[state]
	if !ok {
		return nil, ErrStateMismatch
	}
	delete(s.m, state)
	if now.Sub(p.created) >= ttl {
		return nil, ErrStateExpired
	}
	return p, nil
}

// clientAuth is how the app authenticates at the token endpoint.
type clientAuth int

const (
	authPublic clientAuth = iota
	authSecretBasic
	authPrivateKeyJWT
)

func (a clientAuth) String() string {
	switch a {
	case authSecretBasic:
		return "client_secret_basic"
	case authPrivateKeyJWT:
		return "private_key_jwt"
	}
	return "public"
}

// chooseClientAuth checks the configured client authentication against what
// the EHR advertises (when it advertises anything).
func chooseClientAuth(e *EHR, cfg *Configuration) (clientAuth, error) {
	var a clientAuth
	var method, capability string
	switch {
	case e.UsePrivateKeyJWT:
		a, method, capability = authPrivateKeyJWT, "private_key_jwt", "client-confidential-asymmetric"
	case e.ClientSecret != "":
		a, method, capability = authSecretBasic, "client_secret_basic", "client-confidential-symmetric"
	default:
		a, method, capability = authPublic, "none", "client-public"
	}
	if a != authPublic && len(cfg.TokenEndpointAuthMethods) > 0 {
		if !contains(cfg.TokenEndpointAuthMethods, method) {
			return 0, fmt.Errorf("%w: EHR %q does not list %s in token_endpoint_auth_methods_supported (it lists %s)",
				ErrUnsupported, e.Name, method, strings.Join(cfg.TokenEndpointAuthMethods, ", "))
		}
	} else if len(cfg.Capabilities) > 0 && !cfg.Supports(capability) {
		return 0, fmt.Errorf("%w: EHR %q does not advertise %s", ErrUnsupported, e.Name, capability)
	}
	return a, nil
}

// Begin starts an authorization for a launch from iss. launch is the launch
// parameter as received, sent back verbatim; "" starts a standalone launch
// (scope launch/patient). It returns where to send the browser.
func (c *Client) Begin(ctx context.Context, iss, launch string) (*Authorization, error) {
	ehr, err := c.ehrFor(iss)
	if err != nil {
		return nil, err
	}
	cfg, err := c.Discover(ctx, iss)
	if err != nil {
		return nil, err
	}
	auth, err := chooseClientAuth(ehr, cfg)
	if err != nil {
		return nil, err
	}
	if len(cfg.CodeChallengeMethods) > 0 && !contains(cfg.CodeChallengeMethods, "S256") {
		return nil, fmt.Errorf("%w: EHR %q does not support PKCE S256", ErrUnsupported, ehr.Name)
	}
	state, err := randomString(32)
	if err != nil {
		return nil, err
	}
	nonce, err := randomString(24)
	if err != nil {
		return nil, err
	}
	verifier := oauth2.GenerateVerifier()
	scopes := scopeRequest(ehr, cfg, launch == "")

	v := url.Values{}
	v.Set("response_type", "code")
	v.Set("client_id", ehr.ClientID)
	v.Set("redirect_uri", c.redirectURI)
	if launch != "" {
		v.Set("launch", launch)
	}
	v.Set("scope", strings.Join(scopes, " "))
	v.Set("state", state)
	v.Set("aud", iss)
	v.Set("code_challenge", oauth2.S256ChallengeFromVerifier(verifier))
	v.Set("code_challenge_method", "S256")
	v.Set("nonce", nonce)

	now := c.now()
	p := &pending{ehr: ehr, iss: iss, launch: launch != "", verifier: verifier, nonce: nonce,
		cfg: cfg, scopes: scopes, auth: auth, created: now}
	if err := c.pending.put(state, p, now, c.stateTTL); err != nil {
		return nil, err
	}
	a := &Authorization{}
	if ehr.AuthorizePOST && cfg.Supports("authorize-post") {
		a.Form = &PostForm{Action: cfg.AuthorizationEndpoint, Fields: v}
	} else {
		sep := "?"
		if strings.Contains(cfg.AuthorizationEndpoint, "?") {
			sep = "&"
		}
		a.URL = cfg.AuthorizationEndpoint + sep + v.Encode()
	}
	c.log.LogAttrs(ctx, slog.LevelInfo, "smart: authorize",
		slog.String("ehr", ehr.Name), slog.Bool("ehr_launch", launch != ""),
		slog.Any("authorization", a), slog.String("client_auth", auth.String()),
		slog.Bool("scopes_v2", cfg.Supports("permission-v2")), slog.Bool("discovered_from_metadata", cfg.FromMetadata))
	return a, nil
}
