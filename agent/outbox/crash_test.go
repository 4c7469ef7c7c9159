package outbox

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"
)

// The helper processes are this test binary run again with one of these
// variables set; see TestHelperProcess.
const (
	helperEnv     = "POINTAGE_OUTBOX_HELPER"
	helperPathEnv = "POINTAGE_OUTBOX_HELPER_PATH"
)

const helperAppenders = 4

// TestHelperProcess is not a test: TestCrashDurability runs it as a child
// process that appends until it is killed.
func TestHelperProcess(t *testing.T) {
	if os.Getenv(helperEnv) != "append" {
		return
	}
	os.Exit(helperAppend(os.Getenv(helperPathEnv)))
}

// helperAppend appends from several goroutines forever and prints each seq
// on stdout once Append has returned it; meanwhile it acknowledges and
// marks published, so the kill can also land in those transactions.
func helperAppend(path string) int {
	o, err := Open(Options{Path: path})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	ctx := context.Background()
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	var wg sync.WaitGroup
	for w := range helperAppenders {
		wg.Go(func() {
			for i := 0; ; i++ {
				ev, err := o.Append(ctx, testScan(w*1_000_000+i))
				if err != nil {
					fail(err)
				}
				// One write(2) per line: lines from several goroutines
				// never interleave on the pipe.
				if _, err := fmt.Fprintf(os.Stdout, "%d\n", ev.Seq); err != nil {
					fail(err)
				}
			}
		})
	}
	wg.Go(func() {
		for {
			time.Sleep(5 * time.Millisecond)
			evs, err := o.Pending(ctx, 0, 50)
			if err != nil {
				fail(err)
			}
			if len(evs) == 0 {
				continue
			}
			if err := o.MarkPublished(ctx, seqsOf(evs), time.Now()); err != nil {
				fail(err)
			}
			if _, err := o.Ack(ctx, o.Epoch(), evs[len(evs)/2].Seq); err != nil {
				fail(err)
			}
		}
	})
	wg.Wait()
	return 0
}

// TestCrashDurability kills a child process that appends (SIGKILL on Unix)
// several times on the same file and checks after each kill that every seq
// the child was told is stored, that seqs are contiguous from 1, never
// reused across restarts, and that the next Append continues.
func TestCrashDurability(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "outbox.db")
	var (
		epoch string
		last  uint64 // last seq stored before this round's child started
	)
	for round := range 5 {
		printed := runAndKill(t, path, 20+rand.IntN(100))

		o, err := Open(Options{Path: path})
		if err != nil {
			t.Fatalf("round %d: reopen after kill: %v", round, err)
		}
		ctx := context.Background()
		if epoch == "" {
			epoch = o.Epoch()
		} else if o.Epoch() != epoch {
			t.Fatalf("round %d: epoch changed from %s to %s", round, epoch, o.Epoch())
		}
		st, err := o.Stats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		held, err := o.Range(ctx, epoch, 0, st.LastSeq+100)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(seqsOf(held), seqRange(1, st.LastSeq)) {
			t.Fatalf("round %d: stored seqs are not exactly 1..%d: %v", round, st.LastSeq, seqsOf(held))
		}
		for _, ev := range held {
			if ev.Acked != (ev.Seq <= st.AckedThrough) {
				t.Fatalf("round %d: seq %d acked=%v with acked_through %d", round, ev.Seq, ev.Acked, st.AckedThrough)
			}
		}
		seen := make(map[uint64]bool)
		for _, s := range printed {
			if seen[s] {
				t.Fatalf("round %d: seq %d returned twice", round, s)
			}
			seen[s] = true
			if s <= last || s > st.LastSeq {
				t.Fatalf("round %d: child got seq %d, outside (%d, %d]: reused or lost", round, s, last, st.LastSeq)
			}
		}
		// Each appender may have committed one seq it was killed before printing.
		if committed := st.LastSeq - last; committed < uint64(len(printed)) ||
			committed > uint64(len(printed)+helperAppenders) {
			t.Fatalf("round %d: %d seqs committed for %d printed", round, committed, len(printed))
		}
		var check string
		if err := o.db.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
			t.Fatalf("round %d: integrity_check %q, %v", round, check, err)
		}
		ev, err := o.Append(ctx, testScan(round))
		if err != nil {
			t.Fatal(err)
		}
		if ev.Seq != st.LastSeq+1 {
			t.Fatalf("round %d: Append after the kill gave seq %d, want %d", round, ev.Seq, st.LastSeq+1)
		}
		last = ev.Seq
		if err := o.Close(); err != nil {
			t.Fatal(err)
		}
		t.Logf("round %d: killed after %d printed seqs, last_seq %d, acked_through %d",
			round, len(printed), st.LastSeq, st.AckedThrough)
	}
}

// runAndKill starts the append helper on path, kills it once it has printed
// n seqs, and returns every seq it printed, including those still in the pipe.
func runAndKill(t *testing.T, path string, n int) []uint64 {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(), helperEnv+"=append", helperPathEnv+"="+path)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var printed []uint64
	sc := bufio.NewScanner(stdout)
	parse := func() {
		s, err := strconv.ParseUint(sc.Text(), 10, 64)
		if err != nil {
			cmd.Process.Kill()
			t.Fatalf("child printed %q", sc.Text())
		}
		printed = append(printed, s)
	}
	for len(printed) < n && sc.Scan() {
		parse()
	}
	if len(printed) < n {
		cmd.Wait()
		t.Fatalf("child stopped after %d seqs: %s", len(printed), stderr.String())
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	for sc.Scan() { // printed after Append returned, before the kill
		parse()
	}
	if err := cmd.Wait(); err == nil {
		t.Fatal("child exited normally, want killed")
	}
	if stderr.Len() > 0 {
		t.Fatalf("child wrote to stderr: %s", stderr.String())
	}
	return printed
}
