package db

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func openTest(t *testing.T) *sql.DB {
	t.Helper()
	d, err := Open(context.Background(), filepath.Join(t.TempDir(), "hub.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func userVersion(t *testing.T, d *sql.DB) int {
	t.Helper()
	var v int
	if err := d.QueryRow("PRAGMA user_version").Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

func tables(t *testing.T, d *sql.DB) []string {
	t.Helper()
	rows, err := d.Query(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		rows.Scan(&n)
		out = append(out, n)
	}
	return out
}

// twoPackages is a schema of two packages, b's table referring to a's.
func twoPackages() *Schema {
	s := NewSchema("a", "b")
	// Registered in the other order: the schema's order decides.
	s.Register(Migration{Package: "b", Steps: []Step{
		{Version: 1, SQL: `CREATE TABLE IF NOT EXISTS b (id INTEGER PRIMARY KEY, a INTEGER REFERENCES a (id))`},
		{Version: 2, SQL: `ALTER TABLE b ADD COLUMN note TEXT NOT NULL DEFAULT ''`},
	}})
	s.Register(Migration{Package: "a", Steps: []Step{
		{Version: 1, SQL: `CREATE TABLE IF NOT EXISTS a (id INTEGER PRIMARY KEY)`},
		{Version: 1, Func: func(ctx context.Context, tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO a (id) VALUES (1)`)
			return err
		}},
	}})
	return s
}

func TestMigrateFresh(t *testing.T) {
	ctx := context.Background()
	d := openTest(t)
	s := twoPackages()
	if got := s.Version(); got != 2 {
		t.Fatalf("Version = %d, want 2", got)
	}
	var order []string
	for _, st := range s.Plan() {
		order = append(order, st.Package)
	}
	if !slices.Equal(order, []string{"a", "a", "b", "b"}) {
		t.Fatalf("plan order %v", order)
	}
	m, err := s.Migrate(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	if m != (Migrated{From: 0, To: 2, Steps: 4}) || userVersion(t, d) != 2 {
		t.Fatalf("Migrate = %+v, user_version %d", m, userVersion(t, d))
	}
	if _, err := d.Exec(`INSERT INTO b (id, a, note) VALUES (1, 1, 'x')`); err != nil {
		t.Fatal(err)
	}
	// Again: nothing to do, nothing run (version 1's INSERT would fail).
	if m, err := s.Migrate(ctx, d); err != nil || m != (Migrated{From: 2, To: 2}) {
		t.Fatalf("second Migrate = %+v %v", m, err)
	}
}

// A database at version 1 gets only version 2's step; its rows stay.
func TestMigrateFromAnOlderVersion(t *testing.T) {
	ctx := context.Background()
	d := openTest(t)
	old := NewSchema("a", "b")
	full := twoPackages()
	for _, st := range full.Plan() {
		if st.Version == 1 && st.Index == 1 {
			old.Register(Migration{Package: st.Package, Steps: []Step{st.Step}})
		}
	}
	if _, err := old.Migrate(ctx, d); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Exec(`INSERT INTO a (id) VALUES (7); INSERT INTO b (id, a) VALUES (1, 7)`); err != nil {
		t.Fatal(err)
	}
	m, err := full.Migrate(ctx, d)
	if err != nil || m != (Migrated{From: 1, To: 2, Steps: 1}) {
		t.Fatalf("Migrate = %+v %v", m, err)
	}
	var note string
	var n int
	if err := d.QueryRow(`SELECT note, (SELECT count(*) FROM a) FROM b WHERE id = 1`).Scan(&note, &n); err != nil || note != "" || n != 1 {
		t.Fatalf("after the migration: note %q, %d rows in a, %v", note, n, err)
	}
}

// A database from a newer program is refused, untouched, with a message
// that says what to do.
func TestMigrateRefusesANewerDatabase(t *testing.T) {
	ctx := context.Background()
	d := openTest(t)
	if _, err := d.Exec(`CREATE TABLE later (x); PRAGMA user_version = 3`); err != nil {
		t.Fatal(err)
	}
	_, err := twoPackages().Migrate(ctx, d)
	var newer *NewerError
	if !errors.As(err, &newer) || newer.Found != 3 || newer.Known != 2 {
		t.Fatalf("Migrate = %v, want a NewerError 3 > 2", err)
	}
	if !strings.Contains(err.Error(), "upgrade pointage-hub") {
		t.Fatalf("message %q does not say to upgrade pointage-hub", err)
	}
	if userVersion(t, d) != 3 || !slices.Equal(tables(t, d), []string{"later"}) {
		t.Fatalf("the newer database was changed: version %d, tables %v", userVersion(t, d), tables(t, d))
	}
}

// A failed step rolls back every step before it, of every package and
// version: nothing is half-migrated, and the version stays.
func TestMigrateFailedStepRollsBack(t *testing.T) {
	ctx := context.Background()
	for _, fail := range []Step{
		{Version: 2, SQL: `CREATE TABLE c (x); INSERT INTO nowhere VALUES (1)`},
		{Version: 2, Func: func(ctx context.Context, tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, `CREATE TABLE c (x)`); err != nil {
				return err
			}
			return errors.New("injected")
		}},
	} {
		d := openTest(t)
		s := NewSchema("a", "b", "c")
		full := twoPackages()
		for _, pkg := range []string{"a", "b"} {
			var steps []Step
			for _, st := range full.Plan() {
				if st.Package == pkg {
					steps = append(steps, st.Step)
				}
			}
			s.Register(Migration{Package: pkg, Steps: steps})
		}
		s.Register(Migration{Package: "c", Steps: []Step{fail}})
		_, err := s.Migrate(ctx, d)
		if err == nil || !strings.Contains(err.Error(), "c step 1 (version 2)") {
			t.Fatalf("Migrate = %v, want the failed step named", err)
		}
		if userVersion(t, d) != 0 || len(tables(t, d)) != 0 {
			t.Fatalf("half-migrated: version %d, tables %v", userVersion(t, d), tables(t, d))
		}
	}
}

func TestRegisterRefuses(t *testing.T) {
	sql1 := Step{Version: 1, SQL: "SELECT 1"}
	for name, m := range map[string]Migration{
		"unknown package": {Package: "z", Steps: []Step{sql1}},
		"no step":         {Package: "a"},
		"SQL and Func":    {Package: "a", Steps: []Step{{Version: 1, SQL: "SELECT 1", Func: func(context.Context, *sql.Tx) error { return nil }}}},
		"neither":         {Package: "a", Steps: []Step{{Version: 1}}},
		"version 0":       {Package: "a", Steps: []Step{{SQL: "SELECT 1"}}},
		"going down":      {Package: "a", Steps: []Step{{Version: 2, SQL: "SELECT 1"}, sql1}},
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("no panic")
				}
			}()
			NewSchema("a").Register(m)
		})
	}
	t.Run("twice", func(t *testing.T) {
		s := NewSchema("a")
		s.Register(Migration{Package: "a", Steps: []Step{sql1}})
		defer func() {
			if recover() == nil {
				t.Fatal("no panic")
			}
		}()
		s.Register(Migration{Package: "a", Steps: []Step{sql1}})
	})
}

// Versions with no step (two branches that took the same number, one step
// dropped) are refused before anything runs.
func TestMigrateRefusesAGap(t *testing.T) {
	d := openTest(t)
	s := NewSchema("a")
	s.Register(Migration{Package: "a", Steps: []Step{{Version: 1, SQL: "CREATE TABLE a (x)"}, {Version: 3, SQL: "CREATE TABLE c (x)"}}})
	if _, err := s.Migrate(context.Background(), d); err == nil || !strings.Contains(err.Error(), "version 2") {
		t.Fatalf("Migrate = %v, want the missing version 2 named", err)
	}
	if userVersion(t, d) != 0 || len(tables(t, d)) != 0 {
		t.Fatal("something ran")
	}
}
