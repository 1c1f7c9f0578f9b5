package smarttest

import (
	"crypto"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"time"
)

// cryptoSHA256 names the thumbprint hash; go-jose links SHA-256 in.
const cryptoSHA256 = crypto.SHA256

// tokenTombstone is how long an expired access token is remembered, so that
// Introspect can tell "expired" from "never issued".
const tokenTombstone = 24 * time.Hour

// session is the context an authorization carries from the code to the
// tokens and on through refreshes.
type session struct {
	clientID  string
	scopes    []string
	patient   string
	encounter string
	banner    bool
	fhirUser  string // absolute; "" for backend services
	sim       Simulation
	nonce     string
}

// authRequest is a checked authorization request.
type authRequest struct {
	clientID    string
	redirectURI string
	state       string
	challenge   string
	scopes      []string
	nonce       string
}

type launchRecord struct {
	ctx     LaunchContext
	expires time.Time
}

// pendingRecord is a standalone authorization waiting for the picker.
type pendingRecord struct {
	req     authRequest
	expires time.Time
}

type codeRecord struct {
	redirectURI string
	challenge   string
	sess        session
	expires     time.Time
	used        bool
	revoked     bool
	// issued lists the access and refresh tokens minted from this code, so
	// that a replayed code revokes them (RFC 6749 section 4.1.2).
	issued []string
}

type tokenRecord struct {
	grant Grant
	sim   Simulation
}

type refreshRecord struct {
	sess    session
	expires time.Time
}

// randomString returns 32 bytes from crypto/rand, base64url-encoded.
func randomString() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", errors.New("smarttest: no randomness")
	}
	return b64(b), nil
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// sweepLocked drops what has expired, at most once per sweepInterval.
// s.mu must be held.
func (s *Server) sweepLocked(now time.Time) {
	if now.Sub(s.lastSweep) < sweepInterval && !now.Before(s.lastSweep) {
		return
	}
	s.lastSweep = now
	for k, v := range s.launches {
		if !now.Before(v.expires) {
			delete(s.launches, k)
		}
	}
	for k, v := range s.pending {
		if !now.Before(v.expires) {
			delete(s.pending, k)
		}
	}
	for k, v := range s.codes {
		if !now.Before(v.expires) {
			delete(s.codes, k)
		}
	}
	for k, v := range s.tokens {
		if now.After(v.grant.Expires.Add(tokenTombstone)) {
			delete(s.tokens, k)
		}
	}
	for k, v := range s.refreshes {
		if !now.Before(v.expires) {
			delete(s.refreshes, k)
		}
	}
	for k, exp := range s.jtis {
		if now.After(exp) {
			delete(s.jtis, k)
		}
	}
}

// decodeJSON decodes one JSON value of at most limit bytes.
func decodeJSON(r io.Reader, limit int64, v any) error {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return err
	}
	if int64(len(b)) > limit {
		return errors.New("too large")
	}
	return json.Unmarshal(b, v)
}
