package recommend

import (
	"fmt"
	"strings"
)

// Safety flags, monitoring and freshness (S01–S12 and the section 8
// allergy and renal policies). Each flag names the options it affects.

var (
	codeLVEF       = &Coding{System: systemLOINC, Code: "10230-1", Display: "Left ventricular Ejection fraction"}
	codeHbA1c      = &Coding{System: systemLOINC, Code: "4548-4", Display: "Hemoglobin A1c/Hemoglobin.total in Blood"}
	codeFastingGlu = &Coding{System: systemLOINC, Code: "1558-6", Display: "Fasting glucose [Mass/volume] in Serum or Plasma"}
	codeANC        = &Coding{System: systemLOINC, Code: "751-8", Display: "Neutrophils [#/volume] in Blood by Automated count"}
	codeALT        = &Coding{System: systemLOINC, Code: "1742-6", Display: "Alanine aminotransferase [Enzymatic activity/volume] in Serum or Plasma"}
	codeCreat      = &Coding{System: systemLOINC, Code: "2160-0", Display: "Creatinine [Mass/volume] in Serum or Plasma"}
	codePotassium  = &Coding{System: systemLOINC, Code: "2823-3", Display: "Potassium [Moles/volume] in Serum or Plasma"}
	codeHCG        = &Coding{System: systemLOINC, Code: "2106-3", Display: "Choriogonadotropin (pregnancy test) [Presence] in Urine"}
	codeECOG       = &Coding{System: systemLOINC, Code: "89247-1", Display: "ECOG Performance Status score"}
)

// qtProlongingNames are QT-prolonging co-medications checked before
// ribociclib: toremifene (Fareston boxed QT warning ✔) and drugs named as
// QT-prolonging in the Kisqali label's interaction section (†, not re-read).
func qtProlongingNames() []string {
	return []string{"toremifene", "amiodarone", "sotalol", "disopyramide", "procainamide", "quinidine",
		"haloperidol", "methadone", "moxifloxacin", "ondansetron", "pimozide", "bepridil", "chloroquine", "clarithromycin"}
}

// Strong CYP3A inhibitors and inducers (Ibrance label: avoid strong CYP3A
// inhibitors ✔; the names are the examples label texts give, †).
func cyp3aStrong() []string {
	return []string{"clarithromycin", "itraconazole", "ketoconazole", "posaconazole", "voriconazole", "ritonavir", "cobicistat",
		"nefazodone", "grapefruit", "rifampin", "rifampicin", "carbamazepine", "phenytoin", "st john", "enzalutamide"}
}

// cyp3aSensitive are the proposed drugs S12 checks.
func cyp3aSensitive() []string {
	return []string{"palbociclib", "ribociclib", "abemaciclib", "capivasertib", "elacestrant"}
}

func (s *state) optionIDs(pred func(Option) bool) []string {
	var ids []string
	for _, o := range s.out.options {
		if pred(o) {
			ids = append(ids, o.ID)
		}
	}
	return ids
}

func (s *state) anyOption(class string) bool {
	return len(s.optionIDs(func(o Option) bool { return optionHas(o, class) })) > 0
}

func (s *state) anyDrug(names ...string) bool {
	return len(s.idsWithDrug(names...)) > 0
}

func (s *state) idsWithDrug(names ...string) []string {
	return s.optionIDs(func(o Option) bool {
		for _, n := range names {
			if optionHasDrug(o, n) {
				return true
			}
		}
		return false
	})
}

func (s *state) idsWithClass(classes ...string) []string {
	return s.optionIDs(func(o Option) bool {
		for _, c := range classes {
			if optionHas(o, c) {
				return true
			}
		}
		return false
	})
}

func (s *state) anticancerIDs() []string {
	return s.optionIDs(func(o Option) bool { return o.Category != "supportive" && len(o.Drugs) > 0 })
}

func (s *state) myelosuppressiveIDs() []string {
	return s.optionIDs(func(o Option) bool {
		return optionHas(o, classCDK46) || optionHas(o, classChemo) || optionHas(o, classTROP2) || optionHasDrug(o, "fam-trastuzumab deruxtecan")
	})
}

