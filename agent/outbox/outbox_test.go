package outbox

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock {
	return &clock{t: time.Date(2026, 11, 28, 0, 30, 0, 0, time.UTC)}
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func noumea(t testing.TB) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Pacific/Noumea")
	if err != nil {
		t.Fatalf("load Pacific/Noumea: %v", err)
	}
	return loc
}

func openTest(t testing.TB, path string, c *clock) *Outbox {
	t.Helper()
	opts := Options{Path: path}
	if c != nil {
		opts.Now = c.Now
	}
	o, err := Open(opts)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	t.Cleanup(func() { o.Close() })
	return o
}

func testScan(i int) Scan {
	return Scan{
		Reader: "entree", Badge: fmt.Sprintf("0A%08X", i), Service: "canteen", Dir: "auto",
		At: time.Date(2026, 11, 28, 11, 32, 5, 123_456_789, time.FixedZone("NCT", 11*3600)).Add(time.Duration(i) * time.Second),
	}
}

func mustAppend(t testing.TB, o *Outbox, s Scan) Event {
	t.Helper()
	ev, err := o.Append(context.Background(), s)
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	return ev
}

func seqsOf(evs []Event) []uint64 {
	out := make([]uint64, len(evs))
	for i, ev := range evs {
		out[i] = ev.Seq
	}
	return out
}

func seqRange(from, to uint64) []uint64 {
	var out []uint64
	for s := from; s <= to; s++ {
		out = append(out, s)
	}
	return out
}

func TestOpenPragmas(t *testing.T) {
	o := openTest(t, filepath.Join(t.TempDir(), "sub", "outbox.db"), nil)
	ctx := context.Background()
	for _, tc := range []struct {
		pragma string
		want   string
	}{
		{"journal_mode", "wal"},
		{"synchronous", "2"}, // FULL
		{"busy_timeout", "5000"},
		{"user_version", "1"},
	} {
		var got string
		if err := o.db.QueryRowContext(ctx, "PRAGMA "+tc.pragma).Scan(&got); err != nil {
			t.Fatalf("PRAGMA %s: %v", tc.pragma, err)
		}
		if got != tc.want {
			t.Errorf("PRAGMA %s = %q, want %q", tc.pragma, got, tc.want)
		}
	}
}

func TestOpenEmptyPath(t *testing.T) {
	if _, err := Open(Options{}); err == nil {
		t.Fatal("Open with an empty path: no error")
	}
}

func TestAppendSeqsAndReopen(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "outbox.db")
	c := newClock()
	o := openTest(t, path, c)
	epoch := o.Epoch()
	if len(epoch) != 26 {
		t.Fatalf("epoch %q is not a ULID", epoch)
	}
	var ids []string
	for i := 1; i <= 3; i++ {
		ev := mustAppend(t, o, testScan(i))
		if ev.Seq != uint64(i) {
			t.Fatalf("append %d: seq %d", i, ev.Seq)
		}
		if ev.Epoch != epoch || len(ev.ID) != 26 || slices.Contains(ids, ev.ID) {
			t.Fatalf("append %d: epoch %q id %q (ids so far %v)", i, ev.Epoch, ev.ID, ids)
		}
		ids = append(ids, ev.ID)
		c.Advance(time.Second)
	}
	if err := o.Close(); err != nil {
		t.Fatal(err)
	}

	o2 := openTest(t, path, c)
	if o2.Epoch() != epoch {
		t.Fatalf("epoch after reopen %q, want %q", o2.Epoch(), epoch)
	}
	if ev := mustAppend(t, o2, testScan(4)); ev.Seq != 4 {
		t.Fatalf("seq after reopen %d, want 4", ev.Seq)
	}

	o3 := openTest(t, filepath.Join(dir, "other.db"), c)
	if o3.Epoch() == epoch {
		t.Fatalf("a new outbox reuses the epoch %q", epoch)
	}
	if ev := mustAppend(t, o3, testScan(1)); ev.Seq != 1 {
		t.Fatalf("first seq of a new outbox %d, want 1", ev.Seq)
	}
}

