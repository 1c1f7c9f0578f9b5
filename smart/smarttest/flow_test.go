package smarttest

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestEHRLaunch(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name   string
		client string
		auth   func(form url.Values) (url.Values, []string)
	}{
		{"public client sends its client_id", "public-app", func(form url.Values) (url.Values, []string) {
			form.Set("client_id", "public-app")
			return form, nil
		}},
		{"confidential client with client_secret_basic", "secret-app", func(form url.Values) (url.Values, []string) {
			return form, []string{"secret-app", clientSecret}
		}},
		{"private_key_jwt signed RS384", "jwt-app", func(form url.Values) (url.Values, []string) {
			return withAssertion(form, f.assertion("jwt-app", f.rsaKey, nil)), nil
		}},
		{"private_key_jwt signed ES384", "jwt-app", func(form url.Values) (url.Values, []string) {
			return withAssertion(form, f.assertion("jwt-app", f.ecKey, nil)), nil
		}},
		{"private_key_jwt with keys at a JWKS URL", "url-app", func(form url.Values) (url.Values, []string) {
			return withAssertion(form, f.assertion("url-app", f.urlKey, nil)), nil
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.t = t
			lc := LaunchContext{Patient: "p1", Encounter: "enc-7", NeedPatientBanner: false}
			verifier, challenge := pkce(t)
			params := f.authParams(tt.client, f.launch(lc), challenge, ehrScope+" bogus/scope")
			params.Set("nonce", "n-42")
			code := f.code(params)
			form, basic := tt.auth(codeForm(code, verifier))
			r := f.post(form, basic)
			if r.status != http.StatusOK {
				t.Fatalf("token: got %d %q (%s); want 200", r.status, r.str("error"), r.str("error_description"))
			}
			if got := r.header.Get("Cache-Control"); got != "no-store" {
				t.Errorf("Cache-Control: got %q; want no-store", got)
			}
			wantStr := map[string]string{
				"token_type":      "Bearer",
				"scope":           ehrScope,
				"patient":         "p1",
				"encounter":       "enc-7",
				"smart_style_url": strings.TrimSuffix(f.base, "/sandbox/auth") + "/sandbox/style.json",
			}
			for k, want := range wantStr {
				if got := r.str(k); got != want {
					t.Errorf("%s: got %q; want %q", k, got, want)
				}
			}
			if got, ok := r.body["need_patient_banner"].(bool); !ok || got {
				t.Errorf("need_patient_banner: got %v; want false", r.body["need_patient_banner"])
			}
			if got := r.body["expires_in"]; got != float64(3600) {
				t.Errorf("expires_in: got %v; want 3600", got)
			}
			if r.str("refresh_token") == "" {
				t.Errorf("refresh_token: got none; want one for offline_access")
			}
			claims := f.verifyIDToken(r.str("id_token"))
			if claims["aud"] != tt.client || claims["nonce"] != "n-42" {
				t.Errorf("id_token aud, nonce: got %v, %v; want %q, n-42", claims["aud"], claims["nonce"], tt.client)
			}

			g, err := f.srv.Introspect(r.str("access_token"))
			if err != nil {
				t.Fatalf("Introspect: %v", err)
			}
			want := Grant{
				Patient:  "p1",
				Scopes:   strings.Fields(ehrScope),
				ClientID: tt.client,
				Expires:  f.clock.Now().Add(time.Hour),
				FHIRUser: f.issuer + "/Practitioner/sandbox-oncologist",
			}
			if g.Patient != want.Patient || !slices.Equal(g.Scopes, want.Scopes) || g.ClientID != want.ClientID ||
				!g.Expires.Equal(want.Expires) || g.FHIRUser != want.FHIRUser {
				t.Errorf("Introspect: got %+v; want %+v", g, want)
			}
		})
	}
}

func TestEHRLaunchBannerAndOptionalContext(t *testing.T) {
	f := newFixture(t)
	r := f.ehrTokens(LaunchContext{Patient: "p2", NeedPatientBanner: true}, "launch patient/Observation.read")
	if got, ok := r.body["need_patient_banner"].(bool); !ok || !got {
		t.Errorf("need_patient_banner: got %v; want true", r.body["need_patient_banner"])
	}
	for _, k := range []string{"encounter", "refresh_token", "id_token"} {
		if _, ok := r.body[k]; ok {
			t.Errorf("%s: got %v; want absent (not launched with it or not asked)", k, r.body[k])
		}
	}
	if got := r.str("patient"); got != "p2" {
		t.Errorf("patient: got %q; want p2", got)
	}
}

