package fhir

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// bundleEnvelope is the part of a Bundle the reader needs; entries are
// decoded one at a time later.
type bundleEnvelope struct {
	ResourceType string `json:"resourceType"`
	Type         string `json:"type"`
	Link         []struct {
		Relation string `json:"relation"`
		URL      string `json:"url"`
	} `json:"link"`
	Entry []bundleEntry `json:"entry"`
}

type bundleEntry struct {
	FullURL  string          `json:"fullUrl"`
	Resource json.RawMessage `json:"resource"`
	Search   *struct {
		Mode string `json:"mode"`
	} `json:"search"`
}

// Search runs typ?q and follows the Bundle's next links (absolute or
// relative, on the same server only) up to the page cap. Values in q are
// percent-encoded. Past the cap it returns the results read so far together
// with an error wrapping ErrPageLimit. OperationOutcome entries (search mode
// "outcome") are left out.
func (c *Client) Search(ctx context.Context, typ string, q url.Values) ([]Resource, error) {
	if !validType(typ) {
		return nil, errors.New("fhir: search: invalid resource type")
	}
	if c.pageSize > 0 && q.Get("_count") == "" {
		q2 := url.Values{}
		for k, v := range q {
			q2[k] = v
		}
		q2.Set("_count", strconv.Itoa(c.pageSize))
		q = q2
	}
	next := c.resourceURL(typ, "", q)
	seen := map[string]bool{}
	var out []Resource
	for page := 0; next != ""; page++ {
		if page >= c.maxPages {
			return out, fmt.Errorf("fhir: search %s: %w (%d pages)", typ, ErrPageLimit, c.maxPages)
		}
		if seen[next] {
			return out, fmt.Errorf("fhir: search %s: the server's next link repeats a page", typ)
		}
		seen[next] = true
		resp, err := c.get(ctx, typ, next)
		if err != nil {
			return nil, err
		}
		var b bundleEnvelope
		if err := json.Unmarshal(resp.body, &b); err != nil || b.ResourceType != "Bundle" {
			return nil, fmt.Errorf("fhir: search %s: the answer is not a Bundle", typ)
		}
		for _, e := range b.Entry {
			if e.Search != nil && e.Search.Mode == "outcome" {
				continue
			}
			r, err := parseResource(e.Resource)
			if err != nil {
				// Kept with an empty type: the record builder lists it as skipped.
				r = &Resource{Raw: e.Resource}
			}
			if r.Type == "OperationOutcome" {
				continue
			}
			r.FullURL = e.FullURL
			if e.Search != nil {
				r.Mode = e.Search.Mode
			}
			out = append(out, *r)
		}
		next = ""
		for _, l := range b.Link {
			if l.Relation == "next" && l.URL != "" {
				n, err := c.nextURL(resp.url, l.URL)
				if err != nil {
					return nil, fmt.Errorf("fhir: search %s: %w", typ, err)
				}
				next = n
				break
			}
		}
	}
	return out, nil
}

// nextURL resolves a next link against the page it came from and keeps it
// on the FHIR server: the client carries a token. A link naming another
// host (a server behind a proxy that reports its internal name) is sent to
// the base's host when its path lies under the base path; otherwise it is
// refused.
func (c *Client) nextURL(page, link string) (string, error) {
	pu, err := url.Parse(page)
	if err != nil {
		return "", errors.New("invalid page URL")
	}
	lu, err := url.Parse(link)
	if err != nil {
		return "", errors.New("the next link is not a valid URL")
	}
	u := pu.ResolveReference(lu)
	if u.User != nil {
		return "", errors.New("the next link leaves the FHIR server")
	}
	if u.Scheme != c.base.Scheme || u.Host != c.base.Host {
		bp := strings.TrimRight(c.base.Path, "/")
		if u.Path != bp && !strings.HasPrefix(u.Path, bp+"/") {
			return "", errors.New("the next link leaves the FHIR server")
		}
		u.Scheme, u.Host = c.base.Scheme, c.base.Host
	}
	u.Fragment = ""
	return u.String(), nil
}

// Capabilities is the part of the server's CapabilityStatement the app uses.
type Capabilities struct {
	FHIRVersion string
	// Resources maps a resource type to what the server supports for it.
	Resources map[string]ResourceCapabilities
}

// ResourceCapabilities lists one resource type's supported interactions.
type ResourceCapabilities struct {
	// Interactions are the codes as written: read, vread, update, create,
	// search-type, …
	Interactions      []string
	ConditionalCreate bool
	ConditionalUpdate bool
	SearchParams      []string
}

// Capabilities reads and parses GET [base]/metadata.
func (c *Client) Capabilities(ctx context.Context) (*Capabilities, error) {
	resp, err := c.get(ctx, "CapabilityStatement", c.resourceURL("metadata", "", nil))
	if err != nil {
		return nil, err
	}
	var cs struct {
		ResourceType string `json:"resourceType"`
		FHIRVersion  string `json:"fhirVersion"`
		Rest         []struct {
			Mode     string `json:"mode"`
			Resource []struct {
				Type        string `json:"type"`
				Interaction []struct {
					Code string `json:"code"`
				} `json:"interaction"`
				ConditionalCreate bool `json:"conditionalCreate"`
				ConditionalUpdate bool `json:"conditionalUpdate"`
				SearchParam       []struct {
					Name string `json:"name"`
				} `json:"searchParam"`
			} `json:"resource"`
		} `json:"rest"`
	}
	if err := json.Unmarshal(resp.body, &cs); err != nil || cs.ResourceType != "CapabilityStatement" {
		return nil, errors.New("fhir: metadata: the answer is not a CapabilityStatement")
	}
	out := &Capabilities{FHIRVersion: cs.FHIRVersion, Resources: map[string]ResourceCapabilities{}}
	for _, rest := range cs.Rest {
		if rest.Mode != "" && rest.Mode != "server" {
			continue
		}
		for _, r := range rest.Resource {
			rc := out.Resources[r.Type]
			for _, in := range r.Interaction {
				rc.Interactions = append(rc.Interactions, in.Code)
			}
			for _, sp := range r.SearchParam {
				rc.SearchParams = append(rc.SearchParams, sp.Name)
			}
			rc.ConditionalCreate = rc.ConditionalCreate || r.ConditionalCreate
			rc.ConditionalUpdate = rc.ConditionalUpdate || r.ConditionalUpdate
			out.Resources[r.Type] = rc
		}
	}
	return out, nil
}

// Supports reports whether the server declares interaction on typ:
// "read", "vread", "create", "update", "search-type", … plus
// "conditional-create" and "conditional-update". A nil Capabilities
// supports nothing.
func (cs *Capabilities) Supports(typ, interaction string) bool {
	if cs == nil {
		return false
	}
	rc, ok := cs.Resources[typ]
	if !ok {
		return false
	}
	switch interaction {
	case "conditional-create":
		return rc.ConditionalCreate && rc.has("create")
	case "conditional-update":
		return rc.ConditionalUpdate && rc.has("update")
	}
	return rc.has(interaction)
}

func (rc ResourceCapabilities) has(code string) bool {
	for _, in := range rc.Interactions {
		if in == code {
			return true
		}
	}
	return false
}
