package recommend

import (
	"fmt"
	"strings"
	"time"
)

// state is everything derived from the facts, plus what the rules have
// produced so far. It lives for one Recommend call.
type state struct {
	f     Facts
	now   time.Time
	set   Settings
	rules map[string]Rule
	age   *int

	er, pr markerOut
	her2   her2Out
	hr     string // positive, negative, unknown
	// hrCombined is the combined ER+PR result that made HR positive, if any.
	hrCombined *ReceptorResult
	subtype    string
	meno       menopauseOut
	dis        diseaseOut
	reg        regimensOut
	line       int

	pregnant       bool
	pregnancySrc   Source
	notPregnantNow bool // a fresh not-pregnant result
	pregnancyStale *Source
	lvef           *Measurement
	ecog           *ScoreResult
	karnofsky      *ScoreResult
	qtcf           *float64
	comorb         map[ComorbidityKind][]Comorbidity
	labs           map[LabKind]Lab

	out builder
}

// builder collects what rules produce; the hit policy is collect, then rank.
type builder struct {
	options     []Option
	prio        map[string]int
	notProposed []NotProposed
	flags       []Flag
	monitoring  []Item
	needed      []DataNeeded
	messages    []Message
	lifestyle   []Item
	trials      []Item
	shared      []Item
	cont        *ContinueCall
	ribociclib  []string // S04 reasons ribociclib was left out
	anthraNo    []string // reasons anthracyclines were left out
	fired       map[string]bool
}

// Freshness limits for reassuring values (section 8 defaults).
const (
	maxAgeLVEFDays        = 90
	maxAgeNotPregnantDays = 7
	maxAgeLabsDays        = 30
	maxAgeECOGDays        = 30
	maxAgeQTcFDays        = 30
	pregnancyDays         = 280
)

func derive(f Facts, now time.Time, set Settings, table []Rule) *state {
	s := &state{f: f, now: now.UTC(), set: set, rules: map[string]Rule{}}
	for _, r := range table {
		s.rules[r.ID] = r
	}
	s.out.prio = map[string]int{}
	s.out.fired = map[string]bool{}
	s.age = ageAt(f.Patient.BirthDate, s.now)

	s.er = deriveReceptor("ER", f.ER, f.Statements.ER, f.Statements.Date, orderER)
	s.pr = deriveReceptor("PR", f.PR, f.Statements.PR, f.Statements.Date, orderPR)
	s.her2 = deriveHER2(f.HER2, f.Statements)
	switch {
	case s.er.status == ReceptorPositive || s.pr.status == ReceptorPositive:
		s.hr = "positive"
	case s.er.status == ReceptorNegative && s.pr.status == ReceptorNegative:
		s.hr = "negative"
	default:
		s.hr = "unknown"
		// A final combined ER+PR result that is positive says one of them is
		// (C01), when the separate results do not settle it.
		if r := latestFinalCombined(f.HRCombined); r != nil && r.Status == ReceptorPositive {
			s.hr, s.hrCombined = "positive", r
		}
	}
	switch {
	case s.her2.status == ReceptorPositive:
		s.subtype = "HER2+"
	case s.her2.status == ReceptorNegative && s.hr == "positive":
		s.subtype = "HR+/HER2-"
	case s.her2.status == ReceptorNegative && s.hr == "negative":
		s.subtype = "TNBC"
	default:
		s.subtype = "unknown"
	}
	s.meno = deriveMenopause(f, s.age, s.now)
	s.dis = deriveDisease(f)
	s.reg = deriveRegimens(f, s.dis, s.now)
	s.line = s.reg.lines + 1
	if s.continuing() {
		s.line = s.reg.current.line
	}

	s.comorb = map[ComorbidityKind][]Comorbidity{}
	for _, c := range f.Comorbidities {
		if !countsForSafety(c.Finding) {
			continue
		}
		s.comorb[c.Kind] = append(s.comorb[c.Kind], c)
	}
	s.labs = map[LabKind]Lab{}
	for _, l := range f.Labs {
		if !l.Final {
			continue
		}
		if cur, ok := s.labs[l.Kind]; !ok || !later(cur.Date, l.Date) {
			s.labs[l.Kind] = l
		}
	}
	s.lvef = latestMeasurement(f.LVEF)
	s.ecog = latestScore(f.ECOG)
	s.karnofsky = latestScore(f.Karnofsky)
	if f.Statements.QTcF != nil {
		s.qtcf = f.Statements.QTcF
	}
	s.derivePregnancy()
	return s
}

