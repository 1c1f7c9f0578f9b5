// Package sandbox composes the embedded sandbox EHR: the FHIR server of
// fhirtest and the SMART authorization server of smarttest, seeded with the
// synthetic patient library, behind one http.Handler with a launcher page.
//
// It is demo and test equipment: `mbcplan serve` mounts it beside the app so
// that a newcomer can launch the app with no EHR at hand, and end-to-end
// tests launch through it. URL layout, under Config.PublicURL:
//
//	/                                              the launcher page
//	/sandbox/fhir                                  FHIR base (the iss)
//	/sandbox/fhir/metadata                         CapabilityStatement
//	/sandbox/fhir/.well-known/smart-configuration  SMART discovery
//	/sandbox/auth/...                              authorize, token, jwks, picker
//	/sandbox/launch?patient=ID[&sim=S][&banner=1]  EHR launch → the app
package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/mbcplan/mbcplan/fhir/fhirtest"
	"github.com/mbcplan/mbcplan/smart/smarttest"
)

// DefaultClientID is the sandbox's registered public client.
const DefaultClientID = "mbcplan-sandbox"

// Practitioner is the signed-in clinician of every sandbox launch (fhirUser).
const Practitioner = "Practitioner/sandbox-oncologist"

// Config configures a Sandbox.
type Config struct {
	// PublicURL is the origin the browser reaches, e.g. http://127.0.0.1:8080:
	// the bound address or a configured public URL. It must have no path.
	PublicURL string
	// AppLaunchURL is the app's EHR-launch URL; empty means {PublicURL}/launch.
	AppLaunchURL string
	// AppRedirectURI is the app's redirect URI; empty means {PublicURL}/callback.
	AppRedirectURI string
	// ClientID is the app's client id; empty means DefaultClientID (public).
	ClientID string
	// ClientSecret makes the client confidential (client_secret_basic).
	ClientSecret string
	// ClientJWKSURL makes the client a private_key_jwt client whose keys
	// are fetched there, e.g. {PublicURL}/.well-known/jwks.json.
	ClientJWKSURL string
	// DataDir holds the patient bundles (testdata/patients): every *.json
	// file but expectations.json is loaded; titles come from
	// expectations.json when it is there.
	DataDir string
	// CarePlanReadOnly makes the FHIR server refuse CarePlan writes, as
	// Epic and Oracle Health do.
	CarePlanReadOnly bool
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger may be nil. The sandbox logs counts only, never ids or names.
	Logger *slog.Logger
}

// Sandbox is the composed sandbox EHR.
type Sandbox struct {
	public    string
	launchURL string
	issuer    string
	store     *fhirtest.Store
	auth      *smarttest.Server
	patients  []patientEntry
	handler   http.Handler
	page      *template.Template
}

// patientEntry is one patient on the launcher page.
type patientEntry struct {
	ID        string
	Name      string
	Title     string
	Encounter string
}

// New loads the patient library and builds the sandbox. A bundle that does
// not load is an error naming its file.
func New(cfg Config) (*Sandbox, error) {
	pub, err := url.Parse(cfg.PublicURL)
	if err != nil || (pub.Scheme != "http" && pub.Scheme != "https") || pub.Host == "" {
		return nil, errors.New("sandbox: PublicURL must be an absolute http or https URL")
	}
	if strings.Trim(pub.Path, "/") != "" || pub.RawQuery != "" || pub.Fragment != "" {
		return nil, errors.New("sandbox: PublicURL must have no path, query or fragment")
	}
	if cfg.DataDir == "" {
		return nil, errors.New("sandbox: DataDir is required")
	}
	public := pub.Scheme + "://" + pub.Host
	if cfg.AppLaunchURL == "" {
		cfg.AppLaunchURL = public + "/launch"
	}
	if cfg.AppRedirectURI == "" {
		cfg.AppRedirectURI = public + "/callback"
	}
	if cfg.ClientID == "" {
		cfg.ClientID = DefaultClientID
	}
	if u, err := url.Parse(cfg.AppLaunchURL); err != nil || !u.IsAbs() {
		return nil, errors.New("sandbox: AppLaunchURL must be an absolute URL")
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}

	sb := &Sandbox{
		public:    public,
		launchURL: cfg.AppLaunchURL,
		issuer:    public + "/sandbox/fhir",
		store:     fhirtest.NewStoreClock(now),
	}
	if err := sb.load(cfg.DataDir, cfg.Logger); err != nil {
		return nil, err
	}
	if err := sb.seed(now()); err != nil {
		return nil, err
	}

	patients := make([]smarttest.Patient, 0, len(sb.patients))
	for _, p := range sb.patients {
		patients = append(patients, smarttest.Patient{ID: p.ID, Name: p.Name})
	}
	sb.auth, err = smarttest.New(smarttest.Config{
		Issuer:  sb.issuer,
		BaseURL: public + "/sandbox/auth",
		Clients: []smarttest.Client{{
			ID:           cfg.ClientID,
			Secret:       cfg.ClientSecret,
			RedirectURIs: []string{cfg.AppRedirectURI},
			JWKSURL:      cfg.ClientJWKSURL,
		}},
		Patients:     patients,
		Practitioner: Practitioner,
		StyleURL:     public + "/sandbox/style.json",
		Now:          now,
	})
	if err != nil {
		return nil, fmt.Errorf("sandbox: %v", err)
	}
	fhirServer := fhirtest.NewServer(sb.store, fhirtest.Options{
		BaseURL:          sb.issuer,
		Auth:             authorizer{sb.auth},
		OAuthAuthorize:   public + "/sandbox/auth/authorize",
		OAuthToken:       public + "/sandbox/auth/token",
		CarePlanReadOnly: cfg.CarePlanReadOnly,
	})
	sb.page = template.Must(template.New("launcher").Parse(launcherHTML))

	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", sb.launcher)
	mux.HandleFunc("GET /sandbox/launch", sb.launch)
	mux.HandleFunc("GET /sandbox/launcher.css", serveAsset("launcher.css", "text/css; charset=utf-8"))
	mux.HandleFunc("GET /sandbox/style.json", serveAsset("style.json", "application/json"))
	mux.Handle("/sandbox/fhir/.well-known/smart-configuration", sb.auth.SmartConfiguration())
	mux.Handle("/sandbox/fhir", fhirServer)
	mux.Handle("/sandbox/fhir/", fhirServer)
	mux.Handle("/sandbox/auth/", sb.auth.Handler())
	sb.handler = mux

	if cfg.Logger != nil {
		cfg.Logger.Info("sandbox EHR ready", "patients", len(sb.patients), "carePlanReadOnly", cfg.CarePlanReadOnly)
	}
	return sb, nil
}

