package smarttest

import (
	"context"
	"crypto/subtle"
	"net/http"
	"net/url"
	"strings"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// jwtBearer is the only client_assertion_type accepted.
const jwtBearer = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

type authMethod int

const (
	authNone  authMethod = iota // public client: client_id in the body
	authBasic                   // client_secret_basic
	authJWT                     // private_key_jwt
)

// authenticateClient identifies and authenticates the client of a token
// request. Each client uses the method its registration implies: HTTP
// Basic for a client with a secret (never the secret in the body),
// private_key_jwt for a client with keys, and client_id alone for a public
// client.
func (s *Server) authenticateClient(r *http.Request, form url.Values) (Client, authMethod, *tokenError) {
	user, pass, hasBasic := r.BasicAuth()
	hasHeader := r.Header.Get("Authorization") != ""
	assertion, assertionType := form.Get("client_assertion"), form.Get("client_assertion_type")
	formID := form.Get("client_id")

	if form.Has("client_secret") {
		return Client{}, 0, invalidClient("client_secret in the body is not supported: send it with HTTP Basic")
	}
	if hasHeader && !hasBasic {
		return Client{}, 0, invalidClient("the Authorization header must use the Basic scheme")
	}
	if hasBasic && (assertion != "" || assertionType != "") {
		return Client{}, 0, badRequest("use one client authentication method, not both Basic and client_assertion")
	}

	switch {
	case hasBasic:
		// RFC 6749 section 2.3.1: both parts are form-encoded.
		id, err1 := url.QueryUnescape(user)
		secret, err2 := url.QueryUnescape(pass)
		fail := invalidClient("client authentication failed")
		fail.challenge = true
		if err1 != nil || err2 != nil {
			return Client{}, 0, fail
		}
		c, ok := s.clients[id]
		if !ok || c.Secret == "" || subtle.ConstantTimeCompare([]byte(secret), []byte(c.Secret)) != 1 {
			return Client{}, 0, fail
		}
		if formID != "" && formID != id {
			fail.description = "client_id differs from the authenticated client"
			return Client{}, 0, fail
		}
		return c, authBasic, nil

	case assertion != "" || assertionType != "":
		if assertionType != jwtBearer {
			return Client{}, 0, badRequest("client_assertion_type must be " + jwtBearer)
		}
		if assertion == "" {
			return Client{}, 0, badRequest("client_assertion is missing")
		}
		c, terr := s.verifyAssertion(r.Context(), assertion, formID)
		if terr != nil {
			return Client{}, 0, terr
		}
		return c, authJWT, nil
	}

	if formID == "" {
		return Client{}, 0, badRequest("client_id is missing")
	}
	c, ok := s.clients[formID]
	switch {
	case !ok:
		return Client{}, 0, invalidClient("client_id is not a registered client")
	case c.Secret != "":
		return Client{}, 0, invalidClient("this client is confidential: authenticate with HTTP Basic")
	case c.asymmetric():
		return Client{}, 0, invalidClient("this client is confidential: authenticate with private_key_jwt")
	}
	return c, authNone, nil
}

// verifyAssertion checks a private_key_jwt client assertion: RS384 or
// ES384 with a kid from the client's key set, iss = sub = client_id, aud =
// the token endpoint, exp in at most five minutes, and a jti never seen.
func (s *Server) verifyAssertion(ctx context.Context, assertion, formID string) (Client, *tokenError) {
	tok, err := jwt.ParseSigned(assertion, []jose.SignatureAlgorithm{jose.RS384, jose.ES384})
	if err != nil || len(tok.Headers) != 1 {
		return Client{}, invalidClient("client_assertion must be a compact JWT signed with RS384 or ES384")
	}
	h := tok.Headers[0]
	if h.KeyID == "" {
		return Client{}, invalidClient("client_assertion has no kid header")
	}
	var unverified jwt.Claims
	if err := tok.UnsafeClaimsWithoutVerification(&unverified); err != nil {
		return Client{}, invalidClient("client_assertion claims are not valid")
	}
	c, ok := s.clients[unverified.Issuer]
	if !ok {
		return Client{}, invalidClient("client_assertion iss is not a registered client")
	}
	if !c.asymmetric() {
		return Client{}, invalidClient("this client has no registered keys for private_key_jwt")
	}
	if formID != "" && formID != c.ID {
		return Client{}, invalidClient("client_id differs from the client_assertion iss")
	}
	keys := c.JWKS
	if keys == nil {
		if keys, err = s.fetchJWKS(ctx, c.JWKSURL); err != nil {
			return Client{}, invalidClient("the client's JWKS could not be fetched")
		}
	}
	var claims jwt.Claims
	verified := false
	for _, k := range keys.Key(h.KeyID) {
		if (k.Algorithm != "" && k.Algorithm != h.Algorithm) || (k.Use != "" && k.Use != "sig") {
			continue
		}
		pub := k.Public()
		if pub.Key == nil {
			continue
		}
		if err := tok.Claims(pub.Key, &claims); err == nil {
			verified = true
			break
		}
	}
	if !verified {
		return Client{}, invalidClient("client_assertion does not verify with the client's key for its kid")
	}

	now := s.now()
	switch {
	case claims.Issuer != c.ID || claims.Subject != c.ID:
		return Client{}, invalidClient("client_assertion iss and sub must both be the client_id")
	case !claims.Audience.Contains(s.tokenURL):
		return Client{}, invalidClient("client_assertion aud must be the token endpoint URL")
	case claims.Expiry == nil:
		return Client{}, invalidClient("client_assertion has no exp")
	case !now.Before(claims.Expiry.Time()):
		return Client{}, invalidClient("client_assertion has expired")
	case claims.Expiry.Time().Sub(now) > maxAssertionAhead:
		return Client{}, invalidClient("client_assertion exp is more than five minutes ahead")
	case claims.NotBefore != nil && now.Before(claims.NotBefore.Time()):
		return Client{}, invalidClient("client_assertion is not valid yet (nbf)")
	case strings.TrimSpace(claims.ID) == "":
		return Client{}, invalidClient("client_assertion has no jti")
	}
	key := c.ID + "\x00" + claims.ID
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweepLocked(now)
	if _, seen := s.jtis[key]; seen {
		return Client{}, invalidClient("client_assertion jti was already used")
	}
	s.jtis[key] = claims.Expiry.Time()
	return c, nil
}
