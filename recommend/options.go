package recommend

import (
	"fmt"
	"strings"
)

// What the classification, continuation and treatment rules do when they
// fire. Options are collected here and ranked in recommend.go.

const perLabel = "per label"

// add collects an option with its evidence and the facts it used.
func (s *state) add(o Option, prio int, extra ...FactUse) {
	for _, e := range s.out.options {
		if e.ID == o.ID {
			return
		}
	}
	if o.Line == 0 && o.Category != "supportive" {
		o.Line = s.line
	}
	if o.Schedule == "" {
		o.Schedule = perLabel
	}
	if o.Evidence == nil {
		o.Evidence = s.evidence(o.Rules...)
	}
	o.FactsUsed = append(s.baseFacts(o), extra...)
	s.out.options = append(s.out.options, o)
	s.out.prio[o.ID] = prio
}

// baseFacts are the facts every option relies on.
func (s *state) baseFacts(o Option) []FactUse {
	var fu []FactUse
	fu = append(fu, FactUse{Fact: "metastatic disease: " + strings.Join(s.dis.call.Sites, ", "), Source: s.dis.call.Source})
	if o.Category == "supportive" {
		return fu
	}
	fu = append(fu,
		FactUse{Fact: "HER2 " + s.her2.call.Value, Source: s.her2.call.Source},
		FactUse{Fact: "ER " + s.er.call.Value, Source: s.er.call.Source},
		FactUse{Fact: "PR " + s.pr.call.Value, Source: s.pr.call.Source},
	)
	if optionHas(o, classEndocrine) || optionHas(o, classOFS) {
		fu = append(fu, FactUse{Fact: "menopausal status " + s.meno.call.Status + basisSuffix(s.meno.call.Basis), Source: s.meno.call.Source})
	}
	if s.line >= 2 {
		fu = append(fu, FactUse{Fact: fmt.Sprintf("line of therapy %d (after %d metastatic line(s))", s.line, s.reg.lines), Source: s.reg.progressionRef})
	}
	return fu
}

func basisSuffix(b string) string {
	if b == "" {
		return ""
	}
	return " (" + b + ")"
}

func variantFact(v *Variant) FactUse {
	if v == nil {
		return FactUse{}
	}
	return FactUse{Fact: v.Gene + " alteration detected" + basisSuffix(v.Origin), Source: v.Source}
}

// ofsDeclinedBlocks: a female treated as premenopausal declined ovarian
// function suppression, so no AI, fulvestrant or elacestrant (H04).
func (s *state) ofsDeclinedBlocks() bool {
	return s.meno.call.TreatAsPremenopausal && !s.meno.male && s.ofsDeclined()
}

// endocrinePossible: AI/SERD-based endocrine options can be proposed.
func (s *state) endocrinePossible() bool { return !s.ofsDeclinedBlocks() }

// withOFS adds ovarian function suppression (a GnRH agonist) to an option
// holding an AI, fulvestrant or elacestrant when the patient is handled as
// premenopausal or is male (C06, H04).
func (s *state) withOFS(o Option) Option {
	if !s.meno.call.TreatAsPremenopausal || !(optionHas(o, classAI) || optionHas(o, classSERD)) {
		return o
	}
	o.Drugs = append(o.Drugs, oneOf("gnrh", "goserelin", "leuprolide")...)
	o.Rules = appendUnique(o.Rules, "C06")
	if s.meno.male {
		o.Title += ", with a GnRH agonist"
	} else {
		o.Title += ", with ovarian function suppression"
		if s.meno.call.Status == string(Premenopausal) || s.meno.call.Status == string(Perimenopausal) {
			o.Rules = appendUnique(o.Rules, "H04")
		}
	}
	return o
}

func appendUnique(list []string, ids ...string) []string {
	for _, id := range ids {
		found := false
		for _, x := range list {
			if x == id {
				found = true
			}
		}
		if !found {
			list = append(list, id)
		}
	}
	return list
}

// cdkChoice is the CDK4/6 inhibitor choice; ribociclib is left out when S04
// or H05 applies.
func (s *state) cdkChoice(tamoxifenPartner bool) []Drug {
	names := []string{"palbociclib"}
	if why := s.ribociclibBlockers(tamoxifenPartner); len(why) > 0 {
		s.out.ribociclib = appendUnique(s.out.ribociclib, why...)
	} else {
		names = append(names, "ribociclib")
	}
	names = append(names, "abemaciclib")
	return oneOf("cdk46", names...)
}

// chemoChoice is the single-agent chemotherapy choice; an anthracycline is
// included only when nothing in section 8 forbids it.
func (s *state) chemoChoice() []Drug {
	names := []string{"capecitabine", "paclitaxel", "docetaxel", "eribulin", "vinorelbine"}
	if why := s.anthracyclineBlockers(); len(why) > 0 {
		s.out.anthraNo = appendUnique(s.out.anthraNo, why...)
		s.anthracyclineNotProposed("S02", "P07")
	} else {
		names = append(names, "doxorubicin")
	}
	return oneOf("chemo", names...)
}

func (s *state) message(level, text string, rules ...string) {
	s.out.messages = append(s.out.messages, Message{Level: level, Text: text, Rules: rules})
}

func (s *state) need(d DataNeeded) {
	for _, e := range s.out.needed {
		if e.ID == d.ID {
			return
		}
	}
	s.out.needed = append(s.out.needed, d)
}

