package fhir

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"sort"
	"strings"
	"sync"

	"github.com/mbcplan/mbcplan/recommend"
	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"
)

// Record is what was read about one patient: the Patient, every resource
// about them that could be decoded, and what was left out.
type Record struct {
	// PatientID is the Patient's logical id ("" when a Bundle's Patient has
	// only a fullUrl).
	PatientID string
	// PatientRef is "Patient/{id}", or the Patient entry's fullUrl.
	PatientRef string
	Patient    json.RawMessage
	// Resources are the resources about the patient (and the Medications
	// and Specimens they point to), deduplicated by type and id, in the
	// order read. CarePlans are kept apart.
	Resources []Resource
	// Skipped lists resources that could not be used, with a safe reason.
	Skipped []recommend.Skipped
	// OtherSubject counts resources about someone else, dropped.
	OtherSubject int
	// CarePlans are the patient's CarePlans.
	CarePlans []Resource
}

// patientBound are resource types that must name the patient; one that
// names someone else is dropped and counted.
var patientBound = map[string]bool{
	"Observation": true, "Condition": true, "MedicationRequest": true, "MedicationStatement": true,
	"MedicationAdministration": true, "MedicationDispense": true, "Procedure": true, "AllergyIntolerance": true,
	"Specimen": true, "CarePlan": true, "DiagnosticReport": true, "FamilyMemberHistory": true,
	"Encounter": true, "Immunization": true, "DocumentReference": true, "ServiceRequest": true,
	"Goal": true, "ClinicalImpression": true, "RiskAssessment": true, "MolecularSequence": true,
	"Coverage": true, "Consent": true, "Flag": true, "List": true,
}

// recordBuilder applies the reader's checks to each resource.
type recordBuilder struct {
	rec        *Record
	patientURL string                     // the Patient entry's fullUrl, if any
	seen       map[string]json.RawMessage // "Type/id" or fullUrl → the first one read
	// ids are the Patient's identifiers (system and value both given): a
	// reference given only as an identifier names the patient when it
	// matches one of them exactly.
	ids map[identifier]bool
}

// identifier is a business identifier, compared exactly as written.
type identifier struct {
	System string `json:"system"`
	Value  string `json:"value"`
}

func newRecordBuilder(patientID, patientURL string) *recordBuilder {
	ref := "Patient/" + patientID
	if patientID == "" {
		ref = patientURL
	}
	return &recordBuilder{
		rec:        &Record{PatientID: patientID, PatientRef: ref},
		patientURL: patientURL,
		seen:       map[string]json.RawMessage{},
		ids:        map[identifier]bool{},
	}
}

// patientIdentifiers remembers the Patient's identifiers that have both a
// system and a value.
func (b *recordBuilder) patientIdentifiers(raw json.RawMessage) {
	var p struct {
		Identifier []identifier `json:"identifier"`
	}
	if json.Unmarshal(raw, &p) != nil {
		return
	}
	for _, id := range p.Identifier {
		if id.System != "" && id.Value != "" {
			b.ids[id] = true
		}
	}
}

// namesPatient reports whether a subject or patient element names the
// patient in context: by its reference when it has one, otherwise by an
// identifier whose system and value match one of the Patient's exactly.
func (b *recordBuilder) namesPatient(s *subjectRef) bool {
	if s.Reference != "" {
		return b.isPatient(s.Reference)
	}
	if s.Identifier == nil || s.Identifier.System == "" || s.Identifier.Value == "" {
		return false
	}
	return b.ids[*s.Identifier]
}

// isPatient reports whether a reference names the patient in context:
// Patient/{id}, an absolute URL ending in /Patient/{id}, or the Patient
// entry's fullUrl (urn:uuid:…). A version suffix (/_history/n) is ignored.
func (b *recordBuilder) isPatient(ref string) bool {
	if ref == "" {
		return false
	}
	if b.patientURL != "" && (ref == b.patientURL || stripHistory(ref) == stripHistory(b.patientURL)) {
		return true
	}
	id := b.rec.PatientID
	if id == "" {
		return false
	}
	ref = stripHistory(ref)
	if ref == "Patient/"+id {
		return true
	}
	if strings.HasPrefix(ref, "https://") || strings.HasPrefix(ref, "http://") {
		return strings.HasSuffix(ref, "/Patient/"+id)
	}
	return false
}

