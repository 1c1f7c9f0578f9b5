package smart

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// idTokenAlgorithms are the signature algorithms accepted on id_tokens
// (SMART requires RS256 support; the others are harmless to allow).
var idTokenAlgorithms = []jose.SignatureAlgorithm{jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.ES256, jose.ES384}

// idTokenCheck holds what an id_token is checked against.
type idTokenCheck struct {
	fhirIss    string         // the launch's iss
	cfg        *Configuration // the EHR's discovery
	clientID   string
	nonce      string // checked when the token carries one
	requireAud bool   // false for a refreshed id_token, which may lack aud
	now        time.Time
	skew       time.Duration
}

type idClaims struct {
	jwt.Claims
	FHIRUser string `json:"fhirUser"`
	Profile  string `json:"profile"`
	Nonce    string `json:"nonce"`
	AZP      string `json:"azp"`
}

// user is fhirUser, or the older profile claim.
func (c *idClaims) user() string {
	if c.FHIRUser != "" {
		return c.FHIRUser
	}
	return c.Profile
}

// jwksCache caches OIDC discovery (issuer → jwks_uri) and key sets (jwks_uri → keys).
type jwksCache struct {
	mu      sync.Mutex
	entries map[string]jwksEntry
}

type jwksEntry struct {
	jwksURI string
	set     *jose.JSONWebKeySet
	expires time.Time
}

func (j *jwksCache) get(k string, now time.Time) (jwksEntry, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	e, ok := j.entries[k]
	if !ok || !now.Before(e.expires) {
		return jwksEntry{}, false
	}
	return e, true
}

func (j *jwksCache) put(k string, e jwksEntry) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.entries[k] = e
}

// verifyIDToken checks an id_token's signature and its iss, aud, exp, iat and nonce.
func (c *Client) verifyIDToken(ctx context.Context, raw string, chk idTokenCheck) (*idClaims, error) {
	tok, err := jwt.ParseSigned(raw, idTokenAlgorithms)
	if err != nil {
		return nil, fmt.Errorf("%w: not a signed JWT with an accepted algorithm", ErrIDToken)
	}
	if len(tok.Headers) != 1 {
		return nil, fmt.Errorf("%w: want one signature", ErrIDToken)
	}
	var unverified jwt.Claims
	if err := tok.UnsafeClaimsWithoutVerification(&unverified); err != nil {
		return nil, fmt.Errorf("%w: unreadable claims", ErrIDToken)
	}
	iss := unverified.Issuer
	if !trustedIDIssuer(iss, chk) {
		return nil, fmt.Errorf("%w: issuer is neither the advertised issuer nor on the EHR's host", ErrIDToken)
	}
	jwksURI, err := c.idTokenJWKSURI(ctx, iss, chk)
	if err != nil {
		return nil, err
	}
	h := tok.Headers[0]
	var claims idClaims
	verified := false
	for attempt := 0; attempt < 2 && !verified; attempt++ {
		set, err := c.keySet(ctx, jwksURI, chk.now, attempt > 0)
		if err != nil {
			return nil, err
		}
		key, ok := pickKey(set, h.KeyID, h.Algorithm)
		if !ok {
			continue // perhaps rotated: fetch the key set again once
		}
		if err := tok.Claims(key.Key, &claims); err != nil {
			return nil, fmt.Errorf("%w: bad signature", ErrIDToken)
		}
		verified = true
	}
	if !verified {
		return nil, fmt.Errorf("%w: no matching key in the issuer's JWKS", ErrIDToken)
	}
	if claims.Issuer != iss {
		return nil, fmt.Errorf("%w: issuer changed", ErrIDToken)
	}
	if len(claims.Audience) == 0 {
		if chk.requireAud {
			return nil, fmt.Errorf("%w: no aud", ErrIDToken)
		}
	} else if !claims.Audience.Contains(chk.clientID) {
		return nil, fmt.Errorf("%w: aud is not this client", ErrIDToken)
	} else if len(claims.Audience) > 1 && claims.AZP != "" && claims.AZP != chk.clientID {
		return nil, fmt.Errorf("%w: azp is not this client", ErrIDToken)
	}
	if claims.Expiry == nil {
		return nil, fmt.Errorf("%w: no exp", ErrIDToken)
	}
	if chk.now.After(claims.Expiry.Time().Add(chk.skew)) {
		return nil, fmt.Errorf("%w: expired", ErrIDToken)
	}
	if claims.IssuedAt != nil && claims.IssuedAt.Time().After(chk.now.Add(chk.skew)) {
		return nil, fmt.Errorf("%w: issued in the future", ErrIDToken)
	}
	if claims.NotBefore != nil && claims.NotBefore.Time().After(chk.now.Add(chk.skew)) {
		return nil, fmt.Errorf("%w: not yet valid", ErrIDToken)
	}
	if chk.nonce != "" && claims.Nonce != "" && claims.Nonce != chk.nonce {
		return nil, fmt.Errorf("%w: nonce mismatch", ErrIDToken)
	}
	return &claims, nil
}