// Handler serves the launcher page at "/" and everything under "/sandbox/".
// Other paths answer 404.
func (sb *Sandbox) Handler() http.Handler { return sb.handler }

// Issuer is the FHIR base URL handed to the app as iss: {PublicURL}/sandbox/fhir.
func (sb *Sandbox) Issuer() string { return sb.issuer }

// Store is the FHIR store, for tests that inspect what the app wrote.
func (sb *Sandbox) Store() *fhirtest.Store { return sb.store }

// Auth is the SMART authorization server.
func (sb *Sandbox) Auth() *smarttest.Server { return sb.auth }

// load reads every bundle of dir into the store, in file-name order, and
// records the patients each one brought. A bundle that reuses a resource id
// of an earlier one replaces it (as a new version) and is logged.
func (sb *Sandbox) load(dir string, logger *slog.Logger) error {
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return fmt.Errorf("sandbox: list %s: %v", dir, err)
	}
	titles := map[string]string{}
	if _, err := os.Stat(filepath.Join(dir, fhirtest.ExpectationsFile)); err == nil {
		lib, err := fhirtest.LoadLibrary(dir)
		if err != nil {
			return fmt.Errorf("sandbox: %v", err)
		}
		for _, sc := range lib.Scenarios {
			titles[sc.File] = sc.Title
		}
	}
	slices.Sort(files)
	seen := map[string]bool{}
	replaced := 0
	for _, f := range files {
		name := filepath.Base(f)
		if name == fhirtest.ExpectationsFile {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			return fmt.Errorf("sandbox: read %s: %v", name, err)
		}
		if err := sb.store.LoadBundle(data); err != nil {
			return fmt.Errorf("sandbox: load %s: %v", name, err)
		}
		if n := sb.replaced(); n > replaced {
			if logger != nil {
				logger.Warn("sandbox bundle replaces resources of an earlier bundle", "file", name, "resources", n-replaced)
			}
			replaced = n
		}
		title := titles[name]
		if title == "" {
			title = titleFromFile(name)
		}
		for _, res := range sb.store.Resources("Patient") {
			if seen[res.ID] {
				continue
			}
			seen[res.ID] = true
			sb.patients = append(sb.patients, patientEntry{ID: res.ID, Name: patientName(res.JSON), Title: title})
		}
	}
	if len(sb.patients) == 0 {
		return fmt.Errorf("sandbox: no Patient in the bundles of %s", dir)
	}
	return nil
}

// replaced counts stored resources with more than one version.
func (sb *Sandbox) replaced() int {
	n := 0
	for _, typ := range sb.store.Types() {
		for _, res := range sb.store.Resources(typ) {
			if res.VersionID != "1" {
				n++
			}
		}
	}
	return n
}

// titleFromFile turns "03-her2pos-first-line.json" into "03 her2pos first line".
func titleFromFile(name string) string {
	return strings.NewReplacer("-", " ", "_", " ").Replace(strings.TrimSuffix(name, ".json"))
}

