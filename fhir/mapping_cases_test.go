package fhir

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/mbcplan/mbcplan/recommend"
)

// bundleOf wraps resources in a collection Bundle with Patient/p.
func bundleOf(resources ...string) []byte {
	var b strings.Builder
	b.WriteString(`{"resourceType":"Bundle","type":"collection","entry":[{"fullUrl":"urn:uuid:p","resource":{"resourceType":"Patient","id":"p","gender":"female","birthDate":"1960-02-03"}}`)
	for _, r := range resources {
		b.WriteString(`,{"resource":`)
		b.WriteString(r)
		b.WriteString(`}`)
	}
	b.WriteString(`]}`)
	return []byte(b.String())
}

func mapResources(t *testing.T, resources ...string) recommend.Facts {
	t.Helper()
	rec, err := RecordFromBundle(bundleOf(resources...))
	if err != nil {
		t.Fatal(err)
	}
	return MapFacts(rec)
}

// obs builds a final Observation with a LOINC (or system|code) code and
// value JSON (e.g. `"valueString":"Positive"`).
func obs(id, code, value string) string {
	sys, c := "http://loinc.org", code
	if s, cc, ok := strings.Cut(code, "|"); ok {
		sys, c = s, cc
	}
	return `{"resourceType":"Observation","id":"` + id + `","status":"final","subject":{"reference":"Patient/p"},
		"effectiveDateTime":"2026-01-02","code":{"coding":[{"system":"` + sys + `","code":"` + c + `"}]}` + value + `}`
}

func cond(id, system, code, extra string) string {
	return `{"resourceType":"Condition","id":"` + id + `","subject":{"reference":"Patient/p"},"onsetDateTime":"2025-05-01",
		"clinicalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-clinical","code":"active"}]},
		"code":{"coding":[{"system":"` + system + `","code":"` + code + `"}]}` + extra + `}`
}

func fp(v float64) *float64 { return &v }
func ip(v int) *int         { return &v }

func TestReceptorValues(t *testing.T) {
	tests := []struct {
		name       string
		obs        string
		wantStatus recommend.ReceptorStatus
		wantPct    *float64
		wantAllred *int
		wantMethod string
	}{
		{"ER coded LOINC answer negative", obs("o", "85337-4", `,"valueCodeableConcept":{"coding":[{"system":"http://loinc.org","code":"LA6577-6"}]}`),
			recommend.ReceptorNegative, nil, nil, "coded"},
		{"ER disorder-level code", obs("o", "16112-5", `,"valueCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"416053008"}]}`),
			recommend.ReceptorPositive, nil, nil, "coded"},
		{"ER interpretation NEG", obs("o", "40556-3", `,"interpretation":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation","code":"NEG"}]}]`),
			recommend.ReceptorNegative, nil, nil, "interpretation"},
		{"ER %-cells 5% is ER-low positive", obs("o", "85329-1", `,"valueQuantity":{"value":5,"unit":"%"}`),
			recommend.ReceptorPositive, fp(5), nil, "percent"},
		{"ER %-cells 0.5% negative", obs("o", "14228-1", `,"valueQuantity":{"value":0.5,"unit":"%"}`),
			recommend.ReceptorNegative, fp(0.5), nil, "percent"},
		{"ER text with percent", obs("o", "40556-3", `,"valueString":"Positive (95%)"`), recommend.ReceptorPositive, fp(95), nil, "text"},
		{"ER text not positive", obs("o", "40556-3", `,"valueString":"not positive"`), recommend.ReceptorNegative, nil, nil, "text"},
		{"ER text <1%", obs("o", "40556-3", `,"valueString":"<1% of nuclei stained"`), recommend.ReceptorNegative, nil, nil, "text"},
		{"ER Allred in text", obs("o", "40556-3", `,"valueString":"Allred score 6/8"`), recommend.ReceptorPositive, nil, ip(6), "allred"},
		{"MII ER with %-cells component", obs("o", "40556-3", `,"component":[{"code":{"coding":[{"system":"http://snomed.info/sct","code":"1234804006"}]},"valueQuantity":{"value":3,"unit":"%"}}]`),
			recommend.ReceptorPositive, fp(3), nil, "percent"},
		{"ER local code read by text", `{"resourceType":"Observation","id":"o","status":"final","subject":{"reference":"Patient/p"},
			"effectiveDateTime":"2026-01-02","code":{"coding":[{"system":"urn:oid:1.2.3","code":"ER1"}],"text":"Estrogen Receptor IHC"},"valueString":"Negative"}`,
			recommend.ReceptorNegative, nil, nil, "text"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := mapResources(t, tt.obs)
			if len(f.ER) != 1 {
				t.Fatalf("ER = %+v; want one result", f.ER)
			}
			got := f.ER[0]
			if got.Status != tt.wantStatus || !reflect.DeepEqual(got.Percent, tt.wantPct) || !reflect.DeepEqual(got.Allred, tt.wantAllred) || got.Method != tt.wantMethod {
				t.Errorf("got status %q percent %v allred %v method %q; want %q %v %v %q", got.Status, deref(got.Percent), derefI(got.Allred),
					got.Method, tt.wantStatus, deref(tt.wantPct), derefI(tt.wantAllred), tt.wantMethod)
			}
			if !got.Final || got.Date != "2026-01-02" || len(got.Refs) != 1 || got.Refs[0] != "Observation/o" {
				t.Errorf("got final %v date %q refs %v; want final, 2026-01-02, [Observation/o]", got.Final, got.Date, got.Refs)
			}
		})
	}
}

func deref(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}

func derefI(p *int) any {
	if p == nil {
		return nil
	}
	return *p
}

