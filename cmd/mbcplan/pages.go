package main

import (
	"bytes"
	"html/template"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/mbcplan/mbcplan/static"
)

// pages are the server-rendered pages (html/template, no inline scripts).
type pages struct {
	app   *template.Template
	error *template.Template
}

func loadPages() (*pages, error) {
	fsys := static.FS()
	app, err := template.ParseFS(fsys, "app.html")
	if err != nil {
		return nil, err
	}
	errT, err := template.ParseFS(fsys, "error.html")
	if err != nil {
		return nil, err
	}
	return &pages{app: app, error: errT}, nil
}

const pagesKey = "pages"

func withPages(p *pages) gin.HandlerFunc {
	return func(c *gin.Context) {
		c.Set(pagesKey, p)
		c.Next()
	}
}

var errorTitles = map[string]string{
	"session-expired": "Session ended",
	"launch-failed":   "Launch failed",
	"unknown-issuer":  "Unknown EHR",
	"ehr-unreachable": "EHR unreachable",
	"ehr-timeout":     "EHR unreachable",
	"relaunch":        "Please launch again",
	"not-found":       "Not found",
	"bad-request":     "Request not understood",
}

func renderErrorPage(c *gin.Context, status int, ae *appError) {
	title := errorTitles[ae.kind]
	if title == "" {
		title = "Something went wrong"
	}
	data := struct{ Title, Message, Hint, RequestID string }{title, ae.message, ae.hint, requestIDOf(c)}
	v, _ := c.Get(pagesKey)
	p, ok := v.(*pages)
	if !ok || p == nil {
		c.AbortWithStatus(status)
		return
	}
	var buf bytes.Buffer
	if err := p.error.Execute(&buf, data); err != nil {
		c.AbortWithStatus(http.StatusInternalServerError)
		return
	}
	c.Abort()
	c.Data(status, "text/html; charset=utf-8", buf.Bytes())
}
