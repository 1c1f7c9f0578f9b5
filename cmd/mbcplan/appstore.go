package main

// The app store interface the server and the command line use.

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

// openAppStore opens the SQLite app store (":memory:" keeps drafts until exit).
func openAppStore(ctx context.Context, path string) (appStore, error) {
	return openSQLiteStore(ctx, path, time.Now)
}

func jsonDecoder(r io.Reader) *json.Decoder {
	d := json.NewDecoder(r)
	d.DisallowUnknownFields()
	return d
}