func TestAppendStoresFields(t *testing.T) {
	c := newClock()
	o := openTest(t, filepath.Join(t.TempDir(), "outbox.db"), c)
	loc := noumea(t)
	s := Scan{Reader: "porte-garderie", Badge: "0A00BC614E", Service: "garderie", Dir: "in",
		At: time.Date(2026, 11, 28, 16, 2, 9, 987_654_321, loc)}
	got := mustAppend(t, o, s)

	evs, err := o.Pending(context.Background(), 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 {
		t.Fatalf("pending %d events, want 1", len(evs))
	}
	ev := evs[0]
	const wantAt = "2026-11-28T16:02:09.987+11:00"
	for _, e := range []Event{got, ev} {
		if e.At.Format(atLayout) != wantAt {
			t.Errorf("at %s, want %s", e.At.Format(atLayout), wantAt)
		}
	}
	if ev.ID != got.ID || ev.Seq != 1 || ev.Epoch != o.Epoch() || ev.Reader != s.Reader ||
		ev.Badge != s.Badge || ev.Service != s.Service || ev.Dir != s.Dir || ev.Acked ||
		!ev.PublishedAt.IsZero() || !ev.CreatedAt.Equal(c.Now()) {
		t.Errorf("stored event %+v, appended %+v", ev, got)
	}

	// A zero At takes the outbox clock.
	z := mustAppend(t, o, Scan{Reader: "r", Badge: "B", Service: "staff", Dir: "auto"})
	if !z.At.Equal(c.Now()) {
		t.Errorf("zero at stored as %v, want %v", z.At, c.Now())
	}
}

func TestAppendRejectsIncompleteScan(t *testing.T) {
	o := openTest(t, filepath.Join(t.TempDir(), "outbox.db"), nil)
	s := testScan(1)
	s.Badge = ""
	_, err := o.Append(context.Background(), s)
	if err == nil || errors.Is(err, ErrUnavailable) {
		t.Fatalf("Append with an empty badge: %v, want a non-unavailable error", err)
	}
	if ev := mustAppend(t, o, testScan(2)); ev.Seq != 1 {
		t.Fatalf("seq after a rejected scan %d, want 1", ev.Seq)
	}
}

func TestAppendConcurrent(t *testing.T) {
	t.Parallel()
	o := openTest(t, filepath.Join(t.TempDir(), "outbox.db"), nil)
	const workers, each = 8, 200
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		seen = make(map[uint64]bool)
		errs = make(chan error, workers)
	)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				ev, err := o.Append(context.Background(), testScan(w*each+i))
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				if seen[ev.Seq] {
					errs <- fmt.Errorf("seq %d given twice", ev.Seq)
				}
				seen[ev.Seq] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for s := uint64(1); s <= workers*each; s++ {
		if !seen[s] {
			t.Fatalf("seq %d never given (%d seqs seen)", s, len(seen))
		}
	}
	if len(seen) != workers*each {
		t.Fatalf("%d seqs given, want %d", len(seen), workers*each)
	}
	evs, err := o.Pending(context.Background(), 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(seqsOf(evs), seqRange(1, workers*each)) {
		t.Fatalf("stored seqs are not exactly 1..%d", workers*each)
	}
}

func TestPendingAfterSeqAndLimit(t *testing.T) {
	o := openTest(t, filepath.Join(t.TempDir(), "outbox.db"), nil)
	ctx := context.Background()
	for i := range 10 {
		mustAppend(t, o, testScan(i))
	}
	for _, tc := range []struct {
		name  string
		after uint64
		limit int
		want  []uint64
	}{
		{"all", 0, 0, seqRange(1, 10)},
		{"limit", 0, 3, seqRange(1, 3)},
		{"after", 7, 0, seqRange(8, 10)},
		{"after and limit", 4, 2, seqRange(5, 6)},
		{"after the last", 10, 5, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			evs, err := o.Pending(ctx, tc.after, tc.limit)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(seqsOf(evs), tc.want) {
				t.Fatalf("Pending(%d, %d) = %v, want %v", tc.after, tc.limit, seqsOf(evs), tc.want)
			}
		})
	}
}

