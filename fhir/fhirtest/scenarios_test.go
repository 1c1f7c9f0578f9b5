package fhirtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// The vocabularies below are fixed by the project (shared/clinical/
// rxnorm-drug-sets.json, REFERENCE.md section 3, the data-needed list).
// They are copied here so that the oracle is checked against them, not
// against the program.

var knownDrugs = set(
	"abemaciclib", "ado-trastuzumab emtansine", "alpelisib", "anastrozole", "atezolizumab",
	"capecitabine", "capivasertib", "carboplatin", "cisplatin", "cyclophosphamide", "denosumab",
	"docetaxel", "doxorubicin", "elacestrant", "epirubicin", "eribulin", "everolimus",
	"exemestane", "fam-trastuzumab deruxtecan", "fulvestrant", "gemcitabine", "goserelin",
	"lapatinib", "letrozole", "leuprolide", "neratinib", "olaparib", "paclitaxel",
	"palbociclib", "pembrolizumab", "pertuzumab", "ribociclib", "sacituzumab govitecan",
	"talazoparib", "tamoxifen", "toremifene", "trastuzumab", "tucatinib", "vinorelbine",
	"zoledronic acid",
	// Named in the project vocabulary without a drug-set entry.
	"triptorelin", "inavolisib", "nab-paclitaxel",
)

var knownClasses = set(
	"ADC", "CDK4_6_inhibitor", "GnRH_agonist", "HER2_TKI", "HER2_directed", "ILD_risk", "NSAI",
	"PARP_inhibitor", "PI3K_AKT_mTOR_inhibitor", "QT_prolonging", "SAI", "SERD", "SERM",
	"TROP2_ADC", "anthracycline", "aromatase_inhibitor", "bone_modifying_agent",
	"cardiotoxic_HER2", "cardiotoxic_anthracycline", "chemotherapy", "diarrhea_risk",
	"endocrine", "fluoropyrimidine", "hepatotoxicity_monitoring", "hyperglycemia_risk",
	"immune_checkpoint_inhibitor", "neutropenia_risk", "oral_SERD",
	"ovarian_function_suppression", "platinum", "taxane",
)

var dataNeededIDs = set(
	"er", "pr", "her2", "her2-ihc", "hr-status", "menopause", "metastasis", "pregnancy-test",
	"lvef", "ecg-qtcf", "ecog", "pdl1", "genomic-pik3ca-akt1-pten", "esr1", "germline-brca",
	"labs-cbc", "labs-liver", "labs-renal", "glucose-hba1c", "electrolytes", "stop-reason", "adjuvant-et-end",
	"conflict-er", "conflict-pr", "conflict-her2", "not-final-er", "not-final-pr",
	"not-final-her2", "rebiopsy",
)

// staleOf are the facts a "stale-<what>" item may name besides dataNeededIDs.
var staleOf = set("pregnancy", "qtcf")

var flagKinds = set("cardiac", "qt", "liver", "neutropenia", "ild", "glucose", "renal",
	"allergy", "pregnancy", "interaction", "diarrhea", "performance")

// ruleIDs are the rules of REFERENCE.md section 3.
var ruleIDs = func() map[string]bool {
	m := map[string]bool{}
	for prefix, n := range map[string]int{"C": 8, "H": 16, "P": 7, "T": 6, "S": 12, "L": 7} {
		for i := 1; i <= n; i++ {
			m[fmt.Sprintf("%s%02d", prefix, i)] = true
		}
	}
	return m
}()

// intricate are the patients whose every drug expectation must say why.
var intricate = set("mbc-04", "mbc-18")

func set(xs ...string) map[string]bool {
	m := make(map[string]bool, len(xs))
	for _, x := range xs {
		m[x] = true
	}
	return m
}

func loadLibrary(t *testing.T) (*Library, string) {
	t.Helper()
	dir, err := LibraryDir()
	if err != nil {
		t.Fatalf("LibraryDir: %v", err)
	}
	lib, err := LoadLibrary(dir)
	if err != nil {
		t.Fatalf("LoadLibrary(%s): %v", dir, err)
	}
	return lib, dir
}

