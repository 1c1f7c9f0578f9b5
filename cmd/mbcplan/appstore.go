package main

// Temporary seams while the write-back and the commands land; replaced file by file.

import (
	"context"
	"encoding/json"
	"io"
	"time"

	"github.com/mbcplan/mbcplan/fhir"
)

type appStore interface {
	fhir.DraftStore
	Ping(ctx context.Context) error
	Close() error
}

type memAppStore struct{ *fhir.MemStore }

func (memAppStore) Ping(context.Context) error { return nil }
func (memAppStore) Close() error               { return nil }

func openAppStore(ctx context.Context, path string) (appStore, error) {
	return memAppStore{fhir.NewMemStore(time.Now)}, nil
}

func jsonDecoder(r io.Reader) *json.Decoder {
	d := json.NewDecoder(r)
	d.DisallowUnknownFields()
	return d
}
