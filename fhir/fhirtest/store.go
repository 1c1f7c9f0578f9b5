package fhirtest

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Resource is one stored version of a FHIR resource, as generic JSON.
type Resource struct {
	Type        string
	ID          string
	VersionID   string
	LastUpdated time.Time
	JSON        []byte // the resource with meta.versionId and meta.lastUpdated set
}

// Ref returns the relative reference "Type/id".
func (r Resource) Ref() string { return r.Type + "/" + r.ID }

// Store is an in-memory, concurrency-safe store of versioned FHIR resources.
// Resources are kept as generic JSON; a Store knows nothing about profiles.
// The zero value is not usable: call NewStore.
type Store struct {
	now func() time.Time

	mu      sync.RWMutex
	seq     uint64
	records map[string]*record   // keyed by "Type/id"
	byType  map[string][]*record // in insertion order
}

type record struct {
	typ, id  string
	seq      uint64         // insertion order, for a stable default sort
	versions []Resource     // oldest first
	doc      map[string]any // decoded current version; never mutated once stored
}

func (rec *record) current() Resource { return rec.versions[len(rec.versions)-1] }

// NewStore returns an empty store whose lastUpdated times come from time.Now.
func NewStore() *Store { return NewStoreClock(time.Now) }

// NewStoreClock returns an empty store whose lastUpdated times come from now.
func NewStoreClock(now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{now: now, records: map[string]*record{}, byType: map[string][]*record{}}
}

var (
	typePattern = regexp.MustCompile(`^[A-Z][A-Za-z]{1,63}$`)
	idPattern   = regexp.MustCompile(`^[A-Za-z0-9\-.]{1,64}$`)
)

func validType(t string) bool { return typePattern.MatchString(t) }
func validID(id string) bool  { return idPattern.MatchString(id) }

// newID returns a random resource id (32 hex digits).
func newID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("fhirtest: random id: %v", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// decodeObject decodes one JSON object, keeping numbers as written.
func decodeObject(data []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		return nil, errors.New("malformed JSON")
	}
	if doc == nil {
		return nil, errors.New("not a JSON object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("malformed JSON: data after the resource")
	}
	return doc, nil
}

// marshal encodes v as JSON without escaping <, > and &: FHIR clients that
// compare raw bytes (a comparator "<" read as "\u003c") must see them as
// written.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// Put stores a resource as given, creating it or adding a version. A resource
// without an id is given a random one.
func (s *Store) Put(data []byte) (Resource, error) {
	doc, err := decodeObject(data)
	if err != nil {
		return Resource{}, fmt.Errorf("fhirtest: put: %v", err)
	}
	typ, _ := doc["resourceType"].(string)
	if !validType(typ) {
		return Resource{}, errors.New("fhirtest: put: missing or invalid resourceType")
	}
	id, _ := doc["id"].(string)
	if id == "" {
		if id, err = newID(); err != nil {
			return Resource{}, err
		}
	}
	if !validID(id) {
		return Resource{}, errors.New("fhirtest: put: invalid id")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.putLocked(typ, id, doc)
}

// putLocked stores doc as the next version of typ/id. It sets id and meta;
// doc must not be used by the caller afterwards. s.mu must be held.
func (s *Store) putLocked(typ, id string, doc map[string]any) (Resource, error) {
	key := typ + "/" + id
	rec := s.records[key]
	vid := "1"
	if rec != nil {
		n, err := strconv.Atoi(rec.current().VersionID)
		if err != nil {
			n = len(rec.versions)
		}
		vid = strconv.Itoa(n + 1)
	}
	now := s.now().UTC().Truncate(time.Millisecond)
	meta := map[string]any{}
	if m, ok := doc["meta"].(map[string]any); ok {
		for k, v := range m {
			meta[k] = v
		}
	}
	meta["versionId"] = vid
	meta["lastUpdated"] = now.Format(instantLayout)
	doc["meta"] = meta
	doc["id"] = id
	raw, err := marshal(doc)
	if err != nil {
		return Resource{}, fmt.Errorf("fhirtest: encode resource: %v", err)
	}
	res := Resource{Type: typ, ID: id, VersionID: vid, LastUpdated: now, JSON: raw}
	if rec == nil {
		s.seq++
		rec = &record{typ: typ, id: id, seq: s.seq}
		s.records[key] = rec
		s.byType[typ] = append(s.byType[typ], rec)
	}
	rec.versions = append(rec.versions, res)
	rec.doc = doc
	return res, nil
}

const instantLayout = "2006-01-02T15:04:05.000Z07:00"

// Get returns the current version of typ/id.
func (s *Store) Get(typ, id string) (Resource, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	rec := s.records[typ+"/"+id]
	if rec == nil {
		return Resource{}, false
	}
	return rec.current(), true
}

// Version returns version vid of typ/id.
func (s *Store) Version(typ, id, vid string) (Resource, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	rec := s.records[typ+"/"+id]
	if rec == nil {
		return Resource{}, false
	}
	for _, v := range rec.versions {
		if v.VersionID == vid {
			return v, true
		}
	}
	return Resource{}, false
}

// Resources returns the current version of every resource of type typ, in
// the order they were first stored.
func (s *Store) Resources(typ string) []Resource {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]Resource, 0, len(s.byType[typ]))
	for _, rec := range s.byType[typ] {
		out = append(out, rec.current())
	}
	return out
}

