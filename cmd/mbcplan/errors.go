package main

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
)

// appError is an error as the clinician meets it: one short, actionable
// sentence, a kind the UI can branch on, and an HTTP status. The cause is
// logged once, in respondError, and never shown.
type appError struct {
	status  int
	kind    string
	message string
	// hint is an extra line for integration engineers on launch pages
	// (what to check in the EHR registration). It never carries secrets.
	hint  string
	cause error
}

func (e *appError) Error() string {
	if e.cause != nil {
		return e.kind + ": " + e.cause.Error()
	}
	return e.kind
}

func (e *appError) Unwrap() error { return e.cause }

var (
	errInternal = &appError{status: http.StatusInternalServerError, kind: "internal",
		message: "Something went wrong in mbcplan and nothing was written to the chart: please try again."}
	errSessionExpired = &appError{status: http.StatusUnauthorized, kind: "session-expired",
		message: "This session has ended: please open mbcplan again from the patient's chart."}
	errNotFound = &appError{status: http.StatusNotFound, kind: "not-found",
		message: "That page does not exist."}
)

func newAppError(status int, kind, message string, cause error) *appError {
	return &appError{status: status, kind: kind, message: message, cause: cause}
}

// classify maps any error to what the clinician sees. It is the one place
// that turns error kinds into messages and statuses.
func classify(err error) *appError {
	var ae *appError
	if errors.As(err, &ae) {
		return ae
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return &appError{status: http.StatusGatewayTimeout, kind: "ehr-timeout",
			message: "The EHR did not answer in time and nothing was changed: please try again.", cause: err}
	case errors.Is(err, context.Canceled):
		return &appError{status: 499, kind: "canceled", message: "The request was cancelled.", cause: err}
	}
	if ae := classifyDomain(err); ae != nil {
		return ae
	}
	return &appError{status: errInternal.status, kind: errInternal.kind, message: errInternal.message, cause: err}
}

// respondError logs the error chain once and answers JSON for the API and a
// page for everything else.
func respondError(c *gin.Context, err error) {
	ae := classify(err)
	log := loggerFrom(c)
	lvl := slog.LevelWarn
	if ae.status >= 500 {
		lvl = slog.LevelError
	}
	attrs := []slog.Attr{
		slog.String("kind", ae.kind),
		slog.Int("status", ae.status),
		slog.String("route", c.FullPath()),
		slog.String("requestID", requestIDOf(c)),
	}
	if ae.cause != nil {
		attrs = append(attrs, slog.String("error", ae.cause.Error()))
	}
	log.LogAttrs(c.Request.Context(), lvl, "request failed", attrs...)
	status := ae.status
	if status == 499 {
		status = http.StatusBadRequest
	}
	if strings.HasPrefix(c.Request.URL.Path, "/api/") {
		c.AbortWithStatusJSON(status, gin.H{
			"error":     ae.kind,
			"message":   ae.message,
			"requestId": requestIDOf(c),
		})
		return
	}
	renderErrorPage(c, status, ae)
}

const loggerKey = "logger"

func loggerFrom(c *gin.Context) *slog.Logger {
	if v, ok := c.Get(loggerKey); ok {
		if l, ok := v.(*slog.Logger); ok {
			return l
		}
	}
	return slog.Default()
}

func withLogger(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		c.Set(loggerKey, log)
		c.Next()
	}
}
