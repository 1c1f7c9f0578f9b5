package fhir

import (
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/mbcplan/mbcplan/recommend"
	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"
)

// value is an Observation's or a component's value[x] and interpretation.
type value struct {
	cc     *r4.CodeableConcept
	q      *r4.Quantity
	s      *string
	i      *int
	b      *bool
	interp []r4.CodeableConcept
	rr     []r4.ObservationReferenceRange
	ratio  *r4.Ratio
}

func obsValue(o *r4.Observation) value {
	return value{o.ValueCodeableConcept, o.ValueQuantity, o.ValueString, o.ValueInteger, o.ValueBoolean, o.Interpretation, o.ReferenceRange, o.ValueRatio}
}

func compValue(c *r4.ObservationComponent) value {
	return value{c.ValueCodeableConcept, c.ValueQuantity, c.ValueString, c.ValueInteger, c.ValueBoolean, c.Interpretation, c.ReferenceRange, c.ValueRatio}
}

// ratioValue is a Ratio's numerator divided by its denominator (mCODE
// allows a Ratio value, e.g. HER2 signals over CEP17 signals); nil when
// either is missing or the denominator is not positive.
func ratioValue(r *r4.Ratio) *float64 {
	if r == nil || r.Numerator == nil || r.Denominator == nil {
		return nil
	}
	n, d := number(r.Numerator.Value), number(r.Denominator.Value)
	if n == nil || d == nil || *d <= 0 || *n < 0 {
		return nil
	}
	q := math.Round(*n / *d * 1000) / 1000
	return &q
}

// text is the value as the record shows it.
func (v value) text() string {
	switch {
	case v.s != nil:
		return *v.s
	case v.cc != nil:
		return ccText(v.cc)
	case v.q != nil && v.q.Value != nil:
		t := v.q.Value.String()
		if u := firstNonEmpty(str(v.q.Unit), str(v.q.Code)); u != "" {
			if u == "%" {
				t += "%"
			} else {
				t += " " + u
			}
		}
		if v.q.Comparator != nil {
			t = v.q.Comparator.Code() + t
		}
		return t
	case v.i != nil:
		return itoa(*v.i)
	}
	return ""
}

// freeText is the string value or the concept's text when no code was
// recognised: the input of the text parsers.
func (v value) freeText() string {
	if v.s != nil {
		return *v.s
	}
	if v.cc != nil {
		return ccText(v.cc)
	}
	return ""
}

func itoa(i int) string { return strconv.Itoa(i) }

// classify returns what an Observation or component code measures: codes
// first, then (for sites that use local codes) the code's text.
func classify(cc *r4.CodeableConcept) (obsKind, string) {
	if cc == nil {
		return obsOther, ""
	}
	for _, c := range cc.Coding {
		if code, ok := codeIn(c, sysLOINC); ok {
			if k, ok := loincObs[code]; ok {
				return k, ""
			}
			if l, ok := labKinds[code]; ok {
				return obsLab, l
			}
		}
		if code, ok := codeIn(c, sysSNOMED); ok {
			if k, ok := snomedObs[code]; ok {
				return k, ""
			}
		}
	}
	if k := shortMarkerName(cc); k != obsOther {
		return k, ""
	}
	return classifyText(ccAllText(cc)), ""
}

// shortMarkerName matches the code's text and displays, each as a whole,
// against shortMarkerNames.
func shortMarkerName(cc *r4.CodeableConcept) obsKind {
	names := []string{str(cc.Text)}
	for _, c := range cc.Coding {
		names = append(names, str(c.Display))
	}
	for _, n := range names {
		n = strings.ToLower(strings.Join(strings.Fields(strings.TrimRight(n, ":. ")), " "))
		if k, ok := shortMarkerNames[n]; ok {
			return k
		}
	}
	return obsOther
}

var (
	reHER2Text = regexp.MustCompile(`(^|[^a-z])(her[- ]?2|erbb2|her2/neu|c-erbb-2)($|[^a-z0-9])`)
	reERText   = regexp.MustCompile(`(o?estrogen receptor|(^|[^a-z])er (status|ihc|receptor|assay|result|by ihc|immuno)|(^|[^a-z])esr1? ihc)`)
	rePRText   = regexp.MustCompile(`(progesterone receptor|(^|[^a-z])pg?r (status|ihc|receptor|assay|result|by ihc|immuno))`)
	// reHCGText names a pregnancy test by hCG; reHCGQuant its quantitative form.
	reHCGText  = regexp.MustCompile(`(^|[^a-z])(b?-?hcg|beta[- ]hcg|chorionic gonadotropin|pregnancy test|preg test)($|[^a-z])`)
	reHCGQuant = regexp.MustCompile(`quant|miu|\[units/volume\]|\[moles/volume\]|serum level`)
)

func classifyText(t string) obsKind {
	if t == "" {
		return obsOther
	}
	switch {
	case reHER2Text.MatchString(t):
		if strings.Contains(t, "serum") || strings.Contains(t, "plasma") {
			return obsHER2Serum
		}
		switch {
		case strings.Contains(t, "ratio"):
			return obsHER2Ratio
		case strings.Contains(t, "copy") || strings.Contains(t, "copies") || strings.Contains(t, "signals"):
			return obsHER2Copies
		case strings.Contains(t, "fish") || strings.Contains(t, "ish") || strings.Contains(t, "in situ") || strings.Contains(t, "amplif"):
			return obsHER2ISH
		case strings.Contains(t, "ihc") || strings.Contains(t, "immunohisto") || strings.Contains(t, "immune stain"):
			return obsHER2IHC
		}
		return obsHER2
	case reERText.MatchString(t):
		if strings.Contains(t, "%") || strings.Contains(t, "percent") || strings.Contains(t, "/100 cells") {
			return obsERPercent
		}
		return obsER
	case rePRText.MatchString(t):
		if strings.Contains(t, "%") || strings.Contains(t, "percent") || strings.Contains(t, "/100 cells") {
			return obsPRPercent
		}
		return obsPR
	case strings.Contains(t, "ejection fraction") || strings.Contains(t, "lvef"):
		return obsLVEF
	case strings.Contains(t, "ecog"):
		return obsECOG
	case strings.Contains(t, "karnofsky"):
		return obsKarnofsky
	case strings.Contains(t, "menopaus") && !strings.Contains(t, "age at"):
		return obsMenopause
	case strings.Contains(t, "pd-l1") || strings.Contains(t, "pdl1"):
		return obsPDL1
	case reHCGText.MatchString(t):
		if reHCGQuant.MatchString(t) {
			return obsHCGQuant
		}
		return obsHCG
	case strings.Contains(t, "pregnancy status") || t == "pregnant" || strings.Contains(t, "currently pregnant"):
		return obsPregnancy
	}
	return obsOther
}

