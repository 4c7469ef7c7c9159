package hub_test

import (
	"compress/gzip"
	"context"
	"crypto/sha256"
	"database/sql"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"pointage/hub"
	"pointage/hub/corrections"
	"pointage/hub/db"
	"pointage/hub/hubtest"
	"pointage/hub/store"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// legacyDir is a data folder holding testdata/hub-v0's hub.db: written by
// the hub at commit c7c7ffe, before hub.db had a schema version (user_version
// 0), with rows in each of its 21 tables (hub/testdata/hub-v0/generate.go).
func legacyDir(t testing.TB) string {
	t.Helper()
	f, err := os.Open("testdata/hub-v0/hub.db.gz")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	out, err := os.Create(filepath.Join(dir, "hub.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, zr); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

// rowCounts counts the rows of every table.
func rowCounts(t testing.TB, d *sql.DB) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, name := range query(t, d, `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`) {
		var n int
		if err := d.QueryRow(`SELECT count(*) FROM "` + name + `"`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		out[name] = n
	}
	return out
}

// schemaOf is sqlite_master: every table, index and trigger, with its SQL.
// sameRows fails unless every table of before has its rows in after
// (tables a later version added may be there besides).
func sameRows(t testing.TB, before, after map[string]int) {
	t.Helper()
	for table, n := range before {
		if after[table] != n {
			t.Fatalf("rows after the migration %v, before %v", after, before)
		}
	}
}

// versionOne is a fresh database migrated to version 1 only: hub.db as
// the hubs before schema versions made it.
func versionOne(t testing.TB) *sql.DB {
	t.Helper()
	var order []string
	steps := map[string][]db.Step{}
	for _, st := range db.Hub.Plan() {
		if st.Version != 1 {
			continue
		}
		if _, ok := steps[st.Package]; !ok {
			order = append(order, st.Package)
		}
		steps[st.Package] = append(steps[st.Package], st.Step)
	}
	v1 := db.NewSchema(order...)
	for _, p := range order {
		v1.Register(db.Migration{Package: p, Steps: steps[p]})
	}
	d := rawOpen(t, t.TempDir())
	if _, err := v1.Migrate(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	return d
}

func schemaOf(t testing.TB, d *sql.DB) string {
	t.Helper()
	rows := query(t, d, `SELECT type || ' ' || name || ' ON ' || tbl_name || char(10) || COALESCE(sql, '(automatic)') || char(10)
		FROM sqlite_master ORDER BY type, name`)
	return strings.Join(rows, "\n")
}

func query(t testing.TB, d *sql.DB, q string, args ...any) []string {
	t.Helper()
	rows, err := d.Query(q, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func rawOpen(t testing.TB, dir string) *sql.DB {
	t.Helper()
	d, err := db.Open(context.Background(), filepath.Join(dir, "hub.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func openState(t testing.TB, dir string) *hub.State {
	t.Helper()
	cfg := hub.Defaults()
	cfg.DataDir = dir
	st, err := hub.OpenState(context.Background(), cfg, hub.StateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func userVersion(t testing.TB, d *sql.DB) int {
	t.Helper()
	var v int
	if err := d.QueryRow(`PRAGMA user_version`).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// goldenFile compares got with testdata/name (rewritten with -update).
func goldenFile(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Fatalf("%s differs (go test -run %s -update rewrites it, for a new step only):\n%s", path, t.Name(), got)
	}
}

// A fresh hub.db gets the whole schema, at the current version; its
// sqlite_master is testdata/hub-schema.txt.
func TestFreshHubDB(t *testing.T) {
	st := openState(t, t.TempDir())
	if st.Migrated.From != 0 || st.Migrated.To != db.Hub.Version() || userVersion(t, st.DB) != db.Hub.Version() {
		t.Fatalf("migrated %+v, user_version %d, want 0 -> %d", st.Migrated, userVersion(t, st.DB), db.Hub.Version())
	}
	if n := len(rowCounts(t, st.DB)); n != 26 {
		t.Fatalf("%d tables, want 26", n)
	}
	goldenFile(t, "hub-schema.txt", schemaOf(t, st.DB))
}

// A released step never changes (docs/ARCHITECTURE.md): a hub.db already
// past it would not get the change. testdata/hub-migrations.txt lists the
// steps with a digest of each; a new step adds a line, nothing else moves.
func TestReleasedMigrationStepsUnchanged(t *testing.T) {
	var b strings.Builder
	for _, st := range db.Hub.Plan() {
		what := st.SQL
		if st.Func != nil {
			what = "func " + runtime.FuncForPC(reflect.ValueOf(st.Func).Pointer()).Name()
		}
		fmt.Fprintf(&b, "version %d  %-12s step %d  %x\n", st.Version, st.Package, st.Index, sha256.Sum256([]byte(what)))
	}
	goldenFile(t, "hub-migrations.txt", b.String())
}

// A hub.db made before schema versions (user_version 0) opens, is
// migrated to the current version, keeps every row and ends up with the
// schema a fresh one has; the packages read what was there.
func TestHubDBFromBeforeVersions(t *testing.T) {
	ctx := context.Background()
	dir := legacyDir(t)
	raw := rawOpen(t, dir)
	if v := userVersion(t, raw); v != 0 {
		t.Fatalf("testdata's user_version is %d, want 0", v)
	}
	before, legacySchema := rowCounts(t, raw), schemaOf(t, raw)
	if len(before) != 21 {
		t.Fatalf("testdata has %d tables, want 21", len(before))
	}
	for table, n := range before {
		if n == 0 {
			t.Errorf("testdata's %s is empty", table)
		}
	}
	raw.Close()

	started := time.Now()
	st := openState(t, dir)
	t.Logf("opened and migrated the testdata hub.db in %v", time.Since(started))
	if st.Migrated != (db.Migrated{From: 0, To: db.Hub.Version(), Steps: len(db.Hub.Plan())}) || userVersion(t, st.DB) != db.Hub.Version() {
		t.Fatalf("migrated %+v, user_version %d", st.Migrated, userVersion(t, st.DB))
	}
	sameRows(t, before, rowCounts(t, st.DB))
	// Version 1 is the schema the hub made before versions, exactly.
	if got, want := legacySchema, schemaOf(t, versionOne(t)); got != want {
		t.Fatalf("the schema before versions differs from version 1's:\n%s\nwant:\n%s", got, want)
	}
	fresh := openState(t, t.TempDir())
	if got, want := schemaOf(t, st.DB), schemaOf(t, fresh.DB); got != want {
		t.Fatalf("migrated schema differs from a fresh one:\n%s\nwant:\n%s", got, want)
	}

	if n, err := st.Audit.Verify(ctx); err != nil || n != 3 {
		t.Fatalf("audit chain: %d entries, %v", n, err)
	}
	if _, ok := st.Users.Check(ctx, "marie", "marie-password"); !ok {
		t.Fatal("marie's password no longer checks")
	}
	if _, ok := st.Devices.Verify(ctx, "d2", "password-d2-new"); !ok {
		t.Fatal("d2's password no longer checks")
	}
	sites, err := st.KnownSites(ctx)
	if err != nil || !slices.Contains(sites, "jules-ferry") || !slices.Contains(sites, "victor-hugo") {
		t.Fatalf("known sites %v %v", sites, err)
	}
	// A site known only from a sequence (its device removed) is still known
	// with ingest not running: hub.db's sequences are read.
	if err := st.Devices.Remove(ctx, "d3"); err != nil {
		t.Fatal(err)
	}
	if sites, err := st.KnownSites(ctx); err != nil || !slices.Contains(sites, "victor-hugo") {
		t.Fatalf("known sites without d3 registered: %v %v", sites, err)
	}
	if _, err := st.DB.Exec(`DELETE FROM audit_log`); err == nil || !strings.Contains(err.Error(), "append-only") {
		t.Fatalf("the audit log's triggers are gone: DELETE gave %v", err)
	}
	st.Close()
	fresh.Close()

	// The hub runs on it: ingest takes its queue (two events the store was
	// down for) to the store (a new one: testdata holds no checkins.db).
	h := hubtest.Start(t, func() hub.Config { c := hub.Defaults(); c.DataDir = dir; return c }(), hub.Options{}, nil)
	day := time.Date(2026, 11, 23, 13, 0, 0, 0, time.UTC)
	waitFor(t, 20*time.Second, "the queued events stored", func() bool {
		evs, err := h.Store().Events(ctx, store.Query{From: day, To: day.Add(24 * time.Hour)})
		return err == nil && len(evs) == 2
	})
}

// A hub.db made by a hub before corrections had client_id gets the column
// (a step of version 1) and keeps its rows.
func TestHubDBFromBeforeClientID(t *testing.T) {
	dir := legacyDir(t)
	raw := rawOpen(t, dir)
	if _, err := raw.Exec(`DROP INDEX corrections_client; ALTER TABLE corrections DROP COLUMN client_id`); err != nil {
		t.Fatal(err)
	}
	before := rowCounts(t, raw)
	raw.Close()
	st := openState(t, dir)
	sameRows(t, before, rowCounts(t, st.DB))
	if got := query(t, st.DB, `SELECT name FROM pragma_table_info('corrections') WHERE name = 'client_id'`); len(got) != 1 {
		t.Fatal("no client_id column after the migration")
	}
	if got := query(t, st.DB, `SELECT name FROM sqlite_master WHERE name = 'corrections_client'`); len(got) != 1 {
		t.Fatal("no corrections_client index after the migration")
	}
	list, err := st.Corrections.List(context.Background(), corrections.Filter{})
	if err != nil || len(list) != 3 {
		t.Fatalf("corrections after the migration: %d, %v", len(list), err)
	}
}

// A hub.db from a newer pointage-hub is refused, unchanged, saying to
// upgrade; nothing else is opened.
func TestHubDBFromANewerHub(t *testing.T) {
	dir := t.TempDir()
	raw := rawOpen(t, dir)
	newer := db.Hub.Version() + 1
	if _, err := raw.Exec(fmt.Sprintf(`PRAGMA user_version = %d`, newer)); err != nil {
		t.Fatal(err)
	}
	cfg := hub.Defaults()
	cfg.DataDir = dir
	_, err := hub.OpenState(context.Background(), cfg, hub.StateOptions{})
	want := fmt.Sprintf("schema version %d is newer than this pointage-hub's (%d): upgrade pointage-hub", newer, db.Hub.Version())
	if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), filepath.Join(dir, "hub.db")) {
		t.Fatalf("OpenState = %v, want %q with the path", err, want)
	}
	if userVersion(t, raw) != newer || len(rowCounts(t, raw)) != 0 {
		t.Fatal("the newer hub.db was changed")
	}
	if _, err := os.Stat(filepath.Join(dir, "checkins.db")); !os.IsNotExist(err) {
		t.Fatalf("the store was opened: %v", err)
	}
	if _, err := hub.New(context.Background(), cfg, hub.Options{}); err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("hub.New = %v, want %q", err, want)
	}
}