func TestHER2Values(t *testing.T) {
	tests := []struct {
		name    string
		res     []string
		want    []recommend.HER2Result // compared on Status, IHC, Staining, ISH, Ratio, CopyNumber
		wantLen int
	}{
		{"IHC 2+ text is a score, not a call", []string{obs("o", "85319-2", `,"valueString":"2+ (equivocal)"`)},
			[]recommend.HER2Result{{IHC: recommend.IHC2}}, 1},
		{"HER2-low 1+ text", []string{obs("o", "48676-1", `,"valueString":"HER2 low, positive 1+"`)},
			[]recommend.HER2Result{{IHC: recommend.IHC1}}, 1},
		{"positive 3+", []string{obs("o", "48676-1", `,"valueString":"Positive (3+)"`)},
			[]recommend.HER2Result{{Status: recommend.ReceptorPositive, IHC: recommend.IHC3}}, 1},
		{"negative 0", []string{obs("o", "85319-2", `,"valueString":"Negative (score 0)"`)},
			[]recommend.HER2Result{{Status: recommend.ReceptorNegative, IHC: recommend.IHC0}}, 1},
		{"ultralow", []string{obs("o", "85319-2", `,"valueString":"IHC 0 with faint incomplete staining in <=10% (ultralow)"`)},
			[]recommend.HER2Result{{IHC: recommend.IHC0, Staining: "faint"}}, 1},
		{"plain negative leaves IHC unknown", []string{obs("o", "48676-1", `,"valueCodeableConcept":{"coding":[{"system":"http://loinc.org","code":"LA6577-6"}]}`)},
			[]recommend.HER2Result{{Status: recommend.ReceptorNegative}}, 1},
		{"IHC answer code", []string{obs("o", "85319-2", `,"valueCodeableConcept":{"coding":[{"system":"http://loinc.org","code":"LA11841-6"}]}`)},
			[]recommend.HER2Result{{IHC: recommend.IHC1}}, 1},
		{"serum HER2 by code is never used", []string{obs("o", "32996-1", `,"valueQuantity":{"value":20,"unit":"ng/mL"}`)}, nil, 0},
		{"serum HER2 by text is never used", []string{`{"resourceType":"Observation","id":"o","status":"final","subject":{"reference":"Patient/p"},
			"code":{"text":"HER2 neu, serum"},"valueString":"positive"}`}, nil, 0},
		{"MII HER2 with IHC and ISH components", []string{obs("o", "48676-1", `,"component":[
			{"code":{"coding":[{"system":"http://loinc.org","code":"85319-2"}]},"valueCodeableConcept":{"coding":[{"system":"http://loinc.org","code":"LA11842-4"}]}},
			{"code":{"coding":[{"system":"http://loinc.org","code":"96893-3"}]},"valueCodeableConcept":{"coding":[{"system":"http://loinc.org","code":"LA6577-6"}]}}]`)},
			[]recommend.HER2Result{{IHC: recommend.IHC2, ISH: recommend.ReceptorNegative}}, 1},
		{"ratio and copy number of one day merge", []string{
			obs("r", "49683-6", `,"valueQuantity":{"value":2.3}`), obs("c", "74860-8", `,"valueQuantity":{"value":4.5}`)},
			[]recommend.HER2Result{{Ratio: fp(2.3), CopyNumber: fp(4.5)}}, 1},
		{"IHC 2+ with the reflex FISH in the text", []string{obs("o", "48676-1", `,"valueString":"Negative: IHC 2+, FISH not amplified"`)},
			[]recommend.HER2Result{{IHC: recommend.IHC2, ISH: recommend.ReceptorNegative}}, 1},
		{"ISH not amplified text", []string{obs("o", "31150-6", `,"valueString":"Not amplified, ratio 1.2"`)},
			[]recommend.HER2Result{{ISH: recommend.ReceptorNegative, Ratio: fp(1.2)}}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := mapResources(t, tt.res...)
			if len(f.HER2) != tt.wantLen {
				t.Fatalf("HER2 = %+v; want %d results", f.HER2, tt.wantLen)
			}
			for i, w := range tt.want {
				g := f.HER2[i]
				if g.Status != w.Status || g.IHC != w.IHC || g.Staining != w.Staining || g.ISH != w.ISH ||
					!reflect.DeepEqual(g.Ratio, w.Ratio) || !reflect.DeepEqual(g.CopyNumber, w.CopyNumber) {
					t.Errorf("got %+v; want status %q IHC %q staining %q ISH %q ratio %v copies %v", g, w.Status, w.IHC, w.Staining, w.ISH,
						deref(w.Ratio), deref(w.CopyNumber))
				}
			}
		})
	}
}

func TestObservationStatusPolicy(t *testing.T) {
	value := `,"valueCodeableConcept":{"coding":[{"system":"http://loinc.org","code":"LA6576-8"}]}`
	er := func(status string) string {
		s := obs("o", "85337-4", value)
		if status == "" {
			return strings.Replace(s, `"status":"final",`, "", 1)
		}
		return strings.Replace(s, `"status":"final"`, `"status":"`+status+`"`, 1)
	}
	tests := []struct {
		status    string
		wantLen   int
		wantFinal bool
		skipped   string
	}{
		{"final", 1, true, ""}, {"amended", 1, true, ""}, {"corrected", 1, true, ""},
		{"preliminary", 1, false, ""}, {"registered", 1, false, ""}, {"", 1, false, ""},
		{"entered-in-error", 0, false, "entered in error"}, {"cancelled", 0, false, "cancelled"},
	}
	for _, tt := range tests {
		t.Run("status "+tt.status, func(t *testing.T) {
			f := mapResources(t, er(tt.status))
			if len(f.ER) != tt.wantLen {
				t.Fatalf("ER = %+v; want %d", f.ER, tt.wantLen)
			}
			if tt.wantLen == 1 {
				if f.ER[0].Final != tt.wantFinal || f.ER[0].Source.Status != tt.status {
					t.Errorf("final %v status %q; want %v %q", f.ER[0].Final, f.ER[0].Source.Status, tt.wantFinal, tt.status)
				}
				if notFinal := len(f.Record.NotFinal) == 1; notFinal == tt.wantFinal {
					t.Errorf("not-final list %v for status %q", f.Record.NotFinal, tt.status)
				}
			}
			if tt.skipped != "" && (len(f.Record.Skipped) != 1 || f.Record.Skipped[0].Reason != tt.skipped || f.Record.Skipped[0].Resource != "Observation/o") {
				t.Errorf("skipped %v; want Observation/o %q", f.Record.Skipped, tt.skipped)
			}
		})
	}
}

