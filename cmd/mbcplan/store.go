package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver

	"github.com/mbcplan/mbcplan/fhir"
)

// sqliteStore is the app's own store (fhir.DraftStore) in SQLite: drafts,
// plans, notes and Provenance for EHRs that cannot keep CarePlans. One table
// holds every version of every resource; the latest version of a resource
// is the one with the highest version number.
type sqliteStore struct {
	db  *sql.DB
	now func() time.Time
}

var _ fhir.DraftStore = (*sqliteStore)(nil)

const storeSchema = `
CREATE TABLE IF NOT EXISTS resources (
	type       TEXT    NOT NULL,
	id         TEXT    NOT NULL,
	version    INTEGER NOT NULL,
	patient    TEXT    NOT NULL DEFAULT '',
	identifier TEXT    NOT NULL DEFAULT '',
	status     TEXT    NOT NULL DEFAULT '',
	json       BLOB    NOT NULL,
	updated    TEXT    NOT NULL,
	PRIMARY KEY (type, id, version)
);
CREATE INDEX IF NOT EXISTS resources_patient ON resources (type, patient);
CREATE INDEX IF NOT EXISTS resources_identifier ON resources (type, identifier);
`

// openSQLiteStore opens (creating if needed) the store at path: a file, or
// ":memory:" for a store that lives until Close. now stamps updates
// (time.Now when nil).
func openSQLiteStore(ctx context.Context, path string, now func() time.Time) (*sqliteStore, error) {
	if path == "" {
		return nil, errors.New("store: no path")
	}
	if now == nil {
		now = time.Now
	}
	if err := createPrivate(path); err != nil {
		return nil, err
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		return nil, fmt.Errorf("store: open: %v", err)
	}
	// One connection: an in-memory database exists per connection, and
	// writes are serialised anyway; a transaction holds it to the end.
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	for _, stmt := range []string{"PRAGMA busy_timeout = 5000", "PRAGMA journal_mode = WAL", storeSchema} {
		if path == ":memory:" && stmt == "PRAGMA journal_mode = WAL" {
			continue
		}
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			return nil, fmt.Errorf("store: prepare: %v", errors.Join(err, db.Close()))
		}
	}
	return &sqliteStore{db: db, now: now}, nil
}

// createPrivate creates the store's file, when it does not exist yet, readable
// and writable by its owner only: it holds drafts and notes about patients.
// SQLite gives its -wal and -shm files the database file's permissions.
func createPrivate(path string) error {
	if path == ":memory:" || strings.HasPrefix(path, "file:") {
		return nil
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("store: create %s: %v", filepath.Base(path), errors.Unwrap(err))
	}
	return f.Close()
}

// Ping checks the database (for /readyz).
func (s *sqliteStore) Ping(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return fmt.Errorf("store: ping: %v", err)
	}
	return nil
}

// Close closes the database.
func (s *sqliteStore) Close() error { return s.db.Close() }

const storeColumns = `type, id, version, patient, identifier, status, json, updated`

type rowScanner interface{ Scan(dest ...any) error }

func scanStored(r rowScanner) (fhir.StoredResource, error) {
	var (
		sr      fhir.StoredResource
		version int64
		body    []byte
		updated string
	)
	if err := r.Scan(&sr.Type, &sr.ID, &version, &sr.PatientRef, &sr.Identifier, &sr.Status, &body, &updated); err != nil {
		return fhir.StoredResource{}, err
	}
	sr.VersionID = strconv.FormatInt(version, 10)
	sr.JSON = body
	t, err := time.Parse(time.RFC3339Nano, updated)
	if err != nil {
		return fhir.StoredResource{}, errors.New("unreadable update time")
	}
	sr.Updated = t
	return sr, nil
}

// latestSQL selects the latest version of each resource.
const latestSQL = `version = (SELECT MAX(l.version) FROM resources l WHERE l.type = r.type AND l.id = r.id)`

