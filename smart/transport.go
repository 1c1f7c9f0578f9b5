package smart

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
)

// tokenSource holds one launch's token and renews it before expiry, one
// renewal at a time however many requests wait for it.
type tokenSource struct {
	name         string
	now          func() time.Time
	margin       time.Duration
	log          *slog.Logger
	renew        func(ctx context.Context, cur *oauth2.Token) (*oauth2.Token, time.Time, error)
	unauthorized error // returned when a fresh token is refused too

	mu     sync.Mutex
	tok    *oauth2.Token
	expiry time.Time // zero: unknown, never renewed ahead of time
	gen    uint64    // incremented by each renewal
	call   *renewal  // the renewal in flight
	dead   error     // set once renewal can no longer succeed
}

type renewal struct {
	done chan struct{}
	err  error
}

// current returns a token that is not about to expire.
func (s *tokenSource) current(ctx context.Context) (*oauth2.Token, uint64, error) {
	s.mu.Lock()
	if s.dead != nil {
		err := s.dead
		s.mu.Unlock()
		return nil, 0, err
	}
	if s.expiry.IsZero() || s.now().Before(s.expiry.Add(-s.margin)) {
		tok, gen := s.tok, s.gen
		s.mu.Unlock()
		return tok, gen, nil
	}
	gen := s.gen
	s.mu.Unlock()
	return s.renewAfter(ctx, gen)
}

// renewAfter renews the token unless it was renewed since generation seen.
func (s *tokenSource) renewAfter(ctx context.Context, seen uint64) (*oauth2.Token, uint64, error) {
	s.mu.Lock()
	if s.dead != nil {
		err := s.dead
		s.mu.Unlock()
		return nil, 0, err
	}
	if s.gen != seen {
		tok, gen := s.tok, s.gen
		s.mu.Unlock()
		return tok, gen, nil
	}
	call := s.call
	if call == nil {
		call = &renewal{done: make(chan struct{})}
		s.call = call
		cur := s.tok
		// The renewal outlives a waiter that gives up; the HTTP client's
		// timeout bounds it.
		go s.run(context.WithoutCancel(ctx), call, cur)
	}
	s.mu.Unlock()
	select {
	case <-call.done:
	case <-ctx.Done():
		return nil, 0, ctx.Err()
	}
	if call.err != nil {
		return nil, 0, call.err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tok, s.gen, nil
}

func (s *tokenSource) run(ctx context.Context, call *renewal, cur *oauth2.Token) {
	tok, expiry, err := s.renew(ctx, cur)
	s.mu.Lock()
	if err == nil {
		s.tok, s.expiry = tok, expiry
		s.gen++
	} else if errors.Is(err, ErrReauthorize) {
		s.dead = err
	}
	s.call = nil
	s.mu.Unlock()
	if err == nil {
		s.log.LogAttrs(ctx, slog.LevelInfo, "smart: token renewed", slog.String("ehr", s.name))
	} else {
		s.log.LogAttrs(ctx, slog.LevelWarn, "smart: token renewal failed", slog.String("ehr", s.name), slog.Any("error", logErr(err)))
	}
	call.err = err
	close(call.done)
}

// Token implements oauth2.TokenSource.
func (s *tokenSource) Token() (*oauth2.Token, error) {
	tok, _, err := s.current(context.Background())
	if err != nil {
		return nil, err
	}
	cp := *tok
	cp.RefreshToken = ""
	return &cp, nil
}

// TokenSource returns the launch's token source (renewing before expiry). The
// tokens it returns carry no refresh token.
func (l *Launch) TokenSource() oauth2.TokenSource { return l.ts }

// HTTPClient returns a client that sends the launch's bearer token to the FHIR
// server (and to no other host), renews it before expiry, and after a 401
// renews it once and retries the request when it can be replayed (no body, or
// a body with GetBody). A second 401 gives ErrReauthorize. base supplies the
// transport and timeout; nil means http.DefaultTransport and 30 seconds.
func (l *Launch) HTTPClient(base *http.Client) *http.Client {
	return newBearerClient(base, l.FHIRBase, l.ts)
}

func newBearerClient(base *http.Client, fhirBase string, ts *tokenSource) *http.Client {
	hc := withTimeout(base)
	rt := hc.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	return &http.Client{
		Transport:     &transport{base: rt, origin: origin(fhirBase), ts: ts},
		Timeout:       hc.Timeout,
		CheckRedirect: hc.CheckRedirect,
	}
}

type transport struct {
	base   http.RoundTripper
	origin string
	ts     *tokenSource
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if origin(req.URL.String()) != t.origin {
		return t.base.RoundTrip(req) // never send the token elsewhere
	}
	ctx := req.Context()
	tok, gen, err := t.ts.current(ctx)
	if err != nil {
		if req.Body != nil {
			req.Body.Close() // RoundTrip closes the body, even on error
		}
		return nil, err
	}
	resp, err := t.send(req, tok, req.Body)
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}
	replayable := req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
	tok2, _, rerr := t.ts.renewAfter(ctx, gen)
	if rerr != nil {
		if errors.Is(rerr, ErrReauthorize) {
			closeBody(resp)
			return nil, rerr
		}
		return resp, nil // could not renew now: hand back the 401
	}
	if !replayable {
		return resp, nil // the next request carries the new token
	}
	var body io.ReadCloser
	if req.GetBody != nil {
		body, err = req.GetBody()
		if err != nil {
			return resp, nil
		}
	}
	closeBody(resp)
	resp, err = t.send(req, tok2, body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode == http.StatusUnauthorized {
		closeBody(resp)
		return nil, fmt.Errorf("%w: the FHIR server refused a renewed token", t.ts.unauthorized)
	}
	return resp, nil
}

func (t *transport) send(req *http.Request, tok *oauth2.Token, body io.ReadCloser) (*http.Response, error) {
	r := req.Clone(req.Context())
	r.Body = body
	typ := tok.TokenType
	if typ == "" || strings.EqualFold(typ, "bearer") {
		typ = "Bearer"
	}
	r.Header.Set("Authorization", typ+" "+tok.AccessToken)
	return t.base.RoundTrip(r)
}

// closeBody drains a little of a response body, so the connection can be reused, and closes it.
func closeBody(resp *http.Response) {
	if _, err := io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)); err != nil {
		resp.Body.Close()
		return
	}
	resp.Body.Close()
}