func TestClinicalObservations(t *testing.T) {
	f := mapResources(t,
		obs("m1", "http://snomed.info/sct|161712005", `,"valueCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"76498008"}]}`),
		obs("m2", "http://snomed.info/sct|161712005", `,"valueCodeableConcept":{"text":"Perimenopausal"}`),
		obs("m3", "http://snomed.info/sct|161712005", `,"valueCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"31351009"}]}`),
		obs("p1", "82810-3", `,"valueCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"77386006"}]}`),
		obs("p2", "2106-3", `,"valueCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"260385009"}]}`),
		obs("e1", "89247-1", `,"valueInteger":2`),
		obs("e2", "89247-1", `,"valueCodeableConcept":{"coding":[{"system":"http://loinc.org","code":"LA9625-0"}]}`),
		obs("e3", "89247-1", `,"valueCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"423237006"}]}`),
		obs("k1", "89243-0", `,"valueInteger":80`),
		obs("l1", "10230-1", `,"valueQuantity":{"value":45,"unit":"%"}`),
		obs("l2", "8806-2", `,"valueQuantity":{"value":0.55,"unit":"1"}`),
		obs("c1", "2160-0", `,"valueQuantity":{"value":0.4,"unit":"mg/dL"},"interpretation":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation","code":"L"}]}]`),
		obs("c2", "33914-3", `,"valueQuantity":{"value":40,"unit":"mL/min"},"referenceRange":[{"low":{"value":60}}]`),
		obs("c3", "1742-6", `,"valueQuantity":{"value":90,"unit":"U/L"},"referenceRange":[{"low":{"value":7},"high":{"value":56}}]`),
		obs("c4", "2823-3", `,"valueQuantity":{"value":3.1,"unit":"mmol/L"}`),
		obs("d1", "97509-4", `,"valueCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"271299001"}]}`),
	)
	var meno []recommend.MenopausalStatus
	for _, m := range f.Menopause {
		meno = append(meno, m.Status)
	}
	if want := []recommend.MenopausalStatus{recommend.Postmenopausal, recommend.Perimenopausal, recommend.MenopauseInduced}; !reflect.DeepEqual(meno, want) {
		t.Errorf("menopause %v; want %v", meno, want)
	}
	if len(f.Pregnancy) != 2 || f.Pregnancy[0].Status != recommend.Pregnant || f.Pregnancy[1].Status != recommend.NotPregnant {
		t.Errorf("pregnancy %+v; want pregnant (82810-3), not pregnant (hCG negative)", f.Pregnancy)
	}
	var ecog []int
	for _, e := range f.ECOG {
		ecog = append(ecog, *e.Value)
	}
	if !reflect.DeepEqual(ecog, []int{2, 3, 4}) {
		t.Errorf("ECOG %v; want [2 3 4] (integer, LA code, SNOMED finding)", ecog)
	}
	if len(f.Karnofsky) != 1 || *f.Karnofsky[0].Value != 80 {
		t.Errorf("Karnofsky %+v; want 80", f.Karnofsky)
	}
	if len(f.LVEF) != 2 || *f.LVEF[0].Value != 45 || *f.LVEF[1].Value != 55 || f.LVEF[1].Unit != "%" {
		t.Errorf("LVEF %+v; want 45%% and 55%% (a fraction read as percent)", f.LVEF)
	}
	flags := map[recommend.LabKind]recommend.RangeFlag{}
	for _, l := range f.Labs {
		flags[l.Kind] = l.Flag
	}
	wantFlags := map[recommend.LabKind]recommend.RangeFlag{recommend.LabCreatinine: recommend.RangeLow, recommend.LabEGFR: recommend.RangeLow,
		recommend.LabALT: recommend.RangeHigh, recommend.LabPotassium: recommend.RangeUnknown}
	if !reflect.DeepEqual(flags, wantFlags) {
		t.Errorf("lab flags %v; want %v", flags, wantFlags)
	}
	if len(f.DiseaseStatus) != 1 || f.DiseaseStatus[0].Value != recommend.DiseaseWorsened {
		t.Errorf("disease status %+v; want worsened", f.DiseaseStatus)
	}
}

func TestPDL1(t *testing.T) {
	tests := []struct {
		value string
		cps   *float64
		cmp   string
	}{
		{`,"valueString":"CPS 15"`, fp(15), ""},
		{`,"valueString":"PD-L1 22C3: CPS: 15"`, fp(15), ""},
		{`,"valueString":"CPS ≥10"`, fp(10), ">="},
		{`,"valueString":"CPS <1"`, fp(1), "<"},
		{`,"valueQuantity":{"value":12,"unit":"{score}"}`, fp(12), ""},
		{`,"valueString":"see report"`, nil, ""},
	}
	for _, tt := range tests {
		f := mapResources(t, obs("o", "85147-7", tt.value))
		if len(f.PDL1) != 1 || !reflect.DeepEqual(f.PDL1[0].CPS, tt.cps) || f.PDL1[0].Comparator != tt.cmp {
			t.Errorf("%s: PD-L1 %+v; want CPS %v %q", tt.value, f.PDL1, deref(tt.cps), tt.cmp)
		}
	}
}

