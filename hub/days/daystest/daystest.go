// Package daystest opens, for tests, what a days.Service reads: a hub.db
// (roster, corrections) and a SQLite check-in store in a temporary folder.
package daystest

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"pointage/hub/corrections"
	"pointage/hub/db"
	"pointage/hub/roster"
	"pointage/hub/store/sqlitestore"
	_ "pointage/hub/users" // its schema steps (version 2): the read model's calendar brings version 3
	"pointage/internal/civil"
)

// Env is a hub.db and a SQLite store, closed when the test ends.
type Env struct {
	DB          *sql.DB
	Store       *sqlitestore.Store
	Roster      *roster.Roster
	Corrections *corrections.Store
}

// New opens an Env; now is the corrections' clock (nil: time.Now).
func New(t testing.TB, now func() time.Time) Env {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	sqlDB, err := db.OpenMigrated(ctx, filepath.Join(dir, "hub.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sqlDB.Close() })
	st, err := sqlitestore.Open(ctx, filepath.Join(dir, "checkins.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ros, err := roster.New(ctx, sqlDB)
	if err != nil {
		t.Fatal(err)
	}
	corr, err := corrections.New(ctx, sqlDB, now)
	if err != nil {
		t.Fatal(err)
	}
	return Env{DB: sqlDB, Store: st, Roster: ros, Corrections: corr}
}

// Import imports a roster file valid from the day from and returns the
// people parsed.
func (e Env) Import(t testing.TB, csv string, from civil.Date) []roster.Person {
	t.Helper()
	parsed, err := roster.Parse(strings.NewReader(csv))
	if err != nil || len(parsed.Errors) > 0 {
		t.Fatal(err, parsed.Errors)
	}
	if _, err := e.Roster.Import(context.Background(), parsed.People, from, nil); err != nil {
		t.Fatal(err)
	}
	return parsed.People
}
