package main

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/gin-gonic/gin"
)

// maxStyleBytes caps an EHR's style document.
const maxStyleBytes = 64 << 10

// styleValue is what a style value may look like: colours, font names,
// lengths; nothing that could end a CSS declaration.
var styleValue = regexp.MustCompile(`^[A-Za-z0-9 #(),.%'"_-]{1,100}$`)

// getStyle handles GET /api/{launch}/style: the EHR's smart_style_url,
// fetched by the server (the page's CSP allows connections to its own
// origin only) from the EHR's own origin, reduced to known keys.
func (a *app) getStyle(c *gin.Context) {
	s := sessionOf(c)
	raw := s.launch.SmartStyleURL
	if raw == "" {
		c.JSON(http.StatusOK, gin.H{})
		return
	}
	u, err := url.Parse(raw)
	if err != nil || !a.styleOriginAllowed(s, u) {
		c.JSON(http.StatusOK, gin.H{})
		return
	}
	req, err := http.NewRequestWithContext(c.Request.Context(), http.MethodGet, u.String(), nil)
	if err != nil {
		c.JSON(http.StatusOK, gin.H{})
		return
	}
	req.Header.Set("Accept", "application/json")
	resp, err := a.styleHTTP.Do(req)
	if err != nil {
		loggerFrom(c).Warn("EHR style not fetched", "requestID", requestIDOf(c))
		c.JSON(http.StatusOK, gin.H{})
		return
	}
	defer resp.Body.Close()
	style, err := readStyle(resp)
	if err != nil {
		loggerFrom(c).Warn("EHR style not usable", "requestID", requestIDOf(c))
		c.JSON(http.StatusOK, gin.H{})
		return
	}
	c.JSON(http.StatusOK, style)
}

// styleOriginAllowed admits the EHR's own origin (its FHIR base) and the
// origins configured to frame the app: never an arbitrary host.
func (a *app) styleOriginAllowed(s *session, u *url.URL) bool {
	if u.Scheme != "https" && u.Scheme != "http" || u.Host == "" || u.User != nil {
		return false
	}
	origin := u.Scheme + "://" + u.Host
	if iss, err := url.Parse(s.launch.FHIRBase); err == nil && iss.Scheme+"://"+iss.Host == origin {
		return true
	}
	for _, o := range s.ehr.FrameOrigins {
		if strings.TrimRight(o, "/") == origin {
			return true
		}
	}
	return false
}

func readStyle(resp *http.Response) (map[string]string, error) {
	if resp.StatusCode != http.StatusOK {
		return nil, errors.New("style: status")
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxStyleBytes+1))
	if err != nil || len(body) > maxStyleBytes {
		return nil, errors.New("style: body")
	}
	var doc map[string]any
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, errors.New("style: not JSON")
	}
	out := map[string]string{}
	for k, v := range doc {
		sv, ok := v.(string)
		if !ok || !(strings.HasPrefix(k, "color_") || strings.HasPrefix(k, "font_") || strings.HasPrefix(k, "dim_")) {
			continue
		}
		if styleValue.MatchString(sv) {
			out[k] = sv
		}
	}
	return out, nil
}