func (s *state) anyMyelosuppressive() bool { return len(s.myelosuppressiveIDs()) > 0 }

func (s *state) anySystemic() bool {
	return len(s.optionIDs(func(o Option) bool { return len(o.Drugs) > 0 })) > 0
}

func (s *state) flag(f Flag) {
	if len(f.Options) == 0 && f.Kind != "pregnancy" {
		return
	}
	s.out.flags = append(s.out.flags, f)
}

// planFlag records a flag about the whole plan rather than an option: a
// safety condition that kept drugs out (S02, S04) is shown even when no
// option is left for it to attach to.
func (s *state) planFlag(f Flag) {
	f.Options = nil
	s.out.flags = append(s.out.flags, f)
}

func (s *state) item(list *[]Item, it Item) {
	for _, e := range *list {
		if e.ID == it.ID {
			return
		}
	}
	if it.Evidence == nil {
		it.Evidence = s.evidence(it.Rules...)
	}
	*list = append(*list, it)
}

// ageDays is how old a dated value is at the plan date; ok is false when
// undated.
func (s *state) ageDays(date string) (int, bool) {
	t, ok := parseDate(date)
	if !ok {
		return 0, false
	}
	return daysBetween(t, s.now), true
}

// stale reports a reassuring value older than max days (undated counts as
// stale: its age cannot be shown).
func (s *state) stale(date string, max int) bool {
	d, ok := s.ageDays(date)
	return !ok || d > max
}

func thenS01(s *state) {
	ids := s.idsWithClass(classHER2Cardio)
	thr := "US label: hold for an absolute LVEF drop of ≥ 16 points from baseline, or an LVEF below the normal limit with a drop of ≥ 10 points."
	if strings.EqualFold(s.set.LVEFThresholds, "eu") {
		thr = "EU SmPC: hold if LVEF falls ≥ 10 points and below 50%; re-assess in about 3 weeks."
	}
	s.item(&s.out.monitoring, Item{ID: "S01-lvef-baseline", Kind: "test", Code: codeLVEF, Options: ids, Rules: []string{"S01"},
		Text: "Baseline LVEF (echocardiogram or MUGA) before HER2-directed therapy."})
	s.item(&s.out.monitoring, Item{ID: "S01-lvef-3-monthly", Kind: "monitoring", Code: codeLVEF, Options: ids, Rules: []string{"S01"},
		Text: "LVEF every 3 months during trastuzumab-based therapy and at its end; every 4 weeks if a dose is held. " + thr})
	switch {
	case s.lvef == nil:
		s.need(DataNeeded{ID: "lvef", Item: "baseline LVEF", Why: "Needed before HER2-directed therapy; the option stays proposed meanwhile.",
			Reason: "missing", Order: codeLVEF, Rules: []string{"S01"}})
	case *s.lvef.Value >= 50 && s.stale(s.lvef.Date, maxAgeLVEFDays):
		s.need(DataNeeded{ID: "stale-lvef", Item: fmt.Sprintf("LVEF %g%% of %s is older than %d days", *s.lvef.Value, dateOr(s.lvef.Date), maxAgeLVEFDays),
			Why: "Repeat LVEF before starting HER2-directed therapy.", Reason: "stale", Order: codeLVEF, Rules: []string{"S01"}, Source: s.lvef.Source})
	}
}

func dateOr(d string) string {
	if d == "" {
		return "unknown date"
	}
	return d
}