func TestAck(t *testing.T) {
	c := newClock()
	o := openTest(t, filepath.Join(t.TempDir(), "outbox.db"), c)
	ctx := context.Background()
	for i := range 5 {
		mustAppend(t, o, testScan(i))
	}
	pending := func() []uint64 {
		t.Helper()
		evs, err := o.Pending(ctx, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		return seqsOf(evs)
	}
	ack := func(epoch string, through uint64, wantNew int) {
		t.Helper()
		n, err := o.Ack(ctx, epoch, through)
		if err != nil {
			t.Fatalf("Ack(%q, %d): %v", epoch, through, err)
		}
		if n != wantNew {
			t.Fatalf("Ack(%q, %d) acked %d events, want %d", epoch, through, n, wantNew)
		}
	}

	ack("01JDQ3Y0000000000000000000", 5, 0) // another epoch
	ack("", 5, 0)
	if got := pending(); !slices.Equal(got, seqRange(1, 5)) {
		t.Fatalf("pending after other epochs' acks %v", got)
	}

	ack(o.Epoch(), 3, 3)
	if got := pending(); !slices.Equal(got, seqRange(4, 5)) {
		t.Fatalf("pending after ack 3: %v, want [4 5]", got)
	}
	ack(o.Epoch(), 3, 0) // idempotent
	ack(o.Epoch(), 1, 0) // monotonic: a lower ack un-acks nothing
	if got := pending(); !slices.Equal(got, seqRange(4, 5)) {
		t.Fatalf("pending after a lower ack: %v, want [4 5]", got)
	}
	evs, err := o.Range(ctx, o.Epoch(), 1, 5)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs {
		if ev.Acked != (ev.Seq <= 3) {
			t.Errorf("seq %d acked=%v", ev.Seq, ev.Acked)
		}
	}

	// An ack beyond the last seq acks what exists, not seqs yet to come.
	ack(o.Epoch(), 100, 2)
	if got := pending(); len(got) != 0 {
		t.Fatalf("pending after ack 100: %v", got)
	}
	if ev := mustAppend(t, o, testScan(6)); ev.Seq != 6 || ev.Acked {
		t.Fatalf("appended %+v", ev)
	}
	if got := pending(); !slices.Equal(got, []uint64{6}) {
		t.Fatalf("pending after appending past an earlier ack 100: %v, want [6]", got)
	}
	st, err := o.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.AckedThrough != 5 || st.Pending != 1 || st.LastSeq != 6 {
		t.Fatalf("stats %+v, want acked_through 5, pending 1, last_seq 6", st)
	}
}

func TestDuePendingAndMarkPublished(t *testing.T) {
	c := newClock()
	o := openTest(t, filepath.Join(t.TempDir(), "outbox.db"), c)
	ctx := context.Background()
	for i := range 4 {
		mustAppend(t, o, testScan(i))
	}
	t0 := c.Now()
	if err := o.MarkPublished(ctx, []uint64{1, 2, 3, 99}, t0); err != nil {
		t.Fatal(err)
	}
	if err := o.MarkPublished(ctx, nil, t0); err != nil {
		t.Fatal(err)
	}
	due := func(olderThan time.Time) []uint64 {
		t.Helper()
		evs, err := o.DuePending(ctx, olderThan, 0)
		if err != nil {
			t.Fatal(err)
		}
		return seqsOf(evs)
	}
	if got := due(t0); !slices.Equal(got, []uint64{4}) {
		t.Fatalf("due before %v: %v, want [4] (never published)", t0, got)
	}
	if got := due(t0.Add(time.Millisecond)); !slices.Equal(got, seqRange(1, 4)) {
		t.Fatalf("due 1 ms later: %v, want [1 2 3 4]", got)
	}
	if _, err := o.Ack(ctx, o.Epoch(), 2); err != nil {
		t.Fatal(err)
	}
	t1 := t0.Add(30 * time.Second)
	if err := o.MarkPublished(ctx, []uint64{3}, t1); err != nil {
		t.Fatal(err)
	}
	if got := due(t1); !slices.Equal(got, []uint64{4}) {
		t.Fatalf("due before t1: %v, want [4]", got)
	}
	if got := due(t1.Add(time.Second)); !slices.Equal(got, []uint64{3, 4}) {
		t.Fatalf("due after t1: %v, want [3 4] (1, 2 are acked)", got)
	}
	evs, err := o.DuePending(ctx, t1.Add(time.Second), 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 || evs[0].Seq != 3 || !evs[0].PublishedAt.Equal(t1) {
		t.Fatalf("DuePending limit 1: %+v, want seq 3 published at %v", evs, t1)
	}

	// More seqs than one statement binds.
	defer func(n int) { publishBatch = n }(publishBatch)
	publishBatch = 3
	for i := range 6 {
		mustAppend(t, o, testScan(i))
	}
	all := seqRange(1, 10)
	if err := o.MarkPublished(ctx, all, t1); err != nil {
		t.Fatal(err)
	}
	if got := due(t1); len(got) != 0 {
		t.Fatalf("%d events still due after publishing all", len(got))
	}
}

func TestRange(t *testing.T) {
	c := newClock()
	o := openTest(t, filepath.Join(t.TempDir(), "outbox.db"), c)
	ctx := context.Background()
	for i := range 6 {
		mustAppend(t, o, testScan(i))
	}
	if _, err := o.Ack(ctx, o.Epoch(), 4); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		epoch    string
		from, to uint64
		want     []uint64
	}{
		{"acked and pending", o.Epoch(), 3, 5, seqRange(3, 5)},
		{"beyond the last", o.Epoch(), 5, 50, seqRange(5, 6)},
		{"single", o.Epoch(), 2, 2, []uint64{2}},
		{"reversed", o.Epoch(), 5, 3, nil},
		{"other epoch", "01JDQ3Y0000000000000000000", 1, 6, nil},
		{"huge", o.Epoch(), 0, 1<<64 - 1, seqRange(1, 6)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			evs, err := o.Range(ctx, tc.epoch, tc.from, tc.to)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(seqsOf(evs), tc.want) {
				t.Fatalf("Range(%d, %d) = %v, want %v", tc.from, tc.to, seqsOf(evs), tc.want)
			}
		})
	}
}

