// Package fhir reads a patient's record from a FHIR R4 server (or a Bundle),
// maps it to recommend.Facts, and writes CarePlan drafts back.
//
// The client speaks FHIR's REST API over the *http.Client it is given (the
// smart package's, which carries the token): it never sees the token.
package fhir

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// PatientParamForm says how FetchRecord names the patient in searches.
type PatientParamForm int

const (
	// PatientAuto sends patient={id} and, when the Patient exists but every
	// search of the wave comes back empty, runs the wave again with
	// patient=Patient/{id}. The form that found resources is remembered by
	// the Client. The default: some servers (Medplum) silently match nothing
	// for a bare id, and an empty record there would read as "no metastatic
	// disease, no results".
	PatientAuto PatientParamForm = iota
	// PatientBareID always sends patient={id}. It works on the sandbox, HAPI,
	// Epic and Oracle Health.
	PatientBareID
	// PatientReference always sends patient=Patient/{id}, which some servers
	// (Medplum) require.
	PatientReference
)

// Client is a FHIR R4 REST client for one server. It is safe for concurrent
// use.
type Client struct {
	base *url.URL
	hc   *http.Client

	patientForm PatientParamForm
	// learnedForm is the form (PatientBareID or PatientReference) that found
	// resources on this server under PatientAuto; 0 while unknown.
	learnedForm atomic.Int32

	maxPages       int
	maxBody        int64
	attempts       int
	backoff        time.Duration
	maxBackoff     time.Duration
	attemptTimeout time.Duration
	getDeadline    time.Duration
	writeTimeout   time.Duration
	pageSize       int
}

// Option configures a Client.
type Option func(*Client)

// WithPatientParam sets how searches name the patient (default PatientAuto).
func WithPatientParam(f PatientParamForm) Option { return func(c *Client) { c.patientForm = f } }

// WithMaxPages caps the pages one search follows (default 20).
func WithMaxPages(n int) Option {
	return func(c *Client) {
		if n > 0 {
			c.maxPages = n
		}
	}
}

// WithMaxBody caps the size of one response body in bytes (default 32 MiB).
func WithMaxBody(n int64) Option {
	return func(c *Client) {
		if n > 0 {
			c.maxBody = n
		}
	}
}

// WithRetry sets the number of attempts for a GET (default 3) and the first
// backoff (default 200 ms, doubling, at most 2 s unless Retry-After asks for
// more within the deadline).
func WithRetry(attempts int, backoff time.Duration) Option {
	return func(c *Client) {
		if attempts > 0 {
			c.attempts = attempts
		}
		if backoff > 0 {
			c.backoff = backoff
		}
	}
}

// WithTimeouts sets the time allowed for one attempt (default 15 s), for a
// GET with all its retries (default 30 s) and for a POST or PUT (default 30 s).
// The caller's context may end any of them sooner.
func WithTimeouts(attempt, getTotal, write time.Duration) Option {
	return func(c *Client) {
		if attempt > 0 {
			c.attemptTimeout = attempt
		}
		if getTotal > 0 {
			c.getDeadline = getTotal
		}
		if write > 0 {
			c.writeTimeout = write
		}
	}
}

// WithPageSize asks searches for n results per page (_count). By default no
// _count is sent and the server chooses.
func WithPageSize(n int) Option {
	return func(c *Client) {
		if n > 0 {
			c.pageSize = n
		}
	}
}

// NewClient returns a client for the FHIR server at base (the FHIR base URL,
// the SMART iss). hc carries the token; nil means a plain client with a
// 60 s timeout.
func NewClient(base string, hc *http.Client, opts ...Option) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(base, "/"))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
		return nil, errors.New("fhir: base URL must be an absolute http(s) URL")
	}
	u.RawQuery, u.Fragment = "", ""
	if hc == nil {
		hc = &http.Client{Timeout: 60 * time.Second}
	}
	c := &Client{
		base:           u,
		hc:             hc,
		maxPages:       20,
		maxBody:        32 << 20,
		attempts:       3,
		backoff:        200 * time.Millisecond,
		maxBackoff:     2 * time.Second,
		attemptTimeout: 15 * time.Second,
		getDeadline:    30 * time.Second,
		writeTimeout:   30 * time.Second,
	}
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

