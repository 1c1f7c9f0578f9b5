package fhir

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/mbcplan/mbcplan/recommend"
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// recordFromSearchset builds a record for patientID from a searchset Bundle
// without a Patient entry, as FetchRecord would from a search answer.
func recordFromSearchset(t testing.TB, data []byte, patientID string) *Record {
	t.Helper()
	var env bundleEnvelope
	if err := json.Unmarshal(data, &env); err != nil {
		t.Fatal(err)
	}
	b := newRecordBuilder(patientID, "")
	for i, e := range env.Entry {
		r, err := parseResource(e.Resource)
		if err != nil {
			r = &Resource{}
		}
		r.FullURL = e.FullURL
		b.add(*r, fmt.Sprintf("entry %d", i))
	}
	return b.rec
}

func TestJennyM(t *testing.T) {
	rec, err := RecordFromBundle(readTestdata(t, "mcode/Bundle-mcode-patient-bundle-jenny-m.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.Skipped) != 0 || rec.OtherSubject != 0 {
		t.Errorf("skipped %v, other subject %d; want none", rec.Skipped, rec.OtherSubject)
	}
	f := MapFacts(rec)
	if f.Patient.Sex != recommend.SexFemale || f.Patient.BirthDate != "1965-01-01" || f.Patient.Ref != "Patient/cancer-patient-jenny-m" {
		t.Errorf("patient = %+v; want female born 1965-01-01, Patient/cancer-patient-jenny-m", f.Patient)
	}
	if len(f.ER) != 1 || f.ER[0].Status != recommend.ReceptorPositive || !f.ER[0].Final || f.ER[0].Method != "coded" {
		t.Errorf("ER = %+v; want one final coded positive", f.ER)
	} else if got := f.ER[0].Refs; !reflect.DeepEqual(got, []string{"Observation/tumor-marker-test-er-jenny-m"}) || f.ER[0].Date == "" {
		t.Errorf("ER source = %v %q; want the Observation's reference and date", got, f.ER[0].Date)
	}
	if len(f.PR) != 1 || f.PR[0].Status != recommend.ReceptorNegative {
		t.Errorf("PR = %+v; want one negative", f.PR)
	}
	if len(f.HER2) != 1 || f.HER2[0].Status != recommend.ReceptorNegative || f.HER2[0].IHC != recommend.IHCUnknown {
		t.Errorf("HER2 = %+v; want negative with no IHC score", f.HER2)
	}
	for _, m := range f.Metastases {
		if m.Kind == recommend.MetastasisDistant {
			t.Errorf("metastasis %+v; want no distant metastasis finding", m)
		}
	}
	if len(f.ECOG) != 1 || f.ECOG[0].Value == nil || *f.ECOG[0].Value != 0 {
		t.Errorf("ECOG = %+v; want 0", f.ECOG)
	}
	if len(f.DiseaseStatus) != 1 || f.DiseaseStatus[0].Value != recommend.DiseaseImproved {
		t.Errorf("disease status = %+v; want improved", f.DiseaseStatus)
	}
	if len(f.Variants) != 1 || f.Variants[0].Gene != "PALB2" || f.Variants[0].Status != recommend.VariantDetected || f.Variants[0].Origin != "somatic" {
		t.Errorf("variants = %+v; want PALB2 detected somatic", f.Variants)
	}
	var drugs []string
	for _, m := range f.Medications {
		drugs = append(drugs, m.Drugs...)
		if m.Kind != recommend.MedRequest || m.Status != "active" || m.Start == "" {
			t.Errorf("medication %+v; want an active request with a start", m)
		}
	}
	want := []string{"cyclophosphamide", "doxorubicin", "paclitaxel", "anastrozole"}
	for _, w := range want {
		if !strings.Contains(strings.Join(drugs, ","), w) {
			t.Errorf("drugs %v; want %s among them", drugs, w)
		}
	}
	if len(f.Cancer) != 1 {
		t.Errorf("cancer = %+v; want the primary breast cancer condition", f.Cancer)
	}
	if len(f.Labs) != 1 || f.Labs[0].Kind != recommend.LabANC || f.Labs[0].Flag != recommend.RangeNormal {
		t.Errorf("labs = %+v; want one ANC within its reference range", f.Labs)
	}
}

func TestCernerExamples(t *testing.T) {
	tests := []struct {
		file         string
		patient      string
		wantSkipped  map[string]string // resource → reason substring
		otherSubject int
	}{
		{"r4_observation_entered_in_error_status.json", "12742401",
			map[string]string{"Observation/L-197412603": "unrecognised ObservationStatus code"}, 0},
		{"r4_condition_bundle.json", "12724066", nil, 1},
		{"r4_patient_condition_bundle.json", "12724066",
			map[string]string{"entry 0": "not a FHIR resource", "entry 2": "not a FHIR resource",
				"Condition/p73703587": "entered in error"}, 0},
		{"r4_observation_bundle.json", "12724066", nil, 0},
		{"r4_medication_request_bundle.json", "12724066", nil, 0},
		{"r4_medication_request_revinclude_bundle.json", "1295925", nil, 0},
		{"r4_observation_revinclude_bundle.json", "12457977",
			map[string]string{"Observation/VS-196190669": "entered in error"}, 0},
		{"r4_care_plan_bundle.json", "1316020", nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			rec := recordFromSearchset(t, readTestdata(t, "cerner/"+tt.file), tt.patient)
			got := map[string]string{}
			for _, s := range rec.Skipped {
				got[s.Resource] = s.Reason
			}
			if len(got) != len(tt.wantSkipped) {
				t.Errorf("skipped %v; want %v", rec.Skipped, tt.wantSkipped)
			}
			for res, reason := range tt.wantSkipped {
				if !strings.Contains(got[res], reason) {
					t.Errorf("skipped[%s] = %q; want it to contain %q", res, got[res], reason)
				}
			}
			if rec.OtherSubject != tt.otherSubject {
				t.Errorf("other subject = %d; want %d", rec.OtherSubject, tt.otherSubject)
			}
			_ = MapFacts(rec)
		})
	}
}

func TestCernerPatientWithTypo(t *testing.T) {
	rec, err := RecordFromBundle(readTestdata(t, "cerner/r4_patient_bundle.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.Skipped) != 1 || !strings.Contains(rec.Skipped[0].Reason, "telecom.rank") {
		t.Errorf("skipped = %v; want the Patient named with the telecom.rank problem", rec.Skipped)
	}
	f := MapFacts(rec)
	if f.Patient.Sex == recommend.SexUnknown || f.Patient.BirthDate == "" {
		t.Errorf("patient = %+v; want gender and birth date read despite the typo", f.Patient)
	}
	if f.Patient.Name != "" {
		t.Errorf("name %q read from a Patient that failed strict decoding; want only gender and birth date", f.Patient.Name)
	}
}
