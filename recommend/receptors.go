package recommend

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Receptor derivations: the governing ER, PR and HER2 results (C02), the
// ASCO/CAP 2018 HER2 algorithm (C03), HER2-low and ultralow (C04), ER-low
// (C01) and the hormone-receptor status (section 8).

// markerOut is the governing result of one marker with what it needs.
type markerOut struct {
	call    Call
	status  ReceptorStatus // positive or negative; unknown otherwise
	percent *float64
	needed  []DataNeeded
	disc    []Discordance
}

// her2Out adds the HER2-specific calls.
type her2Out struct {
	markerOut
	ihc          IHCScore
	low          Call
	ultralow     Call
	lowKnown     bool // HER2-low is yes or no
	isLow        bool
	isUltralow   bool
	ultralowKnow bool
}

// Orders for missing receptor tests (LOINC, table 2.1).
var (
	orderER       = &Coding{System: systemLOINC, Code: "85337-4", Display: "Estrogen receptor Ag [Presence] in Breast cancer specimen by Immune stain"}
	orderPR       = &Coding{System: systemLOINC, Code: "85339-0", Display: "Progesterone receptor Ag [Presence] in Breast cancer specimen by Immune stain"}
	orderHER2     = &Coding{System: systemLOINC, Code: "48676-1", Display: "HER2 [Interpretation] in Tissue"}
	orderHER2IHC  = &Coding{System: systemLOINC, Code: "85319-2", Display: "HER2 [Presence] in Breast cancer specimen by Immune stain"}
	orderHER2ISH  = &Coding{System: systemLOINC, Code: "85318-4", Display: "ERBB2 gene duplication [Presence] in Breast cancer specimen by FISH"}
	systemLOINC   = "http://loinc.org"
	systemSNOMED  = "http://snomed.info/sct"
	receptorRules = []string{"C01", "C02"}
)

// receptorStatusOf normalises one ER/PR result (section 1.2): a stated
// status first, then percent (≥1% positive), then Allred (≥3 positive).
func receptorStatusOf(r ReceptorResult) ReceptorStatus {
	if r.Status != ReceptorUnknown {
		return r.Status
	}
	if r.Percent != nil {
		if *r.Percent >= 1 {
			return ReceptorPositive
		}
		return ReceptorNegative
	}
	if r.Allred != nil {
		if *r.Allred >= 3 {
			return ReceptorPositive
		}
		return ReceptorNegative
	}
	return ReceptorUnknown
}

// datedResult is a result reduced to what C02 compares.
type datedResult struct {
	status   ReceptorStatus
	t        time.Time
	day      string
	specimen SpecimenSite
	text     string
	percent  *float64
	src      Source
}

func describeResult(d datedResult) string {
	s := string(d.status)
	if d.text != "" {
		s = d.text
	}
	if d.day != "" {
		s += " (" + d.day + ")"
	} else {
		s += " (undated)"
	}
	if d.specimen != SpecimenUnknown {
		s += ", " + string(d.specimen) + " specimen"
	}
	return s
}

// governing picks the result that governs (C02): metastatic specimens over
// primary ones, then the most recent. Results of that same day are returned
// too, to find same-time conflicts.
func governing(rs []datedResult) (gov datedResult, sameDay []datedResult, ok bool) {
	if len(rs) == 0 {
		return datedResult{}, nil, false
	}
	pool := rs
	var met []datedResult
	for _, r := range rs {
		if r.specimen == SpecimenMetastatic {
			met = append(met, r)
		}
	}
	if len(met) > 0 {
		pool = met
	}
	gov = pool[0]
	for _, r := range pool[1:] {
		if !r.t.Before(gov.t) {
			gov = r
		}
	}
	for _, r := range pool {
		if r.day == gov.day {
			sameDay = append(sameDay, r)
		}
	}
	return gov, sameDay, true
}

