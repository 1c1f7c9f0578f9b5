package smart

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Secret is a client secret. It prints and logs as a placeholder; string(s) reveals it.
type Secret string

const redacted = "[redacted]"

func (s Secret) String() string               { return redacted }
func (s Secret) GoString() string             { return redacted }
func (s Secret) LogValue() slog.Value         { return slog.StringValue(redacted) }
func (s Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// EHR is one configured EHR (Epic, Oracle Health, a SMART sandbox).
type EHR struct {
	// Name identifies the EHR in logs and errors, e.g. "epic".
	Name string
	// Issuers is the allowlist of FHIR base URLs (the iss of a launch). An iss
	// matches when it equals an entry, ignoring one trailing slash on either side.
	Issuers []string
	// ClientID is the app's client ID at this EHR.
	ClientID string
	// ClientSecret makes the app a confidential symmetric client (HTTP Basic only).
	ClientSecret Secret
	// UsePrivateKeyJWT makes the app a confidential asymmetric client:
	// private_key_jwt with Config.Keys. It excludes ClientSecret.
	UsePrivateKeyJWT bool
	// Scopes are the resource scopes wanted, in a neutral form
	// "ResourceType.permissions" with permissions from "cruds" in that order
	// ("Patient.r", "Observation.rs", "CarePlan.cu"); "read" and "write" are
	// accepted for "rs" and "cud". They become patient/ scopes in v2 syntax where
	// the EHR advertises permission-v2, v1 (.read/.write) otherwise. No wildcards.
	Scopes []string
	// OfflineAccess requests offline_access; otherwise online_access is
	// requested where the EHR does not advertise a scopes_supported list lacking it.
	OfflineAccess bool
	// AuthorizePOST sends the authorize request as a form POST where the EHR
	// advertises authorize-post (Epic recommends it for long launch tokens).
	AuthorizePOST bool
}

// LogValue keeps the secret out.
func (e EHR) LogValue() slog.Value {
	return slog.GroupValue(slog.String("name", e.Name), slog.Bool("private_key_jwt", e.UsePrivateKeyJWT),
		slog.Bool("secret", e.ClientSecret != ""))
}

// Config configures a Client.
type Config struct {
	EHRs []EHR
	// RedirectURI is the app's callback URL, sent exactly as given.
	RedirectURI string
	// HTTPClient is used for discovery, token and JWKS requests. Nil means a
	// client with a 30-second timeout; a client without timeout gets one.
	HTTPClient *http.Client
	// Keys signs client assertions; required when any EHR uses private_key_jwt.
	Keys *KeySet
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger; nil discards.
	Logger *slog.Logger
	// StateTTL is how long an authorization may take; 0 means 10 minutes.
	StateTTL time.Duration
	// DiscoveryTTL is how long discovery results and JWKS are cached; 0 means 1 hour.
	DiscoveryTTL time.Duration
	// RefreshMargin is how long before expiry a token is refreshed; 0 means 1 minute.
	RefreshMargin time.Duration
	// ClockSkew tolerated when checking id_token times; 0 means 2 minutes.
	ClockSkew time.Duration
	// MaxPending caps the authorizations in progress; 0 means 10000.
	MaxPending int
}

// Defaults.
const (
	DefaultStateTTL      = 10 * time.Minute
	DefaultDiscoveryTTL  = time.Hour
	DefaultRefreshMargin = time.Minute
	DefaultClockSkew     = 2 * time.Minute
	DefaultHTTPTimeout   = 30 * time.Second
	defaultMaxPending    = 10000
)

// Client runs SMART App Launches against the configured EHRs. It is safe for
// concurrent use; each launch keeps its own state.
type Client struct {
	ehrs        []EHR
	redirectURI string
	hc          *http.Client
	keys        *KeySet
	now         func() time.Time
	log         *slog.Logger
	stateTTL    time.Duration
	discTTL     time.Duration
	margin      time.Duration
	skew        time.Duration

	disc    *discoveryCache
	jwks    *jwksCache
	pending *stateStore
}

// New validates cfg and returns a Client.
func New(cfg Config) (*Client, error) {
	if len(cfg.EHRs) == 0 {
		return nil, fmt.Errorf("%w: no EHR configured", ErrConfig)
	}
	if err := checkRedirectURI(cfg.RedirectURI); err != nil {
		return nil, err
	}
	names := map[string]bool{}
	issuers := map[string]string{}
	ehrs := make([]EHR, 0, len(cfg.EHRs))
	for _, e := range cfg.EHRs {
		if e.Name == "" {
			return nil, fmt.Errorf("%w: an EHR has no name", ErrConfig)
		}
		if names[e.Name] {
			return nil, fmt.Errorf("%w: EHR %q is configured twice", ErrConfig, e.Name)
		}
		names[e.Name] = true
		if e.ClientID == "" {
			return nil, fmt.Errorf("%w: EHR %q has no client ID", ErrConfig, e.Name)
		}
		if e.UsePrivateKeyJWT && e.ClientSecret != "" {
			return nil, fmt.Errorf("%w: EHR %q has both a client secret and private_key_jwt; choose one", ErrConfig, e.Name)
		}
		if e.UsePrivateKeyJWT && cfg.Keys == nil {
			return nil, fmt.Errorf("%w: EHR %q uses private_key_jwt but no keys are configured", ErrConfig, e.Name)
		}
		if len(e.Issuers) == 0 {
			return nil, fmt.Errorf("%w: EHR %q has no issuer", ErrConfig, e.Name)
		}
		for _, iss := range e.Issuers {
			if err := checkEndpoint(iss); err != nil {
				return nil, fmt.Errorf("%w: EHR %q issuer: %v", ErrConfig, e.Name, err)
			}
			k := strings.TrimSuffix(iss, "/")
			if other, ok := issuers[k]; ok {
				return nil, fmt.Errorf("%w: issuer of EHR %q is also configured for %q", ErrConfig, e.Name, other)
			}
			issuers[k] = e.Name
		}
		if len(e.Scopes) == 0 {
			return nil, fmt.Errorf("%w: EHR %q has no resource scopes", ErrConfig, e.Name)
		}
		for _, s := range e.Scopes {
			if _, err := parseNeutralScope(s); err != nil {
				return nil, fmt.Errorf("%w: EHR %q: %v", ErrConfig, e.Name, err)
			}
		}
		e.Issuers = append([]string(nil), e.Issuers...)
		e.Scopes = append([]string(nil), e.Scopes...)
		ehrs = append(ehrs, e)
	}
	c := &Client{
		ehrs:        ehrs,
		redirectURI: cfg.RedirectURI,
		hc:          withTimeout(cfg.HTTPClient),
		keys:        cfg.Keys,
		now:         cfg.Now,
		log:         cfg.Logger,
		stateTTL:    orDuration(cfg.StateTTL, DefaultStateTTL),
		discTTL:     orDuration(cfg.DiscoveryTTL, DefaultDiscoveryTTL),
		margin:      orDuration(cfg.RefreshMargin, DefaultRefreshMargin),
		skew:        orDuration(cfg.ClockSkew, DefaultClockSkew),
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	maxPending := cfg.MaxPending
	if maxPending <= 0 {
		maxPending = defaultMaxPending
	}
	c.disc = &discoveryCache{entries: map[string]discoveryEntry{}}
	c.jwks = &jwksCache{entries: map[string]jwksEntry{}}
	c.pending = &stateStore{m: map[string]*pending{}, max: maxPending}
	return c, nil
}

// ehrFor finds the EHR whose allowlist holds iss.
func (c *Client) ehrFor(iss string) (*EHR, error) {
	k := strings.TrimSuffix(iss, "/")
	for i := range c.ehrs {
		for _, allowed := range c.ehrs[i].Issuers {
			if strings.TrimSuffix(allowed, "/") == k {
				return &c.ehrs[i], nil
			}
		}
	}
	return nil, ErrUnknownIssuer
}

func orDuration(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// withTimeout returns hc, or a copy of it with a timeout when it has none.
func withTimeout(hc *http.Client) *http.Client {
	if hc == nil {
		return &http.Client{Timeout: DefaultHTTPTimeout}
	}
	if hc.Timeout == 0 {
		cp := *hc
		cp.Timeout = DefaultHTTPTimeout
		return &cp
	}
	return hc
}

func checkRedirectURI(s string) error {
	if s == "" {
		return fmt.Errorf("%w: no redirect URI", ErrConfig)
	}
	if err := checkEndpoint(s); err != nil {
		return fmt.Errorf("%w: redirect URI: %v", ErrConfig, err)
	}
	return nil
}

// checkEndpoint accepts absolute https URLs, and http ones on a loopback host.
func checkEndpoint(s string) error {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return fmt.Errorf("not an absolute URL")
	}
	if u.Fragment != "" || u.User != nil {
		return fmt.Errorf("URL must not have a fragment or user info")
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if isLoopback(u.Hostname()) {
			return nil
		}
		return fmt.Errorf("http is allowed only on a loopback host; use https")
	}
	return fmt.Errorf("scheme must be https")
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
