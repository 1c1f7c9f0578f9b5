package smart

import (
	"context"
	"errors"
	"net/url"
	"testing"
)

// An error redirect that does not belong to an authorization we started is
// refused as a state mismatch: its text is neither shown nor logged.
func TestErrorRedirectWithoutOurStateIsAStateMismatch(t *testing.T) {
	c, err := New(Config{
		EHRs:        []EHR{{Name: "test", Issuers: []string{"https://ehr.example.org/fhir"}, ClientID: "app", Scopes: []string{"Observation.rs"}}},
		RedirectURI: "https://app.example.org/callback",
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []url.Values{
		{"error": {"access_denied"}},
		{"error": {"access_denied"}, "state": {"forged"}},
		{"error": {"Your session expired, call 555-0100"}, "error_description": {"phish"}, "state": {"x"}},
	} {
		_, err := c.Complete(context.Background(), q)
		if !errors.Is(err, ErrStateMismatch) {
			t.Errorf("Complete(%v) = %v; want ErrStateMismatch", q, err)
		}
		var ae *AuthError
		if errors.As(err, &ae) {
			t.Errorf("Complete(%v) gave an AuthError; want no AuthError for a foreign state", q)
		}
	}
}

func TestOAuthCodeKeepsOnlyCodeCharacters(t *testing.T) {
	for in, want := range map[string]string{
		"invalid_client":          "invalid_client",
		"access_denied":           "access_denied",
		"call 555-0100 now":       "invalid_error_code",
		"<script>":                "invalid_error_code",
		string(make([]byte, 100)): "invalid_error_code",
	} {
		if got := oauthCode(in); got != want {
			t.Errorf("oauthCode(%q) = %q; want %q", in, got, want)
		}
	}
}
