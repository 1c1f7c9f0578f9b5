package smart

import (
	"errors"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

func TestIDTokenChecks(t *testing.T) {
	clock := newClock()
	f := newFakeEHR(t, launcher, clock) // JWKS with one key and no kid
	c := newTestClient(t, clock, f, clientOpts{}, EHR{Name: "l", Issuers: []string{f.iss()}, ClientID: f.clientID, Scopes: []string{"Patient.rs"}})
	cfg, err := c.Discover(t.Context(), f.iss())
	if err != nil {
		t.Fatal(err)
	}
	now := clock.Now()
	sign := func(claims map[string]any) string {
		t.Helper()
		s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: f.idKey}, nil)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := jwt.Signed(s).Claims(claims).Serialize()
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	base := func() map[string]any {
		return map[string]any{"iss": f.iss(), "aud": f.clientID, "exp": now.Add(time.Hour).Unix(), "fhirUser": "Practitioner/1", "nonce": "n1"}
	}
	with := func(k string, v any) map[string]any {
		m := base()
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	tests := []struct {
		name       string
		claims     map[string]any
		requireAud bool
		ok         bool
	}{
		{"valid, no kid, one key", base(), true, true},
		{"other audience", with("aud", "someone-else"), true, false},
		{"no aud at launch", with("aud", nil), true, false},
		{"no aud on refresh", with("aud", nil), false, true},
		{"expired within skew", with("exp", now.Add(-time.Minute).Unix()), true, true},
		{"expired beyond skew", with("exp", now.Add(-3*time.Minute).Unix()), true, false},
		{"no exp", with("exp", nil), true, false},
		{"issued in the future", with("iat", now.Add(10*time.Minute).Unix()), true, false},
		{"wrong nonce", with("nonce", "n2"), true, false},
		{"issuer on another host", with("iss", "https://evil.example/fhir"), true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.verifyIDToken(t.Context(), sign(tt.claims), idTokenCheck{fhirIss: f.iss(), cfg: cfg, clientID: f.clientID,
				nonce: "n1", requireAud: tt.requireAud, now: now, skew: DefaultClockSkew})
			if (err == nil) != tt.ok {
				t.Errorf("got %v; want ok=%v", err, tt.ok)
			}
			if err != nil && !errors.Is(err, ErrIDToken) {
				t.Errorf("got %v; want ErrIDToken", err)
			}
		})
	}
	// A token signed by another key fails.
	other := rsaKey(t)
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: other}, nil)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := jwt.Signed(s).Claims(base()).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.verifyIDToken(t.Context(), raw, idTokenCheck{fhirIss: f.iss(), cfg: cfg, clientID: f.clientID, requireAud: true, now: now, skew: DefaultClockSkew}); !errors.Is(err, ErrIDToken) {
		t.Errorf("foreign signature: got %v; want ErrIDToken", err)
	}
}
