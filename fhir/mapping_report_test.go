package fhir

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/mbcplan/mbcplan/recommend"
)

// A pathology DiagnosticReport whose result references Observations (Epic,
// Oracle Health), and one whose Observations are contained (mCODE senders,
// interface engines).

const reportSpecimen = `{"resourceType":"Specimen","id":"sp1","subject":{"reference":"Patient/p"},
	"type":{"text":"Core biopsy"},"collection":{"bodySite":{"text":"Liver, segment 6"}}}`

func pathReport(id, status, extra string) string {
	st := ""
	if status != "" {
		st = `"status":"` + status + `",`
	}
	return `{"resourceType":"DiagnosticReport","id":"` + id + `",` + st + `"subject":{"reference":"Patient/p"},
		"category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0074","code":"SP"}]}],
		"code":{"coding":[{"system":"http://loinc.org","code":"60568-3","display":"Pathology Synoptic report"}]},
		"effectiveDateTime":"2026-09-14","issued":"2026-09-16T10:00:00Z","specimen":[{"reference":"Specimen/sp1"}],
		"conclusion":"ER positive, PR negative, HER2 negative."` + extra + `}`
}

func TestReportResultReferences(t *testing.T) {
	er := `{"resourceType":"Observation","id":"er1","status":"final","subject":{"reference":"Patient/p"},"effectiveDateTime":"2026-09-14",
		"code":{"coding":[{"system":"http://loinc.org","code":"85337-4"}]},"valueCodeableConcept":{"coding":[{"system":"http://loinc.org","code":"LA6576-8"}]}}`
	pr := `{"resourceType":"Observation","id":"pr1","status":"final","subject":{"reference":"Patient/p"},"effectiveDateTime":"2026-09-14",
		"code":{"coding":[{"system":"http://loinc.org","code":"85339-0"}]},"valueCodeableConcept":{"coding":[{"system":"http://loinc.org","code":"LA6577-6"}]}}`
	results := `,"result":[{"reference":"Observation/er1"},{"reference":"Observation/pr1"}]`

	t.Run("final report: results read on the report's specimen", func(t *testing.T) {
		f := mapResources(t, pathReport("dr1", "final", results), er, pr, reportSpecimen)
		if len(f.ER) != 1 || f.ER[0].Status != recommend.ReceptorPositive || !f.ER[0].Final ||
			f.ER[0].Specimen != recommend.SpecimenMetastatic || f.ER[0].SpecimenRef != "Specimen/sp1" {
			t.Errorf("ER = %+v; want one final positive result on the liver specimen", f.ER)
		}
		if len(f.PR) != 1 || f.PR[0].Status != recommend.ReceptorNegative || !f.PR[0].Final {
			t.Errorf("PR = %+v; want one final negative result", f.PR)
		}
		if len(f.Record.Skipped) != 0 || len(f.Record.NotFinal) != 0 {
			t.Errorf("skipped %v, not final %v; want none", f.Record.Skipped, f.Record.NotFinal)
		}
	})
	for _, status := range []string{"preliminary", "partial", "registered", ""} {
		t.Run("report status "+status+": results not final", func(t *testing.T) {
			f := mapResources(t, pathReport("dr1", status, results), er, pr, reportSpecimen)
			if len(f.ER) != 1 || f.ER[0].Final || len(f.PR) != 1 || f.PR[0].Final {
				t.Errorf("ER %+v PR %+v; want both read and not final", f.ER, f.PR)
			}
			if strings.Join(f.Record.NotFinal, ",") != "Observation/er1,Observation/pr1" {
				t.Errorf("NotFinal = %v; want both results", f.Record.NotFinal)
			}
		})
	}
	t.Run("amended and corrected reports are final", func(t *testing.T) {
		for _, status := range []string{"amended", "corrected"} {
			f := mapResources(t, pathReport("dr1", status, results), er, pr)
			if len(f.ER) != 1 || !f.ER[0].Final {
				t.Errorf("%s: ER %+v; want final", status, f.ER)
			}
		}
	})
	t.Run("an entered-in-error report is dropped; its results keep their own status", func(t *testing.T) {
		f := mapResources(t, pathReport("dr1", "entered-in-error", results), er)
		if len(f.ER) != 1 || !f.ER[0].Final {
			t.Errorf("ER %+v; want the final result read", f.ER)
		}
	})
}

