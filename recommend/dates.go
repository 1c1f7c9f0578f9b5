package recommend

import (
	"strings"
	"time"
)

// parseDate reads a FHIR date or dateTime (YYYY, YYYY-MM, YYYY-MM-DD or a
// full dateTime). A partial date reads as its first day. ok is false for an
// empty or unreadable value.
func parseDate(s string) (t time.Time, ok bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, false
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02", "2006-01", "2006"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// dayOf is the calendar day (UTC) of a date string, or "" when unreadable.
func dayOf(s string) string {
	t, ok := parseDate(s)
	if !ok {
		return ""
	}
	return t.Format("2006-01-02")
}

// daysBetween is the number of whole days from a to b (negative when b is
// before a).
func daysBetween(a, b time.Time) int {
	return int(b.Sub(a).Hours() / 24)
}

// ageAt is the age in whole years at now, or nil when the birth date is
// unknown or after now.
func ageAt(birth string, now time.Time) *int {
	b, ok := parseDate(birth)
	if !ok || b.After(now) {
		return nil
	}
	n := now.UTC()
	age := n.Year() - b.Year()
	if n.Month() < b.Month() || (n.Month() == b.Month() && n.Day() < b.Day()) {
		age--
	}
	return &age
}

// later reports whether date a is after date b; an unreadable date counts
// as the oldest.
func later(a, b string) bool {
	ta, _ := parseDate(a)
	tb, _ := parseDate(b)
	return ta.After(tb)
}
