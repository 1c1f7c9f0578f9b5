// Package fhirtest is a small FHIR R4 server over an in-memory store, for
// tests and for the sandbox EHR, in the spirit of net/http/httptest. It is
// test and demo equipment: the app's own packages never import it.
//
// The server reads, searches, creates and updates resources as generic JSON,
// with versioning, ETag and If-Match, conditional create, paging, Bearer
// tokens checked against SMART scopes, and a few switches that make it
// behave like particular EHRs (read-only CarePlan) or misbehave (ignore the
// patient parameter, fail or stall on request).
package fhirtest

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// ContentType is the media type of every FHIR response.
const ContentType = "application/fhir+json"

// MaxBodyBytes caps request bodies; a larger body is refused with 413.
const MaxBodyBytes = 1 << 20

// Options configure a Server.
type Options struct {
	// BaseURL is the absolute FHIR base (e.g. http://127.0.0.1:8080/sandbox/fhir)
	// used in fullUrl, Location and paging links. Empty: taken from each
	// request's Host. Its path, when a request path starts with it, is
	// stripped before routing, so the server may be mounted with or without
	// http.StripPrefix.
	BaseURL string

	// Auth checks Bearer tokens; nil leaves the server open (no token needed).
	Auth Authorizer

	// OAuthAuthorize and OAuthToken are advertised in the CapabilityStatement
	// (SMART oauth-uris extension) when set.
	OAuthAuthorize, OAuthToken string

	// CarePlanReadOnly behaves like Epic and Oracle Health: the
	// CapabilityStatement lists only read and search for CarePlan, and
	// CarePlan create and update answer 405. DocumentReference and
	// Provenance stay writable.
	CarePlanReadOnly bool

	// PageSize is the page size when _count is absent (default 20, max 100).
	PageSize int

	// IgnorePatientParam makes a misbehaving server: patient and subject
	// search parameters are ignored and patient/ scopes do not filter
	// searches, so a search returns every resource of the type.
	IgnorePatientParam bool

	// CollapseQuerySlashes imitates the SMART launcher's FHIR proxy: a raw
	// "//" in a query string becomes "/" (so code=http://loinc.org|x finds
	// nothing), while percent-encoded values pass intact.
	CollapseQuerySlashes bool

	// Fault, when set, is called first for every request: a non-zero status
	// is answered at once (with an OperationOutcome; 429 and 503 with
	// Retry-After: 1) after waiting delay (or until the request is
	// cancelled); status 0 with a delay only slows the request down.
	Fault func(r *http.Request) (status int, delay time.Duration)
}

// Server is a FHIR R4 server over a Store. It implements http.Handler.
type Server struct {
	store    *Store
	opts     Options
	base     string // BaseURL without a trailing slash
	basePath string // path of BaseURL without a trailing slash
}

// NewServer returns a server for store.
func NewServer(store *Store, opts Options) *Server {
	s := &Server{store: store, opts: opts, base: strings.TrimSuffix(opts.BaseURL, "/")}
	if u, err := url.Parse(s.base); err == nil {
		s.basePath = strings.TrimSuffix(u.Path, "/")
	}
	if s.opts.PageSize <= 0 {
		s.opts.PageSize = 20
	}
	s.opts.PageSize = min(s.opts.PageSize, maxPageSize)
	return s
}

const maxPageSize = 100

// writableType reports whether resources of typ may be created and updated.
func (s *Server) writableType(typ string) bool {
	switch typ {
	case "CarePlan":
		return !s.opts.CarePlanReadOnly
	case "Provenance", "DocumentReference":
		return true
	}
	return false
}