func TestReportContainedObservations(t *testing.T) {
	contained := `,"contained":[
		{"resourceType":"Observation","id":"er","code":{"coding":[{"system":"http://loinc.org","code":"85329-1"}]},
		 "valueQuantity":{"value":5,"unit":"%","system":"http://unitsofmeasure.org","code":"%"}},
		{"resourceType":"Observation","id":"her2","status":"final","effectiveDateTime":"2026-09-01","specimen":{"reference":"#bx"},
		 "code":{"coding":[{"system":"http://loinc.org","code":"85319-2"}]},"valueCodeableConcept":{"coding":[{"system":"http://loinc.org","code":"LA11843-2","display":"3+"}]}},
		{"resourceType":"Specimen","id":"bx","collection":{"bodySite":{"text":"Left breast"}}},
		{"resourceType":"Practitioner","id":"path"}],
		"result":[{"reference":"#er"},{"reference":"#her2"}]`

	t.Run("final report", func(t *testing.T) {
		f := mapResources(t, pathReport("dr2", "final", contained), reportSpecimen)
		if len(f.ER) != 1 {
			t.Fatalf("ER = %+v; want one result from the contained Observation", f.ER)
		}
		e := f.ER[0]
		if e.Percent == nil || *e.Percent != 5 || e.Status != recommend.ReceptorPositive || !e.Final ||
			e.Date != "2026-09-14" || e.Specimen != recommend.SpecimenMetastatic || e.SpecimenRef != "Specimen/sp1" ||
			strings.Join(e.Refs, ",") != "DiagnosticReport/dr2#er" || e.Source.Status != "final" {
			t.Errorf("ER = %+v; want 5%%, final (the report's status), dated and on the specimen of the report, ref DiagnosticReport/dr2#er", e)
		}
		if len(f.HER2) != 1 || f.HER2[0].IHC != recommend.IHC3 || f.HER2[0].Date != "2026-09-01" ||
			f.HER2[0].Specimen != recommend.SpecimenPrimary || f.HER2[0].SpecimenRef != "DiagnosticReport/dr2#bx" {
			t.Errorf("HER2 = %+v; want IHC 3+ of its own date, on its own contained breast specimen", f.HER2)
		}
		if len(f.Record.Skipped) != 0 {
			t.Errorf("skipped %v; want none", f.Record.Skipped)
		}
	})
	t.Run("preliminary report", func(t *testing.T) {
		f := mapResources(t, pathReport("dr2", "preliminary", contained), reportSpecimen)
		if len(f.ER) != 1 || f.ER[0].Final || len(f.HER2) != 1 || f.HER2[0].Final {
			t.Errorf("ER %+v HER2 %+v; want both not final", f.ER, f.HER2)
		}
		if strings.Join(f.Record.NotFinal, ",") != "DiagnosticReport/dr2#er,DiagnosticReport/dr2#her2" {
			t.Errorf("NotFinal = %v", f.Record.NotFinal)
		}
	})
	t.Run("a contained Observation about someone else is dropped and counted", func(t *testing.T) {
		other := `,"contained":[{"resourceType":"Observation","id":"er","subject":{"reference":"Patient/q"},
			"code":{"coding":[{"system":"http://loinc.org","code":"85337-4"}]},"valueString":"Positive"}]`
		f := mapResources(t, pathReport("dr3", "final", other))
		if len(f.ER) != 0 || f.Record.OtherSubject != 1 {
			t.Errorf("ER %+v, other subject %d; want none read, one counted", f.ER, f.Record.OtherSubject)
		}
	})
	t.Run("a contained resource without an id is listed, without its content", func(t *testing.T) {
		noID := `,"contained":[{"resourceType":"Observation","code":{"text":"ER"},"valueString":"Positive SECRET"}]`
		f := mapResources(t, pathReport("dr4", "final", noID))
		if len(f.ER) != 0 || len(f.Record.Skipped) != 1 || strings.Contains(f.Record.Skipped[0].Reason, "SECRET") {
			t.Errorf("ER %+v, skipped %v; want nothing read and one safe skip", f.ER, f.Record.Skipped)
		}
	})
}

func TestReportNarrativeOnly(t *testing.T) {
	presented := `,"presentedForm":[{"contentType":"text/plain","data":"RVIgcG9zaXRpdmUgOTUl"}]`
	f := mapResources(t, pathReport("dr5", "final", presented))
	if len(f.ER)+len(f.PR)+len(f.HER2) != 0 {
		t.Errorf("narrative report: ER %+v PR %+v HER2 %+v; want nothing read from narrative", f.ER, f.PR, f.HER2)
	}
	if len(f.Record.Skipped) != 1 || f.Record.Skipped[0].Resource != "DiagnosticReport/dr5" ||
		f.Record.Skipped[0].Reason != "pathology report without coded results" {
		t.Errorf("skipped %+v; want the report listed as without coded results", f.Record.Skipped)
	}
	// A narrative radiology or laboratory report is not a pathology report.
	ct := `{"resourceType":"DiagnosticReport","id":"ct","status":"final","subject":{"reference":"Patient/p"},
		"category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0074","code":"RAD"}]}],
		"code":{"text":"CT chest abdomen pelvis"},"conclusion":"Stable disease."}`
	if f := mapResources(t, ct); len(f.Record.Skipped) != 0 || len(f.DiseaseStatus) != 0 {
		t.Errorf("radiology narrative: skipped %v, disease status %+v; want nothing", f.Record.Skipped, f.DiseaseStatus)
	}
	// A local biomarker report code, sent under the laboratory section.
	local := `{"resourceType":"DiagnosticReport","id":"bm","status":"final","subject":{"reference":"Patient/p"},
		"category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0074","code":"LAB"}]}],
		"code":{"coding":[{"system":"urn:oid:1.2.840.114350.1.13.0.1.7.5.737384.0","code":"BRBM","display":"Breast cancer biomarker panel"}]},
		"conclusion":"HER2 3+"}`
	if f := mapResources(t, local); len(f.Record.Skipped) != 1 || len(f.HER2) != 0 {
		t.Errorf("local biomarker narrative: skipped %v, HER2 %+v; want it listed, nothing read", f.Record.Skipped, f.HER2)
	}
}

