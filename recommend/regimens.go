package recommend

import (
	"sort"
	"strings"
	"time"
)

// Regimens, lines of therapy, the current regimen and progression
// (section 8), and endocrine sensitivity (C07).

const (
	regimenWindowDays = 28
	lineToleranceDays = 60
	recentGivenDays   = 60
)

// medUsable drops medication records that say nothing was given.
func medUsable(m Medication) bool {
	switch strings.ToLower(m.Status) {
	case "entered-in-error", "cancelled", "not-taken", "not-done", "draft":
		return false
	}
	return true
}

// medMatchesAny reports whether a medication is one of the named drugs, by
// its matched drugs or, failing that, by its text.
func medMatchesAny(m Medication, names []string) bool {
	if !medUsable(m) {
		return false
	}
	for _, d := range m.Drugs {
		for _, n := range names {
			if d == n {
				return true
			}
		}
	}
	text := strings.ToLower(m.Name + " " + m.Coding.Display)
	for _, n := range names {
		if strings.Contains(text, n) {
			return true
		}
	}
	return false
}

// medDates returns the start and the last known date of a medication.
func medDates(m Medication) (start, last time.Time, ok bool) {
	start, ok = parseDate(m.Start)
	if !ok {
		start, ok = parseDate(m.Date)
	}
	last = start
	for _, s := range []string{m.End, m.Date} {
		if t, ok2 := parseDate(s); ok2 && t.After(last) {
			last = t
		}
	}
	return start, last, ok
}

// medIsCurrent: an active order whose period covers now, or a drug given
// (administered or taken) within the last 60 days.
func medIsCurrent(m Medication, now time.Time) bool {
	if !medUsable(m) {
		return false
	}
	st := strings.ToLower(m.Status)
	if st == "active" || st == "in-progress" || st == "on-hold" {
		end, hasEnd := parseDate(m.End)
		start, _, hasStart := medDates(m)
		if (!hasEnd || !end.Before(now)) && (!hasStart || !start.After(now)) {
			return true
		}
	}
	if m.Kind == MedAdministration || m.Kind == MedStatement || st == "completed" {
		if st == "stopped" {
			return false
		}
		_, last, ok := medDates(m)
		if ok && !last.After(now) && daysBetween(last, now) <= recentGivenDays && m.Kind != MedRequest {
			return true
		}
	}
	return false
}

// openEnded: an active order or statement with no end date — the drug was
// still being given when last recorded.
func openEnded(m Medication) bool {
	switch strings.ToLower(m.Status) {
	case "active", "in-progress", "on-hold":
		return strings.TrimSpace(m.End) == ""
	}
	return false
}

// regimenWork is a regimen while it is built.
type regimenWork struct {
	drugs map[string]bool
	start time.Time
	last  time.Time
	meds  []Medication
	open  bool // a drug of it has an open-ended active record
	// endKnown: some record of it states when it ended (an end date or an
	// administration); otherwise its last known date is only its start.
	endKnown bool
	current  bool
	progress bool
	stopped  bool
	noReason bool
	line     int
	adjuvant bool
}

func (r *regimenWork) names() []string {
	var out []string
	for d := range r.drugs {
		out = append(out, d)
	}
	sort.Strings(out)
	return out
}

func (r *regimenWork) has(class string) bool {
	for d := range r.drugs {
		if drugHas(d, class) {
			return true
		}
	}
	return false
}

// regimensOut is what the regimen derivation gives the rules.
type regimensOut struct {
	list    []*regimenWork
	current *regimenWork
	// lines is the number of metastatic lines so far.
	lines int
	// progression: progression recorded on the latest metastatic regimen (or
	// the current one), or stated by the clinician.
	progression bool
	// exposure: every anticancer drug ever recorded, dated or not.
	exposure map[string]bool
	// metExposure: drugs of metastatic regimens.
	metExposure map[string]bool
	// lastTrastuzumab is the last known date of a trastuzumab-containing drug.
	lastTrastuzumab time.Time
	stopNoReason    []Medication

	aiRelapse12    bool // relapse during or ≤12 months after adjuvant AI (C07)
	aiEndUnknown   bool // an adjuvant AI's end date is not recorded: C07 timing unknown
	etRelapse12    bool // relapse during or ≤12 months after any adjuvant ET
	her2Relapse12  bool // relapse ≤12 months after adjuvant HER2 therapy (P04)
	chemoRelapse6  bool // relapse ≤6 months after adjuvant chemotherapy (H13 †)
	metEndoProg    int  // metastatic endocrine lines with progression
	metChemoLines  int  // metastatic lines with chemotherapy
	adjuvantAny    bool
	progressionRef Source
}