// baseURL is the absolute base for links in the response to r.
func (s *Server) baseURL(r *http.Request) string {
	if s.base != "" {
		return s.base
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + s.basePath
}

// ServeHTTP routes FHIR interactions.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.opts.Fault != nil {
		status, delay := s.opts.Fault(r)
		if delay > 0 {
			t := time.NewTimer(delay)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				return
			}
		}
		if status != 0 {
			if status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable {
				w.Header().Set("Retry-After", "1")
			}
			writeOutcome(w, status, "transient", "simulated failure")
			return
		}
	}

	p := r.URL.Path
	if s.basePath != "" && (p == s.basePath || strings.HasPrefix(p, s.basePath+"/")) {
		p = p[len(s.basePath):]
	}
	seg := strings.Split(strings.Trim(p, "/"), "/")
	if len(seg) == 1 && seg[0] == "" {
		seg = nil
	}

	if len(seg) == 1 && seg[0] == "metadata" {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			methodNotAllowed(w, "GET")
			return
		}
		s.capabilities(w, r)
		return
	}
	if len(seg) == 0 || !validType(seg[0]) {
		writeOutcome(w, http.StatusNotFound, "not-supported", "unknown resource type or path")
		return
	}

	var grant *Grant
	if s.opts.Auth != nil {
		g, ok := s.authenticate(w, r)
		if !ok {
			return
		}
		grant = &g
	}

	typ := seg[0]
	switch {
	case len(seg) == 1:
		switch r.Method {
		case http.MethodGet:
			s.search(w, r, grant, typ, s.query(r))
		case http.MethodPost:
			s.create(w, r, grant, typ)
		default:
			methodNotAllowed(w, "GET, POST")
		}
	case len(seg) == 2 && seg[1] == "_search":
		if r.Method != http.MethodPost {
			methodNotAllowed(w, "POST")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
		if err := r.ParseForm(); err != nil {
			writeOutcome(w, http.StatusBadRequest, "invalid", "malformed search form")
			return
		}
		s.search(w, r, grant, typ, r.Form)
	case len(seg) == 2:
		switch r.Method {
		case http.MethodGet:
			s.read(w, r, grant, typ, seg[1], "")
		case http.MethodPut:
			s.update(w, r, grant, typ, seg[1])
		default:
			methodNotAllowed(w, "GET, PUT")
		}
	case len(seg) == 4 && seg[2] == "_history":
		if r.Method != http.MethodGet {
			methodNotAllowed(w, "GET")
			return
		}
		s.read(w, r, grant, typ, seg[1], seg[3])
	default:
		writeOutcome(w, http.StatusNotFound, "not-supported", "unknown path")
	}
}

// query parses the request's query string, collapsing raw "//" when the
// server imitates a proxy that does.
func (s *Server) query(r *http.Request) url.Values {
	if !s.opts.CollapseQuerySlashes {
		return r.URL.Query()
	}
	u := *r.URL
	for strings.Contains(u.RawQuery, "//") {
		u.RawQuery = strings.ReplaceAll(u.RawQuery, "//", "/")
	}
	return u.Query()
}