func thenS02(s *state) {
	ids := s.idsWithClass(classHER2Cardio)
	var why []string
	if s.has(HeartFailure) {
		w := "heart failure"
		if s.decompensatedHF() {
			w = "symptomatic or decompensated heart failure"
		}
		why = append(why, w)
	}
	if s.has(Cardiomyopathy) {
		why = append(why, "cardiomyopathy")
	}
	if s.lvefBelow(50) {
		why = append(why, fmt.Sprintf("LVEF %g%%", *s.lvef.Value))
	}
	text := strings.Join(why, ", ")
	switch {
	case len(ids) > 0 && s.her2CardiacCaution():
		s.flag(Flag{ID: "S02", Kind: "cardiac", Severity: SeverityCaution, Rules: []string{"S02", "P01"}, Options: ids,
			Text: "High cardiac risk (" + text + "): start HER2-directed therapy only after cardio-oncology review (SAFE-HEaRt: with LVEF 40–49% on cardioprotective drugs about 90% completed planned therapy)."})
	case s.her2Pos() && s.her2Deferred():
		s.planFlag(Flag{ID: "S02", Kind: "cardiac", Severity: SeverityCaution, Rules: []string{"S02", "P01"},
			Text: "High cardiac risk (" + text + "): HER2-directed therapy deferred pending cardio-oncology review; no anthracycline."})
	default:
		s.planFlag(Flag{ID: "S02", Kind: "cardiac", Severity: SeverityCaution, Rules: []string{"S02"},
			Text: "High cardiac risk (" + text + "): cardio-oncology review before any HER2-directed therapy; no anthracycline."})
	}
	s.item(&s.out.monitoring, Item{ID: "S02-cardio-oncology", Kind: "referral", Rules: []string{"S02"},
		Text: "Cardio-oncology review (" + text + ") and an LVEF assessment."})
	s.anthracyclineNotProposed("S02")
	// T-DXd is the one HER2-directed drug of HER2-low or ultralow disease;
	// section 8 defers HER2-directed ADCs with LVEF < 40% or symptomatic
	// heart failure whatever the HER2 call.
	if s.her2Deferred() && s.her2.status == ReceptorNegative && (s.her2.isLow || s.her2.isUltralow) {
		s.notProposed("trastuzumab deruxtecan", "LVEF < 40% or symptomatic heart failure: deferred pending cardio-oncology review (S02)", "S02")
	}
	if s.lvef == nil {
		s.need(DataNeeded{ID: "lvef", Item: "LVEF", Why: "Cardiac history recorded: assess LVEF.", Reason: "missing", Order: codeLVEF, Rules: []string{"S02"}})
	}
}

func thenS03(s *state) {
	s.flag(Flag{ID: "S03", Kind: "cardiac", Severity: SeverityInfo, Rules: []string{"S03"}, Options: s.idsWithClass(classHER2Cardio),
		Text: "Cardiac risk factors (coronary disease, hypertension or arrhythmia): shorter LVEF interval and cardiology input before HER2-directed therapy; manage risk factors before T-DXd."})
}

func thenS04(s *state) {
	if len(s.out.ribociclib) > 0 {
		// H05 has already said why tamoxifen keeps ribociclib out.
		var why []string
		for _, w := range s.out.ribociclib {
			if !(s.out.fired["H05"] && w == "tamoxifen (H05)") {
				why = append(why, w)
			}
		}
		if len(why) > 0 {
			s.notProposed("ribociclib", strings.Join(why, "; ")+": use palbociclib or abemaciclib (S04)", "S04")
		} else {
			s.notProposed("ribociclib", "", "S04")
		}
	}
	ids := s.idsWithDrug("ribociclib")
	if len(ids) == 0 {
		if len(s.out.ribociclib) > 0 {
			s.planFlag(Flag{ID: "S04", Kind: "qt", Severity: SeverityInfo, Rules: []string{"S04"},
				Text: "Ribociclib not proposed (" + strings.Join(s.out.ribociclib, "; ") + "): QT prolongation risk; palbociclib or abemaciclib instead."})
		}
		return
	}
	s.flag(Flag{ID: "S04", Kind: "qt", Severity: SeverityCaution, Rules: []string{"S04"}, Options: ids,
		Text: "Ribociclib prolongs QT: start only if QTcF < 450 ms; correct potassium and magnesium first; avoid QT-prolonging co-medication."})
	s.item(&s.out.monitoring, Item{ID: "S04-ecg", Kind: "monitoring", Options: ids, Rules: []string{"S04"},
		Text: "ECG (QTcF) at baseline, around day 14 of cycle 1 and as clinically indicated (ribociclib)."})
	switch {
	case s.qtcf == nil:
		s.need(DataNeeded{ID: "ecg-qtcf", Item: "baseline ECG with QTcF", Why: "Ribociclib starts only if QTcF < 450 ms; the clinician can enter QTcF in the app.",
			Reason: "missing", Rules: []string{"S04"}})
	case *s.qtcf < 450 && s.stale(s.f.Statements.Date, maxAgeQTcFDays):
		s.need(DataNeeded{ID: "stale-qtcf", Item: fmt.Sprintf("QTcF %g ms of %s is older than %d days", *s.qtcf, dateOr(s.f.Statements.Date), maxAgeQTcFDays),
			Why: "Repeat the ECG before ribociclib.", Reason: "stale", Rules: []string{"S04"}, Source: Source{Date: s.f.Statements.Date, StatedByClinician: true}})
	}
	_, k := s.labs[LabPotassium]
	_, m := s.labs[LabMagnesium]
	if !k || !m {
		s.need(DataNeeded{ID: "electrolytes", Item: "potassium and magnesium", Why: "Correct low potassium or magnesium before ribociclib.",
			Reason: "missing", Order: codePotassium, Rules: []string{"S04"}})
	}
}