func TestSubjectByIdentifier(t *testing.T) {
	bundle := func(subject string) []byte {
		return []byte(`{"resourceType":"Bundle","type":"collection","entry":[
		{"resource":{"resourceType":"Observation","id":"er","status":"final","subject":` + subject + `,
		 "code":{"coding":[{"system":"http://loinc.org","code":"85337-4"}]},"valueString":"Positive"}},
		{"resource":{"resourceType":"Patient","id":"p","gender":"female",
		 "identifier":[{"system":"urn:oid:1.2.840.114350.1.13.0.1.7.5.737384.14","value":"E1234"},{"value":"no-system"}]}}]}`)
	}
	tests := []struct {
		name, subject string
		read, other   int
	}{
		{"the Patient's MRN", `{"identifier":{"system":"urn:oid:1.2.840.114350.1.13.0.1.7.5.737384.14","value":"E1234"}}`, 1, 0},
		{"the MRN with a display", `{"identifier":{"system":"urn:oid:1.2.840.114350.1.13.0.1.7.5.737384.14","value":"E1234"},"display":"X"}`, 1, 0},
		{"another value", `{"identifier":{"system":"urn:oid:1.2.840.114350.1.13.0.1.7.5.737384.14","value":"E9999"}}`, 0, 1},
		{"the value under another system", `{"identifier":{"system":"urn:oid:2.16.840.1.113883.4.1","value":"E1234"}}`, 0, 1},
		{"no system", `{"identifier":{"value":"E1234"}}`, 0, 1},
		{"a Patient identifier without system", `{"identifier":{"value":"no-system"}}`, 0, 1},
		{"value differing in case", `{"identifier":{"system":"urn:oid:1.2.840.114350.1.13.0.1.7.5.737384.14","value":"e1234"}}`, 0, 1},
		{"a reference wins over the identifier", `{"reference":"Patient/q","identifier":{"system":"urn:oid:1.2.840.114350.1.13.0.1.7.5.737384.14","value":"E1234"}}`, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, err := RecordFromBundle(bundle(tt.subject))
			if err != nil {
				t.Fatal(err)
			}
			f := MapFacts(rec)
			if len(f.ER) != tt.read || f.Record.OtherSubject != tt.other || len(f.Record.Skipped) != 0 {
				t.Errorf("subject %s: ER %d, other subject %d, skipped %v; want %d, %d, none", tt.subject, len(f.ER), f.Record.OtherSubject, f.Record.Skipped, tt.read, tt.other)
			}
		})
	}
}

