package smarttest

import (
	"bytes"
	"errors"
	"mime"
	"net/http"
	"net/url"
	"slices"
)

const pageTemplates = `
{{define "error"}}<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sandbox EHR: authorization refused</title></head>
<body><h1>Authorization refused</h1><p>{{.}}</p>
<p>The sandbox EHR does not send you back to the app because it cannot trust where it would send you.</p></body></html>
{{end}}
{{define "picker"}}<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sandbox EHR: choose a patient</title></head>
<body><h1>Choose a patient</h1>
{{if .}}<ul>{{range .}}<li><a href="{{.Href}}">{{.Name}}</a></li>
{{end}}</ul>{{else}}<p>The sandbox has no patients.</p>{{end}}
</body></html>
{{end}}`

type pickerLink struct {
	Name string
	Href string
}

// authorizeParams are the single-valued parameters of an authorization request.
func authorizeParams() []string {
	return []string{
		"response_type", "client_id", "redirect_uri", "scope", "state", "aud",
		"code_challenge", "code_challenge_method", "launch", "nonce",
	}
}

// authorize handles GET and POST authorization requests. Problems with the
// client or the redirect URI answer a 400 page; every other problem is
// redirected to the client with error and error_description.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) {
	var q url.Values
	switch r.Method {
	case http.MethodGet:
		q = r.URL.Query()
	case http.MethodPost:
		f, err := readForm(w, r)
		if err != nil {
			s.errorPage(w, http.StatusBadRequest, "The authorization request body is not a valid form ("+err.Error()+").")
			return
		}
		q = f
	default:
		w.Header().Set("Allow", "GET, POST")
		s.errorPage(w, http.StatusMethodNotAllowed, "Use GET or POST for the authorization request.")
		return
	}
	if len(q["client_id"]) > 1 || len(q["redirect_uri"]) > 1 {
		s.errorPage(w, http.StatusBadRequest, "client_id and redirect_uri must each appear once.")
		return
	}
	clientID := q.Get("client_id")
	if clientID == "" {
		s.errorPage(w, http.StatusBadRequest, "client_id is missing.")
		return
	}
	client, ok := s.clients[clientID]
	if !ok {
		s.errorPage(w, http.StatusBadRequest, "client_id is not a registered client.")
		return
	}
	redirectURI := q.Get("redirect_uri")
	if redirectURI == "" {
		s.errorPage(w, http.StatusBadRequest, "redirect_uri is missing.")
		return
	}
	if !slices.Contains(client.RedirectURIs, redirectURI) {
		s.errorPage(w, http.StatusBadRequest, "redirect_uri is not one registered for this client (the match is exact).")
		return
	}

	// From here on, errors go back to the client.
	state := q.Get("state")
	fail := func(code, description string) {
		v := url.Values{"error": {code}, "error_description": {description}}
		if state != "" && len(q["state"]) == 1 {
			v.Set("state", state)
		}
		redirectTo(w, r, redirectURI, v)
	}
	for _, p := range authorizeParams() {
		if len(q[p]) > 1 {
			fail("invalid_request", "parameter "+p+" is repeated")
			return
		}
	}
	switch {
	case q.Get("response_type") == "":
		fail("invalid_request", "response_type is missing")
		return
	case q.Get("response_type") != "code":
		fail("unsupported_response_type", "only response_type=code is supported")
		return
	case state == "":
		fail("invalid_request", "state is required")
		return
	case q.Get("aud") == "":
		fail("invalid_request", "aud is missing: it must be the FHIR base URL")
		return
	case q.Get("aud") != s.issuer:
		fail("invalid_request", "aud does not equal the FHIR base URL byte for byte")
		return
	case q.Get("code_challenge_method") == "":
		fail("invalid_request", "code_challenge_method is missing: PKCE with S256 is required")
		return
	case q.Get("code_challenge_method") != "S256":
		fail("invalid_request", "code_challenge_method must be S256")
		return
	case !validChallenge(q.Get("code_challenge")):
		fail("invalid_request", "code_challenge must be the 43-character base64url SHA-256 of the verifier")
		return
	case q.Get("scope") == "":
		fail("invalid_scope", "scope is missing")
		return
	}
	scopes := grantScopes(q.Get("scope"), false)
	if len(scopes) == 0 {
		fail("invalid_scope", "none of the requested scopes is supported")
		return
	}

	req := authRequest{
		clientID:    clientID,
		redirectURI: redirectURI,
		state:       state,
		challenge:   q.Get("code_challenge"),
		scopes:      scopes,
		nonce:       q.Get("nonce"),
	}
	launchCode := q.Get("launch")
	if launchCode == "" {
		if slices.Contains(scopes, "launch/patient") {
			s.toPicker(w, r, req, fail)
			return
		}
		s.issueCode(w, r, req, s.userSession(req, "", "", true, SimulateNone), fail)
		return
	}

	s.mu.Lock()
	launch, ok := s.launches[launchCode]
	now := s.now()
	s.mu.Unlock()
	if !ok || !now.Before(launch.expires) {
		fail("invalid_request", "the launch parameter is not a valid launch code (unknown, altered or expired)")
		return
	}
	if !slices.Contains(scopes, "launch") {
		fail("invalid_scope", "an EHR launch needs the launch scope")
		return
	}
	switch launch.ctx.Simulate {
	case SimulateInvalidRedirectURI:
		s.errorPage(w, http.StatusBadRequest, "Simulated error: redirect_uri is not valid for this client.")
		return
	case SimulateInvalidClientID:
		fail("unauthorized_client", "simulated error: client_id is not valid")
		return
	case SimulateInvalidScope:
		fail("invalid_scope", "simulated error: the scope is not valid")
		return
	}
	lc := launch.ctx
	s.issueCode(w, r, req, s.userSession(req, lc.Patient, lc.Encounter, lc.NeedPatientBanner, lc.Simulate), fail)
}

