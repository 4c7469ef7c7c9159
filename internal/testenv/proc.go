package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// WaitFor polls cond every 20 ms until it holds; after d it fails the test
// saying what it waited for.
func WaitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

var (
	buildMu  sync.Mutex
	builtDir string
	built    = map[string]string{}
)

// BuildBinary builds a main package (like "pointage/cmd/pointage-agent")
// once per test binary and returns the path of the executable.
func BuildBinary(t testing.TB, pkg string) string {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if path, ok := built[pkg]; ok {
		return path
	}
	if builtDir == "" {
		dir, err := os.MkdirTemp("", "pointage-test-bin-")
		if err != nil {
			t.Fatal(err)
		}
		builtDir = dir
	}
	path := filepath.Join(builtDir, filepath.Base(pkg))
	if out, err := exec.Command("go", "build", "-o", path, pkg).CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, out)
	}
	built[pkg] = path
	return path
}

// StartProcess starts a program whose output goes to a log file, kills it
// when the test ends if it still runs, and prints the log's tail when the
// test failed.
func StartProcess(t testing.TB, name string, args ...string) *exec.Cmd {
	t.Helper()
	return StartProcessEnv(t, nil, name, args...)
}

// StartProcessEnv is StartProcess with variables added to the test's
// environment ("KEY=value").
func StartProcessEnv(t testing.TB, env []string, name string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(name, args...)
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	logf, err := os.CreateTemp(t.TempDir(), filepath.Base(name)+"-*.log")
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			if len(b) > 8000 {
				b = b[len(b)-8000:]
			}
			t.Logf("%s log (tail):\n%s", filepath.Base(name), b)
		}
		logf.Close()
	})
	return cmd
}
