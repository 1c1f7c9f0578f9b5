package fhir

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/mbcplan/mbcplan/recommend"
)

// The holdout bundles (testdata/holdout) are small records written the way
// Epic, Oracle Health and mCODE senders write them, one encoding problem
// each. Their facts are stated below as lines, one per fact, so that a
// table shows what the reader must get from each bundle: nothing more,
// nothing less.

// factLines renders the facts a bundle gives as one line per fact, with
// its references and date, leaving out empty fields.
func factLines(f recommend.Facts) []string {
	var out []string
	add := func(kind string, src recommend.Source, fields ...string) {
		var b strings.Builder
		b.WriteString(kind)
		for i := 0; i+1 < len(fields); i += 2 {
			if fields[i+1] != "" {
				fmt.Fprintf(&b, " %s=%s", fields[i], fields[i+1])
			}
		}
		if src.Date != "" {
			fmt.Fprintf(&b, " date=%s", src.Date)
		}
		fmt.Fprintf(&b, " refs=%s", strings.Join(src.Refs, ","))
		out = append(out, b.String())
	}
	num := func(p *float64) string {
		if p == nil {
			return ""
		}
		return strconv.FormatFloat(*p, 'f', -1, 64)
	}
	inum := func(p *int) string {
		if p == nil {
			return ""
		}
		return strconv.Itoa(*p)
	}
	yes := func(b bool) string {
		if b {
			return "yes"
		}
		return ""
	}
	boolp := func(p *bool) string {
		if p == nil {
			return ""
		}
		return strconv.FormatBool(*p)
	}
	code := func(c recommend.Coding) string {
		if c.Code == "" {
			return ""
		}
		return c.Code
	}
	for _, r := range f.ER {
		add("ER", r.Source, "status", string(r.Status), "pct", num(r.Percent), "allred", inum(r.Allred), "method", r.Method,
			"specimen", string(r.Specimen), "final", yes(r.Final))
	}
	for _, r := range f.PR {
		add("PR", r.Source, "status", string(r.Status), "pct", num(r.Percent), "allred", inum(r.Allred), "method", r.Method,
			"specimen", string(r.Specimen), "final", yes(r.Final))
	}
	for _, r := range f.HER2 {
		add("HER2", r.Source, "status", string(r.Status), "ihc", string(r.IHC), "staining", r.Staining, "ish", string(r.ISH),
			"ratio", num(r.Ratio), "copies", num(r.CopyNumber), "method", r.Method, "specimen", string(r.Specimen), "final", yes(r.Final))
	}
	for _, r := range f.Menopause {
		add("MENOPAUSE", r.Source, "status", string(r.Status), "final", yes(r.Final))
	}
	if o := f.Oophorectomy; o != nil {
		add("OOPHORECTOMY", o.Source, "code", code(o.Coding))
	}
	for _, r := range f.Pregnancy {
		add("PREGNANCY", r.Source, "status", string(r.Status), "final", yes(r.Final))
	}
	for _, r := range f.ECOG {
		add("ECOG", r.Source, "value", inum(r.Value), "final", yes(r.Final))
	}
	for _, r := range f.LVEF {
		add("LVEF", r.Source, "value", num(r.Value), "unit", r.Unit, "final", yes(r.Final))
	}
	for _, r := range f.Labs {
		add("LAB", r.Source, "kind", string(r.Kind), "value", num(r.Value), "unit", r.Unit, "flag", string(r.Flag), "final", yes(r.Final))
	}
	for _, r := range f.Cancer {
		add("CANCER", r.Source, "code", code(r.Coding), "clinical", r.ClinicalStatus, "verification", r.VerificationStatus)
	}
	for _, r := range f.Metastases {
		add("METASTASIS", r.Source, "kind", string(r.Kind), "site", r.Site, "visceral", yes(r.Visceral), "basis", r.Basis,
			"clinical", r.ClinicalStatus, "verification", r.VerificationStatus)
	}
	for _, r := range f.Comorbidities {
		add("COMORBIDITY", r.Source, "kind", string(r.Kind), "decompensated", yes(r.Decompensated), "clinical", r.ClinicalStatus,
			"verification", r.VerificationStatus)
	}
	for _, r := range f.Medications {
		add("MED", r.Source, "kind", string(r.Kind), "drugs", strings.Join(r.Drugs, "+"), "status", r.Status, "start", r.Start, "end", r.End)
	}
	for _, r := range f.DiseaseStatus {
		add("DISEASE", r.Source, "value", string(r.Value), "final", yes(r.Final))
	}
	for _, r := range f.Variants {
		add("VARIANT", r.Source, "gene", r.Gene, "status", string(r.Status), "origin", r.Origin, "pathogenic", boolp(r.Pathogenic), "final", yes(r.Final))
	}
	for _, r := range f.PDL1 {
		add("PDL1", r.Source, "cps", num(r.CPS), "comparator", r.Comparator, "final", yes(r.Final))
	}
	for _, r := range f.Allergies {
		add("ALLERGY", r.Source, "drugs", strings.Join(r.Drugs, "+"), "classes", strings.Join(r.Classes, "+"))
	}
	for _, s := range f.Record.Skipped {
		out = append(out, "SKIPPED "+s.Resource+": "+s.Reason)
	}
	if n := f.Record.OtherSubject; n > 0 {
		out = append(out, fmt.Sprintf("OTHER SUBJECT %d", n))
	}
	return out
}

