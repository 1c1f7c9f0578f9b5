package smart

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
)

// Sentinel errors. Callers branch on them with errors.Is.
var (
	// ErrUnknownIssuer: the iss of a launch is not on any configured EHR's allowlist.
	ErrUnknownIssuer = errors.New("smart: issuer is not on the allowlist of any configured EHR")
	// ErrStateMismatch: the callback's state is missing, unknown or was already used.
	ErrStateMismatch = errors.New("smart: unknown or already used authorization state")
	// ErrStateExpired: the callback came after the state's lifetime (10 minutes by default).
	ErrStateExpired = errors.New("smart: the authorization took too long and expired")
	// ErrReauthorize: the access can no longer be renewed; the user must launch the app again.
	ErrReauthorize = errors.New("smart: authorization ended; launch the app again from the EHR")
	// ErrDiscovery: neither .well-known/smart-configuration nor /metadata told us the endpoints.
	ErrDiscovery = errors.New("smart: discovery failed")
	// ErrUnsupported: the EHR does not advertise something the configuration needs
	// (a client authentication method, PKCE S256).
	ErrUnsupported = errors.New("smart: the EHR does not support the configured settings")
	// ErrIDToken: the id_token failed verification.
	ErrIDToken = errors.New("smart: id_token rejected")
	// ErrNoPatient: the token response carried no patient context.
	ErrNoPatient = errors.New("smart: the EHR sent no patient context")
	// ErrMissingCode: the callback carried neither a code nor an error.
	ErrMissingCode = errors.New("smart: the callback carried no authorization code")
	// ErrConfig: the configuration passed to New or BackendHTTPClient is invalid.
	ErrConfig = errors.New("smart: invalid configuration")
)

// Stages at which an authorization server can refuse.
const (
	StageAuthorize = "authorize" // error redirected to the callback
	StageToken     = "token"     // authorization code exchange
	StageRefresh   = "refresh"   // refresh token grant
	StageBackend   = "backend"   // client_credentials grant
)

// AuthError is an error reported by an authorization server, either redirected
// to the callback (Stage "authorize") or returned by the token endpoint.
//
// Error() holds Stage, Code, Status and Hint only. Description is the server's
// own text: show it to an integration engineer if you like, but do not log it,
// since servers echo request values in it.
type AuthError struct {
	EHR         string // configured EHR name, when known
	Stage       string // StageAuthorize, StageToken, StageRefresh or StageBackend
	Code        string // the OAuth error code, e.g. "invalid_client"; "" when the server sent none
	Description string // error_description as sent by the server
	Hint        string // what to check, for the person who configured the app
	Status      int    // HTTP status of the token response; 0 for Stage "authorize"
}

func (e *AuthError) Error() string {
	var b strings.Builder
	b.WriteString("smart: ")
	b.WriteString(e.Stage)
	b.WriteString(": ")
	if e.Code != "" {
		b.WriteString(e.Code)
	} else {
		b.WriteString("error")
	}
	if e.Status != 0 {
		fmt.Fprintf(&b, " (HTTP %d)", e.Status)
	}
	if e.Hint != "" {
		b.WriteString(": ")
		b.WriteString(e.Hint)
	}
	return b.String()
}

// LogValue leaves the server's description out.
func (e *AuthError) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("ehr", e.EHR),
		slog.String("stage", e.Stage),
		slog.String("code", e.Code),
		slog.Int("status", e.Status),
		slog.String("hint", e.Hint),
	)
}

// newAuthError builds an AuthError with a hint chosen from the code and,
// where one code covers several causes, from words in the description.
func newAuthError(ehr, stage, code, desc string, status int) *AuthError {
	return &AuthError{
		EHR:         ehr,
		Stage:       stage,
		Code:        code,
		Description: desc,
		Status:      status,
		Hint:        hint(stage, code, desc, status),
	}
}

func hint(stage, code, desc string, status int) string {
	d := strings.ToLower(desc)
	has := func(words ...string) bool {
		for _, w := range words {
			if strings.Contains(d, w) {
				return true
			}
		}
		return false
	}
	switch code {
	case "invalid_client", "unauthorized_client":
		switch {
		case has("jti"):
			return "the EHR refused the client assertion's jti (it must be unique and not replayed): check that the server clock is right and that one app instance is not reusing assertions"
		case has("registration", "expired"):
			return "the app's registration or its key has expired at the EHR: renew the registration or upload the current public key (JWKS)"
		case has("secret"):
			return "the client secret was refused: check the configured secret for this EHR (it is sent with HTTP Basic)"
		case has("redirect"):
			return "the redirect URI is not registered for this client: register the exact callback URL at the EHR"
		case has("jwk", "key", "kid", "signature", "assertion", "aud"):
			return "the client assertion (private_key_jwt) was refused: check that the EHR knows the app's JWKS URL or public key and that its kid matches"
		case has("client_id", "client id"):
			return "the client ID is not known to the EHR: check the configured client ID for this EHR"
		}
		if code == "unauthorized_client" {
			return "this client is not allowed to use this grant: check the app's registration (confidential vs public client, refresh tokens, backend services)"
		}
		if stage == StageAuthorize {
			return "the EHR does not know this client: check the configured client ID and that the app is activated for this EHR"
		}
		return "the EHR refused the client authentication: check the client ID and the client secret or private key configured for this EHR"
	case "invalid_scope":
		return "the EHR refused the requested scopes: compare the scopes configured for this EHR with those registered for the app"
	case "invalid_grant":
		switch {
		case stage == StageRefresh || has("refresh"):
			return "the refresh token is expired or revoked: launch the app again from the EHR"
		case has("pkce", "verifier", "challenge"):
			return "the PKCE verifier did not match: the callback was probably completed twice or by another app instance"
		case has("redirect"):
			return "the redirect URI sent to the token endpoint differs from the authorize request: check the configured redirect URI"
		}
		return "the authorization code is invalid, expired or already used: launch the app again"
	case "access_denied":
		return "the user or the EHR declined to authorize the app"
	case "unsupported_response_type", "unsupported_grant_type":
		return "the EHR does not allow this grant for the app: check the app's registration (confidential/public, refresh tokens)"
	case "login_required", "interaction_required", "consent_required":
		return "the EHR needs the user to sign in or consent: launch the app again from the EHR"
	case "server_error", "temporarily_unavailable":
		return "the EHR's authorization server had a problem: try again later"
	case "invalid_request":
		switch {
		case has("redirect"):
			return "the redirect URI was refused: register the exact callback URL (scheme, host, port, path) at the EHR"
		case has("aud", "audience"):
			return "the aud parameter was refused: the configured issuer must be the EHR's FHIR base URL exactly"
		case has("scope"):
			return "the requested scopes were refused: compare the configured scopes with the app's registration"
		case has("basic"):
			return "the EHR expects the client secret with HTTP Basic authentication: check the client secret configuration"
		case has("client_id", "client id"):
			return "the client ID was refused: check the configured client ID for this EHR"
		case has("launch"):
			return "the launch parameter was refused: the launch probably expired; launch the app again"
		}
		return "the EHR refused the request as malformed: check the redirect URI, client ID and scopes configured for this EHR"
	case "":
		switch {
		case status == 401 || status == 403:
			return "the EHR refused the client: check the client ID and client secret or private key for this EHR"
		case status >= 500:
			return "the EHR's authorization server had a problem: try again later"
		}
		return "the authorization server answered without an OAuth error: check the token endpoint it advertises"
	}
	return "the EHR refused the authorization: check the client ID, redirect URI and scopes registered for the app"
}
