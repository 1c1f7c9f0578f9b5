package smarttest

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4/jwt"
)

// tokenError is an OAuth error answer of the token endpoint.
type tokenError struct {
	status      int
	code        string
	description string
	// challenge asks for WWW-Authenticate: the client tried HTTP Basic.
	challenge bool
}

func badRequest(description string) *tokenError {
	return &tokenError{status: http.StatusBadRequest, code: "invalid_request", description: description}
}

// invalidGrant answers 401, as the SMART launcher does.
func invalidGrant(description string) *tokenError {
	return &tokenError{status: http.StatusUnauthorized, code: "invalid_grant", description: description}
}

func invalidClient(description string) *tokenError {
	return &tokenError{status: http.StatusUnauthorized, code: "invalid_client", description: description}
}

func invalidScope(description string) *tokenError {
	return &tokenError{status: http.StatusBadRequest, code: "invalid_scope", description: description}
}

type tokenResponse struct {
	AccessToken       string `json:"access_token"`
	TokenType         string `json:"token_type"`
	ExpiresIn         int64  `json:"expires_in"`
	Scope             string `json:"scope"`
	RefreshToken      string `json:"refresh_token,omitempty"`
	IDToken           string `json:"id_token,omitempty"`
	Patient           string `json:"patient,omitempty"`
	Encounter         string `json:"encounter,omitempty"`
	NeedPatientBanner *bool  `json:"need_patient_banner,omitempty"`
	SmartStyleURL     string `json:"smart_style_url,omitempty"`
}

type idTokenClaims struct {
	Issuer   string `json:"iss"`
	Subject  string `json:"sub"`
	Audience string `json:"aud,omitempty"`
	IssuedAt int64  `json:"iat"`
	Expiry   int64  `json:"exp"`
	FHIRUser string `json:"fhirUser"`
	Nonce    string `json:"nonce,omitempty"`
}

// tokenParams are the single-valued parameters of a token request.
func tokenParams() []string {
	return []string{
		"grant_type", "code", "redirect_uri", "code_verifier", "client_id", "client_secret",
		"client_assertion", "client_assertion_type", "refresh_token", "scope",
	}
}

// token is the token endpoint.
func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		writeTokenError(w, &tokenError{status: http.StatusMethodNotAllowed, code: "invalid_request", description: "the token endpoint takes POST"})
		return
	}
	form, err := readForm(w, r)
	if err != nil {
		writeTokenError(w, badRequest(err.Error()))
		return
	}
	for _, p := range tokenParams() {
		if len(form[p]) > 1 {
			writeTokenError(w, badRequest("parameter "+p+" is repeated"))
			return
		}
	}
	var resp tokenResponse
	var terr *tokenError
	switch gt := form.Get("grant_type"); gt {
	case "":
		terr = badRequest("grant_type is missing")
	case "authorization_code":
		resp, terr = s.codeGrant(r, form)
	case "refresh_token":
		resp, terr = s.refreshGrant(r, form)
	case "client_credentials":
		resp, terr = s.clientCredentialsGrant(r, form)
	default:
		terr = &tokenError{status: http.StatusBadRequest, code: "unsupported_grant_type",
			description: "grant_type must be authorization_code, refresh_token or client_credentials"}
	}
	if terr != nil {
		writeTokenError(w, terr)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) codeGrant(r *http.Request, form url.Values) (tokenResponse, *tokenError) {
	client, method, terr := s.authenticateClient(r, form)
	if terr != nil {
		return tokenResponse{}, terr
	}
	code, redirectURI, verifier := form.Get("code"), form.Get("redirect_uri"), form.Get("code_verifier")
	switch {
	case code == "":
		return tokenResponse{}, badRequest("code is missing")
	case redirectURI == "":
		return tokenResponse{}, badRequest("redirect_uri is missing")
	case verifier == "":
		return tokenResponse{}, badRequest("code_verifier is missing: PKCE is required")
	case !validVerifier(verifier):
		return tokenResponse{}, badRequest("code_verifier must be 43 to 128 unreserved characters")
	}

	s.mu.Lock()
	rec, ok := s.codes[code]
	now := s.now()
	switch {
	case !ok:
		s.mu.Unlock()
		return tokenResponse{}, invalidGrant("the authorization code is unknown")
	case rec.used:
		// A replayed code revokes what it bought.
		rec.revoked = true
		s.revokeLocked(rec.issued)
		s.mu.Unlock()
		return tokenResponse{}, invalidGrant("the authorization code was already used")
	case !now.Before(rec.expires):
		delete(s.codes, code)
		s.mu.Unlock()
		return tokenResponse{}, invalidGrant("the authorization code has expired")
	}
	rec.used = true
	s.mu.Unlock()

	switch {
	case rec.sess.clientID != client.ID:
		return tokenResponse{}, invalidGrant("the authorization code was issued to another client")
	case rec.redirectURI != redirectURI:
		return tokenResponse{}, invalidGrant("redirect_uri differs from the one of the authorization request")
	case !verifierMatches(verifier, rec.challenge):
		return tokenResponse{}, invalidGrant("code_verifier does not match the code_challenge")
	}
	if terr := simulatedClientError(rec.sess.sim, method); terr != nil {
		return tokenResponse{}, terr
	}
	resp, issued, terr := s.issueTokens(rec.sess, true)
	if terr != nil {
		return tokenResponse{}, terr
	}
	s.mu.Lock()
	rec.issued = issued
	if rec.revoked {
		s.revokeLocked(issued)
	}
	s.mu.Unlock()
	return resp, nil
}