func TestMetastasisFindings(t *testing.T) {
	icd := "http://hl7.org/fhir/sid/icd-10-cm"
	sct := "http://snomed.info/sct"
	tests := []struct {
		name     string
		res      string
		kind     recommend.MetastasisKind
		site     string
		visceral bool
		basis    string
	}{
		{"bone C79.51", cond("c", icd, "C79.51", ""), recommend.MetastasisDistant, "bone", false, "condition"},
		{"liver SNOMED", cond("c", sct, "94381002", ""), recommend.MetastasisDistant, "liver", true, "condition"},
		{"axillary nodes C77.3", cond("c", icd, "C77.3", ""), recommend.MetastasisUncertain, "lymph-node", false, "condition"},
		{"intra-abdominal nodes C77.2", cond("c", icd, "C77.2", ""), recommend.MetastasisDistant, "lymph-node", false, "condition"},
		{"breast C79.81", cond("c", icd, "C79.81", ""), recommend.MetastasisUncertain, "breast", false, "condition"},
		{"skin C79.2", cond("c", icd, "C79.2", ""), recommend.MetastasisUncertain, "skin", false, "condition"},
		{"disseminated C80.0", cond("c", icd, "C80.0", ""), recommend.MetastasisDistant, "", false, "condition"},
		{"root SNOMED with body site", cond("c", sct, "128462008", `,"bodySite":[{"text":"Lung"}]`), recommend.MetastasisDistant, "lung", true, "condition"},
		{"stage IV text", obs("o", "21908-9", `,"valueCodeableConcept":{"text":"Stage IV"}`), recommend.MetastasisDistant, "", false, "stage-group"},
		{"stage IV code", obs("o", "http://snomed.info/sct|399537006", `,"valueCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"1222837003"}]}`),
			recommend.MetastasisDistant, "", false, "stage-group"},
		{"cM1 display", obs("o", "http://snomed.info/sct|399387003", `,"valueCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"0","display":"AJCC cM1b"}]}`),
			recommend.MetastasisDistant, "", false, "m-category"},
		{"cM0", obs("o", "http://snomed.info/sct|399387003", `,"valueCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":"1229901006"}]}`),
			recommend.MetastasisNone, "", false, "m-category"},
		{"no history of metastatic cancer", obs("o", "http://snomed.info/sct|1287652008", `,"valueBoolean":false`),
			recommend.MetastasisNone, "", false, "condition"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := mapResources(t, tt.res)
			if len(f.Metastases) != 1 {
				t.Fatalf("metastases %+v; want one", f.Metastases)
			}
			g := f.Metastases[0]
			if g.Kind != tt.kind || g.Site != tt.site || g.Visceral != tt.visceral || g.Basis != tt.basis {
				t.Errorf("got %s %q visceral %v basis %q; want %s %q %v %q", g.Kind, g.Site, g.Visceral, g.Basis, tt.kind, tt.site, tt.visceral, tt.basis)
			}
		})
	}
	// Stage IIB is neither distant nor an explicit "none".
	if f := mapResources(t, obs("o", "21908-9", `,"valueCodeableConcept":{"text":"Stage IIB"}`)); len(f.Metastases) != 0 {
		t.Errorf("stage IIB gave %+v; want no finding", f.Metastases)
	}
}

func TestComorbidities(t *testing.T) {
	icd := "http://hl7.org/fhir/sid/icd-10-cm"
	tests := []struct {
		name   string
		res    string
		kinds  []recommend.ComorbidityKind
		decomp bool
	}{
		{"acute on chronic systolic HF", cond("c", icd, "I50.23", ""), []recommend.ComorbidityKind{recommend.HeartFailure}, true},
		{"HFrEF SNOMED", cond("c", "http://snomed.info/sct", "703272007", ""), []recommend.ComorbidityKind{recommend.HeartFailure}, false},
		{"long QT is also an arrhythmia", cond("c", icd, "I45.81", ""), []recommend.ComorbidityKind{recommend.Arrhythmia, recommend.LongQT}, false},
		{"cirrhosis", cond("c", icd, "K74.60", ""), []recommend.ComorbidityKind{recommend.LiverDisease}, false},
		{"ILD", cond("c", icd, "J84.10", ""), []recommend.ComorbidityKind{recommend.ILD}, false},
		{"type 2 diabetes", cond("c", icd, "E11.9", ""), []recommend.ComorbidityKind{recommend.Diabetes}, false},
		{"pregnant state", cond("c", icd, "Z33.1", ""), []recommend.ComorbidityKind{recommend.PregnancyState}, false},
		{"old MI is also coronary disease", cond("c", icd, "I25.2", ""), []recommend.ComorbidityKind{recommend.CoronaryDisease, recommend.MyocardialInfarct}, false},
		{"heart failure by text only", `{"resourceType":"Condition","id":"c","subject":{"reference":"Patient/p"},"code":{"text":"Decompensated heart failure"}}`,
			[]recommend.ComorbidityKind{recommend.HeartFailure}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := mapResources(t, tt.res)
			var kinds []recommend.ComorbidityKind
			for _, c := range f.Comorbidities {
				kinds = append(kinds, c.Kind)
				if c.Kind == recommend.HeartFailure && c.Decompensated != tt.decomp {
					t.Errorf("decompensated %v; want %v", c.Decompensated, tt.decomp)
				}
			}
			if !reflect.DeepEqual(kinds, tt.kinds) {
				t.Errorf("kinds %v; want %v", kinds, tt.kinds)
			}
		})
	}
	f := mapResources(t, strings.Replace(cond("c", icd, "I50.9", `,"verificationStatus":{"coding":[{"code":"provisional"}]}`), `"code":"active"`, `"code":"resolved"`, 1))
	if len(f.Comorbidities) != 1 || f.Comorbidities[0].ClinicalStatus != "resolved" || f.Comorbidities[0].VerificationStatus != "provisional" {
		t.Errorf("comorbidities %+v; want statuses kept as written", f.Comorbidities)
	}
}

