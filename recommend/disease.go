package recommend

import (
	"sort"
	"strings"
	"time"
)

// diseaseOut says whether distant metastatic disease is established (C05).
type diseaseOut struct {
	call      DiseaseCall
	firstDate time.Time
	hasDate   bool
	bone      bool
	brain     bool
	uncertain []Metastasis
}

// countsAsEvidence says whether a finding's statuses let it be used:
// provisional, differential, refuted and entered-in-error findings are not.
func countsAsEvidence(fd Finding) bool {
	switch strings.ToLower(fd.VerificationStatus) {
	case "provisional", "differential", "refuted", "entered-in-error":
		return false
	}
	return true
}

// countsForSafety: comorbidities that gate safety count whatever their
// status, except refuted or entered-in-error (section 8).
func countsForSafety(fd Finding) bool {
	switch strings.ToLower(fd.VerificationStatus) {
	case "refuted", "entered-in-error":
		return false
	}
	return true
}

// deriveDisease establishes distant metastatic disease from findings of
// Kind distant (section 8); uncertain ones (regional or distant) ask.
func deriveDisease(f Facts) diseaseOut {
	var out diseaseOut
	sites := map[string]bool{}
	var refs []string
	var bases []string
	for _, m := range f.Metastases {
		if !countsAsEvidence(m.Finding) || strings.EqualFold(m.ClinicalStatus, "resolved") {
			continue
		}
		switch m.Kind {
		case MetastasisDistant:
			out.call.Metastatic = true
			if m.Site != "" {
				sites[m.Site] = true
			}
			if m.Visceral {
				out.call.Visceral = true
			}
			if m.Site == "bone" {
				out.bone = true
			}
			if m.Site == "brain" {
				out.brain = true
			}
			refs = mergeRefs(refs, m.Refs)
			if m.Basis != "" {
				bases = append(bases, m.Basis)
			}
			if t, ok := parseDate(m.Date); ok && (!out.hasDate || t.Before(out.firstDate)) {
				out.firstDate, out.hasDate = t, true
				out.call.FirstRecorded = m.Date
			}
		case MetastasisUncertain:
			out.uncertain = append(out.uncertain, m)
		}
	}
	for s := range sites {
		out.call.Sites = append(out.call.Sites, s)
	}
	sort.Strings(out.call.Sites)
	out.call.Refs = refs
	out.call.Date = out.call.FirstRecorded
	if out.call.Metastatic {
		bases = mergeRefs(bases)
		out.call.Basis = "distant metastasis recorded (" + strings.Join(bases, ", ") + ")"
		if len(bases) == 0 {
			out.call.Basis = "distant metastasis recorded"
		}
	} else {
		out.call.Basis = "no distant metastasis recorded"
	}
	return out
}