// discordance finds the most recent earlier result whose call differs from
// the governing one.
func discordance(marker string, rs []datedResult, gov datedResult) []Discordance {
	var prev *datedResult
	for i := range rs {
		r := rs[i]
		if r.day == gov.day && r.specimen == gov.specimen {
			continue
		}
		if r.status != ReceptorPositive && r.status != ReceptorNegative {
			continue
		}
		if r.status == gov.status {
			continue
		}
		if r.t.After(gov.t) && gov.specimen != SpecimenMetastatic {
			continue
		}
		if prev == nil || r.t.After(prev.t) {
			prev = &rs[i]
		}
	}
	if prev == nil {
		return nil
	}
	return []Discordance{{
		Marker: marker,
		Text: fmt.Sprintf("%s changed from %s to %s; the %s governs the proposal (C02). Consider re-biopsy or retesting of an accessible metastasis.",
			marker, prev.status, gov.status, describeResult(gov)),
		Earlier: Call{Value: string(prev.status), Basis: describeResult(*prev), Rules: []string{"C02"}, Source: prev.src},
		Later:   Call{Value: string(gov.status), Basis: describeResult(gov), Rules: []string{"C02"}, Source: gov.src},
	}}
}

func lowerID(marker string) string { return strings.ToLower(marker) }

// deriveReceptor derives the governing ER or PR result.
func deriveReceptor(marker string, results []ReceptorResult, stated *ReceptorStatus, statedDate string, order *Coding) markerOut {
	id := lowerID(marker)
	var out markerOut
	if stated != nil && (*stated == ReceptorPositive || *stated == ReceptorNegative) {
		out.status = *stated
		out.call = Call{Value: string(*stated), Basis: "stated by the clinician", Rules: receptorRules,
			Source: Source{Date: statedDate, StatedByClinician: true}}
		return out
	}
	var usable []datedResult
	var notFinal []ReceptorResult
	for _, r := range results {
		if !r.Final {
			notFinal = append(notFinal, r)
			continue
		}
		st := receptorStatusOf(r)
		if st == ReceptorUnknown {
			continue
		}
		t, _ := parseDate(r.Date)
		usable = append(usable, datedResult{status: st, t: t, day: dayOf(r.Date), specimen: r.Specimen, text: r.Text, percent: r.Percent, src: r.Source})
	}
	gov, same, ok := governing(usable)
	if !ok {
		out.call = Call{Value: "unknown", Basis: "no final " + marker + " result", Rules: receptorRules}
		if len(notFinal) > 0 {
			out.needed = append(out.needed, DataNeeded{ID: "not-final-" + id, Item: marker + " result not final",
				Why:    marker + " status decides the treatment pathway; a result that is not final is shown but not used.",
				Reason: "not-final", Blocking: true, Order: order, Rules: []string{"C02"}, Source: notFinal[len(notFinal)-1].Source})
		} else {
			out.needed = append(out.needed, DataNeeded{ID: id, Item: marker + " status",
				Why: marker + " status decides the treatment pathway.", Reason: "missing", Blocking: true, Order: order, Rules: receptorRules})
		}
		return out
	}
	var pos, neg []datedResult
	for _, r := range same {
		switch r.status {
		case ReceptorPositive:
			pos = append(pos, r)
		case ReceptorNegative:
			neg = append(neg, r)
		}
	}
	if len(pos) > 0 && len(neg) > 0 {
		out.call = Call{Value: "unknown", Basis: "conflicting results of the same time", Rules: receptorRules}
		out.needed = append(out.needed, DataNeeded{ID: "conflict-" + id, Item: marker + ": conflicting results",
			Why:    fmt.Sprintf("Results of the same time disagree: %s versus %s.", describeResult(pos[0]), describeResult(neg[0])),
			Reason: "conflicting", Blocking: true, Order: order, Rules: []string{"C02"},
			Source: Source{Refs: mergeRefs(pos[0].src.Refs, neg[0].src.Refs), Date: gov.src.Date}})
		return out
	}
	if gov.status != ReceptorPositive && gov.status != ReceptorNegative {
		out.call = Call{Value: "unknown", Basis: "the governing result is " + string(gov.status), Rules: receptorRules, Source: gov.src}
		out.needed = append(out.needed, DataNeeded{ID: id, Item: marker + " status",
			Why: "The governing " + marker + " result is " + string(gov.status) + ".", Reason: "unparseable", Blocking: true, Order: order, Rules: receptorRules, Source: gov.src})
		return out
	}
	out.status = gov.status
	out.percent = gov.percent
	basis := "most recent final result"
	if gov.specimen == SpecimenMetastatic {
		basis = "most recent final result on a metastatic specimen"
	}
	if gov.percent != nil {
		basis += fmt.Sprintf(" (%g%% of nuclei)", *gov.percent)
	}
	out.call = Call{Value: string(gov.status), Basis: basis, Rules: receptorRules, Source: gov.src}
	out.disc = discordance(marker, usable, gov)
	for _, r := range notFinal {
		if t, _ := parseDate(r.Date); t.After(gov.t) {
			out.needed = append(out.needed, DataNeeded{ID: "not-final-" + id, Item: "newer " + marker + " result not final",
				Why: "A newer " + marker + " result is not final; the plan uses the older final result until it is.", Reason: "not-final",
				Rules: []string{"C02"}, Source: r.Source})
			break
		}
	}
	return out
}

