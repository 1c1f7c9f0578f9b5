package fhir

import (
	"fmt"
	"testing"
	"time"

	"github.com/mbcplan/mbcplan/recommend"
)

// Encodings the unseen patients (testdata/unseen) exposed.

func TestBiomarkerPanelComponents(t *testing.T) {
	panel := `{"resourceType":"Observation","id":"panel","status":"final","subject":{"reference":"Patient/p"},
		"effectiveDateTime":"2026-10-22","specimen":{"display":"Right breast core biopsy"},
		"code":{"coding":[{"system":"urn:oid:1.2.3.4","code":"88201","display":"BREAST CANCER BIOMARKER PANEL"}]},
		"component":[
		 {"code":{"coding":[{"system":"urn:oid:1.2.3.4","code":"88202","display":"ER"}],"text":"ER"},"valueString":"Positive (95%, strong)"},
		 {"code":{"text":"PgR"},"valueString":"Negative (<1%)"},
		 {"code":{"text":"HER2 IHC"},"valueString":"2+ (equivocal)"},
		 {"code":{"text":"HER2 FISH"},"valueString":"Not amplified (HER2/CEP17 ratio 1.4; mean HER2 copy number 3.1)"},
		 {"code":{"text":"Ki-67"},"valueString":"25%"}]}`
	f := mapResources(t, panel)
	if len(f.ER) != 1 || f.ER[0].Status != recommend.ReceptorPositive || f.ER[0].Percent == nil || *f.ER[0].Percent != 95 ||
		f.ER[0].Specimen != recommend.SpecimenPrimary || !f.ER[0].Final {
		t.Errorf("ER = %+v; want one final positive 95%% result of the primary", f.ER)
	}
	if len(f.PR) != 1 || f.PR[0].Status != recommend.ReceptorNegative {
		t.Errorf("PR = %+v; want one negative result", f.PR)
	}
	if len(f.HER2) != 1 {
		t.Fatalf("HER2 = %+v; want one result joining IHC and FISH", f.HER2)
	}
	h := f.HER2[0]
	if h.IHC != recommend.IHC2 || h.ISH != recommend.ReceptorNegative || h.Ratio == nil || *h.Ratio != 1.4 || h.CopyNumber == nil || *h.CopyNumber != 3.1 {
		t.Errorf("HER2 = %+v; want IHC 2+, ISH negative, ratio 1.4, 3.1 copies", h)
	}
	if len(f.Record.NotFinal) != 0 {
		t.Errorf("NotFinal = %v; want none", f.Record.NotFinal)
	}

	// A preliminary panel is read and listed as not final.
	f = mapResources(t, `{"resourceType":"Observation","id":"pp","status":"preliminary","subject":{"reference":"Patient/p"},
		"code":{"text":"Breast prognostic panel"},"component":[{"code":{"text":"ER"},"valueString":"Positive"}]}`)
	if len(f.ER) != 1 || f.ER[0].Final || len(f.Record.NotFinal) != 1 {
		t.Errorf("preliminary panel: ER %+v, NotFinal %v; want one result not final, listed", f.ER, f.Record.NotFinal)
	}

	// A panel of serum tests says nothing about tumour HER2; one without
	// marker components gives nothing.
	f = mapResources(t, `{"resourceType":"Observation","id":"sp","status":"final","subject":{"reference":"Patient/p"},
		"code":{"text":"Tumour markers, serum"},"component":[{"code":{"text":"HER2 ECD"},"valueQuantity":{"value":22,"unit":"ng/mL"}},
		{"code":{"text":"CA 15-3"},"valueQuantity":{"value":80,"unit":"U/mL"}}]}`,
		`{"resourceType":"Observation","id":"bp","status":"final","subject":{"reference":"Patient/p"},
		"code":{"text":"Blood pressure"},"component":[{"code":{"text":"Systolic"},"valueQuantity":{"value":120,"unit":"mm[Hg]"}}]}`)
	if len(f.HER2)+len(f.ER)+len(f.PR) != 0 {
		t.Errorf("serum and vital-sign panels: ER %+v PR %+v HER2 %+v; want nothing", f.ER, f.PR, f.HER2)
	}
}

