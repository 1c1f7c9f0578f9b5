package smart

import (
	"fmt"
	"strings"
)

// resourceScope is a neutral resource scope: a resource type and permissions from "cruds".
type resourceScope struct {
	Type  string
	Perms string // subset of "cruds", in that order
}

const permOrder = "cruds"

// parseNeutralScope reads "Observation.rs", "CarePlan.cu", "Patient.read", "CarePlan.write".
func parseNeutralScope(s string) (resourceScope, error) {
	typ, perms, ok := strings.Cut(s, ".")
	if !ok || !isResourceType(typ) {
		return resourceScope{}, fmt.Errorf("scope %q: want ResourceType.permissions, e.g. Observation.rs", s)
	}
	switch perms {
	case "read":
		perms = "rs"
	case "write":
		perms = "cud"
	}
	if perms == "" {
		return resourceScope{}, fmt.Errorf("scope %q: no permissions", s)
	}
	last := -1
	for _, p := range perms {
		i := strings.IndexRune(permOrder, p)
		if i < 0 || i <= last {
			return resourceScope{}, fmt.Errorf("scope %q: permissions must be letters of %q in that order", s, permOrder)
		}
		last = i
	}
	return resourceScope{Type: typ, Perms: perms}, nil
}

func isResourceType(s string) bool {
	if s == "" || len(s) > 64 || s[0] < 'A' || s[0] > 'Z' {
		return false
	}
	for _, r := range s {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// v1 renders the scope in SMART v1 syntax (one or two scopes).
func (rs resourceScope) v1(ctx string) []string {
	var out []string
	if strings.ContainsAny(rs.Perms, "rs") {
		out = append(out, ctx+"/"+rs.Type+".read")
	}
	if strings.ContainsAny(rs.Perms, "cud") {
		out = append(out, ctx+"/"+rs.Type+".write")
	}
	return out
}

func (rs resourceScope) v2(ctx string) string { return ctx + "/" + rs.Type + "." + rs.Perms }

// scopeRequest builds the scope list for an authorize request.
func scopeRequest(e *EHR, cfg *Configuration, standalone bool) []string {
	var out []string
	if standalone {
		out = append(out, "launch/patient")
	} else {
		out = append(out, "launch")
	}
	out = append(out, "openid", "fhirUser")
	if e.OfflineAccess {
		out = append(out, "offline_access")
	} else if len(cfg.ScopesSupported) == 0 || contains(cfg.ScopesSupported, "online_access") {
		out = append(out, "online_access")
	}
	v2 := cfg.Supports("permission-v2")
	seen := map[string]bool{}
	for _, s := range e.Scopes {
		rs, err := parseNeutralScope(s)
		if err != nil { // validated in New
			continue
		}
		var ss []string
		if v2 {
			ss = []string{rs.v2("patient")}
		} else {
			ss = rs.v1("patient")
		}
		for _, x := range ss {
			if !seen[x] {
				seen[x] = true
				out = append(out, x)
			}
		}
	}
	return out
}

// allows reports whether the granted scopes permit perm ('c','r','u','d' or 's')
// on resourceType, in v1 or v2 syntax, for any context (patient, user, system).
func allows(granted []string, resourceType string, perm byte) bool {
	for _, s := range granted {
		s, _, _ = strings.Cut(s, "?") // v2 scopes may carry search parameters
		ctx, rest, ok := strings.Cut(s, "/")
		if !ok || (ctx != "patient" && ctx != "user" && ctx != "system") {
			continue
		}
		typ, perms, ok := strings.Cut(rest, ".")
		if !ok || (typ != resourceType && typ != "*") {
			continue
		}
		switch perms {
		case "*":
			return true
		case "read":
			if perm == 'r' || perm == 's' {
				return true
			}
		case "write":
			if perm == 'c' || perm == 'u' || perm == 'd' {
				return true
			}
		default:
			if strings.IndexByte(perms, perm) >= 0 && strings.Trim(perms, permOrder) == "" {
				return true
			}
		}
	}
	return false
}

// scopeWarnings names the requested resource permissions the EHR did not grant.
func scopeWarnings(e *EHR, granted []string) []string {
	var out []string
	for _, s := range e.Scopes {
		rs, err := parseNeutralScope(s)
		if err != nil {
			continue
		}
		var read, write []string
		for i := 0; i < len(rs.Perms); i++ {
			p := rs.Perms[i]
			if allows(granted, rs.Type, p) {
				continue
			}
			if p == 'r' || p == 's' {
				read = append(read, permName(p))
			} else {
				write = append(write, permName(p))
			}
		}
		if len(write) > 0 {
			out = append(out, fmt.Sprintf("%s: write access not granted (%s)", rs.Type, strings.Join(write, ", ")))
		}
		if len(read) > 0 {
			out = append(out, fmt.Sprintf("%s: read access not granted (%s)", rs.Type, strings.Join(read, ", ")))
		}
	}
	return out
}

func permName(p byte) string {
	switch p {
	case 'c':
		return "create"
	case 'r':
		return "read"
	case 'u':
		return "update"
	case 'd':
		return "delete"
	case 's':
		return "search"
	}
	return string(p)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
