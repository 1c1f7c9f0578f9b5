package main

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"strings"
)

// redactedKeys are attribute keys whose values must never reach a log line:
// identifiers, names, query strings, OAuth material and bodies. A guard for
// mistakes: code should not log them in the first place.
var redactedKeys = map[string]bool{
	"patient": true, "patient_id": true, "patientid": true, "encounter": true, "name": true,
	"birthdate": true, "mrn": true, "id": true, "launch": true, "session": true,
	"query": true, "rawquery": true, "url": true, "uri": true,
	"code": true, "state": true, "token": true, "access_token": true, "refresh_token": true,
	"id_token": true, "secret": true, "client_secret": true, "authorization": true,
	"cookie": true, "body": true, "fhiruser": true, "subject": true, "iss": true,
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var lv slog.Level
	switch level {
	case "debug":
		lv = slog.LevelDebug
	case "warn":
		lv = slog.LevelWarn
	case "error":
		lv = slog.LevelError
	default:
		lv = slog.LevelInfo
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{
		Level: lv,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if redactedKeys[strings.ToLower(a.Key)] {
				return slog.String(a.Key, "[redacted]")
			}
			return a
		},
	}))
}

// jsonErrorSummary describes a JSON decoding error without quoting input.
func jsonErrorSummary(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return "malformed JSON"
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		// Field is the path of JSON names of our own types; map keys are
		// not in it.
		return "a field has the wrong type: " + te.Field
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return "no JSON object or an incomplete one"
	}
	if errors.Is(err, errTrailingJSON) {
		return "data after the JSON object"
	}
	if strings.HasPrefix(err.Error(), "json: unknown field ") {
		return "a field is not known"
	}
	return "not valid JSON"
}
