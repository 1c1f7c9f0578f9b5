package fhirtest

import (
	"net/http"
	"strings"
)

// Grant is what an access token allows, as an Authorizer reports it.
type Grant struct {
	Patient string   // the patient in context (an id), if any
	Scopes  []string // granted scopes, e.g. "patient/Observation.rs", "user/*.read"
	Expired bool     // the token was valid but has expired: 401 invalid_token

	// PlainUnauthorized makes every request with this token fail with 401
	// and a plain-text body, as the SMART launcher's "fhir_401" simulation
	// does (no OperationOutcome, no WWW-Authenticate).
	PlainUnauthorized bool
	// Unavailable makes every request with this token fail with 503 and an
	// OperationOutcome (code transient), as a FHIR server that is down
	// behind a working gateway answers.
	Unavailable bool
}

// Authorizer checks a Bearer token. An error means the token is unknown or
// invalid (401 invalid_token); its text is never sent or logged.
type Authorizer interface {
	Authorize(r *http.Request, token string) (Grant, error)
}

// AuthorizerFunc adapts a function to Authorizer.
type AuthorizerFunc func(r *http.Request, token string) (Grant, error)

// Authorize calls f.
func (f AuthorizerFunc) Authorize(r *http.Request, token string) (Grant, error) { return f(r, token) }

// Interaction letters as in SMART v2 scopes.
const (
	opCreate = 'c'
	opRead   = 'r'
	opUpdate = 'u'
	opDelete = 'd'
	opSearch = 's'
)

// permits reports whether the grant allows op on resources of type typ,
// and whether only through patient/ scopes (then access is limited to the
// grant's patient). Scopes with a query restriction (v2 granular scopes) are
// not supported and grant nothing.
func (g Grant) permits(typ string, op byte) (allowed, patientOnly bool) {
	var viaPatient, viaOther bool
	for _, sc := range g.Scopes {
		ctx, rest, ok := strings.Cut(sc, "/")
		if !ok || strings.Contains(rest, "?") {
			continue
		}
		i := strings.LastIndexByte(rest, '.')
		if i < 0 {
			continue
		}
		rtype, perm := rest[:i], rest[i+1:]
		if rtype != "*" && rtype != typ {
			continue
		}
		if !strings.ContainsRune(scopeOps(perm), rune(op)) {
			continue
		}
		switch ctx {
		case "patient":
			viaPatient = true
		case "user", "system":
			viaOther = true
		}
	}
	return viaPatient || viaOther, !viaOther
}

// scopeOps returns the interaction letters a scope's permission part grants:
// v1 "read", "write", "*" or v2 letters in the order c, r, u, d, s.
func scopeOps(perm string) string {
	switch perm {
	case "read":
		return "rs"
	case "write":
		return "cud"
	case "*":
		return "cruds"
	}
	if perm == "" {
		return ""
	}
	last := -1
	for _, c := range perm {
		i := strings.IndexRune("cruds", c)
		if i <= last {
			return "" // unknown letter, repeat or wrong order
		}
		last = i
	}
	return perm
}

// bearerToken returns the token of an "Authorization: Bearer" header.
func bearerToken(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}

// patientRefs returns the patients ("Patient/id" → id) a resource is about:
// its own id for a Patient, else the Patient references in subject, patient
// and beneficiary.
func patientRefs(typ, id string, doc map[string]any) []string {
	if typ == "Patient" {
		return []string{id}
	}
	var out []string
	for _, p := range compartmentPaths() {
		for _, n := range collect(doc, []string{p}) {
			m, ok := n.(map[string]any)
			if !ok {
				continue
			}
			ref, _ := m["reference"].(string)
			if t, rid := lastTwo(ref); t == "Patient" && rid != "" {
				out = append(out, rid)
			}
		}
	}
	return out
}

// aboutOnly reports whether a resource may be seen under a grant limited to
// patient: it is about that patient, or about no patient at all (a
// Practitioner, a Medication).
func aboutOnly(patient, typ, id string, doc map[string]any) bool {
	for _, p := range patientRefs(typ, id, doc) {
		if p != patient {
			return false
		}
	}
	return true
}