// isR4Type reports whether typ is a resource type of FHIR R4.
func isR4Type(typ string) bool {
	var rt r4.ResourceType
	return rt.UnmarshalJSON([]byte(`"`+typ+`"`)) == nil
}

// sameResource reports whether two copies of a resource say the same,
// whatever their meta, narrative and spacing.
func sameResource(a, b json.RawMessage) bool {
	if bytes.Equal(a, b) {
		return true
	}
	var x, y map[string]any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	for _, k := range []string{"meta", "text"} {
		delete(x, k)
		delete(y, k)
	}
	return reflect.DeepEqual(x, y)
}

func stripHistory(ref string) string {
	if i := strings.Index(ref, "/_history/"); i >= 0 {
		return ref[:i]
	}
	return ref
}

// resourceHead is the envelope every resource is first read into.
type resourceHead struct {
	ResourceType string          `json:"resourceType"`
	ID           string          `json:"id"`
	Subject      *subjectRef     `json:"subject"`
	Patient      *subjectRef     `json:"patient"`
	Status       json.RawMessage `json:"status"`
}

// subjectRef is a reference to the patient, given as a reference or only
// as a business identifier (an MRN).
type subjectRef struct {
	Reference  string      `json:"reference"`
	Identifier *identifier `json:"identifier"`
}

// statusOf returns the status as written, or "" when absent or not a string.
func statusOf(raw json.RawMessage) string {
	var s string
	if len(raw) == 0 || json.Unmarshal(raw, &s) != nil {
		return ""
	}
	return s
}

func (b *recordBuilder) skip(name, reason string) {
	b.rec.Skipped = append(b.rec.Skipped, recommend.Skipped{Resource: name, Reason: reason})
}

// add checks one resource and keeps it, skips it or counts it as about
// someone else. name identifies it when it has no id ("entry 4").
func (b *recordBuilder) add(r Resource, name string) {
	if r.Type == "" || !validType(r.Type) {
		b.skip(name, "not a FHIR resource")
		return
	}
	if r.ID != "" || r.FullURL != "" {
		name = r.Ref()
	}
	if !isR4Type(r.Type) {
		b.skip(name, "not a FHIR R4 resource type")
		return
	}
	if r.Type == "Patient" {
		if (r.ID != "" && r.ID == b.rec.PatientID) || (b.patientURL != "" && r.FullURL == b.patientURL) {
			if b.rec.Patient == nil {
				b.rec.Patient = r.Raw
				b.patientIdentifiers(r.Raw)
				if _, err := r4.UnmarshalPatient(unescaped(r.Raw)); err != nil {
					b.skip(name, decodeReason("Patient", err)+"; only gender and birth date were read")
				}
			}
			return
		}
		b.rec.OtherSubject++
		return
	}
	// One answer per resource: searches overlap (the code lists and the
	// laboratory category), and a server may repeat an entry.
	key := r.Type + "/" + r.ID
	if r.ID == "" {
		key = r.FullURL
	}
	if key != "" {
		if first, ok := b.seen[key]; ok {
			// The same resource again (overlapping searches) is dropped;
			// another one under the same id is listed, and the first kept.
			if !sameResource(first, r.Raw) {
				b.skip(name, "another entry has the same type and id; the first one was read")
			}
			return
		}
		b.seen[key] = r.Raw
	}
	var head resourceHead
	if err := json.Unmarshal(r.Raw, &head); err != nil {
		b.skip(name, decodeReason(r.Type, err))
		return
	}
	subj := head.Subject
	if subj == nil {
		subj = head.Patient
	}
	if subj != nil || patientBound[r.Type] {
		if subj == nil || subj.Reference == "" && subj.Identifier == nil {
			b.skip(name, "no patient reference")
			return
		}
		if !b.namesPatient(subj) {
			b.rec.OtherSubject++
			return
		}
	}
	decoded, err := decodeStrict(r.Type, r.Raw)
	if err != nil {
		b.skip(name, decodeReason(r.Type, err))
		return
	}
	if why := droppedStatus(r.Type, statusOf(head.Status), decoded); why != "" {
		b.skip(name, why)
		return
	}
	r.decoded = decoded
	r.status, r.statusRead = statusOf(head.Status), true
	if r.Type == "CarePlan" {
		b.rec.CarePlans = append(b.rec.CarePlans, r)
		return
	}
	b.rec.Resources = append(b.rec.Resources, r)
	if dr, ok := decoded.(*r4.DiagnosticReport); ok {
		b.report(r, dr)
	}
}

