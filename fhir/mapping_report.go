package fhir

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"
)

// Pathology results often arrive as a DiagnosticReport: its result
// references Observations (entries of a Bundle, or read after the wave), or
// its Observations are contained in it. The report's conclusion and
// presentedForm are narrative and never read as results.

// sysV2Section is HL7 v2 table 0074, the diagnostic service sections
// DiagnosticReport.category uses.
const sysV2Section = "http://terminology.hl7.org/CodeSystem/v2-0074"

// pathologySections are the v2-0074 sections of pathology: pathology,
// surgical pathology, cytopathology.
var pathologySections = map[string]bool{"PAT": true, "SP": true, "CP": true}

// pathologyReportCodes are LOINC codes of pathology reports: 60568-3
// pathology synoptic report, 11526-1 pathology study, and 22637-3
// pathology report final diagnosis (the US Core example the mCODE bundle
// carries). Read only.
var pathologyReportCodes = map[string]bool{"60568-3": true, "11526-1": true, "22637-3": true}

// isPathologyReport reports whether a report is a pathology or tumour
// marker report: by section, by report code, by a marker code, or by a name
// that says so (local panel codes).
func isPathologyReport(dr *r4.DiagnosticReport) bool {
	for i := range dr.Category {
		for _, c := range dr.Category[i].Coding {
			if code, ok := codeIn(c, sysV2Section); ok && pathologySections[strings.ToUpper(code)] {
				return true
			}
		}
	}
	for _, c := range dr.Code.Coding {
		if code, ok := codeIn(c, sysLOINC); ok && pathologyReportCodes[code] {
			return true
		}
	}
	switch k, _ := classify(&dr.Code); k {
	case obsOther, obsLab, obsLVEF, obsECOG, obsKarnofsky, obsPregnancy, obsHCG, obsHCGQuant, obsMenopause, obsComorbidities:
	default:
		return true
	}
	t := ccAllText(&dr.Code)
	return strings.Contains(t, "patholog") || strings.Contains(t, "biomarker") || strings.Contains(t, "receptor") ||
		strings.Contains(t, "biopsy")
}

// reportHead is the part of a report its contained resources inherit.
type reportHead struct {
	Subject           json.RawMessage   `json:"subject"`
	EffectiveDateTime json.RawMessage   `json:"effectiveDateTime"`
	EffectivePeriod   json.RawMessage   `json:"effectivePeriod"`
	Issued            json.RawMessage   `json:"issued"`
	Status            json.RawMessage   `json:"status"`
	Contained         []json.RawMessage `json:"contained"`
}

// localRef resolves a reference to a contained resource ("#id") against
// the report that holds it; other references are returned as they are.
func localRef(report, ref string) string {
	if strings.HasPrefix(ref, "#") && len(ref) > 1 {
		return report + ref
	}
	return ref
}

// report reads a kept DiagnosticReport's contained Observations and
// Specimens as resources of the record, named "{report}#{id}". A contained
// Observation without a subject, effective time, issued time, status or
// specimen takes the report's (the specimen only when the report names
// one); its own subject, when it has one, is checked like any other. A
// pathology report with neither result references nor contained
// Observations is listed: its content is narrative, which is not read.
func (b *recordBuilder) report(r Resource, dr *r4.DiagnosticReport) {
	base := r.Ref()
	var head reportHead
	if json.Unmarshal(r.Raw, &head) != nil {
		return
	}
	spec := ""
	if len(dr.Specimen) == 1 {
		spec = localRef(base, refString(&dr.Specimen[0]))
	}
	coded := len(dr.Result) > 0
	for i, raw := range head.Contained {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		var doc map[string]any
		if dec.Decode(&doc) != nil {
			b.skip(fmt.Sprintf("%s contained resource %d", base, i+1), "not a FHIR resource")
			continue
		}
		typ, _ := doc["resourceType"].(string)
		if typ != "Observation" && typ != "Specimen" {
			continue
		}
		if typ == "Observation" {
			coded = true
		}
		id, _ := doc["id"].(string)
		if !validID(id) {
			b.skip(fmt.Sprintf("%s contained resource %d", base, i+1), "a contained resource without a valid id")
			continue
		}
		if typ == "Observation" {
			inherit(doc, "status", head.Status)
			if !hasAny(doc, "effectiveDateTime", "effectivePeriod", "effectiveInstant", "effectiveTiming") {
				inherit(doc, "effectiveDateTime", head.EffectiveDateTime)
				inherit(doc, "effectivePeriod", head.EffectivePeriod)
			}
			inherit(doc, "issued", head.Issued)
			if sp, ok := doc["specimen"].(map[string]any); ok {
				if ref, ok := sp["reference"].(string); ok {
					sp["reference"] = localRef(base, ref)
				}
			} else if _, has := doc["specimen"]; !has && spec != "" {
				doc["specimen"] = map[string]any{"reference": spec}
			}
		}
		inherit(doc, "subject", head.Subject)
		var out bytes.Buffer
		enc := json.NewEncoder(&out)
		enc.SetEscapeHTML(false)
		if enc.Encode(doc) != nil {
			continue
		}
		name := base + "#" + id
		b.add(Resource{Type: typ, FullURL: name, Raw: bytes.TrimRight(out.Bytes(), "\n")}, name)
	}
	if !coded && isPathologyReport(dr) {
		b.skip(base, "pathology report without coded results")
	}
}

// inherit sets doc[key] to the report's value when doc has none.
func inherit(doc map[string]any, key string, v json.RawMessage) {
	if _, has := doc[key]; has || len(v) == 0 || string(v) == "null" {
		return
	}
	doc[key] = v
}

func hasAny(doc map[string]any, keys ...string) bool {
	for _, k := range keys {
		if _, ok := doc[k]; ok {
			return true
		}
	}
	return false
}

// reportResults notes, for every result of a report (referenced or
// contained), whether the report is final and which specimen it names: a
// report that is not final, amended or corrected makes its results not
// final, and a result without a specimen is read on the report's one
// specimen.
func (m *mapper) reportResults() {
	for i := range m.res {
		r := &m.res[i]
		dr, ok := r.decoded.(*r4.DiagnosticReport)
		if !ok {
			continue
		}
		base := r.Ref()
		status := statusOfResource(r)
		final := status == "final" || status == "amended" || status == "corrected"
		spec := ""
		if len(dr.Specimen) == 1 {
			spec = localRef(base, refString(&dr.Specimen[0]))
		}
		var results []string
		for j := range dr.Result {
			if t := m.lookup(localRef(base, refString(&dr.Result[j]))); t != nil {
				results = append(results, t.Ref())
			}
		}
		var head reportHead
		if json.Unmarshal(r.Raw, &head) != nil {
			continue
		}
		for _, c := range head.Contained {
			var h struct {
				ResourceType string `json:"resourceType"`
				ID           string `json:"id"`
			}
			if json.Unmarshal(c, &h) == nil && h.ResourceType == "Observation" && validID(h.ID) {
				results = append(results, base+"#"+h.ID)
			}
		}
		for _, ref := range results {
			if !final {
				m.reportNotFinal[ref] = true
			}
			if spec == "" {
				continue
			}
			if prev, ok := m.reportSpecimen[ref]; ok && prev != spec {
				m.reportSpecimen[ref] = "" // two reports, two specimens: neither
				continue
			}
			m.reportSpecimen[ref] = spec
		}
	}
}