// Create implements fhir.DraftStore.
func (s *sqliteStore) Create(ctx context.Context, r fhir.StoredResource) (fhir.StoredResource, bool, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fhir.StoredResource{}, false, fmt.Errorf("store: create: %v", err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	if r.Identifier != "" {
		row := tx.QueryRowContext(ctx, `SELECT `+storeColumns+` FROM resources r
			WHERE r.type = ? AND r.identifier = ? AND r.status = ? AND `+latestSQL+`
			ORDER BY r.rowid LIMIT 1`, r.Type, r.Identifier, r.Status)
		existing, err := scanStored(row)
		switch {
		case err == nil:
			return existing, false, nil
		case !errors.Is(err, sql.ErrNoRows):
			return fhir.StoredResource{}, false, fmt.Errorf("store: create: %v", err)
		}
	}
	if r.ID == "" {
		id, err := fhir.NewStoreID()
		if err != nil {
			return fhir.StoredResource{}, false, fmt.Errorf("store: create: %v", err)
		}
		r.ID = id
	}
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM resources WHERE type = ? AND id = ?`, r.Type, r.ID).Scan(&n); err != nil {
		return fhir.StoredResource{}, false, fmt.Errorf("store: create: %v", err)
	}
	if n > 0 {
		return fhir.StoredResource{}, false, fmt.Errorf("store: create: %w", fhir.ErrConflict)
	}
	r.VersionID = "1"
	r.Updated = s.now().UTC()
	if err := insertStored(ctx, tx, r, 1); err != nil {
		return fhir.StoredResource{}, false, err
	}
	if err := tx.Commit(); err != nil {
		return fhir.StoredResource{}, false, fmt.Errorf("store: create: %v", err)
	}
	return r, true, nil
}

func insertStored(ctx context.Context, tx *sql.Tx, r fhir.StoredResource, version int64) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO resources (`+storeColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		r.Type, r.ID, version, r.PatientRef, r.Identifier, r.Status, []byte(r.JSON), r.Updated.Format(time.RFC3339Nano))
	if err != nil {
		return fmt.Errorf("store: write: %v", err)
	}
	return nil
}

// Get implements fhir.DraftStore.
func (s *sqliteStore) Get(ctx context.Context, typ, id, version string) (fhir.StoredResource, error) {
	var row *sql.Row
	if version == "" {
		row = s.db.QueryRowContext(ctx, `SELECT `+storeColumns+` FROM resources
			WHERE type = ? AND id = ? ORDER BY version DESC LIMIT 1`, typ, id)
	} else {
		v, err := strconv.ParseInt(version, 10, 64)
		if err != nil {
			return fhir.StoredResource{}, fmt.Errorf("store: get: %w", fhir.ErrNotFound)
		}
		row = s.db.QueryRowContext(ctx, `SELECT `+storeColumns+` FROM resources
			WHERE type = ? AND id = ? AND version = ?`, typ, id, v)
	}
	sr, err := scanStored(row)
	if errors.Is(err, sql.ErrNoRows) {
		return fhir.StoredResource{}, fmt.Errorf("store: get: %w", fhir.ErrNotFound)
	}
	if err != nil {
		return fhir.StoredResource{}, fmt.Errorf("store: get: %v", err)
	}
	return sr, nil
}

// Find implements fhir.DraftStore.
func (s *sqliteStore) Find(ctx context.Context, typ, patientRef, status string) ([]fhir.StoredResource, error) {
	q := `SELECT ` + storeColumns + ` FROM resources r WHERE r.type = ? AND r.patient = ? AND ` + latestSQL
	args := []any{typ, patientRef}
	if status != "" {
		q += ` AND r.status = ?`
		args = append(args, status)
	}
	q += ` ORDER BY (SELECT MIN(f.rowid) FROM resources f WHERE f.type = r.type AND f.id = r.id)`
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: find: %v", err)
	}
	defer rows.Close()
	var out []fhir.StoredResource
	for rows.Next() {
		sr, err := scanStored(rows)
		if err != nil {
			return nil, fmt.Errorf("store: find: %v", err)
		}
		out = append(out, sr)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: find: %v", err)
	}
	return out, nil
}

// Update implements fhir.DraftStore.
func (s *sqliteStore) Update(ctx context.Context, r fhir.StoredResource, ifMatchVersion string) (fhir.StoredResource, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fhir.StoredResource{}, fmt.Errorf("store: update: %v", err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	var cur int64
	err = tx.QueryRowContext(ctx, `SELECT MAX(version) FROM resources WHERE type = ? AND id = ?`, r.Type, r.ID).Scan(&sqlNullInt{&cur})
	if err != nil {
		return fhir.StoredResource{}, fmt.Errorf("store: update: %v", err)
	}
	if cur == 0 {
		return fhir.StoredResource{}, fmt.Errorf("store: update: %w", fhir.ErrNotFound)
	}
	if ifMatchVersion != "" && ifMatchVersion != strconv.FormatInt(cur, 10) {
		return fhir.StoredResource{}, fmt.Errorf("store: update: %w", fhir.ErrPreconditionFailed)
	}
	r.VersionID = strconv.FormatInt(cur+1, 10)
	r.Updated = s.now().UTC()
	if err := insertStored(ctx, tx, r, cur+1); err != nil {
		return fhir.StoredResource{}, err
	}
	if err := tx.Commit(); err != nil {
		return fhir.StoredResource{}, fmt.Errorf("store: update: %v", err)
	}
	return r, nil
}

// sqlNullInt scans a possibly NULL integer as 0.
type sqlNullInt struct{ v *int64 }

func (n *sqlNullInt) Scan(src any) error {
	var ni sql.NullInt64
	if err := ni.Scan(src); err != nil {
		return err
	}
	*n.v = ni.Int64
	return nil
}
