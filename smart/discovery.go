package smart

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Body caps for responses we read.
const (
	maxSmallBody    = 1 << 20  // smart-configuration, token, JWKS, OIDC configuration
	maxMetadataBody = 16 << 20 // CapabilityStatements can be large
)

// oauthURIsExtension is the CapabilityStatement extension that carries the
// SMART endpoints for servers without .well-known/smart-configuration.
const oauthURIsExtension = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"

// Configuration is what an EHR advertises about its authorization server.
type Configuration struct {
	Issuer                   string   `json:"issuer,omitempty"` // the OIDC issuer, when advertised
	JWKSURI                  string   `json:"jwks_uri,omitempty"`
	AuthorizationEndpoint    string   `json:"authorization_endpoint"`
	TokenEndpoint            string   `json:"token_endpoint"`
	RevocationEndpoint       string   `json:"revocation_endpoint,omitempty"`
	IntrospectionEndpoint    string   `json:"introspection_endpoint,omitempty"`
	TokenEndpointAuthMethods []string `json:"token_endpoint_auth_methods_supported,omitempty"`
	GrantTypes               []string `json:"grant_types_supported,omitempty"`
	ScopesSupported          []string `json:"scopes_supported,omitempty"`
	CodeChallengeMethods     []string `json:"code_challenge_methods_supported,omitempty"`
	Capabilities             []string `json:"capabilities,omitempty"`
	// FromMetadata is true when the endpoints came from the CapabilityStatement's
	// oauth-uris extension; capabilities are then unknown.
	FromMetadata bool `json:"-"`
}

// Supports reports whether capability is advertised.
func (c *Configuration) Supports(capability string) bool { return contains(c.Capabilities, capability) }

// Discover returns the configuration of an allowlisted issuer, from the cache
// while it is fresh.
func (c *Client) Discover(ctx context.Context, iss string) (*Configuration, error) {
	if _, err := c.ehrFor(iss); err != nil {
		return nil, err
	}
	now := c.now()
	if cfg, ok := c.disc.get(iss, now); ok {
		return cfg, nil
	}
	cfg, err := discover(ctx, c.hc, iss)
	if err != nil {
		return nil, err
	}
	c.disc.put(iss, cfg, now.Add(c.discTTL))
	return cfg, nil
}

type discoveryCache struct {
	mu      sync.Mutex
	entries map[string]discoveryEntry
}

type discoveryEntry struct {
	cfg     *Configuration
	expires time.Time
}

func (d *discoveryCache) get(iss string, now time.Time) (*Configuration, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	e, ok := d.entries[iss]
	if !ok || !now.Before(e.expires) {
		return nil, false
	}
	return e.cfg, true
}

func (d *discoveryCache) put(iss string, cfg *Configuration, expires time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.entries[iss] = discoveryEntry{cfg: cfg, expires: expires}
}

// discover tries .well-known/smart-configuration, then /metadata.
func discover(ctx context.Context, hc *http.Client, iss string) (*Configuration, error) {
	base := strings.TrimSuffix(iss, "/")
	cfg, wkErr := fetchSmartConfiguration(ctx, hc, base+"/.well-known/smart-configuration")
	if wkErr == nil {
		return cfg, nil
	}
	if ctx.Err() != nil {
		return nil, fmt.Errorf("%w: %v", ErrDiscovery, ctx.Err())
	}
	cfg, mdErr := fetchMetadata(ctx, hc, base+"/metadata")
	if mdErr == nil {
		return cfg, nil
	}
	return nil, fmt.Errorf("%w: .well-known/smart-configuration: %v; metadata: %v", ErrDiscovery, wkErr, mdErr)
}

// getJSON fetches u with the Accept header and decodes a JSON body of at most limit bytes.
func getJSON(ctx context.Context, hc *http.Client, u, accept string, limit int64, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("bad URL")
	}
	req.Header.Set("Accept", accept)
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("request failed: %v", redactURLError(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || !(mt == "application/json" || strings.HasSuffix(mt, "+json")) {
			if strings.Contains(mt, "xml") {
				return fmt.Errorf("answered XML, not JSON")
			}
			return fmt.Errorf("answered %q, not JSON", mt)
		}
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return fmt.Errorf("reading body: %v", err)
	}
	if int64(len(body)) > limit {
		return fmt.Errorf("body larger than %d bytes", limit)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("not valid JSON")
	}
	return nil
}

func fetchSmartConfiguration(ctx context.Context, hc *http.Client, u string) (*Configuration, error) {
	var cfg Configuration
	if err := getJSON(ctx, hc, u, "application/json", maxSmallBody, &cfg); err != nil {
		return nil, err
	}
	if err := cfg.check(); err != nil {
		return nil, err
	}
	return &cfg, nil
}

func (c *Configuration) check() error {
	if c.AuthorizationEndpoint == "" || c.TokenEndpoint == "" {
		return fmt.Errorf("no authorization_endpoint or token_endpoint")
	}
	if err := checkEndpoint(c.AuthorizationEndpoint); err != nil {
		return fmt.Errorf("authorization_endpoint: %v", err)
	}
	if err := checkEndpoint(c.TokenEndpoint); err != nil {
		return fmt.Errorf("token_endpoint: %v", err)
	}
	if c.JWKSURI != "" && checkEndpoint(c.JWKSURI) != nil {
		c.JWKSURI = "" // unusable; id_token keys are then found through OIDC discovery
	}
	return nil
}

// capabilityStatement holds just the parts of a CapabilityStatement that carry oauth-uris.
type capabilityStatement struct {
	ResourceType string `json:"resourceType"`
	Rest         []struct {
		Security struct {
			Extension []extension `json:"extension"`
		} `json:"security"`
	} `json:"rest"`
}

type extension struct {
	URL       string      `json:"url"`
	ValueURI  string      `json:"valueUri"`
	Extension []extension `json:"extension"`
}

func fetchMetadata(ctx context.Context, hc *http.Client, u string) (*Configuration, error) {
	var cs capabilityStatement
	if err := getJSON(ctx, hc, u, "application/fhir+json", maxMetadataBody, &cs); err != nil {
		return nil, err
	}
	if cs.ResourceType != "CapabilityStatement" {
		return nil, fmt.Errorf("not a CapabilityStatement")
	}
	for _, r := range cs.Rest {
		for _, ext := range r.Security.Extension {
			if ext.URL != oauthURIsExtension {
				continue
			}
			cfg := &Configuration{FromMetadata: true}
			for _, sub := range ext.Extension {
				switch sub.URL {
				case "authorize":
					cfg.AuthorizationEndpoint = sub.ValueURI
				case "token":
					cfg.TokenEndpoint = sub.ValueURI
				case "revoke":
					cfg.RevocationEndpoint = sub.ValueURI
				case "introspect":
					cfg.IntrospectionEndpoint = sub.ValueURI
				}
			}
			if err := cfg.check(); err != nil {
				return nil, err
			}
			return cfg, nil
		}
	}
	return nil, fmt.Errorf("no SMART oauth-uris extension")
}