// observation maps one Observation.
func (m *mapper) observation(r *Resource, o *r4.Observation) {
	if sp := m.reportSpecimen[r.Ref()]; o.Specimen == nil && sp != "" {
		withSpec := *o // the record's copy stays as read
		withSpec.Specimen = &r4.Reference{Reference: &sp}
		o = &withSpec
	}
	kind, lab := classify(&o.Code)
	status := statusOfResource(r)
	src := recommend.Source{
		Refs:   []string{r.Ref()},
		Date:   firstNonEmpty(str(o.EffectiveDateTime), periodStart(o.EffectivePeriod), str(o.EffectiveInstant), str(o.Issued)),
		Status: status,
	}
	final := (status == "final" || status == "amended" || status == "corrected") && !m.reportNotFinal[r.Ref()]
	v := obsValue(o)
	before := m.count()
	switch kind {
	case obsER, obsERPercent:
		m.receptor(&m.f.ER, kind == obsERPercent, o, v, src, final)
	case obsPR, obsPRPercent:
		m.receptor(&m.f.PR, kind == obsPRPercent, o, v, src, final)
	case obsHRCombined:
		m.receptor(&m.f.HRCombined, false, o, v, src, final)
	case obsHER2, obsHER2IHC, obsHER2ISH, obsHER2Ratio, obsHER2Copies, obsHER2Panel:
		if !serumText(o) {
			m.her2(kind, o, v, src, final)
		}
	case obsMenopause:
		m.menopause(v, src, final)
	case obsPregnancy, obsHCG, obsHCGQuant:
		m.pregnancy(kind, v, src, final)
	case obsECOG:
		if n, ok := ecogValue(v); ok {
			m.f.ECOG = append(m.f.ECOG, recommend.ScoreResult{Value: &n, Final: final, Source: src})
		}
	case obsKarnofsky:
		if n, ok := intValue(v); ok && n >= 0 && n <= 100 {
			m.f.Karnofsky = append(m.f.Karnofsky, recommend.ScoreResult{Value: &n, Final: final, Source: src})
		}
	case obsLVEF:
		m.lvef(v, src, final)
	case obsLab:
		m.lab(recommend.LabKind(lab), v, src, final)
	case obsPDL1:
		m.pdl1(o, v, src, final)
	case obsVariant, obsPIK3CATest, obsPTENTest:
		m.variant(kind, o, v, src, final)
	case obsDiseaseStatus:
		m.diseaseStatus(v, src, final)
	case obsStageGroup, obsMCategory, obsMetHistory:
		m.stageOrM(kind, o, v, src, final)
	case obsComorbidities:
		m.comorbidityObs(o, src)
	case obsOther:
		if len(o.Component) > 0 {
			m.panel(o, src, final)
		}
	}
	// A BRCA finding as the value of any Observation.
	if v.cc != nil && kind != obsVariant {
		for _, c := range v.cc.Coding {
			if code, ok := codeIn(c, sysSNOMED); ok {
				if bf, ok := brcaFindings[code]; ok {
					m.addBRCA(bf.gene, bf.detected, ccText(v.cc), final, src)
				}
			}
		}
	}
	if !final && m.count() > before {
		m.notFinal = append(m.notFinal, r.Ref())
	}
}

// panel maps an Observation whose own code names no marker (a local
// "breast cancer biomarker panel") but whose components do: each ER or PR
// component is a result of its own, and the HER2 components together one
// HER2 result, with the panel's date, specimen and status.
func (m *mapper) panel(o *r4.Observation, src recommend.Source, final bool) {
	her2 := false
	for i := range o.Component {
		c := &o.Component[i]
		k, _ := classify(&c.Code)
		switch k {
		case obsER, obsERPercent, obsPR, obsPRPercent:
			one := *o
			one.Code, one.Component, one.Interpretation = c.Code, nil, c.Interpretation
			dst := &m.f.ER
			if k == obsPR || k == obsPRPercent {
				dst = &m.f.PR
			}
			m.receptor(dst, k == obsERPercent || k == obsPRPercent, &one, compValue(c), src, final)
		case obsHER2, obsHER2IHC, obsHER2ISH, obsHER2Ratio, obsHER2Copies:
			her2 = true
		}
	}
	if her2 && !serumText(o) {
		m.her2(obsHER2Panel, o, value{}, src, final)
	}
}

// count is the number of facts read from Observations so far.
func (m *mapper) count() int {
	f := m.f
	return len(f.ER) + len(f.PR) + len(f.HER2) + len(m.ish) + len(f.Menopause) + len(f.Pregnancy) + len(f.ECOG) +
		len(f.Karnofsky) + len(f.LVEF) + len(f.Labs) + len(f.PDL1) + len(f.Variants) + len(f.DiseaseStatus) + len(f.Metastases)
}

// serumText reports a HER2 test in serum or plasma named by text.
func serumText(o *r4.Observation) bool {
	t := ccAllText(&o.Code)
	if strings.Contains(t, "serum") || strings.Contains(t, "plasma") {
		return true
	}
	if o.Specimen != nil {
		d := strings.ToLower(str(o.Specimen.Display))
		if strings.Contains(d, "serum") || strings.Contains(d, "plasma") {
			return true
		}
	}
	return false
}

// ---- calls ----

// codedCall reads positive/negative/equivocal/indeterminate from answer
// codes and disorder-level codes.
func codedCall(cc *r4.CodeableConcept) string {
	if cc == nil {
		return ""
	}
	for _, c := range cc.Coding {
		if c.Code == nil {
			continue
		}
		if call, ok := answerCalls[systemOf(c)+"|"+strings.TrimSpace(*c.Code)]; ok {
			return call
		}
		if code, ok := codeIn(c, sysSNOMED); ok {
			if d, ok := disorderReceptor[code]; ok {
				return d[1]
			}
		}
	}
	return ""
}

// interpCall reads v3 ObservationInterpretation POS/NEG/IND/E (and DET/ND).
func interpCall(interp []r4.CodeableConcept) string {
	for _, cc := range interp {
		for _, c := range cc.Coding {
			if s := systemOf(c); s != "" && s != sysV3Interp {
				continue
			}
			switch str(c.Code) {
			case "POS", "DET":
				return "positive"
			case "NEG", "ND":
				return "negative"
			case "E":
				return "equivocal"
			case "IND":
				return "indeterminate"
			}
		}
	}
	return ""
}

var (
	reNegative = regexp.MustCompile(`(^|[^a-z])(negative|neg|not positive|not detected|non[- ]?amplified|not amplified|no amplification|absent|not present)($|[^a-z])`)
	reEquiv    = regexp.MustCompile(`(^|[^a-z])(equivocal|borderline)($|[^a-z])`)
	reIndet    = regexp.MustCompile(`(^|[^a-z])(indeterminate|inconclusive|not evaluable|unknown)($|[^a-z])`)
	rePositive = regexp.MustCompile(`(^|[^a-z])(positive|pos|detected|amplified|present)($|[^a-z])`)
	rePercent  = regexp.MustCompile(`(<|less than|>|≥|>=|≤|<=)?\s*(\d{1,3}(?:\.\d+)?)\s*%`)
	reAllred   = regexp.MustCompile(`allred[^0-9]{0,20}([0-8])(?:\s*/\s*8)?`)
)

