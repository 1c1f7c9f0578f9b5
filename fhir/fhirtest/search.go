package fhirtest

import (
	"errors"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// paramKind is the FHIR search parameter type the server implements.
type paramKind int

const (
	kindToken paramKind = iota
	kindReference
	kindDate
	kindID
)

// paramDef says where a search parameter looks in a resource.
type paramDef struct {
	kind    paramKind
	paths   []string // dotted element paths; arrays are walked at every step
	refType string   // for references: the type a bare id refers to ("" = any)
}

// datePaths are the elements a "date" search and _sort=date look at, in order.
func datePaths() []string {
	return []string{
		"effectiveDateTime", "effectivePeriod.start", "effectiveInstant",
		"onsetDateTime", "onsetPeriod.start", "authoredOn", "date",
		"performedDateTime", "performedPeriod.start", "period.start",
	}
}

// compartmentPaths are the references that make a resource "about" a patient.
func compartmentPaths() []string { return []string{"subject", "patient", "beneficiary"} }

// lookupParam returns the definition of a supported search parameter.
// Parameters it does not know are ignored by the server, as real servers do.
func lookupParam(typ, name string) (paramDef, bool) {
	switch name {
	case "_id":
		return paramDef{kind: kindID}, true
	case "_lastUpdated":
		return paramDef{kind: kindDate, paths: []string{"meta.lastUpdated"}}, true
	case "patient":
		if typ == "Patient" {
			return paramDef{}, false
		}
		return paramDef{kind: kindReference, paths: compartmentPaths(), refType: "Patient"}, true
	case "subject":
		return paramDef{kind: kindReference, paths: []string{"subject"}}, true
	case "encounter":
		return paramDef{kind: kindReference, paths: []string{"encounter", "context.encounter"}, refType: "Encounter"}, true
	case "based-on":
		return paramDef{kind: kindReference, paths: []string{"basedOn"}}, true
	case "target":
		return paramDef{kind: kindReference, paths: []string{"target"}}, true
	case "code":
		return paramDef{kind: kindToken, paths: []string{"code", "medicationCodeableConcept", "vaccineCode"}}, true
	case "category":
		return paramDef{kind: kindToken, paths: []string{"category"}}, true
	case "clinical-status":
		return paramDef{kind: kindToken, paths: []string{"clinicalStatus"}}, true
	case "verification-status":
		return paramDef{kind: kindToken, paths: []string{"verificationStatus"}}, true
	case "status":
		return paramDef{kind: kindToken, paths: []string{"status"}}, true
	case "intent":
		return paramDef{kind: kindToken, paths: []string{"intent"}}, true
	case "type":
		return paramDef{kind: kindToken, paths: []string{"type"}}, true
	case "identifier":
		return paramDef{kind: kindToken, paths: []string{"identifier"}}, true
	case "date":
		return paramDef{kind: kindDate, paths: datePaths()}, true
	case "onset-date":
		return paramDef{kind: kindDate, paths: []string{"onsetDateTime", "onsetPeriod.start"}}, true
	case "recorded-date":
		return paramDef{kind: kindDate, paths: []string{"recordedDate"}}, true
	case "authoredon":
		return paramDef{kind: kindDate, paths: []string{"authoredOn"}}, true
	}
	return paramDef{}, false
}

// searchParamsOf lists the parameters advertised in the CapabilityStatement.
func searchParamsOf(typ string) []string {
	common := []string{"_id", "_lastUpdated"}
	var p []string
	switch typ {
	case "Patient", "Practitioner":
		p = []string{"identifier"}
	case "Observation":
		p = []string{"patient", "subject", "code", "category", "status", "date", "identifier", "encounter"}
	case "Condition":
		p = []string{"patient", "subject", "code", "category", "clinical-status", "verification-status", "onset-date", "recorded-date", "identifier", "encounter"}
	case "MedicationRequest":
		p = []string{"patient", "subject", "code", "category", "status", "intent", "authoredon", "identifier", "encounter"}
	case "MedicationStatement", "MedicationAdministration":
		p = []string{"patient", "subject", "code", "status", "date", "identifier"}
	case "Procedure":
		p = []string{"patient", "subject", "code", "category", "status", "date", "identifier", "encounter"}
	case "AllergyIntolerance":
		p = []string{"patient", "code", "category", "clinical-status", "verification-status", "date"}
	case "CarePlan":
		p = []string{"patient", "subject", "category", "status", "intent", "date", "identifier", "encounter", "based-on"}
	case "DocumentReference":
		p = []string{"patient", "subject", "category", "type", "status", "date", "identifier", "encounter"}
	case "Encounter":
		p = []string{"patient", "subject", "status", "date", "type", "identifier"}
	case "Provenance":
		p = []string{"patient", "target"}
	default:
		p = []string{"patient", "subject", "code", "status", "identifier"}
	}
	return append(common, p...)
}

func kindName(k paramKind) string {
	switch k {
	case kindReference:
		return "reference"
	case kindDate:
		return "date"
	default:
		return "token"
	}
}

// filter is one search parameter occurrence: the resource must match one of
// its values. Several filters are ANDed.
type filter struct {
	name   string
	def    paramDef
	values []string
}

type sortKey struct {
	date bool // false: _lastUpdated
	desc bool
}

// query is a parsed search.
type query struct {
	filters      []filter
	sort         []sortKey
	count        int // -1: not given
	offset       int
	summaryCount bool
}

// maxOffset bounds _offset, so that offset arithmetic cannot overflow.
const maxOffset = 1 << 20

// errBadParam is a search parameter value the server cannot understand.
var errBadParam = errors.New("invalid search parameter value")

// parseQuery parses a search query for resources of type typ. With
// ignorePatient, patient and subject parameters are dropped (a misbehaving
// server).
func parseQuery(typ string, q url.Values, ignorePatient bool) (query, error) {
	out := query{count: -1}
	names := make([]string, 0, len(q))
	for name := range q {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		vals := q[name]
		switch name {
		case "_count":
			n, err := strconv.Atoi(vals[len(vals)-1])
			if err != nil || n < 0 {
				return query{}, errBadParam
			}
			out.count = n
			continue
		case "_offset":
			n, err := strconv.Atoi(vals[len(vals)-1])
			if err != nil || n < 0 || n > maxOffset {
				return query{}, errBadParam
			}
			out.offset = n
			continue
		case "_summary":
			out.summaryCount = vals[len(vals)-1] == "count"
			continue
		case "_sort":
			for _, v := range vals {
				for _, k := range strings.Split(v, ",") {
					desc := strings.HasPrefix(k, "-")
					switch strings.TrimPrefix(k, "-") {
					case "date":
						out.sort = append(out.sort, sortKey{date: true, desc: desc})
					case "_lastUpdated":
						out.sort = append(out.sort, sortKey{desc: desc})
					}
				}
			}
			continue
		}
		if ignorePatient && (name == "patient" || name == "subject") {
			continue
		}
		def, ok := lookupParam(typ, name)
		if !ok {
			continue // unknown parameters and modifiers are ignored
		}
		for _, v := range vals {
			f := filter{name: name, def: def, values: strings.Split(v, ",")}
			if def.kind == kindDate {
				for _, dv := range f.values {
					if _, _, _, err := parseDateParam(dv); err != nil {
						return query{}, errBadParam
					}
				}
			}
			out.filters = append(out.filters, f)
		}
	}
	return out, nil
}

// match reports whether doc (of resource id) satisfies every filter.
func (q query) match(id string, doc map[string]any) bool {
	for _, f := range q.filters {
		if !f.match(id, doc) {
			return false
		}
	}
	return true
}

func (f filter) match(id string, doc map[string]any) bool {
	if f.def.kind == kindID {
		return slices.Contains(f.values, id)
	}
	var nodes []any
	for _, p := range f.def.paths {
		nodes = append(nodes, collect(doc, strings.Split(p, "."))...)
	}
	for _, v := range f.values {
		for _, n := range nodes {
			var ok bool
			switch f.def.kind {
			case kindToken:
				ok = matchToken(v, n)
			case kindReference:
				ok = matchReference(v, f.def.refType, n)
			case kindDate:
				ok = matchDate(v, n)
			}
			if ok {
				return true
			}
		}
	}
	return false
}

// collect returns the values at path under v, walking arrays.
func collect(v any, path []string) []any {
	if arr, ok := v.([]any); ok {
		var out []any
		for _, e := range arr {
			out = append(out, collect(e, path)...)
		}
		return out
	}
	if len(path) == 0 {
		if v == nil {
			return nil
		}
		return []any{v}
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	return collect(m[path[0]], path[1:])
}

// matchToken matches a token parameter value (code, system|code, |code,
// system|) against a code, Coding, CodeableConcept or Identifier.
func matchToken(param string, node any) bool {
	system, code, hasSystem := strings.Cut(param, "|")
	if !hasSystem {
		code, system = system, ""
	}
	match := func(sys, c string) bool {
		if hasSystem && sys != system {
			return false
		}
		return code == "" || c == code
	}
	switch n := node.(type) {
	case string:
		return code != "" && n == code
	case map[string]any:
		if codings, ok := n["coding"].([]any); ok {
			for _, c := range codings {
				if cm, ok := c.(map[string]any); ok {
					sys, _ := cm["system"].(string)
					cc, _ := cm["code"].(string)
					if match(sys, cc) {
						return true
					}
				}
			}
			return false
		}
		sys, _ := n["system"].(string)
		if c, ok := n["code"].(string); ok {
			return match(sys, c)
		}
		if v, ok := n["value"].(string); ok {
			return match(sys, v)
		}
	}
	return false
}

// normalizeRef turns a reference parameter value into "Type/id", or "/id"
// when the type is unknown.
func normalizeRef(param, refType string) string {
	if !strings.Contains(param, "/") {
		return refType + "/" + param
	}
	t, id := lastTwo(param)
	return t + "/" + id
}

func matchReference(param, refType string, node any) bool {
	m, ok := node.(map[string]any)
	if !ok {
		return false
	}
	ref, _ := m["reference"].(string)
	if ref == "" {
		return false
	}
	t, id := lastTwo(ref)
	want := normalizeRef(param, refType)
	if strings.HasPrefix(want, "/") {
		return "/"+id == want
	}
	if refType != "" && t != refType {
		return false
	}
	return t+"/"+id == want
}

// parseDateParam splits a prefixed date value ("ge2020-01-01") into its
// prefix and the half-open range [lo, hi) its precision covers.
func parseDateParam(v string) (prefix string, lo, hi time.Time, err error) {
	prefix = "eq"
	if len(v) >= 2 {
		switch v[:2] {
		case "eq", "ne", "gt", "lt", "ge", "le", "sa", "eb":
			prefix, v = v[:2], v[2:]
		}
	}
	lo, hi, err = dateRange(v)
	return prefix, lo, hi, err
}

// dateRange returns the half-open range covered by a FHIR date, dateTime or
// instant. A dateTime without a zone is read as UTC.
func dateRange(v string) (lo, hi time.Time, err error) {
	layouts := []struct {
		layout string
		span   func(time.Time) time.Time
	}{
		{"2006", func(t time.Time) time.Time { return t.AddDate(1, 0, 0) }},
		{"2006-01", func(t time.Time) time.Time { return t.AddDate(0, 1, 0) }},
		{"2006-01-02", func(t time.Time) time.Time { return t.AddDate(0, 0, 1) }},
		{"2006-01-02T15:04Z07:00", func(t time.Time) time.Time { return t.Add(time.Minute) }},
		{"2006-01-02T15:04", func(t time.Time) time.Time { return t.Add(time.Minute) }},
		{time.RFC3339Nano, func(t time.Time) time.Time { return t.Add(time.Second) }},
		{"2006-01-02T15:04:05.999999999", func(t time.Time) time.Time { return t.Add(time.Second) }},
	}
	for _, l := range layouts {
		if t, err := time.Parse(l.layout, v); err == nil {
			if l.layout == time.RFC3339Nano || strings.HasPrefix(l.layout, "2006-01-02T15:04:05") {
				t = t.Truncate(time.Second)
			}
			return t, l.span(t), nil
		}
	}
	return time.Time{}, time.Time{}, errBadParam
}

func matchDate(param string, node any) bool {
	s, ok := node.(string)
	if !ok {
		return false
	}
	rlo, rhi, err := dateRange(s)
	if err != nil {
		return false
	}
	prefix, lo, hi, err := parseDateParam(param)
	if err != nil {
		return false
	}
	within := !rlo.Before(lo) && !rhi.After(hi)
	switch prefix {
	case "eq":
		return within
	case "ne":
		return !within
	case "gt":
		return rhi.After(hi)
	case "lt":
		return rlo.Before(lo)
	case "ge":
		return rhi.After(hi) || within
	case "le":
		return rlo.Before(lo) || within
	case "sa":
		return !rlo.Before(hi)
	case "eb":
		return !rhi.After(lo)
	}
	return false
}

// sortDate returns the first date of doc along paths, for sorting.
func sortDate(doc map[string]any, paths []string) (time.Time, bool) {
	for _, p := range paths {
		for _, n := range collect(doc, strings.Split(p, ".")) {
			if s, ok := n.(string); ok {
				if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
					return t, true
				}
				if lo, _, err := dateRange(s); err == nil {
					return lo, true
				}
			}
		}
	}
	return time.Time{}, false
}

// sortHits orders hits by the query's sort keys; ties keep insertion order.
func (q query) sortHits(hits []hit) {
	if len(q.sort) == 0 {
		return
	}
	slices.SortStableFunc(hits, func(a, b hit) int {
		for _, k := range q.sort {
			paths := datePaths()
			if !k.date {
				paths = []string{"meta.lastUpdated"}
			}
			ta, oka := sortDate(a.doc, paths)
			tb, okb := sortDate(b.doc, paths)
			switch {
			case oka != okb: // missing dates last, whatever the direction
				if oka {
					return -1
				}
				return 1
			case !oka:
				continue
			}
			c := ta.Compare(tb)
			if k.desc {
				c = -c
			}
			if c != 0 {
				return c
			}
		}
		return 0
	})
}

// hit is a search match: the current version and its decoded form.
type hit struct {
	res Resource
	doc map[string]any
	seq uint64
}

// search returns the current resources of type typ that match, in
// insertion order.
func (s *Store) search(typ string, match func(id string, doc map[string]any) bool) []hit {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.searchLocked(typ, match)
}

func (s *Store) searchLocked(typ string, match func(id string, doc map[string]any) bool) []hit {
	var out []hit
	for _, rec := range s.byType[typ] {
		if match(rec.id, rec.doc) {
			out = append(out, hit{res: rec.current(), doc: rec.doc, seq: rec.seq})
		}
	}
	return out
}
