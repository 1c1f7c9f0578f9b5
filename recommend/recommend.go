package recommend

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// KnowledgeVersion identifies the rule set written into every plan and draft.
const (
	KnowledgeVersion = "mbcplan-rules-2026.11"
	KnowledgeDate    = "2026-11-25"
)

// Settings are the deployment choices the rules depend on.
type Settings struct {
	// LVEFThresholds selects the trastuzumab hold thresholds (S01): "us"
	// (the default) or "eu".
	LVEFThresholds string `json:"lvefThresholds,omitempty"`
}

// Recommend applies the rule table to f as of now and returns the plan.
// It is deterministic: the same facts, now and settings give the same plan.
func Recommend(f Facts, now time.Time, s Settings) Plan {
	table := ruleTable()
	st := derive(f, now, s, table)
	st.receptorNeeds()

	// Collect: every rule whose condition holds fires, in table order.
	for _, r := range table {
		if r.when(st) {
			st.out.fired[r.ID] = true
			r.then(st)
		}
	}
	st.freshness()

	// The final safety guard, separate from the rules.
	kept, removed := guard(st.out.options, st.out.flags, gatesOf(st))
	for _, r := range removed {
		// A running regimen is continued by policy, not proposed by a
		// guideline rule: when it breaks a safety gate, the guard takes it
		// out and the clinician is told to review it.
		if r.OptionID == "CONT-current" {
			st.message("warning", "The current regimen breaks a safety gate ("+r.Reason+"): review it now; no new line is proposed while it runs.", "CONT")
		}
	}
	return st.assemble(kept, removed)
}

// receptorNeeds lists what the receptor derivations need, and the
// hormone-receptor gate (section 8).
func (s *state) receptorNeeds() {
	// Without metastatic disease (C05) the receptors decide nothing here:
	// asking for them would be noise.
	if !s.metastatic() {
		return
	}
	for _, l := range [][]DataNeeded{s.er.needed, s.pr.needed, s.her2.needed} {
		for _, d := range l {
			s.need(d)
		}
	}
	if s.hr == "unknown" {
		blocking := s.her2.status != ReceptorPositive
		s.need(DataNeeded{ID: "hr-status", Item: "hormone-receptor status (ER and PR)",
			Why:    "Neither ER nor PR is positive and at least one is missing: the tumour is not called triple-negative and no endocrine or triple-negative regimen is proposed until the missing test is done.",
			Reason: "missing", Blocking: blocking, Rules: []string{"C01", "C02"}})
		if blocking && s.her2Known() {
			s.message("stop", "Hormone-receptor status unknown (neither ER nor PR positive, one missing): order the missing test; the tumour is never called triple-negative and no endocrine or triple-negative regimen is proposed meanwhile.", "C01")
		}
	}
}

// rank orders options: preferred first, then by the rules' priority, then
// by ID; ranks start at 1.
func (s *state) rank(opts []Option) {
	sort.SliceStable(opts, func(i, j int) bool {
		a, b := opts[i], opts[j]
		if a.Preferred != b.Preferred {
			return a.Preferred
		}
		if pa, pb := s.out.prio[a.ID], s.out.prio[b.ID]; pa != pb {
			return pa < pb
		}
		return a.ID < b.ID
	})
	for i := range opts {
		opts[i].Rank = i + 1
	}
}

func contains(list []string, x string) bool {
	for _, y := range list {
		if y == x {
			return true
		}
	}
	return false
}

