package main

// The app store interface the server and the command line use.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/mbcplan/mbcplan/fhir"
)

type appStore interface {
	fhir.DraftStore
	Ping(ctx context.Context) error
	Close() error
}

// openAppStore opens the SQLite app store (":memory:" keeps drafts until exit).
func openAppStore(ctx context.Context, path string) (appStore, error) {
	return openSQLiteStore(ctx, path, time.Now)
}

func jsonDecoder(r io.Reader) *json.Decoder {
	d := json.NewDecoder(r)
	d.DisallowUnknownFields()
	return d
}

// scopedStore is the app store as one EHR sees it. Patient ids are unique
// only within one EHR: Patient/123 at one hospital is not Patient/123 at
// another, nor in the sandbox. Without a scope, a draft written for one
// EHR's patient would find, return or revoke ("replaces") the open draft of
// another EHR's patient with the same id. The scope (the EHR's issuer)
// prefixes the patient reference and the identifier as stored; a resource
// stored under another scope is not found.
type scopedStore struct {
	s      fhir.DraftStore
	prefix string
}

var _ fhir.DraftStore = scopedStore{}

// scopeStore returns the view of s for the EHR at issuer. An issuer never
// holds '#' (it has no fragment), so the prefix cannot be forged by a
// patient reference or an identifier.
func scopeStore(s fhir.DraftStore, issuer string) fhir.DraftStore {
	if s == nil {
		return nil
	}
	return scopedStore{s: s, prefix: strings.TrimRight(issuer, "/") + "#"}
}

func (ss scopedStore) in(r fhir.StoredResource) fhir.StoredResource {
	r.PatientRef = ss.prefix + r.PatientRef
	if r.Identifier != "" {
		r.Identifier = ss.prefix + r.Identifier
	}
	return r
}

// out strips the scope; ok is false for a resource of another scope.
func (ss scopedStore) out(r fhir.StoredResource) (fhir.StoredResource, bool) {
	p, ok := strings.CutPrefix(r.PatientRef, ss.prefix)
	if !ok {
		return fhir.StoredResource{}, false
	}
	r.PatientRef = p
	if r.Identifier != "" {
		id, ok := strings.CutPrefix(r.Identifier, ss.prefix)
		if !ok {
			return fhir.StoredResource{}, false
		}
		r.Identifier = id
	}
	return r, true
}

func (ss scopedStore) Create(ctx context.Context, r fhir.StoredResource) (fhir.StoredResource, bool, error) {
	got, created, err := ss.s.Create(ctx, ss.in(r))
	if err != nil {
		return fhir.StoredResource{}, false, err
	}
	out, ok := ss.out(got)
	if !ok {
		return fhir.StoredResource{}, false, fmt.Errorf("store: create: %w", fhir.ErrConflict)
	}
	return out, created, nil
}

func (ss scopedStore) Get(ctx context.Context, typ, id, version string) (fhir.StoredResource, error) {
	got, err := ss.s.Get(ctx, typ, id, version)
	if err != nil {
		return fhir.StoredResource{}, err
	}
	out, ok := ss.out(got)
	if !ok {
		return fhir.StoredResource{}, fmt.Errorf("store: get: %w", fhir.ErrNotFound)
	}
	return out, nil
}

func (ss scopedStore) Find(ctx context.Context, typ, patientRef, status string) ([]fhir.StoredResource, error) {
	found, err := ss.s.Find(ctx, typ, ss.prefix+patientRef, status)
	if err != nil {
		return nil, err
	}
	out := make([]fhir.StoredResource, 0, len(found))
	for _, r := range found {
		if r, ok := ss.out(r); ok {
			out = append(out, r)
		}
	}
	return out, nil
}

func (ss scopedStore) Update(ctx context.Context, r fhir.StoredResource, ifMatchVersion string) (fhir.StoredResource, error) {
	// The resource must already be this scope's: an update never moves
	// another EHR's record into this one.
	cur, err := ss.s.Get(ctx, r.Type, r.ID, "")
	if err != nil {
		return fhir.StoredResource{}, err
	}
	if _, ok := ss.out(cur); !ok {
		return fhir.StoredResource{}, fmt.Errorf("store: update: %w", fhir.ErrNotFound)
	}
	got, err := ss.s.Update(ctx, ss.in(r), ifMatchVersion)
	if err != nil {
		return fhir.StoredResource{}, err
	}
	out, _ := ss.out(got)
	return out, nil
}
