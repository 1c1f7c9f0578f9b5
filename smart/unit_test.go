package smart

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

func pemOf(t *testing.T, typ string, der []byte) []byte {
	t.Helper()
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func TestKeySetRotationAndJWKS(t *testing.T) {
	rk := rsaKey(t)
	ek, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecDER, err := x509.MarshalECPrivateKey(ek)
	if err != nil {
		t.Fatal(err)
	}
	older := pemOf(t, "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rk))
	newer := pemOf(t, "EC PRIVATE KEY", ecDER)
	ks, err := ParseKeySet(older, newer)
	if err != nil {
		t.Fatal(err)
	}

	rec := httptest.NewRecorder()
	ks.JWKSHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/.well-known/jwks.json", nil))
	if rec.Code != 200 || rec.Header().Get("Cache-Control") != JWKSCacheControl || rec.Header().Get("Content-Type") != "application/json" {
		t.Errorf("JWKS response: got %d %q %q", rec.Code, rec.Header().Get("Cache-Control"), rec.Header().Get("Content-Type"))
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(rec.Body.Bytes(), &set); err != nil {
		t.Fatal(err)
	}
	var algs []string
	for _, k := range set.Keys {
		if !k.IsPublic() || k.KeyID == "" || k.Use != "sig" {
			t.Errorf("published key %q: want a public signing key with a kid", k.KeyID)
		}
		algs = append(algs, k.Algorithm)
	}
	if !reflect.DeepEqual(algs, []string{"RS384", "ES384"}) {
		t.Errorf("published algorithms: got %v; want [RS384 ES384]", algs)
	}
	if strings.Contains(rec.Body.String(), `"d"`) {
		t.Errorf("JWKS holds private key material")
	}
	rec = httptest.NewRecorder()
	ks.JWKSHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST: got %d; want 405", rec.Code)
	}

	now := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	a1, err := ks.ClientAssertion("app", "https://ehr.example/token", now)
	if err != nil {
		t.Fatal(err)
	}
	a2, err := ks.ClientAssertion("app", "https://ehr.example/token", now)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.ParseSigned(a1, []jose.SignatureAlgorithm{jose.ES384})
	if err != nil {
		t.Fatalf("assertion is not ES384 (the newest key signs): %v", err)
	}
	h := tok.Headers[0]
	if h.KeyID != ks.SigningKeyID() || h.ExtraHeaders["typ"] != "JWT" {
		t.Errorf("header: got kid %q typ %v; want kid %q typ JWT", h.KeyID, h.ExtraHeaders["typ"], ks.SigningKeyID())
	}
	var c1, c2 jwt.Claims
	if err := tok.Claims(&ek.PublicKey, &c1); err != nil {
		t.Fatal(err)
	}
	t2, _ := jwt.ParseSigned(a2, []jose.SignatureAlgorithm{jose.ES384})
	if err := t2.UnsafeClaimsWithoutVerification(&c2); err != nil {
		t.Fatal(err)
	}
	if c1.Issuer != "app" || c1.Subject != "app" || !c1.Audience.Contains("https://ehr.example/token") {
		t.Errorf("claims: got iss %q sub %q aud %v", c1.Issuer, c1.Subject, c1.Audience)
	}
	if exp := c1.Expiry.Time(); !exp.After(now) || exp.After(now.Add(5*time.Minute)) {
		t.Errorf("exp: got %v; want within 5 minutes of %v", exp, now)
	}
	if c1.ID == "" || c1.ID == c2.ID {
		t.Errorf("jti: got %q and %q; want unique", c1.ID, c2.ID)
	}
}

func TestParseKeySetRefusesUnsuitableKeys(t *testing.T) {
	p256, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p256DER, err := x509.MarshalPKCS8PrivateKey(p256)
	if err != nil {
		t.Fatal(err)
	}
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := x509.MarshalPKIXPublicKey(&p256.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		pem  []byte
		want string
	}{
		{"EC P-256", pemOf(t, "PRIVATE KEY", p256DER), "P-384"},
		{"RSA 1024", pemOf(t, "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(small)), "2048"},
		{"public key", pemOf(t, "PUBLIC KEY", pub), "not a private key"},
		{"not PEM", []byte("hello"), "no PEM block"},
		{"garbage DER", pemOf(t, "PRIVATE KEY", []byte("xx")), "cannot parse"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseKeySet(tt.pem)
			if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v; want ErrConfig mentioning %q", err, tt.want)
			}
		})
	}
}

func TestScopeRequestFollowsAdvertisedCapabilities(t *testing.T) {
	e := &EHR{Scopes: []string{"Patient.rs", "Observation.read", "CarePlan.cu", "Condition.rs"}}
	tests := []struct {
		name       string
		cfg        Configuration
		offline    bool
		standalone bool
		want       string
	}{
		{"v2 advertised", Configuration{Capabilities: []string{"permission-v2"}}, false, false,
			"launch openid fhirUser online_access patient/Patient.rs patient/Observation.rs patient/CarePlan.cu patient/Condition.rs"},
		{"v1 only (Oracle Health)", Configuration{Capabilities: []string{"permission-v1"}}, true, false,
			"launch openid fhirUser offline_access patient/Patient.read patient/Observation.read patient/CarePlan.write patient/Condition.read"},
		{"metadata only, standalone", Configuration{FromMetadata: true}, false, true,
			"launch/patient openid fhirUser online_access patient/Patient.read patient/Observation.read patient/CarePlan.write patient/Condition.read"},
		{"online_access not supported", Configuration{ScopesSupported: []string{"openid", "launch"}, Capabilities: []string{"permission-v2"}}, false, false,
			"launch openid fhirUser patient/Patient.rs patient/Observation.rs patient/CarePlan.cu patient/Condition.rs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ee := *e
			ee.OfflineAccess = tt.offline
			got := strings.Join(scopeRequest(&ee, &tt.cfg, tt.standalone), " ")
			if got != tt.want {
				t.Errorf("got %q; want %q", got, tt.want)
			}
			if strings.Contains(got, "*") {
				t.Errorf("wildcard in %q", got)
			}
		})
	}
}

func TestNeutralScopesAreValidated(t *testing.T) {
	for _, s := range []string{"*.rs", "Patient.*", "patient/Patient.rs", "Patient", "Patient.sr", "Patient.x", "Patient.", ".rs", "observation.rs"} {
		if _, err := parseNeutralScope(s); err == nil {
			t.Errorf("parseNeutralScope(%q): got nil error; want one", s)
		}
	}
}

func TestAllowsReadsV1AndV2(t *testing.T) {
	tests := []struct {
		granted string
		typ     string
		perm    byte
		want    bool
	}{
		{"patient/CarePlan.cu", "CarePlan", 'c', true},
		{"patient/CarePlan.cu", "CarePlan", 'r', false},
		{"patient/CarePlan.write", "CarePlan", 'u', true},
		{"patient/CarePlan.read", "CarePlan", 'c', false},
		{"user/*.cruds", "CarePlan", 'd', true},
		{"patient/*.*", "Observation", 'c', true},
		{"patient/Observation.rs?category=laboratory", "Observation", 's', true},
		{"launch/patient", "Patient", 'r', false},
		{"patient/Observation.rs", "CarePlan", 'r', false},
	}
	for _, tt := range tests {
		if got := allows(strings.Fields(tt.granted), tt.typ, tt.perm); got != tt.want {
			t.Errorf("allows(%q, %s, %c) = %v; want %v", tt.granted, tt.typ, tt.perm, got, tt.want)
		}
	}
}

func TestNeedPatientBannerAcceptsBoolOrString(t *testing.T) {
	tests := []struct {
		in             any
		want, wantRead bool
	}{
		{nil, true, true}, {true, true, true}, {false, false, true}, {"false", false, true},
		{"TRUE", true, true}, {"maybe", true, false}, {float64(0), true, false},
	}
	for _, tt := range tests {
		got, ok := parseBanner(tt.in)
		if got != tt.want || ok != tt.wantRead {
			t.Errorf("parseBanner(%#v) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.wantRead)
		}
	}
}

func TestFHIRUserRelativeOrAbsolute(t *testing.T) {
	base := "https://ehr.example/fhir"
	tests := []struct {
		in, rel, abs string
		ok           bool
	}{
		{"Practitioner/123", "Practitioner/123", base + "/Practitioner/123", true},
		{"https://ehr.example/fhir/Practitioner/abc-1", "Practitioner/abc-1", "https://ehr.example/fhir/Practitioner/abc-1", true},
		{"https://ehr.example/fhir/Practitioner/abc/_history/2", "Practitioner/abc", "https://ehr.example/fhir/Practitioner/abc/_history/2", true},
		{"", "", "", false},
		{"Practitioner", "", "", false},
		{"a/b/Practitioner/1", "", "", false},
		{"Practitioner/bad id", "", "", false},
		{"ftp://x/Practitioner/1", "", "", false},
	}
	for _, tt := range tests {
		rel, abs, err := parseFHIRUser(tt.in, base)
		if (err == nil) != tt.ok || rel != tt.rel || abs != tt.abs {
			t.Errorf("parseFHIRUser(%q) = %q, %q, %v; want %q, %q, ok=%v", tt.in, rel, abs, err, tt.rel, tt.abs, tt.ok)
		}
	}
}

func TestNewRejectsBadConfiguration(t *testing.T) {
	good := EHR{Name: "e", Issuers: []string{"https://ehr.example/fhir"}, ClientID: "c", Scopes: []string{"Patient.rs"}}
	tests := []struct {
		name string
		mod  func(*Config)
		want string
	}{
		{"no EHR", func(c *Config) { c.EHRs = nil }, "no EHR"},
		{"http issuer", func(c *Config) { c.EHRs[0].Issuers = []string{"http://ehr.example/fhir"} }, "https"},
		{"secret and jwt", func(c *Config) { c.EHRs[0].ClientSecret = "x"; c.EHRs[0].UsePrivateKeyJWT = true }, "choose one"},
		{"jwt without keys", func(c *Config) { c.EHRs[0].UsePrivateKeyJWT = true }, "no keys"},
		{"wildcard scope", func(c *Config) { c.EHRs[0].Scopes = []string{"*.rs"} }, "scope"},
		{"no redirect", func(c *Config) { c.RedirectURI = "" }, "redirect"},
		{"duplicate issuer", func(c *Config) {
			d := good
			d.Name = "f"
			d.Issuers = []string{"https://ehr.example/fhir/"}
			c.EHRs = append(c.EHRs, d)
		}, "also configured"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Config{EHRs: []EHR{good}, RedirectURI: "https://app.example/callback"}
			tt.mod(&cfg)
			_, err := New(cfg)
			if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v; want ErrConfig mentioning %q", err, tt.want)
			}
		})
	}
}

