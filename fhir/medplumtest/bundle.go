package medplumtest

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
)

var (
	typePattern = regexp.MustCompile(`^[A-Z][A-Za-z]{1,63}$`)
	idPattern   = regexp.MustCompile(`^[A-Za-z0-9\-.]{1,64}$`)
)

// toTransaction turns a Bundle into a transaction of "PUT Type/id" entries
// whose references to other entries' fullUrls read "Type/id" (see
// LoadBundle). Error messages name entries by index only.
func toTransaction(data []byte) ([]byte, error) {
	var b struct {
		ResourceType string `json:"resourceType"`
		Entry        []struct {
			FullURL  string          `json:"fullUrl"`
			Resource json.RawMessage `json:"resource"`
			Request  *struct {
				Method string `json:"method"`
				URL    string `json:"url"`
			} `json:"request"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(data, &b); err != nil {
		return nil, errors.New("medplumtest: load bundle: malformed JSON")
	}
	if b.ResourceType != "Bundle" {
		return nil, errors.New("medplumtest: load bundle: not a Bundle")
	}
	type item struct {
		typ, id string
		doc     map[string]any // a generic tree: fixtures may be malformed on purpose
	}
	items := make([]item, 0, len(b.Entry))
	refs := map[string]string{} // fullUrl → Type/id
	for i, e := range b.Entry {
		var doc map[string]any
		if err := json.Unmarshal(e.Resource, &doc); err != nil || doc == nil {
			return nil, fmt.Errorf("medplumtest: load bundle: entry %d: no resource object", i)
		}
		typ, _ := doc["resourceType"].(string)
		if !typePattern.MatchString(typ) {
			return nil, fmt.Errorf("medplumtest: load bundle: entry %d: missing or invalid resourceType", i)
		}
		id, _ := doc["id"].(string)
		if id == "" && e.Request != nil && strings.EqualFold(e.Request.Method, "PUT") {
			if t, rid, ok := strings.Cut(strings.SplitN(e.Request.URL, "?", 2)[0], "/"); ok && t == typ {
				id = rid
			}
		}
		if id == "" {
			if u, ok := strings.CutPrefix(e.FullURL, "urn:uuid:"); ok {
				id = u
			} else if t, rid := lastTwo(e.FullURL); t == typ {
				id = rid
			}
		}
		if id == "" {
			id = rand.Text()
		}
		if !idPattern.MatchString(id) {
			return nil, fmt.Errorf("medplumtest: load bundle: entry %d: invalid id", i)
		}
		doc["id"] = id
		if e.FullURL != "" {
			refs[e.FullURL] = typ + "/" + id
		}
		items = append(items, item{typ, id, doc})
	}

	type request struct {
		Method string `json:"method"`
		URL    string `json:"url"`
	}
	type entry struct {
		Resource map[string]any `json:"resource"`
		Request  request        `json:"request"`
	}
	tx := struct {
		ResourceType string  `json:"resourceType"`
		Type         string  `json:"type"`
		Entry        []entry `json:"entry"`
	}{ResourceType: "Bundle", Type: "transaction", Entry: make([]entry, 0, len(items))}
	for _, it := range items {
		rewriteRefs(it.doc, refs)
		tx.Entry = append(tx.Entry, entry{it.doc, request{"PUT", it.typ + "/" + it.id}})
	}
	out, err := json.Marshal(tx)
	if err != nil {
		return nil, fmt.Errorf("medplumtest: load bundle: %v", err)
	}
	return out, nil
}

// lastTwo returns the last two segments of a reference or URL
// ("http://x/fhir/Patient/1/_history/2" → "Patient", "1").
func lastTwo(ref string) (typ, id string) {
	ref = strings.SplitN(ref, "?", 2)[0]
	if i := strings.Index(ref, "/_history/"); i >= 0 {
		ref = ref[:i]
	}
	parts := strings.Split(strings.TrimSuffix(ref, "/"), "/")
	if len(parts) < 2 {
		return "", ""
	}
	return parts[len(parts)-2], parts[len(parts)-1]
}

// rewriteRefs replaces every "reference" value found in refs.
func rewriteRefs(v any, refs map[string]string) {
	switch x := v.(type) {
	case map[string]any:
		for k, c := range x {
			if s, ok := c.(string); ok && k == "reference" {
				if r, ok := refs[s]; ok {
					x[k] = r
				}
				continue
			}
			rewriteRefs(c, refs)
		}
	case []any:
		for _, c := range x {
			rewriteRefs(c, refs)
		}
	}
}
