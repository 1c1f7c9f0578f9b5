package recommend

import (
	"sort"
	"strings"
)

// The final safety guard. It runs after the rules, separately from them,
// and removes any option that breaks a section 8 safety gate, recording what
// it removed and why. The rules already respect these gates; the guard
// exists so that a future rule mistake cannot reach a clinician.

// gates are the section 8 safety gates. They are computed from the derived
// facts, never from what the rules proposed.
type gates struct {
	treatable    bool // distant metastatic disease, patient alive
	pregnant     bool
	her2Known    bool
	her2Positive bool
	her2Deferred bool // LVEF < 40% or symptomatic heart failure
	hrPositive   bool
	needsGnRH    bool // pre/peri/unknown menopausal status, or male
	ofsDeclined  bool // a female handled as premenopausal declined OFS
	ribociclibNo []string
	anthraNo     []string
	ild          bool
	male         bool
	// her2LowOrUltralow: HER2-negative with HER2-low or ultralow established
	// from an IHC score (the only HER2-negative use of a HER2-directed
	// drug: trastuzumab deruxtecan, H13, H14, T05).
	her2LowOrUltralow bool
}

// onlyTDXd: the option's only HER2-directed drug is trastuzumab deruxtecan.
func onlyTDXd(o Option) bool {
	for _, d := range o.Drugs {
		if drugHas(d.Name, classHER2) && d.Name != "fam-trastuzumab deruxtecan" {
			return false
		}
	}
	return true
}

func gatesOf(s *state) gates {
	return gates{
		treatable:         s.metastatic(),
		pregnant:          s.pregnant,
		her2Known:         s.her2Known(),
		her2Positive:      s.her2.status == ReceptorPositive,
		her2Deferred:      s.her2Deferred(),
		hrPositive:        s.hr == "positive",
		needsGnRH:         !s.meno.postmenopausal || s.meno.male,
		ofsDeclined:       s.ofsDeclinedBlocks(),
		ribociclibNo:      s.ribociclibBlockers(false),
		anthraNo:          s.anthracyclineBlockers(),
		ild:               s.has(ILD),
		male:              s.meno.male,
		her2LowOrUltralow: s.her2.status == ReceptorNegative && (s.her2.isLow || s.her2.isUltralow),
	}
}

// violation returns the gate an option breaks and why, or "" when none.
func (g gates) violation(o Option, flags []Flag) (gate, reason string) {
	hasDrugs := len(o.Drugs) > 0
	switch {
	case !g.treatable:
		return "not-metastatic", "no distant metastatic disease established (C05)"
	case g.pregnant && hasDrugs:
		return "pregnancy", "pregnancy recorded: no systemic drug is proposed automatically (S10)"
	case optionHas(o, classHER2) && !g.her2Positive && !(g.her2LowOrUltralow && onlyTDXd(o)):
		return "her2-negative-or-unknown", "HER2-directed drug without an established HER2-positive result (T-DXd needs HER2-low or ultralow established)"
	case !g.her2Known && o.Category != "supportive" && o.Category != "continue":
		return "her2-unknown", "HER2 status unknown: no anticancer option until HER2 is known"
	case optionHas(o, classEndocrine) && !g.hrPositive:
		return "hr-negative-or-unknown", "endocrine therapy without an established hormone-receptor-positive result"
	case (optionHas(o, classAI) || optionHas(o, classSERD)) && g.needsGnRH && !optionHas(o, classGnRH):
		return "ovarian-suppression", "aromatase inhibitor, fulvestrant or elacestrant without ovarian function suppression or a GnRH agonist, and postmenopausal status not established (C06)"
	case (optionHas(o, classAI) || optionHas(o, classSERD)) && g.ofsDeclined:
		return "ovarian-suppression", "ovarian function suppression declined: no aromatase inhibitor, fulvestrant or elacestrant (H04)"
	case optionHasDrug(o, "tamoxifen") && g.needsGnRH && !g.male && !optionHas(o, classGnRH) && !g.ofsDeclined && o.Category != "continue":
		return "tamoxifen-alone", "tamoxifen alone only if ovarian function suppression is declined (H04)"
	case optionHasDrug(o, "ribociclib") && (len(g.ribociclibNo) > 0 || optionHasDrug(o, "tamoxifen")):
		why := append([]string(nil), g.ribociclibNo...)
		if optionHasDrug(o, "tamoxifen") {
			why = append(why, "tamoxifen in the same regimen")
		}
		return "qt", "ribociclib with " + strings.Join(why, "; ") + " (S04, H05)"
	case optionHas(o, classAnthra) && (optionHas(o, classHER2) || len(g.anthraNo) > 0):
		why := append([]string(nil), g.anthraNo...)
		if optionHas(o, classHER2) {
			why = append(why, "HER2-directed drug in the same regimen")
		}
		return "cardiac-anthracycline", "anthracycline with " + strings.Join(why, "; ") + " (S02, P07)"
	case optionHas(o, classHER2Cardio) && g.her2Deferred:
		return "cardiac-her2", "HER2-directed antibody or ADC with LVEF < 40% or symptomatic heart failure: deferred pending cardio-oncology review (S02)"
	case optionHasDrug(o, "fam-trastuzumab deruxtecan") && g.ild && !hasILDCaution(o.ID, flags):
		return "ild-no-caution", "trastuzumab deruxtecan with interstitial lung disease and no explicit caution (S07)"
	}
	return "", ""
}

func hasILDCaution(id string, flags []Flag) bool {
	for _, f := range flags {
		if f.Kind != "ild" || (f.Severity != SeverityCaution && f.Severity != SeverityBlock) {
			continue
		}
		for _, o := range f.Options {
			if o == id {
				return true
			}
		}
	}
	return false
}

// guard removes the options that break a gate.
func guard(options []Option, flags []Flag, g gates) (kept []Option, removed []Removed) {
	kept = []Option{}
	for _, o := range options {
		if gate, why := g.violation(o, flags); gate != "" {
			removed = append(removed, Removed{OptionID: o.ID, Title: o.Title, Reason: why, Gate: gate})
			continue
		}
		kept = append(kept, o)
	}
	sort.Slice(removed, func(i, j int) bool { return removed[i].OptionID < removed[j].OptionID })
	return kept, removed
}