// textCall reads a call from text, testing negative before positive.
func textCall(t string) string {
	t = strings.ToLower(t)
	switch {
	case reNegative.MatchString(t):
		return "negative"
	case reEquiv.MatchString(t):
		return "equivocal"
	case reIndet.MatchString(t):
		return "indeterminate"
	case rePositive.MatchString(t):
		return "positive"
	}
	return ""
}

func receptorStatus(call string) recommend.ReceptorStatus {
	switch call {
	case "positive":
		return recommend.ReceptorPositive
	case "negative":
		return recommend.ReceptorNegative
	case "equivocal":
		return recommend.ReceptorEquivocal
	}
	return recommend.ReceptorUnknown
}

// rePercentRange is a range of percentages ("55-60%", "45 to 50 %").
var rePercentRange = regexp.MustCompile(`(\d{1,3}(?:\.\d+)?)\s*%?\s*(?:-|–|to)\s*(\d{1,3}(?:\.\d+)?)\s*%`)

// percentFromText reads "95%", "<1%"; below is true for "<1%"-style values.
// A range ("55-60%") gives its lower bound, never the higher value; a range
// on both sides of 1% ("0-5%") is not read.
func percentFromText(t string) (p float64, below, ok bool) {
	if mm := rePercentRange.FindStringSubmatch(t); mm != nil {
		lo, ok1 := parseFloat(mm[1])
		hi, ok2 := parseFloat(mm[2])
		if !ok1 || !ok2 || lo > hi || hi > 100 || lo < 1 && hi >= 1 {
			return 0, false, false
		}
		return lo, false, true
	}
	mm := rePercent.FindStringSubmatch(strings.ToLower(t))
	if mm == nil {
		return 0, false, false
	}
	v, ok := parseFloat(mm[2])
	if !ok || v < 0 || v > 100 {
		return 0, false, false
	}
	switch mm[1] {
	case "<", "less than", "≤", "<=":
		return v, true, true
	}
	return v, false, true
}

// Cut-offs a bounded value ("<1 %", ">55 %") is judged against: ER/PR
// positive at ≥1 % of nuclei and ER-low up to 10 % (REFERENCE.md 1.2, C01);
// LVEF reassuring at ≥50 % (section 8).
const (
	receptorCutoff = 1.0
	erLowMax       = 10.0
	lvefCutoff     = 50.0
)

// comparatorOf is a quantity's comparator ("<", "<=", ">=", ">"), or "".
func comparatorOf(q *r4.Quantity) string {
	if q == nil || q.Comparator == nil {
		return ""
	}
	return q.Comparator.Code()
}

// boundSide says on which side of cut (a threshold where values ≥ cut are
// "above") every value allowed by "cmp v" lies: "above", "below", or ""
// when the bound allows values on both sides.
func boundSide(cmp string, v, cut float64) string {
	switch {
	case cmp == "<" && v <= cut, cmp == "<=" && v < cut:
		return "below"
	case cmp == ">" && v >= cut, cmp == ">=" && v >= cut:
		return "above"
	}
	return ""
}

func percentStatus(p float64) recommend.ReceptorStatus {
	if p >= 1 {
		return recommend.ReceptorPositive
	}
	return recommend.ReceptorNegative
}

// isPercentComponent reports a %-cells component code for ER or PR.
func isPercentComponent(cc *r4.CodeableConcept) bool {
	k, _ := classify(cc)
	return k == obsERPercent || k == obsPRPercent
}

// receptor maps an ER or PR Observation, with its %-cells and Allred
// components (MII style).
func (m *mapper) receptor(dst *[]recommend.ReceptorResult, percentCode bool, o *r4.Observation, v value, src recommend.Source, final bool) {
	res := recommend.ReceptorResult{Final: final, Source: src}
	res.Specimen, res.SpecimenRef = m.specimenSite(o)
	res.Text = v.text()
	set := func(call, method string) {
		if res.Status == recommend.ReceptorUnknown && receptorStatus(call) != recommend.ReceptorUnknown {
			res.Status, res.Method = receptorStatus(call), method
		}
	}
	// 1. coded answers, 2. interpretation.
	set(codedCall(v.cc), "coded")
	set(interpCall(v.interp), "interpretation")
	// 3. percent of cells: the value (on a %-cells code or with unit %) or a component.
	if v.q != nil && v.q.Value != nil && (percentCode || str(v.q.Unit) == "%" || str(v.q.Code) == "%") {
		if p := number(v.q.Value); p != nil && *p >= 0 && *p <= 100 {
			if cmp := comparatorOf(v.q); cmp != "" {
				// A bound ("<1 %", ">90 %") decides the call only when every
				// value it allows is on the same side of the 1 % cut-off; it
				// is a percentage only when it cannot be ER-low either.
				switch boundSide(cmp, *p, receptorCutoff) {
				case "above":
					set("positive", "percent")
				case "below":
					set("negative", "percent")
				}
				if (cmp == ">" || cmp == ">=") && *p > erLowMax {
					res.Percent = p
				}
			} else {
				res.Percent = p
				if res.Status == recommend.ReceptorUnknown {
					res.Status, res.Method = percentStatus(*p), "percent"
				}
			}
		}
	}
	if v.i != nil && percentCode && *v.i >= 0 && *v.i <= 100 {
		p := float64(*v.i)
		res.Percent = &p
		if res.Status == recommend.ReceptorUnknown {
			res.Status, res.Method = percentStatus(p), "percent"
		}
	}
	for i := range o.Component {
		c := &o.Component[i]
		cv := compValue(c)
		if isPercentComponent(&c.Code) {
			if cv.q != nil {
				if p := number(cv.q.Value); p != nil && *p >= 0 && *p <= 100 {
					res.Percent = p
				}
			} else if p, below, ok := percentFromText(cv.text()); ok && !below {
				res.Percent = &p
			}
			continue
		}
		if strings.Contains(ccAllText(&c.Code), "allred") {
			if n, ok := intValue(cv); ok && n >= 0 && n <= 8 {
				res.Allred = &n
			}
		}
	}
	if res.Percent != nil && res.Status == recommend.ReceptorUnknown {
		res.Status, res.Method = percentStatus(*res.Percent), "percent"
	}
	// 4. Allred, 5. text.
	t := v.freeText()
	if res.Allred == nil {
		if mm := reAllred.FindStringSubmatch(strings.ToLower(t)); mm != nil {
			n := int(mm[1][0] - '0')
			res.Allred = &n
		}
	}
	if res.Allred != nil && res.Status == recommend.ReceptorUnknown {
		if *res.Allred >= 3 {
			res.Status, res.Method = recommend.ReceptorPositive, "allred"
		} else {
			res.Status, res.Method = recommend.ReceptorNegative, "allred"
		}
	}
	if t != "" {
		if p, below, ok := percentFromText(t); ok {
			if !below && res.Percent == nil {
				res.Percent = &p
			}
			if below && p <= 1 {
				set("negative", "text")
			}
		}
		set(textCall(t), "text")
		if res.Percent != nil && res.Status == recommend.ReceptorUnknown {
			res.Status, res.Method = percentStatus(*res.Percent), "percent"
		}
	}
	if res.Status == recommend.ReceptorUnknown && res.Percent == nil && res.Text == "" {
		return
	}
	*dst = append(*dst, res)
}