// decodeStrict decodes the resource types the mapping reads with samply's
// models, which reject unknown enum codes and mistyped fields. Other types
// are returned as nil, unchecked.
func decodeStrict(typ string, raw []byte) (any, error) {
	raw = unescaped(raw)
	v, err := decodeSamply(typ, raw)
	if err != nil || v == nil {
		return v, err
	}
	if err := checkNumbers(raw); err != nil {
		return nil, err
	}
	return v, nil
}

// unescaped returns raw with its string escapes resolved (\u003c for "<",
// which Go's encoder writes by default): samply's enum decoders compare
// the raw JSON text of a code, so an escaped comparator would not decode.
// Numbers keep their text. Input without a \u escape, or that is not
// JSON, is returned as it is.
func unescaped(raw []byte) []byte {
	if !bytes.Contains(raw, []byte(`\u`)) {
		return raw
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return raw
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return raw
	}
	return bytes.TrimRight(out.Bytes(), "\n")
}

// errStringNumber is a decimal written as a JSON string, which samply's
// json.Number fields accept and FHIR JSON forbids.
var errStringNumber = errors.New("a quantity or decimal value is a string, not a number")

// checkNumbers rejects quantity values and decimals written as strings.
func checkNumbers(raw []byte) error {
	if !numericStringValue(raw) {
		return nil
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return err
	}
	if !numbersOK(v) {
		return errStringNumber
	}
	return nil
}

// numericStringValue is the fast path of checkNumbers: it reports whether a
// "value" or "valueDecimal" key holds a string that looks like a number
// (identifier values often do, so a hit only means "look closer").
func numericStringValue(raw []byte) bool {
	for i := 0; ; {
		j := bytes.Index(raw[i:], []byte(`"value`))
		if j < 0 {
			return false
		}
		i += j + len(`"value`)
		if bytes.HasPrefix(raw[i:], []byte(`Decimal"`)) {
			i += len(`Decimal"`)
		} else if i < len(raw) && raw[i] == '"' {
			i++
		} else {
			continue
		}
		k := i
		for k < len(raw) && (raw[k] == ' ' || raw[k] == '\t' || raw[k] == '\n' || raw[k] == '\r') {
			k++
		}
		if k >= len(raw) || raw[k] != ':' {
			continue
		}
		k++
		for k < len(raw) && (raw[k] == ' ' || raw[k] == '\t' || raw[k] == '\n' || raw[k] == '\r') {
			k++
		}
		if k >= len(raw) || raw[k] != '"' {
			continue
		}
		k++
		end := k
		for end < len(raw) && raw[end] != '"' && raw[end] != '\\' {
			end++
		}
		if looksNumeric(raw[k:end]) {
			return true
		}
	}
}

func looksNumeric(b []byte) bool {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if !(c >= '0' && c <= '9' || c == '.' || c == '-' || c == '+' || c == 'e' || c == 'E') {
			return false
		}
	}
	return true
}

func numbersOK(v any) bool {
	switch t := v.(type) {
	case map[string]any:
		if val, ok := t["value"]; ok {
			if _, isStr := val.(string); isStr {
				_, u := t["unit"]
				_, c := t["code"]
				_, cmp := t["comparator"]
				if u || c || cmp {
					return false
				}
			}
		}
		if val, ok := t["valueDecimal"]; ok {
			if _, isStr := val.(string); isStr {
				return false
			}
		}
		for _, x := range t {
			if !numbersOK(x) {
				return false
			}
		}
	case []any:
		for _, x := range t {
			if !numbersOK(x) {
				return false
			}
		}
	}
	return true
}

