package smarttest

import (
	"slices"
	"strings"
)

// identityScope reports whether sc is a scope outside the resource grammar
// that a user-facing authorization may be granted.
func identityScope(sc string) bool {
	switch sc {
	case "openid", "fhirUser", "profile",
		"launch", "launch/patient", "launch/encounter",
		"offline_access", "online_access":
		return true
	}
	return false
}

// scopesSupported is advertised in the discovery documents.
func scopesSupported() []string {
	return []string{
		"openid", "fhirUser", "profile",
		"launch", "launch/patient", "launch/encounter",
		"offline_access", "online_access",
		"patient/*.read", "patient/*.rs", "patient/*.cruds", "patient/*.*",
		"user/*.read", "user/*.rs", "user/*.cruds", "user/*.*",
		"system/*.read", "system/*.rs", "system/*.cruds", "system/*.*",
	}
}

// grantScopes keeps, in order and once each, the requested scopes the
// server supports. For a user-facing authorization (system false) those
// are the identity and launch scopes and patient/ and user/ resource
// scopes; for backend services (system true) only system/ resource scopes.
func grantScopes(requested string, system bool) []string {
	var granted []string
	for _, sc := range strings.Fields(requested) {
		if slices.Contains(granted, sc) {
			continue
		}
		ok := false
		if system {
			ok = resourceScope(sc, "system")
		} else {
			ok = identityScope(sc) || resourceScope(sc, "patient") || resourceScope(sc, "user")
		}
		if ok {
			granted = append(granted, sc)
		}
	}
	return granted
}

// resourceScope reports whether sc is a SMART v1 or v2 resource scope of
// the given level: level/(*|Type).(read|write|*|cruds subset)[?query].
func resourceScope(sc, level string) bool {
	rest, ok := strings.CutPrefix(sc, level+"/")
	if !ok {
		return false
	}
	typ, perm, ok := strings.Cut(rest, ".")
	if !ok || !resourceType(typ) {
		return false
	}
	perm, query, hasQuery := strings.Cut(perm, "?")
	switch perm {
	case "read", "write", "*":
		return !hasQuery
	}
	if hasQuery && (query == "" || strings.ContainsAny(query, " \t")) {
		return false
	}
	return v2Permissions(perm)
}

func resourceType(t string) bool {
	if t == "*" {
		return true
	}
	if len(t) == 0 || len(t) > 64 || t[0] < 'A' || t[0] > 'Z' {
		return false
	}
	for _, c := range t {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// v2Permissions reports whether p is a non-empty subsequence of "cruds".
func v2Permissions(p string) bool {
	if p == "" {
		return false
	}
	i := 0
	for _, c := range p {
		j := strings.IndexRune("cruds"[i:], c)
		if j < 0 {
			return false
		}
		i += j + 1
	}
	return true
}