// ---- HER2 ----

var (
	reIHCScore = regexp.MustCompile(`(^|[^0-9])([0-3])\s*\+`)
	reIHCZero  = regexp.MustCompile(`(^\s*0\s*$|(score|ihc|her2|her-2)\s*[:=]?\s*0($|[^0-9.+])|^\s*0\s*[\(,;-])`)
	reRatio    = regexp.MustCompile(`ratio\s*(?:of\s*)?[:=]?\s*(\d+(?:\.\d+)?)`)
	reCopies   = regexp.MustCompile(`(?:^|[^a-z0-9.])(\d+(?:\.\d+)?)\s*(?:her2\s+)?(?:signals|copies)`)
	// reCopiesNamed is a copy number after its name ("average HER2 copy
	// number 2.9", "HER2 copies per cell: 4.2").
	reCopiesNamed = regexp.MustCompile(`(?:copy number|copies|signals)(?:\s*(?:per|/)\s*(?:cell|nucleus))?\s*(?:of|is|was)?\s*[:=]?\s*(\d+(?:\.\d+)?)`)
	// reISHInText finds an ISH result stated inside an IHC or final-call text
	// ("2+, FISH not amplified").
	reISHInText = regexp.MustCompile(`(^|[^a-z])(fish|sish|cish|ish|in situ hybridi[sz]ation)[^a-z0-9]*(result\s*)?[:=]?\s*(negative|positive|not amplified|non-amplified|amplified)`)
)

var (
	// reStainAbsent and reStainFaint describe the membrane staining of an
	// IHC 0 result: none (HER2-0, "null") or faint and incomplete in ≤10%
	// of cells (HER2-ultralow).
	reStainAbsent = regexp.MustCompile(`(^|[^a-z])(no\s+(detectable\s+|visible\s+|discernible\s+|observable\s+)?(faint\s+|weak\s+|incomplete\s+)?(membranous\s+|membrane\s+|her2\s+)?(staining|immunoreactivity|reactivity)|` +
		`(staining|immunoreactivity)\s+(is\s+|was\s+)?(absent|not (seen|observed|identified|detected))|absent\s+(membrane\s+|membranous\s+)?staining|` +
		`(her[- ]?2[- ]?)?null|without\s+(any\s+)?(membrane\s+|membranous\s+)?staining)($|[^a-z])`)
	reStainFaint = regexp.MustCompile(`(^|[^a-z])(faint|ultra[- ]?low|barely\s+(perceptible|visible)|incomplete\s+(membrane\s+|membranous\s+)?(staining|reactivity))`)
	// reNegatedBefore ends with a negation: "not ", "non-", "no ", "without ".
	reNegatedBefore = regexp.MustCompile(`(^|[^a-z])(not|non|no|without|neither|nor)[\s-]+((a|an|any)\s+)?$`)
)

// stainingFromText reads an IHC 0 staining description: "absent", "faint"
// or "" when the text says neither, or both. A negated description ("not
// ultralow", "non-ultralow", "no faint staining") does not count.
func stainingFromText(t string) string {
	t = strings.ToLower(t)
	found := func(re *regexp.Regexp) bool {
		for _, loc := range re.FindAllStringIndex(t, -1) {
			start := loc[0]
			for start < loc[1] && !(t[start] >= 'a' && t[start] <= 'z') {
				start++
			}
			if !reNegatedBefore.MatchString(t[max(0, start-16):start]) {
				return true
			}
		}
		return false
	}
	absent, faint := found(reStainAbsent), found(reStainFaint)
	switch {
	case faint && !absent:
		return "faint"
	case absent && !faint:
		return "absent"
	}
	return ""
}

// copiesFromText reads the mean HER2 copy number per cell from an ISH
// report's text, never the CEP17 (chromosome 17) count.
func copiesFromText(t string) (float64, bool) {
	t = strings.ToLower(t)
	for _, re := range []*regexp.Regexp{reCopies, reCopiesNamed} {
		for _, loc := range re.FindAllStringSubmatchIndex(t, -1) {
			before := t[max(0, loc[0]-14):loc[0]]
			if strings.Contains(before, "cep") || strings.Contains(before, "17") || strings.Contains(before, "chromosome") {
				continue
			}
			if f, ok := parseFloat(t[loc[2]:loc[3]]); ok {
				return f, true
			}
		}
	}
	return 0, false
}

// ihcFromText reads an IHC score.
func ihcFromText(t string) recommend.IHCScore {
	t = strings.ToLower(t)
	if mm := reIHCScore.FindStringSubmatch(t); mm != nil {
		switch mm[2] {
		case "0":
			return recommend.IHC0
		case "1":
			return recommend.IHC1
		case "2":
			return recommend.IHC2
		case "3":
			return recommend.IHC3
		}
	}
	if reIHCZero.MatchString(t) {
		return recommend.IHC0
	}
	return recommend.IHCUnknown
}

func ihcFromCoded(cc *r4.CodeableConcept) recommend.IHCScore {
	if cc == nil {
		return recommend.IHCUnknown
	}
	for _, c := range cc.Coding {
		if code, ok := codeIn(c, sysLOINC); ok {
			if s, ok := ihcAnswers[code]; ok {
				return recommend.IHCScore(s)
			}
		}
	}
	return recommend.IHCUnknown
}

