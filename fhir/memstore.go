package fhir

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strconv"
	"sync"
	"time"
)

// StoredResource is one version of a resource in the app's own store,
// with the fields the store indexes. JSON is kept as given: the store never
// parses it.
type StoredResource struct {
	Type, ID, VersionID string
	// PatientRef, Identifier ("system|value") and Status are indexed.
	PatientRef string
	Identifier string
	Status     string
	Updated    time.Time
	JSON       json.RawMessage
}

// DraftStore keeps the drafts, plans, notes and Provenance the EHR cannot
// store (the app-store write-back path). Versions are "1", "2", …
type DraftStore interface {
	// Create stores r as version 1 under a new id, unless r.Identifier is
	// set and the latest version of a resource of the same type has the
	// same identifier and status: that one is returned with created false.
	Create(ctx context.Context, r StoredResource) (res StoredResource, created bool, err error)
	// Get returns version (the latest when version is empty);
	// ErrNotFound when there is none.
	Get(ctx context.Context, typ, id, version string) (StoredResource, error)
	// Find returns the latest versions of the resources of typ about
	// patientRef with the status (any status when empty), oldest first.
	Find(ctx context.Context, typ, patientRef, status string) ([]StoredResource, error)
	// Update stores r as the next version of r.Type/r.ID when its latest
	// version is ifMatchVersion (or unconditionally when that is empty):
	// ErrPreconditionFailed when it is not, ErrNotFound when there is none.
	Update(ctx context.Context, r StoredResource, ifMatchVersion string) (StoredResource, error)
}

// MemStore is an in-memory DraftStore for tests and demos. The zero value
// is not usable: call NewMemStore.
type MemStore struct {
	mu   sync.Mutex
	now  func() time.Time
	res  map[string][]StoredResource // type/id → versions, oldest first
	keys []string                    // type/id in creation order
}

// NewMemStore returns an empty store; now stamps Updated (time.Now when nil).
func NewMemStore(now func() time.Time) *MemStore {
	if now == nil {
		now = time.Now
	}
	return &MemStore{now: now, res: map[string][]StoredResource{}}
}

// NewStoreID returns a random resource id (32 hex digits).
func NewStoreID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return hex.EncodeToString(b[:]), nil
}

func copyStored(r StoredResource) StoredResource {
	r.JSON = slices.Clone(r.JSON)
	return r
}

// Create implements DraftStore.
func (m *MemStore) Create(ctx context.Context, r StoredResource) (StoredResource, bool, error) {
	if err := ctx.Err(); err != nil {
		return StoredResource{}, false, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if r.Identifier != "" {
		for _, k := range m.keys {
			vs := m.res[k]
			cur := vs[len(vs)-1]
			if cur.Type == r.Type && cur.Identifier == r.Identifier && cur.Status == r.Status {
				return copyStored(cur), false, nil
			}
		}
	}
	if r.ID == "" {
		id, err := NewStoreID()
		if err != nil {
			return StoredResource{}, false, err
		}
		r.ID = id
	}
	k := r.Type + "/" + r.ID
	if _, ok := m.res[k]; ok {
		return StoredResource{}, false, ErrConflict
	}
	r.VersionID = "1"
	r.Updated = m.now().UTC()
	r = copyStored(r)
	m.res[k] = []StoredResource{r}
	m.keys = append(m.keys, k)
	return copyStored(r), true, nil
}

// Get implements DraftStore.
func (m *MemStore) Get(ctx context.Context, typ, id, version string) (StoredResource, error) {
	if err := ctx.Err(); err != nil {
		return StoredResource{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	vs := m.res[typ+"/"+id]
	if len(vs) == 0 {
		return StoredResource{}, ErrNotFound
	}
	if version == "" {
		return copyStored(vs[len(vs)-1]), nil
	}
	for _, v := range vs {
		if v.VersionID == version {
			return copyStored(v), nil
		}
	}
	return StoredResource{}, ErrNotFound
}

// Find implements DraftStore.
func (m *MemStore) Find(ctx context.Context, typ, patientRef, status string) ([]StoredResource, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []StoredResource
	for _, k := range m.keys {
		vs := m.res[k]
		cur := vs[len(vs)-1]
		if cur.Type == typ && cur.PatientRef == patientRef && (status == "" || cur.Status == status) {
			out = append(out, copyStored(cur))
		}
	}
	return out, nil
}

// Update implements DraftStore.
func (m *MemStore) Update(ctx context.Context, r StoredResource, ifMatchVersion string) (StoredResource, error) {
	if err := ctx.Err(); err != nil {
		return StoredResource{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	k := r.Type + "/" + r.ID
	vs := m.res[k]
	if len(vs) == 0 {
		return StoredResource{}, ErrNotFound
	}
	cur := vs[len(vs)-1]
	if ifMatchVersion != "" && ifMatchVersion != cur.VersionID {
		return StoredResource{}, ErrPreconditionFailed
	}
	n, err := strconv.Atoi(cur.VersionID)
	if err != nil {
		return StoredResource{}, err
	}
	r.VersionID = strconv.Itoa(n + 1)
	r.Updated = m.now().UTC()
	r = copyStored(r)
	m.res[k] = append(vs, r)
	return copyStored(r), nil
}
