package smarttest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

func TestSmartConfiguration(t *testing.T) {
	f := newFixture(t)
	resp := f.get(f.issuer + "/.well-known/smart-configuration")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status: got %d; want 200", resp.StatusCode)
	}
	if got := resp.Header.Get("Content-Type"); got != "application/json" {
		t.Errorf("Content-Type: got %q; want application/json", got)
	}
	var c struct {
		Issuer         string   `json:"issuer"`
		JWKSURI        string   `json:"jwks_uri"`
		Authorization  string   `json:"authorization_endpoint"`
		Token          string   `json:"token_endpoint"`
		GrantTypes     []string `json:"grant_types_supported"`
		AuthMethods    []string `json:"token_endpoint_auth_methods_supported"`
		AuthAlgs       []string `json:"token_endpoint_auth_signing_alg_values_supported"`
		Scopes         []string `json:"scopes_supported"`
		ResponseTypes  []string `json:"response_types_supported"`
		ChallengeTypes []string `json:"code_challenge_methods_supported"`
		Capabilities   []string `json:"capabilities"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&c); err != nil {
		t.Fatal(err)
	}
	strs := map[string][2]string{
		"issuer":                 {c.Issuer, f.base},
		"jwks_uri":               {c.JWKSURI, f.base + "/jwks"},
		"authorization_endpoint": {c.Authorization, f.base + "/authorize"},
		"token_endpoint":         {c.Token, f.base + "/token"},
	}
	for k, gw := range strs {
		if gw[0] != gw[1] {
			t.Errorf("%s: got %q; want %q", k, gw[0], gw[1])
		}
	}
	lists := map[string][2][]string{
		"code_challenge_methods_supported": {c.ChallengeTypes, {"S256"}},
		"response_types_supported":         {c.ResponseTypes, {"code"}},
		"grant_types_supported":            {c.GrantTypes, {"authorization_code", "client_credentials", "refresh_token"}},
		"token_endpoint_auth_methods":      {c.AuthMethods, {"client_secret_basic", "private_key_jwt", "none"}},
		"signing alg values":               {c.AuthAlgs, {"RS384", "ES384"}},
	}
	for k, gw := range lists {
		if !slices.Equal(gw[0], gw[1]) {
			t.Errorf("%s: got %q; want %q", k, gw[0], gw[1])
		}
	}
	for _, want := range []string{
		"launch-ehr", "launch-standalone", "client-public", "client-confidential-symmetric",
		"client-confidential-asymmetric", "context-ehr-patient", "context-standalone-patient",
		"sso-openid-connect", "permission-offline", "permission-patient", "permission-v1",
		"permission-v2", "authorize-post",
	} {
		if !slices.Contains(c.Capabilities, want) {
			t.Errorf("capabilities: got %q; want it to contain %q", c.Capabilities, want)
		}
	}
	for _, want := range []string{"openid", "fhirUser", "launch", "launch/patient", "offline_access", "patient/*.rs", "system/*.rs"} {
		if !slices.Contains(c.Scopes, want) {
			t.Errorf("scopes_supported: got %q; want it to contain %q", c.Scopes, want)
		}
	}

	post, err := f.http.Post(f.issuer+"/.well-known/smart-configuration", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	post.Body.Close()
	if post.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: got %d; want 405", post.StatusCode)
	}
}

func TestHandlerMounting(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name    string
		handler http.Handler
		path    string
		want    int
	}{
		{"full path", f.srv.Handler(), "/sandbox/auth/jwks", http.StatusOK},
		{"behind StripPrefix", http.StripPrefix("/sandbox/auth", f.srv.Handler()), "/sandbox/auth/jwks", http.StatusOK},
		{"openid configuration", f.srv.Handler(), "/sandbox/auth/.well-known/openid-configuration", http.StatusOK},
		{"smart configuration beside the endpoints", f.srv.Handler(), "/sandbox/auth/.well-known/smart-configuration", http.StatusOK},
		{"unknown endpoint", f.srv.Handler(), "/sandbox/auth/admin", http.StatusNotFound},
		{"prefix without a slash", f.srv.Handler(), "/sandbox/authjwks", http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			tt.handler.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, tt.path, nil))
			if rec.Code != tt.want {
				t.Errorf("GET %s: got %d; want %d", tt.path, rec.Code, tt.want)
			}
		})
	}
}

func TestNewConfigErrors(t *testing.T) {
	good := func() Config {
		return Config{
			Issuer:   "http://127.0.0.1:8080/sandbox/fhir",
			BaseURL:  "http://127.0.0.1:8080/sandbox/auth",
			Clients:  []Client{{ID: "app", RedirectURIs: []string{"http://127.0.0.1:8080/callback"}}},
			Patients: []Patient{{ID: "p1", Name: "Test"}},
		}
	}
	tests := []struct {
		name string
		edit func(*Config)
		ok   bool
	}{
		{"good", func(*Config) {}, true},
		{"relative issuer", func(c *Config) { c.Issuer = "/sandbox/fhir" }, false},
		{"issuer with a query", func(c *Config) { c.Issuer += "?x=1" }, false},
		{"ftp base URL", func(c *Config) { c.BaseURL = "ftp://127.0.0.1/auth" }, false},
		{"client without ID", func(c *Config) { c.Clients = append(c.Clients, Client{}) }, false},
		{"duplicate client", func(c *Config) { c.Clients = append(c.Clients, c.Clients[0]) }, false},
		{"relative redirect URI", func(c *Config) { c.Clients[0].RedirectURIs = []string{"/callback"} }, false},
		{"bad JWKS URL", func(c *Config) { c.Clients[0].JWKSURL = "keys.json" }, false},
		{"patient without ID", func(c *Config) { c.Patients = append(c.Patients, Patient{Name: "x"}) }, false},
		{"duplicate patient", func(c *Config) { c.Patients = append(c.Patients, c.Patients[0]) }, false},
		{"practitioner without id", func(c *Config) { c.Practitioner = "Practitioner" }, false},
		{"absolute practitioner", func(c *Config) { c.Practitioner = "http://ehr.test/fhir/Practitioner/1" }, true},
		{"negative lifetime", func(c *Config) { c.AccessTokenLifetime = -1 }, false},
		{"relative style URL", func(c *Config) { c.StyleURL = "style.json" }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := good()
			tt.edit(&cfg)
			_, err := New(cfg)
			if (err == nil) != tt.ok {
				t.Errorf("New: got error %v; want ok %v", err, tt.ok)
			}
		})
	}
}

func TestGrantScopes(t *testing.T) {
	tests := []struct {
		requested string
		system    bool
		want      []string
	}{
		{"launch openid fhirUser offline_access patient/*.rs", false, []string{"launch", "openid", "fhirUser", "offline_access", "patient/*.rs"}},
		{"patient/Observation.read user/Patient.write patient/*.*", false, []string{"patient/Observation.read", "user/Patient.write", "patient/*.*"}},
		{"patient/Observation.rs?category=laboratory", false, []string{"patient/Observation.rs?category=laboratory"}},
		{"patient/Observation.sr patient/Observation.rx patient/Observation. patient/.rs", false, nil},
		{"patient/observation.rs Patient/*.rs system/*.rs admin", false, nil},
		{"openid openid launch/patient", false, []string{"openid", "launch/patient"}},
		{"system/*.rs system/Observation.read patient/*.rs launch", true, []string{"system/*.rs", "system/Observation.read"}},
		{"patient/Observation.read?x=1 patient/Observation.rs?", false, nil},
		{"", false, nil},
	}
	for _, tt := range tests {
		if got := grantScopes(tt.requested, tt.system); !slices.Equal(got, tt.want) {
			t.Errorf("grantScopes(%q, system %v): got %q; want %q", tt.requested, tt.system, got, tt.want)
		}
	}
}
