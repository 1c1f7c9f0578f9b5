package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mbcplan/mbcplan/fhir/fhirtest"
	"github.com/mbcplan/mbcplan/recommend"
	"github.com/mbcplan/mbcplan/smart"
	"github.com/mbcplan/mbcplan/smart/smarttest"
)

// TestRecommendWithBackendServices runs the command line's batch path: SMART
// Backend Services (client_credentials with private_key_jwt and system/
// scopes) against the sandbox's authorization and FHIR servers.
func TestRecommendWithBackendServices(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	keyFile := filepath.Join(t.TempDir(), "backend.pem")
	if err := os.WriteFile(keyFile, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	ks, err := smart.ParseKeySet(pemBytes)
	if err != nil {
		t.Fatal(err)
	}

	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	defer srv.Close()
	auth, err := smarttest.New(smarttest.Config{
		Issuer:  srv.URL + "/fhir",
		BaseURL: srv.URL + "/auth",
		Clients: []smarttest.Client{{ID: "mbcplan-batch", JWKS: ks.PublicJWKS()}},
	})
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(testData, "01-*.json"))
	if err != nil || len(files) != 1 {
		t.Fatalf("library patient 01: %v %v", files, err)
	}
	data, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	store := fhirtest.NewStore()
	if err := store.LoadBundle(data); err != nil {
		t.Fatal(err)
	}
	fhirSrv := fhirtest.NewServer(store, fhirtest.Options{BaseURL: srv.URL + "/fhir",
		Auth: fhirtest.AuthorizerFunc(func(_ *http.Request, token string) (fhirtest.Grant, error) {
			g, err := auth.Introspect(token)
			if errors.Is(err, smarttest.ErrExpiredToken) {
				return fhirtest.Grant{Expired: true}, nil
			}
			if err != nil {
				return fhirtest.Grant{}, err
			}
			return fhirtest.Grant{Patient: g.Patient, Scopes: g.Scopes}, nil
		})})
	mux.Handle("/fhir/.well-known/smart-configuration", auth.SmartConfiguration())
	mux.Handle("/fhir/", http.StripPrefix("/fhir", fhirSrv))
	mux.Handle("/auth/", http.StripPrefix("/auth", auth.Handler()))

	var out, errOut bytes.Buffer
	args := []string{"recommend", "--fhir-base", srv.URL + "/fhir", "--patient", "mbc-01",
		"--client-id", "mbcplan-batch", "--private-key", keyFile, "--now", "2026-11-20"}
	if err := run(context.Background(), args, func(string) string { return "" }, &out, &errOut); err != nil {
		t.Fatalf("recommend with backend services: %v (%s)", err, errOut.String())
	}
	var p recommend.Plan
	if err := json.Unmarshal(out.Bytes(), &p); err != nil {
		t.Fatalf("output is not a plan: %v", err)
	}
	if p.Patient.Ref != "Patient/mbc-01" || p.Subtype.ER.Value != "positive" || len(p.Options) == 0 {
		t.Errorf("plan: patient %q ER %q %d options; want Patient/mbc-01, ER positive, options", p.Patient.Ref, p.Subtype.ER.Value, len(p.Options))
	}

	// An unregistered client is refused with a clear error (exit 1, not a crash).
	args[len(args)-5] = "someone-else"
	err = run(context.Background(), args, func(string) string { return "" }, &out, &errOut)
	if err == nil || exitCode(err) != 1 {
		t.Fatalf("unknown backend client: %v; want a server error (exit 1)", err)
	}
	if strings.Contains(err.Error(), "eyJ") {
		t.Errorf("error quotes a token: %v", err)
	}
}