// TestShortMarkerNames: a local code named only "ER" or "PgR" is the
// marker; the name must be the whole text.
func TestShortMarkerNames(t *testing.T) {
	tests := []struct {
		name, code string
		want       obsKind
	}{
		{"bare ER", `{"text":"ER"}`, obsER},
		{"ER with a colon", `{"coding":[{"system":"urn:oid:1.2","code":"1","display":"ER:"}]}`, obsER},
		{"PgR", `{"text":"PgR"}`, obsPR},
		{"PR percent", `{"text":"PR %"}`, obsPR},
		{"emergency room visit is not a word match", `{"text":"ER visit count"}`, obsOther},
		{"PRN", `{"text":"PRN"}`, obsOther},
	}
	for _, tt := range tests {
		f := mapResources(t, `{"resourceType":"Observation","id":"x","status":"final","subject":{"reference":"Patient/p"},"code":`+tt.code+`,"valueString":"Positive"}`)
		got := obsOther
		switch {
		case len(f.ER) > 0:
			got = obsER
		case len(f.PR) > 0:
			got = obsPR
		}
		if got != tt.want {
			t.Errorf("%s: code %s read as %v; want %v", tt.name, tt.code, got, tt.want)
		}
	}
}

func TestConditionStageSummary(t *testing.T) {
	stage := func(summary, verif string) string {
		v := ""
		if verif != "" {
			v = `,"verificationStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-ver-status","code":"` + verif + `"}]}`
		}
		return `,"stage":[{"summary":` + summary + `}]` + v
	}
	tests := []struct {
		name, system, code, extra string
		want                      bool
		verif                     string
	}{
		{"AJCC SNOMED stage IV", sysICD10CM, "C50.911", stage(`{"coding":[{"system":"http://snomed.info/sct","code":"1222837003"}]}`, ""), true, ""},
		{"AJCC code 4", sysSNOMED, "254837009", stage(`{"coding":[{"system":"http://cancerstaging.org","code":"4"}]}`, ""), true, ""},
		{"text Stage IV", sysICD10CM, "C50.412", stage(`{"text":"Stage IV"}`, ""), true, ""},
		{"provisional stays provisional", sysICD10CM, "C50.412", stage(`{"text":"Stage IV"}`, "provisional"), true, "provisional"},
		{"stage IIB", sysICD10CM, "C50.412", stage(`{"text":"Stage IIB"}`, ""), false, ""},
		{"another cancer's stage IV", sysICD10CM, "C34.90", stage(`{"text":"Stage IV"}`, ""), false, ""},
	}
	for _, tt := range tests {
		f := mapResources(t, cond("c", tt.system, tt.code, tt.extra))
		var got []recommend.Metastasis
		for _, m := range f.Metastases {
			if m.Basis == "stage-group" {
				got = append(got, m)
			}
		}
		if (len(got) == 1) != tt.want || len(got) > 1 {
			t.Errorf("%s: stage-group metastases %+v; want %v", tt.name, got, tt.want)
			continue
		}
		if tt.want && (got[0].Kind != recommend.MetastasisDistant || got[0].VerificationStatus != tt.verif || got[0].Source.Date != "2025-05-01") {
			t.Errorf("%s: %+v; want distant, verification %q, dated by the condition", tt.name, got[0], tt.verif)
		}
	}
}

func TestStagingObservationNotFinal(t *testing.T) {
	stageIV := `,"valueCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"1222837003"}]}`
	for _, tt := range []struct {
		status, wantVerif string
	}{{"final", ""}, {"amended", ""}, {"preliminary", "provisional"}, {"registered", "provisional"}} {
		o := `{"resourceType":"Observation","id":"s","status":"` + tt.status + `","subject":{"reference":"Patient/p"},
			"effectiveDateTime":"2026-11-18","code":{"coding":[{"system":"http://snomed.info/sct","code":"399537006"}]}` + stageIV + `}`
		f := mapResources(t, o)
		if len(f.Metastases) != 1 || f.Metastases[0].VerificationStatus != tt.wantVerif {
			t.Errorf("status %s: %+v; want one finding with verification %q", tt.status, f.Metastases, tt.wantVerif)
		}
		if notFinal := len(f.Record.NotFinal) == 1; notFinal != (tt.wantVerif != "") {
			t.Errorf("status %s: NotFinal %v", tt.status, f.Record.NotFinal)
		}
	}
}