func TestFetchRecordReadsReportResults(t *testing.T) {
	srv := newFakeFHIR()
	srv.byID["Patient/p"] = json.RawMessage(`{"resourceType":"Patient","id":"p","gender":"female",
		"identifier":[{"system":"urn:oid:2.16.840.1.113883.3.13.6","value":"MRN-77"}]}`)
	// The results carry a local code only and no laboratory category: no
	// Observation search returns them (this server returns every
	// Observation, so they are kept out of its search).
	srv.byType["DiagnosticReport"] = []json.RawMessage{
		json.RawMessage(pathReport("dr1", "final", `,"result":[{"reference":"Observation/er1"},{"reference":"Observation/h1"}]`)),
		json.RawMessage(pathReport("dr2", "final", `,"contained":[{"resourceType":"Observation","id":"pr",
			"code":{"coding":[{"system":"http://loinc.org","code":"85339-0"}]},"valueString":"Negative (0%)"}]`)),
		json.RawMessage(strings.Replace(pathReport("drx", "final", `,"result":[{"reference":"Observation/x1"}]`),
			`"subject":{"reference":"Patient/p"}`, `"subject":{"identifier":{"system":"urn:oid:2.16.840.1.113883.3.13.6","value":"MRN-78"}}`, 1)),
	}
	srv.byID["Observation/er1"] = json.RawMessage(`{"resourceType":"Observation","id":"er1","status":"final",
		"subject":{"identifier":{"system":"urn:oid:2.16.840.1.113883.3.13.6","value":"MRN-77"}},"effectiveDateTime":"2026-09-14",
		"code":{"coding":[{"system":"urn:oid:1.2.3","code":"ERIHC","display":"Estrogen receptor IHC"}]},"valueString":"Positive, 90%"}`)
	srv.byID["Observation/h1"] = json.RawMessage(`{"resourceType":"Observation","id":"h1","status":"final","subject":{"reference":"Patient/p"},
		"effectiveDateTime":"2026-09-14","code":{"coding":[{"system":"urn:oid:1.2.3","code":"HER2IHC","display":"HER2 IHC"}]},"valueString":"1+"}`)
	srv.byID["Observation/x1"] = json.RawMessage(`{"resourceType":"Observation","id":"x1","status":"final","subject":{"reference":"Patient/q"},
		"code":{"coding":[{"system":"http://loinc.org","code":"85337-4"}]},"valueString":"Negative"}`)
	srv.byID["Specimen/sp1"] = json.RawMessage(reportSpecimen)
	c := srv.start(t)
	rec, err := c.FetchRecord(t.Context(), "p")
	if err != nil {
		t.Fatal(err)
	}
	if n := len(srv.queries["DiagnosticReport"]); n != 1 {
		t.Errorf("%d DiagnosticReport searches; want 1, in the wave", n)
	}
	f := MapFacts(rec)
	if len(f.ER) != 1 || f.ER[0].Status != recommend.ReceptorPositive || f.ER[0].Specimen != recommend.SpecimenMetastatic || !f.ER[0].Final {
		t.Errorf("ER = %+v; want the referenced result (subject by MRN), final, on the report's liver specimen", f.ER)
	}
	if len(f.HER2) != 1 || f.HER2[0].IHC != recommend.IHC1 {
		t.Errorf("HER2 = %+v; want IHC 1+ from the referenced result", f.HER2)
	}
	if len(f.PR) != 1 || f.PR[0].Status != recommend.ReceptorNegative || strings.Join(f.PR[0].Refs, ",") != "DiagnosticReport/dr2#pr" {
		t.Errorf("PR = %+v; want the contained result", f.PR)
	}
	if f.Record.OtherSubject != 1 {
		t.Errorf("other subject = %d; want 1 (the report about another MRN)", f.Record.OtherSubject)
	}
	if len(f.Record.Skipped) != 0 {
		t.Errorf("skipped %v; want none", f.Record.Skipped)
	}
}

// Gaps the unseen patients 13–20 exposed.

func TestConditionReceptorCodedTwice(t *testing.T) {
	f := mapResources(t, cond("z17", "http://hl7.org/fhir/sid/icd-10-cm", "Z17.0",
		`,"verificationStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-ver-status","code":"confirmed"}]}`))
	if len(f.ER) != 1 {
		t.Fatalf("ER = %+v; want one", f.ER)
	}
	both := `{"resourceType":"Condition","id":"erpos","subject":{"reference":"Patient/p"},"onsetDateTime":"2018-05-20",
		"verificationStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-ver-status","code":"confirmed"}]},
		"code":{"coding":[{"system":"http://hl7.org/fhir/sid/icd-10-cm","code":"Z17.0"},{"system":"http://snomed.info/sct","code":"416053008"}]}}`
	if f := mapResources(t, both); len(f.ER) != 1 || f.ER[0].Status != recommend.ReceptorPositive {
		t.Errorf("Z17.0 beside 416053008: ER = %+v; want one positive result", f.ER)
	}
	clash := strings.Replace(both, "416053008", "441117001", 1)
	if f := mapResources(t, clash); len(f.ER) != 2 {
		t.Errorf("Z17.0 beside 441117001: ER = %+v; want both statuses kept (a conflict for the rules)", f.ER)
	}
}

func TestOophorectomyICD10PCSByOID(t *testing.T) {
	for _, system := range []string{"urn:oid:2.16.840.1.113883.6.4", "http://www.cms.gov/Medicare/Coding/ICD10"} {
		f := mapResources(t, `{"resourceType":"Procedure","id":"bso","status":"completed","subject":{"reference":"Patient/p"},
			"performedDateTime":"2026-06-18","code":{"coding":[{"system":"`+system+`","code":"0UT24ZZ"}]}}`)
		if f.Oophorectomy == nil || f.Oophorectomy.Date != "2026-06-18" {
			t.Errorf("%s 0UT24ZZ without text: oophorectomy %+v; want it read", system, f.Oophorectomy)
		}
	}
}
