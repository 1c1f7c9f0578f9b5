package smarttest

import (
	"encoding/json"
	"net/http"
)

// smartConfig is the SMART App Launch discovery document.
type smartConfig struct {
	Issuer                            string   `json:"issuer"`
	JWKSURI                           string   `json:"jwks_uri"`
	AuthorizationEndpoint             string   `json:"authorization_endpoint"`
	TokenEndpoint                     string   `json:"token_endpoint"`
	GrantTypesSupported               []string `json:"grant_types_supported"`
	TokenEndpointAuthMethodsSupported []string `json:"token_endpoint_auth_methods_supported"`
	TokenEndpointAuthSigningAlgs      []string `json:"token_endpoint_auth_signing_alg_values_supported"`
	ScopesSupported                   []string `json:"scopes_supported"`
	ResponseTypesSupported            []string `json:"response_types_supported"`
	CodeChallengeMethodsSupported     []string `json:"code_challenge_methods_supported"`
	Capabilities                      []string `json:"capabilities"`
}

// openIDConfig is the OpenID Connect discovery document.
type openIDConfig struct {
	Issuer                            string   `json:"issuer"`
	JWKSURI                           string   `json:"jwks_uri"`
	AuthorizationEndpoint             string   `json:"authorization_endpoint"`
	TokenEndpoint                     string   `json:"token_endpoint"`
	GrantTypesSupported               []string `json:"grant_types_supported"`
	TokenEndpointAuthMethodsSupported []string `json:"token_endpoint_auth_methods_supported"`
	TokenEndpointAuthSigningAlgs      []string `json:"token_endpoint_auth_signing_alg_values_supported"`
	ScopesSupported                   []string `json:"scopes_supported"`
	ResponseTypesSupported            []string `json:"response_types_supported"`
	SubjectTypesSupported             []string `json:"subject_types_supported"`
	IDTokenSigningAlgs                []string `json:"id_token_signing_alg_values_supported"`
	ClaimsSupported                   []string `json:"claims_supported"`
	CodeChallengeMethodsSupported     []string `json:"code_challenge_methods_supported"`
}

func grantTypes() []string {
	return []string{"authorization_code", "client_credentials", "refresh_token"}
}

func authMethods() []string {
	return []string{"client_secret_basic", "private_key_jwt", "none"}
}

func assertionAlgs() []string { return []string{"RS384", "ES384"} }

// SmartConfiguration serves the JSON of {Issuer}/.well-known/smart-configuration;
// mount it under the FHIR base. It answers GET and HEAD whatever the path.
func (s *Server) SmartConfiguration() http.Handler {
	return http.HandlerFunc(s.smartConfiguration)
}

func (s *Server) smartConfiguration(w http.ResponseWriter, r *http.Request) {
	writeDiscovery(w, r, smartConfig{
		Issuer:                            s.baseURL,
		JWKSURI:                           s.jwksURL,
		AuthorizationEndpoint:             s.authorizeURL,
		TokenEndpoint:                     s.tokenURL,
		GrantTypesSupported:               grantTypes(),
		TokenEndpointAuthMethodsSupported: authMethods(),
		TokenEndpointAuthSigningAlgs:      assertionAlgs(),
		ScopesSupported:                   scopesSupported(),
		ResponseTypesSupported:            []string{"code"},
		CodeChallengeMethodsSupported:     []string{"S256"},
		Capabilities: []string{
			"launch-ehr", "launch-standalone",
			"client-public", "client-confidential-symmetric", "client-confidential-asymmetric",
			"context-ehr-patient", "context-ehr-encounter", "context-standalone-patient",
			"context-banner", "context-style",
			"sso-openid-connect",
			"permission-offline", "permission-online", "permission-patient", "permission-user",
			"permission-v1", "permission-v2",
			"authorize-post",
		},
	})
}

func (s *Server) openIDConfiguration(w http.ResponseWriter, r *http.Request) {
	writeDiscovery(w, r, openIDConfig{
		Issuer:                            s.baseURL,
		JWKSURI:                           s.jwksURL,
		AuthorizationEndpoint:             s.authorizeURL,
		TokenEndpoint:                     s.tokenURL,
		GrantTypesSupported:               grantTypes(),
		TokenEndpointAuthMethodsSupported: authMethods(),
		TokenEndpointAuthSigningAlgs:      assertionAlgs(),
		ScopesSupported:                   scopesSupported(),
		ResponseTypesSupported:            []string{"code"},
		SubjectTypesSupported:             []string{"public"},
		IDTokenSigningAlgs:                []string{"RS256"},
		ClaimsSupported:                   []string{"iss", "sub", "aud", "exp", "iat", "nonce", "fhirUser"},
		CodeChallengeMethodsSupported:     []string{"S256"},
	})
}

// jwks serves the public key that signs id_tokens.
func (s *Server) jwks(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "public, max-age=3600")
	writeDiscovery(w, r, s.publicKeys)
}

func writeDiscovery(w http.ResponseWriter, r *http.Request, v any) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Access-Control-Allow-Origin", "*")
	if h.Get("Cache-Control") == "" {
		h.Set("Cache-Control", "no-cache")
	}
	if r.Method == http.MethodHead {
		return
	}
	w.Write(b)
}
