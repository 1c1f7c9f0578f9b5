package main

import (
	"errors"
	"net"
	"net/http"

	"github.com/mbcplan/mbcplan/fhir"
	"github.com/mbcplan/mbcplan/smart"
)

// oauthErrorCodes are the error codes of OAuth 2.0 (RFC 6749 4.1.2.1 and
// 5.2) and OpenID Connect (Core 3.1.2.6) that an error page may name.
var oauthErrorCodes = map[string]bool{
	"invalid_request": true, "unauthorized_client": true, "access_denied": true,
	"unsupported_response_type": true, "invalid_scope": true, "server_error": true,
	"temporarily_unavailable": true, "invalid_client": true, "invalid_grant": true,
	"unsupported_grant_type": true, "interaction_required": true, "login_required": true,
	"account_selection_required": true, "consent_required": true, "invalid_request_uri": true,
	"invalid_request_object": true, "request_not_supported": true, "request_uri_not_supported": true,
	"registration_not_supported": true,
}

// classifyDomain maps the errors of smart and fhir to what the clinician
// sees; nil when err is none of theirs.
func classifyDomain(err error) *appError {
	var auth *smart.AuthError
	if errors.As(err, &auth) {
		if auth.Stage == smart.StageRefresh {
			return &appError{status: http.StatusUnauthorized, kind: "relaunch",
				message: "Your sign-in to the EHR has ended: please open mbcplan again from the patient's chart.", cause: err}
		}
		msg := "The EHR refused to sign mbcplan in"
		if oauthErrorCodes[auth.Code] {
			// Only a registered code is shown: the callback's error
			// parameter is anyone's input (a crafted link could put any
			// sentence on our page).
			msg += " (" + auth.Code + ")"
		}
		return &appError{status: http.StatusBadRequest, kind: "launch-failed",
			message: msg + ". Nothing was read or written.", hint: auth.Hint, cause: err}
	}
	switch {
	case errors.Is(err, smart.ErrUnknownIssuer):
		return &appError{status: http.StatusBadRequest, kind: "unknown-issuer",
			message: "mbcplan is not set up for the EHR that opened it.",
			hint:    "Add this EHR's FHIR base URL (the iss) to mbcplan's EHR configuration (--ehr-config or MBCPLAN_EHR_ISSUER).", cause: err}
	case errors.Is(err, smart.ErrStateMismatch), errors.Is(err, smart.ErrMissingCode):
		return &appError{status: http.StatusBadRequest, kind: "launch-failed",
			message: "This sign-in link was already used or is not valid: please open mbcplan again from the patient's chart.", cause: err}
	case errors.Is(err, smart.ErrStateExpired):
		return &appError{status: http.StatusBadRequest, kind: "launch-failed",
			message: "The sign-in took too long and expired: please open mbcplan again from the patient's chart.", cause: err}
	case errors.Is(err, smart.ErrReauthorize), errors.Is(err, fhir.ErrUnauthorized):
		return &appError{status: http.StatusUnauthorized, kind: "relaunch",
			message: "Your sign-in to the EHR has ended: please open mbcplan again from the patient's chart.", cause: err}
	case errors.Is(err, smart.ErrDiscovery):
		return &appError{status: http.StatusBadGateway, kind: "ehr-unreachable",
			message: "mbcplan could not reach the EHR's sign-in service.",
			hint:    "Check that the EHR's FHIR base URL serves .well-known/smart-configuration or /metadata.", cause: err}
	case errors.Is(err, smart.ErrUnsupported):
		return &appError{status: http.StatusBadGateway, kind: "launch-failed",
			message: "The EHR does not support how mbcplan is set up to sign in.",
			hint:    "Check the client authentication (public, secret, private_key_jwt) configured for this EHR against what it advertises.", cause: err}
	case errors.Is(err, smart.ErrIDToken):
		return &appError{status: http.StatusBadGateway, kind: "launch-failed",
			message: "The EHR's identity token could not be verified, so mbcplan did not sign you in.", cause: err}
	case errors.Is(err, smart.ErrNoPatient):
		return &appError{status: http.StatusBadRequest, kind: "launch-failed",
			message: "The EHR did not say which patient is open: please open mbcplan from a patient's chart.", cause: err}
	case errors.Is(err, fhir.ErrForbidden):
		return &appError{status: http.StatusForbidden, kind: "forbidden",
			message: "The EHR did not allow this, and nothing was changed.", cause: err}
	case errors.Is(err, fhir.ErrNotFound):
		return &appError{status: http.StatusNotFound, kind: "not-found",
			message: "The EHR could not find that record.", cause: err}
	case errors.Is(err, fhir.ErrPreconditionFailed), errors.Is(err, fhir.ErrConflict):
		return &appError{status: http.StatusConflict, kind: "conflict",
			message: "Someone else changed this draft: your edit was kept, so review the changes and try again.", cause: err}
	}
	var re *fhir.ResponseError
	if errors.As(err, &re) && re.Status >= 500 {
		return &appError{status: http.StatusBadGateway, kind: "ehr-unreachable",
			message: "The EHR answered with an error and nothing was changed: please try again.", cause: err}
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return &appError{status: http.StatusBadGateway, kind: "ehr-unreachable",
			message: "mbcplan could not reach the EHR and nothing was changed: please try again.", cause: err}
	}
	return nil
}
