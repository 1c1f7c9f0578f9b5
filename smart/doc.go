// Package smart is mbcplan's SMART App Launch client.
//
// A launch from an EHR goes through a Client in two steps:
//
//	a, err := c.Begin(ctx, iss, launch) // allowlist, discovery, state + PKCE
//	// redirect to a.URL, or render a.Form (POST) with a button and an external script
//	l, err := c.Complete(ctx, r.URL.Query()) // state check, code exchange, id_token
//	fhirClient := l.HTTPClient(base)         // bearer token, renewal, one retry after 401
//
// Discovery reads {iss}/.well-known/smart-configuration and falls back to the
// CapabilityStatement's oauth-uris extension at {iss}/metadata. Scopes use v2
// syntax where the EHR advertises permission-v2 and v1 otherwise. Client
// authentication is public, a client secret with HTTP Basic, or
// private_key_jwt with a KeySet (RS384 or ES384), whose public keys
// KeySet.JWKSHandler serves.
//
// Authorization server refusals are *AuthError values with a Hint for the
// person who configured the app. Tokens, codes, state and secrets never appear
// in errors or logs.
package smart
