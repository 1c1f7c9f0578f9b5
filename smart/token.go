package smart

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// ContextItem is one entry of the token response's fhirContext.
type ContextItem struct {
	Reference string // e.g. "DiagnosticReport/123"
	Canonical string
	Type      string
	Role      string
}

// Launch is the outcome of a completed authorization: the launch context and
// the token, which stays inside (use HTTPClient). Its exported fields are
// plain values; the token and its refresh are safe for concurrent use.
type Launch struct {
	EHRName           string
	Issuer            string // iss as received
	FHIRBase          string // iss without a trailing slash
	PatientID         string
	EncounterID       string
	FHIRUser          string // relative, e.g. "Practitioner/123"; "" when unknown
	FHIRUserURL       string // absolute URL of the user resource
	SmartStyleURL     string
	Tenant            string
	Intent            string
	NeedPatientBanner bool // true unless the EHR says it shows the patient itself
	FHIRContext       []ContextItem
	Scopes            []string // granted scopes
	Warnings          []string // safe to show and log: no identifiers
	Expiry            time.Time

	ts *tokenSource
}

// LogValue keeps identifiers out of logs.
func (l *Launch) LogValue() slog.Value {
	return slog.GroupValue(slog.String("ehr", l.EHRName), slog.Int("scopes", len(l.Scopes)),
		slog.Int("warnings", len(l.Warnings)), slog.Bool("user_known", l.FHIRUser != ""))
}

// CanWrite reports whether the granted scopes allow creating and updating resourceType.
func (l *Launch) CanWrite(resourceType string) bool {
	return allows(l.Scopes, resourceType, 'c') && allows(l.Scopes, resourceType, 'u')
}

// Allows reports whether the granted scopes allow permission ('c', 'r', 'u',
// 'd' or 's', as in SMART v2) on resourceType; v1 scopes are understood too.
func (l *Launch) Allows(resourceType string, permission byte) bool {
	return allows(l.Scopes, resourceType, permission)
}

// Complete finishes an authorization with the callback's query parameters:
// it checks the state (single use), turns an authorization server error into
// an *AuthError, exchanges the code with the PKCE verifier and reads the
// launch context.
func (c *Client) Complete(ctx context.Context, callback url.Values) (*Launch, error) {
	now := c.now()
	p, stateErr := c.pending.take(callback.Get("state"), now, c.stateTTL)
	// The state is checked first: an error redirect that does not belong to
	// an authorization we started is anyone's text, neither shown nor logged.
	if stateErr != nil {
		return nil, stateErr
	}
	if code := callback.Get("error"); code != "" {
		ae := newAuthError(p.ehr.Name, StageAuthorize, oauthCode(code), callback.Get("error_description"), 0)
		c.log.LogAttrs(ctx, slog.LevelWarn, "smart: authorization refused", slog.Any("error", ae))
		return nil, ae
	}
	code := callback.Get("code")
	if code == "" {
		return nil, ErrMissingCode
	}
	oc := c.oauthConfig(p.ehr, p.cfg, p.auth)
	opts := []oauth2.AuthCodeOption{oauth2.VerifierOption(p.verifier)}
	if p.auth == authPrivateKeyJWT {
		a, err := c.keys.ClientAssertion(p.ehr.ClientID, p.cfg.TokenEndpoint, now)
		if err != nil {
			return nil, err
		}
		opts = append(opts, oauth2.SetAuthURLParam("client_assertion_type", clientAssertionType),
			oauth2.SetAuthURLParam("client_assertion", a))
	}
	tok, err := oc.Exchange(context.WithValue(ctx, oauth2.HTTPClient, c.hc), code, opts...)
	if err != nil {
		err = tokenError(p.ehr.Name, StageToken, err)
		c.log.LogAttrs(ctx, slog.LevelWarn, "smart: code exchange failed", slog.Any("error", logErr(err)))
		return nil, err
	}
	l, err := c.newLaunch(ctx, p, tok, c.now())
	if err != nil {
		c.log.LogAttrs(ctx, slog.LevelWarn, "smart: launch refused", slog.String("ehr", p.ehr.Name), slog.String("error", err.Error()))
		return nil, err
	}
	c.log.LogAttrs(ctx, slog.LevelInfo, "smart: launch complete", slog.Any("launch", l),
		slog.String("client_auth", p.auth.String()))
	return l, nil
}

// logErr logs *AuthError through its LogValue and other errors as their message.
func logErr(err error) any {
	var ae *AuthError
	if errors.As(err, &ae) {
		return ae
	}
	return err.Error()
}

