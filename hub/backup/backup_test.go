package backup

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// dataFolder makes a data folder like a hub's: hub.db (schema version 7)
// and a store, each with rows, and a file that is not a database.
func dataFolder(t *testing.T, rows int) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range []string{"hub.db", "checkins.db"} {
		d, err := openSQLite(filepath.Join(dir, name), false)
		if err != nil {
			t.Fatal(err)
		}
		stmts := []string{"PRAGMA journal_mode=WAL", "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)"}
		if name == "hub.db" {
			stmts = append(stmts, "PRAGMA user_version = 7")
		}
		for _, s := range stmts {
			if _, err := d.Exec(s); err != nil {
				t.Fatal(err)
			}
		}
		for i := range rows {
			if _, err := d.Exec("INSERT INTO t (v) VALUES (?)", fmt.Sprintf("%s row %d", name, i)); err != nil {
				t.Fatal(err)
			}
		}
		d.Close()
	}
	if err := os.WriteFile(filepath.Join(dir, "sites.yaml"), []byte("not a database\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

func count(t *testing.T, path string) int {
	t.Helper()
	d, err := openSQLite(path, true)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var n int
	if err := d.QueryRow("SELECT count(*) FROM t").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// snapshot is the data folder's files and their contents.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		if d.Type().IsRegular() && d.Name() != LockName { // the run lock is made by any hub or restore
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			rel, _ := filepath.Rel(dir, path)
			out[rel] = string(b)
		}
		return nil
	})
	return out
}

func TestBackupRestoreRoundTrip(t *testing.T) {
	ctx := context.Background()
	src := dataFolder(t, 500)
	// A hub holds the source open while the backup is taken: an online copy.
	live, err := openSQLite(filepath.Join(src, "hub.db"), false)
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	if _, err := live.Exec("INSERT INTO t (v) VALUES ('written by the running hub')"); err != nil {
		t.Fatal(err)
	}

	out := filepath.Join(t.TempDir(), "b", "pointage-backup.tar.gz")
	var steps []string
	m, err := Take(ctx, src, out, Options{HubVersion: "1.2.3", Progress: func(s string) { steps = append(steps, s) }})
	if err != nil {
		t.Fatal(err)
	}
	if names := []string{m.Files[0].Name, m.Files[1].Name}; len(m.Files) != 2 || names[0] != "hub.db" || names[1] != "checkins.db" {
		t.Fatalf("backup holds %+v, want hub.db then checkins.db (and not sites.yaml)", m.Files)
	}
	if m.Files[0].SchemaVersion != 7 || m.HubVersion != "1.2.3" || m.Format != Format {
		t.Fatalf("manifest %+v", m)
	}
	if len(steps) < 4 {
		t.Fatalf("progress told %q, want each database's copy and check", steps)
	}
	// Nothing is left beside the backup but the backup.
	if entries, _ := os.ReadDir(filepath.Dir(out)); len(entries) != 1 {
		t.Fatalf("the backup's folder holds %v, want the backup only", entries)
	}

	dst := filepath.Join(t.TempDir(), "restored")
	res, err := Restore(ctx, out, dst, false, Options{HubSchema: 7})
	if err != nil {
		t.Fatal(err)
	}
	if res.MovedTo != "" {
		t.Fatalf("restore into a new folder moved %s aside", res.MovedTo)
	}
	if n := count(t, filepath.Join(dst, "hub.db")); n != 501 {
		t.Fatalf("restored hub.db holds %d rows, want 501 (with the running hub's last one)", n)
	}
	if n := count(t, filepath.Join(dst, "checkins.db")); n != 500 {
		t.Fatalf("restored checkins.db holds %d rows, want 500", n)
	}
}