// notProposed records a drug or class left out, once per drug: a second
// reason for the same drug joins the first (the clinician reads one line
// per drug, with every reason and rule).
func (s *state) notProposed(drug, reason string, rules ...string) {
	for i := range s.out.notProposed {
		e := &s.out.notProposed[i]
		if e.Drug != drug {
			continue
		}
		if !strings.Contains(e.Reason, reason) {
			e.Reason += "; " + reason
		}
		e.Rules = appendUnique(e.Rules, rules...)
		return
	}
	s.out.notProposed = append(s.out.notProposed, NotProposed{Drug: drug, Reason: reason, Rules: append([]string(nil), rules...)})
}

// anthracyclineNotProposed records, in one wording whichever rule asks,
// why anthracyclines are left out (S02, P07, section 8).
func (s *state) anthracyclineNotProposed(rules ...string) {
	if why := s.anthracyclineBlockers(); len(why) > 0 {
		s.notProposed("anthracycline (doxorubicin, epirubicin)", strings.Join(why, "; "), rules...)
	}
}

// Classification rules.

func thenC05(s *state) {
	switch {
	case s.f.Patient.Deceased:
		s.message("stop", "The record says the patient has died: no plan is proposed; check the record if this is unexpected.", "C05")
	default:
		s.message("stop", "No distant metastatic disease is recorded (regional lymph nodes alone are not): the metastatic breast cancer rules do not apply and no therapy option is proposed; confirm staging if metastatic disease is suspected.", "C05")
	}
	if len(s.dis.uncertain) > 0 && !s.f.Patient.Deceased {
		m := s.dis.uncertain[0]
		s.need(DataNeeded{ID: "metastasis", Item: "distant metastasis?",
			Why:    "A finding (" + firstNonEmpty(m.Coding.Display, m.Coding.Code, m.Site) + ") may be regional or distant; confirm whether distant metastatic disease is present.",
			Reason: "uncertain", Blocking: true, Rules: []string{"C05"}, Source: m.Source})
	}
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

func thenC01(s *state) {
	if s.erLow() && s.metastatic() {
		s.message("warning", "ER-low positive (1–10%): endocrine benefit is uncertain, so consider the triple-negative options shown as well (guideline status to confirm).", "C01")
	}
}

func whenC02(s *state) bool {
	return len(s.er.disc)+len(s.pr.disc)+len(s.her2.disc) > 0 || len(s.f.ER) > 1 || len(s.f.PR) > 1 || len(s.f.HER2) > 1
}

func thenC02(s *state) {
	var refs []string
	for _, d := range append(append(append([]Discordance{}, s.er.disc...), s.pr.disc...), s.her2.disc...) {
		refs = mergeRefs(refs, d.Earlier.Refs, d.Later.Refs)
	}
	// Without metastatic disease there is no metastasis to re-biopsy (C05).
	if len(refs) > 0 && s.metastatic() {
		s.need(DataNeeded{ID: "rebiopsy", Item: "re-biopsy or retest of an accessible metastasis",
			Why:    "Receptor results are discordant between specimens or over time; the most recent metastatic result governs meanwhile.",
			Reason: "conflicting", Rules: []string{"C02"}, Source: Source{Refs: refs}})
	}
}

func whenC03(s *state) bool {
	return len(s.f.HER2) > 0 || s.f.Statements.HER2 != nil || s.f.Statements.HER2IHC != nil || s.metastatic()
}

func thenC03(s *state) {
	if s.metastatic() && !s.her2Known() && !s.pregnant {
		s.message("stop", "HER2 status is unknown: order HER2 testing; HER2-positive disease is treated differently from the first line on, so no anticancer option is proposed until HER2 is known.", "C03")
	}
}

func thenC06(s *state) {
	if s.meno.note != "" {
		s.message("info", s.meno.note, "C06")
	}
	if s.meno.call.Status == "unknown" && !s.meno.male {
		s.need(DataNeeded{ID: "menopause", Item: "menopausal status",
			Why:    "Unknown menopausal status is handled as premenopausal: ovarian function suppression accompanies every AI, fulvestrant or elacestrant.",
			Reason: "missing", Rules: []string{"C06"}})
	}
}

func thenC07(s *state) {
	if s.reg.aiRelapse12 {
		s.message("info", "Relapse during or within 12 months of adjuvant aromatase inhibitor therapy: follow the AI-resistant path (fulvestrant-based, H03).", "C07")
	} else {
		s.message("info", "No relapse on or within 12 months of an adjuvant aromatase inhibitor: follow the endocrine-sensitive path (H02).", "C07")
	}
}

func thenC08(s *state) {
	s.message("warning", "Visceral crisis stated by the clinician: chemotherapy (a combination when a rapid response is needed, or an ADC where indicated) is proposed instead of first-line endocrine therapy; re-evaluate endocrine therapy later.", "C08")
	if s.hr == "positive" && s.her2.status == ReceptorNegative {
		s.notProposed("endocrine therapy", "visceral crisis: chemotherapy first (C08)", "C08")
	}
}

func thenCONT(s *state) {
	cur := s.reg.current
	names := cur.names()
	o := Option{ID: "CONT-current", Title: "Continue the current regimen (" + strings.Join(names, " + ") + "); re-evaluate at progression",
		Category: "continue", Line: cur.line, Drugs: drugs(names...), Preferred: true, Rules: []string{"CONT"},
		Rationale: "A current regimen is running and no progression is recorded after its start: no new line is proposed."}
	for _, m := range s.f.Medications {
		if medMatchesAny(m, gnrhNames) && medIsCurrent(m, s.now) {
			for _, n := range gnrhNames {
				if medMatchesAny(m, []string{n}) && !optionHasDrug(o, n) {
					o.Drugs = append(o.Drugs, newDrug(n))
				}
			}
		}
	}
	s.add(o, 0)
	var regs []Regimen
	for _, r := range s.reg.toRegimens() {
		if r.Current {
			regs = append(regs, r)
		}
	}
	if len(regs) > 0 {
		s.out.cont = &ContinueCall{Regimen: regs[0], Text: "Continue current regimen; re-evaluate at progression.", Rules: []string{"CONT"}}
	}
}

// HR-positive / HER2-negative rules.

func thenH01(s *state) {
	msg := "HR-positive/HER2-negative: start with endocrine-based therapy"
	if s.dis.call.Visceral {
		msg += ", even with visceral metastases"
	}
	s.message("info", msg+"; chemotherapy is for visceral crisis or endocrine-refractory disease.", "H01")
}

func whenH02(s *state) bool {
	return s.hrPosHER2Neg() && s.line == 1 && !s.aiResistant() && !s.visceralCrisis() && !s.cdkUnsuitable() && s.endocrinePossible()
}

func thenH02(s *state) {
	o := Option{ID: "H02-nsai-cdk46", Title: "Letrozole or anastrozole + a CDK4/6 inhibitor", Category: "endocrine+cdk46", Preferred: true,
		Drugs: append(oneOf("nsai", "letrozole", "anastrozole"), s.cdkChoice(false)...), Rules: []string{"H02", "H01", "C07"},
		Rationale: "First-line endocrine-sensitive HR+/HER2− disease: a non-steroidal AI with a CDK4/6 inhibitor (class recommendation; choose the agent by toxicity and safety flags)."}
	s.add(s.withOFS(o), 10)
}

func whenH03(s *state) bool {
	naive := !s.exposed(classCDK46)
	return s.hrPosHER2Neg() && !s.visceralCrisis() && !s.cdkUnsuitable() && naive && s.endocrinePossible() &&
		((s.line == 1 && (s.aiResistant() || s.reg.aiEndUnknown)) || (s.line == 2 && s.metExposed(classAI)))
}

func thenH03(s *state) {
	o := Option{ID: "H03-fulv-cdk46", Title: "Fulvestrant + a CDK4/6 inhibitor", Category: "endocrine+cdk46", Preferred: true,
		Drugs: append(drugs("fulvestrant"), s.cdkChoice(false)...), Rules: []string{"H03", "C07"},
		Rationale: "AI-resistant disease (relapse during or ≤12 months after adjuvant AI, or progression on an AI), CDK4/6 inhibitor-naïve."}
	if s.line == 1 {
		o.Rules = append(o.Rules, "H01")
	}
	if s.line == 1 && !s.aiResistant() && s.reg.aiEndUnknown {
		// Relapse timing after the adjuvant AI is unknown: both paths stay,
		// the AI-sensitive one first, until the end date is known.
		o.Preferred = false
		o.Rationale = "If the adjuvant aromatase inhibitor ended 12 months or less before the relapse (its end date is not recorded), the disease is AI-resistant: fulvestrant with a CDK4/6 inhibitor."
		s.add(s.withOFS(o), 20)
		return
	}
	s.add(s.withOFS(o), 10)
}

func whenH04(s *state) bool {
	return s.hrPosHER2Neg() && !s.visceralCrisis() && !s.meno.male && s.meno.call.TreatAsPremenopausal && !s.endocrineRefractory()
}

func thenH04(s *state) {
	if s.ofsDeclined() {
		s.add(Option{ID: "H04-tamoxifen", Title: "Tamoxifen alone (ovarian function suppression declined; less effective)", Category: "endocrine",
			Drugs: drugs("tamoxifen"), Rules: []string{"H04"},
			Rationale: "The patient declined ovarian function suppression: tamoxifen alone, which ABC5 grades less effective (I/D)."}, 40)
		s.notProposed("aromatase inhibitor, fulvestrant, elacestrant", "ovarian function suppression declined: not effective with functioning ovaries (H04, C06)", "H04", "C06")
		return
	}
	s.message("info", "Pre- or perimenopausal (or unknown status): give ovarian function suppression with endocrine therapy and a CDK4/6 inhibitor, then manage as postmenopausal.", "H04")
	s.notProposed("tamoxifen alone", "only if ovarian function suppression is declined; less effective (H04, ABC5 I/D)", "H04")
}

func whenH05(s *state) bool {
	if !s.hrPosHER2Neg() {
		return false
	}
	for _, o := range s.out.options {
		if optionHasDrug(o, "tamoxifen") {
			return true
		}
	}
	return len(s.currentMedNamed([]string{"tamoxifen"})) > 0
}

func thenH05(s *state) {
	s.notProposed("ribociclib", "not combined with tamoxifen (QT prolongation); use an AI or fulvestrant with ribociclib, or another CDK4/6 inhibitor (H05)", "H05", "S04")
}

func whenH06(s *state) bool {
	return s.hrPosHER2Neg() && s.line == 1 && !s.visceralCrisis() && s.cdkUnsuitable() && s.endocrinePossible()
}

func thenH06(s *state) {
	why := "stated unsuitable by the clinician"
	if s.poorPerformance() {
		why = "poor performance status (S11)"
	}
	s.notProposed("CDK4/6 inhibitor", why+" (H06)", "H06")
	if !s.aiResistant() {
		s.add(s.withOFS(Option{ID: "H06-ai-alone", Title: "Letrozole or anastrozole alone", Category: "endocrine", Preferred: true,
			Drugs: oneOf("nsai", "letrozole", "anastrozole"), Rules: []string{"H06", "H01"},
			Rationale: "A CDK4/6 inhibitor is unsuitable: endocrine therapy alone (JBCS strength 2)."}), 20)
	}
	s.add(s.withOFS(Option{ID: "H06-fulvestrant", Title: "Fulvestrant alone", Category: "endocrine", Preferred: s.aiResistant(),
		Drugs: drugs("fulvestrant"), Rules: []string{"H06", "H01"},
		Rationale: "A CDK4/6 inhibitor is unsuitable: fulvestrant monotherapy (JBCS strength 2, weak evidence)."}), 25)
}

var (
	orderGenomic = &Coding{System: systemLOINC, Code: "69548-6", Display: "Genetic variant assessment"}
	orderPDL1    = &Coding{System: systemLOINC, Code: "85147-7", Display: "PD-L1 by clone 22C3 in Tissue by Immune stain Report"}
)

func thenH07(s *state) {
	if !s.tested("", "PIK3CA", "AKT1", "PTEN") {
		s.need(DataNeeded{ID: "genomic-pik3ca-akt1-pten", Item: "tumour PIK3CA, AKT1 and PTEN testing (NGS on tissue or ctDNA; tissue if ctDNA negative)",
			Why: "Selects capivasertib or alpelisib with fulvestrant (H08, H09).", Reason: "missing", Order: orderGenomic, Rules: []string{"H07"}})
	}
	if !s.esr1Current() {
		s.need(DataNeeded{ID: "esr1", Item: "ESR1 mutation testing (ctDNA preferred; retest at each progression)",
			Why: "Selects elacestrant (H10); ESR1 mutations are acquired under AI therapy.", Reason: "missing", Order: orderGenomic, Rules: []string{"H07"}})
	}
	s.askGermline("H07")
}

// esr1Current: an ESR1 result after the latest progression.
func (s *state) esr1Current() bool {
	for _, v := range s.f.Variants {
		if !v.Final || !strings.EqualFold(v.Gene, "ESR1") || v.Status == VariantUnknown {
			continue
		}
		if s.reg.progressionRef.Date == "" || !later(s.reg.progressionRef.Date, v.Date) {
			return true
		}
	}
	return false
}

func (s *state) askGermline(rule string) {
	if s.tested("germline", "BRCA1", "BRCA2") {
		return
	}
	s.need(DataNeeded{ID: "germline-brca", Item: "germline BRCA1/2 testing",
		Why: "A germline BRCA1/2 pathogenic variant opens a PARP inhibitor (H12, T03).", Reason: "missing", Order: orderGenomic, Rules: []string{rule}})
}

func thenH08(s *state) {
	v := s.variant("PIK3CA", "AKT1", "PTEN")
	s.add(s.withOFS(Option{ID: "H08-capivasertib-fulv", Title: "Capivasertib + fulvestrant", Category: "targeted", Preferred: true,
		Drugs: drugs("capivasertib", "fulvestrant"), Rules: []string{"H08"}, Schedule: "capivasertib 400 mg twice daily, 4 days on / 3 days off (Truqap label)",
		Rationale: "PIK3CA, AKT1 or PTEN alteration after endocrine therapy. Check fasting glucose and HbA1c first (S08)."}), 12, variantFact(v))
}

func thenH09(s *state) {
	v := s.variant("PIK3CA")
	s.add(s.withOFS(Option{ID: "H09-alpelisib-fulv", Title: "Alpelisib + fulvestrant", Category: "targeted",
		Drugs: drugs("alpelisib", "fulvestrant"), Rules: []string{"H09"},
		Rationale: "PIK3CA-mutated: an alternative to capivasertib; choose by toxicity (grade ≥3 hyperglycaemia 36.6% with alpelisib vs 2.3% with capivasertib). Avoid in uncontrolled diabetes."}), 14, variantFact(v))
	if s.line == 1 && s.reg.etRelapse12 && !s.exposed(classCDK46) {
		o := Option{ID: "H09-inavolisib-palbo-fulv", Title: "Inavolisib + palbociclib + fulvestrant (newer; check guideline status)", Category: "targeted",
			Drugs: drugs("inavolisib", "palbociclib", "fulvestrant"), Rules: []string{"H09"},
			Rationale: "PIK3CA-mutated disease that relapsed during or ≤12 months after adjuvant endocrine therapy (INAVO120; overall survival benefit). Guideline grading not seen.",
			Evidence:  []Evidence{{RuleID: "H09", Source: "INAVO120 (Turner, NEJM 2024; OS at ASCO 2025)", Year: 2025, Strength: "guideline grading not seen", Checked: false}}}
		s.add(s.withOFS(o), 13, variantFact(v))
	}
}

func thenH10(s *state) {
	v := s.variant("ESR1")
	s.add(s.withOFS(Option{ID: "H10-elacestrant", Title: "Elacestrant", Category: "endocrine", Preferred: true,
		Drugs: drugs("elacestrant"), Rules: []string{"H10"},
		Rationale: "ESR1 mutation after ≥1 endocrine line (EMERALD: ESR1-mutant PFS HR 0.55; no benefit in ESR1 wild-type)."}), 15, variantFact(v))
}

func thenH11(s *state) {
	if !s.endocrinePossible() {
		return
	}
	s.add(s.withOFS(Option{ID: "H11-everolimus-exemestane", Title: "Everolimus + exemestane", Category: "targeted",
		Drugs: drugs("everolimus", "exemestane"), Rules: []string{"H11"},
		Rationale: "Later-line endocrine-based therapy irrespective of genomic status."}), 30)
	naive := !s.exposed(classCDK46)
	if naive && s.reg.metExposure["fulvestrant"] && !s.metExposed(classAI) && !s.cdkUnsuitable() {
		// Progression on fulvestrant: the CDK4/6 inhibitor goes with a
		// non-steroidal AI, not with the SERD that failed.
		s.add(s.withOFS(Option{ID: "H11-nsai-cdk46", Title: "Letrozole or anastrozole + a CDK4/6 inhibitor", Category: "endocrine+cdk46", Preferred: true,
			Drugs: append(oneOf("nsai", "letrozole", "anastrozole"), s.cdkChoice(false)...), Rules: []string{"H11"},
			Rationale: "CDK4/6 inhibitor-naïve after progression on fulvestrant: a non-steroidal AI with a CDK4/6 inhibitor."}), 20)
	}
	if naive && !s.reg.metExposure["fulvestrant"] && !s.optionExists("H03-fulv-cdk46") && !s.cdkUnsuitable() {
		s.add(s.withOFS(Option{ID: "H11-fulv-cdk46", Title: "Fulvestrant + a CDK4/6 inhibitor", Category: "endocrine+cdk46", Preferred: true,
			Drugs: append(drugs("fulvestrant"), s.cdkChoice(false)...), Rules: []string{"H11"},
			Rationale: "CDK4/6 inhibitor-naïve in the second line or later."}), 20)
	}
	if !naive && !s.cdkUnsuitable() {
		s.add(s.withOFS(Option{ID: "H11-abema-fulv", Title: "Abemaciclib + fulvestrant after a CDK4/6 inhibitor (evolving option)", Category: "endocrine+cdk46",
			Drugs: drugs("abemaciclib", "fulvestrant"), Rules: []string{"H11"},
			Rationale: "Continuing a CDK4/6 inhibitor after progression on one is an evolving option (postMONARCH); not in the ASCO recommendations seen."}), 36)
	}
	if !s.reg.exposure["fulvestrant"] {
		s.add(s.withOFS(Option{ID: "H11-fulvestrant", Title: "Fulvestrant alone", Category: "endocrine",
			Drugs: drugs("fulvestrant"), Rules: []string{"H11"},
			Rationale: "Single-agent endocrine therapy in a later line."}), 34)
	}
}

func (s *state) optionExists(id string) bool {
	for _, o := range s.out.options {
		if o.ID == id {
			return true
		}
	}
	return false
}

func thenH12(s *state) {
	s.add(Option{ID: "H12-parpi", Title: "Olaparib or talazoparib", Category: "parp", Preferred: s.endocrineRefractory(),
		Drugs: oneOf("parp", "olaparib", "talazoparib"), Rules: []string{"H12"},
		Rationale: "Germline BRCA1/2 pathogenic variant, HER2-negative, first to third line (ESMO also regardless of HR status, no prior anthracycline/taxane needed [I, D])."}, 16, variantFact(s.germlineBRCA()))
}

func (s *state) her2LowFact() FactUse {
	c := s.her2.low
	if s.her2.isUltralow {
		c = s.her2.ultralow
		return FactUse{Fact: "HER2-ultralow", Source: c.Source}
	}
	return FactUse{Fact: "HER2-low: " + c.Value, Source: c.Source}
}

func thenH13(s *state) {
	why := "HER2-low, endocrine-refractory, after ≥1 chemotherapy for metastatic disease (DESTINY-Breast04: PFS 10.1 vs 5.4 mo). Check ILD history first (S07)."
	if s.reg.metChemoLines == 0 {
		why = "HER2-low, endocrine-refractory, recurrence ≤ 6 months after adjuvant chemotherapy (this criterion: guideline status to confirm; DESTINY-Breast04: PFS 10.1 vs 5.4 mo). Check ILD history first (S07)."
	}
	// S07: with interstitial lung disease T-DXd is usually avoided, so it
	// is not the preferred option (it stays, with the S07 flag).
	s.add(Option{ID: "H13-tdxd", Title: "Trastuzumab deruxtecan (HER2-low, after chemotherapy)", Category: "adc", Preferred: !s.has(ILD),
		Drugs: drugs("fam-trastuzumab deruxtecan"), Rules: []string{"H13"}, Rationale: why}, 11, s.her2LowFact())
}

func thenH14(s *state) {
	// H01: while endocrine-based options remain (no visceral crisis, not
	// endocrine-refractory), they come first; T-DXd "may be proposed" and
	// ranks after them. Once endocrine-refractory it ranks before
	// chemotherapy.
	prio := 18
	if !s.endocrineRefractory() && !s.visceralCrisis() {
		prio = 40
	}
	s.add(Option{ID: "H14-tdxd", Title: "Trastuzumab deruxtecan before chemotherapy (HER2-low or ultralow)", Category: "adc",
		Drugs: drugs("fam-trastuzumab deruxtecan"), Rules: []string{"H14"},
		Rationale: "HER2-low or ultralow, progression on ≥1 endocrine therapy for metastatic disease, no chemotherapy yet (DESTINY-Breast06 / FDA indication; goes beyond ASCO 2022, which requires prior chemotherapy)."}, prio, s.her2LowFact())
}

// chemoLinesAll counts chemotherapy lines including adjuvant chemotherapy.
func (s *state) chemoLinesAll() int {
	n := s.reg.metChemoLines
	for _, r := range s.reg.list {
		if r.adjuvant && r.has(classChemo) {
			n++
			break
		}
	}
	return n
}

// systemicAll counts systemic therapies: metastatic lines plus adjuvant
// therapy when present.
func (s *state) systemicAll() int {
	n := s.reg.lines
	if s.reg.adjuvantAny {
		n++
	}
	return n
}

func thenH15(s *state) {
	s.add(Option{ID: "H15-sacituzumab", Title: "Sacituzumab govitecan", Category: "adc",
		Drugs: drugs("sacituzumab govitecan"), Rules: []string{"H15"},
		Rationale: "Endocrine-refractory HR+/HER2− after ≥2 chemotherapy lines (≥1 metastatic). Neutropenia and diarrhoea safeguards (S06, S09)."}, 22)
}

// crisisChemoTitle is the chemotherapy option's title in a visceral
// crisis (C08): H16 and T02 keep single agents in preference to
// combinations unless a rapid response is needed, which a crisis is.
const crisisChemoTitle = "Chemotherapy: a single agent, or a combination when a rapid response is needed"

func thenH16(s *state) {
	prio, pref := 25, false
	rules := []string{"H16"}
	title := "Single-agent chemotherapy"
	why := "Endocrine options exhausted: sequential single-agent chemotherapy; combinations only when a rapid response is needed."
	if s.visceralCrisis() {
		prio, pref = 5, true
		rules = append(rules, "C08")
		title = crisisChemoTitle
		why = "Visceral crisis: chemotherapy instead of first-line endocrine therapy; a rapid response is needed, so a combination may be chosen instead of a single agent (the drugs listed are the single-agent choices); re-evaluate endocrine therapy later."
	}
	s.add(Option{ID: "H16-chemo", Title: title, Category: "chemotherapy", Preferred: pref,
		Drugs: s.chemoChoice(), Rules: rules, Rationale: why}, prio)
}

// HER2-positive rules.

func thenP01(s *state) {
	if s.her2Deferred() {
		s.message("stop", "HER2-directed therapy deferred pending cardio-oncology review (LVEF < 40% or symptomatic heart failure): refer to cardio-oncology now.", "P01", "S02")
		s.notProposed("HER2-directed antibody or ADC", "LVEF < 40% or symptomatic heart failure: deferred pending cardio-oncology review (S02)", "P01", "S02")
		return
	}
	s.message("info", "HER2-positive: give HER2-directed therapy in every line.", "P01")
}

func thenP02(s *state) {
	s.add(Option{ID: "P02-thp", Title: "Trastuzumab + pertuzumab + a taxane", Category: "her2", Preferred: true,
		Drugs: append(drugs("trastuzumab", "pertuzumab"), oneOf("taxane", "docetaxel", "paclitaxel")...), Rules: []string{"P02", "P01"},
		Schedule:  "taxane for about 4–6 months (or to best response), then trastuzumab + pertuzumab until progression (ASCO HER2+ 2022 Rec 4.0, 5.1)",
		Rationale: "First-line HER2-positive disease (CLEOPATRA)."}, 10)
}

func thenP03(s *state) {
	switch {
	case s.her2Deferred():
		s.add(s.withOFS(Option{ID: "P03-et-alone", Title: "Endocrine therapy alone while HER2-directed therapy is deferred", Category: "endocrine", Preferred: true,
			Drugs: oneOf("et", "letrozole", "anastrozole", "fulvestrant"), Rules: []string{"P03"},
			Rationale: "HER2+/HR+ with HER2-directed therapy deferred for cardiac reasons: endocrine therapy alone in selected patients (Rec 3.2.1)."}), 20)
	case s.line == 1:
		s.add(s.withOFS(Option{ID: "P03-et-her2", Title: "Endocrine therapy + trastuzumab + pertuzumab (selected patients)", Category: "her2",
			Drugs: append(drugs("trastuzumab", "pertuzumab"), oneOf("nsai", "letrozole", "anastrozole")...), Rules: []string{"P03", "P01"},
			Rationale: "HR+/HER2+: for highly selected patients (low burden, indolent, unfit for chemotherapy). After induction chemotherapy, endocrine therapy may be added to HER2-directed maintenance."}), 30)
	case !s.exposed(classCDK46):
		// monarcHER: CDK4/6 inhibitor-naïve patients.
		s.add(s.withOFS(Option{ID: "P03-abema-trast-fulv", Title: "Abemaciclib + trastuzumab + fulvestrant", Category: "her2",
			Drugs: drugs("abemaciclib", "trastuzumab", "fulvestrant"), Rules: []string{"P03", "P01"},
			Rationale: "HR+/HER2+ in later lines (ASCO HER2+ 2022 Rec 3.2.0)."}), 30)
	}
}

func thenP04(s *state) {
	pref, prio := true, 10
	if s.has(ILD) {
		pref, prio = false, 20
	}
	s.add(Option{ID: "P04-tdxd", Title: "Trastuzumab deruxtecan", Category: "adc", Preferred: pref,
		Drugs: drugs("fam-trastuzumab deruxtecan"), Rules: []string{"P04", "P01"},
		Rationale: "Progression on trastuzumab-based therapy, or relapse ≤12 months after adjuvant HER2 therapy (DESTINY-Breast03: 12-month PFS 75.8% vs 34.1%)."}, prio)
	if s.has(ILD) && !s.reg.exposure["ado-trastuzumab emtansine"] {
		s.add(Option{ID: "P04-tdm1", Title: "Trastuzumab emtansine (T-DM1) when T-DXd is contraindicated", Category: "adc", Preferred: true,
			Drugs: drugs("ado-trastuzumab emtansine"), Rules: []string{"P04", "P05", "P01"},
			Rationale: "Interstitial lung disease makes T-DXd high risk; T-DM1 is used when T-DXd is contraindicated."}, 12)
	}
}

func thenP05(s *state) {
	brain := s.dis.brain
	s.add(Option{ID: "P05-tucatinib-trast-cape", Title: "Tucatinib + trastuzumab + capecitabine", Category: "her2", Preferred: brain,
		Drugs: drugs("tucatinib", "trastuzumab", "capecitabine"), Rules: []string{"P05", "P01"},
		Rationale: "Third line and later; preferred with brain metastases (HER2CLIMB)."}, 12)
	if !s.reg.exposure["ado-trastuzumab emtansine"] {
		s.add(Option{ID: "P05-tdm1", Title: "Trastuzumab emtansine (T-DM1)", Category: "adc", Preferred: s.has(ILD),
			Drugs: drugs("ado-trastuzumab emtansine"), Rules: []string{"P05", "P01"},
			Rationale: "Third line and later, or when T-DXd is contraindicated."}, 14)
	}
	if !s.reg.exposure["fam-trastuzumab deruxtecan"] {
		s.add(Option{ID: "P05-tdxd", Title: "Trastuzumab deruxtecan (not given before)", Category: "adc",
			Drugs: drugs("fam-trastuzumab deruxtecan"), Rules: []string{"P05", "P01"},
			Rationale: "T-DXd if not received before."}, 13)
	}
	if !s.reg.exposure["pertuzumab"] {
		s.add(Option{ID: "P05-pertuzumab", Title: "Trastuzumab + pertuzumab + chemotherapy (pertuzumab never received)", Category: "her2",
			Drugs: append(drugs("trastuzumab", "pertuzumab"), oneOf("chemo", "docetaxel", "paclitaxel")...), Rules: []string{"P05", "P01"},
			Rationale: "Pertuzumab if never received (IC, B, Insufficient, Weak)."}, 19)
	}
	s.add(Option{ID: "P05-lapatinib-cape", Title: "Lapatinib + capecitabine", Category: "her2",
		Drugs: drugs("lapatinib", "capecitabine"), Rules: []string{"P05", "P01"}, Rationale: "Later-line HER2 blockade."}, 20)
	s.add(Option{ID: "P05-neratinib-cape", Title: "Neratinib + capecitabine", Category: "her2",
		Drugs: drugs("neratinib", "capecitabine"), Rules: []string{"P05", "P01"}, Rationale: "Later-line HER2 blockade; antidiarrhoeal prophylaxis (S09)."}, 21)
	s.add(Option{ID: "P05-trast-chemo", Title: "Trastuzumab + another chemotherapy", Category: "her2",
		Drugs: append(drugs("trastuzumab"), oneOf("chemo", "vinorelbine", "capecitabine", "eribulin", "gemcitabine")...), Rules: []string{"P05", "P01"},
		Rationale: "Continue HER2 blockade with a different chemotherapy partner."}, 22)
}

func thenP06(s *state) {
	s.out.monitoring = append(s.out.monitoring, Item{ID: "P06-local-therapy", Kind: "referral", Rules: []string{"P06"},
		Text:     "Brain metastases: refer for local therapy (surgery, radiosurgery or radiotherapy) as indicated. If intracranial disease is stable after local therapy, continue the current HER2 regimen; if progressing, tucatinib + trastuzumab + capecitabine may be offered. No routine surveillance MRI; keep a low threshold for MRI with symptoms.",
		Evidence: s.evidence("P06")})
	for i := range s.out.options {
		if s.out.options[i].ID == "P05-tucatinib-trast-cape" {
			s.out.options[i].Rules = appendUnique(s.out.options[i].Rules, "P06")
			s.out.options[i].Evidence = s.evidence(s.out.options[i].Rules...)
		}
	}
	// Progressing after HER2-directed therapy for metastatic disease, before
	// the third line: tucatinib + trastuzumab + capecitabine may be offered
	// whatever the line (ASCO HER2+ brain metastases 2022).
	if s.her2Pos() && !s.her2Deferred() && s.metExposed(classHER2) && s.reg.progression &&
		!s.optionExists("P05-tucatinib-trast-cape") && !s.reg.exposure["tucatinib"] {
		s.add(Option{ID: "P06-tucatinib-trast-cape", Title: "Tucatinib + trastuzumab + capecitabine (brain metastases)", Category: "her2", Preferred: true,
			Drugs: drugs("tucatinib", "trastuzumab", "capecitabine"), Rules: []string{"P06", "P05", "P01"},
			Rationale: "HER2-positive brain metastases progressing on HER2-directed therapy: tucatinib + trastuzumab + capecitabine may be offered (HER2CLIMB); local therapy first as indicated."}, 12)
	}
}

func thenP07(s *state) {
	// Never with a HER2-directed antibody: the highest cardiomyopathy risk.
	s.anthracyclineNotProposed("P07")
}

// Triple-negative rules.

func thenT01(s *state) {
	_, _, src := s.pdl1CPS()
	f := FactUse{Fact: "PD-L1 CPS ≥ 10", Source: src}
	s.add(Option{ID: "T01-pembro-chemo", Title: "Pembrolizumab + paclitaxel or nab-paclitaxel", Category: "immunotherapy", Preferred: true,
		Drugs: append(drugs("pembrolizumab"), oneOf("taxane", "paclitaxel", "nab-paclitaxel")...), Rules: []string{"T01"},
		Rationale: "Previously untreated metastatic TNBC with PD-L1 CPS ≥ 10 (22C3)."}, 10, f)
	s.add(Option{ID: "T01-pembro-gemcarbo", Title: "Pembrolizumab + gemcitabine + carboplatin", Category: "immunotherapy", Preferred: true,
		Drugs: drugs("pembrolizumab", "gemcitabine", "carboplatin"), Rules: []string{"T01"},
		Rationale: "Previously untreated metastatic TNBC with PD-L1 CPS ≥ 10 (22C3)."}, 11, f)
}

func thenT02(s *state) {
	_, known, src := s.pdl1CPS()
	if !known && s.line == 1 {
		s.need(DataNeeded{ID: "pdl1", Item: "PD-L1 combined positive score (22C3)",
			Why: "CPS ≥ 10 opens first-line pembrolizumab + chemotherapy (T01).", Reason: "missing", Order: orderPDL1, Rules: []string{"T02"}})
	}
	pref := s.line == 1 && !s.optionExists("T01-pembro-chemo")
	o := Option{ID: "T02-single-chemo", Title: "Single-agent chemotherapy", Category: "chemotherapy", Preferred: pref,
		Drugs: s.chemoChoice(), Rules: []string{"T02"},
		Rationale: "Triple-negative (or ER-low) disease, PD-L1 negative or unknown: single agents in preference to combinations unless a rapid response is needed."}
	if s.visceralCrisis() {
		o.Title, o.Rules = crisisChemoTitle, []string{"T02", "C08"}
		o.Rationale = "Triple-negative (or ER-low) disease with a visceral crisis: a rapid response is needed, so a combination may be chosen instead of a single agent (the drugs listed are the single-agent choices)."
	}
	s.add(o, 20,
		FactUse{Fact: "PD-L1 " + map[bool]string{true: "known", false: "unknown"}[known], Source: src})
}

func thenT03(s *state) {
	s.askGermline("T03")
	if v := s.germlineBRCA(); v != nil && s.exposed(classChemo) {
		s.add(Option{ID: "T03-parpi", Title: "Olaparib or talazoparib", Category: "parp", Preferred: true,
			Drugs: oneOf("parp", "olaparib", "talazoparib"), Rules: []string{"T03", "H12"},
			Rationale: "TNBC with a germline BRCA1/2 pathogenic variant, previously treated with chemotherapy; platinum chemotherapy is an alternative (†)."}, 12, variantFact(v))
	}
}

func thenT04(s *state) {
	s.add(Option{ID: "T04-sacituzumab", Title: "Sacituzumab govitecan", Category: "adc", Preferred: true,
		Drugs: drugs("sacituzumab govitecan"), Rules: []string{"T04"},
		Rationale: "TNBC after ≥2 systemic therapies (≥1 for metastatic disease) (ASCENT). Neutropenia and diarrhoea safeguards (S06, S09)."}, 11)
}

func thenT05(s *state) {
	s.add(Option{ID: "T05-tdxd", Title: "Trastuzumab deruxtecan (HER2-low TNBC)", Category: "adc", Preferred: !s.has(ILD),
		Drugs: drugs("fam-trastuzumab deruxtecan"), Rules: []string{"T05"},
		Rationale: "HER2-low TNBC after ≥1 chemotherapy for metastatic disease (DESTINY-Breast04 TNBC cohort: OS 18.2 vs 8.3 mo). Check ILD history (S07)."}, 12, s.her2LowFact())
}

func thenT06(s *state) {
	s.out.shared = append(s.out.shared, Item{ID: "T06-adc-first-line", Kind: "shared-decision", Rules: []string{"T06"}, Evidence: s.evidence("T06"),
		Text: "Information only: antibody-drug conjugates in the first line for PD-L1-negative TNBC are emerging (guideline status to confirm); no drug is proposed from this."})
}

func thenL07(s *state) {
	if cur := s.currentBoneAgent(); cur != nil {
		// Already prescribed: continue it rather than offer a second agent.
		name := cur.Drugs[0]
		for _, d := range cur.Drugs {
			if drugHas(d, classBone) {
				name = d
				break
			}
		}
		s.add(Option{ID: "L07-bone-agent-continue", Title: "Continue " + name + " (bone-modifying agent already prescribed)", Category: "supportive",
			Drugs: drugs(name), Rules: []string{"L07"},
			Rationale: "Bone metastases with a bone-modifying agent already prescribed: continue it with calcium and vitamin D; do not add a second agent (guideline status to confirm)."},
			90, FactUse{Fact: "current bone-modifying agent", Source: cur.Source})
		return
	}
	s.add(Option{ID: "L07-bone-agent", Title: "Bone-modifying agent: zoledronic acid or denosumab", Category: "supportive",
		Drugs: oneOf("bone", "zoledronic acid", "denosumab"), Rules: []string{"L07"},
		Rationale: "Bone metastases: consider a bone-modifying agent with calcium and vitamin D, and a dental review before starting (guideline status to confirm)."}, 90)
	s.out.monitoring = append(s.out.monitoring, Item{ID: "L07-dental", Kind: "referral", Rules: []string{"L07"}, Options: []string{"L07-bone-agent"},
		Text: "Dental review before starting a bone-modifying agent; calcium and vitamin D supplementation (guideline status to confirm).", Evidence: s.evidence("L07")})
}

// currentBoneAgent is an active order for a bone-modifying agent whose
// period has not ended, or nil.
func (s *state) currentBoneAgent() *Medication {
	for i := range s.f.Medications {
		m := &s.f.Medications[i]
		if !strings.EqualFold(m.Status, "active") {
			continue
		}
		if end, ok := parseDate(m.End); ok && end.Before(s.now) {
			continue
		}
		for _, d := range m.Drugs {
			if drugHas(d, classBone) {
				return m
			}
		}
	}
	return nil
}
