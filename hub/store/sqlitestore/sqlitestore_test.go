package sqlitestore_test

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"pointage/hub/db"
	"pointage/hub/store"
	"pointage/hub/store/sqlitestore"
	"pointage/hub/store/storetest"
)

func open(t testing.TB, path string) *sqlitestore.Store {
	t.Helper()
	s, err := sqlitestore.Open(context.Background(), path, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return open(t, filepath.Join(t.TempDir(), "checkins.db"))
	})
}

var noumea = time.FixedZone("", 11*3600)

func sample(seq uint64) store.Event {
	return store.Event{
		ID: fmt.Sprintf("01JDQ3ZC8M6X3W5R2Y7T%06d", seq), Site: "jules-ferry", Device: "jf-cantine-1",
		Epoch: "01JDQ3Y0000000000000000000", Reader: "entree", Seq: seq, Badge: "0A00BC614E",
		Service: "canteen", Dir: "auto",
		At:         time.Date(2026, 11, 28, 11, 32, 5, 123_000_000, noumea).Add(time.Duration(seq) * time.Second),
		ReceivedAt: time.Date(2026, 11, 28, 0, 40, 0, 0, time.UTC),
	}
}

// An event is on disk when Write returns: a store opened again on the same
// file reads it back, with the offset the device sent.
func TestDurable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data", "checkins.db")
	ctx := context.Background()
	s := open(t, path)
	want := []store.Event{sample(1), sample(2)}
	if err := s.Write(ctx, want); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = open(t, path)
	got, err := s.Events(ctx, store.Query{
		From: time.Date(2026, 11, 28, 0, 0, 0, 0, noumea), To: time.Date(2026, 11, 29, 0, 0, 0, 0, noumea)})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("reopened store has %d events, want %d", len(got), len(want))
	}
	for i := range want {
		if got, want := got[i].At.Format(time.RFC3339Nano), want[i].At.Format(time.RFC3339Nano); got != want {
			t.Errorf("event %d: At %s, want %s (offset kept)", i, got, want)
		}
		if got[i].ID != want[i].ID || got[i].Seq != want[i].Seq || !got[i].ReceivedAt.Equal(want[i].ReceivedAt) {
			t.Errorf("event %d: %+v, want %+v", i, got[i], want[i])
		}
	}
}

// A sub-millisecond part of At is not stored: events have millisecond precision.
func TestMillisecondPrecision(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "checkins.db"))
	e := sample(1)
	e.At = e.At.Add(456 * time.Microsecond)
	e.ReceivedAt = e.ReceivedAt.Add(789 * time.Microsecond)
	if err := s.Write(context.Background(), []store.Event{e}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Events(context.Background(), store.Query{From: e.At.Add(-time.Hour), To: e.At.Add(time.Hour)})
	if err != nil || len(got) != 1 {
		t.Fatalf("Events: %v, %v", got, err)
	}
	if want := e.At.Truncate(time.Millisecond); !got[0].At.Equal(want) {
		t.Errorf("At %s, want %s", got[0].At.Format(time.RFC3339Nano), want.Format(time.RFC3339Nano))
	}
	if want := e.ReceivedAt.Truncate(time.Millisecond); !got[0].ReceivedAt.Equal(want) {
		t.Errorf("ReceivedAt %s, want %s", got[0].ReceivedAt.Format(time.RFC3339Nano), want.Format(time.RFC3339Nano))
	}
}

// BenchmarkWrite writes batches of 1000 new events into a file-backed store.
func BenchmarkWrite(b *testing.B) {
	const batch = 1000
	s := open(b, filepath.Join(b.TempDir(), "checkins.db"))
	events := make([]store.Event, batch)
	ctx := context.Background()
	var seq uint64
	b.ResetTimer()
	for b.Loop() {
		for i := range events {
			seq++
			events[i] = sample(seq)
		}
		if err := s.Write(ctx, events); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "events/s")
}