func TestAuthorizeWithPOST(t *testing.T) {
	f := newFixture(t)
	verifier, challenge := pkce(t)
	params := f.authParams("public-app", f.launch(LaunchContext{Patient: "p1"}), challenge, ehrScope)
	resp, err := f.http.PostForm(f.base+"/authorize", params)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	q := f.redirected(resp)
	form := codeForm(q.Get("code"), verifier)
	form.Set("client_id", "public-app")
	if r := f.post(form, nil); r.status != http.StatusOK || r.str("patient") != "p1" {
		t.Errorf("token after POST authorize: got %d patient %q; want 200 p1", r.status, r.str("patient"))
	}
}

func TestIDTokenAndOpenIDConfiguration(t *testing.T) {
	f := newFixture(t)
	r := f.ehrTokens(LaunchContext{Patient: "p1"}, "launch openid fhirUser")
	claims := f.verifyIDToken(r.str("id_token"))
	now := f.clock.Now().Unix()
	want := map[string]any{
		"iss":      f.base,
		"aud":      "public-app",
		"sub":      "Practitioner/sandbox-oncologist",
		"fhirUser": f.issuer + "/Practitioner/sandbox-oncologist",
		"iat":      float64(now),
		"exp":      float64(now + 3600),
	}
	for k, v := range want {
		if claims[k] != v {
			t.Errorf("id_token %s: got %v; want %v", k, claims[k], v)
		}
	}
	if _, ok := claims["nonce"]; ok {
		t.Errorf("id_token nonce: got %v; want none (none was sent)", claims["nonce"])
	}

	var oc map[string]any
	resp := f.get(f.base + "/.well-known/openid-configuration")
	if err := json.NewDecoder(resp.Body).Decode(&oc); err != nil {
		t.Fatal(err)
	}
	if oc["issuer"] != claims["iss"] || oc["jwks_uri"] != f.base+"/jwks" {
		t.Errorf("openid-configuration issuer, jwks_uri: got %v, %v; want %v, %v", oc["issuer"], oc["jwks_uri"], claims["iss"], f.base+"/jwks")
	}
	if got := resp.Header.Get("Content-Type"); got != "application/json" {
		t.Errorf("openid-configuration Content-Type: got %q; want application/json", got)
	}

	// profile (SMART v1) also asks for the id_token; openid alone does not.
	r = f.ehrTokens(LaunchContext{Patient: "p1"}, "launch openid profile")
	if r.str("id_token") == "" {
		t.Errorf("openid profile: got no id_token; want one")
	}
	r = f.ehrTokens(LaunchContext{Patient: "p1"}, "launch openid")
	if r.str("id_token") != "" {
		t.Errorf("openid alone: got an id_token; want none (no fhirUser scope)")
	}
}

func TestJWKSCaching(t *testing.T) {
	f := newFixture(t)
	resp := f.get(f.base + "/jwks")
	if got := resp.Header.Get("Cache-Control"); !strings.Contains(got, "max-age=") {
		t.Errorf("jwks Cache-Control: got %q; want a max-age", got)
	}
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		t.Fatal(err)
	}
	if len(set.Keys) != 1 || set.Keys[0]["kty"] != "RSA" || set.Keys[0]["d"] != nil {
		t.Errorf("jwks: got %v; want one public RSA key", set.Keys)
	}
}

var hrefRE = regexp.MustCompile(`href="([^"]+)"`)