func decodeSamply(typ string, raw []byte) (any, error) {
	switch typ {
	case "Observation":
		v, err := r4.UnmarshalObservation(raw)
		return &v, err
	case "Condition":
		v, err := r4.UnmarshalCondition(raw)
		return &v, err
	case "MedicationRequest":
		v, err := r4.UnmarshalMedicationRequest(raw)
		return &v, err
	case "MedicationStatement":
		v, err := r4.UnmarshalMedicationStatement(raw)
		return &v, err
	case "MedicationAdministration":
		v, err := r4.UnmarshalMedicationAdministration(raw)
		return &v, err
	case "Medication":
		v, err := r4.UnmarshalMedication(raw)
		return &v, err
	case "Procedure":
		v, err := r4.UnmarshalProcedure(raw)
		return &v, err
	case "AllergyIntolerance":
		v, err := r4.UnmarshalAllergyIntolerance(raw)
		return &v, err
	case "Specimen":
		v, err := r4.UnmarshalSpecimen(raw)
		return &v, err
	case "CarePlan":
		v, err := r4.UnmarshalCarePlan(raw)
		return &v, err
	case "DiagnosticReport":
		v, err := r4.UnmarshalDiagnosticReport(raw)
		return &v, err
	}
	return nil, nil
}

// droppedStatus returns why a resource is dropped for its status, or "".
func droppedStatus(typ, status string, decoded any) string {
	switch typ {
	case "Observation", "MedicationRequest", "MedicationStatement", "MedicationAdministration", "Procedure", "DiagnosticReport":
		switch status {
		case "entered-in-error":
			return "entered in error"
		case "cancelled":
			if typ == "Observation" || typ == "DiagnosticReport" {
				return "cancelled"
			}
		}
	case "Condition":
		if c, ok := decoded.(*r4.Condition); ok && c.VerificationStatus != nil && hasCode(*c.VerificationStatus, "entered-in-error") {
			return "entered in error"
		}
	case "AllergyIntolerance":
		if a, ok := decoded.(*r4.AllergyIntolerance); ok && a.VerificationStatus != nil && hasCode(*a.VerificationStatus, "entered-in-error") {
			return "entered in error"
		}
	}
	return ""
}

func hasCode(cc r4.CodeableConcept, code string) bool {
	for _, c := range cc.Coding {
		if c.Code != nil && *c.Code == code {
			return true
		}
	}
	return false
}

// RecordFromBundle reads a patient's record from a Bundle (a collection,
// searchset, transaction or document). The Bundle must hold exactly one
// Patient (otherwise ErrBundlePatients); resources about anyone else are
// dropped and counted, malformed entries skipped and listed.
func RecordFromBundle(data []byte) (*Record, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, errors.New("fhir: the bundle is empty")
	}
	var env bundleEnvelope
	if err := json.Unmarshal(data, &env); err != nil {
		return nil, errors.New("fhir: the input is not a JSON FHIR Bundle")
	}
	if env.ResourceType != "Bundle" {
		return nil, errors.New("fhir: the input is not a FHIR Bundle")
	}
	if len(env.Entry) == 0 {
		return nil, errors.New("fhir: the bundle has no entries")
	}
	entries := make([]Resource, len(env.Entry))
	patients := 0
	var patient Resource
	for i, e := range env.Entry {
		r, err := parseResource(e.Resource)
		if err != nil {
			r = &Resource{}
		}
		r.FullURL = e.FullURL
		if e.Search != nil {
			r.Mode = e.Search.Mode
		}
		entries[i] = *r
		if r.Type == "Patient" {
			patients++
			patient = *r
		}
	}
	if patients != 1 {
		return nil, fmt.Errorf("%w (found %d)", ErrBundlePatients, patients)
	}
	if patient.ID != "" && !validID(patient.ID) {
		return nil, errors.New("fhir: the bundle's Patient has an invalid id")
	}
	if patient.ID == "" && patient.FullURL == "" {
		return nil, errors.New("fhir: the bundle's Patient has neither id nor fullUrl")
	}
	b := newRecordBuilder(patient.ID, patient.FullURL)
	// The Patient's identifiers first: entries before it may name the
	// patient by identifier only.
	b.patientIdentifiers(patient.Raw)
	for i, r := range entries {
		b.add(r, fmt.Sprintf("entry %d", i))
	}
	return b.rec, nil
}

