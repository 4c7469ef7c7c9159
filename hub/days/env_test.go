package days

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"pointage/hub/corrections"
	"pointage/hub/db"
	"pointage/hub/roster"
	"pointage/hub/store/sqlitestore"
)

// testEnv is a hub.db (roster, corrections) and a SQLite store in a
// temporary folder, closed when the test ends.
type testEnv struct {
	db   *sql.DB
	st   *sqlitestore.Store
	ros  *roster.Roster
	corr *corrections.Store
}

func newTestEnv(t *testing.T) testEnv {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	sqlDB, err := db.Open(ctx, filepath.Join(dir, "hub.db"))
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
	corr, err := corrections.New(ctx, sqlDB, nil)
	if err != nil {
		t.Fatal(err)
	}
	return testEnv{db: sqlDB, st: st, ros: ros, corr: corr}
}

// importCSV imports a roster file valid from the day from; it returns the
// people parsed.
func (e testEnv) importCSV(t *testing.T, csv string, from roster.Date) []roster.Person {
	t.Helper()
	parsed, err := roster.Parse(strings.NewReader(csv))
	if err != nil || len(parsed.Errors) > 0 {
		t.Fatal(err, parsed.Errors)
	}
	if _, err := e.ros.Import(context.Background(), parsed.People, from, nil); err != nil {
		t.Fatal(err)
	}
	return parsed.People
}