func TestStandalonePicker(t *testing.T) {
	f := newFixture(t)
	verifier, challenge := pkce(t)
	resp := f.authorize(f.authParams("public-app", "", challenge, "launch/patient openid fhirUser patient/*.read"))
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("authorize: got %d; want 302 to the picker", resp.StatusCode)
	}
	picker := resp.Header.Get("Location")
	if !strings.HasPrefix(picker, f.base+"/picker?") {
		t.Fatalf("authorize Location: got %q; want the picker", picker)
	}

	page := f.get(picker)
	body, err := io.ReadAll(page.Body)
	if err != nil {
		t.Fatal(err)
	}
	if page.StatusCode != http.StatusOK {
		t.Fatalf("picker: got %d; want 200", page.StatusCode)
	}
	links := hrefRE.FindAllStringSubmatch(string(body), -1)
	if len(links) != 2 || !strings.Contains(string(body), "Ada Test") || !strings.Contains(string(body), "Grace Sample") {
		t.Fatalf("picker: got %d links in %q; want one per patient", len(links), body)
	}
	choose := strings.ReplaceAll(links[1][1], "&amp;", "&")

	q := f.redirected(f.get(choose))
	if q.Get("state") != "state-123" || q.Get("code") == "" {
		t.Fatalf("after picking: got %v; want code and state", q)
	}
	form := codeForm(q.Get("code"), verifier)
	form.Set("client_id", "public-app")
	r := f.post(form, nil)
	if r.status != http.StatusOK || r.str("patient") != "p2" {
		t.Fatalf("token: got %d patient %q; want 200 p2", r.status, r.str("patient"))
	}
	if got, ok := r.body["need_patient_banner"].(bool); !ok || !got {
		t.Errorf("need_patient_banner: got %v; want true for a standalone launch", r.body["need_patient_banner"])
	}
	f.verifyIDToken(r.str("id_token"))

	// The choice is made once.
	if again := f.get(choose); again.StatusCode != http.StatusBadRequest {
		t.Errorf("picking twice: got %d; want 400", again.StatusCode)
	}
}

func TestPickerBadInput(t *testing.T) {
	f := newFixture(t)
	_, challenge := pkce(t)
	resp := f.authorize(f.authParams("public-app", "", challenge, "launch/patient patient/*.read"))
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	id := loc.Query().Get("request")
	tests := []struct {
		name  string
		query url.Values
		want  int
	}{
		{"no request", url.Values{}, http.StatusBadRequest},
		{"unknown request", url.Values{"request": {"forged"}}, http.StatusBadRequest},
		{"unknown patient", url.Values{"request": {id}, "patient": {"p-unknown"}}, http.StatusBadRequest},
		{"the list still shows after a bad pick", url.Values{"request": {id}}, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := f.get(f.base + "/picker?" + tt.query.Encode()).StatusCode; got != tt.want {
				t.Errorf("GET picker %v: got %d; want %d", tt.query, got, tt.want)
			}
		})
	}
	f.clock.Advance(pickerLifetime)
	if got := f.get(f.base + "/picker?request=" + url.QueryEscape(id)).StatusCode; got != http.StatusBadRequest {
		t.Errorf("expired picker: got %d; want 400", got)
	}
}

func TestStandaloneWithoutPatient(t *testing.T) {
	f := newFixture(t)
	verifier, challenge := pkce(t)
	code := f.code(f.authParams("public-app", "", challenge, "openid fhirUser user/*.rs"))
	form := codeForm(code, verifier)
	form.Set("client_id", "public-app")
	r := f.post(form, nil)
	if r.status != http.StatusOK {
		t.Fatalf("token: got %d; want 200", r.status)
	}
	if _, ok := r.body["patient"]; ok {
		t.Errorf("patient: got %v; want none (launch/patient not asked)", r.body["patient"])
	}
	g, err := f.srv.Introspect(r.str("access_token"))
	if err != nil || g.Patient != "" || g.FHIRUser == "" {
		t.Errorf("Introspect: got %+v, %v; want no patient and a user", g, err)
	}
}

func TestRefresh(t *testing.T) {
	f := newFixture(t)
	first := f.ehrTokens(LaunchContext{Patient: "p1", Encounter: "enc-1"}, ehrScope)
	f.clock.Advance(2 * time.Hour)
	if _, err := f.srv.Introspect(first.str("access_token")); !errors.Is(err, ErrExpiredToken) {
		t.Errorf("Introspect of an expired token: got %v; want ErrExpiredToken", err)
	}

	r := f.post(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {first.str("refresh_token")}, "client_id": {"public-app"}}, nil)
	if r.status != http.StatusOK {
		t.Fatalf("refresh: got %d %q (%s); want 200", r.status, r.str("error"), r.str("error_description"))
	}
	if r.str("patient") != "p1" || r.str("scope") != ehrScope {
		t.Errorf("refresh patient, scope: got %q, %q; want p1, %q", r.str("patient"), r.str("scope"), ehrScope)
	}
	if r.str("access_token") == first.str("access_token") || r.str("refresh_token") == "" || r.str("refresh_token") == first.str("refresh_token") {
		t.Errorf("refresh: got the same or no tokens; want a new access token and a new refresh token")
	}
	g, err := f.srv.Introspect(r.str("access_token"))
	if err != nil || g.Patient != "p1" {
		t.Errorf("Introspect after refresh: got %+v, %v; want patient p1", g, err)
	}
	claims := f.verifyIDToken(r.str("id_token"))
	if _, ok := claims["aud"]; ok {
		t.Errorf("refreshed id_token aud: got %v; want none (as the SMART launcher)", claims["aud"])
	}

	// Narrowing is allowed, widening is not.
	narrow := f.post(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {r.str("refresh_token")},
		"client_id": {"public-app"}, "scope": {"patient/*.rs offline_access"}}, nil)
	if narrow.status != http.StatusOK || narrow.str("scope") != "patient/*.rs offline_access" {
		t.Errorf("narrowing refresh: got %d scope %q; want 200 'patient/*.rs offline_access'", narrow.status, narrow.str("scope"))
	}
	wide := f.post(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {r.str("refresh_token")},
		"client_id": {"public-app"}, "scope": {"user/*.cruds"}}, nil)
	wantError(t, wide, http.StatusBadRequest, "invalid_scope")
}