func (c *Client) oauthConfig(e *EHR, cfg *Configuration, auth clientAuth) *oauth2.Config {
	oc := &oauth2.Config{
		ClientID:    e.ClientID,
		RedirectURL: c.redirectURI,
		Endpoint: oauth2.Endpoint{
			AuthURL:   cfg.AuthorizationEndpoint,
			TokenURL:  cfg.TokenEndpoint,
			AuthStyle: oauth2.AuthStyleInParams, // public and private_key_jwt: client_id in the body
		},
	}
	if auth == authSecretBasic {
		oc.ClientSecret = string(e.ClientSecret)
		oc.Endpoint.AuthStyle = oauth2.AuthStyleInHeader // HTTP Basic only; never auto-detect
	}
	return oc
}

// tokenError turns a token endpoint failure into an *AuthError, reading the
// JSON error when there is one, or into an error without response content.
func tokenError(ehr, stage string, err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		status := 0
		if re.Response != nil {
			status = re.Response.StatusCode
		}
		code, desc := re.ErrorCode, re.ErrorDescription
		if code == "" {
			var body struct {
				Error            string `json:"error"`
				ErrorDescription string `json:"error_description"`
			}
			if json.Unmarshal(re.Body, &body) == nil {
				code, desc = body.Error, body.ErrorDescription
			}
		}
		return newAuthError(ehr, stage, code, desc, status)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("smart: %s request failed: %v", stage, ue.Err)
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("smart: %s request: %w", stage, err)
	}
	return fmt.Errorf("smart: %s: unusable token response", stage)
}

// redactURLError drops the URL from a *url.Error.
func redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// expiryOf computes the expiry from expires_in with our clock; zero when absent.
func expiryOf(tok *oauth2.Token, now time.Time) time.Time {
	secs := tok.ExpiresIn
	if secs == 0 {
		switch v := tok.Extra("expires_in").(type) {
		case float64:
			secs = int64(v)
		case json.Number:
			n, err := v.Int64()
			if err == nil {
				secs = n
			}
		case string:
			var n int64
			if _, err := fmt.Sscanf(v, "%d", &n); err == nil {
				secs = n
			}
		}
	}
	if secs <= 0 {
		return time.Time{}
	}
	return now.Add(time.Duration(secs) * time.Second)
}

func extraString(tok *oauth2.Token, key string) string {
	s, ok := tok.Extra(key).(string)
	if !ok {
		return ""
	}
	return s
}

// parseBanner reads need_patient_banner as a bool or a string ("false", as Epic
// sends). Absent or unreadable means true: showing the patient is the safe side.
func parseBanner(v any) (banner, ok bool) {
	switch b := v.(type) {
	case nil:
		return true, true
	case bool:
		return b, true
	case string:
		switch strings.ToLower(strings.TrimSpace(b)) {
		case "true":
			return true, true
		case "false":
			return false, true
		}
	}
	return true, false
}

func parseFHIRContext(v any) []ContextItem {
	list, ok := v.([]any)
	if !ok {
		return nil
	}
	var out []ContextItem
	for _, x := range list {
		switch it := x.(type) {
		case string:
			out = append(out, ContextItem{Reference: it})
		case map[string]any:
			var ci ContextItem
			ci.Reference, _ = it["reference"].(string)
			ci.Canonical, _ = it["canonical"].(string)
			ci.Type, _ = it["type"].(string)
			ci.Role, _ = it["role"].(string)
			if ci != (ContextItem{}) {
				out = append(out, ci)
			}
		}
	}
	return out
}