// trustedIDIssuer accepts the issuer the EHR advertises, or one on the host of
// its FHIR base or token endpoint: the id_token came from that token endpoint.
func trustedIDIssuer(iss string, chk idTokenCheck) bool {
	if iss == "" || checkEndpoint(iss) != nil {
		return false
	}
	if chk.cfg.Issuer != "" && strings.TrimSuffix(chk.cfg.Issuer, "/") == strings.TrimSuffix(iss, "/") {
		return true
	}
	o := origin(iss)
	return o == origin(chk.fhirIss) || o == origin(chk.cfg.TokenEndpoint)
}

func origin(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "\x00invalid"
	}
	return strings.ToLower(u.Scheme + "://" + u.Host)
}

// idTokenJWKSURI finds the issuer's jwks_uri: from the SMART configuration
// when it names this issuer, else from OIDC discovery.
func (c *Client) idTokenJWKSURI(ctx context.Context, iss string, chk idTokenCheck) (string, error) {
	if chk.cfg.JWKSURI != "" && strings.TrimSuffix(chk.cfg.Issuer, "/") == strings.TrimSuffix(iss, "/") {
		return chk.cfg.JWKSURI, nil
	}
	key := "oidc " + iss
	if e, ok := c.jwks.get(key, chk.now); ok {
		return e.jwksURI, nil
	}
	var oc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	u := strings.TrimSuffix(iss, "/") + "/.well-known/openid-configuration"
	if err := getJSON(ctx, c.hc, u, "application/json", maxSmallBody, &oc); err != nil {
		return "", fmt.Errorf("%w: OIDC discovery: %v", ErrIDToken, err)
	}
	if strings.TrimSuffix(oc.Issuer, "/") != strings.TrimSuffix(iss, "/") {
		return "", fmt.Errorf("%w: OIDC discovery names another issuer", ErrIDToken)
	}
	if err := checkEndpoint(oc.JWKSURI); err != nil {
		return "", fmt.Errorf("%w: OIDC jwks_uri: %v", ErrIDToken, err)
	}
	c.jwks.put(key, jwksEntry{jwksURI: oc.JWKSURI, expires: chk.now.Add(c.discTTL)})
	return oc.JWKSURI, nil
}

func (c *Client) keySet(ctx context.Context, jwksURI string, now time.Time, fresh bool) (*jose.JSONWebKeySet, error) {
	key := "jwks " + jwksURI
	if !fresh {
		if e, ok := c.jwks.get(key, now); ok {
			return e.set, nil
		}
	}
	var set jose.JSONWebKeySet
	if err := getJSON(ctx, c.hc, jwksURI, "application/json", maxSmallBody, &set); err != nil {
		return nil, fmt.Errorf("%w: JWKS: %v", ErrIDToken, err)
	}
	c.jwks.put(key, jwksEntry{set: &set, expires: now.Add(c.discTTL)})
	return &set, nil
}

// pickKey selects the verification key: by kid when the header has one, else
// the only signing key of the set.
func pickKey(set *jose.JSONWebKeySet, kid, alg string) (jose.JSONWebKey, bool) {
	var cands []jose.JSONWebKey
	for _, k := range set.Keys {
		if k.Use != "" && k.Use != "sig" {
			continue
		}
		if k.Algorithm != "" && alg != "" && k.Algorithm != alg {
			continue
		}
		if !k.IsPublic() {
			continue
		}
		if kid != "" && k.KeyID != kid {
			continue
		}
		cands = append(cands, k)
	}
	if len(cands) != 1 {
		return jose.JSONWebKey{}, false
	}
	return cands[0], true
}

// errFHIRUser is returned for an unusable fhirUser claim.
var errFHIRUser = errors.New("fhirUser is not a FHIR resource reference")

// parseFHIRUser turns a relative or absolute fhirUser into "Type/id" and an
// absolute URL (a relative one is resolved against base).
func parseFHIRUser(s, base string) (rel, abs string, err error) {
	if s == "" {
		return "", "", errFHIRUser
	}
	path := s
	absolute := strings.Contains(s, "://")
	if absolute {
		u, err := url.Parse(s)
		if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
			return "", "", errFHIRUser
		}
		path = strings.TrimSuffix(u.Path, "/")
	}
	if i := strings.Index(path, "/_history/"); i >= 0 {
		path = path[:i]
	}
	parts := strings.Split(path, "/")
	if len(parts) < 2 {
		return "", "", errFHIRUser
	}
	typ, id := parts[len(parts)-2], parts[len(parts)-1]
	if !absolute && len(parts) != 2 {
		return "", "", errFHIRUser
	}
	if !isResourceType(typ) || !isFHIRID(id) {
		return "", "", errFHIRUser
	}
	rel = typ + "/" + id
	if absolute {
		return rel, s, nil
	}
	return rel, strings.TrimSuffix(base, "/") + "/" + rel, nil
}

func isFHIRID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '.') {
			return false
		}
	}
	return true
}
