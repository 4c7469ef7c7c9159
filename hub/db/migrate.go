package db

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"sync"
)

// A Step is one change to a schema: SQL statements, or a Go function for
// what SQL alone cannot say. Every step of a migration runs in one
// transaction. A released step never changes: a later change is a new
// step with a new version.
type Step struct {
	// Version is the schema version the step brings. Version 1 is hub.db
	// as the hubs before versioned migrations made it (their tables may
	// already be there: its statements say IF NOT EXISTS).
	Version int
	SQL     string                                      // one or more statements
	Func    func(ctx context.Context, tx *sql.Tx) error // instead of SQL
}

// A Migration is the steps one package contributes to a schema, in the
// order they run.
type Migration struct {
	Package string // one of the schema's packages (Hub: see its order)
	Steps   []Step
}

// Schema is a database's migrations and the fixed order in which the
// packages' steps of one version run.
type Schema struct {
	order []string // package names

	mu    sync.Mutex
	steps map[string][]Step // by package
}

// NewSchema is an empty schema whose packages' steps of one version run in
// the order given.
func NewSchema(order ...string) *Schema {
	return &Schema{order: order, steps: map[string][]Step{}}
}

// Hub is hub.db's schema. Each package that owns tables in hub.db
// registers its steps from its init function (Register). Within a version,
// the steps run package by package in this order, which never changes
// (ingest's queue and the day cache's index on corrections come after the
// tables they need); a new package is appended.
var Hub = NewSchema("devices", "ingest", "roster", "corrections", "users", "audit", "retention", "days", "calendar", "names")

// Register adds a package's steps to hub.db's schema (Hub).
func Register(m Migration) { Hub.Register(m) }

// Register adds a package's steps. It panics on a programming error: a
// package not in the schema's order or registered twice, a step without
// exactly one of SQL and Func, versions below 1 or out of order.
func (s *Schema) Register(m Migration) {
	if !slices.Contains(s.order, m.Package) {
		panic(fmt.Sprintf("db: package %q is not in the schema's order %v", m.Package, s.order))
	}
	if len(m.Steps) == 0 {
		panic(fmt.Sprintf("db: package %q registers no step", m.Package))
	}
	for i, st := range m.Steps {
		if (st.SQL == "") == (st.Func == nil) {
			panic(fmt.Sprintf("db: %s step %d: want exactly one of SQL and Func", m.Package, i+1))
		}
		if st.Version < 1 || i > 0 && st.Version < m.Steps[i-1].Version {
			panic(fmt.Sprintf("db: %s step %d: version %d (versions start at 1 and never go down)", m.Package, i+1, st.Version))
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.steps[m.Package]; dup {
		panic(fmt.Sprintf("db: package %q registered twice", m.Package))
	}
	s.steps[m.Package] = slices.Clone(m.Steps)
}

// PlannedStep is a registered step with where it comes from.
type PlannedStep struct {
	Step
	Package string
	Index   int // 1-based, within the package's steps
}

// Plan returns every registered step in the order they run from an empty
// database: by version, then by the schema's package order, then in each
// package's order.
func (s *Schema) Plan() []PlannedStep {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []PlannedStep
	for _, pkg := range s.order {
		for i, st := range s.steps[pkg] {
			out = append(out, PlannedStep{Step: st, Package: pkg, Index: i + 1})
		}
	}
	rank := func(pkg string) int { return slices.Index(s.order, pkg) }
	slices.SortStableFunc(out, func(a, b PlannedStep) int {
		return cmp.Or(cmp.Compare(a.Version, b.Version), cmp.Compare(rank(a.Package), rank(b.Package)))
	})
	return out
}

// Version is the newest schema version of the registered steps (0: none).
func (s *Schema) Version() int {
	plan := s.Plan()
	if len(plan) == 0 {
		return 0
	}
	return plan[len(plan)-1].Version
}

// NewerError is the error of Migrate on a database made by a newer program.
type NewerError struct{ Found, Known int }

func (e *NewerError) Error() string {
	return fmt.Sprintf("schema version %d is newer than this pointage-hub's (%d): upgrade pointage-hub (or restore a copy of the database it made)", e.Found, e.Known)
}

// Migrated says what Migrate did.
type Migrated struct {
	From, To int // schema versions before and after (equal: nothing to do)
	Steps    int // steps run
}

// Migrate brings the database to the schema's current version: it runs, in
// one transaction, every step whose version is above the database's PRAGMA
// user_version, then sets user_version. A failed step leaves the database
// as it was. A database whose version is above the schema's is refused
// (*NewerError). Several processes may migrate at once: the first one's
// transaction holds the others until it is done, and they find nothing
// left to do.
func (s *Schema) Migrate(ctx context.Context, db *sql.DB) (Migrated, error) {
	plan := s.Plan()
	known := 0
	for _, st := range plan {
		if st.Version > known+1 {
			return Migrated{}, fmt.Errorf("schema: no step brings version %d (the registered steps skip it)", known+1)
		}
		known = st.Version
	}
	var v int
	if err := db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return Migrated{}, fmt.Errorf("read the schema version: %w", err)
	}
	if v == known {
		return Migrated{From: v, To: v}, nil
	}
	if v > known {
		return Migrated{From: v, To: v}, &NewerError{Found: v, Known: known}
	}
	tx, err := db.BeginTx(ctx, nil) // BEGIN IMMEDIATE with Open: one migrating process at a time
	if err != nil {
		return Migrated{}, fmt.Errorf("migrate: %w", err)
	}
	defer tx.Rollback()
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil { // again: another process may have migrated
		return Migrated{}, fmt.Errorf("read the schema version: %w", err)
	}
	m := Migrated{From: v, To: known}
	if v > known {
		return Migrated{From: v, To: v}, &NewerError{Found: v, Known: known}
	}
	for _, st := range plan {
		if st.Version <= v {
			continue
		}
		if st.Func != nil {
			err = st.Func(ctx, tx)
		} else {
			_, err = tx.ExecContext(ctx, st.SQL)
		}
		if err != nil {
			return Migrated{From: v, To: v}, fmt.Errorf("migrate the schema from version %d to %d: %s step %d (version %d): %w", v, known, st.Package, st.Index, st.Version, err)
		}
		m.Steps++
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", known)); err != nil {
		return Migrated{From: v, To: v}, fmt.Errorf("set the schema version: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return Migrated{From: v, To: v}, fmt.Errorf("migrate: commit: %w", err)
	}
	return m, nil
}

// Migrate brings hub.db to the current version of its schema (Hub).
func Migrate(ctx context.Context, db *sql.DB) (Migrated, error) { return Hub.Migrate(ctx, db) }

// OpenMigrated opens hub.db at path (Open) and migrates it (Migrate).
func OpenMigrated(ctx context.Context, path string) (*sql.DB, error) {
	db, err := Open(ctx, path)
	if err != nil {
		return nil, err
	}
	if _, err := Migrate(ctx, db); err != nil {
		db.Close()
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	return db, nil
}
