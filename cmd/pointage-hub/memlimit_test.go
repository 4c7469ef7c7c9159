package main

import (
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"pointage/internal/testenv"
)

// --memory-limit sets the Go runtime's soft memory limit of the running hub
// (seen in its /metrics), and a value that is no size is refused at start.
func TestMemoryLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the hub")
	}
	bin := hubBinary(t)
	out, err := exec.Command(bin, "run", "--data-dir", t.TempDir(), "--memory-limit", "lots").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "memory-limit") || !strings.Contains(string(out), "300MiB") {
		t.Fatalf("--memory-limit lots: %v\n%s", err, out)
	}

	port := testenv.FreePort(t)
	env := []string{"POINTAGE_MEMORY_LIMIT=200MiB"} // as hub.env would set it
	testenv.StartProcessEnv(t, env, bin, "run", "--data-dir", t.TempDir(), "--listen", fmt.Sprintf("127.0.0.1:%d", port),
		"--mqtt-listen", fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t)))
	var metrics string
	waitFor(t, 15*time.Second, "the hub's /metrics", func() bool {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", port))
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		metrics = string(b)
		return resp.StatusCode == 200
	})
	if !strings.Contains(metrics, "go_gc_gomemlimit_bytes 2.097152e+08") {
		i := strings.Index(metrics, "go_gc_gomemlimit_bytes ")
		t.Fatalf("the running hub's memory limit: %q, want 200MiB (2.097152e+08)", metrics[max(i, 0):min(max(i, 0)+60, len(metrics))])
	}
}