// simulatedClientError is the answer of a simulated token-time error, or nil.
func simulatedClientError(sim Simulation, method authMethod) *tokenError {
	var terr *tokenError
	switch sim {
	case SimulateInvalidClientSecret:
		terr = invalidClient("simulated error: the client secret is not valid")
	case SimulateInvalidClient:
		terr = invalidClient("simulated error: the client is not valid")
	case SimulateInvalidJTI:
		terr = invalidClient("simulated error: the jti of the client assertion is not valid")
	case SimulateExpiredRegistrationToken:
		terr = invalidClient("simulated error: the client registration has expired")
	default:
		return nil
	}
	terr.challenge = method == authBasic
	return terr
}

func (s *Server) refreshGrant(r *http.Request, form url.Values) (tokenResponse, *tokenError) {
	client, _, terr := s.authenticateClient(r, form)
	if terr != nil {
		return tokenResponse{}, terr
	}
	rt := form.Get("refresh_token")
	if rt == "" {
		return tokenResponse{}, badRequest("refresh_token is missing")
	}
	s.mu.Lock()
	rec, ok := s.refreshes[rt]
	now := s.now()
	s.mu.Unlock()
	switch {
	case !ok:
		return tokenResponse{}, invalidGrant("the refresh token is unknown")
	case rec.sess.clientID != client.ID:
		return tokenResponse{}, invalidGrant("the refresh token was issued to another client")
	case rec.sess.sim == SimulateExpiredRefreshToken:
		return tokenResponse{}, invalidGrant("simulated error: the refresh token has expired")
	case !now.Before(rec.expires):
		return tokenResponse{}, invalidGrant("the refresh token has expired")
	}
	sess := rec.sess
	sess.nonce = ""
	if sc := form.Get("scope"); sc != "" {
		asked := strings.Fields(sc)
		for _, a := range asked {
			if !slices.Contains(sess.scopes, a) {
				return tokenResponse{}, invalidScope("a refresh may only narrow the scopes granted")
			}
		}
		sess.scopes = grantScopes(sc, false)
	}
	resp, _, terr := s.issueTokens(sess, false)
	return resp, terr
}

func (s *Server) clientCredentialsGrant(r *http.Request, form url.Values) (tokenResponse, *tokenError) {
	client, method, terr := s.authenticateClient(r, form)
	if terr != nil {
		return tokenResponse{}, terr
	}
	if method != authJWT {
		return tokenResponse{}, invalidClient("client_credentials needs private_key_jwt client authentication")
	}
	sc := form.Get("scope")
	if sc == "" {
		return tokenResponse{}, invalidScope("scope is missing")
	}
	scopes := grantScopes(sc, true)
	if len(scopes) == 0 {
		return tokenResponse{}, invalidScope("client_credentials grants only system/ scopes")
	}
	resp, _, terr := s.issueTokens(session{clientID: client.ID, scopes: scopes}, true)
	return resp, terr
}