// Types returns the resource types held, in no particular order.
func (s *Store) Types() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]string, 0, len(s.byType))
	for t := range s.byType {
		out = append(out, t)
	}
	return out
}

// LoadBundle stores every resource of a Bundle (collection, transaction,
// batch or searchset). Ids given in the resources are kept; a resource
// without one takes it from a PUT request URL "Type/id", or from a fullUrl
// "urn:uuid:X" (X) or ".../Type/id", or else a random one. References to
// an entry's fullUrl are rewritten to "Type/id". Nothing is stored unless
// the whole bundle is valid. Error messages name entries by index only.
func (s *Store) LoadBundle(data []byte) error {
	entries, err := BundleEntries(data)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range entries {
		if _, err := s.putLocked(e.Type, e.ID, e.Doc); err != nil {
			return err
		}
	}
	return nil
}

// BundleEntry is one resource of a Bundle as a server stores it.
type BundleEntry struct {
	Type, ID string
	// Doc is the resource as a generic tree (fixtures may be malformed on
	// purpose), with its id set and references to other entries rewritten.
	Doc map[string]any
}

// BundleEntries reads a Bundle's resources as a server loads them: each
// keeps its id, or takes it from a PUT request URL, its urn:uuid or its
// fullUrl (a new one otherwise), and references to other entries' fullUrls
// become "Type/id". Every server the tests load (this one, Medplum) gets
// the same record this way. Errors name entries by index only.
func BundleEntries(data []byte) ([]BundleEntry, error) {
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
		return nil, errors.New("fhirtest: load bundle: malformed JSON")
	}
	if b.ResourceType != "Bundle" {
		return nil, errors.New("fhirtest: load bundle: not a Bundle")
	}
	items := make([]BundleEntry, 0, len(b.Entry))
	refs := map[string]string{} // fullUrl → Type/id
	for i, e := range b.Entry {
		if len(e.Resource) == 0 {
			return nil, fmt.Errorf("fhirtest: load bundle: entry %d has no resource", i)
		}
		if e.Request != nil {
			switch strings.ToUpper(e.Request.Method) {
			case "", "POST", "PUT":
			default:
				return nil, fmt.Errorf("fhirtest: load bundle: entry %d: unsupported request method", i)
			}
		}
		doc, err := decodeObject(e.Resource)
		if err != nil {
			return nil, fmt.Errorf("fhirtest: load bundle: entry %d: %v", i, err)
		}
		typ, _ := doc["resourceType"].(string)
		if !validType(typ) {
			return nil, fmt.Errorf("fhirtest: load bundle: entry %d: missing or invalid resourceType", i)
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
			if id, err = newID(); err != nil {
				return nil, err
			}
		}
		if !validID(id) {
			return nil, fmt.Errorf("fhirtest: load bundle: entry %d: invalid id", i)
		}
		doc["id"] = id
		if e.FullURL != "" {
			refs[e.FullURL] = typ + "/" + id
		}
		items = append(items, BundleEntry{Type: typ, ID: id, Doc: doc})
	}
	for _, it := range items {
		rewriteRefs(it.Doc, refs)
	}
	return items, nil
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

var (
	errVersionConflict = errors.New("fhirtest: version conflict")
	errForbidden       = errors.New("fhirtest: outside the patient in context")
)

// create stores doc as typ/id. With cond, it first searches typ under the
// same lock: one match is returned instead (created false), several are
// reported in matches and nothing is stored.
func (s *Store) create(typ, id string, doc map[string]any, cond func(id string, doc map[string]any) bool) (res Resource, created bool, matches int, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if cond != nil {
		hits := s.searchLocked(typ, cond)
		switch len(hits) {
		case 0:
		case 1:
			return hits[0].res, false, 1, nil
		default:
			return Resource{}, false, len(hits), nil
		}
	}
	res, err = s.putLocked(typ, id, doc)
	return res, err == nil, 0, err
}

// update stores doc as the next version of typ/id, or creates it. With
// ifMatch, the current version must be ifMatch (a missing resource fails
// too); with allowOld, the current version must satisfy it.
func (s *Store) update(typ, id string, doc map[string]any, ifMatch string, allowOld func(map[string]any) bool) (res Resource, created bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec := s.records[typ+"/"+id]
	if ifMatch != "" && (rec == nil || rec.current().VersionID != ifMatch) {
		return Resource{}, false, errVersionConflict
	}
	if rec != nil && allowOld != nil && !allowOld(rec.doc) {
		return Resource{}, false, errForbidden
	}
	res, err = s.putLocked(typ, id, doc)
	return res, rec == nil, err
}
