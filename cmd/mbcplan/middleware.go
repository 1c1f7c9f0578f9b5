package main

import (
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
)

const requestIDKey = "requestID"

// requestID gives every request an id that the clinician sees with an error
// and that the log line carries.
func requestID() gin.HandlerFunc {
	return func(c *gin.Context) {
		b := make([]byte, 8)
		if _, err := rand.Read(b); err != nil {
			c.AbortWithStatus(http.StatusInternalServerError)
			return
		}
		id := hex.EncodeToString(b)
		c.Set(requestIDKey, id)
		c.Header("X-Request-ID", id)
		c.Next()
	}
}

func requestIDOf(c *gin.Context) string {
	return c.GetString(requestIDKey)
}

// accessLog logs one line per request: the route template (never the raw
// path or query, which carry launch ids, codes and state), status, latency.
func accessLog(log *slog.Logger, m *metrics) gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		route := c.FullPath()
		if route == "" {
			route = "unmatched"
		}
		lat := time.Since(start)
		m.observe(route, c.Writer.Status(), lat)
		log.LogAttrs(c.Request.Context(), slog.LevelInfo, "request",
			slog.String("method", c.Request.Method),
			slog.String("route", route),
			slog.Int("status", c.Writer.Status()),
			slog.Duration("latency", lat),
			slog.String("requestID", requestIDOf(c)),
		)
	}
}

// recovery answers a panic with a calm page and logs it once, without
// headers or bodies.
func recovery(log *slog.Logger) gin.HandlerFunc {
	return gin.CustomRecoveryWithWriter(nil, func(c *gin.Context, rec any) {
		log.LogAttrs(c.Request.Context(), slog.LevelError, "panic",
			slog.String("route", c.FullPath()),
			slog.String("requestID", requestIDOf(c)),
		)
		respondError(c, errInternal)
	})
}

// securityHeaders sets a strict CSP whose frame-ancestors allows the
// configured EHR origins (the EHR may frame the app), never
// X-Frame-Options: DENY.
func securityHeaders(frameAncestors []string) gin.HandlerFunc {
	fa := "'self'"
	if len(frameAncestors) > 0 {
		fa += " " + strings.Join(frameAncestors, " ")
	}
	// style-src: the EHR's style (smart_style_url) is JSON read with
	// fetch (connect-src), applied as CSS custom properties: no stylesheet
	// comes from elsewhere. form-action: the app's pages post nowhere; the
	// one page that posts to the EHR (renderAuthorizePost) sets its own.
	csp := "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
		"connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors " + fa
	return func(c *gin.Context) {
		h := c.Writer.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-store")
		c.Next()
	}
}

// limitBody caps request bodies.
func limitBody(n int64) gin.HandlerFunc {
	return func(c *gin.Context) {
		if c.Request.Body != nil {
			c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, n)
		}
		c.Next()
	}
}