// latestLab is the latest final result of the kinds, or nil.
func (s *state) latestLab(kinds ...LabKind) *Lab {
	var latest *Lab
	for _, k := range kinds {
		if l, ok := s.labs[k]; ok && (latest == nil || later(l.Date, latest.Date)) {
			l := l
			latest = &l
		}
	}
	return latest
}

// labNeed asks for missing or stale labs of a group.
func (s *state) labNeed(id, name string, order *Coding, rule string, kinds ...LabKind) {
	if s.latestLab(kinds...) == nil {
		s.need(DataNeeded{ID: id, Item: name, Why: "Needed before cycle 1.", Reason: "missing", Order: order, Rules: []string{rule}})
		return
	}
	s.staleLab(id, name, order, rule, kinds...)
}

// staleLab lists a reassuring (normal or range-unknown) result of the group
// older than 30 days; adverse values stay in force (section 8).
func (s *state) staleLab(id, name string, order *Coding, rule string, kinds ...LabKind) {
	latest := s.latestLab(kinds...)
	if latest != nil && (latest.Flag == RangeNormal || latest.Flag == RangeUnknown) && s.stale(latest.Date, maxAgeLabsDays) {
		s.need(DataNeeded{ID: "stale-" + id, Item: fmt.Sprintf("%s of %s is older than %d days", name, dateOr(latest.Date), maxAgeLabsDays),
			Why: "Repeat before cycle 1.", Reason: "stale", Order: order, Rules: []string{rule}, Source: latest.Source})
	}
}

func thenS05(s *state) {
	ids := s.idsWithClass(classCDK46, classHepato)
	var why []string
	if s.has(LiverDisease) {
		why = append(why, "hepatic impairment recorded")
	}
	if l := s.labHigh(LabALT, LabAST, LabBilirubin); l != nil {
		why = append(why, string(l.Kind)+" above range")
	}
	if len(why) > 0 {
		s.flag(Flag{ID: "S05", Kind: "liver", Severity: SeverityCaution, Rules: []string{"S05"}, Options: ids,
			Text: strings.Join(why, "; ") + ": compute Child-Pugh before proposing. Ribociclib: LFT schedule; abemaciclib: once daily in Child-Pugh C; palbociclib: reduced dose in severe impairment (labels)."})
	}
	if r := s.idsWithDrug("ribociclib"); len(r) > 0 {
		s.item(&s.out.monitoring, Item{ID: "S05-lft", Kind: "monitoring", Code: codeALT, Options: r, Rules: []string{"S05"},
			Text: "Liver tests every 2 weeks for the first 2 cycles, then at the start of each of the next 4 cycles, then as indicated (ribociclib)."})
	}
	s.labNeed("labs-liver", "liver tests (ALT, AST, bilirubin)", codeALT, "S05", LabALT, LabAST, LabBilirubin)
}