// ishGroup is the ASCO/CAP 2018 dual-probe ISH group (1–5), or 0 when the
// ratio or copy number is missing.
func ishGroup(ratio, copies *float64) int {
	if ratio == nil || copies == nil {
		return 0
	}
	r, c := *ratio, *copies
	switch {
	case r >= 2 && c >= 4:
		return 1
	case r >= 2:
		return 2
	case c >= 6:
		return 3
	case c >= 4:
		return 4
	default:
		return 5
	}
}

// ascoCAP applies the ASCO/CAP 2018 algorithm (section 1.3, C03) to an IHC
// score and ISH data; it returns equivocal when IHC 2+ awaits ISH, or an
// ISH group 2–4 awaits IHC.
func ascoCAP(ihc IHCScore, ish ReceptorStatus, ratio, copies *float64) (ReceptorStatus, string) {
	switch g := ishGroup(ratio, copies); g {
	case 1:
		return ReceptorPositive, "ISH group 1"
	case 5:
		if ihc == IHC3 {
			return ReceptorPositive, "IHC 3+"
		}
		return ReceptorNegative, "ISH group 5"
	case 2, 3, 4:
		switch ihc {
		case IHC3:
			return ReceptorPositive, fmt.Sprintf("ISH group %d with IHC 3+", g)
		case IHC0, IHC1:
			return ReceptorNegative, fmt.Sprintf("ISH group %d with IHC %s", g, ihc)
		case IHC2:
			if g == 3 {
				return ReceptorPositive, "ISH group 3 with IHC 2+"
			}
			return ReceptorNegative, fmt.Sprintf("ISH group %d with IHC 2+", g)
		}
		return ReceptorEquivocal, fmt.Sprintf("ISH group %d needs a concurrent IHC score", g)
	}
	switch ish {
	case ReceptorPositive:
		return ReceptorPositive, "ISH amplified"
	case ReceptorNegative:
		if ihc == IHC3 {
			return ReceptorPositive, "IHC 3+"
		}
		return ReceptorNegative, "ISH not amplified"
	}
	switch ihc {
	case IHC3:
		return ReceptorPositive, "IHC 3+"
	case IHC0, IHC1:
		return ReceptorNegative, "IHC " + string(ihc)
	case IHC2:
		return ReceptorEquivocal, "IHC 2+ needs ISH"
	}
	return ReceptorUnknown, ""
}