func medReq(id, med string) string {
	return `{"resourceType":"MedicationRequest","id":"` + id + `","status":"active","intent":"order","subject":{"reference":"Patient/p"},
		"authoredOn":"2025-01-01",` + med + `}`
}

func TestMedications(t *testing.T) {
	rx := func(code string) string {
		return `"medicationCodeableConcept":{"coding":[{"system":"http://www.nlm.nih.gov/research/umls/rxnorm","code":"` + code + `"}]}`
	}
	text := func(s string) string { return `"medicationCodeableConcept":{"text":"` + s + `"}` }
	tests := []struct {
		name  string
		res   []string
		drugs []string
		med   string
	}{
		{"Enhertu product code is T-DXd only", []string{medReq("m", rx("2267581"))}, []string{"fam-trastuzumab deruxtecan"}, ""},
		{"Phesgo-type combination", []string{medReq("m", rx("2382601"))}, []string{"pertuzumab", "trastuzumab"}, ""},
		{"Kisqali Femara co-pack", []string{medReq("m", rx("1923053"))}, []string{"letrozole", "ribociclib"}, ""},
		{"T-DXd by name is not trastuzumab", []string{medReq("m", text("fam-trastuzumab deruxtecan-nxki 100 MG Injection"))}, []string{"fam-trastuzumab deruxtecan"}, ""},
		{"T-DM1 by brand", []string{medReq("m", text("Kadcyla 160 mg"))}, []string{"ado-trastuzumab emtansine"}, ""},
		{"Herceptin", []string{medReq("m", text("HERCEPTIN 440 MG"))}, []string{"trastuzumab"}, ""},
		{"elacestrant by name", []string{medReq("m", text("elacestrant 345 mg tablet"))}, []string{"elacestrant"}, ""},
		{"Truqap", []string{medReq("m", text("Truqap 400 mg"))}, []string{"capivasertib"}, ""},
		{"triptorelin", []string{medReq("m", text("Triptorelin pamoate 3.75 mg"))}, []string{"triptorelin"}, ""},
		{"Abraxane is nab-paclitaxel", []string{medReq("m", text("Abraxane (paclitaxel protein-bound) 100 mg"))}, []string{"nab-paclitaxel"}, ""},
		{"contained Medication", []string{medReq("m", `"contained":[{"resourceType":"Medication","id":"med","code":{"text":"Ibrance 125 mg"}}],"medicationReference":{"reference":"#med"}`)},
			[]string{"palbociclib"}, ""},
		{"bundled Medication", []string{medReq("m", `"medicationReference":{"reference":"Medication/x"}`),
			`{"resourceType":"Medication","id":"x","code":{"coding":[{"system":"http://www.nlm.nih.gov/research/umls/rxnorm","code":"1946825"}]}}`},
			[]string{"abemaciclib"}, ""},
		{"co-medication kept by name", []string{medReq("m", text("metoprolol succinate 25 mg"))}, nil, "metoprolol succinate 25 mg"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := mapResources(t, tt.res...)
			if len(f.Medications) != 1 {
				t.Fatalf("medications %+v; want one", f.Medications)
			}
			m := f.Medications[0]
			if !reflect.DeepEqual(m.Drugs, tt.drugs) {
				t.Errorf("drugs %v; want %v", m.Drugs, tt.drugs)
			}
			if tt.med != "" && m.Name != tt.med {
				t.Errorf("name %q; want %q", m.Name, tt.med)
			}
			if m.Kind != recommend.MedRequest || m.Status != "active" || m.Start != "2025-01-01" {
				t.Errorf("got %+v; want an active request starting 2025-01-01", m)
			}
		})
	}
	// Statement and administration dates, and a missing status left empty.
	f := mapResources(t,
		`{"resourceType":"MedicationStatement","id":"s","subject":{"reference":"Patient/p"},"status":"completed",
		 "medicationCodeableConcept":{"text":"tamoxifen 20 mg"},"effectivePeriod":{"start":"2019-01-01","end":"2024-01-01"}}`,
		`{"resourceType":"MedicationAdministration","id":"a","subject":{"reference":"Patient/p"},"status":"completed",
		 "medicationCodeableConcept":{"text":"zoledronic acid 4 mg"},"effectiveDateTime":"2025-06-01"}`,
		`{"resourceType":"MedicationRequest","id":"r","subject":{"reference":"Patient/p"},"intent":"order",
		 "medicationCodeableConcept":{"text":"Faslodex 500 mg"}}`)
	byRef := map[string]recommend.Medication{}
	for _, m := range f.Medications {
		byRef[m.Refs[0]] = m
	}
	if s := byRef["MedicationStatement/s"]; s.Kind != recommend.MedStatement || s.Start != "2019-01-01" || s.End != "2024-01-01" || s.Drugs[0] != "tamoxifen" {
		t.Errorf("statement %+v; want tamoxifen 2019-01-01 to 2024-01-01", s)
	}
	if a := byRef["MedicationAdministration/a"]; a.Kind != recommend.MedAdministration || a.Start != "2025-06-01" || a.Drugs[0] != "zoledronic acid" {
		t.Errorf("administration %+v; want zoledronic acid on 2025-06-01", a)
	}
	if r := byRef["MedicationRequest/r"]; r.Status != "" || r.Drugs[0] != "fulvestrant" {
		t.Errorf("request %+v; want fulvestrant with no status (none written)", r)
	}
}