func TestLoadLibrary(t *testing.T) {
	lib, _ := loadLibrary(t)
	if want := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC); !lib.AsOf.Equal(want) {
		t.Errorf("AsOf = %v; want %v", lib.AsOf, want)
	}
	if got, want := len(lib.Scenarios), 18; got < want {
		t.Errorf("len(Scenarios) = %d; want at least %d", got, want)
	}
	for i, s := range lib.Scenarios {
		if want := fmt.Sprintf("mbc-%02d", i+1); s.ID != want {
			t.Errorf("Scenarios[%d].ID = %q; want %q (numbered in order, no gaps)", i, s.ID, want)
		}
		got, ok := lib.Lookup(s.ID)
		if !ok || got.File != s.File {
			t.Errorf("Lookup(%q) = %q, %v; want %q, true", s.ID, got.File, ok, s.File)
		}
		if s.Title == "" || len(s.Bundle) == 0 {
			t.Errorf("%s: Title %q, %d bundle bytes; want both set", s.ID, s.Title, len(s.Bundle))
		}
	}
	if _, ok := lib.Lookup("mbc-00"); ok {
		t.Errorf("Lookup(mbc-00) found a scenario; want none")
	}
}

func TestLoadLibraryErrors(t *testing.T) {
	bundle := `{"resourceType":"Bundle","type":"collection","entry":[]}`
	tests := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"missing expectations", map[string]string{}, "read expectations"},
		{"unknown field", map[string]string{ExpectationsFile: `{"asOf":"2026-11-20","patients":[],"extra":1}`}, "decode"},
		{"bad asOf", map[string]string{ExpectationsFile: `{"asOf":"20 Nov 2026","patients":[]}`}, "asOf"},
		{"missing bundle", map[string]string{ExpectationsFile: `{"asOf":"2026-11-20","patients":[{"id":"mbc-01","file":"01-x.json"}]}`}, "mbc-01"},
		{"path outside dir", map[string]string{ExpectationsFile: `{"asOf":"2026-11-20","patients":[{"id":"mbc-01","file":"../01-x.json"}]}`}, "plain file name"},
		{"duplicate id", map[string]string{
			ExpectationsFile: `{"asOf":"2026-11-20","patients":[{"id":"mbc-01","file":"a.json"},{"id":"mbc-01","file":"b.json"}]}`,
			"a.json":         bundle, "b.json": bundle}, "duplicate"},
		{"bundle not JSON", map[string]string{
			ExpectationsFile: `{"asOf":"2026-11-20","patients":[{"id":"mbc-01","file":"a.json"}]}`,
			"a.json":         "{not json"}, "not valid JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, body := range tt.files {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			_, err := LoadLibrary(dir)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("LoadLibrary: got error %v; want one mentioning %q", err, tt.want)
			}
		})
	}
}

// Every bundle file in the directory is listed, and every listed file exists
// (LoadLibrary fails otherwise).
func TestEveryBundleIsListed(t *testing.T) {
	lib, dir := loadLibrary(t)
	listed := map[string]bool{}
	for _, s := range lib.Scenarios {
		listed[s.File] = true
	}
	names, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		base := filepath.Base(n)
		if base != ExpectationsFile && !listed[base] {
			t.Errorf("%s is not listed in %s", base, ExpectationsFile)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !e.IsDir() && !strings.HasSuffix(e.Name(), ".json") {
			t.Errorf("%s: unexpected non-JSON file in the patient library", e.Name())
		}
	}
}

var fileName = regexp.MustCompile(`^(\d\d)-[a-z0-9]+(-[a-z0-9]+)*\.json$`)

// The expectations use only the shared vocabulary, cite real rules and hold
// together.
func TestExpectationsVocabulary(t *testing.T) {
	lib, dir := loadLibrary(t)
	required := requiredKeys(t, filepath.Join(dir, ExpectationsFile))
	for _, s := range lib.Scenarios {
		t.Run(s.ID+" "+s.Title, func(t *testing.T) {
			for _, p := range required[s.ID] {
				t.Errorf("required field %s missing", p)
			}
			for _, p := range checkExpectation(s.Expect) {
				t.Error(p)
			}
		})
	}
}