func thenS06(s *state) {
	ids := s.myelosuppressiveIDs()
	if s.has(Neutropenia) || s.labLow(LabANC) != nil {
		s.flag(Flag{ID: "S06", Kind: "neutropenia", Severity: SeverityCaution, Rules: []string{"S06"}, Options: ids,
			Text: "Neutropenia recorded or neutrophils below range: do not start while ANC is below the label threshold; hold or reduce per label."})
	}
	if p := s.idsWithDrug("palbociclib"); len(p) > 0 {
		s.item(&s.out.monitoring, Item{ID: "S06-cbc-palbociclib", Kind: "monitoring", Code: codeANC, Options: p, Rules: []string{"S06"},
			Text: "Blood count at baseline, at the start of each cycle and on day 15 of the first 2 cycles (palbociclib)."})
	}
	if sg := s.idsWithDrug("sacituzumab govitecan"); len(sg) > 0 {
		s.flag(Flag{ID: "S06", Kind: "neutropenia", Severity: SeverityInfo, Rules: []string{"S06"}, Options: sg,
			Text: "Sacituzumab govitecan: boxed warning for neutropenia and diarrhoea; consider G-CSF prophylaxis in high-risk patients."})
	}
	s.labNeed("labs-cbc", "blood count with neutrophils", codeANC, "S06", LabANC)
}

// ildSeverity: an active ILD blocks until resolved; history cautions.
func (s *state) ildSeverity() (Severity, string) {
	for _, c := range s.comorb[ILD] {
		switch strings.ToLower(c.ClinicalStatus) {
		case "resolved", "inactive", "remission":
		default:
			return SeverityBlock, "active interstitial lung disease or pneumonitis"
		}
	}
	return SeverityCaution, "history of interstitial lung disease or pneumonitis"
}

func thenS07(s *state) {
	sev, what := s.ildSeverity()
	if ids := s.idsWithDrug("fam-trastuzumab deruxtecan"); len(ids) > 0 {
		s.flag(Flag{ID: "S07", Kind: "ild", Severity: sev, Rules: []string{"S07"}, Options: ids,
			Text: "Trastuzumab deruxtecan with " + what + ": high risk (boxed warning); usually avoided (†). If given, monitor closely: grade 1 ILD → interrupt; grade ≥ 2 → stop permanently."})
	}
	if ids := s.optionIDs(func(o Option) bool {
		return !optionHasDrug(o, "fam-trastuzumab deruxtecan") && optionHas(o, classILD)
	}); len(ids) > 0 {
		s.flag(Flag{ID: "S07", Kind: "ild", Severity: SeverityCaution, Rules: []string{"S07"}, Options: ids,
			Text: "CDK4/6 inhibitors and everolimus carry ILD/pneumonitis warnings: " + what + " recorded."})
	}
}

func thenS08(s *state) {
	ids := s.idsWithClass(classHyperglyc)
	s.item(&s.out.monitoring, Item{ID: "S08-glucose", Kind: "monitoring", Code: codeFastingGlu, Options: ids, Rules: []string{"S08"},
		Text: "Fasting glucose and HbA1c before starting and regularly during treatment."})
	_, a := s.labs[LabHbA1c]
	_, g := s.labs[LabFastingGlucose]
	if !a || !g {
		s.need(DataNeeded{ID: "glucose-hba1c", Item: "fasting glucose and HbA1c", Why: "Needed before PI3K/AKT/mTOR inhibitors (S08).",
			Reason: "missing", Order: codeHbA1c, Rules: []string{"S08"}})
	}
	high := s.labHigh(LabHbA1c, LabFastingGlucose, LabGlucose)
	if s.has(Diabetes) || high != nil {
		s.flag(Flag{ID: "S08", Kind: "glucose", Severity: SeverityCaution, Rules: []string{"S08"}, Options: ids,
			Text: "Diabetes or glucose above range: prefer capivasertib over alpelisib when hyperglycaemia risk is high; get glycaemic control first."})
	}
	if high != nil {
		if al := s.idsWithDrug("alpelisib"); len(al) > 0 {
			s.flag(Flag{ID: "S08", Kind: "glucose", Severity: SeverityBlock, Rules: []string{"S08"}, Options: al,
				Text: "Glucose or HbA1c above range: get glycaemic control before starting alpelisib."})
		}
	}
	if cv := s.idsWithDrug("capivasertib"); len(cv) > 0 {
		s.flag(Flag{ID: "S08", Kind: "glucose", Severity: SeverityInfo, Rules: []string{"S08"}, Options: cv,
			Text: "Capivasertib: warn about diabetic ketoacidosis."})
	}
}