// observationCodes are the Observation codes of REFERENCE.md section 2 the
// first wave asks for, in two lists to keep URLs short.
func observationCodeParams() (markers, clinical string) {
	var m, c []string
	for code, k := range loincObs {
		switch k {
		case obsLVEF, obsECOG, obsKarnofsky, obsPregnancy, obsHCG, obsHCGQuant:
			c = append(c, sysLOINC+"|"+code)
		case obsHER2Serum, obsGeneStudied, obsGenomicSource, obsClinSig, obsStainIntensity:
		default:
			m = append(m, sysLOINC+"|"+code)
		}
	}
	for code, k := range snomedObs {
		if k == obsMenopause {
			c = append(c, sysSNOMED+"|"+code)
		} else {
			m = append(m, sysSNOMED+"|"+code)
		}
	}
	for code := range labKinds {
		c = append(c, sysLOINC+"|"+code)
	}
	sort.Strings(m)
	sort.Strings(c)
	return strings.Join(m, ","), strings.Join(c, ",")
}

// search is one request of the wave.
type search struct {
	typ string
	q   url.Values
	// optional searches widen the net (sites that code results locally or
	// file them under other categories): a server may refuse them (Epic
	// requires a category or code on Observation searches) and their
	// failure costs nothing but what they would have found.
	optional bool
}

// FetchRecord reads the patient's record in one parallel wave: the Patient,
// Observations by the code lists of section 2 and by category laboratory
// (codes matched locally), Conditions, MedicationRequests, -Statements and
// -Administrations, Procedures, AllergyIntolerances, Specimens, CarePlans and
// DiagnosticReports. Specimens, Medications, panel members and report
// results that kept resources point to and that did not come with them are
// read in a second, parallel step. Every resource is checked against the
// patient. A search the server refuses (403, 404, 400, 405, 501) is listed
// in Skipped; 401, server errors and timeouts fail the whole read.
//
// With PatientAuto (the default), a wave whose searches all come back empty
// while the Patient exists is run again with patient=Patient/{id}; the form
// that found resources is remembered for the Client's later reads.
func (c *Client) FetchRecord(ctx context.Context, patientID string) (*Record, error) {
	if !validID(patientID) {
		return nil, errors.New("fhir: fetch record: invalid patient id")
	}
	form := c.patientForm
	if form == PatientAuto {
		form = PatientBareID
		if l := PatientParamForm(c.learnedForm.Load()); l != PatientAuto {
			form = l
		}
	}
	searches := patientSearches(patientID, form)
	var patient *Resource
	var patientErr error
	results, err := c.wave(ctx, searches, func(ctx context.Context) error {
		patient, patientErr = c.Read(ctx, "Patient", patientID)
		return patientErr
	})
	if err != nil {
		return nil, fmt.Errorf("fhir: fetch record: %w", err)
	}
	if patientErr != nil {
		return nil, fmt.Errorf("fhir: fetch record: %w", patientErr)
	}
	if err := fatalResult(results); err != nil {
		return nil, fmt.Errorf("fhir: fetch record: %w", err)
	}
	if c.patientForm == PatientAuto {
		switch {
		case !emptyWave(results):
			c.learnedForm.CompareAndSwap(int32(PatientAuto), int32(form))
		case form == PatientBareID && PatientParamForm(c.learnedForm.Load()) != PatientBareID:
			// Nothing at all for a Patient that exists: the server may match
			// only the reference form.
			refSearches := patientSearches(patientID, PatientReference)
			again, err := c.wave(ctx, refSearches, nil)
			if err == nil {
				err = fatalResult(again)
			}
			if err != nil {
				return nil, fmt.Errorf("fhir: fetch record: %w", err)
			}
			if !emptyWave(again) {
				c.learnedForm.Store(int32(PatientReference))
				searches, results = refSearches, again
			}
		}
	}
	b := newRecordBuilder(patientID, "")
	b.add(*patient, "Patient")
	if b.rec.Patient == nil {
		return nil, errors.New("fhir: fetch record: the server returned another Patient")
	}
	for i, r := range results {
		if r.err != nil {
			b.skip(searches[i].typ+" search", searchNote(r.err))
		}
		for _, res := range r.res {
			b.add(res, searches[i].typ+" result")
		}
	}
	if err := c.fetchReferenced(ctx, b); err != nil {
		return nil, fmt.Errorf("fhir: fetch record: %w", err)
	}
	return b.rec, nil
}