func TestSecretNeverPrints(t *testing.T) {
	s := Secret("hunter2")
	var b strings.Builder
	slog.New(slog.NewTextHandler(&b, nil)).Info("x", "secret", s, "ehr", EHR{Name: "e", ClientSecret: s})
	fmt.Fprintf(&b, "%v %s %#v %+v", s, s, s, EHR{ClientSecret: s})
	if strings.Contains(b.String(), "hunter2") {
		t.Errorf("secret printed: %s", b.String())
	}
}

func TestClientAuthFollowsAdvertisedMethods(t *testing.T) {
	cfg := &Configuration{TokenEndpointAuthMethods: []string{"client_secret_basic"}}
	if _, err := chooseClientAuth(&EHR{Name: "e", UsePrivateKeyJWT: true}, cfg); !errors.Is(err, ErrUnsupported) {
		t.Errorf("private_key_jwt where only client_secret_basic is listed: got %v; want ErrUnsupported", err)
	}
	if a, err := chooseClientAuth(&EHR{Name: "e", ClientSecret: "s"}, cfg); err != nil || a != authSecretBasic {
		t.Errorf("secret: got %v %v; want client_secret_basic", a, err)
	}
	caps := &Configuration{Capabilities: []string{"client-public"}}
	if _, err := chooseClientAuth(&EHR{Name: "e", ClientSecret: "s"}, caps); !errors.Is(err, ErrUnsupported) {
		t.Errorf("secret where only client-public is advertised: got %v; want ErrUnsupported", err)
	}
}