// requiredKeys returns, per patient id, the required fields the raw file
// lacks (decoding into structs would hide a missing field behind a zero).
func requiredKeys(t *testing.T, path string) map[string][]string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Patients []map[string]json.RawMessage `json:"patients"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	entryKeys := []string{"id", "file", "scenario", "facts", "mustPropose", "mustNotPropose", "noDrug",
		"dataNeeded", "flags", "skipped", "otherSubject", "rules"}
	factKeys := []string{"er", "pr", "her2", "her2Low", "hr", "menopause", "menopauseBasis",
		"metastatic", "line", "continue", "pregnant", "sex"}
	out := map[string][]string{}
	for i, p := range doc.Patients {
		var id string
		if err := json.Unmarshal(p["id"], &id); err != nil {
			id = fmt.Sprintf("entry %d", i)
		}
		var missing []string
		for _, k := range entryKeys {
			if _, ok := p[k]; !ok {
				missing = append(missing, k)
			}
		}
		var f map[string]json.RawMessage
		if err := json.Unmarshal(p["facts"], &f); err == nil {
			for _, k := range factKeys {
				if _, ok := f[k]; !ok {
					missing = append(missing, "facts."+k)
				}
			}
		}
		out[id] = missing
	}
	return out
}

func oneOf(field, v string, allowed ...string) string {
	if slices.Contains(allowed, v) {
		return ""
	}
	return fmt.Sprintf("%s = %q; want one of %q", field, v, allowed)
}

// checkExpectation returns what is wrong with one expectation entry.
func checkExpectation(e Expectation) []string {
	var probs []string
	add := func(format string, a ...any) { probs = append(probs, fmt.Sprintf(format, a...)) }

	m := fileName.FindStringSubmatch(e.File)
	if m == nil || "mbc-"+m[1] != e.ID {
		add("file %q: want NN-slug.json with NN matching id %s", e.File, e.ID)
	}
	if e.Scenario == "" {
		add("scenario is empty")
	}
	f := e.Facts
	for _, p := range []string{
		oneOf("er", f.ER, "positive", "negative", "unknown"),
		oneOf("pr", f.PR, "positive", "negative", "unknown"),
		oneOf("her2", f.HER2, "positive", "negative", "unknown"),
		oneOf("her2Low", f.HER2Low, "yes", "no", "unknown"),
		oneOf("hr", f.HR, "positive", "negative", "unknown"),
		oneOf("menopause", f.Menopause, "premenopausal", "perimenopausal", "postmenopausal", "male", "unknown"),
		oneOf("menopauseBasis", f.MenopauseBasis, "recorded", "oophorectomy", "age ≥ 60", "sex", "clinician", ""),
		oneOf("sex", f.Sex, "female", "male", "other", "unknown"),
	} {
		if p != "" {
			probs = append(probs, p)
		}
	}
	// Section 8: HR+ = ER+ or PR+; unknown only when neither is positive and one is missing.
	wantHR := "negative"
	switch {
	case f.ER == "positive" || f.PR == "positive":
		wantHR = "positive"
	case f.ER == "unknown" || f.PR == "unknown":
		wantHR = "unknown"
	}
	if f.HR != wantHR {
		add("hr = %q with er %q, pr %q; want %q", f.HR, f.ER, f.PR, wantHR)
	}
	if f.HER2Low == "yes" && f.HER2 != "negative" {
		add("her2Low yes with her2 %q; HER2-low is HER2-negative", f.HER2)
	}
	if (f.Sex == "male") != (f.Menopause == "male") || (f.Menopause == "male") != (f.MenopauseBasis == "sex") {
		add("sex %q, menopause %q, basis %q: men are menopause male by sex", f.Sex, f.Menopause, f.MenopauseBasis)
	}
	if (f.Menopause == "unknown") != (f.MenopauseBasis == "") {
		add("menopause %q with basis %q: a basis goes with a known status only", f.Menopause, f.MenopauseBasis)
	}
	if f.Metastatic != (f.Line > 0) {
		add("metastatic %v with line %d: a line applies to metastatic disease only", f.Metastatic, f.Line)
	}
	if !f.Metastatic && !e.NoDrug {
		add("not metastatic but noDrug false (C05)")
	}
	if f.Pregnant && !e.NoDrug {
		add("pregnant but noDrug false (section 8 pregnancy gate)")
	}
	if e.NoDrug && len(e.MustPropose) > 0 {
		add("noDrug with %d mustPropose entries", len(e.MustPropose))
	}
	if e.Skipped < 0 || e.OtherSubject < 0 {
		add("skipped %d, otherSubject %d; want ≥ 0", e.Skipped, e.OtherSubject)
	}
	if len(e.Statements) > 0 {
		var st map[string]any
		if err := json.Unmarshal(e.Statements, &st); err != nil {
			add("statements: %v", err)
		}
	}

	cited := map[string]bool{}
	checkRules := func(where string, rules []string) {
		if len(rules) == 0 {
			add("%s: cites no rule", where)
		}
		for _, r := range rules {
			if !ruleIDs[r] {
				add("%s: %q is not a rule of REFERENCE.md section 3", where, r)
			}
			cited[r] = true
		}
	}
	drugs := func(kind string, list []DrugExpectation) {
		for i, d := range list {
			where := fmt.Sprintf("%s[%d]", kind, i)
			if len(d.AnyOf) == 0 {
				add("%s: anyOf is empty", where)
			}
			for _, n := range d.AnyOf {
				if !knownDrugs[n] && !knownClasses[n] {
					add("%s: %q is neither a known drug nor a class tag", where, n)
				}
			}
			checkRules(where, d.Rules)
			if intricate[e.ID] && strings.TrimSpace(d.Why) == "" {
				add("%s: why is required for %s", where, e.ID)
			}
		}
	}
	drugs("mustPropose", e.MustPropose)
	drugs("mustNotPropose", e.MustNotPropose)
	for _, must := range e.MustPropose {
		for _, not := range e.MustNotPropose {
			for _, n := range must.AnyOf {
				if slices.Contains(not.AnyOf, n) {
					add("%q is both required and forbidden", n)
				}
			}
		}
	}
	for i, d := range e.DataNeeded {
		if !dataNeededIDs[d.ID] && !(strings.HasPrefix(d.ID, "stale-") &&
			(dataNeededIDs[strings.TrimPrefix(d.ID, "stale-")] || staleOf[strings.TrimPrefix(d.ID, "stale-")])) {
			add("dataNeeded[%d]: %q is not in the vocabulary", i, d.ID)
		}
		checkRules(fmt.Sprintf("dataNeeded[%d]", i), d.Rules)
	}
	for i, fl := range e.Flags {
		if !ruleIDs[fl.ID] || !strings.HasPrefix(fl.ID, "S") {
			add("flags[%d]: %q is not a safety rule ID", i, fl.ID)
		}
		cited[fl.ID] = true
		if !flagKinds[fl.Kind] {
			add("flags[%d]: kind %q is not a flag kind", i, fl.Kind)
		}
	}
	checkRules("rules", e.Rules)
	for r := range cited {
		if !slices.Contains(e.Rules, r) {
			add("rule %s is cited but missing from rules", r)
		}
	}
	return probs
}

// Each bundle is sound and says structurally what its expectation claims.
func TestBundlesMatchExpectations(t *testing.T) {
	lib, _ := loadLibrary(t)
	owner := map[string]string{} // "Type/id" -> patient, across the library
	for _, s := range lib.Scenarios {
		t.Run(s.ID+" "+s.Title, func(t *testing.T) {
			b, probs := checkBundle(s.Bundle, s.Expect, lib.AsOf)
			for _, p := range probs {
				t.Error(p)
			}
			if b == nil {
				return
			}
			for _, e := range b.entries {
				key := e.typ + "/" + e.id
				if prev, dup := owner[key]; dup {
					t.Errorf("%s is also used by %s; resource ids must be unique across the library", key, prev)
				}
				owner[key] = s.ID
			}
		})
	}
}

type entry struct {
	fullURL string
	typ, id string
	res     map[string]any
	request map[string]any
}

type bundle struct {
	typ     string
	entries []entry
	patient *entry
}

// checkBundle checks one bundle against its expectation and returns the
// parsed bundle (nil if it could not be parsed) and what is wrong.
func checkBundle(raw []byte, e Expectation, asOf time.Time) (*bundle, []string) {
	var probs []string
	add := func(format string, a ...any) { probs = append(probs, fmt.Sprintf(format, a...)) }

	var doc map[string]any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		return nil, []string{fmt.Sprintf("bundle does not parse: %v", err)}
	}
	if doc["resourceType"] != "Bundle" {
		return nil, []string{fmt.Sprintf("resourceType %v; want Bundle", doc["resourceType"])}
	}
	b := &bundle{}
	b.typ, _ = doc["type"].(string)
	if b.typ != "collection" && b.typ != "transaction" {
		add("Bundle.type %q; want collection or transaction", b.typ)
	}
	raws, _ := doc["entry"].([]any)
	if len(raws) == 0 {
		add("bundle has no entries")
	}
	fullURLs := map[string]*entry{}
	byKey := map[string]*entry{}
	for i, r := range raws {
		m, _ := r.(map[string]any)
		res, _ := m["resource"].(map[string]any)
		if res == nil {
			add("entry %d has no resource", i)
			continue
		}
		en := entry{res: res}
		en.fullURL, _ = m["fullUrl"].(string)
		en.typ, _ = res["resourceType"].(string)
		en.id, _ = res["id"].(string)
		en.request, _ = m["request"].(map[string]any)
		b.entries = append(b.entries, en)
	}
	patients := 0
	for i := range b.entries {
		en := &b.entries[i]
		key := en.typ + "/" + en.id
		switch {
		case en.typ == "" || en.id == "":
			add("entry %d: resourceType %q, id %q; want both", i, en.typ, en.id)
		case en.id != e.ID && !strings.HasPrefix(en.id, e.ID+"-"):
			add("%s: id must start with %s- so that the library loads into one server", key, e.ID)
		}
		if en.fullURL == "" {
			add("%s: no fullUrl", key)
		} else if !strings.HasPrefix(en.fullURL, "urn:uuid:") && !strings.HasSuffix(en.fullURL, "/"+key) {
			add("%s: fullUrl %q is neither urn:uuid nor …/%s", key, en.fullURL, key)
		}
		if fullURLs[en.fullURL] != nil || byKey[key] != nil {
			add("%s: duplicate fullUrl or id", key)
		}
		fullURLs[en.fullURL], byKey[key] = en, en
		if b.typ == "transaction" {
			method, _ := en.request["method"].(string)
			url, _ := en.request["url"].(string)
			if method != "PUT" || url != key {
				add("%s: request %s %s; want PUT %s (keeps the ids)", key, method, url, key)
			}
		}
		if en.typ == "Patient" {
			patients++
			b.patient = en
		}
	}
	if patients != 1 {
		add("%d Patient resources; want exactly 1", patients)
		return b, probs
	}
	if b.patient.id != e.ID {
		add("Patient.id %q; want %q", b.patient.id, e.ID)
	}

	// resolve reports whether ref names an entry of the bundle, and which.
	resolve := func(ref string) *entry {
		if en := fullURLs[ref]; en != nil {
			return en
		}
		if i := strings.Index(ref, "/_history/"); i >= 0 {
			ref = ref[:i]
		}
		parts := strings.Split(ref, "/")
		if len(parts) >= 2 {
			return byKey[parts[len(parts)-2]+"/"+parts[len(parts)-1]]
		}
		return nil
	}

	otherSubject, malformed := 0, 0
	for _, en := range b.entries {
		key := en.typ + "/" + en.id
		contained := map[string]bool{}
		if cs, ok := en.res["contained"].([]any); ok {
			for _, c := range cs {
				if cm, ok := c.(map[string]any); ok {
					id, _ := cm["id"].(string)
					contained[id] = true
				}
			}
		}
		foreign := false
		walk(en.res, "", func(path string, ref string) {
			if strings.HasPrefix(ref, "#") {
				if ref != "#" && !contained[ref[1:]] {
					add("%s: %s %q names no contained resource", key, path, ref)
				}
				return
			}
			if resolve(ref) != nil {
				return
			}
			if (path == "subject" || path == "patient") && isPatientRef(ref) {
				foreign = true
				return
			}
			add("%s: %s %q resolves to no entry", key, path, ref)
		})
		if en.typ != "Patient" && en.typ != "Medication" {
			target := subjectOf(en.res)
			switch {
			case target == "":
				add("%s: no subject or patient", key)
			case foreign:
				otherSubject++
			case resolve(target) != b.patient:
				add("%s: subject %q is not the bundle's Patient", key, target)
			}
		}
		if isMalformed(en.res) {
			malformed++
		}
		walkDates(en.res, func(field, v string) {
			if len(v) >= 4 && v[:min(len(v), 10)] > asOf.Format(time.DateOnly) {
				add("%s: %s %s is after asOf", key, field, v)
			}
		})
	}
	if otherSubject != e.OtherSubject {
		add("%d resources about another patient; expectation says otherSubject %d", otherSubject, e.OtherSubject)
	}
	if malformed != e.Skipped {
		add("%d malformed resources; expectation says skipped %d", malformed, e.Skipped)
	}
	probs = append(probs, checkClaims(b, e, asOf)...)
	return b, probs
}

// walk calls fn for every Reference.reference inside v, with the name of the
// top-level element that holds it.
func walk(v any, top string, fn func(path, ref string)) {
	switch x := v.(type) {
	case map[string]any:
		if ref, ok := x["reference"].(string); ok {
			fn(top, ref)
		}
		for k, c := range x {
			if k == "contained" && top == "" {
				// Contained resources are checked as part of their container.
				for _, cr := range asSlice(c) {
					walk(cr, "contained", fn)
				}
				continue
			}
			next := top
			if next == "" {
				next = k
			}
			walk(c, next, fn)
		}
	case []any:
		for _, c := range x {
			walk(c, top, fn)
		}
	}
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}

func isPatientRef(ref string) bool {
	return strings.HasPrefix(ref, "Patient/") || strings.Contains(ref, "/Patient/")
}

func subjectOf(res map[string]any) string {
	for _, k := range []string{"subject", "patient"} {
		if m, ok := res[k].(map[string]any); ok {
			if r, ok := m["reference"].(string); ok {
				return r
			}
		}
	}
	return ""
}

var observationStatus = set("registered", "preliminary", "final", "amended", "corrected",
	"cancelled", "entered-in-error", "unknown")

// isMalformed spots the deliberate faults a reader must survive: a status
// outside the Observation enum, or a quantity value that is not a number.
func isMalformed(res map[string]any) bool {
	if res["resourceType"] == "Observation" {
		if s, _ := res["status"].(string); !observationStatus[s] {
			return true
		}
	}
	bad := false
	var visit func(v any)
	visit = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, c := range x {
				if k == "valueQuantity" || k == "low" || k == "high" {
					if q, ok := c.(map[string]any); ok {
						if val, present := q["value"]; present {
							if _, isNum := val.(json.Number); !isNum {
								bad = true
							}
						}
					}
				}
				visit(c)
			}
		case []any:
			for _, c := range x {
				visit(c)
			}
		}
	}
	visit(res)
	return bad
}

var dateFields = set("effectiveDateTime", "recordedDate", "onsetDateTime", "authoredOn",
	"performedDateTime", "issued", "birthDate", "dateAsserted", "collectedDateTime", "start")

func walkDates(v any, fn func(field, value string)) {
	switch x := v.(type) {
	case map[string]any:
		for k, c := range x {
			if s, ok := c.(string); ok && dateFields[k] {
				fn(k, s)
			}
			walkDates(c, fn)
		}
	case []any:
		for _, c := range x {
			walkDates(c, fn)
		}
	}
}

// codes returns every system|code and text found under res[field].
func codes(res map[string]any, field string) []string {
	var out []string
	var visit func(v any)
	visit = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if c, ok := x["code"].(string); ok {
				out = append(out, c)
			}
			if s, ok := x["text"].(string); ok {
				out = append(out, s)
			}
			for _, c := range x {
				visit(c)
			}
		case []any:
			for _, c := range x {
				visit(c)
			}
		case string:
			out = append(out, x)
		}
	}
	visit(res[field])
	return out
}

func hasAny(have []string, want ...string) bool {
	for _, h := range have {
		if slices.Contains(want, h) {
			return true
		}
	}
	return false
}

var markerCodes = map[string][]string{
	"er":   {"16112-5", "40556-3", "85337-4", "14228-1", "85329-1", "1234804006", "10480-2"},
	"pr":   {"16113-3", "40557-1", "85339-0", "14230-7", "85325-9", "10480-2"},
	"her2": {"48676-1", "85319-2", "18474-7", "72383-3", "31150-6", "85318-4", "96893-3", "49683-6", "74860-8"},
}

var distantMetastasis = []string{"128462008", "94222008", "94381002", "94391008", "94225005",
	"1222837003", "1352913000", "2640006", "1229903009", "1229916009"}

func distantICD(c string) bool {
	switch {
	case c == "C79.2" || strings.HasPrefix(c, "C79.81"):
		return false
	case strings.HasPrefix(c, "C78.") || strings.HasPrefix(c, "C79.") || c == "C80.0":
		return true
	case strings.HasPrefix(c, "C77.2") || strings.HasPrefix(c, "C77.4") || strings.HasPrefix(c, "C77.5"):
		return true
	}
	return false
}

// checkClaims checks, where it is cheap, that the bundle holds what the
// expectation's facts claim.
func checkClaims(b *bundle, e Expectation, asOf time.Time) []string {
	var probs []string
	add := func(format string, a ...any) { probs = append(probs, fmt.Sprintf(format, a...)) }
	f := e.Facts
	var st struct {
		ER, PR, HER2 *string
		Pregnancy    *string
		Progression  *bool
	}
	if len(e.Statements) > 0 {
		if err := json.Unmarshal(e.Statements, &st); err != nil {
			add("statements: %v", err)
		}
	}

	gender, _ := b.patient.res["gender"].(string)
	if gender != f.Sex {
		add("Patient.gender %q; facts.sex %q", gender, f.Sex)
	}
	var age int
	if bd, _ := b.patient.res["birthDate"].(string); bd != "" {
		if t, err := time.Parse(time.DateOnly, bd); err == nil {
			age = asOf.Year() - t.Year()
			if asOf.YearDay() < t.YearDay() {
				age--
			}
		}
	}

	var pregnant, metastatic, menopauseObs, oophorectomy, worsened, activeOrder bool
	markers := map[string]bool{}
	for _, en := range b.entries {
		status, _ := en.res["status"].(string)
		code := codes(en.res, "code")
		switch en.typ {
		case "Observation":
			if status == "entered-in-error" || status == "cancelled" || isMalformed(en.res) {
				continue
			}
			value := codes(en.res, "valueCodeableConcept")
			if hasAny(code, "82810-3") && hasAny(value, "77386006") {
				pregnant = true
			}
			if hasAny(value, distantMetastasis...) {
				metastatic = true
			}
			if hasAny(code, "161712005") {
				menopauseObs = true
			}
			if hasAny(code, "97509-4", "88040-1") && hasAny(value, "271299001") {
				worsened = true
			}
			for m, cs := range markerCodes {
				if hasAny(code, cs...) || hasAny(codes(en.res, "component"), cs...) {
					markers[m] = true
				}
			}
		case "Condition":
			ver := codes(en.res, "verificationStatus")
			if hasAny(ver, "entered-in-error", "refuted", "provisional", "differential") {
				continue
			}
			if hasAny(code, "Z33.1", "77386006") {
				pregnant = true
			}
			if hasAny(code, distantMetastasis...) || slices.ContainsFunc(code, distantICD) {
				metastatic = true
			}
		case "Procedure":
			for _, c := range code {
				if strings.Contains(strings.ToLower(c), "oophorectomy") {
					oophorectomy = true
				}
			}
		case "MedicationRequest":
			if status == "active" {
				activeOrder = true
			}
		}
	}
	if st.Pregnancy != nil && *st.Pregnancy == "pregnant" {
		pregnant = true
	}
	if pregnant != f.Pregnant {
		add("bundle pregnancy record %v; facts.pregnant %v", pregnant, f.Pregnant)
	}
	if metastatic != f.Metastatic {
		add("bundle distant metastasis record %v; facts.metastatic %v", metastatic, f.Metastatic)
	}
	stated := map[string]bool{"er": st.ER != nil, "pr": st.PR != nil, "her2": st.HER2 != nil}
	for m, v := range map[string]string{"er": f.ER, "pr": f.PR, "her2": f.HER2} {
		if v != "unknown" && !markers[m] && !stated[m] {
			add("facts.%s %q but the bundle has no %s result and no statement", m, v, m)
		}
	}
	switch f.MenopauseBasis {
	case "recorded":
		if !menopauseObs {
			add("menopause basis recorded but no 161712005 observation")
		}
	case "oophorectomy":
		if !oophorectomy {
			add("menopause basis oophorectomy but no oophorectomy Procedure")
		}
	case "age ≥ 60":
		if age < 60 || menopauseObs || oophorectomy {
			add("menopause basis age ≥ 60 with age %d, recorded %v, oophorectomy %v", age, menopauseObs, oophorectomy)
		}
	}
	if f.Line >= 2 && !worsened && (st.Progression == nil || !*st.Progression) {
		add("line %d without a worsened disease status or a progression statement", f.Line)
	}
	if f.Continue && !activeOrder {
		add("continue without an active MedicationRequest")
	}
	return probs
}

// The checker itself must catch the faults it is there for.
func TestCheckBundleCatchesFaults(t *testing.T) {
	asOf := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	exp := Expectation{ID: "mbc-90", Facts: ExpectedFacts{ER: "unknown", PR: "unknown", HER2: "unknown", Sex: "female"}}
	patient := `{"fullUrl":"urn:uuid:00000000-0000-0000-0000-000000000090","resource":{"resourceType":"Patient","id":"mbc-90","gender":"female"}}`
	obs := func(id, subject, extra string) string {
		return `{"fullUrl":"http://example.org/fhir/Observation/` + id + `","resource":{"resourceType":"Observation","id":"` + id +
			`","status":"final","code":{"text":"x"},"subject":{"reference":"` + subject + `"}` + extra + `}}`
	}
	wrap := func(entries ...string) []byte {
		return []byte(`{"resourceType":"Bundle","type":"collection","entry":[` + strings.Join(entries, ",") + `]}`)
	}
	tests := []struct {
		name         string
		raw          []byte
		otherSubject int
		want         string // "" = no problem expected
	}{
		{"sound", wrap(patient, obs("mbc-90-a", "Patient/mbc-90", "")), 0, ""},
		{"urn:uuid subject", wrap(patient, obs("mbc-90-a", "urn:uuid:00000000-0000-0000-0000-000000000090", "")), 0, ""},
		{"two patients", wrap(patient, `{"fullUrl":"http://example.org/fhir/Patient/mbc-90-b","resource":{"resourceType":"Patient","id":"mbc-90-b"}}`), 0, "exactly 1"},
		{"no patient", wrap(obs("mbc-90-a", "Patient/mbc-90", "")), 0, "exactly 1"},
		{"dangling reference", wrap(patient, obs("mbc-90-a", "Patient/mbc-90", `,"specimen":{"reference":"Specimen/mbc-90-s"}`)), 0, "resolves to no entry"},
		{"dangling contained", wrap(patient, obs("mbc-90-a", "Patient/mbc-90", `,"hasMember":[{"reference":"#m"}]`)), 0, "no contained"},
		{"foreign subject counted", wrap(patient, obs("mbc-90-a", "Patient/other", "")), 1, ""},
		{"foreign subject not expected", wrap(patient, obs("mbc-90-a", "Patient/other", "")), 0, "another patient"},
		{"id without prefix", wrap(patient, obs("obs-1", "Patient/mbc-90", "")), 0, "must start with"},
		{"malformed not expected", wrap(patient, obs("mbc-90-a", "Patient/mbc-90", `,"valueQuantity":{"value":"31"}`)), 0, "malformed"},
		{"date after asOf", wrap(patient, obs("mbc-90-a", "Patient/mbc-90", `,"effectiveDateTime":"2027-01-01"`)), 0, "after asOf"},
		{"not JSON", []byte("{"), 0, "does not parse"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := exp
			e.OtherSubject = tt.otherSubject
			_, probs := checkBundle(tt.raw, e, asOf)
			got := strings.Join(probs, "; ")
			if tt.want == "" && got != "" {
				t.Errorf("checkBundle: got problems %q; want none", got)
			}
			if tt.want != "" && !strings.Contains(got, tt.want) {
				t.Errorf("checkBundle: got problems %q; want one mentioning %q", got, tt.want)
			}
		})
	}
}

