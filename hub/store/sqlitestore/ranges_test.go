package sqlitestore

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"pointage/hub/store"
	"pointage/internal/wire"
)

func openStore(t testing.TB) *Store {
	t.Helper()
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "checkins.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

var (
	noumea = time.FixedZone("", 11*3600)
	day    = time.Date(2026, 11, 24, 0, 0, 0, 0, noumea) // a past day
	dayQ   = store.Query{From: day, To: day.Add(24 * time.Hour)}
)

// dayEvents is a day of two schools, with the offsets devices send (Nouméa's,
// UTC's "Z", one off by half an hour), review set on some, received late on others.
func dayEvents(n int) []store.Event {
	zones := []*time.Location{noumea, time.UTC, time.FixedZone("", -(3*3600 + 1800))}
	var evs []store.Event
	for i := range n {
		at := day.Add(7*time.Hour + time.Duration(i)*7*time.Second + time.Duration(i%1000)*time.Millisecond)
		evs = append(evs, store.Event{
			ID: fmt.Sprintf("01JDQ3ZC8M6X3W5R2Y7T%06d", i), Site: []string{"jules-ferry", "pasteur"}[i%2],
			Device: []string{"jf-1", "pa-1"}[i%2], Epoch: "01JDQ3Y0000000000000000000", Reader: []string{"entree", "sortie"}[i%3%2],
			Seq: uint64(i/2 + 1), Badge: fmt.Sprintf("0A%08X", i%37), Service: []wire.Service{"canteen", "garderie", "staff"}[i%3],
			Dir: []wire.Dir{"auto", "in", "out"}[i%3], At: at.In(zones[i%3]),
			ReceivedAt: at.Add(time.Duration(i%5) * time.Hour).UTC(), Review: i%7 == 0,
		})
	}
	return evs
}

func keptRanges(t *testing.T, s *Store) int {
	t.Helper()
	var n int
	if err := s.db.QueryRow(`SELECT count(*) FROM range_events`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func read(t *testing.T, s *Store, q store.Query) []store.Event {
	t.Helper()
	evs, err := s.Events(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// A past day read twice reads the same events, the second time from its kept
// row; an event of that day written later (late, or rewritten) is in the next
// read; purge forgets the kept rows with the events.
func TestKeptRangesStayExact(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	evs := dayEvents(3000)
	if err := s.Write(ctx, evs); err != nil {
		t.Fatal(err)
	}
	first := read(t, s, dayQ)
	if len(first) != len(evs) || keptRanges(t, s) != 1 {
		t.Fatalf("first read: %d events, %d kept ranges; want %d and 1", len(first), keptRanges(t, s), len(evs))
	}
	second := read(t, s, dayQ)
	if !reflect.DeepEqual(first, second) {
		for i := range first {
			if !reflect.DeepEqual(first[i], second[i]) {
				t.Fatalf("event %d differs read from the kept range:\n%#v\n%#v", i, first[i], second[i])
			}
		}
		t.Fatalf("the kept range has %d events, the check-ins %d", len(second), len(first))
	}

	// A late event of that day.
	late := dayEvents(3001)[3000]
	if err := s.Write(ctx, []store.Event{late}); err != nil {
		t.Fatal(err)
	}
	if keptRanges(t, s) != 1 {
		t.Error("a late event of a kept day dropped its kept range instead of joining it")
	}
	if got := read(t, s, dayQ); len(got) != 3001 {
		t.Fatalf("after a late event: %d events, want 3001", len(got))
	}
	// The same event again with a change (a resend after a review mark).
	changed := evs[10]
	changed.Review = !changed.Review
	if err := s.Write(ctx, []store.Event{changed}); err != nil {
		t.Fatal(err)
	}
	got := read(t, s, dayQ)
	if i := indexOf(got, changed.ID); i < 0 || got[i].Review != changed.Review {
		t.Fatalf("the rewritten event reads as before its change")
	}
	// An event of another day leaves the kept range alone.
	read(t, s, dayQ)
	other := dayEvents(1)[0]
	other.At, other.Seq, other.ID = other.At.Add(48*time.Hour), 9999, "01JDQ3ZC8M6X3W5R2Y7TOTHERD"
	if err := s.Write(ctx, []store.Event{other}); err != nil {
		t.Fatal(err)
	}
	if keptRanges(t, s) != 1 {
		t.Error("a write into another day dropped this day's kept range")
	}

	if _, err := s.Purge(ctx, day.Add(12*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if keptRanges(t, s) != 0 {
		t.Error("purge left a kept range beginning before its limit")
	}
	for _, e := range read(t, s, dayQ) {
		if e.At.Before(day.Add(12 * time.Hour)) {
			t.Fatalf("a purged event reads back: %v", e.At)
		}
	}
}

// Late events merged into a kept day read exactly as the day read from the
// check-ins table: new events, rewrites (a field changed, At moved within the day
// or out of it), a key written twice in one batch, times finer than the table's
// milliseconds, in random rounds.
func TestLateEventsMergeIntoKeptRange(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	evs := dayEvents(2000)
	if err := s.Write(ctx, evs); err != nil {
		t.Fatal(err)
	}
	read(t, s, dayQ)
	rng := rand.New(rand.NewPCG(17, 2026))
	zones := []*time.Location{noumea, time.UTC, time.FixedZone("", -(3*3600 + 1800))}
	next := 0
	for round := range 40 {
		var batch []store.Event
		for range 1 + rng.IntN(30) {
			var e store.Event
			switch r := rng.IntN(5); {
			case r < 2: // a new event of the day
				next++
				e = dayEvents(1)[0]
				e.Device, e.Seq, e.ID = "late-1", uint64(next), fmt.Sprintf("01JDQ3ZC8M6X3W5R2YLATE%04d", next)
			default: // an event written before, changed
				e = evs[rng.IntN(len(evs))]
				e.Review, e.Reader = !e.Review, fmt.Sprintf("lecteur-%d", rng.IntN(3))
			}
			switch rng.IntN(6) {
			case 0: // moved out of the day
				e.At = day.Add(24*time.Hour + time.Duration(rng.IntN(3600))*time.Second)
			case 1, 2: // moved within it, at a time finer than a millisecond
				e.At = day.Add(time.Duration(rng.Int64N(int64(24 * time.Hour))))
			}
			e.At, e.ReceivedAt = e.At.In(zones[rng.IntN(3)]), e.At.Add(time.Duration(rng.Int64N(int64(time.Hour))))
			batch = append(batch, e)
			if rng.IntN(10) == 0 { // the same key again in the batch, changed
				e.Review = !e.Review
				batch = append(batch, e)
			}
		}
		if err := s.Write(ctx, batch); err != nil {
			t.Fatal(err)
		}
		if keptRanges(t, s) == 0 {
			t.Fatalf("round %d: the late events dropped the kept day", round)
		}
		merged := read(t, s, dayQ)
		if _, err := s.db.Exec(`DELETE FROM range_events`); err != nil {
			t.Fatal(err)
		}
		fresh := read(t, s, dayQ) // from the check-ins (and kept again)
		if !reflect.DeepEqual(merged, fresh) {
			for i := range min(len(merged), len(fresh)) {
				if !reflect.DeepEqual(merged[i], fresh[i]) {
					t.Fatalf("round %d: event %d of the merged day differs from the check-ins':\n%#v\n%#v", round, i, merged[i], fresh[i])
				}
			}
			t.Fatalf("round %d: the merged day has %d events, the check-ins %d", round, len(merged), len(fresh))
		}
	}
}

func indexOf(evs []store.Event, id string) int {
	for i, e := range evs {
		if e.ID == id {
			return i
		}
	}
	return -1
}

// Only ended ranges of every site, at most a day and a bit long, are kept.
func TestOnlyPastCityDaysAreKept(t *testing.T) {
	s := openStore(t)
	if err := s.Write(context.Background(), dayEvents(100)); err != nil {
		t.Fatal(err)
	}
	s.now = func() time.Time { return day.Add(20 * time.Hour) } // the day is not over
	read(t, s, dayQ)
	read(t, s, store.Query{From: day, To: day.Add(20 * time.Hour), Site: "pasteur"})
	read(t, s, store.Query{From: day, To: day.Add(20 * time.Hour), BadgeSuffixes: []string{"01"}})
	read(t, s, store.Query{From: day.Add(-48 * time.Hour), To: day.Add(19 * time.Hour)})
	if n := keptRanges(t, s); n != 0 {
		t.Fatalf("%d ranges kept, want 0", n)
	}
}

// A read that began before a Write ended does not keep what it read.
func TestReadDuringWriteIsNotKept(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	evs := dayEvents(10)
	if err := s.Write(ctx, evs[:5]); err != nil {
		t.Fatal(err)
	}
	gen := s.gen.Load()
	// Here a read of the day has read evs[:5] from the check-ins; a Write ends.
	if err := s.Write(ctx, evs[5:]); err != nil {
		t.Fatal(err)
	}
	if err := s.keepRange(ctx, dayQ.From.UnixMilli(), dayQ.To.UnixMilli(), gen, evs[:5]); err != nil {
		t.Fatal(err)
	}
	if got := read(t, s, dayQ); len(got) != 10 {
		t.Fatalf("%d events after a read raced a write, want 10", len(got))
	}
}

// A damaged kept range is read again from the check-ins.
func TestDamagedKeptRange(t *testing.T) {
	s := openStore(t)
	if err := s.Write(context.Background(), dayEvents(200)); err != nil {
		t.Fatal(err)
	}
	want := read(t, s, dayQ)
	if _, err := s.db.Exec(`UPDATE range_events SET data = substr(data, 1, 100) || x'A5C3' || substr(data, 103)`); err != nil {
		t.Fatal(err)
	}
	if got := read(t, s, dayQ); !reflect.DeepEqual(got, want) {
		t.Fatalf("a damaged kept range: %d events, want %d", len(got), len(want))
	}
}

func FuzzDecodeEvents(f *testing.F) {
	f.Add(encodeEvents(dayEvents(5)))
	f.Add(encodeEvents(nil))
	f.Fuzz(func(t *testing.T, data []byte) {
		evs, err := decodeEvents(data)
		if err != nil {
			return
		}
		// What decodes encodes to the same events.
		again, err := decodeEvents(encodeEvents(evs))
		if err != nil || len(again) != len(evs) {
			t.Fatalf("re-encoded: %d events, %v; want %d", len(again), err, len(evs))
		}
	})
}