func thenS09(s *state) {
	s.flag(Flag{ID: "S09", Kind: "diarrhea", Severity: SeverityInfo, Rules: []string{"S09"}, Options: s.idsWithClass(classDiarrhea),
		Text: "Diarrhoea plan: with abemaciclib start loperamide at the first loose stool, keep hydrated, adjust dose by grade; neratinib needs antidiarrhoeal prophylaxis (†)."})
}

func thenS10(s *state) {
	if s.pregnant {
		s.message("stop", "Pregnancy recorded: no systemic drug is proposed automatically; refer to a multidisciplinary team (oncology and maternal-fetal medicine), which decides, including on chemotherapy after the first trimester.", "S10")
		s.notProposed("systemic therapy", "pregnancy recorded: multidisciplinary decision (S10)", "S10")
		s.item(&s.out.monitoring, Item{ID: "S10-mdt", Kind: "referral", Rules: []string{"S10"},
			Text: "Multidisciplinary referral: oncology and maternal-fetal medicine."})
		return
	}
	ids := s.optionIDs(func(o Option) bool { return len(o.Drugs) > 0 })
	switch {
	case s.notPregnantNow:
	case s.pregnancyStale != nil:
		s.need(DataNeeded{ID: "stale-pregnancy", Item: "\"not pregnant\" of " + dateOr(s.pregnancyStale.Date) + " is older than 7 days",
			Why: "Confirm pregnancy status before starting systemic therapy.", Reason: "stale", Blocking: true, Order: codeHCG, Rules: []string{"S10"}, Source: *s.pregnancyStale})
	default:
		s.need(DataNeeded{ID: "pregnancy-test", Item: "pregnancy test", Why: "Confirm pregnancy status before starting systemic therapy.",
			Reason: "missing", Blocking: true, Order: codeHCG, Rules: []string{"S10"}})
	}
	s.flag(Flag{ID: "S10", Kind: "pregnancy", Severity: SeverityInfo, Rules: []string{"S10"}, Options: ids,
		Text: "Embryo-fetal toxicity (T-DXd boxed warning; other labels): confirm pregnancy status before starting and record contraception advice."})
	s.item(&s.out.monitoring, Item{ID: "S10-contraception", Kind: "monitoring", Options: ids, Rules: []string{"S10"},
		Text: "Contraception advice recorded before starting systemic therapy."})
}

func thenS11(s *state) {
	ids := s.anticancerIDs()
	s.flag(Flag{ID: "S11", Kind: "performance", Severity: SeverityCaution, Rules: []string{"S11"}, Options: ids,
		Text: "ECOG ≥ 3 (or Karnofsky ≤ 40): the benefit of systemic therapy is limited; best supportive care first; prefer the least toxic option (guideline status to confirm)."})
	s.item(&s.out.monitoring, Item{ID: "S11-palliative", Kind: "referral", Rules: []string{"S11"},
		Text: "Palliative care referral; best supportive care first (guideline status to confirm)."})
	for i := range s.out.options {
		o := &s.out.options[i]
		switch o.Category {
		case "endocrine", "continue", "supportive":
			s.out.prio[o.ID] -= 50
		default:
			o.Preferred = false
		}
	}
}