func TestMedicationRequestIntent(t *testing.T) {
	mr := func(id, intent string) string {
		return `{"resourceType":"MedicationRequest","id":"` + id + `","status":"active","intent":"` + intent + `","subject":{"reference":"Patient/p"},
			"authoredOn":"2026-11-28","medicationCodeableConcept":{"coding":[{"system":"http://www.nlm.nih.gov/research/umls/rxnorm","code":"1547545"}]}}`
	}
	f := mapResources(t, mr("prop", "proposal"), mr("ord", "order"), mr("plan", "plan"))
	var got []string
	for _, m := range f.Medications {
		got = append(got, m.Source.Refs[0])
	}
	if len(got) != 2 || got[0] == "MedicationRequest/prop" || got[1] == "MedicationRequest/prop" {
		t.Errorf("medications from %v; want the order and the plan, not the proposal", got)
	}
}

// TestValueEncodings: a HER2/CEP17 ratio sent as a Ratio (mCODE allows
// one), POS/NEG interpretation codes sent as the value, and a medication
// coded by SNOMED CT substance alone.
func TestValueEncodings(t *testing.T) {
	f := mapResources(t,
		obs("r1", "49683-6", `,"valueRatio":{"numerator":{"value":4.8},"denominator":{"value":2.0}}`),
		obs("r0", "49683-6", `,"valueRatio":{"numerator":{"value":4.8},"denominator":{"value":0}}`),
		obs("pr", "16113-3", `,"valueCodeableConcept":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0078","code":"POS"}]}`),
		obs("er", "16112-5", `,"valueCodeableConcept":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation","code":"NEG"}]}`),
		obs("er2", "16112-5", `,"valueCodeableConcept":{"coding":[{"system":"urn:oid:1.2.840.114350.1.13.1.1.7.4.698084.10","code":"POS"}]}`),
		`{"resourceType":"MedicationStatement","id":"ms","status":"completed","subject":{"reference":"Patient/p"},"effectiveDateTime":"2020-01-01",
			"medicationCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"386910003"}]}}`)
	var ratios []float64
	for _, h := range f.HER2 {
		if h.Ratio != nil {
			ratios = append(ratios, *h.Ratio)
		}
	}
	if len(ratios) != 1 || ratios[0] != 2.4 {
		t.Errorf("HER2 ratios %v; want [2.4] (a zero denominator is not a ratio)", ratios)
	}
	if len(f.PR) != 1 || f.PR[0].Status != recommend.ReceptorPositive {
		t.Errorf("PR = %+v; want positive from v2-0078 POS", f.PR)
	}
	if len(f.ER) != 1 || f.ER[0].Status != recommend.ReceptorNegative {
		t.Errorf("ER = %+v; want one negative (v3 NEG), the local POS code unread", f.ER)
	}
	if len(f.Medications) != 1 || len(f.Medications[0].Drugs) != 1 || f.Medications[0].Drugs[0] != "anastrozole" {
		t.Errorf("Medications = %+v; want anastrozole from its SNOMED substance code", f.Medications)
	}
}