// her2Group merges the HER2 results of one time: those on one identified
// specimen, or else those of one day and specimen kind. An IHC 2+ and an ISH
// of the same time complete each other (section 8: "at the same time" is the
// same specimen, or the same day with no specimen to tell them apart).
type her2Group struct {
	day         string
	t           time.Time
	specimen    SpecimenSite
	specimenRef string
	ihc         IHCScore
	ihcClash    bool
	staining    string
	ish         ReceptorStatus
	ratio       *float64
	copies      *float64
	explicit    []ReceptorStatus
	texts       []string
	src         Source
	statedIHC   bool
	statedCall  bool
}

// isSerum reports a serum or plasma HER2 test, never read as tumour status.
func isSerum(r HER2Result) bool {
	t := strings.ToLower(r.Text + " " + r.Method)
	return strings.Contains(t, "serum") || strings.Contains(t, "plasma")
}

func groupHER2(results []HER2Result) (groups []*her2Group, notFinal []HER2Result) {
	byKey := map[string]*her2Group{}
	var keys []string
	for _, r := range results {
		if isSerum(r) {
			continue
		}
		if !r.Final {
			notFinal = append(notFinal, r)
			continue
		}
		day := dayOf(r.Date)
		t, _ := parseDate(r.Date)
		key := "day|" + day + "|" + string(r.Specimen)
		if r.SpecimenRef != "" {
			key = "specimen|" + r.SpecimenRef
		}
		g, ok := byKey[key]
		if !ok {
			g = &her2Group{day: day, t: t, specimen: r.Specimen, specimenRef: r.SpecimenRef}
			byKey[key] = g
			keys = append(keys, key)
		}
		if t.After(g.t) {
			// A specimen's report is as recent as its latest result.
			g.day, g.t = day, t
		}
		if g.specimen == SpecimenUnknown {
			g.specimen = r.Specimen
		}
		if r.IHC != IHCUnknown {
			if g.ihc != IHCUnknown && g.ihc != r.IHC {
				g.ihcClash = true
			}
			g.ihc = r.IHC
		}
		if r.Staining != "" {
			g.staining = r.Staining
		}
		if r.ISH != ReceptorUnknown {
			g.ish = r.ISH
		}
		if r.Ratio != nil {
			g.ratio = r.Ratio
		}
		if r.CopyNumber != nil {
			g.copies = r.CopyNumber
		}
		if r.Status != ReceptorUnknown {
			g.explicit = append(g.explicit, r.Status)
		}
		if r.Text != "" {
			g.texts = append(g.texts, r.Text)
		}
		g.src.Refs = mergeRefs(g.src.Refs, r.Refs)
		if g.src.Date == "" {
			g.src.Date = r.Date
		}
		g.src.Status = r.Source.Status
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := byKey[keys[i]], byKey[keys[j]]
		if !a.t.Equal(b.t) {
			return a.t.Before(b.t)
		}
		return keys[i] < keys[j]
	})
	for _, k := range keys {
		groups = append(groups, byKey[k])
	}
	return groups, notFinal
}

// hasISH reports ISH data: a stated ISH result, or ratio and copy number.
func (g *her2Group) hasISH() bool {
	return g.ish != ReceptorUnknown || (g.ratio != nil && g.copies != nil)
}

// reflexWindowDays bounds how long after an IHC 2+ an ISH result on a
// specimen that is not identified is taken as its reflex test.
const reflexWindowDays = 28

