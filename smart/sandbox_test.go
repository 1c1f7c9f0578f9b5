package smart

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mbcplan/mbcplan/smart/smarttest"
)

// sandbox runs smarttest's authorization server and a FHIR endpoint that
// accepts its tokens on one TLS test server.
type sandbox struct {
	srv *httptest.Server
	as  *smarttest.Server
}

func (s *sandbox) iss() string { return s.srv.URL + "/sandbox/fhir" }

func newSandbox(t *testing.T, clock *fakeClock, clients ...smarttest.Client) *sandbox {
	t.Helper()
	sb := &sandbox{}
	var h http.Handler = http.NotFoundHandler()
	sb.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(sb.srv.Close)
	as, err := smarttest.New(smarttest.Config{
		Issuer:       sb.iss(),
		BaseURL:      sb.srv.URL + "/sandbox/auth",
		Clients:      clients,
		Patients:     []smarttest.Patient{{ID: "mbc-1", Name: "Test One"}, {ID: "mbc-2", Name: "Test Two"}},
		Practitioner: "Practitioner/onc-1",
		Now:          clock.Now,
	})
	if err != nil {
		t.Fatalf("smarttest.New: %v", err)
	}
	sb.as = as
	mux := http.NewServeMux()
	mux.Handle("/sandbox/auth/", as.Handler())
	mux.Handle("/sandbox/fhir/.well-known/smart-configuration", as.SmartConfiguration())
	mux.HandleFunc("/sandbox/fhir/", func(w http.ResponseWriter, r *http.Request) {
		g, err := as.Introspect(strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
		if err != nil {
			http.Error(w, "Unauthorized", http.StatusUnauthorized)
			return
		}
		if g.Patient != "" && !strings.HasSuffix(r.URL.Path, "/Patient/"+g.Patient) {
			http.Error(w, "Forbidden", http.StatusForbidden)
			return
		}
		w.Header().Set("Content-Type", "application/fhir+json")
		w.Write([]byte(`{"resourceType":"Patient"}`))
	})
	h = mux
	return sb
}

func TestSandboxEndToEnd(t *testing.T) {
	ks, _ := testKeys(t)
	tests := []struct {
		name   string
		client smarttest.Client
		ehr    EHR
	}{
		{"public client", smarttest.Client{ID: "mbcplan-public", RedirectURIs: []string{testRedirect}},
			EHR{ClientID: "mbcplan-public"}},
		{"private_key_jwt client", smarttest.Client{ID: "mbcplan-jwt", RedirectURIs: []string{testRedirect}, JWKS: ks.PublicJWKS()},
			EHR{ClientID: "mbcplan-jwt", UsePrivateKeyJWT: true}},
		{"client secret", smarttest.Client{ID: "mbcplan-secret", Secret: "pa:ss word", RedirectURIs: []string{testRedirect}},
			EHR{ClientID: "mbcplan-secret", ClientSecret: "pa:ss word"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newClock()
			sb := newSandbox(t, clock, tt.client)
			e := tt.ehr
			e.Name, e.Issuers, e.Scopes, e.OfflineAccess = "sandbox", []string{sb.iss()}, []string{"Patient.rs", "Observation.rs", "CarePlan.cu"}, true
			c, err := New(Config{EHRs: []EHR{e}, RedirectURI: testRedirect, HTTPClient: sb.srv.Client(), Keys: ks, Now: clock.Now})
			if err != nil {
				t.Fatal(err)
			}
			launch, err := sb.as.NewLaunch(smarttest.LaunchContext{Patient: "mbc-2"})
			if err != nil {
				t.Fatal(err)
			}
			a, err := c.Begin(t.Context(), sb.iss(), launch)
			if err != nil {
				t.Fatalf("Begin: %v", err)
			}
			l, err := c.Complete(t.Context(), follow(t, &fakeEHR{srv: sb.srv}, a))
			if err != nil {
				t.Fatalf("Complete: %v", err)
			}
			if l.PatientID != "mbc-2" || l.FHIRUser != "Practitioner/onc-1" {
				t.Errorf("got patient %q user %q; want mbc-2 Practitioner/onc-1", l.PatientID, l.FHIRUser)
			}
			hc := l.HTTPClient(sb.srv.Client())
			for _, advance := range []int{0, 3590} { // the second read renews the token first
				clock.Advance(secondsDur(advance))
				resp, err := hc.Get(sb.iss() + "/Patient/mbc-2")
				if err != nil {
					t.Fatalf("read: %v", err)
				}
				resp.Body.Close()
				if resp.StatusCode != 200 {
					t.Errorf("read after %ds: got %d; want 200", advance, resp.StatusCode)
				}
			}
		})
	}
}

func TestSandboxSimulatedErrors(t *testing.T) {
	ks, _ := testKeys(t)
	tests := []struct {
		sim       smarttest.Simulation
		jwt       bool
		wantStage string
		wantCode  string
	}{
		{smarttest.SimulateInvalidScope, false, StageAuthorize, "invalid_scope"},
		{smarttest.SimulateInvalidClientID, false, StageAuthorize, "unauthorized_client"},
		{smarttest.SimulateInvalidClient, false, StageToken, "invalid_client"},
		{smarttest.SimulateInvalidJTI, true, StageToken, "invalid_client"},
		{smarttest.SimulateExpiredRegistrationToken, true, StageToken, "invalid_client"},
	}
	for _, tt := range tests {
		t.Run(string(tt.sim), func(t *testing.T) {
			clock := newClock()
			cl := smarttest.Client{ID: "app", RedirectURIs: []string{testRedirect}}
			e := EHR{Name: "sandbox", ClientID: "app", Scopes: []string{"Patient.rs"}}
			if tt.jwt {
				cl.JWKS = ks.PublicJWKS()
				e.UsePrivateKeyJWT = true
			}
			sb := newSandbox(t, clock, cl)
			e.Issuers = []string{sb.iss()}
			c, err := New(Config{EHRs: []EHR{e}, RedirectURI: testRedirect, HTTPClient: sb.srv.Client(), Keys: ks, Now: clock.Now})
			if err != nil {
				t.Fatal(err)
			}
			launch, err := sb.as.NewLaunch(smarttest.LaunchContext{Patient: "mbc-1", Simulate: tt.sim})
			if err != nil {
				t.Fatal(err)
			}
			a, err := c.Begin(t.Context(), sb.iss(), launch)
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Complete(t.Context(), follow(t, &fakeEHR{srv: sb.srv}, a))
			var ae *AuthError
			if !errors.As(err, &ae) || ae.Stage != tt.wantStage || ae.Code != tt.wantCode || ae.Hint == "" {
				t.Errorf("got %v; want *AuthError %s %s with a hint", err, tt.wantStage, tt.wantCode)
			}
		})
	}
}

func secondsDur(n int) time.Duration { return time.Duration(n) * time.Second }

func TestBackendServicesAgainstSandbox(t *testing.T) {
	ks, _ := testKeys(t)
	clock := newClock()
	sb := newSandbox(t, clock, smarttest.Client{ID: "mbcplan-batch", JWKS: ks.PublicJWKS()})
	hc, err := BackendHTTPClient(t.Context(), BackendConfig{
		FHIRBase: sb.iss(), ClientID: "mbcplan-batch", Keys: ks,
		Scopes:     []string{"Patient.rs", "Observation.rs"},
		HTTPClient: sb.srv.Client(), Now: clock.Now,
	})
	if err != nil {
		t.Fatalf("BackendHTTPClient: %v", err)
	}
	for _, advance := range []int{0, 3590} {
		clock.Advance(secondsDur(advance))
		resp, err := hc.Get(sb.iss() + "/Patient/mbc-1")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("read after %ds: got %d; want 200", advance, resp.StatusCode)
		}
	}

	// An unknown client is refused at once, with a hint.
	_, err = BackendHTTPClient(t.Context(), BackendConfig{FHIRBase: sb.iss(), ClientID: "nobody", Keys: ks,
		Scopes: []string{"Patient.rs"}, HTTPClient: sb.srv.Client(), Now: clock.Now})
	var ae *AuthError
	if !errors.As(err, &ae) || ae.Stage != StageBackend || ae.Hint == "" {
		t.Errorf("unknown client: got %v; want a backend *AuthError with a hint", err)
	}
}