// keepOnly drops references to removed options; an entry that only named
// removed options is dropped.
func keepOnly(ids []string, live map[string]bool) ([]string, bool) {
	if len(ids) == 0 {
		return ids, true
	}
	var out []string
	for _, id := range ids {
		if live[id] {
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out, len(out) > 0
}

func (s *state) assemble(kept []Option, removed []Removed) Plan {
	live := map[string]bool{}
	for _, o := range kept {
		live[o.ID] = true
	}
	var flags []Flag
	for _, f := range s.out.flags {
		had := len(f.Options) > 0
		ids, ok := keepOnly(f.Options, live)
		if had && !ok {
			continue
		}
		f.Options = ids
		f.Rules = sortedCopy(f.Rules)
		flags = append(flags, f)
	}
	flags = mergeFlags(flags)
	sort.SliceStable(flags, func(i, j int) bool {
		if flags[i].ID != flags[j].ID {
			return flags[i].ID < flags[j].ID
		}
		if flags[i].Kind != flags[j].Kind {
			return flags[i].Kind < flags[j].Kind
		}
		return flags[i].Text < flags[j].Text
	})
	items := func(in []Item) []Item {
		var out []Item
		for _, it := range in {
			had := len(it.Options) > 0
			ids, ok := keepOnly(it.Options, live)
			if had && !ok {
				continue
			}
			it.Options = ids
			out = append(out, it)
		}
		sort.SliceStable(out, func(i, j int) bool { return out[i].ID < out[j].ID })
		return out
	}
	monitoring := items(s.out.monitoring)

	s.rank(kept)
	for i := range kept {
		o := &kept[i]
		o.Rules = sortedCopy(o.Rules)
		for _, f := range flags {
			if contains(f.Options, o.ID) {
				o.Flags = append(o.Flags, f)
			}
		}
		for _, it := range monitoring {
			if contains(it.Options, o.ID) {
				o.Monitoring = append(o.Monitoring, it)
			}
		}
	}

	needed := append([]DataNeeded{}, s.out.needed...)
	sort.SliceStable(needed, func(i, j int) bool {
		if needed[i].Blocking != needed[j].Blocking {
			return needed[i].Blocking
		}
		return needed[i].ID < needed[j].ID
	})
	np := append([]NotProposed(nil), s.out.notProposed...)
	sort.SliceStable(np, func(i, j int) bool {
		if np[i].Drug != np[j].Drug {
			return np[i].Drug < np[j].Drug
		}
		return np[i].Reason < np[j].Reason
	})
	msgs := append([]Message(nil), s.out.messages...)
	level := map[string]int{"stop": 0, "warning": 1, "info": 2}
	sort.SliceStable(msgs, func(i, j int) bool { return level[msgs[i].Level] < level[msgs[j].Level] })
	var disc []Discordance
	disc = append(disc, s.er.disc...)
	disc = append(disc, s.pr.disc...)
	disc = append(disc, s.her2.disc...)
	var fired []string
	for id := range s.out.fired {
		fired = append(fired, id)
	}
	sort.Strings(fired)

	p := Plan{
		KnowledgeVersion: KnowledgeVersion,
		KnowledgeDate:    KnowledgeDate,
		Generated:        s.now.Format("2006-01-02"),
		Patient:          PatientSummary{Ref: s.f.Patient.Ref, Name: s.f.Patient.Name, Sex: s.f.Patient.Sex, Age: s.age},
		Subtype:          s.subtypeCall(),
		Menopause:        s.meno.call,
		Disease:          s.dis.call,
		Pregnancy:        s.pregnancyCall(),
		Regimens:         s.reg.toRegimens(),
		Options:          kept,
		Removed:          removed,
		NotProposed:      np,
		SafetyFlags:      flags,
		Monitoring:       monitoring,
		DataNeeded:       needed,
		Discordance:      disc,
		Lifestyle:        items(s.out.lifestyle),
		Trials:           items(s.out.trials),
		SharedDecision:   items(s.out.shared),
		Messages:         msgs,
		RulesFired:       fired,
		Statements:       s.f.Statements,
		Record:           s.f.Record,
	}
	if s.metastatic() {
		p.Line = s.line
	}
	if s.out.cont != nil && live["CONT-current"] {
		p.Continue = s.out.cont
	}
	return p
}

// severityOrder ranks severities for merging: the strongest wins.
var severityOrder = map[Severity]int{SeverityInfo: 0, SeverityCaution: 1, SeverityBlock: 2}

// mergeFlags gives every option at most one flag of each ID: flags of the
// same ID naming the same option (S06 neutropenia and the sacituzumab boxed
// warning; S08 diabetes, glucose above range and capivasertib; two
// allergies) become one flag for the options they share, with the
// strongest severity, every text and every rule. Plan-level flags (no
// options) are kept as they are.
func mergeFlags(in []Flag) []Flag {
	var out []Flag
	byID := map[string][]Flag{}
	var order []string
	for _, f := range in {
		if len(f.Options) == 0 {
			out = append(out, f)
			continue
		}
		if _, ok := byID[f.ID]; !ok {
			order = append(order, f.ID)
		}
		byID[f.ID] = append(byID[f.ID], f)
	}
	for _, id := range order {
		group := byID[id]
		if len(group) == 1 {
			out = append(out, group[0])
			continue
		}
		// Each option's signature is the set of flags naming it; options
		// with the same signature share one (merged) flag.
		sig := map[string][]int{}
		var opts []string
		for i, f := range group {
			for _, o := range f.Options {
				if _, ok := sig[o]; !ok {
					opts = append(opts, o)
				}
				sig[o] = append(sig[o], i)
			}
		}
		sort.Strings(opts)
		merged := map[string]*Flag{}
		var keys []string
		for _, o := range opts {
			key := fmt.Sprint(sig[o])
			if m, ok := merged[key]; ok {
				m.Options = append(m.Options, o)
				continue
			}
			m := Flag{ID: id, Options: []string{o}}
			for n, i := range sig[o] {
				f := group[i]
				if n == 0 {
					m.Kind, m.Severity, m.Text, m.Source = f.Kind, f.Severity, f.Text, f.Source
					m.Source.Refs = append([]string(nil), f.Refs...)
				} else {
					if severityOrder[f.Severity] > severityOrder[m.Severity] {
						m.Severity = f.Severity
					}
					if !strings.Contains(m.Text, f.Text) {
						m.Text += " " + f.Text
					}
					m.Refs = mergeRefs(m.Refs, f.Refs)
				}
				m.Rules = appendUnique(m.Rules, f.Rules...)
			}
			m.Rules = sortedCopy(m.Rules)
			merged[key] = &m
			keys = append(keys, key)
		}
		for _, k := range keys {
			out = append(out, *merged[k])
		}
	}
	return out
}

func sortedCopy(in []string) []string {
	out := append([]string(nil), in...)
	sort.Strings(out)
	return out
}

// subtypeCall renders the receptor calls (C01–C04).
func (s *state) subtypeCall() Subtype {
	st := Subtype{ER: s.er.call, PR: s.pr.call, HER2: s.her2.call, HER2Low: s.her2.low, HER2Ultralow: s.her2.ultralow,
		ERLow: s.erLow(), Name: s.subtype}
	hrBasis := "ER or PR positive"
	switch s.hr {
	case "negative":
		hrBasis = "ER and PR negative"
	case "unknown":
		hrBasis = "neither ER nor PR positive, and at least one missing"
	}
	st.HR = Call{Value: s.hr, Basis: hrBasis, Rules: []string{"C01"}}
	if s.hrCombined != nil {
		st.HR.Basis = "combined ER/PR result positive (LOINC 10480-2): ER or PR positive, which one not stated"
		st.HR.Source = s.hrCombined.Source
	}
	parts := []string{"ER " + s.er.call.Value, "PR " + s.pr.call.Value, "HER2 " + s.her2.call.Value}
	if s.her2.status == ReceptorNegative {
		parts = append(parts, "HER2-low "+s.her2.low.Value)
		if s.her2.low.Value == "no" {
			parts = append(parts, "HER2-ultralow "+s.her2.ultralow.Value)
		}
	}
	if st.ERLow {
		parts = append(parts, fmt.Sprintf("ER-low (%g%%)", *s.er.percent))
	}
	st.Summary = fmt.Sprintf("%s (%s)", s.subtype, strings.Join(parts, ", "))
	return st
}

// pregnancyCall renders the pregnancy status the rules used (S10).
func (s *state) pregnancyCall() Call {
	c := Call{Value: "unknown", Rules: []string{"S10"}}
	switch {
	case s.pregnant:
		c.Value, c.Basis, c.Source = "pregnant", "recorded within 280 days, no later not-pregnant result", s.pregnancySrc
	case s.notPregnantNow:
		c.Value, c.Basis = "not-pregnant", "not pregnant within 7 days"
	case s.pregnancyStale != nil:
		c.Value, c.Basis, c.Source = "stale", "not pregnant more than 7 days ago", *s.pregnancyStale
	}
	return c
}