func TestAllergiesVariantsProcedures(t *testing.T) {
	f := mapResources(t,
		`{"resourceType":"AllergyIntolerance","id":"a1","patient":{"reference":"Patient/p"},"criticality":"high",
		 "code":{"coding":[{"system":"http://www.nlm.nih.gov/research/umls/rxnorm","code":"56946","display":"paclitaxel"}]}}`,
		`{"resourceType":"AllergyIntolerance","id":"a2","patient":{"reference":"Patient/p"},"code":{"text":"Taxanes"}}`,
		obs("v1", "69548-6", `,"valueCodeableConcept":{"coding":[{"system":"http://loinc.org","code":"LA9633-4"}]},"component":[
			{"code":{"coding":[{"system":"http://loinc.org","code":"48018-6"}]},"valueCodeableConcept":{"coding":[{"system":"http://www.genenames.org/geneId","code":"HGNC:1101"}]}},
			{"code":{"coding":[{"system":"http://loinc.org","code":"48002-0"}]},"valueCodeableConcept":{"coding":[{"system":"http://loinc.org","code":"LA6683-2","display":"Germline"}]}},
			{"code":{"coding":[{"system":"http://loinc.org","code":"53037-8"}]},"valueCodeableConcept":{"coding":[{"system":"http://loinc.org","code":"LA6668-3","display":"Pathogenic"}]}}]`),
		obs("v2", "69548-6", `,"valueString":"Not detected","component":[{"code":{"coding":[{"system":"http://loinc.org","code":"48018-6"}]},
			"valueCodeableConcept":{"coding":[{"system":"http://www.genenames.org","code":"HGNC:8975"}]}}]`),
		cond("b", "http://snomed.info/sct", "412734009", ""),
		`{"resourceType":"Procedure","id":"x1","subject":{"reference":"Patient/p"},"status":"completed","performedDateTime":"2020-02-02",
		 "code":{"coding":[{"system":"http://snomed.info/sct","code":"29827000"}]}}`,
		`{"resourceType":"Procedure","id":"x2","subject":{"reference":"Patient/p"},"status":"not-done",
		 "code":{"text":"Bilateral oophorectomy"}}`,
	)
	if len(f.Allergies) != 2 {
		t.Fatalf("allergies %+v; want 2", f.Allergies)
	}
	byRef := map[string]recommend.Allergy{}
	for _, a := range f.Allergies {
		byRef[a.Refs[0]] = a
	}
	if a := byRef["AllergyIntolerance/a1"]; !reflect.DeepEqual(a.Drugs, []string{"paclitaxel"}) || a.Criticality != "high" {
		t.Errorf("allergy %+v; want paclitaxel, high", a)
	}
	if a := byRef["AllergyIntolerance/a2"]; !reflect.DeepEqual(a.Classes, []string{"taxane"}) {
		t.Errorf("allergy %+v; want class taxane", a)
	}
	var got []string
	for _, v := range f.Variants {
		p := ""
		if v.Pathogenic != nil {
			p = map[bool]string{true: "pathogenic", false: "benign"}[*v.Pathogenic]
		}
		got = append(got, v.Gene+" "+string(v.Status)+" "+v.Origin+" "+p)
	}
	want := []string{"BRCA1 detected  ", "BRCA2 detected germline pathogenic", "PIK3CA not-detected  "}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("variants %q; want %q", got, want)
	}
	if f.Oophorectomy == nil || f.Oophorectomy.Refs[0] != "Procedure/x1" || f.Oophorectomy.Date != "2020-02-02" {
		t.Errorf("oophorectomy %+v; want Procedure/x1 (the not-done one ignored)", f.Oophorectomy)
	}
}

func TestSubjectChecks(t *testing.T) {
	value := `,"valueCodeableConcept":{"coding":[{"system":"http://loinc.org","code":"LA6576-8"}]}`
	mine := obs("a", "85337-4", value)
	abs := strings.Replace(obs("b", "85337-4", value), `"Patient/p"`, `"https://ehr.example/fhir/Patient/p/_history/2"`, 1)
	urn := strings.Replace(obs("c", "85337-4", value), `"Patient/p"`, `"urn:uuid:p"`, 1)
	other := strings.Replace(obs("d", "85337-4", value), `"Patient/p"`, `"Patient/q"`, 1)
	otherAbs := strings.Replace(obs("e", "85337-4", value), `"Patient/p"`, `"https://ehr.example/fhir/Patient/pp"`, 1)
	group := strings.Replace(obs("f", "85337-4", value), `"Patient/p"`, `"Group/p"`, 1)
	none := strings.Replace(obs("g", "85337-4", value), `"subject":{"reference":"Patient/p"},`, "", 1)
	rec, err := RecordFromBundle(bundleOf(mine, abs, urn, other, otherAbs, group, none, mine,
		`{"resourceType":"Practitioner","id":"dr"}`))
	if err != nil {
		t.Fatal(err)
	}
	var kept []string
	for _, r := range rec.Resources {
		kept = append(kept, r.Ref())
	}
	if want := []string{"Observation/a", "Observation/b", "Observation/c", "Practitioner/dr"}; !reflect.DeepEqual(kept, want) {
		t.Errorf("kept %v; want %v (deduplicated)", kept, want)
	}
	if rec.OtherSubject != 3 {
		t.Errorf("other subject %d; want 3", rec.OtherSubject)
	}
	if len(rec.Skipped) != 1 || rec.Skipped[0].Resource != "Observation/g" || rec.Skipped[0].Reason != "no patient reference" {
		t.Errorf("skipped %v; want Observation/g without a patient reference", rec.Skipped)
	}
}

func TestRecordFromBundleErrors(t *testing.T) {
	two := `{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Patient","id":"a"}},{"resource":{"resourceType":"Patient","id":"b"}}]}`
	tests := []struct {
		name string
		in   string
		is   error
	}{
		{"empty", "", nil}, {"not JSON", "Jane Doe, 1960", nil}, {"not a Bundle", `{"resourceType":"Patient","id":"Jane"}`, nil},
		{"no entries", `{"resourceType":"Bundle","entry":[]}`, nil},
		{"two patients", two, ErrBundlePatients},
		{"no patient", `{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Observation","id":"o"}}]}`, ErrBundlePatients},
	}
	for _, tt := range tests {
		_, err := RecordFromBundle([]byte(tt.in))
		if err == nil || (tt.is != nil && !errors.Is(err, tt.is)) {
			t.Errorf("%s: error %v; want one (%v)", tt.name, err, tt.is)
			continue
		}
		if strings.Contains(err.Error(), "Jane") {
			t.Errorf("%s: error %q quotes the input", tt.name, err)
		}
	}
}