// patientSearches are the searches of one wave, naming the patient in form
// (PatientBareID or PatientReference).
func patientSearches(patientID string, form PatientParamForm) []search {
	pv := patientID
	if form == PatientReference {
		pv = "Patient/" + patientID
	}
	markers, clinical := observationCodeParams()
	return []search{
		{typ: "Observation", q: url.Values{"patient": {pv}, "code": {markers}}},
		{typ: "Observation", q: url.Values{"patient": {pv}, "code": {clinical}}},
		{typ: "Observation", q: url.Values{"patient": {pv}, "category": {"laboratory"}}},
		// ECOG, menopausal status and pregnancy often sit under survey, exam
		// or social-history, with local codes only.
		{typ: "Observation", q: url.Values{"patient": {pv}, "category": {"survey,exam,social-history"}}, optional: true},
		// Everything else about the patient, where the server allows it.
		{typ: "Observation", q: url.Values{"patient": {pv}}, optional: true},
		{typ: "Condition", q: url.Values{"patient": {pv}}},
		{typ: "MedicationRequest", q: url.Values{"patient": {pv}}},
		{typ: "MedicationStatement", q: url.Values{"patient": {pv}}},
		{typ: "MedicationAdministration", q: url.Values{"patient": {pv}}},
		{typ: "Procedure", q: url.Values{"patient": {pv}}},
		{typ: "AllergyIntolerance", q: url.Values{"patient": {pv}}},
		{typ: "CarePlan", q: url.Values{"patient": {pv}}},
		{typ: "Specimen", q: url.Values{"patient": {pv}}},
		{typ: "DiagnosticReport", q: url.Values{"patient": {pv}}},
	}
}

// searchResult is the answer to one search of a wave.
type searchResult struct {
	res []Resource
	err error
}

// wave runs the searches in parallel, with also (when not nil) beside
// them. A fatal search error, or an error from also, cancels the rest; the
// first fatal search error other than a cancellation is returned (also's
// error is left to the caller). Other errors stay in the results.
func (c *Client) wave(ctx context.Context, searches []search, also func(context.Context) error) ([]searchResult, error) {
	results := make([]searchResult, len(searches))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	if also != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if also(ctx) != nil {
				cancel()
			}
		}()
	}
	for i, s := range searches {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := c.Search(ctx, s.typ, s.q)
			if err != nil && s.optional && !errors.Is(err, ErrUnauthorized) && ctx.Err() == nil {
				// An optional search that fails is as if it found nothing,
				// whatever the reason (a refusal, a server error, a time-out
				// of its own); an ended authorization still ends the read.
				res, err = nil, nil
			}
			results[i] = searchResult{res, err}
			if err != nil && fatalSearchError(err) {
				cancel()
			}
		}()
	}
	wg.Wait()
	// Report the failure that stopped the wave, not the cancellations it caused.
	for _, r := range results {
		if r.err != nil && fatalSearchError(r.err) && !errors.Is(r.err, context.Canceled) {
			return nil, r.err
		}
	}
	return results, nil
}

