package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/mbcplan/mbcplan/fhir/sandbox"
	"github.com/mbcplan/mbcplan/recommend"
	"github.com/mbcplan/mbcplan/smart"
)

// defaultScopes are the resource scopes mbcplan asks for, in smart's neutral
// form: read what the plan needs, write the draft and its records.
var defaultScopes = []string{
	"Patient.rs", "Observation.rs", "Condition.rs", "MedicationRequest.rs",
	"MedicationStatement.rs", "MedicationAdministration.rs", "Medication.rs", "Procedure.rs",
	"AllergyIntolerance.rs", "Specimen.rs", "Encounter.r", "Practitioner.r",
	"CarePlan.cruds", "Provenance.cr", "DocumentReference.cr",
}

// newApp builds everything the server needs from a validated Config. base is
// the URL the browser reaches (the bound address or the public URL).
func newApp(ctx context.Context, cfg Config, base string, log *slog.Logger) (*app, error) {
	a := &app{
		cfg:      cfg,
		log:      log,
		baseURL:  base,
		now:      time.Now,
		sessions: newMemSessions(cfg.SessionTTL),
		metrics:  newMetrics(),
		fhirHTTP: &http.Client{Timeout: 60 * time.Second, Transport: fhirTransport()},
		styleHTTP: &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}},
		ehrs:     map[string]EHRConfig{},
		settings: recommend.Settings{LVEFThresholds: cfg.LVEFThresholds},
	}
	p, err := loadPages()
	if err != nil {
		return nil, fmt.Errorf("serve: templates: %v", err)
	}
	a.pages = p

	keys, err := loadKeys(cfg)
	if err != nil {
		return nil, err
	}
	ehrs := cfg.EHRs
	if cfg.SandboxEnabled {
		sc := sandbox.Config{
			PublicURL:        base,
			DataDir:          cfg.SandboxData,
			CarePlanReadOnly: cfg.SandboxCarePlanReadOnly,
			Logger:           log.With(slog.String("component", "sandbox")),
		}
		sandboxEHR := EHRConfig{Name: "sandbox", ClientID: sandbox.DefaultClientID, Auth: cfg.SandboxClientAuth, WriteBack: "auto"}
		switch cfg.SandboxClientAuth {
		case "secret":
			secret, err := randomSecret()
			if err != nil {
				return nil, err
			}
			sc.ClientSecret, sandboxEHR.ClientSecret = secret, secret
		case "private_key_jwt":
			sc.ClientJWKSURL = base + "/.well-known/jwks.json"
		}
		sb, err := sandbox.New(sc)
		if err != nil {
			return nil, fmt.Errorf("serve: sandbox: %v", err)
		}
		a.sandbox = sb
		sandboxEHR.Issuer = sb.Issuer()
		ehrs = append([]EHRConfig{sandboxEHR}, ehrs...)
		a.cfg.EHRs = ehrs
	}

	var smartEHRs []smart.EHR
	for _, e := range ehrs {
		a.ehrs[strings.TrimRight(e.Issuer, "/")] = e
		se := smart.EHR{
			Name:             e.Name,
			Issuers:          []string{e.Issuer},
			ClientID:         e.ClientID,
			UsePrivateKeyJWT: e.Auth == "private_key_jwt",
			Scopes:           defaultScopes,
			OfflineAccess:    e.OfflineAccess,
			AuthorizePOST:    e.AuthorizePOST,
		}
		if len(e.Scopes) > 0 {
			se.Scopes = e.Scopes
		}
		if e.Auth == "secret" {
			se.ClientSecret = smart.Secret(e.ClientSecret)
		}
		smartEHRs = append(smartEHRs, se)
	}
	sc, err := smart.New(smart.Config{
		EHRs:        smartEHRs,
		RedirectURI: base + "/callback",
		HTTPClient:  &http.Client{Timeout: 30 * time.Second},
		Keys:        keys,
		Logger:      log.With(slog.String("component", "smart")),
	})
	if err != nil {
		return nil, fmt.Errorf("serve: SMART client: %v", err)
	}
	a.smart = sc
	if keys != nil {
		a.jwks = keys.JWKSHandler()
	} else {
		a.jwks = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Cache-Control", smart.JWKSCacheControl)
			if _, err := w.Write([]byte(`{"keys":[]}`)); err != nil {
				return // the client went away
			}
		})
	}

	st, err := openAppStore(ctx, cfg.StorePath)
	if err != nil {
		return nil, fmt.Errorf("serve: store: %v", err)
	}
	a.store = st
	warnIfShared(log, "--store / MBCPLAN_STORE", cfg.StorePath)
	for _, k := range cfg.PrivateKeyFiles {
		warnIfShared(log, "--private-key / MBCPLAN_PRIVATE_KEYS", k)
	}
	return a, nil
}

// warnIfShared warns when a file holding keys or patient data may be read by
// other users of the machine. The file's name is not logged.
func warnIfShared(log *slog.Logger, setting, path string) {
	if path == ":memory:" || strings.HasPrefix(path, "file:") {
		return
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm()&0o077 == 0 {
		return
	}
	log.Warn("a file is readable by other users; restrict it to the owner (chmod 600)",
		slog.String("setting", setting), slog.String("mode", fi.Mode().Perm().String()))
}

func (a *app) close() {
	if a.store != nil {
		if err := a.store.Close(); err != nil {
			a.log.Error("closing the app store", "error", err.Error())
		}
	}
}

// loadKeys reads the configured private keys; with the sandbox on
// private_key_jwt and no key configured, it makes an ephemeral P-384 key.
func loadKeys(cfg Config) (*smart.KeySet, error) {
	if len(cfg.PrivateKeyFiles) > 0 {
		ks, err := smart.LoadKeySet(cfg.PrivateKeyFiles...)
		if err != nil {
			return nil, fmt.Errorf("setting --private-key / MBCPLAN_PRIVATE_KEYS: %v", err)
		}
		return ks, nil
	}
	if cfg.SandboxEnabled && cfg.SandboxClientAuth == "private_key_jwt" {
		k, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
		if err != nil {
			return nil, err
		}
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			return nil, err
		}
		return smart.ParseKeySet(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	}
	return nil, nil
}

func randomSecret() (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return fmt.Sprintf("%x", b), nil
}

// fhirTransport keeps enough idle connections per EHR for one wave of
// parallel searches, so a plan does not redo TLS handshakes each time.
func fhirTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 256
	t.MaxIdleConnsPerHost = 32
	t.ResponseHeaderTimeout = 45 * time.Second
	return t
}