// completeReflex returns gov completed with the IHC 2+ its ISH resolves:
// when gov holds ISH data and no IHC score, and the latest earlier group
// of the same specimen kind is an IHC 2+ awaiting ISH (no ISH data) within
// reflexWindowDays, with no specimen reference telling them apart. An IHC
// 2+ is not a call (C03: it needs ISH), so the ISH that follows it answers
// it rather than replacing it; HER2-low then follows (C04). Otherwise gov
// is returned unchanged.
func completeReflex(gov *her2Group, pool []*her2Group) *her2Group {
	if gov == nil || gov.ihc != IHCUnknown || !gov.hasISH() {
		return gov
	}
	var prev *her2Group
	for _, g := range pool {
		if g == gov || g.t.After(gov.t) || g.specimen != gov.specimen {
			continue
		}
		if prev == nil || !g.t.Before(prev.t) {
			prev = g
		}
	}
	if prev == nil || prev.ihc != IHC2 || prev.hasISH() || prev.ihcClash || len(prev.explicit) > 0 {
		return gov
	}
	if prev.specimenRef != "" && gov.specimenRef != "" && prev.specimenRef != gov.specimenRef {
		return gov
	}
	if d := daysBetween(prev.t, gov.t); d < 0 || d > reflexWindowDays {
		return gov
	}
	ng := *gov
	ng.ihc = IHC2
	ng.texts = append(append([]string(nil), prev.texts...), gov.texts...)
	ng.src.Refs = mergeRefs(prev.src.Refs, gov.src.Refs)
	return &ng
}

// callOf is a group's final call; clash is true when its parts disagree.
func (g *her2Group) callOf() (st ReceptorStatus, basis string, clash bool) {
	computed, basis := ascoCAP(g.ihc, g.ish, g.ratio, g.copies)
	var pos, neg bool
	mark := func(s ReceptorStatus) {
		switch s {
		case ReceptorPositive:
			pos = true
		case ReceptorNegative:
			neg = true
		}
	}
	mark(computed)
	for _, e := range g.explicit {
		mark(e)
	}
	switch {
	case (pos && neg) || g.ihcClash:
		return ReceptorUnknown, "conflicting results of the same time", true
	case pos:
		if computed != ReceptorPositive {
			basis = "reported positive"
		}
		return ReceptorPositive, basis, false
	case neg:
		if computed != ReceptorNegative {
			basis = "reported negative"
		}
		return ReceptorNegative, basis, false
	case computed == ReceptorEquivocal:
		return ReceptorEquivocal, basis, false
	}
	for _, e := range g.explicit {
		if e == ReceptorEquivocal {
			return ReceptorEquivocal, "reported equivocal", false
		}
	}
	return ReceptorUnknown, "", false
}

func describeGroup(g *her2Group) string {
	var parts []string
	if g.ihc != IHCUnknown {
		parts = append(parts, "IHC "+string(g.ihc))
	}
	if g.ratio != nil && g.copies != nil {
		parts = append(parts, fmt.Sprintf("ISH ratio %g, %g copies/cell", *g.ratio, *g.copies))
	} else if g.ish != ReceptorUnknown {
		parts = append(parts, "ISH "+string(g.ish))
	}
	for _, e := range g.explicit {
		parts = append(parts, "reported "+string(e))
	}
	s := strings.Join(parts, ", ")
	if s == "" {
		s = strings.Join(g.texts, "; ")
	}
	if g.day != "" {
		s += " (" + g.day + ")"
	}
	if g.specimen != SpecimenUnknown {
		s += ", " + string(g.specimen) + " specimen"
	}
	return s
}