func thenS12(s *state) {
	ids := s.idsWithDrug(cyp3aSensitive()...)
	if found := s.currentMedNamed(cyp3aStrong()); len(found) > 0 {
		s.flag(Flag{ID: "S12", Kind: "interaction", Severity: SeverityCaution, Rules: []string{"S12"}, Options: ids,
			Text: "Strong CYP3A inhibitor or inducer in the medication list (" + strings.Join(found, ", ") + "): avoid the combination or adjust per label."})
		return
	}
	s.flag(Flag{ID: "S12", Kind: "interaction", Severity: SeverityInfo, Rules: []string{"S12"}, Options: ids,
		Text: "Check co-medications for strong CYP3A inhibitors or inducers (only a short list is checked automatically)."})
}

// allergyHit is one allergy matching one option.
type allergyHit struct {
	allergy Allergy
	option  string
	what    string
	// drug and choice are the drug hit and its Choice group.
	drug, choice string
}

func (s *state) allergyHits() []allergyHit {
	var hits []allergyHit
	for _, a := range s.f.Allergies {
		if !countsForSafety(a.Finding) {
			continue
		}
		cs := strings.ToLower(a.ClinicalStatus)
		if cs == "inactive" || cs == "resolved" {
			continue
		}
		for _, o := range s.out.options {
			for _, d := range o.Drugs {
				for _, n := range a.Drugs {
					if n == d.Name {
						hits = append(hits, allergyHit{a, o.ID, d.Name, d.Name, d.Choice})
					}
				}
				for _, c := range a.Classes {
					if drugHas(d.Name, c) {
						hits = append(hits, allergyHit{a, o.ID, d.Name + " (" + c + ")", d.Name, d.Choice})
					}
				}
			}
		}
	}
	return hits
}

func thenAllergy(s *state) {
	hits := s.allergyHits()
	hit := map[string]bool{} // option ID + drug
	for _, h := range hits {
		hit[h.option+"\x1f"+h.drug] = true
	}
	for _, h := range hits {
		sub := firstNonEmpty(h.allergy.Substance.Display, h.allergy.Substance.Code, strings.Join(h.allergy.Drugs, ", "), strings.Join(h.allergy.Classes, ", "))
		f := Flag{ID: "ALLERGY", Kind: "allergy", Severity: SeverityBlock, Rules: []string{"ALLERGY"}, Options: []string{h.option}, Source: h.allergy.Source,
			Text: "Allergy recorded (" + sub + "): the option includes " + h.what + "."}
		// An allergen that is one of several alternatives (Drug.Choice)
		// leaves the others: the option is flagged, not blocked.
		if alts := s.otherChoices(h.option, h.drug, h.choice, hit); len(alts) > 0 {
			f.Severity = SeverityCaution
			f.Text = "Allergy recorded (" + sub + "): the option includes " + h.what + " as one alternative; choose " + strings.Join(alts, " or ") + " instead."
		}
		s.flag(f)
	}
}

// otherChoices lists the alternatives to drug in its Choice group of the
// option that no allergy hits.
func (s *state) otherChoices(option, drug, choice string, hit map[string]bool) []string {
	if choice == "" {
		return nil
	}
	var out []string
	for _, o := range s.out.options {
		if o.ID != option {
			continue
		}
		for _, d := range o.Drugs {
			if d.Choice == choice && d.Name != drug && !hit[o.ID+"\x1f"+d.Name] {
				out = append(out, d.Name)
			}
		}
	}
	return out
}

// renalLab is the latest creatinine or eGFR.
func (s *state) renalLab() *Lab {
	var out *Lab
	for _, k := range []LabKind{LabCreatinine, LabEGFR} {
		if l, ok := s.labs[k]; ok && (out == nil || later(l.Date, out.Date)) {
			l := l
			out = &l
		}
	}
	return out
}

// renalBelow: creatinine above or eGFR below its reference range.
func (s *state) renalBelow() bool {
	l := s.renalLab()
	return l != nil && ((l.Kind == LabCreatinine && l.Flag == RangeHigh) || (l.Kind == LabEGFR && l.Flag == RangeLow))
}

func (s *state) renalConcern() bool {
	l := s.renalLab()
	return s.renalBelow() || s.has(RenalImpairment) || (l != nil && l.Flag == RangeUnknown && l.Value != nil)
}