func (c *Client) newLaunch(ctx context.Context, p *pending, tok *oauth2.Token, now time.Time) (*Launch, error) {
	l := &Launch{
		EHRName:       p.ehr.Name,
		Issuer:        p.iss,
		FHIRBase:      strings.TrimSuffix(p.iss, "/"),
		PatientID:     extraString(tok, "patient"),
		EncounterID:   extraString(tok, "encounter"),
		SmartStyleURL: extraString(tok, "smart_style_url"),
		Tenant:        extraString(tok, "tenant"),
		Intent:        extraString(tok, "intent"),
		FHIRContext:   parseFHIRContext(tok.Extra("fhirContext")),
		Expiry:        expiryOf(tok, now),
	}
	if l.PatientID == "" {
		return nil, ErrNoPatient
	}
	if !isFHIRID(l.PatientID) {
		return nil, fmt.Errorf("%w: the patient id is not a FHIR id", ErrNoPatient)
	}
	banner, ok := parseBanner(tok.Extra("need_patient_banner"))
	l.NeedPatientBanner = banner
	if !ok {
		l.Warnings = append(l.Warnings, "need_patient_banner unreadable: showing the patient banner")
	}
	if s := extraString(tok, "scope"); s != "" {
		l.Scopes = strings.Fields(s)
	} else {
		l.Scopes = append([]string(nil), p.scopes...) // RFC 6749 5.1: absent means as requested
	}
	l.Warnings = append(l.Warnings, scopeWarnings(p.ehr, l.Scopes)...)
	if tok.RefreshToken == "" && p.ehr.OfflineAccess {
		l.Warnings = append(l.Warnings, "no refresh token granted: the session ends when the access token expires")
	}
	if raw := extraString(tok, "id_token"); raw != "" {
		claims, err := c.verifyIDToken(ctx, raw, idTokenCheck{fhirIss: p.iss, cfg: p.cfg, clientID: p.ehr.ClientID,
			nonce: p.nonce, requireAud: true, now: now, skew: c.skew})
		if err != nil {
			return nil, err
		}
		rel, abs, err := parseFHIRUser(claims.user(), l.FHIRBase)
		if err != nil {
			l.Warnings = append(l.Warnings, "the id_token has no usable fhirUser: the user is unknown")
		} else {
			l.FHIRUser, l.FHIRUserURL = rel, abs
		}
	} else {
		l.Warnings = append(l.Warnings, "no id_token: the user is unknown")
	}
	ehr := *p.ehr
	cfg := p.cfg
	auth := p.auth
	t := &oauth2.Token{AccessToken: tok.AccessToken, TokenType: tok.TokenType, RefreshToken: tok.RefreshToken}
	l.ts = &tokenSource{
		name:   ehr.Name,
		now:    c.now,
		margin: c.margin,
		log:    c.log,
		tok:    t,
		expiry: l.Expiry,
		renew: func(ctx context.Context, cur *oauth2.Token) (*oauth2.Token, time.Time, error) {
			return c.refresh(ctx, &ehr, cfg, auth, p.iss, cur)
		},
		unauthorized: ErrReauthorize,
	}
	return l, nil
}

// refresh runs the refresh_token grant. x/oauth2's Config cannot add a client
// assertion to a refresh, so the request goes through clientcredentials with
// grant_type overridden (it allows that) and the assertion in the parameters.
func (c *Client) refresh(ctx context.Context, e *EHR, cfg *Configuration, auth clientAuth, iss string, cur *oauth2.Token) (*oauth2.Token, time.Time, error) {
	if cur.RefreshToken == "" {
		return nil, time.Time{}, fmt.Errorf("%w: no refresh token", ErrReauthorize)
	}
	now := c.now()
	params := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {cur.RefreshToken}}
	cc := &clientcredentials.Config{ClientID: e.ClientID, TokenURL: cfg.TokenEndpoint, AuthStyle: oauth2.AuthStyleInParams, EndpointParams: params}
	switch auth {
	case authSecretBasic:
		cc.ClientSecret = string(e.ClientSecret)
		cc.AuthStyle = oauth2.AuthStyleInHeader
	case authPrivateKeyJWT:
		a, err := c.keys.ClientAssertion(e.ClientID, cfg.TokenEndpoint, now)
		if err != nil {
			return nil, time.Time{}, err
		}
		params.Set("client_assertion_type", clientAssertionType)
		params.Set("client_assertion", a)
	}
	tok, err := cc.Token(context.WithValue(ctx, oauth2.HTTPClient, c.hc))
	if err != nil {
		err = tokenError(e.Name, StageRefresh, err)
		var ae *AuthError
		if errors.As(err, &ae) && (ae.Code != "" || ae.Status == 400 || ae.Status == 401 || ae.Status == 403) && ae.Status < 500 {
			return nil, time.Time{}, fmt.Errorf("%w: %w", ErrReauthorize, ae)
		}
		return nil, time.Time{}, err
	}
	now = c.now()
	nt := &oauth2.Token{AccessToken: tok.AccessToken, TokenType: tok.TokenType, RefreshToken: tok.RefreshToken}
	if nt.RefreshToken == "" {
		nt.RefreshToken = cur.RefreshToken // Oracle Health sends none: keep the old one
	}
	if raw := extraString(tok, "id_token"); raw != "" {
		_, err := c.verifyIDToken(ctx, raw, idTokenCheck{fhirIss: iss, cfg: cfg, clientID: e.ClientID,
			requireAud: false, now: now, skew: c.skew})
		if err != nil {
			c.log.LogAttrs(ctx, slog.LevelWarn, "smart: refreshed id_token rejected; keeping the launch's user",
				slog.String("ehr", e.Name), slog.String("error", err.Error()))
		}
	}
	return nt, expiryOf(tok, now), nil
}

// oauthCode keeps an error code to the characters OAuth error codes use
// (RFC 6749 §5.2), so a server's odd value cannot carry other text.
func oauthCode(code string) string {
	if len(code) > 64 {
		return "invalid_error_code"
	}
	for _, r := range code {
		if !(r == '_' || r == '-' || r == '.' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9')) {
			return "invalid_error_code"
		}
	}
	return code
}