// deriveHER2 derives the governing HER2 call, HER2-low and HER2-ultralow.
func deriveHER2(results []HER2Result, st Statements) her2Out {
	var out her2Out
	rules := []string{"C02", "C03"}
	groups, notFinal := groupHER2(results)

	var gov *her2Group
	pool := groups
	var met []*her2Group
	for _, g := range groups {
		if g.specimen == SpecimenMetastatic {
			met = append(met, g)
		}
	}
	if len(met) > 0 {
		pool = met
	}
	for _, g := range pool {
		if gov == nil || !g.t.Before(gov.t) {
			gov = g
		}
	}
	gov = completeReflex(gov, pool)
	if st.HER2IHC != nil && *st.HER2IHC != IHCUnknown {
		ng := &her2Group{ihc: *st.HER2IHC, statedIHC: true, src: Source{Date: st.Date, StatedByClinician: true}}
		if gov != nil {
			ng.ish, ng.ratio, ng.copies, ng.day, ng.t, ng.specimen = gov.ish, gov.ratio, gov.copies, gov.day, gov.t, gov.specimen
			if *st.HER2IHC == IHC0 && gov.ihc == IHC0 {
				ng.staining = gov.staining
			}
		}
		gov = ng
	}

	status, basis, clash := ReceptorUnknown, "", false
	if gov != nil {
		status, basis, clash = gov.callOf()
	}
	if st.HER2 != nil && (*st.HER2 == ReceptorPositive || *st.HER2 == ReceptorNegative) {
		status, basis, clash = *st.HER2, "stated by the clinician", false
		if gov == nil || !gov.statedIHC {
			gov = &her2Group{src: Source{Date: st.Date, StatedByClinician: true}, statedCall: true, ihc: ihcOf(gov), staining: stainingOf(gov)}
		}
		gov.statedCall = true
		gov.src.StatedByClinician = true
	}

	switch {
	case gov == nil && len(notFinal) > 0:
		out.call = Call{Value: "unknown", Basis: "no final HER2 result", Rules: rules}
		out.needed = append(out.needed, DataNeeded{ID: "not-final-her2", Item: "HER2 result not final",
			Why:    "HER2 status decides the treatment pathway from the first line on; a result that is not final is not used.",
			Reason: "not-final", Blocking: true, Order: orderHER2, Rules: []string{"C02"}, Source: notFinal[len(notFinal)-1].Source})
	case gov == nil:
		out.call = Call{Value: "unknown", Basis: "no HER2 result", Rules: rules}
		out.needed = append(out.needed, DataNeeded{ID: "her2", Item: "HER2 status",
			Why:    "HER2 testing is needed: HER2-positive disease is treated differently from the first line on, so no first-line anticancer option is proposed without it.",
			Reason: "missing", Blocking: true, Order: orderHER2, Rules: rules})
	case clash:
		out.call = Call{Value: "unknown", Basis: basis, Rules: rules, Source: gov.src}
		out.needed = append(out.needed, DataNeeded{ID: "conflict-her2", Item: "HER2: conflicting results",
			Why:    "HER2 results of the same time disagree after the ASCO/CAP 2018 algorithm: " + describeGroup(gov) + ".",
			Reason: "conflicting", Blocking: true, Order: orderHER2, Rules: rules, Source: gov.src})
	case status == ReceptorEquivocal:
		out.call = Call{Value: "unknown", Basis: basis, Rules: rules, Source: gov.src}
		order := orderHER2ISH
		item := "HER2 ISH result"
		if gov.ihc == IHCUnknown {
			order, item = orderHER2IHC, "HER2 IHC score"
		}
		out.needed = append(out.needed, DataNeeded{ID: "her2", Item: item,
			Why:    "HER2 is not resolved (" + basis + "); no first-line anticancer option is proposed until it is.",
			Reason: "missing", Blocking: true, Order: order, Rules: rules, Source: gov.src})
	case status == ReceptorUnknown:
		out.call = Call{Value: "unknown", Basis: "HER2 result unreadable", Rules: rules, Source: gov.src}
		out.needed = append(out.needed, DataNeeded{ID: "her2", Item: "HER2 status",
			Why: "The HER2 result could not be read; no first-line anticancer option is proposed until it is known.", Reason: "unparseable",
			Blocking: true, Order: orderHER2, Rules: rules, Source: gov.src})
	default:
		out.status = status
		out.call = Call{Value: string(status), Basis: basis + " (ASCO/CAP 2018)", Rules: rules, Source: gov.src}
		if gov.statedCall {
			out.call.Basis = "stated by the clinician"
		}
		out.ihc = gov.ihc
		// Discordance between days or specimens (C02).
		var rs []datedResult
		var govDR datedResult
		for _, g := range groups {
			s, _, c := g.callOf()
			if c {
				continue
			}
			d := datedResult{status: s, t: g.t, day: g.day, specimen: g.specimen, text: describeGroup(g), src: g.src}
			rs = append(rs, d)
		}
		govDR = datedResult{status: status, t: gov.t, day: gov.day, specimen: gov.specimen, text: describeGroup(gov), src: gov.src}
		out.disc = discordance("HER2", rs, govDR)
		for _, r := range notFinal {
			if t, _ := parseDate(r.Date); t.After(gov.t) {
				out.needed = append(out.needed, DataNeeded{ID: "not-final-her2", Item: "newer HER2 result not final",
					Why: "A newer HER2 result is not final; the plan uses the older final result until it is.", Reason: "not-final",
					Rules: []string{"C02"}, Source: r.Source})
				break
			}
		}
	}

	lowRules := []string{"C04"}
	out.low = Call{Value: "unknown", Rules: lowRules}
	out.ultralow = Call{Value: "unknown", Rules: lowRules}
	switch out.status {
	case ReceptorPositive:
		out.low = Call{Value: "no", Basis: "HER2-positive", Rules: lowRules}
		out.ultralow = Call{Value: "no", Basis: "HER2-positive", Rules: lowRules}
		out.lowKnown, out.ultralowKnow = true, true
	case ReceptorNegative:
		src := gov.src
		switch out.ihc {
		case IHC1, IHC2:
			out.low = Call{Value: "yes", Basis: "HER2-negative with IHC " + string(out.ihc), Rules: lowRules, Source: src}
			out.ultralow = Call{Value: "no", Basis: "HER2-low", Rules: lowRules, Source: src}
			out.lowKnown, out.isLow, out.ultralowKnow = true, true, true
		case IHC0:
			out.low = Call{Value: "no", Basis: "IHC 0", Rules: lowRules, Source: src}
			out.lowKnown = true
			switch strings.ToLower(gov.staining) {
			case "faint":
				out.ultralow = Call{Value: "yes", Basis: "IHC 0 with faint incomplete staining in ≤10% of cells", Rules: lowRules, Source: src}
				out.isUltralow, out.ultralowKnow = true, true
			case "absent":
				out.ultralow = Call{Value: "no", Basis: "IHC 0 without staining (HER2-0)", Rules: lowRules, Source: src}
				out.ultralowKnow = true
			default:
				out.ultralow = Call{Value: "unknown", Basis: "IHC 0 without a staining description: HER2-0 versus ultralow unknown", Rules: lowRules, Source: src}
				out.needed = append(out.needed, DataNeeded{ID: "her2-ihc", Item: "HER2 IHC 0 staining description (HER2-0 or ultralow)",
					Why:    "HER2-ultralow (faint staining in ≤10% of cells) opens trastuzumab deruxtecan after endocrine therapy (DESTINY-Breast06).",
					Reason: "missing", Order: orderHER2IHC, Rules: lowRules, Source: src})
			}
		default:
			out.low = Call{Value: "unknown", Basis: "only \"HER2 negative\" is recorded: HER2-low status unknown", Rules: lowRules, Source: src}
			out.ultralow = Call{Value: "unknown", Basis: "no IHC score", Rules: lowRules, Source: src}
			out.needed = append(out.needed, DataNeeded{ID: "her2-ihc", Item: "HER2 IHC score (0, 1+, 2+)",
				Why:    "Only \"HER2 negative\" is recorded, so HER2-low status is unknown; trastuzumab deruxtecan rules cannot be assessed without the IHC score.",
				Reason: "missing", Order: orderHER2IHC, Rules: lowRules, Source: src})
		}
	}
	return out
}

func ihcOf(g *her2Group) IHCScore {
	if g == nil {
		return IHCUnknown
	}
	return g.ihc
}

func stainingOf(g *her2Group) string {
	if g == nil {
		return ""
	}
	return g.staining
}

// mergeRefs returns the sorted union of reference lists.
func mergeRefs(lists ...[]string) []string {
	seen := map[string]bool{}
	var out []string
	for _, l := range lists {
		for _, r := range l {
			if r != "" && !seen[r] {
				seen[r] = true
				out = append(out, r)
			}
		}
	}
	sort.Strings(out)
	return out
}