// fatalResult returns the first error of a wave's results that fails the
// whole read (a cancellation, once nothing else explains it).
func fatalResult(results []searchResult) error {
	for _, r := range results {
		if r.err != nil && fatalSearchError(r.err) {
			return r.err
		}
	}
	return nil
}

// emptyWave reports whether no search of a wave returned any resource.
func emptyWave(results []searchResult) bool {
	for _, r := range results {
		if len(r.res) > 0 {
			return false
		}
	}
	return true
}

// fatalSearchError reports whether a failed search fails the whole read.
func fatalSearchError(err error) bool {
	if errors.Is(err, ErrPageLimit) {
		return false
	}
	var re *ResponseError
	if errors.As(err, &re) {
		switch re.Status {
		case http.StatusForbidden, http.StatusNotFound, http.StatusBadRequest, http.StatusMethodNotAllowed,
			http.StatusNotImplemented, http.StatusGone:
			return false
		}
	}
	return true
}

func searchNote(err error) string {
	if errors.Is(err, ErrPageLimit) {
		return "more results than the page limit; later pages were not read"
	}
	var re *ResponseError
	if errors.As(err, &re) {
		return fmt.Sprintf("not available from this server (HTTP %d)", re.Status)
	}
	return "failed"
}

// maxReferenced caps the Specimens, Medications, panel members and report
// results read after the wave.
const maxReferenced = 50

// fetchReferenced reads, in parallel, the Specimens, Medications, panel
// member Observations and report results that kept resources point to and
// that are not in the record. They are read one level deep.
func (c *Client) fetchReferenced(ctx context.Context, b *recordBuilder) error {
	have := map[string]bool{}
	for _, r := range b.rec.Resources {
		have[r.Type+"/"+r.ID] = true
	}
	for key := range b.seen { // read already, kept or not
		have[key] = true
	}
	var want []string
	over := false
	add := func(ref string) {
		typ, id, ok := strings.Cut(ref, "/")
		if !ok || (typ != "Specimen" && typ != "Medication" && typ != "Observation") || !validID(id) || have[ref] {
			return
		}
		if len(want) >= maxReferenced {
			over = true
			return
		}
		have[ref] = true
		want = append(want, ref)
	}
	for _, r := range b.rec.Resources {
		switch v := r.decoded.(type) {
		case *r4.Observation:
			if v.Specimen != nil && v.Specimen.Reference != nil {
				add(*v.Specimen.Reference)
			}
			// A panel's results may be member Observations that no search
			// returned (local codes, no laboratory category).
			for i := range v.HasMember {
				add(refString(&v.HasMember[i]))
			}
		case *r4.MedicationRequest:
			add(refString(&v.MedicationReference))
		case *r4.MedicationStatement:
			add(refString(&v.MedicationReference))
		case *r4.MedicationAdministration:
			add(refString(&v.MedicationReference))
		case *r4.DiagnosticReport:
			// A report's results and specimen may be resources that no
			// search returned (local codes, no laboratory category).
			for i := range v.Result {
				add(refString(&v.Result[i]))
			}
			for i := range v.Specimen {
				add(refString(&v.Specimen[i]))
			}
		}
	}
	if over {
		b.skip("referenced resources", fmt.Sprintf("more than %d referenced resources; the rest were not read", maxReferenced))
	}
	if len(want) == 0 {
		return nil
	}
	got := make([]*Resource, len(want))
	errs := make([]error, len(want))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i, ref := range want {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			typ, id, _ := strings.Cut(ref, "/")
			got[i], errs[i] = c.Read(ctx, typ, id)
		}()
	}
	wg.Wait()
	for i, ref := range want {
		if errs[i] != nil {
			if fatalSearchError(errs[i]) {
				return errs[i]
			}
			b.skip(ref, searchNote(errs[i]))
			continue
		}
		b.add(*got[i], ref)
	}
	return nil
}

func refString(r *r4.Reference) string {
	if r == nil || r.Reference == nil {
		return ""
	}
	return *r.Reference
}
