package main

import (
	"io/fs"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/mbcplan/mbcplan/static"
)

// routes lists every URL the server answers, in one place.
//
//	/                        sandbox launcher (when the sandbox runs), else a short page
//	/sandbox/...             the sandbox EHR: FHIR base /sandbox/fhir, auth /sandbox/auth
//	/launch                  SMART launch (EHR launch: iss + launch; standalone: iss)
//	/callback                OAuth redirect URI
//	/app/{launch}            the clinician's page for one launch
//	/api/{launch}/...        the plan JSON API (see README)
//	/static/...              UI assets
//	/.well-known/jwks.json   the app's public keys (private_key_jwt)
//	/healthz /readyz /metrics
func (a *app) routes(r *gin.Engine) {
	if a.sandbox != nil {
		h := gin.WrapH(a.sandbox.Handler())
		r.GET("/", h)
		r.Any("/sandbox/*path", h)
	} else {
		r.GET("/", a.home)
	}

	r.GET("/launch", a.launch)
	r.GET("/callback", a.callback)
	r.GET("/app/:launch", a.appPage)

	api := r.Group("/api/:launch", a.requireSession)
	api.GET("/plan", a.getPlan)
	api.GET("/style", a.getStyle)
	api.POST("/statements", a.postStatements)
	api.POST("/draft", a.postDraft)
	api.POST("/draft/edit", a.postEdit)
	api.POST("/accept", a.postAccept)
	api.POST("/reject", a.postReject)

	sub, err := fs.Sub(static.FS(), ".")
	if err == nil {
		r.StaticFS("/static", http.FS(sub))
	}
	r.GET("/.well-known/jwks.json", gin.WrapH(a.jwks))
	r.GET("/healthz", a.healthz)
	r.GET("/readyz", a.readyz)
	r.GET("/metrics", a.metricsHandler)
	r.NoRoute(func(c *gin.Context) { respondError(c, errNotFound) })
}