// continuation says whether regimen b continues a's line: a switch within a
// class, a dropped partner, or endocrine therapy added to HER2 maintenance.
func continuation(a, b *regimenWork) bool {
	switchable := []string{classCDK46, classAI, classSERD, classTaxane, classAnthra, classPlatinum, classHER2TKI}
	for d := range b.drugs {
		if a.drugs[d] {
			continue
		}
		ok := false
		for _, c := range switchable {
			if drugHas(d, c) && a.has(c) {
				ok = true
			}
		}
		if drugHas(d, classEndocrine) && a.has(classHER2) {
			ok = true
		}
		if !ok {
			return false
		}
	}
	return true
}

// deriveRegimens groups anticancer drugs into regimens and numbers the lines.
func deriveRegimens(f Facts, dis diseaseOut, now time.Time) regimensOut {
	out := regimensOut{exposure: map[string]bool{}, metExposure: map[string]bool{}}
	type use struct {
		drug        string
		start, last time.Time
		m           Medication
	}
	var uses []use
	for _, m := range f.Medications {
		if !medUsable(m) {
			continue
		}
		start, last, ok := medDates(m)
		for _, d := range m.Drugs {
			if !isAnticancer(d) {
				continue
			}
			out.exposure[d] = true
			if d == "trastuzumab" || d == "ado-trastuzumab emtansine" || d == "fam-trastuzumab deruxtecan" {
				if last.After(out.lastTrastuzumab) {
					out.lastTrastuzumab = last
				}
				// Still running: the last dose is as late as today.
				if medIsCurrent(m, now) && now.After(out.lastTrastuzumab) {
					out.lastTrastuzumab = now
				}
			}
			if ok {
				uses = append(uses, use{d, start, last, m})
			}
		}
	}
	sort.SliceStable(uses, func(i, j int) bool {
		if !uses[i].start.Equal(uses[j].start) {
			return uses[i].start.Before(uses[j].start)
		}
		return uses[i].drug < uses[j].drug
	})
	for _, u := range uses {
		var cur *regimenWork
		if n := len(out.list); n > 0 {
			cur = out.list[n-1]
		}
		switch {
		case cur != nil && (cur.drugs[u.drug] || daysBetween(cur.start, u.start) <= regimenWindowDays):
			cur.drugs[u.drug] = true
		default:
			cur = &regimenWork{drugs: map[string]bool{u.drug: true}, start: u.start, last: u.last}
			out.list = append(out.list, cur)
		}
		if u.last.After(cur.last) {
			cur.last = u.last
		}
		cur.meds = append(cur.meds, u.m)
		if openEnded(u.m) {
			cur.open = true
		}
		if u.m.End != "" || u.m.Kind == MedAdministration {
			cur.endKnown = true
		}
		if medIsCurrent(u.m, now) {
			cur.current = true
		}
		if strings.EqualFold(u.m.Status, "stopped") && strings.TrimSpace(u.m.Reason) == "" {
			cur.noReason = true
		}
		if strings.EqualFold(u.m.Status, "stopped") {
			cur.stopped = true
		}
	}

	var worsened []DiseaseStatus
	for _, d := range f.DiseaseStatus {
		if d.Final && d.Value == DiseaseWorsened {
			worsened = append(worsened, d)
		}
	}
	cutoff := dis.firstDate.AddDate(0, 0, -lineToleranceDays)
	var prevMet *regimenWork
	for i, r := range out.list {
		r.adjuvant = !dis.hasDate || r.start.Before(cutoff)
		next := now
		if i+1 < len(out.list) {
			next = out.list[i+1].start
		}
		for _, w := range worsened {
			if t, ok := parseDate(w.Date); ok && t.After(r.start) && !t.After(next) {
				r.progress = true
				out.progressionRef = w.Source
			}
		}
		if r.adjuvant {
			r.current = false
			out.adjuvantAny = true
			if dis.hasDate {
				// An adjuvant drug still recorded as active with no end
				// date was being taken when the metastases appeared:
				// relapse during adjuvant therapy (C07).
				last := r.last
				if r.open && last.Before(dis.firstDate) {
					last = dis.firstDate
				}
				r.progress = r.progress || !r.start.After(dis.firstDate) && !last.Before(dis.firstDate)
				months := func(n int) bool { return !last.AddDate(0, n, 0).Before(dis.firstDate) }
				if r.has(classAI) && months(12) {
					out.aiRelapse12 = true
				}
				// An adjuvant AI whose end is not recorded may have run up
				// to the relapse: the timing of C07 is unknown, not "more
				// than 12 months" (never guess).
				if r.has(classAI) && !months(12) && !r.open && !r.endKnown {
					out.aiEndUnknown = true
				}
				if r.has(classEndocrine) && months(12) {
					out.etRelapse12 = true
				}
				if r.has(classHER2) && months(12) {
					out.her2Relapse12 = true
				}
				if r.has(classChemo) && months(6) {
					out.chemoRelapse6 = true
				}
			}
			continue
		}
		for d := range r.drugs {
			out.metExposure[d] = true
		}
		switch {
		case prevMet == nil:
			r.line = 1
		case prevMet.progress || !continuation(prevMet, r):
			r.line = prevMet.line + 1
		default:
			r.line = prevMet.line
		}
		prevMet = r
		if r.noReason {
			for _, m := range r.meds {
				if strings.EqualFold(m.Status, "stopped") && strings.TrimSpace(m.Reason) == "" {
					out.stopNoReason = append(out.stopNoReason, m)
				}
			}
		}
	}
	// Count lines and progression by line.
	lineEndo := map[int]bool{}
	lineChemo := map[int]bool{}
	lineProg := map[int]bool{}
	for _, r := range out.list {
		if r.adjuvant {
			continue
		}
		if r.line > out.lines {
			out.lines = r.line
		}
		if r.has(classEndocrine) {
			lineEndo[r.line] = true
		}
		if r.has(classChemo) {
			lineChemo[r.line] = true
		}
		if r.progress {
			lineProg[r.line] = true
		}
		if r.current {
			out.current = r
		}
	}
	if prevMet != nil && out.current != nil && out.current != prevMet && prevMet.line == out.current.line {
		out.current = prevMet
	}
	if st := f.Statements.Progression; st != nil {
		target := out.current
		if target == nil {
			target = prevMet
		}
		switch {
		case target == nil:
		case *st:
			target.progress = true
			lineProg[target.line] = true
			out.progressionRef = Source{Date: f.Statements.Date, StatedByClinician: true}
		case target == out.current:
			// The clinician states no progression on the current regimen.
			target.progress = false
			lineProg[target.line] = false
		}
	}
	for l := range lineEndo {
		if lineProg[l] {
			out.metEndoProg++
		}
	}
	out.metChemoLines = len(lineChemo)
	switch {
	case out.current != nil:
		out.progression = out.current.progress
	case prevMet != nil:
		out.progression = prevMet.progress
	}
	return out
}

// toRegimens renders the regimens for the plan, oldest first.
func (ro regimensOut) toRegimens() []Regimen {
	var out []Regimen
	for _, r := range ro.list {
		names := r.names()
		classes := map[string]bool{}
		for _, d := range names {
			for _, c := range drugCatalogue[d].classes {
				classes[c] = true
			}
		}
		var cl []string
		for c := range classes {
			cl = append(cl, c)
		}
		sort.Strings(cl)
		reg := Regimen{Drugs: names, Classes: cl, Start: r.start.Format("2006-01-02"), End: r.last.Format("2006-01-02"),
			Line: r.line, Current: r == ro.current, Progression: r.progress}
		reg.Setting = "metastatic"
		if r.adjuvant {
			reg.Setting = "adjuvant"
		}
		var refs []string
		var statuses []string
		for _, m := range r.meds {
			refs = mergeRefs(refs, m.Refs)
			statuses = append(statuses, strings.ToLower(m.Status))
		}
		reg.Refs = refs
		reg.Date = reg.Start
		reg.Status = strings.Join(mergeRefs(statuses), ",")
		out = append(out, reg)
	}
	return out
}