func TestPrune(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "outbox.db")
	c := newClock()
	o := openTest(t, path, c)
	ctx := context.Background()
	for i := range 8 {
		mustAppend(t, o, testScan(i))
	}
	if _, err := o.Ack(ctx, o.Epoch(), 3); err != nil { // acked at t0
		t.Fatal(err)
	}
	c.Advance(24 * time.Hour)
	t1 := c.Now()
	if _, err := o.Ack(ctx, o.Epoch(), 6); err != nil { // 4..6 acked at t1
		t.Fatal(err)
	}
	held := func() []uint64 {
		t.Helper()
		evs, err := o.Range(ctx, o.Epoch(), 0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		return seqsOf(evs)
	}

	n, err := o.Prune(ctx, t1) // only those acked strictly before t1
	if err != nil {
		t.Fatal(err)
	}
	if n != 3 || !slices.Equal(held(), seqRange(4, 8)) {
		t.Fatalf("prune before t1 deleted %d, holds %v; want 3 deleted, 4..8 held", n, held())
	}
	// Even a cutoff in the far future never deletes pending events.
	if n, err = o.Prune(ctx, t1.Add(365*24*time.Hour)); err != nil || n != 3 {
		t.Fatalf("prune all acked: %d, %v; want 3", n, err)
	}
	if !slices.Equal(held(), seqRange(7, 8)) {
		t.Fatalf("holds %v after pruning every acked event, want the pending 7, 8", held())
	}
	if _, err := o.Ack(ctx, o.Epoch(), 8); err != nil {
		t.Fatal(err)
	}
	if _, err := o.Prune(ctx, t1.Add(365*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	st, err := o.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Held != 0 || st.LastSeq != 8 || st.AckedThrough != 8 || st.Pending != 0 {
		t.Fatalf("stats after pruning everything: %+v", st)
	}
	o.Close()

	o = openTest(t, path, c)
	if ev := mustAppend(t, o, testScan(9)); ev.Seq != 9 {
		t.Fatalf("seq after pruning everything and reopening: %d, want 9", ev.Seq)
	}
}

func TestClose(t *testing.T) {
	o := openTest(t, filepath.Join(t.TempDir(), "outbox.db"), nil)
	if err := o.Close(); err != nil {
		t.Fatal(err)
	}
	if err := o.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := o.Append(context.Background(), testScan(1)); !errors.Is(err, ErrClosed) {
		t.Fatalf("Append after Close: %v, want ErrClosed", err)
	}
	if _, err := o.Pending(context.Background(), 0, 0); !errors.Is(err, ErrClosed) {
		t.Fatalf("Pending after Close: %v, want ErrClosed", err)
	}
}

func TestAppendCanceledContext(t *testing.T) {
	o := openTest(t, filepath.Join(t.TempDir(), "outbox.db"), nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := o.Append(ctx, testScan(1)); !errors.Is(err, context.Canceled) {
		t.Fatalf("Append with a canceled context: %v", err)
	}
	if ev := mustAppend(t, o, testScan(2)); ev.Seq != 1 {
		t.Fatalf("seq after a canceled Append %d, want 1", ev.Seq)
	}
}

// TestOpenOddPath checks the path reaches SQLite intact whatever URI syntax
// it contains.
func TestOpenOddPath(t *testing.T) {
	path := filepath.Join(t.TempDir(), "données a b?c#d%e&f", "outbox.db")
	o := openTest(t, path, nil)
	mustAppend(t, o, testScan(1))
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("outbox not at %s: %v", path, err)
	}
	st, err := ReadStats(context.Background(), path)
	if err != nil || st.LastSeq != 1 || st.Epoch != o.Epoch() {
		t.Fatalf("ReadStats(%s) = %+v, %v", path, st, err)
	}
}
