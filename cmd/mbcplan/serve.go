package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/mbcplan/mbcplan/fhir/sandbox"
	"github.com/mbcplan/mbcplan/recommend"
	"github.com/mbcplan/mbcplan/smart"
)

// app is the running server: configuration, clients, stores and handlers.
type app struct {
	cfg      Config
	log      *slog.Logger
	baseURL  string
	now      func() time.Time
	smart    *smart.Client
	jwks     http.Handler
	sessions sessionStore
	pages    *pages
	metrics  *metrics
	sandbox  *sandbox.Sandbox
	store    appStore
	fhirHTTP *http.Client
	// styleHTTP fetches EHR style documents: short timeout, no token.
	styleHTTP *http.Client
	ehrs      map[string]EHRConfig // by issuer
	settings  recommend.Settings
	ready     atomic.Bool
}

func runServe(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := parseServeConfig(args, getenv, stderr)
	if err != nil {
		return err
	}
	log := newLogger(stderr, cfg.LogLevel)
	gin.SetMode(gin.ReleaseMode)

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("serve: cannot listen on %s: %v", cfg.Addr, err)
	}
	defer ln.Close()
	base := strings.TrimRight(cfg.PublicURL, "/")
	if base == "" {
		base = "http://" + ln.Addr().String()
	}

	a, err := newApp(ctx, cfg, base, log)
	if err != nil {
		return err
	}
	defer a.close()
	engine, err := a.engine()
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           engine,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      90 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	a.ready.Store(true)
	fmt.Fprintf(stdout, "mbcplan: listening on %s\n", base)
	if a.sandbox != nil {
		fmt.Fprintf(stdout, "mbcplan: sandbox EHR launcher at %s/ (FHIR base %s)\n", base, a.sandbox.Issuer())
	}
	log.Info("started", slog.Any("config", a.cfg))

	select {
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return fmt.Errorf("serve: %v", err)
	case <-ctx.Done():
	}
	a.ready.Store(false)
	log.Info("stopping")
	shutCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	// Shutdown returns once in-flight requests have completed; only then
	// does the deferred a.close() close the store they may still use.
	if err := srv.Shutdown(shutCtx); err != nil {
		// Requests still running after the grace period are cut off.
		return fmt.Errorf("serve: shutdown: %v", errors.Join(err, srv.Close()))
	}
	return nil
}

// engine builds the gin engine with our middleware; never gin.Default (its
// logger prints raw query strings such as ?code=).
func (a *app) engine() (*gin.Engine, error) {
	r := gin.New()
	if err := r.SetTrustedProxies(nil); err != nil {
		return nil, err
	}
	r.Use(requestID(), withLogger(a.log), withPages(a.pages), accessLog(a.log, a.metrics),
		recovery(a.log), securityHeaders(a.frameAncestors()), limitBody(1<<20))
	a.routes(r)
	return r, nil
}

// frameAncestors are the origins allowed to frame the app.
func (a *app) frameAncestors() []string {
	var out []string
	seen := map[string]bool{}
	for _, e := range a.cfg.EHRs {
		for _, o := range e.FrameOrigins {
			o = strings.TrimRight(o, "/") // a CSP source is the origin alone
			if !seen[o] {
				seen[o] = true
				out = append(out, o)
			}
		}
	}
	return out
}

func (a *app) healthz(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"status": "ok"})
}

func (a *app) readyz(c *gin.Context) {
	if !a.ready.Load() {
		c.JSON(http.StatusServiceUnavailable, gin.H{"status": "starting"})
		return
	}
	if err := a.store.Ping(c.Request.Context()); err != nil {
		c.JSON(http.StatusServiceUnavailable, gin.H{"status": "store unavailable"})
		return
	}
	c.JSON(http.StatusOK, gin.H{"status": "ready"})
}

func (a *app) metricsHandler(c *gin.Context) {
	c.Header("Content-Type", "text/plain; version=0.0.4")
	a.metrics.write(c.Writer)
}

func (a *app) home(c *gin.Context) {
	c.Data(http.StatusOK, "text/html; charset=utf-8", []byte(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>mbcplan</title><link rel="stylesheet" href="/static/app.css"></head><body><main><h1>mbcplan</h1><p>Open mbcplan from a patient's chart in your EHR.</p></main></body></html>`))
}
