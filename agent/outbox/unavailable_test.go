package outbox

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// The tests run as root in CI, where permissions stop nothing; they make
// the writer connection itself refuse writes, which SQLite reports exactly
// as it reports a full disk or a read-only file system. The real file-system
// version (a file size limit) is in unavailable_linux_test.go.

func TestUnavailableDiskFull(t *testing.T) {
	testUnavailable(t, sqlite3.SQLITE_FULL,
		func(o *Outbox) error {
			// The database may not grow beyond its current pages.
			_, err := o.db.Exec("PRAGMA max_page_count = " + fmt.Sprint(pageCount(t, o)))
			return err
		},
		func(o *Outbox) error {
			_, err := o.db.Exec("PRAGMA max_page_count = 1073741823")
			return err
		})
}

func TestUnavailableReadOnly(t *testing.T) {
	testUnavailable(t, sqlite3.SQLITE_READONLY,
		func(o *Outbox) error {
			_, err := o.db.Exec("PRAGMA query_only = 1")
			return err
		},
		func(o *Outbox) error {
			_, err := o.db.Exec("PRAGMA query_only = 0")
			return err
		})
}

func pageCount(t *testing.T, o *Outbox) int {
	t.Helper()
	var n int
	if err := o.db.QueryRow("PRAGMA page_count").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// testUnavailable appends, applies the condition, appends until a write
// fails, checks the failure is ErrUnavailable (with SQLite's code) and
// consumed no seq, lifts the condition and checks the next seq follows.
func testUnavailable(t *testing.T, code int, apply, lift func(*Outbox) error) {
	path := filepath.Join(t.TempDir(), "outbox.db")
	o := openTest(t, path, nil)
	ctx := context.Background()
	var last uint64
	for i := range 3 {
		last = mustAppend(t, o, testScan(i)).Seq
	}
	if err := apply(o); err != nil {
		t.Fatal(err)
	}
	var failed error
	for i := 0; i < 1000 && failed == nil; i++ {
		ev, err := o.Append(ctx, testScan(i))
		if err != nil {
			failed = err
			break
		}
		if ev.Seq != last+1 {
			t.Fatalf("seq %d after %d", ev.Seq, last)
		}
		last = ev.Seq
	}
	if failed == nil {
		t.Fatal("Append never failed")
	}
	if !errors.Is(failed, ErrUnavailable) {
		t.Fatalf("Append error %v does not match ErrUnavailable", failed)
	}
	var se *sqlite.Error
	if !errors.As(failed, &se) || se.Code()&0xff != code {
		t.Fatalf("Append error %v: want SQLite code %d", failed, code)
	}
	t.Logf("after seq %d: %v", last, failed)
	if _, err := o.Append(ctx, testScan(0)); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("second Append while unavailable: %v", err)
	}
	st, err := o.Stats(ctx)
	if err != nil {
		t.Fatalf("Stats while unavailable: %v", err)
	}
	if st.LastSeq != last {
		t.Fatalf("last_seq %d after failed appends, want %d", st.LastSeq, last)
	}

	if err := lift(o); err != nil {
		t.Fatal(err)
	}
	if ev := mustAppend(t, o, testScan(0)); ev.Seq != last+1 {
		t.Fatalf("seq after the condition is lifted %d, want %d", ev.Seq, last+1)
	}
	if err := o.Close(); err != nil {
		t.Fatal(err)
	}
	o = openTest(t, path, nil)
	evs, err := o.Pending(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := seqsOf(evs); len(got) != int(last+1) || got[len(got)-1] != last+1 {
		t.Fatalf("stored seqs %v, want 1..%d", got, last+1)
	}
}