func latestMeasurement(ms []Measurement) *Measurement {
	var out *Measurement
	for i := range ms {
		if !ms[i].Final || ms[i].Value == nil {
			continue
		}
		if out == nil || !later(out.Date, ms[i].Date) {
			out = &ms[i]
		}
	}
	return out
}

func latestScore(ss []ScoreResult) *ScoreResult {
	var out *ScoreResult
	for i := range ss {
		if !ss[i].Final || ss[i].Value == nil {
			continue
		}
		if out == nil || !later(out.Date, ss[i].Date) {
			out = &ss[i]
		}
	}
	return out
}

// derivePregnancy: "pregnant" holds for 280 days unless a later
// not-pregnant result exists; "not pregnant" is reassuring for 7 days.
func (s *state) derivePregnancy() {
	type rec struct {
		st  PregnancyStatus
		src Source
	}
	var all []rec
	for _, p := range s.f.Pregnancy {
		if p.Final && p.Status != PregnancyUnknown {
			all = append(all, rec{p.Status, p.Source})
		}
	}
	for _, c := range s.comorb[PregnancyState] {
		cs := strings.ToLower(c.ClinicalStatus)
		if cs == "resolved" || cs == "inactive" || cs == "remission" {
			continue
		}
		all = append(all, rec{Pregnant, c.Source})
	}
	if st := s.f.Statements.Pregnancy; st != nil && *st != PregnancyUnknown {
		src := Source{Date: s.f.Statements.Date, StatedByClinician: true}
		if src.Date == "" {
			src.Date = s.now.Format("2006-01-02")
		}
		all = append(all, rec{*st, src})
	}
	var latest *rec
	for i := range all {
		if latest == nil || !later(latest.src.Date, all[i].src.Date) {
			latest = &all[i]
		}
	}
	if latest == nil {
		return
	}
	t, dated := parseDate(latest.src.Date)
	switch latest.st {
	case Pregnant:
		if !dated || daysBetween(t, s.now) <= pregnancyDays {
			s.pregnant = true
			s.pregnancySrc = latest.src
		}
	case NotPregnant:
		if dated && daysBetween(t, s.now) <= maxAgeNotPregnantDays {
			s.notPregnantNow = true
		} else {
			src := latest.src
			s.pregnancyStale = &src
		}
	}
}

// Predicates the rule table reads.

func (s *state) metastatic() bool { return s.dis.call.Metastatic && !s.f.Patient.Deceased }
func (s *state) continuing() bool {
	return s.dis.call.Metastatic && s.reg.current != nil && !s.reg.current.progress
}
func (s *state) her2Known() bool {
	return s.her2.status == ReceptorPositive || s.her2.status == ReceptorNegative
}

// canTreat is the gate for anticancer options: metastatic disease, HER2
// known, no recorded pregnancy, no working current regimen.
func (s *state) canTreat() bool {
	return s.metastatic() && s.her2Known() && !s.pregnant && !s.continuing()
}
func (s *state) hrPosHER2Neg() bool {
	return s.canTreat() && s.her2.status == ReceptorNegative && s.hr == "positive"
}
func (s *state) her2Pos() bool { return s.canTreat() && s.her2.status == ReceptorPositive }

// tnbcPathway: triple-negative, or ER-low with HER2-negative (C01 allows the
// TNBC pathway as well).
func (s *state) tnbcPathway() bool {
	if !s.canTreat() || s.her2.status != ReceptorNegative {
		return false
	}
	return s.hr == "negative" || (s.erLow() && s.pr.status != ReceptorPositive)
}
func (s *state) erLow() bool {
	return s.er.status == ReceptorPositive && s.er.percent != nil && *s.er.percent >= 1 && *s.er.percent <= 10
}
func (s *state) visceralCrisis() bool {
	return s.f.Statements.VisceralCrisis != nil && *s.f.Statements.VisceralCrisis
}
func (s *state) cdkUnsuitable() bool {
	return (s.f.Statements.CDK46Unsuitable != nil && *s.f.Statements.CDK46Unsuitable) || s.poorPerformance()
}
func (s *state) ofsDeclined() bool {
	return s.f.Statements.OFSDeclined != nil && *s.f.Statements.OFSDeclined
}
func (s *state) poorPerformance() bool {
	if s.ecog != nil && *s.ecog.Value >= 3 {
		return true
	}
	return s.karnofsky != nil && *s.karnofsky.Value <= 40
}
func (s *state) exposed(class string) bool {
	for d := range s.reg.exposure {
		if drugHas(d, class) {
			return true
		}
	}
	return false
}
func (s *state) metExposed(class string) bool {
	for d := range s.reg.metExposure {
		if drugHas(d, class) {
			return true
		}
	}
	return false
}

