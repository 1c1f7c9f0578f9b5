package recommend

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// genFacts builds random facts, including unknowns and contradictions. The
// generator is seeded, so a failure replays.
func genFacts(r *rand.Rand) Facts {
	pick := func(xs ...string) string { return xs[r.IntN(len(xs))] }
	coin := func(p float64) bool { return r.Float64() < p }
	dates := []string{"", "2019-05-01", "2024-02-01", "2025-06-15", "2026-01-10", "2026-06-01", "2026-10-01", "2026-11-20"}
	date := func() string { return dates[r.IntN(len(dates))] }
	statuses := []ReceptorStatus{ReceptorUnknown, ReceptorPositive, ReceptorNegative, ReceptorEquivocal}
	rstat := func() ReceptorStatus { return statuses[r.IntN(len(statuses))] }
	specimens := []SpecimenSite{SpecimenUnknown, SpecimenPrimary, SpecimenMetastatic}
	ihcs := []IHCScore{IHCUnknown, IHC0, IHC1, IHC2, IHC3}
	var f Facts
	f.Patient = Patient{Ref: "Patient/gen", Sex: Sex(pick("female", "female", "female", "male", "", "other")),
		BirthDate: pick("", "1950-01-01", "1966-07-01", "1970-01-01", "1985-03-01", "1996-12-31")}
	f.Patient.Deceased = coin(0.02)
	rec := func() ReceptorResult {
		x := ReceptorResult{Status: rstat(), Specimen: specimens[r.IntN(3)], Final: coin(0.8), Source: Source{Refs: []string{fmt.Sprintf("Observation/r%d", r.IntN(100))}, Date: date()}}
		if coin(0.4) {
			x.Percent = fp(float64(r.IntN(101)))
		}
		if coin(0.1) {
			x.Allred = ip(r.IntN(9))
		}
		return x
	}
	for i := r.IntN(3); i > 0; i-- {
		f.ER = append(f.ER, rec())
	}
	for i := r.IntN(3); i > 0; i-- {
		f.PR = append(f.PR, rec())
	}
	for i := r.IntN(3); i > 0; i-- {
		h := HER2Result{Status: rstat(), IHC: ihcs[r.IntN(5)], ISH: rstat(), Specimen: specimens[r.IntN(3)], Final: coin(0.8),
			Staining: pick("", "", "faint", "absent"), Source: Source{Refs: []string{fmt.Sprintf("Observation/h%d", r.IntN(100))}, Date: date()}}
		if coin(0.3) {
			h.Ratio, h.CopyNumber = fp(float64(r.IntN(40))/10), fp(float64(r.IntN(100))/10)
		}
		if coin(0.05) {
			h.Text = "HER2 serum"
		}
		f.HER2 = append(f.HER2, h)
	}
	if coin(0.15) {
		f.Statements.ER = rsp(statuses[r.IntN(3)])
	}
	if coin(0.15) {
		f.Statements.HER2 = rsp(statuses[r.IntN(3)])
	}
	if coin(0.1) {
		s := ihcs[r.IntN(5)]
		f.Statements.HER2IHC = &s
	}
	f.Statements.Date = pick("", "2026-11-20", "2026-06-01")
	if coin(0.2) {
		f.Statements.QTcF = fp(float64(400 + r.IntN(100)))
	}
	for _, p := range []**bool{&f.Statements.VisceralCrisis, &f.Statements.Progression, &f.Statements.OFSDeclined, &f.Statements.CDK46Unsuitable} {
		if coin(0.15) {
			*p = bp(coin(0.5))
		}
	}
	menos := []MenopausalStatus{Premenopausal, Perimenopausal, Postmenopausal, MenopauseInduced, MenopauseUnknown}
	for i := r.IntN(3); i > 0; i-- {
		f.Menopause = append(f.Menopause, MenopauseResult{Status: menos[r.IntN(5)], Final: coin(0.8), Source: Source{Date: date()}})
	}
	if coin(0.1) {
		f.Oophorectomy = &Event{Source: Source{Date: "2015-01-01"}}
	}
	switch r.IntN(6) {
	case 0:
		st := Pregnant
		f.Statements.Pregnancy = &st
	case 1:
		f.Pregnancy = []PregnancyResult{{Status: Pregnant, Final: true, Source: Source{Date: pick("2026-09-01", "2026-11-01")}}}
	case 2:
		f.Pregnancy = []PregnancyResult{{Status: NotPregnant, Final: true, Source: Source{Date: pick("2026-11-24", "2026-09-01")}}}
	case 3:
		c := comorbidity(PregnancyState, "active")
		c.Date = pick("2025-01-01", "2026-10-01", "")
		f.Comorbidities = append(f.Comorbidities, c)
	}
	kinds := []MetastasisKind{MetastasisDistant, MetastasisDistant, MetastasisUncertain, MetastasisNone}
	for i := r.IntN(4); i > 0; i-- {
		m := metastasis(pick("bone", "liver", "lung", "brain", "lymph-node", ""), date())
		m.Kind = kinds[r.IntN(4)]
		m.VerificationStatus = pick("confirmed", "confirmed", "provisional", "refuted", "entered-in-error", "")
		m.ClinicalStatus = pick("active", "active", "remission", "resolved")
		f.Metastases = append(f.Metastases, m)
	}
	cks := []ComorbidityKind{HeartFailure, Cardiomyopathy, CoronaryDisease, MyocardialInfarct, UnstableAngina, Hypertension, Arrhythmia,
		Bradyarrhythmia, LongQT, LiverDisease, ILD, Neutropenia, Diabetes, RenalImpairment, Anxiety, Depression}
	for _, k := range cks {
		if coin(0.12) {
			c := comorbidity(k, pick("active", "resolved", "inactive"))
			c.VerificationStatus = pick("confirmed", "refuted", "entered-in-error", "provisional", "")
			c.Decompensated = coin(0.3)
			f.Comorbidities = append(f.Comorbidities, c)
		}
	}
	if coin(0.7) {
		f.LVEF = []Measurement{{Value: fp(float64(25 + r.IntN(45))), Final: true, Source: Source{Date: date()}}}
	}
	if coin(0.7) {
		f.ECOG = []ScoreResult{{Value: ip(r.IntN(5)), Final: true, Source: Source{Date: date()}}}
	}
	flags := []RangeFlag{RangeUnknown, RangeNormal, RangeHigh, RangeLow}
	for _, k := range []LabKind{LabALT, LabANC, LabCreatinine, LabEGFR, LabPotassium, LabMagnesium, LabHbA1c, LabFastingGlucose} {
		if coin(0.5) {
			f.Labs = append(f.Labs, lab(k, 1, flags[r.IntN(4)], date()))
		}
	}
	var names []string
	for n := range drugCatalogue {
		names = append(names, n)
	}
	sortStrings(names)
	for i := r.IntN(5); i > 0; i-- {
		m := med(fmt.Sprintf("MedicationRequest/m%d", i), []MedicationKind{MedRequest, MedStatement, MedAdministration}[r.IntN(3)],
			pick("active", "completed", "stopped", "entered-in-error", ""), date(), pick("", "", "2026-12-31", "2026-03-01"), names[r.IntN(len(names))])
		if coin(0.2) {
			m.Drugs = append(m.Drugs, pick("tamoxifen", "trastuzumab", "doxorubicin", "goserelin"))
		}
		f.Medications = append(f.Medications, m)
	}
	if coin(0.15) {
		f.Medications = append(f.Medications, Medication{Kind: MedRequest, Name: pick("Clarithromycin", "Amiodarone", "Tamoxifen 20 mg"), Status: "active", Start: "2026-11-01"})
	}
	for i := r.IntN(3); i > 0; i-- {
		f.DiseaseStatus = append(f.DiseaseStatus, DiseaseStatus{Value: []DiseaseStatusValue{DiseaseWorsened, DiseaseStable}[r.IntN(2)], Final: true, Source: Source{Date: date()}})
	}
	for _, g := range []string{"PIK3CA", "ESR1", "BRCA1", "AKT1"} {
		if coin(0.2) {
			v := variant(g, pick("germline", "somatic", ""))
			if coin(0.3) {
				v.Status = VariantAbsent
			}
			f.Variants = append(f.Variants, v)
		}
	}
	if coin(0.3) {
		f.PDL1 = []PDL1Result{{CPS: fp(float64(r.IntN(30))), Comparator: pick("", "<", ">="), Final: true}}
	}
	if coin(0.1) {
		f.Allergies = []Allergy{{Classes: []string{pick("taxane", "anthracycline", "aromatase_inhibitor")}, Finding: Finding{ClinicalStatus: "active"}}}
	}
	return f
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// Independent readings of the gates, straight from the facts.

func usableFinding(fd Finding) bool {
	v := strings.ToLower(fd.VerificationStatus)
	return v != "refuted" && v != "entered-in-error"
}

func hasComorb(f Facts, k ComorbidityKind) bool {
	for _, c := range f.Comorbidities {
		if c.Kind == k && usableFinding(c.Finding) {
			return true
		}
	}
	return false
}

func her2PositiveEvidence(f Facts) bool {
	if f.Statements.HER2 != nil && *f.Statements.HER2 == ReceptorPositive {
		return true
	}
	if f.Statements.HER2IHC != nil && (*f.Statements.HER2IHC == IHC3 || *f.Statements.HER2IHC == IHC2) {
		return true
	}
	for _, h := range f.HER2 {
		if h.Final && (h.Status == ReceptorPositive || h.IHC == IHC3 || h.ISH == ReceptorPositive || (h.Ratio != nil && *h.Ratio >= 2) || (h.CopyNumber != nil && *h.CopyNumber >= 6)) {
			return true
		}
	}
	return false
}

func hrPositiveEvidence(f Facts) bool {
	for _, s := range []*ReceptorStatus{f.Statements.ER, f.Statements.PR} {
		if s != nil && *s == ReceptorPositive {
			return true
		}
	}
	for _, x := range append(append([]ReceptorResult{}, f.ER...), f.PR...) {
		if x.Final && (x.Status == ReceptorPositive || (x.Status == ReceptorUnknown && ((x.Percent != nil && *x.Percent >= 1) || (x.Allred != nil && *x.Allred >= 3)))) {
			return true
		}
	}
	return false
}

func postmenopausalEvidence(f Facts) bool {
	if f.Patient.Sex == SexMale {
		return false
	}
	if f.Oophorectomy != nil {
		return true
	}
	for _, m := range f.Menopause {
		if m.Final && m.Status == Postmenopausal {
			return true
		}
	}
	age := ageAt(f.Patient.BirthDate, testNow)
	return f.Patient.Sex == SexFemale && age != nil && *age >= 60
}

func pregnantEvidence(f Facts) bool {
	if st := f.Statements.Pregnancy; st != nil && *st == Pregnant && len(f.Pregnancy) == 0 {
		return true
	}
	if f.Statements.Pregnancy == nil && len(f.Pregnancy) == 1 && f.Pregnancy[0].Status == Pregnant && f.Pregnancy[0].Final {
		return true
	}
	if f.Statements.Pregnancy != nil || len(f.Pregnancy) > 0 {
		return false
	}
	for _, c := range f.Comorbidities {
		if c.Kind != PregnancyState || !usableFinding(c.Finding) {
			continue
		}
		t, dated := parseDate(c.Date)
		if !dated || daysBetween(t, testNow) <= 280 {
			return true
		}
	}
	return false
}

func tamoxifenRunning(f Facts) bool {
	for _, m := range f.Medications {
		running := strings.EqualFold(m.Status, "active") && m.End == "" && m.Start != ""
		if running && (contains(m.Drugs, "tamoxifen") || strings.Contains(strings.ToLower(m.Name), "tamoxifen")) {
			return true
		}
	}
	return false
}

func latestLVEFBelow50(f Facts) bool {
	if m := latestMeasurement(f.LVEF); m != nil {
		return *m.Value < 50
	}
	return false
}

func anthracyclineExposure(f Facts) bool {
	for _, m := range f.Medications {
		if !medUsable(m) {
			continue
		}
		for _, d := range m.Drugs {
			if drugHas(d, classAnthra) {
				return true
			}
		}
	}
	return false
}

// violations lists what the plan must never contain for these facts.
func violations(f Facts, p Plan) []string {
	var v []string
	bad := func(o Option, format string, args ...any) {
		v = append(v, o.ID+": "+fmt.Sprintf(format, args...))
	}
	for _, o := range p.Options {
		if optionHas(o, classHER2) {
			tdxdLow := onlyTDXd(o) && p.Subtype.HER2.Value == "negative" && (p.Subtype.HER2Low.Value == "yes" || p.Subtype.HER2Ultralow.Value == "yes")
			if !(p.Subtype.HER2.Value == "positive" && her2PositiveEvidence(f)) && !tdxdLow {
				bad(o, "HER2-directed drug with HER2 %s", p.Subtype.HER2.Value)
			}
		}
		if optionHas(o, classEndocrine) && (p.Subtype.HR.Value != "positive" || !hrPositiveEvidence(f)) {
			bad(o, "endocrine therapy with HR %s", p.Subtype.HR.Value)
		}
		if (optionHas(o, classAI) || optionHas(o, classSERD)) && !optionHas(o, classGnRH) &&
			(!postmenopausalEvidence(f) || p.Menopause.Status != string(Postmenopausal)) {
			bad(o, "AI/fulvestrant/elacestrant without OFS; menopause %s, sex %q", p.Menopause.Status, f.Patient.Sex)
		}
		if optionHasDrug(o, "ribociclib") && (hasComorb(f, LongQT) || (f.Statements.QTcF != nil && *f.Statements.QTcF >= 450) ||
			optionHasDrug(o, "tamoxifen") || tamoxifenRunning(f)) {
			bad(o, "%s", "ribociclib with long QT, QTcF ≥ 450 or tamoxifen")
		}
		if len(o.Drugs) > 0 && pregnantEvidence(f) {
			bad(o, "systemic drug during a recorded pregnancy")
		}
		if optionHas(o, classAnthra) && (optionHas(o, classHER2) || hasComorb(f, HeartFailure) || hasComorb(f, Cardiomyopathy) ||
			latestLVEFBelow50(f) || anthracyclineExposure(f) || p.Subtype.HER2.Value == "positive") {
			bad(o, "anthracycline with HER2 therapy, heart failure, cardiomyopathy, LVEF < 50%% or prior anthracycline")
		}
		if optionHasDrug(o, "fam-trastuzumab deruxtecan") && hasComorb(f, ILD) {
			ok := false
			for _, fl := range o.Flags {
				if fl.Kind == "ild" && (fl.Severity == SeverityCaution || fl.Severity == SeverityBlock) {
					ok = true
				}
			}
			if !ok {
				bad(o, "T-DXd with ILD and no explicit caution")
			}
		}
		if len(o.Evidence) == 0 || len(o.Rules) == 0 {
			bad(o, "no rule or evidence")
		}
	}
	if p.Options == nil || p.DataNeeded == nil {
		v = append(v, "nil options or data needed")
	}
	if !p.Disease.Metastatic && len(p.Options) > 0 {
		v = append(v, "options without metastatic disease")
	}
	return v
}

func TestPropertyNeverUnsafe(t *testing.T) {
	r := rand.New(rand.NewPCG(20261125, 4))
	n, withOptions := 2000, 0
	if testing.Short() {
		n = 500
	}
	for i := 0; i < n; i++ {
		f := genFacts(r)
		p := Recommend(f, testNow, Settings{})
		if len(p.Options) > 0 {
			withOptions++
		}
		if v := violations(f, p); len(v) > 0 {
			t.Fatalf("case %d: got unsafe plan %v; want none (facts %+v)", i, v, f)
		}
	}
	if withOptions < n/20 {
		t.Errorf("generated plans with options got %d of %d; want at least %d, or the property proves little", withOptions, n, n/20)
	}
}
