package main

import (
	"bytes"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/mbcplan/mbcplan/fhir"
	"github.com/mbcplan/mbcplan/recommend"
	"github.com/mbcplan/mbcplan/smart"
)

// session is one launch: its SMART context and token (inside launch), its
// FHIR client, the facts read once, the clinician's statements and the open
// draft. Everything the API answers comes from the session named in the URL,
// so one launch can never show another launch's patient.
type session struct {
	id     sessionID
	launch *smart.Launch
	ehr    EHRConfig
	client *fhir.Client

	mu         sync.Mutex
	used       time.Time
	facts      *recommend.Facts
	statements recommend.Statements
	draftID    string
	draftWhere string
}

func (s *session) touch(now time.Time) {
	s.mu.Lock()
	s.used = now
	s.mu.Unlock()
}

func (s *session) lastUsed() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.used
}

// maxParam caps launch parameters: Epic's launch tokens are long, nothing
// legitimate is longer than this.
const maxParam = 8 << 10

// launch handles GET /launch: an EHR launch (iss + launch) or a standalone
// launch (iss only).
func (a *app) launch(c *gin.Context) {
	q := c.Request.URL.Query()
	iss, launchParam := q.Get("iss"), q.Get("launch")
	if iss == "" {
		respondError(c, newAppError(http.StatusBadRequest, "launch-failed",
			"mbcplan was opened without the EHR's address (iss). Please open it from the patient's chart.", nil))
		return
	}
	if len(iss) > maxParam || len(launchParam) > maxParam || len(q["iss"]) > 1 || len(q["launch"]) > 1 {
		respondError(c, newAppError(http.StatusBadRequest, "launch-failed",
			"The launch request was malformed. Please open mbcplan again from the chart.", nil))
		return
	}
	if u, err := url.Parse(iss); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		respondError(c, newAppError(http.StatusBadRequest, "launch-failed",
			"The EHR's address (iss) is not a URL. Please open mbcplan again from the chart.", nil))
		return
	}
	auth, err := a.smart.Begin(c.Request.Context(), iss, launchParam)
	if err != nil {
		respondError(c, err)
		return
	}
	a.metrics.event("launch_begun")
	if auth.Form != nil {
		a.renderAuthorizePost(c, auth.Form)
		return
	}
	c.Redirect(http.StatusFound, auth.URL)
}

var postFormPage = template.Must(template.New("post").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>mbcplan — signing in</title>
<link rel="stylesheet" href="/static/app.css"><script src="/static/autopost.js" defer></script></head>
<body><main><h1>Signing in to the EHR…</h1>
<form id="authorize" method="post" action="{{.Action}}">
{{range $k, $vs := .Fields}}{{range $vs}}<input type="hidden" name="{{$k}}" value="{{.}}">{{end}}{{end}}
<button type="submit">Continue</button>
</form></main></body></html>`))

func (a *app) renderAuthorizePost(c *gin.Context, f *smart.PostForm) {
	var buf bytes.Buffer
	if err := postFormPage.Execute(&buf, f); err != nil {
		respondError(c, err)
		return
	}
	c.Header("Content-Security-Policy", authorizePostCSP(f.Action, a.frameAncestors()))
	c.Data(http.StatusOK, "text/html; charset=utf-8", buf.Bytes())
}

// authorizePostCSP is the policy of the page that posts the authorize
// request: the form goes to the EHR's authorization server, and form-action
// also allows 'self' because an EHR whose user is already signed in answers
// that POST with a redirect straight to our /callback, which browsers check
// against form-action too.
func authorizePostCSP(action string, frameAncestors []string) string {
	fa := "'self'"
	if o := originOf(action); o != "" {
		fa += " " + o
	}
	return "default-src 'self'; script-src 'self'; style-src 'self'; object-src 'none'; base-uri 'none'; " +
		"form-action " + fa + "; frame-ancestors " + strings.Join(append([]string{"'self'"}, frameAncestors...), " ")
}

func originOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// callback handles GET /callback: the authorization server's redirect.
func (a *app) callback(c *gin.Context) {
	ctx := c.Request.Context()
	l, err := a.smart.Complete(ctx, c.Request.URL.Query())
	if err != nil {
		a.metrics.event("launch_failed")
		respondError(c, err)
		return
	}
	ehr := a.ehrs[strings.TrimRight(l.FHIRBase, "/")]
	client, err := fhir.NewClient(l.FHIRBase, l.HTTPClient(a.fhirHTTP), fhirOptions(ehr)...)
	if err != nil {
		respondError(c, err)
		return
	}
	id, err := newSessionID()
	if err != nil {
		respondError(c, err)
		return
	}
	s := &session{id: id, launch: l, ehr: ehr, client: client, used: a.now()}
	a.sessions.Put(s)
	for _, w := range l.Warnings {
		a.log.Warn("launch warning", "warning", w)
	}
	a.metrics.event("launch_completed")
	c.Redirect(http.StatusSeeOther, "/app/"+string(id))
}

// fhirOptions are per-EHR client settings.
func fhirOptions(e EHRConfig) []fhir.Option {
	return nil
}

// appPage handles GET /app/{launch}: the clinician's page.
func (a *app) appPage(c *gin.Context) {
	id := c.Param("launch")
	if !validSessionID(id) {
		respondError(c, errSessionExpired)
		return
	}
	if _, ok := a.sessions.Get(sessionID(id), a.now()); !ok {
		respondError(c, errSessionExpired)
		return
	}
	var buf bytes.Buffer
	if err := a.pages.app.Execute(&buf, struct{ Launch string }{id}); err != nil {
		respondError(c, err)
		return
	}
	c.Data(http.StatusOK, "text/html; charset=utf-8", buf.Bytes())
}

const sessionKey = "session"

// requireSession resolves /api/{launch}/… to its session or answers
// "session expired".
func (a *app) requireSession(c *gin.Context) {
	id := c.Param("launch")
	if !validSessionID(id) {
		respondError(c, errSessionExpired)
		return
	}
	s, ok := a.sessions.Get(sessionID(id), a.now())
	if !ok {
		respondError(c, errSessionExpired)
		return
	}
	c.Set(sessionKey, s)
	c.Next()
}

func sessionOf(c *gin.Context) *session {
	v, _ := c.Get(sessionKey)
	s, _ := v.(*session)
	return s
}
