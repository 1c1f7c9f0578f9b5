package recommend

import (
	"time"
)

// Fact builders for the scenario tables. Every patient is synthetic.

var testNow = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

func fp(v float64) *float64 { return &v }
func ip(v int) *int         { return &v }
func bp(v bool) *bool       { return &v }
func rsp(v ReceptorStatus) *ReceptorStatus {
	return &v
}

func src(ref, date string) Source { return Source{Refs: []string{ref}, Date: date, Status: "final"} }

func erResult(st ReceptorStatus, pct *float64, date string, sp SpecimenSite) ReceptorResult {
	return ReceptorResult{Status: st, Percent: pct, Specimen: sp, Final: true, Source: src("Observation/er-"+date, date)}
}

func prResult(st ReceptorStatus, date string) ReceptorResult {
	return ReceptorResult{Status: st, Final: true, Source: src("Observation/pr-"+date, date)}
}

func her2IHC(score IHCScore, date string) HER2Result {
	return HER2Result{IHC: score, Final: true, Source: src("Observation/her2-"+date, date)}
}

func med(ref string, kind MedicationKind, status, start, end string, names ...string) Medication {
	return Medication{Kind: kind, Drugs: names, Status: status, Start: start, End: end, Source: Source{Refs: []string{ref}, Date: start}}
}

func metastasis(site, date string) Metastasis {
	visceral := site != "bone" && site != "lymph-node" && site != ""
	return Metastasis{Kind: MetastasisDistant, Site: site, Visceral: visceral, Basis: "condition",
		Finding: Finding{ClinicalStatus: "active", VerificationStatus: "confirmed", Source: src("Condition/met-"+site, date)}}
}

func comorbidity(k ComorbidityKind, status string) Comorbidity {
	return Comorbidity{Kind: k, Finding: Finding{ClinicalStatus: status, VerificationStatus: "confirmed", Source: src("Condition/"+string(k), "2025-01-01")}}
}

func lab(k LabKind, v float64, flag RangeFlag, date string) Lab {
	return Lab{Kind: k, Value: &v, Flag: flag, Final: true, Source: src("Observation/lab-"+string(k), date)}
}

func worsened(date string) DiseaseStatus {
	return DiseaseStatus{Value: DiseaseWorsened, Final: true, Source: src("Observation/status-"+date, date)}
}

func variant(gene, origin string) Variant {
	return Variant{Gene: gene, Status: VariantDetected, Origin: origin, Pathogenic: bp(true), Final: true, Source: src("Observation/var-"+gene, "2026-11-01")}
}

func variantAbsent(gene, origin string) Variant {
	return Variant{Gene: gene, Status: VariantAbsent, Origin: origin, Final: true, Source: src("Observation/var-"+gene, "2026-11-01")}
}

// patient is a 68-year-old woman with ER+ PR+ HER2 IHC 1+ breast cancer,
// bone metastases recorded on 2026-10-05, recent ECOG 1, LVEF 60% and
// normal labs, and no therapy for metastatic disease yet.
func patient(mods ...func(*Facts)) Facts {
	f := Facts{
		Patient:    Patient{Ref: "Patient/p1", Sex: SexFemale, BirthDate: "1958-03-01"},
		ER:         []ReceptorResult{erResult(ReceptorPositive, fp(90), "2026-10-01", SpecimenMetastatic)},
		PR:         []ReceptorResult{prResult(ReceptorPositive, "2026-10-01")},
		HER2:       []HER2Result{her2IHC(IHC1, "2026-10-01")},
		Metastases: []Metastasis{metastasis("bone", "2026-10-05")},
		ECOG:       []ScoreResult{{Value: ip(1), Final: true, Source: src("Observation/ecog", "2026-11-20")}},
		LVEF:       []Measurement{{Value: fp(60), Unit: "%", Final: true, Source: src("Observation/lvef", "2026-11-20")}},
		Labs: []Lab{
			lab(LabANC, 3.5, RangeNormal, "2026-11-20"), lab(LabALT, 20, RangeNormal, "2026-11-20"),
			lab(LabCreatinine, 0.8, RangeNormal, "2026-11-20"), lab(LabPotassium, 4.2, RangeNormal, "2026-11-20"),
			lab(LabMagnesium, 2.0, RangeNormal, "2026-11-20"), lab(LabHbA1c, 5.4, RangeNormal, "2026-11-20"),
			lab(LabFastingGlucose, 90, RangeNormal, "2026-11-20"),
		},
		Statements: Statements{QTcF: fp(420), Date: "2026-11-20"},
	}
	for _, m := range mods {
		m(&f)
	}
	return f
}

func her2Positive(f *Facts) { f.HER2 = []HER2Result{her2IHC(IHC3, "2026-10-01")} }

func tnbc(f *Facts) {
	f.ER = []ReceptorResult{erResult(ReceptorNegative, fp(0), "2026-10-01", SpecimenMetastatic)}
	f.PR = []ReceptorResult{prResult(ReceptorNegative, "2026-10-01")}
}

func hrNegative(f *Facts) { tnbc(f) }

func premenopausal(f *Facts) {
	f.Patient.BirthDate = "1982-05-01"
	f.Menopause = []MenopauseResult{{Status: Premenopausal, Final: true, Source: src("Observation/meno", "2026-10-01")}}
	f.Pregnancy = []PregnancyResult{{Status: NotPregnant, Final: true, Source: src("Observation/preg", "2026-11-24")}}
}

func withMeds(ms ...Medication) func(*Facts) {
	return func(f *Facts) { f.Medications = append(f.Medications, ms...) }
}

func withVariants(vs ...Variant) func(*Facts) {
	return func(f *Facts) { f.Variants = append(f.Variants, vs...) }
}

func withComorb(cs ...Comorbidity) func(*Facts) {
	return func(f *Facts) { f.Comorbidities = append(f.Comorbidities, cs...) }
}

func withStatus(ds ...DiseaseStatus) func(*Facts) {
	return func(f *Facts) { f.DiseaseStatus = append(f.DiseaseStatus, ds...) }
}

func withLVEF(v float64, date string) func(*Facts) {
	return func(f *Facts) {
		f.LVEF = []Measurement{{Value: &v, Unit: "%", Final: true, Source: src("Observation/lvef2", date)}}
	}
}

func withMets(ms ...Metastasis) func(*Facts) {
	return func(f *Facts) { f.Metastases = append(f.Metastases, ms...) }
}

func withCPS(v float64, cmp string) func(*Facts) {
	return func(f *Facts) {
		f.PDL1 = []PDL1Result{{CPS: &v, Comparator: cmp, Final: true, Source: src("Observation/pdl1", "2026-10-10")}}
	}
}

// firstLineAIProgressed: letrozole + palbociclib from 2026-01 with
// progression recorded on 2026-11-01 (line 2 next). Metastases recorded
// 2026-01-05.
func firstLineAIProgressed(f *Facts) {
	f.Metastases = []Metastasis{metastasis("bone", "2026-01-05"), metastasis("liver", "2026-01-05")}
	f.Medications = append(f.Medications,
		med("MedicationRequest/let", MedRequest, "active", "2026-01-10", "", "letrozole"),
		med("MedicationRequest/palbo", MedRequest, "active", "2026-01-12", "", "palbociclib"))
	f.DiseaseStatus = append(f.DiseaseStatus, worsened("2026-11-01"))
}