func TestMapFactsIsDeterministic(t *testing.T) {
	lib := loadLibrary(t)
	for _, sc := range lib.Scenarios {
		rec, err := RecordFromBundle(sc.Bundle)
		if err != nil {
			t.Fatal(err)
		}
		a, _ := json.Marshal(MapFacts(rec))
		// Reverse the resources: the facts must not change.
		rev := *rec
		rev.Resources = nil
		for i := len(rec.Resources) - 1; i >= 0; i-- {
			rev.Resources = append(rev.Resources, rec.Resources[i])
		}
		b, _ := json.Marshal(MapFacts(&rev))
		if string(a) != string(b) {
			t.Errorf("%s: facts depend on resource order", sc.ID)
		}
	}
}

func TestDecimalsWrittenAsStrings(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		ok   bool
	}{
		{"number", `{"valueQuantity":{"value":31,"unit":"U/L"}}`, true},
		{"numeric identifier", `{"identifier":[{"system":"urn:mrn","value":"12345"}],"valueQuantity":{"value":3}}`, true},
		{"quantity value as string", `{"valueQuantity":{"value":"31","unit":"U/L"}}`, false},
		{"reference range bound as string", `{"referenceRange":[{"low":{"value" : "7","code":"U/L"}}]}`, false},
		{"valueDecimal as string", `{"extension":[{"url":"x","valueDecimal":"1.5"}]}`, false},
		{"text value", `{"valueString":"value: 12"}`, true},
	}
	for _, tt := range tests {
		if err := checkNumbers([]byte(tt.raw)); (err == nil) != tt.ok {
			t.Errorf("%s: checkNumbers = %v; want ok %v", tt.name, err, tt.ok)
		}
	}
}

func TestJSONEscapesDecode(t *testing.T) {
	// Go's encoder (and some servers) write "<" as \u003c and ">" as \u003e;
	// valid JSON that must read as the plain characters.
	f := mapResources(t,
		obs("pdl1", "85147-7", `,"valueQuantity":{"value":1.50,"comparator":"\u003c","unit":"score"}`),
		obs("er", "14228-1", `,"valueQuantity":{"value":0.5,"comparator":"\u003c","unit":"%"},"note":[{"text":"caf\u00e9 \u2028 \\u"}]`),
		`{"resourceType":"Observation","id":"lvef","status":"fin\u0061l","subject":{"reference":"Patient/p"},
			"code":{"coding":[{"system":"http://loinc.org","code":"10230-1"}]},"valueQuantity":{"value":55,"unit":"%"}}`,
		`{"resourceType":"MedicationRequest","id":"m","status":"active","intent":"order","subject":{"reference":"Patient/p"},
			"contained":[{"resourceType":"Medication","id":"k","code":{"text":"KISQALI \u0026 FEMARA CO-PACK"},"status":"\u0061ctive"}],
			"medicationReference":{"reference":"#k"}}`)
	if len(f.Record.Skipped) != 0 {
		t.Errorf("skipped %v; want nothing", f.Record.Skipped)
	}
	if len(f.PDL1) != 1 || f.PDL1[0].Comparator != "<" || f.PDL1[0].CPS == nil || *f.PDL1[0].CPS != 1.5 {
		t.Errorf("PD-L1 = %+v; want CPS <1.5", f.PDL1)
	}
	if len(f.ER) != 1 || f.ER[0].Status != recommend.ReceptorNegative {
		t.Errorf("ER = %+v; want negative from <0.5%%", f.ER)
	}
	if len(f.LVEF) != 1 || !f.LVEF[0].Final || f.LVEF[0].Status != "final" {
		t.Errorf("LVEF = %+v; want one final result", f.LVEF)
	}
	if len(f.Medications) != 1 || strings.Join(f.Medications[0].Drugs, ",") != "letrozole,ribociclib" {
		t.Errorf("medications = %+v; want letrozole and ribociclib from the contained Medication", f.Medications)
	}
	// Numbers keep their text; input without escapes is returned as it is.
	if got := string(unescaped([]byte(`{"a":"\u003c","n":1.50,"big":12345678901234567890}`))); got != `{"a":"<","big":12345678901234567890,"n":1.50}` {
		t.Errorf("unescaped = %s", got)
	}
	if raw := []byte(`{"a":1.0}`); &unescaped(raw)[0] != &raw[0] {
		t.Error("unescaped copied input without escapes")
	}
	if got := string(unescaped([]byte(`{"a":"\u003c"`))); got != `{"a":"\u003c"` {
		t.Errorf("unescaped(invalid JSON) = %s; want the input", got)
	}
}