func TestCheckExpectationCatchesFaults(t *testing.T) {
	good := Expectation{
		ID: "mbc-90", File: "90-sample.json", Scenario: "sample",
		Facts:       ExpectedFacts{ER: "positive", PR: "negative", HER2: "negative", HER2Low: "no", HR: "positive", Menopause: "postmenopausal", MenopauseBasis: "recorded", Metastatic: true, Line: 1, Sex: "female"},
		MustPropose: []DrugExpectation{{AnyOf: []string{"CDK4_6_inhibitor"}, Rules: []string{"H02"}}},
		Rules:       []string{"H02"},
	}
	tests := []struct {
		name   string
		change func(e *Expectation)
		want   string
	}{
		{"sound", func(e *Expectation) {}, ""},
		{"unknown drug", func(e *Expectation) { e.MustPropose[0].AnyOf = []string{"palbocyclib"} }, "neither a known drug"},
		{"unknown rule", func(e *Expectation) { e.MustPropose[0].Rules = []string{"H17"} }, "not a rule"},
		{"cited rule not listed", func(e *Expectation) { e.Rules = []string{"H01"} }, "missing from rules"},
		{"unknown data-needed id", func(e *Expectation) {
			e.DataNeeded = []DataExpectation{{ID: "her2-fish", Rules: []string{"C03"}}}
			e.Rules = append(e.Rules, "C03")
		}, "not in the vocabulary"},
		{"stale item", func(e *Expectation) {
			e.DataNeeded = []DataExpectation{{ID: "stale-lvef", Rules: []string{"S01"}}}
			e.Rules = append(e.Rules, "S01")
		}, ""},
		{"flag not S", func(e *Expectation) { e.Flags = []FlagExpectation{{ID: "H02", Kind: "qt"}} }, "not a safety rule"},
		{"hr inconsistent", func(e *Expectation) { e.Facts.HR = "negative" }, "hr ="},
		{"file number", func(e *Expectation) { e.File = "91-sample.json" }, "NN matching"},
		{"required and forbidden", func(e *Expectation) {
			e.MustNotPropose = []DrugExpectation{{AnyOf: []string{"CDK4_6_inhibitor"}, Rules: []string{"H02"}}}
		}, "both required and forbidden"},
		{"why missing in intricate case", func(e *Expectation) { e.ID, e.File = "mbc-04", "04-sample.json" }, "why is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := good
			e.MustPropose = slices.Clone(good.MustPropose)
			e.MustPropose[0].AnyOf = slices.Clone(good.MustPropose[0].AnyOf)
			e.Rules = slices.Clone(good.Rules)
			tt.change(&e)
			got := strings.Join(checkExpectation(e), "; ")
			if tt.want == "" && got != "" {
				t.Errorf("checkExpectation: got %q; want no problem", got)
			}
			if tt.want != "" && !strings.Contains(got, tt.want) {
				t.Errorf("checkExpectation: got %q; want a problem mentioning %q", got, tt.want)
			}
		})
	}
}