// Base returns the FHIR base URL, without a trailing slash.
func (c *Client) Base() string { return c.base.String() }

// Resource is one resource as the server returned it.
type Resource struct {
	Type      string
	ID        string
	VersionID string
	// ETag is the ETag header of a read, create or update ("W/\"3\"").
	ETag string
	Raw  json.RawMessage
	// FullURL is the Bundle entry's fullUrl, when the resource came in one.
	FullURL string
	// Mode is the Bundle entry's search mode ("match", "include"), if any.
	Mode string

	// decoded caches the strict decode done while building a Record, and
	// status the status as written (samply decodes a missing one as a code).
	decoded    any
	status     string
	statusRead bool
}

// Ref is "Type/ID", or the fullUrl when the resource has no id.
func (r *Resource) Ref() string {
	if r.ID != "" {
		return r.Type + "/" + r.ID
	}
	return r.FullURL
}

// resourceURL is base/typ[/id].
func (c *Client) resourceURL(typ, id string, q url.Values) string {
	u := *c.base
	u.Path = strings.TrimRight(u.Path, "/") + "/" + typ
	if id != "" {
		u.Path += "/" + id
	}
	u.RawPath = ""
	if len(q) > 0 {
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// Read reads typ/id. A missing resource is ErrNotFound.
func (c *Client) Read(ctx context.Context, typ, id string) (*Resource, error) {
	if !validType(typ) {
		return nil, errors.New("fhir: read: invalid resource type")
	}
	if !validID(id) {
		return nil, fmt.Errorf("fhir: read %s: invalid id", typ)
	}
	resp, err := c.get(ctx, typ, c.resourceURL(typ, id, nil))
	if err != nil {
		return nil, err
	}
	r, err := parseResource(resp.body)
	if err != nil {
		return nil, fmt.Errorf("fhir: read %s: %w", typ, err)
	}
	if r.Type != typ {
		return nil, fmt.Errorf("fhir: read %s: the server returned another resource type", typ)
	}
	r.ETag = resp.etag
	if r.VersionID == "" {
		r.VersionID = versionFromETag(resp.etag)
	}
	return r, nil
}

// Create posts body as a new typ. With ifNoneExist it is a conditional
// create: when a resource matches, the server returns it and created is
// false. Create is never retried.
func (c *Client) Create(ctx context.Context, typ string, body []byte, ifNoneExist url.Values) (*Resource, bool, error) {
	if !validType(typ) {
		return nil, false, errors.New("fhir: create: invalid resource type")
	}
	h := http.Header{}
	if len(ifNoneExist) > 0 {
		h.Set("If-None-Exist", ifNoneExist.Encode())
	}
	resp, err := c.write(ctx, http.MethodPost, typ, c.resourceURL(typ, "", nil), body, h)
	if err != nil {
		return nil, false, err
	}
	r, err := c.writeResult(typ, resp)
	if err != nil {
		return nil, false, fmt.Errorf("fhir: create %s: %w", typ, err)
	}
	return r, resp.status == http.StatusCreated, nil
}

// Update puts body as typ/id. With ifMatchVersion (a versionId, or a full
// ETag) the update only applies to that version; otherwise the server
// answers ErrPreconditionFailed. Update is never retried.
func (c *Client) Update(ctx context.Context, typ, id string, body []byte, ifMatchVersion string) (*Resource, error) {
	if !validType(typ) {
		return nil, errors.New("fhir: update: invalid resource type")
	}
	if !validID(id) {
		return nil, fmt.Errorf("fhir: update %s: invalid id", typ)
	}
	h := http.Header{}
	if ifMatchVersion != "" {
		if strings.HasPrefix(ifMatchVersion, "W/") || strings.HasPrefix(ifMatchVersion, `"`) {
			h.Set("If-Match", ifMatchVersion)
		} else {
			h.Set("If-Match", `W/"`+ifMatchVersion+`"`)
		}
	}
	resp, err := c.write(ctx, http.MethodPut, typ, c.resourceURL(typ, id, nil), body, h)
	if err != nil {
		return nil, err
	}
	r, err := c.writeResult(typ, resp)
	if err != nil {
		return nil, fmt.Errorf("fhir: update %s: %w", typ, err)
	}
	return r, nil
}

// writeResult reads the resource a create or update returned, or, when the
// body is empty (Prefer: return=minimal), its Location and ETag.
func (c *Client) writeResult(typ string, resp *response) (*Resource, error) {
	if len(bytes.TrimSpace(resp.body)) > 0 {
		r, err := parseResource(resp.body)
		if err == nil && r.Type == typ {
			r.ETag = resp.etag
			if r.VersionID == "" {
				r.VersionID = versionFromETag(resp.etag)
			}
			return r, nil
		}
	}
	r := &Resource{Type: typ, ETag: resp.etag, VersionID: versionFromETag(resp.etag)}
	if t, id, vid, ok := parseLocation(resp.location); ok && t == typ {
		r.ID = id
		if vid != "" {
			r.VersionID = vid
		}
	}
	if r.ID == "" {
		return nil, errors.New("the server returned neither the resource nor its location")
	}
	return r, nil
}

// parseLocation reads [base/]Type/id[/_history/vid] from a Location header.
func parseLocation(loc string) (typ, id, vid string, ok bool) {
	if loc == "" {
		return "", "", "", false
	}
	if u, err := url.Parse(loc); err == nil {
		loc = u.Path
	}
	parts := strings.Split(strings.Trim(loc, "/"), "/")
	if n := len(parts); n >= 4 && parts[n-2] == "_history" {
		vid = parts[n-1]
		parts = parts[:n-2]
	}
	n := len(parts)
	if n < 2 || !validType(parts[n-2]) || !validID(parts[n-1]) {
		return "", "", "", false
	}
	return parts[n-2], parts[n-1], vid, true
}

func versionFromETag(etag string) string {
	v := strings.TrimPrefix(etag, "W/")
	v = strings.Trim(v, `"`)
	if validID(v) {
		return v
	}
	return ""
}

// parseResource reads the envelope of one resource.
func parseResource(body []byte) (*Resource, error) {
	var head struct {
		ResourceType string `json:"resourceType"`
		ID           string `json:"id"`
		Meta         struct {
			VersionID string `json:"versionId"`
		} `json:"meta"`
	}
	if err := json.Unmarshal(body, &head); err != nil || head.ResourceType == "" {
		return nil, errors.New("the response is not a FHIR resource")
	}
	return &Resource{Type: head.ResourceType, ID: head.ID, VersionID: head.Meta.VersionID, Raw: json.RawMessage(body)}, nil
}

// response is a successful answer, its body read and capped.
type response struct {
	url      string
	status   int
	body     []byte
	etag     string
	location string
}

// get performs an idempotent GET with retries on 429, 5xx and transport
// errors or timeouts, within one overall deadline.
func (c *Client) get(ctx context.Context, typ, rawURL string) (*response, error) {
	ctx, cancel := context.WithTimeout(ctx, c.getDeadline)
	defer cancel()
	typ = safeType(typ)
	var lastErr error
	for attempt := 0; attempt < c.attempts; attempt++ {
		if attempt > 0 {
			if err := sleepCtx(ctx, c.retryDelay(attempt, lastErr)); err != nil {
				return nil, fmt.Errorf("fhir: GET %s: gave up after %d attempts: %w", typ, attempt, errors.Join(ctxErr(ctx), lastErr))
			}
		}
		resp, err := c.do(ctx, http.MethodGet, typ, rawURL, nil, nil)
		if err == nil {
			return resp, nil
		}
		lastErr = err
		if !retryable(ctx, err) {
			return nil, err
		}
	}
	return nil, fmt.Errorf("fhir: GET %s: gave up after %d attempts: %w", typ, c.attempts, lastErr)
}

func ctxErr(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return nil
}

// retryAfterError carries a server's Retry-After hint with the error.
type retryAfterError struct {
	*ResponseError
	after time.Duration
}

func (e *retryAfterError) Unwrap() error { return e.ResponseError }

func (c *Client) retryDelay(attempt int, lastErr error) time.Duration {
	d := c.backoff << (attempt - 1)
	if d > c.maxBackoff || d <= 0 {
		d = c.maxBackoff
	}
	var ra *retryAfterError
	if errors.As(lastErr, &ra) && ra.after > d {
		d = ra.after
	}
	return d
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < d {
		return context.DeadlineExceeded
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// retryable reports whether a failed GET may be tried again: 429 and 5xx
// answers, and transport errors or per-attempt timeouts while the overall
// deadline still runs.
func retryable(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	var re *ResponseError
	if errors.As(err, &re) {
		return re.Status == http.StatusTooManyRequests || re.Status >= 500
	}
	if errors.Is(err, ErrTooLarge) {
		return false
	}
	var te *transportError
	return errors.As(err, &te)
}

// transportError is a failure to get an answer at all.
type transportError struct{ err error }

func (e *transportError) Error() string { return e.err.Error() }
func (e *transportError) Unwrap() error { return e.err }

// write performs one POST or PUT, never retried.
func (c *Client) write(ctx context.Context, method, typ, rawURL string, body []byte, h http.Header) (*response, error) {
	ctx, cancel := context.WithTimeout(ctx, c.writeTimeout)
	defer cancel()
	h.Set("Content-Type", "application/fhir+json")
	h.Set("Prefer", "return=representation")
	return c.do(ctx, method, typ, rawURL, body, h)
}

// do performs one attempt.
func (c *Client) do(ctx context.Context, method, typ, rawURL string, body []byte, h http.Header) (*response, error) {
	actx, cancel := context.WithTimeout(ctx, c.attemptTimeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(actx, method, rawURL, rd)
	if err != nil {
		return nil, fmt.Errorf("fhir: %s %s: cannot build the request", method, typ)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	req.Header.Set("Accept", "application/fhir+json")
	resp, err := c.hc.Do(req)
	if err != nil {
		// url.Error quotes the URL (ids, query): keep only its cause's kind.
		return nil, &transportError{fmt.Errorf("fhir: %s %s: %w", method, typ, transportCause(ctx, actx, err))}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, c.maxBody+1))
	if err != nil {
		return nil, &transportError{fmt.Errorf("fhir: %s %s: reading the response: %w", method, typ, transportCause(ctx, actx, err))}
	}
	if int64(len(data)) > c.maxBody {
		return nil, fmt.Errorf("fhir: %s %s: %w (more than %d bytes)", method, typ, ErrTooLarge, c.maxBody)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		re := newResponseError(method, typ, resp.StatusCode, data)
		if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
			if s, err := strconv.Atoi(strings.TrimSpace(resp.Header.Get("Retry-After"))); err == nil && s >= 0 {
				return nil, &retryAfterError{re, time.Duration(s) * time.Second}
			}
		}
		return nil, re
	}
	return &response{url: rawURL, status: resp.StatusCode, body: data, etag: resp.Header.Get("ETag"), location: resp.Header.Get("Location")}, nil
}

// transportCause reduces a transport error to a safe cause: the context's
// error, a timeout, or a generic failure (url.Error and net errors may quote
// the URL).
func transportCause(outer, attempt context.Context, err error) error {
	if e := outer.Err(); e != nil {
		return e
	}
	if attempt.Err() != nil {
		return errAttemptTimeout
	}
	var ne interface{ Timeout() bool }
	if errors.As(err, &ne) && ne.Timeout() {
		return errAttemptTimeout
	}
	// Keep the cause reachable for errors.Is (the caller's transport may
	// say "re-authorize") while the message stays generic.
	var ue *url.Error
	if errors.As(err, &ue) {
		return &safeCause{msg: errTransport.Error(), cause: ue.Err}
	}
	return errTransport
}

// safeCause shows a generic message and unwraps to the real cause, whose
// text (which may quote a URL) is never printed.
type safeCause struct {
	msg   string
	cause error
}

func (e *safeCause) Error() string { return e.msg }
func (e *safeCause) Unwrap() error { return e.cause }

var (
	errAttemptTimeout = errors.New("no answer in time")
	errTransport      = errors.New("connection failed")
)
