package smart

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// ErrBackendUnauthorized: the FHIR server refused a freshly issued backend token.
var ErrBackendUnauthorized = errors.New("smart: the FHIR server refused the backend service token")

// BackendConfig configures SMART Backend Services (client_credentials with
// private_key_jwt) for batch use without a user.
type BackendConfig struct {
	// FHIRBase is the FHIR server; its discovery gives the token endpoint
	// unless TokenURL is set. Only requests to its origin carry the token.
	FHIRBase string
	// TokenURL, when set, skips discovery.
	TokenURL string
	ClientID string
	Keys     *KeySet
	// Scopes in the neutral form of EHR.Scopes ("Patient.rs") become system/
	// scopes: v2 syntax where permission-v2 is advertised or when TokenURL is
	// given (no discovery), v1 otherwise. Scopes holding a "/" are sent as given.
	Scopes        []string
	HTTPClient    *http.Client
	Now           func() time.Time
	Logger        *slog.Logger
	RefreshMargin time.Duration
}

// BackendHTTPClient gets a first token (so a misconfiguration shows at once)
// and returns a client that sends it to cfg.FHIRBase, requests a new one before
// expiry with a fresh client assertion, and after a 401 renews once and
// retries replayable requests (a second 401 gives ErrBackendUnauthorized).
func BackendHTTPClient(ctx context.Context, cfg BackendConfig) (*http.Client, error) {
	if cfg.ClientID == "" || cfg.Keys == nil {
		return nil, fmt.Errorf("%w: backend services need a client ID and keys", ErrConfig)
	}
	if err := checkEndpoint(cfg.FHIRBase); err != nil {
		return nil, fmt.Errorf("%w: FHIR base: %v", ErrConfig, err)
	}
	hc := withTimeout(cfg.HTTPClient)
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	tokenURL := cfg.TokenURL
	v2 := true
	if tokenURL == "" {
		disc, err := discover(ctx, hc, cfg.FHIRBase)
		if err != nil {
			return nil, err
		}
		tokenURL = disc.TokenEndpoint
		v2 = disc.Supports("permission-v2")
		if len(disc.TokenEndpointAuthMethods) > 0 && !contains(disc.TokenEndpointAuthMethods, "private_key_jwt") {
			return nil, fmt.Errorf("%w: the FHIR server does not list private_key_jwt", ErrUnsupported)
		}
	} else if err := checkEndpoint(tokenURL); err != nil {
		return nil, fmt.Errorf("%w: token URL: %v", ErrConfig, err)
	}
	scopes, err := systemScopes(cfg.Scopes, v2)
	if err != nil {
		return nil, err
	}
	renew := func(ctx context.Context, _ *oauth2.Token) (*oauth2.Token, time.Time, error) {
		a, err := cfg.Keys.ClientAssertion(cfg.ClientID, tokenURL, now())
		if err != nil {
			return nil, time.Time{}, err
		}
		cc := &clientcredentials.Config{
			ClientID:  cfg.ClientID,
			TokenURL:  tokenURL,
			Scopes:    scopes,
			AuthStyle: oauth2.AuthStyleInParams,
			EndpointParams: map[string][]string{
				"client_assertion_type": {clientAssertionType},
				"client_assertion":      {a},
			},
		}
		tok, err := cc.Token(context.WithValue(ctx, oauth2.HTTPClient, hc))
		if err != nil {
			return nil, time.Time{}, tokenError("backend", StageBackend, err)
		}
		return &oauth2.Token{AccessToken: tok.AccessToken, TokenType: tok.TokenType}, expiryOf(tok, now()), nil
	}
	first, expiry, err := renew(ctx, nil)
	if err != nil {
		return nil, err
	}
	ts := &tokenSource{
		name:         "backend",
		now:          now,
		margin:       orDuration(cfg.RefreshMargin, DefaultRefreshMargin),
		log:          log,
		renew:        renew,
		unauthorized: ErrBackendUnauthorized,
		tok:          first,
		expiry:       expiry,
	}
	log.LogAttrs(ctx, slog.LevelInfo, "smart: backend token obtained", slog.Int("scopes", len(scopes)))
	return newBearerClient(hc, cfg.FHIRBase, ts), nil
}

func systemScopes(in []string, v2 bool) ([]string, error) {
	if len(in) == 0 {
		return nil, fmt.Errorf("%w: backend services need scopes", ErrConfig)
	}
	var out []string
	for _, s := range in {
		if strings.Contains(s, "/") {
			if strings.Contains(s, "*") {
				return nil, fmt.Errorf("%w: scope %q: no wildcards", ErrConfig, s)
			}
			out = append(out, s)
			continue
		}
		rs, err := parseNeutralScope(s)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrConfig, err)
		}
		if v2 {
			out = append(out, rs.v2("system"))
		} else {
			out = append(out, rs.v1("system")...)
		}
	}
	return out, nil
}