// authenticate checks the Bearer token; on failure it answers the request.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) (Grant, bool) {
	tok, ok := bearerToken(r)
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer realm="fhir"`)
		writeOutcome(w, http.StatusUnauthorized, "login", "a Bearer access token is required")
		return Grant{}, false
	}
	g, err := s.opts.Auth.Authorize(r, tok)
	switch {
	case err != nil:
		w.Header().Set("WWW-Authenticate", `Bearer realm="fhir", error="invalid_token", error_description="the access token is not valid"`)
		writeOutcome(w, http.StatusUnauthorized, "login", "the access token is not valid")
		return Grant{}, false
	case g.PlainUnauthorized:
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.WriteHeader(http.StatusUnauthorized)
		if _, err := io.WriteString(w, "Unauthorized\n"); err != nil {
			return Grant{}, false
		}
		return Grant{}, false
	case g.Unavailable:
		writeOutcome(w, http.StatusServiceUnavailable, "transient", "the FHIR server is unavailable (simulated)")
		return Grant{}, false
	case g.Expired:
		w.Header().Set("WWW-Authenticate", `Bearer realm="fhir", error="invalid_token", error_description="the access token has expired"`)
		writeOutcome(w, http.StatusUnauthorized, "expired", "the access token has expired")
		return Grant{}, false
	}
	return g, true
}

// authorize checks that grant allows op on typ. It returns the patient the
// access is limited to ("" for none); on refusal it answers the request.
func (s *Server) authorize(w http.ResponseWriter, grant *Grant, typ string, op byte) (patient string, ok bool) {
	if grant == nil {
		return "", true
	}
	allowed, patientOnly := grant.permits(typ, op)
	if !allowed {
		writeOutcome(w, http.StatusForbidden, "forbidden", "the granted scopes do not allow this interaction")
		return "", false
	}
	if !patientOnly {
		return "", true
	}
	if grant.Patient == "" {
		writeOutcome(w, http.StatusForbidden, "forbidden", "patient scopes without a patient in context")
		return "", false
	}
	return grant.Patient, true
}

func (s *Server) read(w http.ResponseWriter, r *http.Request, grant *Grant, typ, id, vid string) {
	patient, ok := s.authorize(w, grant, typ, opRead)
	if !ok {
		return
	}
	var res Resource
	if vid == "" {
		res, ok = s.store.Get(typ, id)
	} else {
		res, ok = s.store.Version(typ, id, vid)
	}
	if !ok {
		writeOutcome(w, http.StatusNotFound, "not-found", "resource not found")
		return
	}
	if patient != "" {
		doc, err := decodeObject(res.JSON)
		if err != nil || !aboutOnly(patient, typ, id, doc) {
			writeOutcome(w, http.StatusForbidden, "forbidden", "the resource is outside the patient in context")
			return
		}
	}
	s.writeResource(w, r, http.StatusOK, res, false)
}

func (s *Server) search(w http.ResponseWriter, r *http.Request, grant *Grant, typ string, params url.Values) {
	patient, ok := s.authorize(w, grant, typ, opSearch)
	if !ok {
		return
	}
	q, err := parseQuery(typ, params, s.opts.IgnorePatientParam)
	if err != nil {
		writeOutcome(w, http.StatusBadRequest, "invalid", "invalid search parameter value")
		return
	}
	if patient != "" && !s.opts.IgnorePatientParam && !q.withinPatient(typ, patient) {
		writeOutcome(w, http.StatusForbidden, "forbidden", "the search is outside the patient in context")
		return
	}
	hits := s.store.search(typ, func(id string, doc map[string]any) bool {
		if patient != "" && !s.opts.IgnorePatientParam && !aboutOnly(patient, typ, id, doc) {
			return false
		}
		return q.match(id, doc)
	})
	q.sortHits(hits)

	count := q.count
	if count < 0 {
		count = s.opts.PageSize
	}
	count = min(count, maxPageSize)
	if q.summaryCount {
		count = 0
	}
	base := s.baseURL(r)
	link := func(offset int) string {
		v := url.Values{}
		for k, vs := range params {
			if k != "_offset" && k != "_count" {
				v[k] = vs
			}
		}
		v.Set("_count", strconv.Itoa(count))
		if offset > 0 {
			v.Set("_offset", strconv.Itoa(offset))
		}
		return base + "/" + typ + "?" + v.Encode()
	}
	bundleID, err := newID()
	if err != nil {
		writeOutcome(w, http.StatusInternalServerError, "exception", "internal error")
		return
	}
	b := searchBundle{
		ResourceType: "Bundle",
		ID:           bundleID,
		Meta:         map[string]string{"lastUpdated": s.store.now().UTC().Format(instantLayout)},
		Type:         "searchset",
		Total:        len(hits),
		Link:         []bundleLink{{Relation: "self", URL: link(q.offset)}},
		Entry:        []bundleEntry{},
	}
	if q.offset > 0 {
		b.Link = append(b.Link, bundleLink{Relation: "first", URL: link(0)})
		b.Link = append(b.Link, bundleLink{Relation: "previous", URL: link(max(0, q.offset-count))})
	}
	if count > 0 && q.offset+count < len(hits) {
		b.Link = append(b.Link, bundleLink{Relation: "next", URL: link(q.offset + count)})
	}
	if q.offset < len(hits) {
		for _, h := range hits[q.offset:min(len(hits), q.offset+count)] {
			b.Entry = append(b.Entry, bundleEntry{
				FullURL:  base + "/" + h.res.Ref(),
				Resource: h.res.JSON,
				Search:   &entrySearch{Mode: "match"},
			})
		}
	}
	writeJSON(w, http.StatusOK, b)
}

// withinPatient reports whether every patient, subject (and, for Patient,
// _id) value of the query names patient.
func (q query) withinPatient(typ, patient string) bool {
	for _, f := range q.filters {
		switch {
		case f.name == "patient" || f.name == "subject":
			for _, v := range f.values {
				if normalizeRef(v, "Patient") != "Patient/"+patient {
					return false
				}
			}
		case f.name == "_id" && typ == "Patient":
			for _, v := range f.values {
				if v != patient {
					return false
				}
			}
		}
	}
	return true
}

type searchBundle struct {
	ResourceType string            `json:"resourceType"`
	ID           string            `json:"id"`
	Meta         map[string]string `json:"meta"`
	Type         string            `json:"type"`
	Total        int               `json:"total"`
	Link         []bundleLink      `json:"link"`
	Entry        []bundleEntry     `json:"entry,omitempty"`
}

type bundleLink struct {
	Relation string `json:"relation"`
	URL      string `json:"url"`
}

type bundleEntry struct {
	FullURL  string          `json:"fullUrl"`
	Resource json.RawMessage `json:"resource"`
	Search   *entrySearch    `json:"search,omitempty"`
}

type entrySearch struct {
	Mode string `json:"mode"`
}

// readBody reads and decodes a resource body of type typ; on failure it
// answers the request.
func readBody(w http.ResponseWriter, r *http.Request, typ string) (map[string]any, bool) {
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeOutcome(w, http.StatusRequestEntityTooLarge, "too-long", "the request body is too large")
			return nil, false
		}
		writeOutcome(w, http.StatusBadRequest, "structure", "the request body could not be read")
		return nil, false
	}
	doc, err := decodeObject(data)
	if err != nil {
		writeOutcome(w, http.StatusBadRequest, "structure", "the request body is not a JSON resource")
		return nil, false
	}
	if rt, _ := doc["resourceType"].(string); rt != typ {
		writeOutcome(w, http.StatusBadRequest, "invalid", "resourceType does not match the URL")
		return nil, false
	}
	return doc, true
}

func (s *Server) create(w http.ResponseWriter, r *http.Request, grant *Grant, typ string) {
	if !s.writableType(typ) {
		writeOutcome(w, http.StatusMethodNotAllowed, "not-supported", "this server does not create resources of this type")
		return
	}
	patient, ok := s.authorize(w, grant, typ, opCreate)
	if !ok {
		return
	}
	doc, ok := readBody(w, r, typ)
	if !ok {
		return
	}
	if patient != "" && !aboutOnly(patient, typ, "", doc) {
		writeOutcome(w, http.StatusForbidden, "forbidden", "the resource is outside the patient in context")
		return
	}
	var cond func(id string, doc map[string]any) bool
	if h := r.Header.Get("If-None-Exist"); h != "" {
		if i := strings.IndexByte(h, '?'); i >= 0 {
			h = h[i+1:]
		}
		vals, err := url.ParseQuery(h)
		if err != nil {
			writeOutcome(w, http.StatusBadRequest, "invalid", "malformed If-None-Exist")
			return
		}
		q, err := parseQuery(typ, vals, false)
		if err != nil {
			writeOutcome(w, http.StatusBadRequest, "invalid", "invalid search parameter value in If-None-Exist")
			return
		}
		if len(q.filters) == 0 {
			writeOutcome(w, http.StatusBadRequest, "invalid", "If-None-Exist has no supported search parameter")
			return
		}
		cond = func(id string, d map[string]any) bool {
			return (patient == "" || aboutOnly(patient, typ, id, d)) && q.match(id, d)
		}
	}
	id, err := newID()
	if err != nil {
		writeOutcome(w, http.StatusInternalServerError, "exception", "internal error")
		return
	}
	res, created, matches, err := s.store.create(typ, id, doc, cond)
	switch {
	case err != nil:
		writeOutcome(w, http.StatusInternalServerError, "exception", "internal error")
	case matches > 1:
		writeOutcome(w, http.StatusPreconditionFailed, "duplicate", "If-None-Exist matches more than one resource")
	case !created:
		s.writeResource(w, r, http.StatusOK, res, true)
	default:
		s.writeResource(w, r, http.StatusCreated, res, true)
	}
}

// parseIfMatch reads an If-Match entity tag: W/"3" or "3". An unquoted value
// is refused (400), not treated as a mismatch.
func parseIfMatch(h string) (vid string, ok bool) {
	h = strings.TrimSpace(h)
	h = strings.TrimPrefix(h, "W/")
	if len(h) < 3 || h[0] != '"' || h[len(h)-1] != '"' {
		return "", false
	}
	return h[1 : len(h)-1], true
}

func (s *Server) update(w http.ResponseWriter, r *http.Request, grant *Grant, typ, id string) {
	if !s.writableType(typ) {
		writeOutcome(w, http.StatusMethodNotAllowed, "not-supported", "this server does not update resources of this type")
		return
	}
	if !validID(id) {
		writeOutcome(w, http.StatusBadRequest, "invalid", "invalid resource id")
		return
	}
	patient, ok := s.authorize(w, grant, typ, opUpdate)
	if !ok {
		return
	}
	var ifMatch string
	if h := r.Header.Get("If-Match"); h != "" {
		if ifMatch, ok = parseIfMatch(h); !ok {
			writeOutcome(w, http.StatusBadRequest, "invalid", "If-Match must be an entity tag such as W/\"1\"")
			return
		}
	}
	doc, ok := readBody(w, r, typ)
	if !ok {
		return
	}
	if bid, _ := doc["id"].(string); bid != id {
		writeOutcome(w, http.StatusBadRequest, "invalid", "the resource id does not match the URL")
		return
	}
	if patient != "" && !aboutOnly(patient, typ, id, doc) {
		writeOutcome(w, http.StatusForbidden, "forbidden", "the resource is outside the patient in context")
		return
	}
	var allowOld func(map[string]any) bool
	if patient != "" {
		allowOld = func(old map[string]any) bool { return aboutOnly(patient, typ, id, old) }
	}
	res, created, err := s.store.update(typ, id, doc, ifMatch, allowOld)
	switch {
	case errors.Is(err, errVersionConflict):
		writeOutcome(w, http.StatusPreconditionFailed, "conflict", "the resource has changed: If-Match names an older version")
	case errors.Is(err, errForbidden):
		writeOutcome(w, http.StatusForbidden, "forbidden", "the resource is outside the patient in context")
	case err != nil:
		writeOutcome(w, http.StatusInternalServerError, "exception", "internal error")
	case created:
		s.writeResource(w, r, http.StatusCreated, res, true)
	default:
		s.writeResource(w, r, http.StatusOK, res, true)
	}
}

// writeResource sends a resource with its version headers. After a write
// (location true) it sets Location and honours Prefer: return=minimal.
func (s *Server) writeResource(w http.ResponseWriter, r *http.Request, status int, res Resource, location bool) {
	h := w.Header()
	h.Set("ETag", `W/"`+res.VersionID+`"`)
	h.Set("Last-Modified", res.LastUpdated.UTC().Format(http.TimeFormat))
	if location {
		h.Set("Location", s.baseURL(r)+"/"+res.Ref()+"/_history/"+res.VersionID)
		if strings.Contains(r.Header.Get("Prefer"), "return=minimal") {
			w.WriteHeader(status)
			return
		}
	}
	h.Set("Content-Type", ContentType)
	w.WriteHeader(status)
	if _, err := w.Write(res.JSON); err != nil {
		return
	}
}

func methodNotAllowed(w http.ResponseWriter, allow string) {
	w.Header().Set("Allow", allow)
	writeOutcome(w, http.StatusMethodNotAllowed, "not-supported", "method not allowed")
}

// writeOutcome answers with an OperationOutcome holding one error issue.
// diagnostics must hold no identifiers, codes or other request content.
func writeOutcome(w http.ResponseWriter, status int, code, diagnostics string) {
	writeJSON(w, status, outcome{
		ResourceType: "OperationOutcome",
		Issue:        []outcomeIssue{{Severity: "error", Code: code, Diagnostics: diagnostics}},
	})
}

type outcome struct {
	ResourceType string         `json:"resourceType"`
	Issue        []outcomeIssue `json:"issue"`
}

type outcomeIssue struct {
	Severity    string `json:"severity"`
	Code        string `json:"code"`
	Diagnostics string `json:"diagnostics,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	data, err := marshal(v)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", ContentType)
	w.WriteHeader(status)
	if _, err := w.Write(data); err != nil {
		return
	}
}
