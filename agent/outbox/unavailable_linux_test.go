//go:build linux

package outbox

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
)

const fsizeEnv = "POINTAGE_OUTBOX_FSIZE_PATH"

// TestHelperFileSizeLimit is not a test: TestUnavailableFileSizeLimit runs
// it as a child process, since the limit applies to the whole process.
func TestHelperFileSizeLimit(t *testing.T) {
	path := os.Getenv(fsizeEnv)
	if path == "" {
		return
	}
	os.Exit(helperFileSizeLimit(path))
}

// helperFileSizeLimit appends under a file size limit (RLIMIT_FSIZE, which
// binds root too: writes past it fail with EFBIG, as on a full disk), then
// lifts the limit and appends again. It prints "ok SEQ" for each stored
// event and "err UNAVAILABLE MESSAGE" for each failure.
func helperFileSizeLimit(path string) int {
	ctx := context.Background()
	o, err := Open(Options{Path: path})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	defer o.Close()
	appendOne := func(i int) error {
		ev, err := o.Append(ctx, testScan(i))
		if err != nil {
			fmt.Printf("err %v %s\n", errors.Is(err, ErrUnavailable), strings.ReplaceAll(err.Error(), "\n", " "))
			return err
		}
		fmt.Printf("ok %d\n", ev.Seq)
		return nil
	}
	for i := range 3 {
		if appendOne(i) != nil {
			return 3
		}
	}
	var orig syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &orig); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	var size int64
	for _, p := range []string{path, path + "-wal"} {
		if fi, err := os.Stat(p); err == nil {
			size = max(size, fi.Size())
		}
	}
	limited := orig
	limited.Cur = uint64(size) + 32<<10
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &limited); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	failed := false
	for i := 0; i < 1000 && !failed; i++ {
		failed = appendOne(i) != nil
	}
	if !failed {
		fmt.Fprintln(os.Stderr, "no append failed under the file size limit")
		return 3
	}
	appendOne(0) // still failing
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &orig); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	if appendOne(0) != nil {
		return 3
	}
	return 0
}

func TestUnavailableFileSizeLimit(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "outbox.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperFileSizeLimit$")
	cmd.Env = append(os.Environ(), fsizeEnv+"="+path)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("helper: %v\nstdout:\n%s\nstderr:\n%s", err, out, stderr.String())
	}

	// Expect ok 1..K, two unavailable errors, then ok K+1.
	var (
		oks  []uint64
		errs []string
	)
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		var seq uint64
		switch {
		case strings.HasPrefix(line, "err "):
			if !strings.HasPrefix(line, "err true ") {
				t.Fatalf("append failed without ErrUnavailable: %s", line)
			}
			if len(errs) == 0 && len(oks) == 0 {
				t.Fatal("failed before any append")
			}
			errs = append(errs, line)
		case scanOK(line, &seq):
			if len(errs) > 0 && len(errs) != 2 {
				t.Fatalf("stored after %d failures: %q", len(errs), out)
			}
			oks = append(oks, seq)
		default:
			t.Fatalf("helper printed %q", line)
		}
	}
	if len(errs) != 2 {
		t.Fatalf("want 2 failures, got %d:\n%s", len(errs), out)
	}
	if !slices.Equal(oks, seqRange(1, uint64(len(oks)))) {
		t.Fatalf("seqs given %v: not contiguous from 1 across the failures", oks)
	}
	t.Logf("%d appends, then %s", len(oks)-1, errs[0])

	o := openTest(t, path, nil)
	evs, err := o.Pending(context.Background(), 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(seqsOf(evs), oks) {
		t.Fatalf("stored seqs %v, want %v", seqsOf(evs), oks)
	}
	var check string
	if err := o.db.QueryRow("PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check %q, %v", check, err)
	}
	if ev := mustAppend(t, o, testScan(0)); ev.Seq != uint64(len(oks))+1 {
		t.Fatalf("next seq %d, want %d", ev.Seq, len(oks)+1)
	}
}

func scanOK(line string, seq *uint64) bool {
	_, err := fmt.Sscanf(line, "ok %d", seq)
	return err == nil
}