// aiResistant is C07: relapse during or ≤12 months after adjuvant AI, or
// progression on an AI for metastatic disease.
func (s *state) aiResistant() bool {
	return s.reg.aiRelapse12 || (s.line >= 2 && s.metExposed(classAI))
}

// endocrineRefractory: progression on two endocrine lines for metastatic
// disease, or chemotherapy already given for it; or, for a woman who
// declined ovarian function suppression, progression on the one endocrine
// option left to her (tamoxifen alone, H04).
func (s *state) endocrineRefractory() bool {
	return s.reg.metEndoProg >= 2 || s.reg.metChemoLines >= 1 || (s.ofsDeclinedBlocks() && s.reg.metEndoProg >= 1)
}

// afterEndocrineLine: progression after ≥1 endocrine line for metastatic
// disease, or relapse ≤12 months after adjuvant endocrine therapy.
func (s *state) afterEndocrineLine() bool {
	return s.reg.metEndoProg >= 1 || (s.line >= 2 && s.metExposed(classEndocrine)) || s.reg.etRelapse12
}

func (s *state) variant(genes ...string) *Variant {
	for i := range s.f.Variants {
		v := s.f.Variants[i]
		if !v.Final || v.Status != VariantDetected || (v.Pathogenic != nil && !*v.Pathogenic) {
			continue
		}
		for _, g := range genes {
			if strings.EqualFold(v.Gene, g) {
				return &s.f.Variants[i]
			}
		}
	}
	return nil
}

func (s *state) tested(origin string, genes ...string) bool {
	for _, v := range s.f.Variants {
		if !v.Final || v.Status == VariantUnknown {
			continue
		}
		if origin != "" && v.Origin != origin {
			continue
		}
		for _, g := range genes {
			if strings.EqualFold(v.Gene, g) {
				return true
			}
		}
	}
	return false
}

func (s *state) germlineBRCA() *Variant {
	v := s.variant("BRCA1", "BRCA2")
	if v == nil || v.Origin != "germline" {
		for i := range s.f.Variants {
			w := s.f.Variants[i]
			if w.Final && w.Status == VariantDetected && w.Origin == "germline" && (w.Pathogenic == nil || *w.Pathogenic) &&
				(strings.EqualFold(w.Gene, "BRCA1") || strings.EqualFold(w.Gene, "BRCA2")) {
				return &s.f.Variants[i]
			}
		}
		return nil
	}
	return v
}

// pdl1CPS returns the most recent final CPS with whether it is ≥10; known
// is false when no CPS could be read.
func (s *state) pdl1CPS() (high, known bool, src Source) {
	var best *PDL1Result
	for i := range s.f.PDL1 {
		p := s.f.PDL1[i]
		if !p.Final || p.CPS == nil {
			continue
		}
		if best == nil || !later(best.Date, p.Date) {
			best = &s.f.PDL1[i]
		}
	}
	if best == nil {
		return false, false, Source{}
	}
	v := *best.CPS
	switch best.Comparator {
	case "<":
		return false, v <= 10, best.Source
	case "<=":
		return false, v < 10, best.Source
	case ">":
		return v >= 9, v >= 9, best.Source
	}
	return v >= 10, true, best.Source
}

// Cardiac state (S02, section 8).
func (s *state) has(k ComorbidityKind) bool { return len(s.comorb[k]) > 0 }
func (s *state) decompensatedHF() bool {
	for _, c := range s.comorb[HeartFailure] {
		if c.Decompensated {
			return true
		}
	}
	return false
}

// lvefBelow reports whether the governing LVEF is below v; a bound counts
// when every value it allows is below v ("<40 %" is below 40).
func (s *state) lvefBelow(v float64) bool {
	if s.lvef == nil || s.lvef.Value == nil {
		return false
	}
	x := *s.lvef.Value
	switch s.lvef.Comparator {
	case "<":
		return x <= v
	case ">", ">=":
		return false // a lower bound never shows the value is below v
	}
	return x < v
}

// her2Deferred: LVEF < 40% or symptomatic heart failure → no HER2-directed
// antibody or ADC (section 8).
func (s *state) her2Deferred() bool { return s.lvefBelow(40) || s.decompensatedHF() }

// her2CardiacCaution: LVEF 40–49%, compensated heart failure or
// cardiomyopathy → HER2-directed options stay, after cardio-oncology review.
func (s *state) her2CardiacCaution() bool {
	return !s.her2Deferred() && (s.lvefBelow(50) || s.has(HeartFailure) || s.has(Cardiomyopathy))
}

