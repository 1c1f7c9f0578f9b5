package fhir

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Sentinel errors callers branch on with errors.Is. A *ResponseError
// unwraps to the one matching its HTTP status.
var (
	// ErrNotFound is HTTP 404 or 410.
	ErrNotFound = errors.New("fhir: not found")
	// ErrUnauthorized is HTTP 401: the token is missing, expired or revoked
	// (the app should re-launch).
	ErrUnauthorized = errors.New("fhir: unauthorized")
	// ErrForbidden is HTTP 403: the token lacks the scope.
	ErrForbidden = errors.New("fhir: forbidden")
	// ErrPreconditionFailed is HTTP 412 (If-Match version mismatch, or a
	// conditional create matching several resources).
	ErrPreconditionFailed = errors.New("fhir: precondition failed")
	// ErrConflict is HTTP 409.
	ErrConflict = errors.New("fhir: conflict")
	// ErrTooLarge means a response body exceeded the client's cap.
	ErrTooLarge = errors.New("fhir: response body too large")
	// ErrPageLimit means a search had more pages than the client reads; the
	// results of the pages read are returned with it.
	ErrPageLimit = errors.New("fhir: search page limit reached")
	// ErrBundlePatients means a Bundle given as a record does not hold
	// exactly one Patient.
	ErrBundlePatients = errors.New("fhir: bundle must hold exactly one Patient")
)

// ResponseError is an HTTP error answer from the FHIR server. Its Error
// string holds only the method, the resource type, the status and the
// OperationOutcome issue codes: never a body, an id or a query.
type ResponseError struct {
	// Method and Type say which call failed ("GET", "Observation").
	Method string
	Type   string
	Status int
	// Codes are the OperationOutcome issue codes (IssueType: "not-found",
	// "processing", …), when the server sent an OperationOutcome.
	Codes []string
	// Summary is a safe one-line description: status text and issue codes
	// with their severities. It never holds diagnostics or resource content.
	Summary string
	// Diagnostics is the OperationOutcome's diagnostics and details text.
	// It may hold PHI: never log it, never show it outside the chart.
	Diagnostics string
}

func (e *ResponseError) Error() string {
	var b strings.Builder
	b.WriteString("fhir: ")
	if e.Method != "" {
		b.WriteString(e.Method)
		b.WriteByte(' ')
	}
	if e.Type != "" {
		b.WriteString(e.Type)
		b.WriteByte(' ')
	}
	b.WriteString(e.Summary)
	return b.String()
}

// Unwrap returns the sentinel matching the status, or nil.
func (e *ResponseError) Unwrap() error {
	switch e.Status {
	case http.StatusUnauthorized:
		return ErrUnauthorized
	case http.StatusForbidden:
		return ErrForbidden
	case http.StatusNotFound, http.StatusGone:
		return ErrNotFound
	case http.StatusPreconditionFailed:
		return ErrPreconditionFailed
	case http.StatusConflict:
		return ErrConflict
	}
	return nil
}

// issueTypes are the codes of the FHIR R4 IssueType value set; only these
// are copied from an OperationOutcome into an error.
var issueTypes = map[string]bool{
	"invalid": true, "structure": true, "required": true, "value": true, "invariant": true,
	"security": true, "login": true, "unknown": true, "expired": true, "forbidden": true,
	"suppressed": true, "processing": true, "not-supported": true, "duplicate": true,
	"multiple-matches": true, "not-found": true, "deleted": true, "too-long": true,
	"code-invalid": true, "extension": true, "too-costly": true, "business-rule": true,
	"conflict": true, "transient": true, "lock-error": true, "no-store": true,
	"exception": true, "timeout": true, "incomplete": true, "throttled": true,
	"informational": true,
}

var issueSeverities = map[string]bool{"fatal": true, "error": true, "warning": true, "information": true}

// newResponseError builds the error for a non-2xx answer. body may be an
// OperationOutcome; anything else is ignored.
func newResponseError(method, typ string, status int, body []byte) *ResponseError {
	e := &ResponseError{Method: method, Type: typ, Status: status}
	var oo struct {
		ResourceType string `json:"resourceType"`
		Issue        []struct {
			Severity    string `json:"severity"`
			Code        string `json:"code"`
			Diagnostics string `json:"diagnostics"`
			Details     struct {
				Text string `json:"text"`
			} `json:"details"`
		} `json:"issue"`
	}
	var parts []string
	if json.Unmarshal(body, &oo) == nil && oo.ResourceType == "OperationOutcome" {
		var diag []string
		for _, is := range oo.Issue {
			code := "unknown"
			if issueTypes[is.Code] {
				code = is.Code
			}
			e.Codes = append(e.Codes, code)
			if issueSeverities[is.Severity] {
				parts = append(parts, is.Severity+" "+code)
			} else {
				parts = append(parts, code)
			}
			for _, s := range []string{is.Diagnostics, is.Details.Text} {
				if s != "" {
					diag = append(diag, s)
				}
			}
		}
		e.Diagnostics = strings.Join(diag, "; ")
	}
	e.Summary = fmt.Sprintf("HTTP %d", status)
	if t := http.StatusText(status); t != "" {
		e.Summary += " " + t
	}
	if len(parts) > 0 {
		const maxParts = 5
		if len(parts) > maxParts {
			parts = append(parts[:maxParts], fmt.Sprintf("%d more", len(parts)-maxParts))
		}
		e.Summary += " (" + strings.Join(parts, ", ") + ")"
	}
	return e
}

// safeType returns typ when it looks like a FHIR resource type name, so that
// it can appear in an error string.
func safeType(typ string) string {
	if validType(typ) {
		return typ
	}
	return "resource"
}

// validType reports whether typ is a plausible resource type name
// (an upper-case letter followed by letters, at most 64).
func validType(typ string) bool {
	if len(typ) == 0 || len(typ) > 64 || typ[0] < 'A' || typ[0] > 'Z' {
		return false
	}
	for i := 0; i < len(typ); i++ {
		c := typ[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z') {
			return false
		}
	}
	return true
}

// validID reports whether id is a FHIR logical id ([A-Za-z0-9-.]{1,64}).
func validID(id string) bool {
	if len(id) == 0 || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// decodeReason turns a JSON or samply decode error into a safe reason: the
// kind of problem and the schema path, never the offending value.
func decodeReason(typ string, err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		field := te.Field
		if !safePath(field) {
			field = ""
		}
		if field != "" {
			return fmt.Sprintf("invalid %s: field %s has the wrong JSON type (%s)", safeType(typ), field, jsonKind(te.Value))
		}
		return fmt.Sprintf("invalid %s: a field has the wrong JSON type", safeType(typ))
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("invalid %s: malformed JSON", safeType(typ))
	}
	if errors.Is(err, errStringNumber) {
		return fmt.Sprintf("invalid %s: %v", safeType(typ), err)
	}
	msg := err.Error()
	// samply enums: "unknown ObservationStatus code `…`".
	if rest, ok := strings.CutPrefix(msg, "unknown "); ok {
		if name, _, ok := strings.Cut(rest, " code "); ok && validType(name) {
			return fmt.Sprintf("invalid %s: unrecognised %s code", safeType(typ), name)
		}
	}
	return fmt.Sprintf("invalid %s: not valid FHIR R4 JSON", safeType(typ))
}

func safePath(p string) bool {
	if len(p) > 120 {
		return false
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '_') {
			return false
		}
	}
	return true
}

func jsonKind(v string) string {
	switch v {
	case "string", "number", "bool", "array", "object", "null":
		return v
	}
	if strings.HasPrefix(v, "number") {
		return "number"
	}
	return "value"
}