// issueTokens mints an access token (and a refresh token and id_token when
// the scopes ask for them) for sess and returns the response and the
// tokens minted. withAudience is false for refreshes: like the SMART
// launcher, a refreshed id_token has no aud.
func (s *Server) issueTokens(sess session, withAudience bool) (tokenResponse, []string, *tokenError) {
	serverError := &tokenError{status: http.StatusInternalServerError, code: "server_error", description: "the sandbox could not mint a token"}
	access, err := randomString()
	if err != nil {
		return tokenResponse{}, nil, serverError
	}
	now := s.now()
	resp := tokenResponse{
		AccessToken: access,
		TokenType:   "Bearer",
		ExpiresIn:   int64(s.accessLife / time.Second),
		Scope:       strings.Join(sess.scopes, " "),
	}
	if sess.fhirUser != "" {
		resp.SmartStyleURL = s.styleURL
		if sess.patient != "" {
			banner := sess.banner
			resp.Patient = sess.patient
			resp.Encounter = sess.encounter
			resp.NeedPatientBanner = &banner
		}
	}
	has := func(sc string) bool { return slices.Contains(sess.scopes, sc) }
	if sess.fhirUser != "" && (has("offline_access") || has("online_access")) {
		if resp.RefreshToken, err = randomString(); err != nil {
			return tokenResponse{}, nil, serverError
		}
	}
	if sess.fhirUser != "" && has("openid") && (has("fhirUser") || has("profile")) {
		claims := idTokenClaims{
			Issuer:   s.baseURL,
			Subject:  s.subject,
			IssuedAt: now.Unix(),
			Expiry:   now.Add(s.accessLife).Unix(),
			FHIRUser: sess.fhirUser,
			Nonce:    sess.nonce,
		}
		if withAudience {
			claims.Audience = sess.clientID
		}
		if resp.IDToken, err = jwt.Signed(s.signer).Claims(claims).Serialize(); err != nil {
			return tokenResponse{}, nil, serverError
		}
	}

	grant := Grant{
		Patient:  sess.patient,
		Scopes:   slices.Clone(sess.scopes),
		ClientID: sess.clientID,
		Expires:  now.Add(s.accessLife),
		FHIRUser: sess.fhirUser,
	}
	issued := []string{access}
	s.mu.Lock()
	s.sweepLocked(now)
	s.tokens[access] = tokenRecord{grant: grant, sim: sess.sim}
	if resp.RefreshToken != "" {
		s.refreshes[resp.RefreshToken] = refreshRecord{sess: sess, expires: now.Add(refreshLifetime)}
		issued = append(issued, resp.RefreshToken)
	}
	s.mu.Unlock()
	return resp, issued, nil
}

// revokeLocked forgets access and refresh tokens. s.mu must be held.
func (s *Server) revokeLocked(tokens []string) {
	for _, t := range tokens {
		delete(s.tokens, t)
		delete(s.refreshes, t)
	}
}

// validVerifier reports whether v is a PKCE code verifier (RFC 7636 4.1).
func validVerifier(v string) bool {
	if len(v) < 43 || len(v) > 128 {
		return false
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; !base64URLChar(c) && c != '.' && c != '~' {
			return false
		}
	}
	return true
}

func verifierMatches(verifier, challenge string) bool {
	sum := sha256.Sum256([]byte(verifier))
	return subtle.ConstantTimeCompare([]byte(b64(sum[:])), []byte(challenge)) == 1
}

type errorBody struct {
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
}

func writeTokenError(w http.ResponseWriter, e *tokenError) {
	if e.challenge {
		w.Header().Set("WWW-Authenticate", `Basic realm="sandbox", charset="UTF-8"`)
	}
	writeJSON(w, e.status, errorBody{Error: e.code, ErrorDescription: e.description})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	w.WriteHeader(status)
	w.Write(b)
}
