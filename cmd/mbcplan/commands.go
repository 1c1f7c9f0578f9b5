package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/mbcplan/mbcplan/fhir"
	"github.com/mbcplan/mbcplan/recommend"
	"github.com/mbcplan/mbcplan/smart"
)

// source is where a command reads a patient: a Bundle file, or a FHIR base
// with a patient id and a bearer token or backend-services credentials.
type source struct {
	bundle       string
	fhirBase     string
	patient      string
	token        string
	clientID     string
	privateKeys  string
	tokenURL     string
	patientParam string
}

func (s *source) flags(fs *flag.FlagSet, getenv func(string) string) {
	fs.StringVar(&s.bundle, "bundle", "", "a FHIR Bundle file holding exactly one Patient")
	fs.StringVar(&s.fhirBase, "fhir-base", getenv("MBCPLAN_FHIR_BASE"), "FHIR base URL to read the patient from")
	fs.StringVar(&s.patient, "patient", "", "the patient's id on --fhir-base")
	fs.StringVar(&s.token, "token", "", "bearer token for --fhir-base (default: $MBCPLAN_TOKEN)")
	fs.StringVar(&s.clientID, "client-id", getenv("MBCPLAN_BACKEND_CLIENT_ID"), "backend-services client id (SMART client_credentials with private_key_jwt)")
	fs.StringVar(&s.privateKeys, "private-key", getenv("MBCPLAN_PRIVATE_KEYS"), "PEM private key file(s) for backend services, comma-separated")
	fs.StringVar(&s.tokenURL, "token-url", "", "token endpoint for backend services (default: discovered)")
	fs.StringVar(&s.patientParam, "patient-param", "auto", "how searches name the patient: auto (patient=123, then patient=Patient/123 when that finds nothing), id or reference")
	s.token = getenv("MBCPLAN_TOKEN")
}

func (s *source) check(cmd string) error {
	switch {
	case s.bundle != "" && s.fhirBase != "":
		return usagef("%s: give --bundle or --fhir-base, not both", cmd)
	case s.bundle == "" && s.fhirBase == "":
		return usagef("%s: give --bundle FILE or --fhir-base URL --patient ID", cmd)
	case s.fhirBase != "" && s.patient == "":
		return usagef("%s: --fhir-base needs --patient ID", cmd)
	case s.patientParam != "auto" && s.patientParam != "id" && s.patientParam != "reference":
		return usagef("%s: --patient-param: want auto, id or reference", cmd)
	}
	return nil
}

// maxBundle caps a Bundle read from a file.
const maxBundle = 64 << 20

// read returns the record and, for a FHIR base, the client to write with.
func (s *source) read(ctx context.Context, cmd string) (*fhir.Record, *fhir.Client, error) {
	if s.bundle != "" {
		f, err := os.Open(s.bundle)
		if err != nil {
			return nil, nil, usagef("%s: cannot read %s", cmd, s.bundle)
		}
		defer f.Close()
		data, err := io.ReadAll(io.LimitReader(f, maxBundle+1))
		if err != nil {
			return nil, nil, usagef("%s: cannot read %s", cmd, s.bundle)
		}
		if len(data) > maxBundle {
			return nil, nil, usagef("%s: %s is larger than %d MiB", cmd, s.bundle, maxBundle>>20)
		}
		rec, err := fhir.RecordFromBundle(data)
		if err != nil {
			return nil, nil, usagef("%s: %v", cmd, err)
		}
		return rec, nil, nil
	}
	hc, err := s.httpClient(ctx)
	if err != nil {
		return nil, nil, err
	}
	var opts []fhir.Option
	switch s.patientParam {
	case "reference":
		opts = append(opts, fhir.WithPatientParam(fhir.PatientReference))
	case "id":
		opts = append(opts, fhir.WithPatientParam(fhir.PatientBareID))
	}
	client, err := fhir.NewClient(s.fhirBase, hc, opts...)
	if err != nil {
		return nil, nil, usagef("%s: --fhir-base: %v", cmd, err)
	}
	rec, err := client.FetchRecord(ctx, s.patient)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", cmd, err)
	}
	return rec, client, nil
}