// her2Part reads one HER2 value (an Observation's or a component's) of the
// given kind into res.
func her2Part(res *recommend.HER2Result, kind obsKind, v value) {
	t := v.freeText()
	switch kind {
	case obsHER2Ratio:
		if v.q != nil {
			res.Ratio = number(v.q.Value)
		} else if v.ratio != nil {
			res.Ratio = ratioValue(v.ratio)
		} else if mm := reRatio.FindStringSubmatch(strings.ToLower("ratio " + t)); mm != nil {
			if f, ok := parseFloat(mm[1]); ok {
				res.Ratio = &f
			}
		}
		return
	case obsHER2Copies:
		if v.q != nil {
			res.CopyNumber = number(v.q.Value)
		} else if f, ok := parseFloat(t); ok {
			res.CopyNumber = &f
		}
		return
	case obsCEP17:
		return
	case obsHER2ISH:
		call := firstNonEmpty(codedCall(v.cc), interpCall(v.interp), textCall(t))
		if s := receptorStatus(call); s != recommend.ReceptorUnknown && res.ISH == recommend.ReceptorUnknown {
			res.ISH = s
			res.Method = firstNonEmpty(res.Method, "ish")
		}
		if mm := reRatio.FindStringSubmatch(strings.ToLower(t)); mm != nil && res.Ratio == nil {
			if f, ok := parseFloat(mm[1]); ok {
				res.Ratio = &f
			}
		}
		if f, ok := copiesFromText(t); ok && res.CopyNumber == nil {
			res.CopyNumber = &f
		}
		return
	}
	// IHC or final call: an IHC answer code, a coded call, interpretation, text.
	if s := ihcFromCoded(v.cc); s != recommend.IHCUnknown && res.IHC == recommend.IHCUnknown {
		res.IHC = s
		res.Method = firstNonEmpty(res.Method, "coded")
	}
	if call := codedCall(v.cc); call != "" && res.Status == recommend.ReceptorUnknown {
		res.Status = receptorStatus(call)
		res.Method = firstNonEmpty(res.Method, "coded")
	}
	if call := interpCall(v.interp); call != "" && res.Status == recommend.ReceptorUnknown {
		res.Status = receptorStatus(call)
		res.Method = firstNonEmpty(res.Method, "interpretation")
	}
	if v.i != nil && kind == obsHER2IHC && res.IHC == recommend.IHCUnknown && *v.i >= 0 && *v.i <= 3 {
		res.IHC = [4]recommend.IHCScore{recommend.IHC0, recommend.IHC1, recommend.IHC2, recommend.IHC3}[*v.i]
		res.Method = firstNonEmpty(res.Method, "coded")
	}
	if t == "" {
		return
	}
	// "1+"/"2+" before "positive": a score of 1+ or 2+ is not a final call.
	if score := ihcFromText(t); score != recommend.IHCUnknown && res.IHC == recommend.IHCUnknown {
		res.IHC = score
		res.Method = firstNonEmpty(res.Method, "text")
	}
	if res.IHC == recommend.IHC0 && res.Staining == "" {
		res.Staining = stainingFromText(t)
	}
	if mm := reISHInText.FindStringSubmatch(strings.ToLower(t)); mm != nil && res.ISH == recommend.ReceptorUnknown {
		switch mm[4] {
		case "negative", "not amplified", "non-amplified":
			res.ISH = recommend.ReceptorNegative
		default:
			res.ISH = recommend.ReceptorPositive
		}
	}
	if res.Status == recommend.ReceptorUnknown && res.IHC != recommend.IHC1 && res.IHC != recommend.IHC2 {
		low := strings.ToLower(t)
		if !strings.Contains(low, "low") {
			if s := receptorStatus(textCall(t)); s != recommend.ReceptorUnknown {
				res.Status = s
				res.Method = firstNonEmpty(res.Method, "text")
			}
		}
	}
}

func (m *mapper) her2(kind obsKind, o *r4.Observation, v value, src recommend.Source, final bool) {
	res := recommend.HER2Result{Final: final, Source: src, Text: v.text()}
	res.Specimen, res.SpecimenRef = m.specimenSite(o)
	if kind != obsHER2Panel {
		her2Part(&res, kind, v)
	}
	for i := range o.Component {
		c := &o.Component[i]
		ck, _ := classify(&c.Code)
		switch ck {
		case obsHER2, obsHER2IHC, obsHER2ISH, obsHER2Ratio, obsHER2Copies, obsCEP17:
			her2Part(&res, ck, compValue(c))
		}
	}
	// A pathologist's comment may describe the staining of an IHC 0.
	for _, n := range o.Note {
		if res.IHC != recommend.IHC0 || res.Staining != "" {
			break
		}
		res.Staining = stainingFromText(n.Text)
	}
	if res.Status == recommend.ReceptorUnknown && res.IHC == recommend.IHCUnknown && res.ISH == recommend.ReceptorUnknown &&
		res.Ratio == nil && res.CopyNumber == nil && res.Text == "" {
		return
	}
	// A ratio or copy number alone is merged with its companions of the day.
	if (kind == obsHER2Ratio || kind == obsHER2Copies) && res.Status == recommend.ReceptorUnknown &&
		res.IHC == recommend.IHCUnknown && res.ISH == recommend.ReceptorUnknown {
		res.Method = "ish"
		m.ish = append(m.ish, res)
		return
	}
	m.f.HER2 = append(m.f.HER2, res)
}

// mergeISH joins ISH ratio and copy-number results of one day and specimen
// into one HER2 result.
func (m *mapper) mergeISH() {
	sort.SliceStable(m.ish, func(i, j int) bool { return lessSource(m.ish[i].Source, m.ish[j].Source) })
	var merged []recommend.HER2Result
	for _, r := range m.ish {
		day := r.Date
		if len(day) > 10 {
			day = day[:10]
		}
		joined := false
		for i := range merged {
			md := merged[i].Date
			if len(md) > 10 {
				md = md[:10]
			}
			if md == day && merged[i].SpecimenRef == r.SpecimenRef && merged[i].Final == r.Final {
				if merged[i].Ratio == nil {
					merged[i].Ratio = r.Ratio
				}
				if merged[i].CopyNumber == nil {
					merged[i].CopyNumber = r.CopyNumber
				}
				merged[i].Refs = append(merged[i].Refs, r.Refs...)
				if merged[i].Text != "" && r.Text != "" {
					merged[i].Text += "; " + r.Text
				}
				joined = true
				break
			}
		}
		if !joined {
			r.Refs = append([]string(nil), r.Refs...)
			merged = append(merged, r)
		}
	}
	m.f.HER2 = append(m.f.HER2, merged...)
	m.ish = nil
}

// ---- specimen ----

var breastSites = map[string]bool{"76752008": true, "80248007": true, "73056007": true}

// specimenSite says whether the Observation's specimen (or body site) is the
// primary tumour or a metastasis.
func (m *mapper) specimenSite(o *r4.Observation) (recommend.SpecimenSite, string) {
	ref := ""
	var texts []string
	var codes []r4.Coding
	if o.Specimen != nil {
		ref = str(o.Specimen.Reference)
		texts = append(texts, str(o.Specimen.Display))
		if r := m.lookup(ref); r != nil {
			ref = r.Ref() // one name per specimen, however it was referenced
			if sp, ok := r.decoded.(*r4.Specimen); ok {
				texts = append(texts, ccAllText(sp.Type))
				if sp.Collection != nil && sp.Collection.BodySite != nil {
					texts = append(texts, ccAllText(sp.Collection.BodySite))
					codes = append(codes, sp.Collection.BodySite.Coding...)
				}
				for _, n := range sp.Note {
					texts = append(texts, n.Text)
				}
			}
		}
	}
	if o.BodySite != nil {
		texts = append(texts, ccAllText(o.BodySite))
		codes = append(codes, o.BodySite.Coding...)
	}
	t := strings.ToLower(strings.Join(texts, " "))
	switch {
	case strings.Contains(t, "metasta"):
		return recommend.SpecimenMetastatic, ref
	case strings.Contains(t, "liver") || strings.Contains(t, "hepatic") || strings.Contains(t, "bone") ||
		strings.Contains(t, "lung") || strings.Contains(t, "pleura") || strings.Contains(t, "brain") ||
		strings.Contains(t, "ascites") || strings.Contains(t, "peritone"):
		return recommend.SpecimenMetastatic, ref
	}
	for _, c := range codes {
		if code, ok := codeIn(c, sysSNOMED); ok && breastSites[code] {
			return recommend.SpecimenPrimary, ref
		}
	}
	if strings.Contains(t, "breast") {
		return recommend.SpecimenPrimary, ref
	}
	return recommend.SpecimenUnknown, ref
}

// ---- other observations ----