func thenRenal(s *state) {
	ids := s.idsWithDrug("zoledronic acid", "capecitabine", "carboplatin")
	l := s.renalLab()
	switch {
	case s.renalBelow() || s.has(RenalImpairment):
		s.flag(Flag{ID: "RENAL", Kind: "renal", Severity: SeverityCaution, Rules: []string{"RENAL"}, Options: ids, Source: srcOf(l),
			Text: "Renal function below the reference range: check zoledronic acid, capecitabine and carboplatin against their labels."})
	default:
		s.flag(Flag{ID: "RENAL", Kind: "renal", Severity: SeverityInfo, Rules: []string{"RENAL"}, Options: ids, Source: l.Source,
			Text: fmt.Sprintf("Renal function %s %g %s shown, range unknown: check it against the laboratory's range before zoledronic acid, capecitabine or carboplatin.", l.Kind, *l.Value, l.Unit)})
	}
}

func srcOf(l *Lab) Source {
	if l == nil {
		return Source{}
	}
	return l.Source
}

// freshness lists the remaining data needed that depend on the options
// proposed (ECOG, renal labs, labs before cycle 1).
func (s *state) freshness() {
	anti := s.anticancerIDs()
	if len(anti) > 0 {
		switch {
		case s.ecog == nil && s.karnofsky == nil:
			s.need(DataNeeded{ID: "ecog", Item: "ECOG performance status", Why: "Performance status changes what is reasonable (S11).",
				Reason: "missing", Order: codeECOG, Rules: []string{"S11"}})
		case s.ecog != nil && *s.ecog.Value <= 2 && s.stale(s.ecog.Date, maxAgeECOGDays):
			s.need(DataNeeded{ID: "stale-ecog", Item: fmt.Sprintf("ECOG %d of %s is older than %d days", *s.ecog.Value, dateOr(s.ecog.Date), maxAgeECOGDays),
				Why: "Reassess performance status before starting.", Reason: "stale", Order: codeECOG, Rules: []string{"S11"}, Source: s.ecog.Source})
		}
		s.item(&s.out.monitoring, Item{ID: "labs-before-cycle-1", Kind: "test", Rules: []string{"S05", "S06"},
			Text: "Blood count, liver and renal tests: repeat before cycle 1."})
	}
	if s.anyDrug("zoledronic acid", "capecitabine", "carboplatin") {
		s.labNeed("labs-renal", "renal function (creatinine or eGFR)", codeCreat, "RENAL", LabCreatinine, LabEGFR)
	}
	if len(anti) > 0 {
		// Section 8 freshness: a reassuring blood count, liver or renal
		// test older than 30 days is listed before any anticancer start,
		// whichever drug is proposed (a missing one is asked only where a
		// rule needs it).
		s.staleLab("labs-cbc", "blood count with neutrophils", codeANC, "S06", LabANC)
		s.staleLab("labs-liver", "liver tests (ALT, AST, bilirubin)", codeALT, "S05", LabALT, LabAST, LabBilirubin)
		s.staleLab("labs-renal", "renal function (creatinine or eGFR)", codeCreat, "RENAL", LabCreatinine, LabEGFR)
	}
	if len(s.reg.stopNoReason) > 0 && s.metastatic() {
		m := s.reg.stopNoReason[0]
		s.need(DataNeeded{ID: "stop-reason", Item: "why " + firstNonEmpty(strings.Join(m.Drugs, " + "), m.Name) + " was stopped",
			Why: "A stopped order does not by itself mean progression; progression versus toxicity changes the next line.", Reason: "missing", Source: m.Source})
	}
	if s.reg.aiEndUnknown && !s.reg.aiRelapse12 && s.hrPosHER2Neg() && s.line == 1 {
		s.need(DataNeeded{ID: "adjuvant-et-end", Item: "end date of the adjuvant aromatase inhibitor",
			Why:    "Relapse 12 months or less after the adjuvant AI ended means AI-resistant disease (fulvestrant + CDK4/6 inhibitor) instead of AI + CDK4/6 inhibitor; both stay proposed until it is known.",
			Reason: "missing", Rules: []string{"C07"}})
	}
}
