package smarttest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// FuzzToken: whatever the body, the token endpoint answers a JSON OAuth
// error or a token, never a 5xx, and never quotes a submitted value.
func FuzzToken(f *testing.F) {
	f.Add("grant_type=authorization_code&code=abc&redirect_uri=http%3A%2F%2Fapp.test%2Fcallback&code_verifier=x&client_id=public-app", "application/x-www-form-urlencoded")
	f.Add("grant_type=refresh_token&refresh_token=zzzzzzzzzzzzzzzz&client_id=public-app", "application/x-www-form-urlencoded")
	f.Add("grant_type=client_credentials&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion=eyJhbGciOiJSUzM4NCJ9.e30.sig", "application/x-www-form-urlencoded")
	f.Add("grant_type=%zz", "application/x-www-form-urlencoded; charset=utf-8")
	f.Add(`{"grant_type":"x"}`, "application/json")
	srv, err := New(Config{
		Issuer:   "http://127.0.0.1:8080/sandbox/fhir",
		BaseURL:  "http://127.0.0.1:8080/sandbox/auth",
		Clients:  []Client{{ID: "public-app", RedirectURIs: []string{callback}}, {ID: "secret-app", Secret: "secret-value-1234"}},
		Patients: []Patient{{ID: "p1"}},
	})
	if err != nil {
		f.Fatal(err)
	}
	h := srv.Handler()
	f.Fuzz(func(t *testing.T, body, contentType string) {
		req := httptest.NewRequest(http.MethodPost, "/sandbox/auth/token", strings.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("status: got %d; want < 500", rec.Code)
		}
		var answer map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &answer); err != nil {
			t.Fatalf("answer is not JSON: %v", err)
		}
		desc, _ := answer["error_description"].(string)
		if rec.Code != http.StatusOK && desc == "" {
			t.Fatalf("status %d without error_description", rec.Code)
		}
		form, err := url.ParseQuery(body)
		if err != nil {
			return
		}
		for _, vs := range form {
			for _, v := range vs {
				// Words of the OAuth vocabulary ("client_credentials") may
				// stand in a fixed description; anything else must not.
				if len(v) >= 12 && !oauthWord(v) && !inProtocolConstant(v) && strings.Contains(desc, v) {
					t.Fatalf("error_description %q quotes a submitted value", desc)
				}
			}
		}
	})
}

// FuzzAuthorize: whatever the query, authorize answers a redirect to a
// registered URI or the picker, or a 4xx page; never a 5xx, never a
// redirect elsewhere.
func FuzzAuthorize(f *testing.F) {
	f.Add("response_type=code&client_id=public-app&redirect_uri=http%3A%2F%2Fapp.test%2Fcallback&scope=launch%2Fpatient&state=s&aud=http%3A%2F%2F127.0.0.1%3A8080%2Fsandbox%2Ffhir&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256")
	f.Add("client_id=public-app&redirect_uri=http%3A%2F%2Fevil.test%2F")
	f.Add("client_id=public-app&redirect_uri=http%3A%2F%2Fapp.test%2Fcallback&launch=%00")
	f.Add("%zz")
	srv, err := New(Config{
		Issuer:   "http://127.0.0.1:8080/sandbox/fhir",
		BaseURL:  "http://127.0.0.1:8080/sandbox/auth",
		Clients:  []Client{{ID: "public-app", RedirectURIs: []string{callback}}},
		Patients: []Patient{{ID: "p1"}},
	})
	if err != nil {
		f.Fatal(err)
	}
	h := srv.Handler()
	f.Fuzz(func(t *testing.T, query string) {
		req := httptest.NewRequest(http.MethodGet, "/sandbox/auth/authorize", nil)
		req.URL.RawQuery = query
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch {
		case rec.Code == http.StatusFound:
			loc := rec.Header().Get("Location")
			if !strings.HasPrefix(loc, callback+"?") && !strings.HasPrefix(loc, "http://127.0.0.1:8080/sandbox/auth/picker?") {
				t.Fatalf("redirect to %q; want the registered callback or the picker", loc)
			}
		case rec.Code >= 400 && rec.Code < 500:
		default:
			t.Fatalf("status: got %d; want 302 or 4xx", rec.Code)
		}
	})
}

// oauthWord reports whether v is made of lower-case letters and underscores
// only, as OAuth's own parameter values are.
func oauthWord(v string) bool {
	for _, r := range v {
		if r != '_' && (r < 'a' || r > 'z') {
			return false
		}
	}
	return true
}

// inProtocolConstant reports whether v is part of a constant of the
// protocol that a fixed description may name.
func inProtocolConstant(v string) bool {
	for _, c := range []string{
		"urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
		"application/x-www-form-urlencoded",
	} {
		if strings.Contains(c, v) {
			return true
		}
	}
	return false
}
