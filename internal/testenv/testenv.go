package testenv

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// InfluxdVersion is the InfluxDB release the tests run against.
const InfluxdVersion = "v1.8.10"

// ensureDepsHint says how to install every server the tests use.
const ensureDepsHint = "scripts/ensure-deps.sh (from the repository root; `make test` runs it)"

// CacheDir is the folder scripts/ensure-deps.sh builds influxd into:
// $POINTAGE_CACHE, or ~/.cache/pointage.
func CacheDir() string {
	if dir := os.Getenv("POINTAGE_CACHE"); dir != "" {
		return dir
	}
	home, err := os.UserHomeDir()
	if err != nil || home == "" {
		return filepath.Join(os.TempDir(), "pointage-cache")
	}
	return filepath.Join(home, ".cache", "pointage")
}

// program says where a binary may be and how to install it.
type program struct {
	extra   []string // absolute paths tried after PATH
	install string   // command that installs it
}

func programs() map[string]program {
	return map[string]program{
		"mosquitto": {
			extra:   []string{"/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto"},
			install: "apt-get install -y mosquitto",
		},
		"mosquitto_passwd": {
			extra:   []string{"/usr/bin/mosquitto_passwd"},
			install: "apt-get install -y mosquitto",
		},
		"influxd": {
			extra: []string{filepath.Join(CacheDir(), "bin", "influxd")},
			install: fmt.Sprintf("GOBIN=%s go install github.com/influxdata/influxdb/cmd/influxd@%s",
				filepath.Join(CacheDir(), "bin"), InfluxdVersion),
		},
		"dpkg":     {install: "apt-get install -y dpkg"},
		"dpkg-deb": {install: "apt-get install -y dpkg"},
		"chromium": {
			extra:   []string{"/usr/bin/chromium", "/usr/bin/chromium-browser"},
			install: "apt-get install -y chromium",
		},
	}
}

// LookPath finds a program the tests need: in PATH, then in the places scripts/ensure-deps.sh
// installs it (for "mosquitto", "influxd", "chromium", "mosquitto_passwd").
func LookPath(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	prog := programs()[name]
	for _, p := range prog.extra {
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	where := "PATH"
	if len(prog.extra) > 0 {
		where += ", " + strings.Join(prog.extra, ", ")
	}
	return "", fmt.Errorf("%s not found (looked in %s)", name, where)
}

// Required reports whether a missing server must fail the test rather than skip it:
// under CI (CI=true) or with POINTAGE_REQUIRE_SERVERS=1.
func Required() bool {
	return envTrue("CI") || envTrue("POINTAGE_REQUIRE_SERVERS")
}

func envTrue(name string) bool {
	v, err := strconv.ParseBool(strings.TrimSpace(os.Getenv(name)))
	return err == nil && v
}

// Require returns the path of the program name ("mosquitto", "influxd", "chromium", …).
// When it is missing, the test fails under CI (see [Required]) and is skipped otherwise,
// with a message saying how to install it. With go test -short, tests that need a
// server are skipped (`make test-short` runs the unit tests only).
func Require(t testing.TB, name string) string {
	t.Helper()
	if testing.Short() {
		t.Skipf("-short: skipping a test that runs %s", name)
	}
	return lookOrSkip(t, name)
}

// lookOrSkip is Require without the -short rule.
func lookOrSkip(t testing.TB, name string) string {
	t.Helper()
	p, err := LookPath(name)
	if err == nil {
		return p
	}
	hint := "install it with " + ensureDepsHint
	if cmd := programs()[name].install; cmd != "" {
		hint += ", or: " + cmd
	}
	if Required() {
		t.Fatalf("%v; servers are required under CI (CI=true or POINTAGE_REQUIRE_SERVERS=1): %s", err, hint)
	}
	t.Skipf("%v; skipping (under CI this fails): %s", err, hint)
	return ""
}

var (
	portsMu sync.Mutex
	ports   = map[int]bool{} // ports FreePort handed out in this process
)

// FreePort returns a TCP port on 127.0.0.1 that nothing listened on a moment ago, and that
// FreePort has not returned before in this test binary. Another process may still take it
// before the caller does: the server constructors retry with new ports when that happens.
func FreePort(t testing.TB) int {
	t.Helper()
	port, err := freePort()
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	return port
}

func freePort() (int, error) {
	portsMu.Lock()
	defer portsMu.Unlock()
	for range 100 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if !ports[port] {
			ports[port] = true
			return port, nil
		}
	}
	return 0, fmt.Errorf("no unused port after 100 tries")
}

func loopback(port int) string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
}

// FastDir returns a folder for a test's databases that lasts until the test
// ends: on tmpfs (/dev/shm) when there is one, where fsync costs nothing
// (a fuzz target that writes SQLite runs several times faster there), and
// t.TempDir() otherwise.
func FastDir(t testing.TB) string {
	dir, err := os.MkdirTemp("/dev/shm", "pointage-test")
	if err != nil {
		return t.TempDir()
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}