func TestRestoreRefusesAFolderHoldingDatabasesUnlessForced(t *testing.T) {
	ctx := context.Background()
	out := filepath.Join(t.TempDir(), "b.tar.gz")
	if _, err := Take(ctx, dataFolder(t, 10), out, Options{}); err != nil {
		t.Fatal(err)
	}
	dst := dataFolder(t, 3)
	before := snapshot(t, dst)
	_, err := Restore(ctx, out, dst, false, Options{})
	if !errors.Is(err, ErrNotEmpty) || !strings.Contains(err.Error(), "--force") || !strings.Contains(err.Error(), "hub.db") {
		t.Fatalf("restore into a folder with databases: %v, want ErrNotEmpty naming hub.db and --force", err)
	}
	if after := snapshot(t, dst); !mapsEqual(before, after) {
		t.Fatal("a refused restore changed the folder")
	}

	now := time.Date(2026, 12, 3, 9, 15, 0, 0, time.UTC)
	res, err := Restore(ctx, out, dst, true, Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	if res.MovedTo != filepath.Join(dst, "replaced-20261203-091500") {
		t.Fatalf("moved to %q", res.MovedTo)
	}
	if n := count(t, filepath.Join(dst, "hub.db")); n != 10 {
		t.Fatalf("forced restore: hub.db holds %d rows, want the backup's 10", n)
	}
	if n := count(t, filepath.Join(res.MovedTo, "hub.db")); n != 3 {
		t.Fatalf("the replaced hub.db holds %d rows, want its 3", n)
	}
	if _, err := os.Stat(filepath.Join(dst, "sites.yaml")); err != nil {
		t.Fatalf("restore touched a file that is not a database: %v", err)
	}
}

func TestRestoreRefusesAFolderARunningHubHolds(t *testing.T) {
	ctx := context.Background()
	out := filepath.Join(t.TempDir(), "b.tar.gz")
	if _, err := Take(ctx, dataFolder(t, 10), out, Options{}); err != nil {
		t.Fatal(err)
	}
	dst := t.TempDir()
	unlock, err := LockDataDir(dst)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := LockDataDir(dst); !errors.Is(err, ErrLocked) {
		t.Fatalf("a second lock: %v, want ErrLocked", err)
	}
	_, err = Restore(ctx, out, dst, true, Options{})
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "stop it first") {
		t.Fatalf("restore under a running hub: %v, want ErrLocked", err)
	}
	if _, err := os.Stat(filepath.Join(dst, "hub.db")); !os.IsNotExist(err) {
		t.Fatal("a refused restore wrote hub.db")
	}
	unlock()
	if _, err := Restore(ctx, out, dst, false, Options{}); err != nil {
		t.Fatalf("restore once the hub stopped: %v", err)
	}
}

func TestRestoreRefusesADamagedBackupAndChangesNothing(t *testing.T) {
	ctx := context.Background()
	good := filepath.Join(t.TempDir(), "b.tar.gz")
	if _, err := Take(ctx, dataFolder(t, 2000), good, Options{}); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	random := make([]byte, 4096)
	for i := range random {
		random[i] = byte(rng.Uint32())
	}
	flipped := bytes.Clone(raw)
	flipped[len(flipped)/2] ^= 0x40
	cases := map[string][]byte{
		"empty":          {},
		"truncated half": raw[:len(raw)/2],
		"truncated end":  raw[:len(raw)-10],
		"one byte flip":  flipped,
		"random bytes":   random,
		"a CSV":          []byte("badge;nom;prénom\n123;Dupont;Léa\n"),
	}
	for name, content := range cases {
		t.Run(name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "bad.tar.gz")
			if err := os.WriteFile(file, content, 0o600); err != nil {
				t.Fatal(err)
			}
			dst := dataFolder(t, 3)
			before := snapshot(t, dst)
			_, err := Restore(ctx, file, dst, true, Options{})
			var nb *NotABackupError
			if !errors.As(err, &nb) || !strings.Contains(err.Error(), "nothing was changed") {
				t.Fatalf("restore of a %s backup: %v, want a NotABackupError", name, err)
			}
			if after := snapshot(t, dst); !mapsEqual(before, after) {
				t.Fatalf("a refused restore changed the folder: before %v, after %v", keys(before), keys(after))
			}
			if _, err := Verify(ctx, file, Options{}); err == nil {
				t.Fatal("Verify accepted it")
			}
		})
	}
}

func TestRestoreRefusesABackupOfANewerHub(t *testing.T) {
	ctx := context.Background()
	out := filepath.Join(t.TempDir(), "b.tar.gz")
	if _, err := Take(ctx, dataFolder(t, 1), out, Options{HubVersion: "9.0"}); err != nil {
		t.Fatal(err)
	}
	dst := t.TempDir()
	_, err := Restore(ctx, out, dst, false, Options{HubSchema: 6})
	if err == nil || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("restore of a schema 7 backup by a hub that knows 6: %v, want refused as newer", err)
	}
	if entries, _ := os.ReadDir(dst); slices.ContainsFunc(entries, func(e os.DirEntry) bool { return strings.HasSuffix(e.Name(), ".db") }) {
		t.Fatal("a refused restore wrote a database")
	}
}

func TestTakeRefusesAFolderWithoutHubDB(t *testing.T) {
	_, err := Take(context.Background(), t.TempDir(), filepath.Join(t.TempDir(), "b.tar.gz"), Options{})
	if err == nil || !strings.Contains(err.Error(), "--data-dir") {
		t.Fatalf("backup of an empty folder: %v", err)
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