// patientName is the display name of a Patient: its official (or first)
// name's text, else given names and family.
func patientName(data []byte) string {
	var p struct {
		Name []struct {
			Use    string   `json:"use"`
			Text   string   `json:"text"`
			Family string   `json:"family"`
			Given  []string `json:"given"`
		} `json:"name"`
	}
	if err := json.Unmarshal(data, &p); err != nil || len(p.Name) == 0 {
		return ""
	}
	n := p.Name[0]
	for _, c := range p.Name {
		if c.Use == "official" {
			n = c
			break
		}
	}
	if n.Text != "" {
		return n.Text
	}
	return strings.TrimSpace(strings.Join(append(slices.Clone(n.Given), n.Family), " "))
}

// seed adds the signed-in practitioner and one open encounter per patient.
func (sb *Sandbox) seed(now time.Time) error {
	_, id, _ := strings.Cut(Practitioner, "/")
	doc := map[string]any{
		"resourceType": "Practitioner",
		"id":           id,
		"active":       true,
		"name": []any{map[string]any{
			"use": "official", "family": "Sandbox", "given": []any{"Sam"}, "prefix": []any{"Dr."},
		}},
		"qualification": []any{map[string]any{"code": map[string]any{"text": "Medical oncology"}}},
	}
	if _, err := sb.putJSON(doc); err != nil {
		return err
	}
	for i := range sb.patients {
		p := &sb.patients[i]
		enc := map[string]any{
			"resourceType": "Encounter",
			"status":       "in-progress",
			"class": map[string]any{
				"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB", "display": "ambulatory",
			},
			"type":        []any{map[string]any{"text": "Oncology clinic visit"}},
			"subject":     map[string]any{"reference": "Patient/" + p.ID},
			"participant": []any{map[string]any{"individual": map[string]any{"reference": Practitioner}}},
			"period":      map[string]any{"start": now.UTC().Format(time.RFC3339)},
		}
		if eid := "sandbox-enc-" + p.ID; len(eid) <= 64 {
			enc["id"] = eid
		}
		res, err := sb.putJSON(enc)
		if err != nil {
			return err
		}
		p.Encounter = res.ID
	}
	return nil
}

func (sb *Sandbox) putJSON(doc map[string]any) (fhirtest.Resource, error) {
	data, err := json.Marshal(doc)
	if err != nil {
		return fhirtest.Resource{}, fmt.Errorf("sandbox: seed: %v", err)
	}
	res, err := sb.store.Put(data)
	if err != nil {
		return fhirtest.Resource{}, fmt.Errorf("sandbox: seed: %v", err)
	}
	return res, nil
}

// authorizer lets the FHIR server check tokens with the authorization server.
type authorizer struct{ auth *smarttest.Server }

func (a authorizer) Authorize(_ *http.Request, token string) (fhirtest.Grant, error) {
	g, err := a.auth.Introspect(token)
	switch {
	case errors.Is(err, smarttest.ErrSimulated401):
		return fhirtest.Grant{PlainUnauthorized: true}, nil
	case errors.Is(err, smarttest.ErrSimulated503):
		return fhirtest.Grant{Unavailable: true}, nil
	case errors.Is(err, smarttest.ErrExpiredToken):
		return fhirtest.Grant{Expired: true}, nil
	case err != nil:
		return fhirtest.Grant{}, err
	}
	return fhirtest.Grant{Patient: g.Patient, Scopes: g.Scopes}, nil
}

func (sb *Sandbox) patient(id string) (patientEntry, bool) {
	for _, p := range sb.patients {
		if p.ID == id {
			return p, true
		}
	}
	return patientEntry{}, false
}

// launch starts an EHR launch and sends the browser to the app.
func (sb *Sandbox) launch(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p, ok := sb.patient(q.Get("patient"))
	if !ok {
		sb.message(w, http.StatusNotFound, "Unknown patient", "The sandbox has no such patient. Pick one on the launcher page.")
		return
	}
	code, err := sb.auth.NewLaunch(smarttest.LaunchContext{
		Patient:           p.ID,
		Encounter:         p.Encounter,
		NeedPatientBanner: q.Get("banner") == "1",
		Simulate:          smarttest.Simulation(q.Get("sim")),
	})
	switch {
	case errors.Is(err, smarttest.ErrUnknownSimulation):
		sb.message(w, http.StatusBadRequest, "Unknown simulation", "The sandbox does not simulate that error. Pick one on the launcher page.")
		return
	case err != nil:
		sb.message(w, http.StatusInternalServerError, "Launch failed", "The sandbox could not create the launch. Try again.")
		return
	}
	u, err := url.Parse(sb.launchURL)
	if err != nil {
		sb.message(w, http.StatusInternalServerError, "Launch failed", "The app's launch URL is not valid.")
		return
	}
	v := u.Query()
	v.Set("iss", sb.issuer)
	v.Set("launch", code)
	u.RawQuery = v.Encode()
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	http.Redirect(w, r, u.String(), http.StatusFound)
}