func (m *mapper) menopause(v value, src recommend.Source, final bool) {
	st := ""
	if v.cc != nil {
		for _, c := range v.cc.Coding {
			if code, ok := codeIn(c, sysSNOMED); ok {
				if s, ok := menopauseAnswers[code]; ok {
					st = s
					break
				}
			}
		}
	}
	if st == "" {
		t := strings.ToLower(v.freeText())
		switch {
		case strings.Contains(t, "induced") || strings.Contains(t, "artificial") || strings.Contains(t, "chemotherapy"):
			st = "induced"
		case strings.Contains(t, "peri"):
			st = "perimenopausal"
		case strings.Contains(t, "post"):
			st = "postmenopausal"
		case strings.Contains(t, "pre"):
			st = "premenopausal"
		}
	}
	if st == "" && v.cc != nil {
		st = menopauseFromText(ccAllText(v.cc))
	}
	if st == "" {
		return
	}
	m.f.Menopause = append(m.f.Menopause, recommend.MenopauseResult{Status: recommend.MenopausalStatus(st), Text: v.text(), Final: final, Source: src})
}

func (m *mapper) pregnancy(kind obsKind, v value, src recommend.Source, final bool) {
	st := ""
	switch kind {
	case obsPregnancy:
		if v.cc != nil {
			for _, c := range v.cc.Coding {
				if code, ok := codeIn(c, sysSNOMED); ok {
					if s, ok := pregnancyAnswers[code]; ok {
						st = s
					}
				}
			}
		}
		if st == "" {
			st = pregnancyFromText(v.freeText())
		}
	case obsHCG, obsHCGQuant:
		call := firstNonEmpty(codedCall(v.cc), interpCall(v.interp))
		if call == "" && kind == obsHCG {
			call = textCall(v.freeText())
		}
		if call == "" && kind == obsHCGQuant {
			switch rangeFlag(v) {
			case recommend.RangeHigh:
				call = "positive"
			case recommend.RangeNormal:
				call = "negative"
			}
		}
		switch call {
		case "positive":
			st = "pregnant"
		case "negative":
			st = "not-pregnant"
		}
	}
	if st == "" {
		return
	}
	m.f.Pregnancy = append(m.f.Pregnancy, recommend.PregnancyResult{Status: recommend.PregnancyStatus(st), Text: v.text(), Final: final, Source: src})
}

var (
	rePregUncertain = regexp.MustCompile(`possibl|unknown|unsure|uncertain|not yet confirmed|not confirmed|suspected|unable|cannot|can't|\?`)
	rePregNegated   = regexp.MustCompile(`(^|[^a-z])(not|no longer|never|isn't|denies|negative for)\b[^.;]{0,25}pregnan|pregnan[a-z]*\s*(test|status)?\s*[:=]?\s*(negative|no|absent)($|[^a-z])|^\s*(negative|no)\s*$`)
	rePregnant      = regexp.MustCompile(`(^|[^a-z])pregnan|^\s*(positive|yes)\s*$`)
)

// pregnancyFromText reads a pregnancy status written as text, negation
// first ("not currently pregnant"); a hedged text ("possibly pregnant") is
// not a status.
func pregnancyFromText(t string) string {
	t = strings.ToLower(t)
	switch {
	case rePregUncertain.MatchString(t):
		return ""
	case rePregNegated.MatchString(t):
		return "not-pregnant"
	case rePregnant.MatchString(t):
		return "pregnant"
	}
	return ""
}

var reMenopauseText = regexp.MustCompile(`(^|[^a-z])(pre|peri|post)[- ]?menopaus`)

// menopauseFromText reads "postmenopausal", "pre-menopausal",
// "perimenopause" in a condition's or answer's words; "induced" or
// "artificial" menopause is an induced state.
func menopauseFromText(t string) string {
	t = strings.ToLower(t)
	mm := reMenopauseText.FindStringSubmatch(t)
	if mm == nil {
		return ""
	}
	if strings.Contains(t, "induced") || strings.Contains(t, "artificial") {
		return "induced"
	}
	return mm[2] + "menopausal"
}

var reNumber = regexp.MustCompile(`\d+(?:\.\d+)?`)

func ecogValue(v value) (int, bool) {
	if v.i != nil && *v.i >= 0 && *v.i <= 5 {
		return *v.i, true
	}
	if v.q != nil {
		if f := number(v.q.Value); f != nil && *f >= 0 && *f <= 5 && *f == float64(int(*f)) {
			return int(*f), true
		}
	}
	ccs := append([]r4.CodeableConcept(nil), v.interp...)
	if v.cc != nil {
		ccs = append([]r4.CodeableConcept{*v.cc}, ccs...)
	}
	for _, cc := range ccs {
		for _, c := range cc.Coding {
			if n, ok := ecogAnswers[strings.TrimSpace(str(c.Code))]; ok {
				return n, true
			}
		}
	}
	// Text: one score only ("1", "ECOG 2", "Grade 1: restricted …"); two
	// ("ECOG 1-2") is not a result.
	n := -1
	for _, num := range reNumber.FindAllString(reNotScore.ReplaceAllString(v.freeText(), " "), -1) {
		if len(num) != 1 || num[0] > '5' {
			continue
		}
		d := int(num[0] - '0')
		if n >= 0 && d != n {
			return 0, false
		}
		n = d
	}
	if n >= 0 {
		return n, true
	}
	return 0, false
}

// reNotScore blanks numbers that are not a score: dates, times and the
// range of the scale ("0-5", "of 5").
var reNotScore = regexp.MustCompile(`\d{4}-\d{2}(-\d{2})?|\d{1,2}:\d{2}|\(?0\s*(-|to)\s*5\)?|(out )?of 5|/\s*5`)

func intValue(v value) (int, bool) {
	if v.i != nil {
		return *v.i, true
	}
	if v.q != nil {
		if f := number(v.q.Value); f != nil && *f == float64(int(*f)) {
			return int(*f), true
		}
	}
	if v.s != nil {
		if f, ok := parseFloat(strings.TrimSuffix(strings.TrimSpace(*v.s), "%")); ok && f == float64(int(f)) {
			return int(f), true
		}
	}
	return 0, false
}

func (m *mapper) lvef(v value, src recommend.Source, final bool) {
	var val *float64
	unit, cmp := "", ""
	if v.q != nil {
		val = number(v.q.Value)
		unit = firstNonEmpty(str(v.q.Unit), str(v.q.Code))
		if val != nil && (unit == "1" || unit == "{ratio}" || unit == "ratio") && *val <= 1 {
			p := math.Round(*val*100*1000) / 1000
			val, unit = &p, "%"
		}
		// A bound is read as its value only when the value falls on the
		// same side of the 50 % cut-off as every value the bound allows:
		// "<55 %" is not a reassuring 55 %, ">30 %" not an adverse 30 %,
		// and "<50 %" (adverse) cannot be written as 50 %.
		if cmp = comparatorOf(v.q); cmp != "" && val != nil {
			switch boundSide(cmp, *val, lvefCutoff) {
			case "above":
			case "below":
				if *val >= lvefCutoff {
					return
				}
			default:
				return
			}
		}
	} else if v.i != nil {
		f := float64(*v.i)
		val = &f
	} else if p, below, ok := percentFromText(v.freeText()); ok && !below {
		val, unit = &p, "%"
	}
	if val == nil {
		return
	}
	m.f.LVEF = append(m.f.LVEF, recommend.Measurement{Value: val, Comparator: cmp, Unit: unit, Final: final, Source: src})
}