func (s *state) labHigh(kinds ...LabKind) *Lab {
	for _, k := range kinds {
		if l, ok := s.labs[k]; ok && l.Flag == RangeHigh {
			return &l
		}
	}
	return nil
}
func (s *state) labLow(kinds ...LabKind) *Lab {
	for _, k := range kinds {
		if l, ok := s.labs[k]; ok && l.Flag == RangeLow {
			return &l
		}
	}
	return nil
}

// recentMI: a myocardial infarction within 6 months or still active, or
// unstable angina.
func (s *state) recentMIOrUnstableAngina() bool {
	if s.has(UnstableAngina) {
		return true
	}
	for _, c := range s.comorb[MyocardialInfarct] {
		if strings.EqualFold(c.ClinicalStatus, "active") {
			return true
		}
		if t, ok := parseDate(c.Date); ok && daysBetween(t, s.now) <= 183 {
			return true
		}
	}
	return false
}

// currentMedNamed lists current co-medications matching any of names.
func (s *state) currentMedNamed(names []string) []string {
	var out []string
	for _, m := range s.f.Medications {
		if !medIsCurrent(m, s.now) {
			continue
		}
		text := strings.ToLower(strings.Join(m.Drugs, " ") + " " + m.Name + " " + m.Coding.Display)
		for _, n := range names {
			if strings.Contains(text, n) {
				out = append(out, n)
			}
		}
	}
	return mergeRefs(out)
}

// ribociclibBlockers lists the S04 reasons ribociclib must not be proposed.
func (s *state) ribociclibBlockers(tamoxifenPartner bool) []string {
	var why []string
	if s.has(LongQT) {
		why = append(why, "long QT recorded")
	}
	if s.qtcf != nil && *s.qtcf >= 450 {
		why = append(why, fmt.Sprintf("QTcF %g ms (≥ 450)", *s.qtcf))
	}
	if tamoxifenPartner || len(s.currentMedNamed([]string{"tamoxifen"})) > 0 {
		why = append(why, "tamoxifen (H05)")
	}
	if qt := s.currentMedNamed(qtProlongingNames()); len(qt) > 0 {
		why = append(why, "QT-prolonging co-medication: "+strings.Join(qt, ", "))
	}
	if s.has(HeartFailure) {
		why = append(why, "heart failure")
	}
	if s.recentMIOrUnstableAngina() {
		why = append(why, "recent myocardial infarction or unstable angina")
	}
	if s.has(Bradyarrhythmia) {
		why = append(why, "bradyarrhythmia")
	}
	if l := s.labLow(LabPotassium, LabMagnesium); l != nil {
		why = append(why, "low "+string(l.Kind))
	}
	return why
}

// anthracyclineBlockers lists why anthracyclines are not proposed (S02,
// P07, section 8).
func (s *state) anthracyclineBlockers() []string {
	var why []string
	if s.her2.status == ReceptorPositive {
		why = append(why, "HER2-directed antibody therapy, the highest cardiomyopathy risk (P07)")
	}
	if !s.reg.lastTrastuzumab.IsZero() && s.reg.lastTrastuzumab.AddDate(0, 7, 0).After(s.now) {
		why = append(why, "trastuzumab given within 7 months (label)")
	}
	if s.has(HeartFailure) {
		why = append(why, "heart failure")
	}
	if s.has(Cardiomyopathy) {
		why = append(why, "cardiomyopathy")
	}
	if s.lvefBelow(50) {
		why = append(why, fmt.Sprintf("LVEF %g%% (< 50%%)", *s.lvef.Value))
	}
	if s.exposed(classAnthra) {
		why = append(why, "prior anthracycline (rechallenge is the clinician's call)")
	}
	return why
}

// couldBecomePregnant: a female (or sex unknown) patient not established
// as postmenopausal (by record, oophorectomy or age ≥ 60).
func (s *state) couldBecomePregnant() bool {
	return s.f.Patient.Sex != SexMale && !s.meno.postmenopausal && !s.meno.pastChildbearingAge
}

// latestFinalCombined is the most recent final combined ER+PR result; nil
// when there is none or when final results of the latest date disagree.
func latestFinalCombined(rs []ReceptorResult) *ReceptorResult {
	var best *ReceptorResult
	for i := range rs {
		r := &rs[i]
		if !r.Final || r.Status == ReceptorUnknown {
			continue
		}
		switch {
		case best == nil || r.Date > best.Date:
			best = r
		case r.Date == best.Date && r.Status != best.Status:
			return nil
		}
	}
	return best
}