// TestBoundedPercentages: a value given with a comparator (Oracle Health
// sends "<1 %" and ">90 %") decides a cut-off only when every value it
// allows is on one side of it (ER/PR ≥1 %, LVEF ≥50 %).
func TestBoundedPercentages(t *testing.T) {
	er := func(cmp string, v float64) string {
		return fmt.Sprintf(`{"resourceType":"Observation","id":"er","status":"final","subject":{"reference":"Patient/p"},"effectiveDateTime":"2026-10-01",
			"code":{"coding":[{"system":"http://loinc.org","code":"14228-1"}]},"valueQuantity":{"comparator":%q,"value":%v,"unit":"%%"}}`, cmp, v)
	}
	tests := []struct {
		cmp     string
		v       float64
		want    recommend.ReceptorStatus
		percent bool
	}{
		{"<", 1, recommend.ReceptorNegative, false},
		{"<", 0.5, recommend.ReceptorNegative, false},
		{"<=", 1, recommend.ReceptorUnknown, false}, // exactly 1 % is positive
		{"<", 10, recommend.ReceptorUnknown, false},
		{">", 0, recommend.ReceptorUnknown, false}, // 0.5 % is negative
		{">=", 0.5, recommend.ReceptorUnknown, false},
		{">=", 1, recommend.ReceptorPositive, false}, // positive, ER-low not excluded
		{">", 5, recommend.ReceptorPositive, false},
		{">", 90, recommend.ReceptorPositive, true},
	}
	for _, tt := range tests {
		f := mapResources(t, er(tt.cmp, tt.v))
		if len(f.ER) != 1 || f.ER[0].Status != tt.want || (f.ER[0].Percent != nil) != tt.percent {
			t.Errorf("ER %s%v %%: %+v; want status %q, percent given %v", tt.cmp, tt.v, f.ER, tt.want, tt.percent)
		}
	}
	lvef := func(cmp string, v float64) string {
		unit := "%"
		if v < 1 {
			unit = "1" // a fraction
		}
		return fmt.Sprintf(`{"resourceType":"Observation","id":"ef","status":"final","subject":{"reference":"Patient/p"},"effectiveDateTime":"2026-10-01",
			"code":{"coding":[{"system":"http://loinc.org","code":"8806-2"}]},"valueQuantity":{"comparator":%q,"value":%v,"unit":%q}}`, cmp, v, unit)
	}
	for _, tt := range []struct {
		cmp  string
		v    float64
		read bool
	}{{">", 55, true}, {">=", 50, true}, {"<", 55, false}, {">", 30, false}, {"<", 45, true}, {"<=", 50, false}, {"<", 50, false}, {"<", 0.45, true}} {
		f := mapResources(t, lvef(tt.cmp, tt.v))
		if got := len(f.LVEF) == 1; got != tt.read {
			t.Errorf("LVEF %s%v %%: %+v; want read %v", tt.cmp, tt.v, f.LVEF, tt.read)
		}
	}
}

// TestEquivocalISHLabelNotPositive: Synthea labels a HER2/CEP17 ratio of
// 1.8–2.2 "equivocal" (pre-2013 thresholds). With IHC 2+ and no copy
// number the 2018 group cannot be set: the call is never positive.
func TestEquivocalISHLabelNotPositive(t *testing.T) {
	f := mapResources(t,
		`{"resourceType":"Observation","id":"ihc","status":"final","subject":{"reference":"Patient/p"},"effectiveDateTime":"2026-10-01",
		 "code":{"coding":[{"system":"http://loinc.org","code":"85319-2"}]},"valueCodeableConcept":{"coding":[{"system":"http://loinc.org","code":"LA11842-4"}],"text":"2+"}}`,
		`{"resourceType":"Observation","id":"ish","status":"final","subject":{"reference":"Patient/p"},"effectiveDateTime":"2026-10-01",
		 "code":{"coding":[{"system":"http://loinc.org","code":"85318-4"}]},"valueString":"Equivocal (HER2/CEP17 ratio 2.1)"}`)
	p := recommend.Recommend(f, time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), recommend.Settings{})
	if p.Subtype.HER2.Value == "positive" {
		t.Errorf("HER2 = %q (%s); want not positive from an 'equivocal' label", p.Subtype.HER2.Value, p.Subtype.HER2.Basis)
	}
	for _, h := range f.HER2 {
		if h.ISH == recommend.ReceptorPositive {
			t.Errorf("HER2 result %+v: ISH read as positive", h)
		}
	}
}