func FuzzParseFHIRUser(f *testing.F) {
	for _, s := range []string{"Practitioner/1", "https://x/fhir/Practitioner/1/_history/2", "", "//", "a://b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		rel, abs, err := parseFHIRUser(s, "https://ehr.example/fhir")
		if err != nil {
			if err != errFHIRUser { // a fixed message: never the input
				t.Errorf("got %v; want errFHIRUser", err)
			}
			return
		}
		typ, id, ok := strings.Cut(rel, "/")
		if !ok || !isResourceType(typ) || !isFHIRID(id) || abs == "" {
			t.Errorf("parseFHIRUser(%q) = %q, %q", s, rel, abs)
		}
	})
}

func FuzzCompleteCallback(f *testing.F) {
	f.Add("code=x&state=y")
	f.Add("error=invalid_scope&error_description=bad&state=z")
	f.Add("state=&code=")
	c, err := New(Config{EHRs: []EHR{{Name: "e", Issuers: []string{"https://ehr.example/fhir"}, ClientID: "c", Scopes: []string{"Patient.rs"}}},
		RedirectURI: "https://app.example/callback", HTTPClient: &http.Client{Transport: refuseTransport{}, Timeout: time.Second}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, q string) {
		v, err := urlParseQuery(q)
		if err != nil {
			return
		}
		_, err = c.Complete(t.Context(), v)
		if err == nil {
			t.Fatalf("Complete(%q) succeeded without a launch", q)
		}
		for _, k := range []string{"code", "state"} {
			if x := v.Get(k); len(x) > 3 && strings.Contains(err.Error(), x) {
				t.Errorf("error %q holds the %s", err, k)
			}
		}
	})
}

type refuseTransport struct{}

func (refuseTransport) RoundTrip(*http.Request) (*http.Response, error) {
	return nil, errors.New("no network in this test")
}

func urlParseQuery(q string) (url.Values, error) { return url.ParseQuery(q) }