// httpClient carries a bearer token, or backend-services credentials.
func (s *source) httpClient(ctx context.Context) (*http.Client, error) {
	base := &http.Client{Timeout: 60 * time.Second}
	if s.clientID != "" {
		if s.privateKeys == "" {
			return nil, usagef("--client-id needs --private-key (backend services use private_key_jwt)")
		}
		ks, err := smart.LoadKeySet(strings.Split(s.privateKeys, ",")...)
		if err != nil {
			return nil, usagef("--private-key: %v", err)
		}
		return smart.BackendHTTPClient(ctx, smart.BackendConfig{
			FHIRBase: s.fhirBase, TokenURL: s.tokenURL, ClientID: s.clientID, Keys: ks,
			Scopes:     []string{"Patient.rs", "Observation.rs", "Condition.rs", "MedicationRequest.rs", "MedicationStatement.rs", "MedicationAdministration.rs", "Medication.rs", "Procedure.rs", "AllergyIntolerance.rs", "Specimen.rs", "CarePlan.cruds", "Provenance.cr", "DocumentReference.cr"},
			HTTPClient: base,
		})
	}
	if s.token == "" {
		return base, nil
	}
	return &http.Client{Timeout: base.Timeout, Transport: bearer{token: s.token, base: http.DefaultTransport}}, nil
}