func (m *mapper) lab(kind recommend.LabKind, v value, src recommend.Source, final bool) {
	if v.q == nil || v.q.Value == nil {
		return
	}
	val := number(v.q.Value)
	if val == nil {
		return
	}
	m.f.Labs = append(m.f.Labs, recommend.Lab{Kind: kind, Value: val, Unit: firstNonEmpty(str(v.q.Unit), str(v.q.Code)),
		Flag: rangeFlag(v), Final: final, Source: src})
}

// rangeFlag reads interpretation H/L/N, then the reference range; neither
// gives RangeUnknown.
func rangeFlag(v value) recommend.RangeFlag {
	for _, cc := range v.interp {
		for _, c := range cc.Coding {
			if s := systemOf(c); s != "" && s != sysV3Interp {
				continue
			}
			switch str(c.Code) {
			case "H", "HH", "HU", ">":
				return recommend.RangeHigh
			case "L", "LL", "LU", "<":
				return recommend.RangeLow
			case "N":
				return recommend.RangeNormal
			}
		}
	}
	if v.q == nil {
		return recommend.RangeUnknown
	}
	val := number(v.q.Value)
	if val == nil {
		return recommend.RangeUnknown
	}
	for _, rr := range v.rr {
		var lo, hi *float64
		if rr.Low != nil {
			lo = number(rr.Low.Value)
		}
		if rr.High != nil {
			hi = number(rr.High.Value)
		}
		if lo == nil && hi == nil {
			continue
		}
		switch {
		case lo != nil && *val < *lo:
			return recommend.RangeLow
		case hi != nil && *val > *hi:
			return recommend.RangeHigh
		case lo != nil && hi != nil:
			return recommend.RangeNormal
		}
		// Only one bound, and the value is on the right side of it.
		return recommend.RangeNormal
	}
	return recommend.RangeUnknown
}

var reCPS = regexp.MustCompile(`(?i)cps\s*(?:score)?\s*(?:of|=|:)?\s*(≥|>=|≤|<=|<|>)?\s*(\d+(?:\.\d+)?)`)

func (m *mapper) pdl1(o *r4.Observation, v value, src recommend.Source, final bool) {
	res := recommend.PDL1Result{Final: final, Source: src, Text: v.text()}
	if v.q != nil && v.q.Value != nil {
		res.CPS = number(v.q.Value)
		if v.q.Comparator != nil {
			res.Comparator = v.q.Comparator.Code()
		}
	} else if v.i != nil {
		f := float64(*v.i)
		res.CPS = &f
	}
	texts := []string{v.freeText()}
	for i := range o.Component {
		c := &o.Component[i]
		cv := compValue(c)
		if strings.Contains(ccAllText(&c.Code), "cps") || strings.Contains(ccAllText(&c.Code), "combined positive") {
			if res.CPS == nil && cv.q != nil {
				res.CPS = number(cv.q.Value)
				if cv.q.Comparator != nil {
					res.Comparator = cv.q.Comparator.Code()
				}
			}
			texts = append(texts, "CPS "+cv.text())
		}
	}
	if res.CPS == nil {
		for _, t := range texts {
			if mm := reCPS.FindStringSubmatch(t); mm != nil {
				if f, ok := parseFloat(mm[2]); ok {
					res.CPS = &f
					switch mm[1] {
					case "≥", ">=":
						res.Comparator = ">="
					case "≤", "<=":
						res.Comparator = "<="
					default:
						res.Comparator = mm[1]
					}
					break
				}
			}
		}
	}
	if res.CPS == nil && res.Text == "" {
		return
	}
	m.f.PDL1 = append(m.f.PDL1, res)
}

func (m *mapper) diseaseStatus(v value, src recommend.Source, final bool) {
	st := ""
	if v.cc != nil {
		for _, c := range v.cc.Coding {
			if code, ok := codeIn(c, sysSNOMED); ok {
				st = firstNonEmpty(st, diseaseStatusAnswers[code])
			}
		}
	}
	if st == "" {
		st = diseaseStatusFromText(v.freeText())
	}
	if st == "" {
		return
	}
	m.f.DiseaseStatus = append(m.f.DiseaseStatus, recommend.DiseaseStatus{Value: recommend.DiseaseStatusValue(st), Final: final, Source: src})
}

var (
	reDSNoProgress   = regexp.MustCompile(`(no|without|not|non)[- ](evidence of )?(disease )?progress`)
	reDSWorsened     = regexp.MustCompile(`worse|progress|(^|[^a-z])pd($|[^a-z])`)
	reDSNotDetected  = regexp.MustCompile(`no evidence of (active )?disease|(^|[^a-z])ned($|[^a-z])|not detected|complete (response|remission)`)
	reDSImproved     = regexp.MustCompile(`improv|partial response|responding`)
	reDSStable       = regexp.MustCompile(`stable|unchanged|no change`)
	reDSUndetermined = regexp.MustCompile(`undetermined|indeterminate|unknown|cannot be determined`)
)

// diseaseStatusFromText reads a cancer disease status written as words
// ("Progressive disease", "Stable disease"); "no progression" is not read
// as progression.
func diseaseStatusFromText(t string) string {
	t = strings.ToLower(t)
	switch {
	case t == "":
		return ""
	case reDSUndetermined.MatchString(t):
		return "undetermined"
	case reDSNotDetected.MatchString(t):
		return "not-detected"
	case reDSNoProgress.MatchString(t):
		if reDSStable.MatchString(t) {
			return "stable"
		}
		return ""
	case reDSWorsened.MatchString(t):
		return "worsened"
	case reDSImproved.MatchString(t):
		return "improved"
	case reDSStable.MatchString(t):
		return "stable"
	}
	return ""
}

// ---- genomics ----

var geneNames = []string{"PIK3CA", "ESR1", "AKT1", "PTEN", "BRCA1", "BRCA2", "PALB2", "ERBB2"}

var geneRes = func() []*regexp.Regexp {
	out := make([]*regexp.Regexp, len(geneNames))
	for i, g := range geneNames {
		out[i] = regexp.MustCompile(`(^|[^A-Z0-9])` + g + `($|[^A-Z0-9])`)
	}
	return out
}()

func geneOf(cc *r4.CodeableConcept) string {
	if cc == nil {
		return ""
	}
	for _, c := range cc.Coding {
		s := systemOf(c)
		if s == sysHGNC || s == sysHGNCGene || strings.Contains(s, "genenames") {
			if g, ok := hgncGenes[strings.TrimSpace(str(c.Code))]; ok {
				return g
			}
			for _, g := range geneNames {
				if strings.EqualFold(strings.TrimSpace(str(c.Code)), g) || strings.EqualFold(str(c.Display), g) {
					return g
				}
			}
		}
	}
	t := strings.ToUpper(ccAllText(cc))
	for i, re := range geneRes {
		if re.MatchString(t) {
			return geneNames[i]
		}
	}
	return ""
}