func (s *Server) userSession(req authRequest, patient, encounter string, banner bool, sim Simulation) session {
	return session{
		clientID:  req.clientID,
		scopes:    req.scopes,
		patient:   patient,
		encounter: encounter,
		banner:    banner,
		fhirUser:  s.fhirUser,
		sim:       sim,
		nonce:     req.nonce,
	}
}

// toPicker parks a standalone request and sends the browser to the picker.
func (s *Server) toPicker(w http.ResponseWriter, r *http.Request, req authRequest, fail func(code, description string)) {
	id, err := randomString()
	if err != nil {
		fail("server_error", "the sandbox could not start the patient picker")
		return
	}
	s.mu.Lock()
	now := s.now()
	s.sweepLocked(now)
	s.pending[id] = pendingRecord{req: req, expires: now.Add(pickerLifetime)}
	s.mu.Unlock()
	redirectTo(w, r, s.pickerURL, url.Values{"request": {id}})
}

// picker lists the patients for a standalone launch (GET /picker?request=ID)
// and, once one is chosen (GET /picker?request=ID&patient=PID), completes
// the authorization.
func (s *Server) picker(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", "GET")
		s.errorPage(w, http.StatusMethodNotAllowed, "Use GET for the patient picker.")
		return
	}
	q := r.URL.Query()
	id := q.Get("request")
	s.mu.Lock()
	pend, ok := s.pending[id]
	now := s.now()
	s.mu.Unlock()
	if id == "" || !ok || !now.Before(pend.expires) {
		s.errorPage(w, http.StatusBadRequest, "This patient choice is unknown or has expired; start the launch again from the app.")
		return
	}
	patient := q.Get("patient")
	if patient == "" {
		links := make([]pickerLink, 0, len(s.patients))
		for _, p := range s.patients {
			v := url.Values{"request": {id}, "patient": {p.ID}}
			name := p.Name
			if name == "" {
				name = p.ID
			}
			links = append(links, pickerLink{Name: name, Href: s.pickerURL + "?" + v.Encode()})
		}
		s.renderPage(w, http.StatusOK, "picker", links)
		return
	}
	if !s.patientIDs[patient] {
		s.errorPage(w, http.StatusBadRequest, "The chosen patient is not one the sandbox knows.")
		return
	}
	s.mu.Lock()
	_, still := s.pending[id]
	delete(s.pending, id)
	s.mu.Unlock()
	if !still {
		s.errorPage(w, http.StatusBadRequest, "This patient choice was already made; start the launch again from the app.")
		return
	}
	req := pend.req
	fail := func(code, description string) {
		redirectTo(w, r, req.redirectURI, url.Values{"error": {code}, "error_description": {description}, "state": {req.state}})
	}
	s.issueCode(w, r, req, s.userSession(req, patient, "", true, SimulateNone), fail)
}

// issueCode stores a fresh authorization code and redirects to the client.
func (s *Server) issueCode(w http.ResponseWriter, r *http.Request, req authRequest, sess session, fail func(code, description string)) {
	code, err := randomString()
	if err != nil {
		fail("server_error", "the sandbox could not create an authorization code")
		return
	}
	s.mu.Lock()
	now := s.now()
	s.sweepLocked(now)
	s.codes[code] = &codeRecord{
		redirectURI: req.redirectURI,
		challenge:   req.challenge,
		sess:        sess,
		expires:     now.Add(codeLifetime),
	}
	s.mu.Unlock()
	redirectTo(w, r, req.redirectURI, url.Values{"code": {code}, "state": {req.state}})
}

// redirectTo redirects to target with params added to its query.
func redirectTo(w http.ResponseWriter, r *http.Request, target string, params url.Values) {
	u, err := url.Parse(target)
	if err != nil {
		http.Error(w, "bad redirect target", http.StatusInternalServerError)
		return
	}
	q := u.Query()
	for k, v := range params {
		q[k] = v
	}
	u.RawQuery = q.Encode()
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	http.Redirect(w, r, u.String(), http.StatusFound)
}

func (s *Server) errorPage(w http.ResponseWriter, status int, message string) {
	s.renderPage(w, status, "error", message)
}

func (s *Server) renderPage(w http.ResponseWriter, status int, name string, data any) {
	var buf bytes.Buffer
	if err := s.pages.ExecuteTemplate(&buf, name, data); err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// validChallenge reports whether c is 43 base64url characters, the length
// of an S256 challenge.
func validChallenge(c string) bool {
	if len(c) != 43 {
		return false
	}
	for i := 0; i < len(c); i++ {
		if !base64URLChar(c[i]) {
			return false
		}
	}
	return true
}

func base64URLChar(b byte) bool {
	return b >= 'A' && b <= 'Z' || b >= 'a' && b <= 'z' || b >= '0' && b <= '9' || b == '-' || b == '_'
}

// readForm reads an application/x-www-form-urlencoded body of bounded size.
// Its errors are safe to show: they never quote the body.
func readForm(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	ct, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || ct != "application/x-www-form-urlencoded" {
		return nil, errors.New("content type must be application/x-www-form-urlencoded")
	}
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, maxFormBytes)); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, errors.New("body too large")
		}
		return nil, errors.New("body unreadable")
	}
	v, err := url.ParseQuery(buf.String())
	if err != nil {
		return nil, errors.New("body is not valid form encoding")
	}
	return v, nil
}