func TestHoldoutBundles(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "holdout", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	for _, tt := range holdoutCases {
		listed = append(listed, filepath.Join("testdata", "holdout", tt.file))
	}
	if !slices.Equal(files, listed) {
		t.Errorf("holdout bundles %v; the table lists %v (one row per bundle, in file order)", files, listed)
	}
	for _, tt := range holdoutCases {
		t.Run(tt.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", "holdout", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			rec, err := RecordFromBundle(data)
			if err != nil {
				t.Fatal(err)
			}
			got := factLines(MapFacts(rec))
			want := tt.want
			for _, w := range want {
				if !slices.Contains(got, w) {
					t.Errorf("missing: %s", w)
				}
			}
			for _, g := range got {
				if !slices.Contains(want, g) {
					t.Errorf("unexpected: %s", g)
				}
			}
		})
	}
}

var holdoutCases = []struct {
	file string
	want []string
}{
	// Epic: local lab codes, LOINC second or none ("ER ASSAY", "PR ASSAY"), results in text, interpretation only, issued only.
	{"01-epic-receptor-text.json", []string{
		"ER status=positive pct=90 method=text specimen=primary final=yes date=2023-03-05T10:15:00-05:00 refs=Observation/eER1",
		"ER status=negative method=text specimen=metastatic final=yes date=2025-01-08T08:40:00-05:00 refs=Observation/eER2",
		"PR status=positive pct=5 method=text specimen=primary final=yes date=2023-03-05T10:15:00-05:00 refs=Observation/ePR1",
		"PR status=negative method=interpretation specimen=metastatic final=yes date=2025-01-10T12:00:00Z refs=Observation/ePR2",
		"HER2 ihc=1+ method=text final=yes date=2023-03-05T10:15:00-05:00 refs=Observation/eHER21",
	}},
	// Epic: HER2 IHC 2+ with its reflex FISH, all in text; the ratio and copy number in one sentence.
	{"02-epic-her2-reflex-fish.json", []string{
		"ER status=positive pct=95 method=text final=yes date=2024-05-02T09:00:00-04:00 refs=Observation/eER",
		"HER2 ihc=2+ method=text final=yes date=2024-05-02T09:00:00-04:00 refs=Observation/eIHC",
		"HER2 ish=negative method=ish final=yes date=2024-05-06T11:30:00-04:00 refs=Observation/eFISH1",
		"HER2 ratio=1.3 copies=2.9 final=yes date=2024-05-06T11:30:00-04:00 refs=Observation/eFISH2",
	}},
	// Epic: a receptor panel whose results are member Observations; the panel itself is no result.
	{"03-epic-panel-hasmember.json", []string{
		"ER status=positive method=text final=yes date=2024-02-01T09:00:00Z refs=Observation/ePanelER",
		"PR status=negative pct=0 method=text final=yes date=2024-02-01T09:00:00Z refs=Observation/ePanelPR",
		"HER2 ihc=0 method=text final=yes date=2024-02-01T09:00:00Z refs=Observation/ePanelHER2",
	}},
	// Oracle Health: codeSet codes with LOINC, local categories, a "http: //loinc.org" typo, an OID and a trailing slash for LOINC; LVEF "55-60%" is read as its lower bound.
	{"04-oracle-observations.json", []string{
		"ER status=positive method=text final=yes date=2024-06-10T14:00:00.000Z refs=Observation/oER",
		"HER2 status=negative method=text final=yes date=2024-06-10T14:00:00.000Z refs=Observation/oHER2",
		"ECOG value=2 final=yes date=2024-06-12T10:00:00.000Z refs=Observation/oECOG",
		"LVEF value=55 unit=% final=yes date=2024-06-01T10:00:00.000Z refs=Observation/oLVEF",
		"LAB kind=alt value=88 unit=U/L flag=high final=yes date=2024-06-12T07:30:00.000Z refs=Observation/oALT",
		"LAB kind=fasting-glucose value=96 unit=mg/dL flag=normal final=yes date=2024-06-12T07:30:00.000Z refs=Observation/oGluc",
	}},
	// Oracle Health: IMO codes with ICD-10-CM, problem-list and health-concern categories, resolved, provisional and refuted conditions, ER status and menopause as Conditions (Z17.0, Z78.0).
	{"05-oracle-conditions.json", []string{
		"ER status=positive method=condition final=yes date=2019-04-22T15:10:00.000Z refs=Condition/oER",
		"MENOPAUSE status=postmenopausal final=yes date=2021-06-01T00:00:00.000Z refs=Condition/oMeno",
		"CANCER code=C50.412 clinical=active verification=confirmed date=2019-04 refs=Condition/oCa",
		"METASTASIS kind=distant site=bone basis=condition clinical=active verification=confirmed date=2024-03-18 refs=Condition/oBone",
		"METASTASIS kind=distant site=liver visceral=yes basis=condition clinical=active verification=provisional date=2024-03-20 refs=Condition/oLiver",
		"METASTASIS kind=distant site=brain visceral=yes basis=condition verification=refuted date=2024-03-25T00:00:00.000Z refs=Condition/oRefuted",
		"COMORBIDITY kind=diabetes clinical=active verification=confirmed date=2012 refs=Condition/oDM",
		"COMORBIDITY kind=heart-failure clinical=resolved verification=confirmed date=2020-08-01 refs=Condition/oHF",
		"COMORBIDITY kind=long-qt clinical=active verification=confirmed date=2018-05-05 refs=Condition/oQT",
	}},
	// Oracle Health: medications named only by text, a period only in the dosage or the dispense request, a bundled Medication.
	{"06-oracle-medications.json", []string{
		"MED kind=request drugs=palbociclib status=stopped start=2022-03-01T08:00:00.000Z date=2022-03-01T08:00:00.000Z refs=MedicationRequest/oMR3",
		"MED kind=request drugs=fulvestrant status=completed start=2023-01-05T00:00:00.000Z end=2023-07-05T00:00:00.000Z date=2023-01-04T08:00:00.000Z refs=MedicationRequest/oMR2",
		"MED kind=administration drugs=goserelin status=completed start=2024-03 end=2024-03 date=2024-03 refs=MedicationAdministration/oMA1",
		"MED kind=request drugs=trastuzumab status=active start=2024-04-02T09:00:00.000Z end=2024-10-02T09:00:00.000Z date=2024-04-01T13:00:00.000Z refs=MedicationRequest/oMR1",
		"MED kind=statement drugs=letrozole+ribociclib status=active start=2024-05-01 date=2024-05-01 refs=MedicationStatement/oMS1",
	}},
	// mCODE: cM1 (SNOMED) and stage IV / cM0 (AJCC codes), secondary cancer with coded body sites, disease status coded and in words.
	{"07-mcode-staging-metastasis.json", []string{
		"CANCER code=353431000119107 clinical=active verification=confirmed date=2021-09-15 refs=Condition/mPrimary",
		"METASTASIS kind=none basis=m-category date=2021-09-20 refs=Observation/mM0",
		"METASTASIS kind=distant site=bone basis=condition clinical=active verification=confirmed date=2024-01-10 refs=Condition/mBone",
		"METASTASIS kind=distant site=liver visceral=yes basis=condition clinical=active verification=confirmed date=2024-01-10 refs=Condition/mLiver",
		"METASTASIS kind=distant basis=m-category date=2024-01-12 refs=Observation/mM",
		"METASTASIS kind=distant basis=stage-group date=2024-01-12 refs=Observation/mStage",
		"DISEASE value=stable final=yes date=2024-04-01 refs=Observation/mStatus3",
		"DISEASE value=worsened final=yes date=2024-07-01 refs=Observation/mStatus1",
		"DISEASE value=worsened final=yes date=2024-10-01 refs=Observation/mStatus2",
	}},
	// mCODE / Genomics Reporting: variants with gene, HGVS, genomic source and significance components; germline BRCA; interpretation only.
	{"08-mcode-genomics.json", []string{
		"VARIANT gene=AKT1 status=detected final=yes date=2024-11-02 refs=Observation/gAKT1",
		"VARIANT gene=BRCA1 status=detected origin=germline pathogenic=false final=yes date=2022-02-14 refs=Observation/gBRCA1",
		"VARIANT gene=BRCA2 status=detected origin=germline pathogenic=true final=yes date=2022-02-14 refs=Observation/gBRCA2",
		"VARIANT gene=ESR1 status=detected origin=somatic final=yes date=2024-11-02 refs=Observation/gESR1",
		"VARIANT gene=PIK3CA status=not-detected origin=somatic final=yes date=2024-11-02 refs=Observation/gPIK3CA",
	}},
	// Menopause, pregnancy (hCG, 82810-3), ECOG and LVEF as text: "not currently pregnant" is not pregnant, "ECOG 1-2" is not a score, "45 to 50%" gives 45; an LMP is no menopausal status.
	{"09-menopause-pregnancy-function-text.json", []string{
		"MENOPAUSE status=postmenopausal final=yes date=2025-02-01 refs=Observation/fMeno",
		"PREGNANCY status=not-pregnant final=yes date=2025-01-05 refs=Observation/fPreg2",
		"PREGNANCY status=not-pregnant final=yes date=2025-02-03 refs=Observation/fPreg1",
		"PREGNANCY status=not-pregnant final=yes date=2025-02-03T08:00:00-05:00 refs=Observation/fHCG",
		"ECOG value=1 final=yes date=2025-02-03 refs=Observation/fECOG1",
		"LVEF value=45 unit=% final=yes date=2024-12-02 refs=Observation/fLVEF2",
		"LVEF value=62 unit=% final=yes date=2025-01-28 refs=Observation/fLVEF1",
	}},
	// Dates: effectivePeriod, issued only, effectiveInstant, partial dates, onsetPeriod, recordedDate, performedPeriod.
	{"10-dates-partial-and-periods.json", []string{
		"ER status=positive method=coded final=yes date=2023-11 refs=Observation/dER",
		"PR status=negative method=coded final=yes date=2023-11-20T10:00:00Z refs=Observation/dPR",
		"HER2 ihc=3+ method=coded final=yes date=2023-11-18T09:30:00.000Z refs=Observation/dHER2",
		"OOPHORECTOMY code=29827000 date=2015-03 refs=Procedure/dBSO",
		"METASTASIS kind=distant site=bone basis=condition clinical=active verification=confirmed date=2024 refs=Condition/dBone",
		"METASTASIS kind=distant site=lung visceral=yes basis=condition clinical=active verification=confirmed date=2024-02-10T11:00:00Z refs=Condition/dLung",
		"MED kind=statement drugs=tamoxifen status=completed start=2018-06 end=2023-06 date=2018-06 refs=MedicationStatement/dMS",
	}},
	// Bad data that costs only itself: an unknown (DSTU2) resource type, a CodeableConcept given as a string, a duplicate id, a null resource, a numeric status, another patient.
	{"11-bad-data.json", []string{
		"ER status=positive method=coded final=yes date=2024-01-01 refs=Observation/bER",
		"HER2 ihc=3+ method=coded final=yes date=2024-01-01 refs=Observation/bHER2",
		"METASTASIS kind=distant site=bone basis=condition clinical=active verification=confirmed date=2024-02-01 refs=Condition/bBone",
		"SKIPPED MedicationOrder/bOld: not a FHIR R4 resource type",
		"SKIPPED Condition/bStr: invalid Condition: field code has the wrong JSON type (string)",
		"SKIPPED Observation/bER: another entry has the same type and id; the first one was read",
		"SKIPPED entry 7: not a FHIR resource",
		"SKIPPED Observation/bStatus: invalid Observation: unrecognised ObservationStatus code",
		"OTHER SUBJECT 1",
	}},
	// Drug names: brands, biosimilar suffixes and brands, upper case, strengths and forms; an unrelated drug keeps its name and matches nothing.
	{"12-drug-names.json", []string{
		"MED kind=request drugs=capecitabine status=active start=2024-01-09 date=2024-01-09 refs=MedicationRequest/rx36",
		"MED kind=request drugs=fulvestrant status=active start=2024-01-13 date=2024-01-13 refs=MedicationRequest/rx12",
		"MED kind=request drugs=triptorelin status=active start=2024-01-25 date=2024-01-25 refs=MedicationRequest/rx24",
		"MED kind=request drugs=fam-trastuzumab deruxtecan status=active start=2024-02-02 date=2024-02-02 refs=MedicationRequest/rx01",
		"MED kind=request drugs=anastrozole status=active start=2024-02-10 date=2024-02-10 refs=MedicationRequest/rx37",
		"MED kind=request drugs=elacestrant status=active start=2024-02-14 date=2024-02-14 refs=MedicationRequest/rx13",
		"MED kind=request drugs=trastuzumab status=active start=2024-02-26 date=2024-02-26 refs=MedicationRequest/rx25",
		"MED kind=request drugs=fam-trastuzumab deruxtecan status=active start=2024-03-03 date=2024-03-03 refs=MedicationRequest/rx02",
		"MED kind=request status=active start=2024-03-11 date=2024-03-11 refs=MedicationRequest/rx38",
		"MED kind=request drugs=capivasertib status=active start=2024-03-15 date=2024-03-15 refs=MedicationRequest/rx14",
		"MED kind=request drugs=trastuzumab status=active start=2024-03-27 date=2024-03-27 refs=MedicationRequest/rx26",
		"MED kind=request drugs=fam-trastuzumab deruxtecan status=active start=2024-04-04 date=2024-04-04 refs=MedicationRequest/rx03",
		"MED kind=request drugs=alpelisib status=active start=2024-04-16 date=2024-04-16 refs=MedicationRequest/rx15",
		"MED kind=request drugs=trastuzumab status=active start=2024-04-28 date=2024-04-28 refs=MedicationRequest/rx27",
		"MED kind=request drugs=trastuzumab status=active start=2024-05-01 date=2024-05-01 refs=MedicationRequest/rx28",
		"MED kind=request drugs=fam-trastuzumab deruxtecan status=active start=2024-05-05 date=2024-05-05 refs=MedicationRequest/rx04",
		"MED kind=request drugs=olaparib status=active start=2024-05-17 date=2024-05-17 refs=MedicationRequest/rx16",
		"MED kind=request drugs=trastuzumab status=active start=2024-06-02 date=2024-06-02 refs=MedicationRequest/rx29",
		"MED kind=request drugs=ado-trastuzumab emtansine status=active start=2024-06-06 date=2024-06-06 refs=MedicationRequest/rx05",
		"MED kind=request drugs=talazoparib status=active start=2024-06-18 date=2024-06-18 refs=MedicationRequest/rx17",
		"MED kind=request drugs=trastuzumab status=active start=2024-07-03 date=2024-07-03 refs=MedicationRequest/rx30",
		"MED kind=request drugs=nab-paclitaxel status=active start=2024-07-07 date=2024-07-07 refs=MedicationRequest/rx06",
		"MED kind=request drugs=sacituzumab govitecan status=active start=2024-07-19 date=2024-07-19 refs=MedicationRequest/rx18",
		"MED kind=request drugs=trastuzumab status=active start=2024-08-04 date=2024-08-04 refs=MedicationRequest/rx31",
		"MED kind=request drugs=nab-paclitaxel status=active start=2024-08-08 date=2024-08-08 refs=MedicationRequest/rx07",
		"MED kind=request drugs=sacituzumab govitecan status=active start=2024-08-20 date=2024-08-20 refs=MedicationRequest/rx19",
		"MED kind=request drugs=trastuzumab status=active start=2024-09-05 date=2024-09-05 refs=MedicationRequest/rx32",
		"MED kind=request drugs=nab-paclitaxel status=active start=2024-09-09 date=2024-09-09 refs=MedicationRequest/rx08",
		"MED kind=request drugs=pembrolizumab status=active start=2024-09-21 date=2024-09-21 refs=MedicationRequest/rx20",
		"MED kind=request drugs=trastuzumab status=active start=2024-10-06 date=2024-10-06 refs=MedicationRequest/rx33",
		"MED kind=request drugs=ribociclib status=active start=2024-10-10 date=2024-10-10 refs=MedicationRequest/rx09",
		"MED kind=request drugs=goserelin status=active start=2024-10-22 date=2024-10-22 refs=MedicationRequest/rx21",
		"MED kind=request drugs=pertuzumab+trastuzumab status=active start=2024-11-07 date=2024-11-07 refs=MedicationRequest/rx34",
		"MED kind=request drugs=palbociclib status=active start=2024-11-11 date=2024-11-11 refs=MedicationRequest/rx10",
		"MED kind=request drugs=leuprolide status=active start=2024-11-23 date=2024-11-23 refs=MedicationRequest/rx22",
		"MED kind=request drugs=denosumab status=active start=2024-12-08 date=2024-12-08 refs=MedicationRequest/rx35",
		"MED kind=request drugs=abemaciclib status=active start=2024-12-12 date=2024-12-12 refs=MedicationRequest/rx11",
		"MED kind=request drugs=leuprolide status=active start=2024-12-24 date=2024-12-24 refs=MedicationRequest/rx23",
	}},
	// Epic: HL7 OIDs as code systems for ICD-10-CM, SNOMED, LOINC and RxNorm.
	{"13-epic-oid-code-systems.json", []string{
		"HER2 status=negative method=coded final=yes date=2020-10-05 refs=Observation/eHER2",
		"CANCER code=254837009 clinical=active verification=confirmed date=2020-10-01 refs=Condition/eCa",
		"METASTASIS kind=distant site=liver visceral=yes basis=condition clinical=active verification=confirmed date=2024-09-09 refs=Condition/eLiver",
		"COMORBIDITY kind=ild clinical=inactive verification=confirmed date=2023-01-01 refs=Condition/eILD",
		"MED kind=request drugs=palbociclib status=active start=2024-09-20 date=2024-09-20 refs=MedicationRequest/eMR",
	}},
}