func TestHER2Staining(t *testing.T) {
	tests := []struct {
		text string
		want string
	}{
		{"0 (no membrane staining)", "absent"},
		{"0, no staining observed", "absent"},
		{"HER2 IHC 0: no membrane staining observed (HER2-null, not ultralow).", "absent"},
		{"Score 0 - staining absent", "absent"},
		{"0 (null)", "absent"},
		{"0 without membrane staining", "absent"},
		{"0 (faint, incomplete membrane staining in ≤10% of tumour cells)", "faint"},
		{"IHC 0 with incomplete membrane staining in <=10%", "faint"},
		{"HER2-ultralow", "faint"},
		{"0 (ULTRA-LOW)", "faint"},
		{"0, barely perceptible staining", "faint"},
		{"0, not ultralow", ""},
		{"0 (non-ultralow)", ""},
		{"0, no faint staining", "absent"},
		{"0", ""},
		{"Negative (score 0)", ""},
		{"0: null or ultralow not stated", ""},
	}
	for _, tt := range tests {
		if got := stainingFromText(tt.text); got != tt.want {
			t.Errorf("stainingFromText(%q) = %q; want %q", tt.text, got, tt.want)
		}
	}
	ihc0 := `,"valueCodeableConcept":{"coding":[{"system":"http://loinc.org","code":"LA6111-4","display":"0"}],"text":%q}`
	for _, tt := range []struct {
		name, value, note, want string
	}{
		{"coded 0 with text 'no membrane staining'", fmt.Sprintf(ihc0, "0 (no membrane staining)"), "", "absent"},
		{"coded 0 with text 'ultralow' and no score in the text", fmt.Sprintf(ihc0, "ultralow"), "", "faint"},
		{"coded 0, staining in the note", fmt.Sprintf(ihc0, "0"), "HER2 IHC 0: no membrane staining observed (HER2-null, not ultralow).", "absent"},
		{"coded 0, ultralow in the note", fmt.Sprintf(ihc0, "0"), "Faint incomplete staining in 5% of cells.", "faint"},
		{"IHC 1+ has no staining description", `,"valueString":"1+ (faint incomplete staining in 30%)"`, "", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			note := ""
			if tt.note != "" {
				note = fmt.Sprintf(`,"note":[{"text":%q}]`, tt.note)
			}
			f := mapResources(t, obs("o", "85319-2", tt.value+note))
			if len(f.HER2) != 1 || f.HER2[0].Staining != tt.want {
				t.Errorf("HER2 = %+v; want staining %q", f.HER2, tt.want)
			}
		})
	}
}

func TestTextReaders(t *testing.T) {
	for _, tt := range []struct {
		text  string
		p     float64
		below bool
		ok    bool
	}{
		{"55-60%", 55, false, true}, {"Visually estimated 45 to 50%", 45, false, true}, {"0-5%", 0, false, false},
		{"<1%", 1, true, true}, {"Positive, 90% of tumor cells", 90, false, true}, {"60 - 65 %", 60, false, true},
	} {
		p, below, ok := percentFromText(tt.text)
		if p != tt.p || below != tt.below || ok != tt.ok {
			t.Errorf("percentFromText(%q) = %v %v %v; want %v %v %v", tt.text, p, below, ok, tt.p, tt.below, tt.ok)
		}
	}
	for _, tt := range []struct {
		text string
		n    int
		ok   bool
	}{
		{"1", 1, true}, {"ECOG 2", 2, true}, {"ECOG 1-2", 0, false}, {"2 (of 5)", 2, true}, {"Grade 1: restricted in strenuous activity", 1, true},
		{"ECOG 2: capable of self-care, up to 50% of waking hours", 2, true}, {"unknown", 0, false}, {"1 or 2", 0, false},
	} {
		s := tt.text
		n, ok := ecogValue(value{s: &s})
		if n != tt.n || ok != tt.ok {
			t.Errorf("ecogValue(%q) = %d %v; want %d %v", tt.text, n, ok, tt.n, tt.ok)
		}
	}
	for text, want := range map[string]string{
		"Not pregnant": "not-pregnant", "Patient is not currently pregnant": "not-pregnant", "Pregnant": "pregnant",
		"Possibly pregnant": "", "Pregnancy not yet confirmed": "", "Negative": "not-pregnant", "No": "not-pregnant",
		"pregnancy test: negative": "not-pregnant", "Currently pregnant, 12 weeks": "pregnant", "Unknown": "",
		"Patient denies pregnancy": "not-pregnant",
	} {
		if got := pregnancyFromText(text); got != want {
			t.Errorf("pregnancyFromText(%q) = %q; want %q", text, got, want)
		}
	}
	for text, want := range map[string]string{
		"Progressive disease": "worsened", "Patient's condition worsened": "worsened", "No evidence of progression": "",
		"Stable disease, no progression": "stable", "Stable disease": "stable", "Partial response": "improved",
		"No evidence of disease": "not-detected", "Complete response": "not-detected", "Indeterminate": "undetermined", "": "",
	} {
		if got := diseaseStatusFromText(text); got != want {
			t.Errorf("diseaseStatusFromText(%q) = %q; want %q", text, got, want)
		}
	}
	for text, want := range map[string]string{
		"Postmenopausal": "postmenopausal", "Pre-menopausal": "premenopausal", "Perimenopause": "perimenopausal",
		"Chemotherapy-induced postmenopausal state": "induced", "Menopause": "", "Postpartum": "",
	} {
		if got := menopauseFromText(text); got != want {
			t.Errorf("menopauseFromText(%q) = %q; want %q", text, got, want)
		}
	}
	for in, want := range map[string]string{
		"urn:oid:2.16.840.1.113883.6.90": sysICD10CM, "http: //snomed.info/sct": sysSNOMED, "http://loinc.org/": sysLOINC,
		"https://loinc.org": sysLOINC, "urn:oid:2.16.840.1.113883.6.88": sysRxNorm, sysSNOMED: sysSNOMED,
		" https://fhir.cerner.com/x/codeSet/72 ": "https://fhir.cerner.com/x/codeSet/72",
	} {
		if got := canonicalSystem(in); got != want {
			t.Errorf("canonicalSystem(%q) = %q; want %q", in, got, want)
		}
	}
	for text, want := range map[string]float64{
		"HER2/CEP17 ratio 1.3; average HER2 copy number 2.9": 2.9, "4.5 copies per cell": 4.5,
		"CEP17 copy number 2.0; HER2 copy number 6.1": 6.1, "HER2 copies per nucleus: 3.8": 3.8,
	} {
		if got, ok := copiesFromText(text); !ok || got != want {
			t.Errorf("copiesFromText(%q) = %v %v; want %v", text, got, ok, want)
		}
	}
	if got, ok := copiesFromText("CEP17 copy number 2.0"); ok {
		t.Errorf("copiesFromText(CEP17 only) = %v; want nothing", got)
	}
}
