package outbox

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func TestStats(t *testing.T) {
	c := newClock()
	o := openTest(t, filepath.Join(t.TempDir(), "outbox.db"), c)
	ctx := context.Background()

	st, err := o.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if (st != Stats{Epoch: o.Epoch()}) {
		t.Fatalf("stats of a new outbox %+v", st)
	}

	var created []time.Time
	for i := range 10 {
		created = append(created, mustAppend(t, o, testScan(i)).CreatedAt)
		c.Advance(1500 * time.Millisecond)
	}
	if _, err := o.Ack(ctx, o.Epoch(), 4); err != nil {
		t.Fatal(err)
	}
	st, err = o.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Epoch != o.Epoch() || st.LastSeq != 10 || st.Pending != 6 || st.AckedThrough != 4 || st.Held != 10 ||
		st.OldestPendingAt == nil || !st.OldestPendingAt.Equal(created[4]) {
		t.Fatalf("stats %+v (oldest %v), want last_seq 10, pending 6, acked_through 4, held 10, oldest %v",
			st, st.OldestPendingAt, created[4])
	}
	if _, err := o.Ack(ctx, o.Epoch(), 10); err != nil {
		t.Fatal(err)
	}
	if st, err = o.Stats(ctx); err != nil || st.Pending != 0 || st.OldestPendingAt != nil {
		t.Fatalf("stats with nothing pending %+v, %v", st, err)
	}
}

func TestReadStatsMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "outbox.db")
	_, err := ReadStats(context.Background(), path)
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "does not exist yet") ||
		!strings.Contains(err.Error(), path) {
		t.Fatalf("ReadStats of a missing file: %v", err)
	}
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("ReadStats created %s: %v", path, err)
	}
}

func TestReadStatsNotAnOutbox(t *testing.T) {
	path := filepath.Join(t.TempDir(), "outbox.db")
	if err := os.WriteFile(path, []byte("not a database, just some text that is long enough"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadStats(context.Background(), path); err == nil {
		t.Fatal("ReadStats of a text file: no error")
	}
}

// TestReadStatsWhileWriting reads the figures from the file while another
// Outbox holds it open and appends, as `pointage-agent outbox` does while
// the agent runs.
func TestReadStatsWhileWriting(t *testing.T) {
	path := filepath.Join(t.TempDir(), "outbox.db")
	o := openTest(t, path, nil)
	ctx := context.Background()
	for i := range 10 {
		mustAppend(t, o, testScan(i))
	}
	if _, err := o.Ack(ctx, o.Epoch(), 4); err != nil {
		t.Fatal(err)
	}
	want, err := o.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ReadStats(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if got.Epoch != want.Epoch || got.LastSeq != 10 || got.Pending != 6 || got.AckedThrough != 4 ||
		got.Held != 10 || got.OldestPendingAt == nil || !got.OldestPendingAt.Equal(*want.OldestPendingAt) {
		t.Fatalf("ReadStats %+v, Outbox.Stats %+v", got, want)
	}

	// Keep appending and acknowledging while reading.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			ev, err := o.Append(ctx, testScan(i))
			if err != nil {
				t.Error(err)
				return
			}
			if i%7 == 0 {
				if _, err := o.Ack(ctx, o.Epoch(), ev.Seq-3); err != nil {
					t.Error(err)
					return
				}
			}
		}
	})
	var prev uint64
	deadline := time.Now().Add(500 * time.Millisecond)
	reads := 0
	for time.Now().Before(deadline) {
		st, err := ReadStats(ctx, path)
		if err != nil {
			t.Errorf("ReadStats while writing: %v", err)
			break
		}
		if st.LastSeq < prev || st.Pending != int(st.LastSeq-st.AckedThrough) || st.Held != int(st.LastSeq) {
			t.Errorf("inconsistent figures %+v (previous last_seq %d)", st, prev)
			break
		}
		prev = st.LastSeq
		reads++
	}
	close(stop)
	wg.Wait()
	if prev <= 10 {
		t.Errorf("ReadStats never saw a new append (last_seq %d after %d reads)", prev, reads)
	}
}

// TestReadStatsReadOnly checks ReadStats writes nothing to a closed outbox.
// (SQLite's read-only WAL readers may create an empty -wal and the -shm
// index beside it; the agent's next Open uses them as usual.)
func TestReadStatsReadOnly(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "outbox.db")
	o := openTest(t, path, nil)
	for i := range 3 {
		mustAppend(t, o, testScan(i))
	}
	if err := o.Close(); err != nil {
		t.Fatal(err)
	}
	before := fileDigest(t, path)
	st, err := ReadStats(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	if st.LastSeq != 3 || st.Pending != 3 {
		t.Fatalf("ReadStats %+v", st)
	}
	if after := fileDigest(t, path); after != before {
		t.Fatal("ReadStats changed the database file")
	}
	if fi, err := os.Stat(path + "-wal"); err == nil && fi.Size() != 0 {
		t.Fatalf("ReadStats wrote %d bytes to the WAL", fi.Size())
	}
	o = openTest(t, path, nil)
	if ev := mustAppend(t, o, testScan(4)); ev.Seq != 4 {
		t.Fatalf("seq after ReadStats %d, want 4", ev.Seq)
	}
}

func fileDigest(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

func TestWriteText(t *testing.T) {
	oldest := time.Date(2026, 11, 28, 11, 32, 5, 123_000_000, noumea(t))
	for _, tc := range []struct {
		name  string
		stats Stats
	}{
		{"pending", Stats{Epoch: "01JDQ3Y0000000000000000000", LastSeq: 42, Pending: 3,
			OldestPendingAt: &oldest, AckedThrough: 39, Held: 40}},
		{"empty", Stats{Epoch: "01JDQ3Y0000000000000000000"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			tc.stats.WriteText(&buf)
			golden := filepath.Join("testdata", "stats_"+tc.name+".golden")
			if *update {
				if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if buf.String() != string(want) {
				t.Fatalf("WriteText:\n%s\nwant (%s):\n%s", buf.String(), golden, want)
			}
		})
	}
}