// bearer adds a static bearer token.
type bearer struct {
	token string
	base  http.RoundTripper
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r2 := r.Clone(r.Context())
	r2.Header.Set("Authorization", "Bearer "+b.token)
	return b.base.RoundTrip(r2)
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// runFacts prints the facts read from a record: what an integration engineer
// runs first when a site's data looks wrong.
func runFacts(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("facts", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var src source
	src.flags(fs, getenv)
	if err := fs.Parse(args); err != nil {
		return usagef("facts: %v", err)
	}
	if err := src.check("facts"); err != nil {
		return err
	}
	rec, _, err := src.read(ctx, "facts")
	if err != nil {
		return err
	}
	return writeJSON(stdout, fhir.MapFacts(rec))
}

// statementFlags are the clinician statements as command-line flags.
type statementFlags struct {
	er, pr, her2, her2IHC, pregnancy                                string
	visceralCrisis, progression, ofsDeclined, cdk46Unsuitable, qtcf string
}

func (sf *statementFlags) flags(fs *flag.FlagSet) {
	fs.StringVar(&sf.er, "er", "", "clinician statement: ER positive or negative (from a pathology report)")
	fs.StringVar(&sf.pr, "pr", "", "clinician statement: PR positive or negative")
	fs.StringVar(&sf.her2, "her2", "", "clinician statement: HER2 positive or negative")
	fs.StringVar(&sf.her2IHC, "her2-ihc", "", "clinician statement: HER2 IHC score 0, 1+, 2+ or 3+")
	fs.StringVar(&sf.visceralCrisis, "visceral-crisis", "", "clinician statement: visceral crisis (true/false)")
	fs.StringVar(&sf.progression, "progression", "", "clinician statement: progression on the current regimen (true/false)")
	fs.StringVar(&sf.qtcf, "qtcf", "", "clinician statement: QTcF in ms")
	fs.StringVar(&sf.ofsDeclined, "ofs-declined", "", "clinician statement: ovarian function suppression declined (true/false)")
	fs.StringVar(&sf.cdk46Unsuitable, "cdk46-unsuitable", "", "clinician statement: CDK4/6 inhibitor unsuitable (true/false)")
	fs.StringVar(&sf.pregnancy, "pregnancy", "", "clinician statement: pregnant or not-pregnant")
}

func (sf *statementFlags) statements(now time.Time) (recommend.Statements, error) {
	var st recommend.Statements
	receptor := func(name, v string) (*recommend.ReceptorStatus, error) {
		switch v {
		case "":
			return nil, nil
		case "positive", "negative":
			r := recommend.ReceptorStatus(v)
			return &r, nil
		}
		return nil, usagef("--%s: want positive or negative", name)
	}
	boolean := func(name, v string) (*bool, error) {
		if v == "" {
			return nil, nil
		}
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, usagef("--%s: want true or false", name)
		}
		return &b, nil
	}
	var err error
	if st.ER, err = receptor("er", sf.er); err != nil {
		return st, err
	}
	if st.PR, err = receptor("pr", sf.pr); err != nil {
		return st, err
	}
	if st.HER2, err = receptor("her2", sf.her2); err != nil {
		return st, err
	}
	switch sf.her2IHC {
	case "":
	case "0", "1+", "2+", "3+":
		s := recommend.IHCScore(sf.her2IHC)
		st.HER2IHC = &s
	default:
		return st, usagef("--her2-ihc: want 0, 1+, 2+ or 3+")
	}
	if st.VisceralCrisis, err = boolean("visceral-crisis", sf.visceralCrisis); err != nil {
		return st, err
	}
	if st.Progression, err = boolean("progression", sf.progression); err != nil {
		return st, err
	}
	if st.OFSDeclined, err = boolean("ofs-declined", sf.ofsDeclined); err != nil {
		return st, err
	}
	if st.CDK46Unsuitable, err = boolean("cdk46-unsuitable", sf.cdk46Unsuitable); err != nil {
		return st, err
	}
	if sf.qtcf != "" {
		v, err := strconv.ParseFloat(sf.qtcf, 64)
		if err != nil || v < 250 || v > 800 {
			return st, usagef("--qtcf: want a QTcF in ms between 250 and 800")
		}
		st.QTcF = &v
	}
	switch sf.pregnancy {
	case "":
	case "pregnant", "not-pregnant":
		p := recommend.PregnancyStatus(sf.pregnancy)
		st.Pregnancy = &p
	default:
		return st, usagef("--pregnancy: want pregnant or not-pregnant")
	}
	if st != (recommend.Statements{}) {
		st.Date = now.UTC().Format("2006-01-02T15:04:05Z")
	}
	return st, nil
}

// parseNow reads --now (YYYY-MM-DD or RFC 3339); empty is the clock.
func parseNow(v string) (time.Time, error) {
	if v == "" {
		return time.Now(), nil
	}
	if t, err := time.Parse("2006-01-02", v); err == nil {
		return t.Add(12 * time.Hour), nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	return time.Time{}, usagef("--now: want YYYY-MM-DD or an RFC 3339 time")
}

// runRecommend prints the plan for one patient (or its CarePlan draft), and
// with --write-draft writes the draft where the server can keep it.
func runRecommend(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("recommend", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var src source
	src.flags(fs, getenv)
	var sf statementFlags
	sf.flags(fs)
	option := fs.String("option", "", "the option to write (default: the top-ranked option)")
	choices := map[string]string{}
	fs.Func("choose", "GROUP=DRUG: the drug chosen among the option's alternatives (repeatable; e.g. cdk46=palbociclib)", func(v string) error {
		return parseChoice(choices, v)
	})
	carePlan := fs.Bool("careplan", false, "print the CarePlan draft instead of the plan")
	writeDraft := fs.Bool("write-draft", false, "write the CarePlan draft to --fhir-base (or the app store where the server cannot keep CarePlans)")
	storePath := fs.String("store", getenv("MBCPLAN_STORE"), "SQLite file of the app store, for servers that cannot keep CarePlans")
	writeBack := fs.String("write-back", "auto", "where drafts go: auto (follow the CapabilityStatement), ehr or app-store")
	nowFlag := fs.String("now", "", "the date to plan for, YYYY-MM-DD (default: today)")
	lvef := fs.String("lvef-thresholds", orDefault(getenv("MBCPLAN_LVEF_THRESHOLDS"), "us"), "trastuzumab LVEF hold thresholds: us or eu")
	if err := fs.Parse(args); err != nil {
		return usagef("recommend: %v", err)
	}
	if fs.NArg() > 0 {
		return usagef("recommend: unexpected argument %q", fs.Arg(0))
	}
	if err := src.check("recommend"); err != nil {
		return err
	}
	if *lvef != "us" && *lvef != "eu" {
		return usagef("recommend: --lvef-thresholds: want us or eu")
	}
	if *writeDraft && src.bundle != "" {
		return usagef("recommend: --write-draft needs --fhir-base (a Bundle file has no server to write to)")
	}
	var mode fhir.WriteMode
	switch *writeBack {
	case "auto":
	case "ehr":
		mode = fhir.WriteEHR
	case "app-store":
		mode = fhir.WriteAppStore
	default:
		return usagef("recommend: --write-back: want auto, ehr or app-store")
	}
	now, err := parseNow(*nowFlag)
	if err != nil {
		return err
	}
	st, err := sf.statements(now)
	if err != nil {
		return err
	}
	rec, client, err := src.read(ctx, "recommend")
	if err != nil {
		return err
	}
	f := fhir.MapFacts(rec)
	f.Statements = st
	p := recommend.Recommend(f, now, recommend.Settings{LVEFThresholds: *lvef})
	if *option != "" && !hasOption(p, *option) {
		return usagef("recommend: --option %q is not in the plan (options: %s)", *option, optionIDs(p))
	}
	dc := fhir.DraftContext{PatientRef: f.Patient.Ref, Now: now, OptionID: *option, Choices: choices}
	if err := checkChoices(p, *option, choices); err != nil {
		return err
	}

	if *writeDraft {
		w := &fhir.Writer{Client: client, Mode: mode}
		if *storePath != "" {
			store, err := openAppStore(ctx, *storePath)
			if err != nil {
				return fmt.Errorf("recommend: --store: %v", err)
			}
			defer store.Close()
			w.Store = scopeStore(store, src.fhirBase)
		}
		d, err := w.WriteDraft(ctx, p, f, dc)
		if err != nil {
			if errors.Is(err, fhir.ErrNoWriteBack) {
				return usagef("recommend: the server cannot keep CarePlans: give --store FILE to keep the draft in the app store")
			}
			return fmt.Errorf("recommend: write draft: %w", err)
		}
		state := "written"
		if !d.Created {
			state = "already there (same inputs)"
		}
		fmt.Fprintf(stderr, "mbcplan: draft %s %s in the %s\n", d.Ref(), state, whereText(d.Where))
		return writeJSON(stdout, d)
	}
	if *carePlan {
		cp, err := fhir.BuildCarePlan(p, f, dc)
		if err != nil {
			return fmt.Errorf("recommend: %v", err)
		}
		return writeJSON(stdout, cp)
	}
	return writeJSON(stdout, p)
}

func whereText(w string) string {
	if w == fhir.WhereAppStore {
		return "app store (the EHR cannot keep CarePlans)"
	}
	return "EHR"
}

func hasOption(p recommend.Plan, id string) bool {
	for _, o := range p.Options {
		if o.ID == id {
			return true
		}
	}
	return false
}

func optionIDs(p recommend.Plan) string {
	if len(p.Options) == 0 {
		return "none"
	}
	ids := make([]string, 0, len(p.Options))
	for _, o := range p.Options {
		ids = append(ids, o.ID)
	}
	return strings.Join(ids, ", ")
}

// maxChoices caps --choose, as the draft API caps its choices.
const maxChoices = 10

// parseChoice reads one --choose GROUP=DRUG into choices.
func parseChoice(choices map[string]string, v string) error {
	group, drug, ok := strings.Cut(v, "=")
	group, drug = strings.TrimSpace(group), strings.TrimSpace(drug)
	switch {
	case !ok || group == "" || drug == "":
		return errors.New("want GROUP=DRUG, e.g. cdk46=palbociclib")
	case len(group) > 100 || len(drug) > 100:
		return errors.New("GROUP and DRUG are at most 100 characters")
	}
	if prev, dup := choices[group]; dup && !strings.EqualFold(prev, drug) {
		return fmt.Errorf("group %q chosen twice", group)
	}
	if _, dup := choices[group]; !dup && len(choices) >= maxChoices {
		return fmt.Errorf("at most %d choices", maxChoices)
	}
	choices[group] = drug
	return nil
}

// checkChoices refuses, as a usage error, a choice the chosen option does
// not offer, listing what it offers.
func checkChoices(p recommend.Plan, optionID string, choices map[string]string) error {
	if len(choices) == 0 {
		return nil
	}
	var opt *recommend.Option
	for i := range p.Options {
		o := &p.Options[i]
		if (optionID == "" && (opt == nil || rankFirst(o.Rank, opt.Rank))) || o.ID == optionID {
			opt = o
		}
	}
	offered := map[string][]string{}
	var groups []string
	if opt != nil {
		for _, d := range opt.Drugs {
			if d.Choice == "" {
				continue
			}
			if _, seen := offered[d.Choice]; !seen {
				groups = append(groups, d.Choice)
			}
			offered[d.Choice] = append(offered[d.Choice], d.Name)
		}
	}
	var list []string
	for _, g := range groups {
		list = append(list, g+"="+strings.Join(offered[g], "|"))
	}
	what := "none"
	if len(list) > 0 {
		what = strings.Join(list, ", ")
	}
	keys := make([]string, 0, len(choices))
	for g := range choices {
		keys = append(keys, g)
	}
	sort.Strings(keys)
	for _, g := range keys {
		drug := choices[g]
		found := false
		for _, n := range offered[g] {
			if strings.EqualFold(n, drug) {
				found = true
			}
		}
		if !found {
			return usagef("recommend: --choose %s=%s is not a choice of the option (choices: %s)", g, drug, what)
		}
	}
	return nil
}

// rankFirst orders ranks ascending with 0 (unranked) last, as the CarePlan
// mapping picks the top-ranked option.
func rankFirst(a, b int) bool {
	switch {
	case a == 0:
		return false
	case b == 0:
		return true
	}
	return a < b
}