func (m *mapper) variant(kind obsKind, o *r4.Observation, v value, src recommend.Source, final bool) {
	gene := ""
	switch kind {
	case obsPIK3CATest:
		gene = "PIK3CA"
	case obsPTENTest:
		gene = "PTEN"
	}
	res := recommend.Variant{Final: final, Source: src, Text: v.text()}
	for i := range o.Component {
		c := &o.Component[i]
		ck, _ := classify(&c.Code)
		cv := compValue(c)
		switch ck {
		case obsGeneStudied:
			if g := geneOf(cv.cc); g != "" && gene == "" {
				gene = g
			}
		case obsGenomicSource:
			t := strings.ToLower(ccAllText(cv.cc) + " " + ccCode(cv.cc))
			switch {
			case strings.Contains(t, "germline") || strings.Contains(t, "la6683-2"):
				res.Origin = "germline"
			case strings.Contains(t, "somatic") || strings.Contains(t, "la6684-0"):
				res.Origin = "somatic"
			}
		case obsClinSig:
			t := strings.ToLower(ccAllText(cv.cc) + " " + ccCode(cv.cc))
			var p bool
			switch {
			case strings.Contains(t, "benign") || strings.Contains(t, "uncertain") ||
				strings.Contains(t, "la26333-7") || strings.Contains(t, "la26334-5") || strings.Contains(t, "la6675-8"):
				p = false
			case strings.Contains(t, "pathogenic") || strings.Contains(t, "la6668-3") || strings.Contains(t, "la26332-9"):
				p = true
			default:
				continue
			}
			res.Pathogenic = &p
		}
	}
	if gene == "" {
		gene = geneOf(&o.Code)
	}
	if gene == "" {
		return
	}
	res.Gene = gene
	switch firstNonEmpty(codedCall(v.cc), interpCall(v.interp), textCall(v.freeText())) {
	case "positive":
		res.Status = recommend.VariantDetected
	case "negative":
		res.Status = recommend.VariantAbsent
	}
	if res.Origin == "" {
		t := strings.ToLower(v.freeText())
		switch {
		case strings.Contains(t, "germline"):
			res.Origin = "germline"
		case strings.Contains(t, "somatic"):
			res.Origin = "somatic"
		}
	}
	m.f.Variants = append(m.f.Variants, res)
}

func (m *mapper) addBRCA(gene string, detected bool, text string, final bool, src recommend.Source) {
	st := recommend.VariantAbsent
	if detected {
		st = recommend.VariantDetected
	}
	m.f.Variants = append(m.f.Variants, recommend.Variant{Gene: gene, Status: st, Text: text, Final: final, Source: src})
}

// ---- staging ----

var (
	reStageIV     = regexp.MustCompile(`(^|[^A-Za-z])(IV[ABC]?|[Ss]tage\s*4[ABCabc]?)($|[^A-Za-z0-9])`)
	reM1          = regexp.MustCompile(`(^|[^A-Za-z0-9])[cpy]{0,2}M1[a-d]?(\([^)]*\))?($|[^0-9A-Za-z])`)
	reAJCCStageIV = regexp.MustCompile(`^(?i:(stage\s*)?(4|iv)[abc]?)$`)
	reM0          = regexp.MustCompile(`(^|[^A-Za-z0-9])[cpy]{0,2}M0(\([^)]*\))?($|[^0-9A-Za-z])`)
)

// stageOrM reads a stage group, an M category or a history of metastatic
// cancer. A staging Observation that is not final (preliminary, registered,
// no status) is kept as a provisional finding: shown, and listed as not
// final, but never used to establish metastatic disease (section 8).
func (m *mapper) stageOrM(kind obsKind, o *r4.Observation, v value, src recommend.Source, final bool) {
	fin := recommend.Finding{Coding: firstCoding(v.cc, sysSNOMED), Source: src}
	if !final {
		fin.VerificationStatus = "provisional"
	}
	if v.cc == nil {
		fin.Coding = firstCoding(&o.Code, sysSNOMED)
	}
	var codes []string
	if v.cc != nil {
		for _, c := range v.cc.Coding {
			if code, ok := codeIn(c, sysSNOMED); ok {
				codes = append(codes, code)
			}
		}
	}
	text := v.freeText()
	ajccIV := false
	if v.cc != nil {
		for _, c := range v.cc.Coding {
			text += " " + str(c.Display)
			// AJCC codes (mCODE STU1): "cM1", "pM0", "4", "IVA".
			if code, ok := codeIn(c, sysAJCC); ok {
				text += " " + code
				ajccIV = ajccIV || reAJCCStageIV.MatchString(code)
			}
		}
	}
	switch kind {
	case obsStageGroup:
		iv := ajccIV
		for _, c := range codes {
			iv = iv || stageIVCodes[c]
		}
		if iv || reStageIV.MatchString(text) {
			m.f.Metastases = append(m.f.Metastases, recommend.Metastasis{Kind: recommend.MetastasisDistant, Basis: "stage-group", Finding: fin})
		}
	case obsMCategory:
		m1, m0 := false, false
		for _, c := range codes {
			m1 = m1 || m1Codes[c]
			m0 = m0 || m0Codes[c]
		}
		switch {
		case m1 || reM1.MatchString(text):
			m.f.Metastases = append(m.f.Metastases, recommend.Metastasis{Kind: recommend.MetastasisDistant, Basis: "m-category", Finding: fin})
		case m0 || reM0.MatchString(text):
			m.f.Metastases = append(m.f.Metastases, recommend.Metastasis{Kind: recommend.MetastasisNone, Basis: "m-category", Finding: fin})
		}
	case obsMetHistory:
		fin.Coding = firstCoding(&o.Code, sysSNOMED)
		if v.b != nil && !*v.b || codedCall(v.cc) == "negative" {
			m.f.Metastases = append(m.f.Metastases, recommend.Metastasis{Kind: recommend.MetastasisNone, Basis: "condition", Finding: fin})
			return
		}
		site := ""
		for _, c := range o.Code.Coding {
			if code, ok := codeIn(c, sysSNOMED); ok {
				site = firstNonEmpty(site, metastasisSNOMED[code])
			}
		}
		m.f.Metastases = append(m.f.Metastases, recommend.Metastasis{Kind: recommend.MetastasisDistant, Site: site,
			Visceral: visceralSite(site), Basis: "condition", Finding: fin})
	}
}

// comorbidityObs reads the mCODE comorbidities Observation's coded
// "condition present" extensions.
func (m *mapper) comorbidityObs(o *r4.Observation, src recommend.Source) {
	for _, e := range o.Extension {
		u := strings.ToLower(e.Url)
		if strings.Contains(u, "absent") || e.ValueCodeableConcept == nil {
			continue
		}
		if !strings.Contains(u, "present") && !strings.HasSuffix(u, "related-condition") {
			continue
		}
		m.comorbidity(e.ValueCodeableConcept, "", "", src)
	}
}