// oldSchema is the table and indexes of a store made before
// checkins_at_site replaced checkins_at and checkins_site_at.
const oldSchema = `
CREATE TABLE checkins (
	device TEXT NOT NULL, epoch TEXT NOT NULL, seq INTEGER NOT NULL, id TEXT NOT NULL,
	site TEXT NOT NULL, reader TEXT NOT NULL, badge TEXT NOT NULL, service TEXT NOT NULL,
	dir TEXT NOT NULL, at TEXT NOT NULL, at_utc_ms INTEGER NOT NULL,
	received_at_ms INTEGER NOT NULL, review INTEGER NOT NULL,
	PRIMARY KEY (device, epoch, seq)
) WITHOUT ROWID;
CREATE INDEX checkins_at ON checkins (at_utc_ms);
CREATE INDEX checkins_site_at ON checkins (site, at_utc_ms);
INSERT INTO checkins VALUES ('jf-cantine-1', '01JDQ3Y0000000000000000000', 1, 'old-1', 'jules-ferry',
	'entree', '0A00BC614E', 'canteen', 'auto', '2026-11-28T11:32:06.123+11:00', 1795825926123,
	1795826400000, 0);
`

// A store made by an older hub opens with its events and the one index.
func TestOpenOldSchema(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "checkins.db")
	old, err := db.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := old.ExecContext(ctx, oldSchema); err != nil {
		t.Fatal(err)
	}
	old.Close()

	s := open(t, path)
	if err := s.Write(ctx, []store.Event{sample(2)}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Events(ctx, store.Query{Site: "jules-ferry",
		From: time.Date(2026, 11, 28, 0, 0, 0, 0, noumea), To: time.Date(2026, 11, 29, 0, 0, 0, 0, noumea)})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ID != "old-1" || got[1].ID != sample(2).ID {
		t.Fatalf("events %+v, want old-1 then %s", got, sample(2).ID)
	}
	s.Close()

	d, err := db.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var indexes string
	if err := d.QueryRowContext(ctx, `SELECT group_concat(name, ' ') FROM sqlite_schema
		WHERE type = 'index' AND tbl_name = 'checkins' AND sql IS NOT NULL`).Scan(&indexes); err != nil {
		t.Fatal(err)
	}
	if indexes != "checkins_at_site" {
		t.Errorf("indexes %q, want checkins_at_site alone", indexes)
	}
}

// A write whose context has ended stores nothing and leaves the store
// writable.
func TestWriteAfterCanceled(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "checkins.db"))
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Write(canceled, []store.Event{sample(1)}); err == nil {
		t.Fatal("Write with a canceled context: no error")
	}
	if err := s.Write(context.Background(), []store.Event{sample(2)}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Events(context.Background(), store.Query{
		From: time.Date(2026, 11, 28, 0, 0, 0, 0, noumea), To: time.Date(2026, 11, 29, 0, 0, 0, 0, noumea)})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Seq != 2 {
		t.Errorf("events %+v, want seq 2 alone", got)
	}
}

// An INSERT that SQLite refuses halfway through a batch leaves none of the
// batch stored (the chunks already run in its transaction are rolled
// back), and the same write connection, with its prepared INSERTs, goes on
// writing: the batch is stored whole once SQLite takes it.
func TestRefusedChunkRollsBack(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "checkins.db")
	s := open(t, path)
	if err := s.Write(ctx, []store.Event{sample(1)}); err != nil {
		t.Fatal(err)
	}
	other, err := db.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, err := other.ExecContext(ctx, `CREATE TRIGGER refuse BEFORE INSERT ON checkins
		WHEN NEW.badge = 'REFUSE' BEGIN SELECT RAISE(ABORT, 'refused by the test'); END`); err != nil {
		t.Fatal(err)
	}
	batch := []store.Event{sample(10), sample(11), sample(12)} // chunks of 2, then 1
	batch[2].Badge = "REFUSE"
	if err := s.Write(ctx, batch); err == nil {
		t.Fatal("Write of a batch SQLite refuses: no error")
	}
	day := store.Query{From: time.Date(2026, 11, 28, 0, 0, 0, 0, noumea), To: time.Date(2026, 11, 29, 0, 0, 0, 0, noumea)}
	seqs := func() []uint64 {
		t.Helper()
		got, err := s.Events(ctx, day)
		if err != nil {
			t.Fatal(err)
		}
		var out []uint64
		for _, e := range got {
			out = append(out, e.Seq)
		}
		return out
	}
	if got := seqs(); fmt.Sprint(got) != "[1]" {
		t.Fatalf("after the refused batch: seqs %v, want [1] (the batch rolled back)", got)
	}
	if _, err := other.ExecContext(ctx, `DROP TRIGGER refuse`); err != nil {
		t.Fatal(err)
	}
	if err := s.Write(ctx, batch); err != nil {
		t.Fatal(err)
	}
	if got := seqs(); fmt.Sprint(got) != "[1 10 11 12]" {
		t.Errorf("after writing the batch again: seqs %v, want [1 10 11 12]", got)
	}
}