func TestRefreshErrors(t *testing.T) {
	f := newFixture(t)
	tok := f.ehrTokens(LaunchContext{Patient: "p1"}, "launch online_access patient/*.rs")
	rt := tok.str("refresh_token")
	if rt == "" {
		t.Fatal("online_access: got no refresh_token; want one")
	}
	tests := []struct {
		name   string
		form   url.Values
		basic  []string
		status int
		code   string
	}{
		{"missing refresh_token", url.Values{"client_id": {"public-app"}}, nil, 400, "invalid_request"},
		{"unknown refresh_token", url.Values{"refresh_token": {"forged"}, "client_id": {"public-app"}}, nil, 401, "invalid_grant"},
		{"another client's refresh_token", url.Values{"refresh_token": {rt}}, []string{"secret-app", clientSecret}, 401, "invalid_grant"},
		{"no client authentication", url.Values{"refresh_token": {rt}}, nil, 400, "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.form.Set("grant_type", "refresh_token")
			wantError(t, f.post(tt.form, tt.basic), tt.status, tt.code)
		})
	}
	t.Run("expired refresh token", func(t *testing.T) {
		f.clock.Advance(refreshLifetime)
		r := f.post(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {"public-app"}}, nil)
		wantError(t, r, http.StatusUnauthorized, "invalid_grant")
	})
}

func TestClientCredentials(t *testing.T) {
	f := newFixture(t)
	form := withAssertion(url.Values{"grant_type": {"client_credentials"}, "scope": {"system/*.rs patient/*.read offline_access"}},
		f.assertion("backend", f.backend, nil))
	r := f.post(form, nil)
	if r.status != http.StatusOK {
		t.Fatalf("client_credentials: got %d %q (%s); want 200", r.status, r.str("error"), r.str("error_description"))
	}
	if r.str("scope") != "system/*.rs" {
		t.Errorf("scope: got %q; want system/*.rs", r.str("scope"))
	}
	for _, k := range []string{"patient", "refresh_token", "id_token", "need_patient_banner"} {
		if _, ok := r.body[k]; ok {
			t.Errorf("%s: got %v; want absent for backend services", k, r.body[k])
		}
	}
	g, err := f.srv.Introspect(r.str("access_token"))
	if err != nil || g.Patient != "" || g.FHIRUser != "" || g.ClientID != "backend" {
		t.Errorf("Introspect: got %+v, %v; want client backend without patient or user", g, err)
	}

	tests := []struct {
		name   string
		form   url.Values
		basic  []string
		status int
		code   string
	}{
		{"public client", url.Values{"client_id": {"public-app"}, "scope": {"system/*.rs"}}, nil, 401, "invalid_client"},
		{"secret client", url.Values{"scope": {"system/*.rs"}}, []string{"secret-app", clientSecret}, 401, "invalid_client"},
		{"no system scope", withAssertion(url.Values{"scope": {"patient/*.rs"}}, f.assertion("backend", f.backend, nil)), nil, 400, "invalid_scope"},
		{"no scope", withAssertion(url.Values{}, f.assertion("backend", f.backend, nil)), nil, 400, "invalid_scope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.form.Set("grant_type", "client_credentials")
			wantError(t, f.post(tt.form, tt.basic), tt.status, tt.code)
		})
	}
}
