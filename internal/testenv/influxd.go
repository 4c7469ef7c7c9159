package testenv

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// InfluxdServer is an InfluxDB 1.8 server started for one test.
type InfluxdServer struct {
	t        testing.TB
	dir      string
	httpPort int
	rpcPort  int
	nonce    string // sent back by this server only, in the X-Pointage-Testenv header
	proc     *process
	client   *http.Client
	startup  time.Duration
	flux     bool
}

// InfluxdOption changes the server's configuration.
type InfluxdOption func(*InfluxdServer)

// InfluxdWithoutFlux turns Flux off. With Flux on, influxd 1.8 type-checks Flux's
// standard library at every start, which takes 5-7 s of one core on a 2-core machine;
// without it the server is ready in about 50 ms. Use it for tests that write and query
// with InfluxQL only, especially ones that stop and start the server repeatedly.
func InfluxdWithoutFlux() InfluxdOption {
	return func(d *InfluxdServer) { d.flux = false }
}

const influxdHeader = "X-Pointage-Testenv"

// Influxd starts influxd (InfluxDB 1.8.10) with its HTTP API on a free port of
// 127.0.0.1 and returns once /ping answers. The server is stopped when the test ends.
// When influxd is not installed the test is skipped, or fails under CI (see [Require]).
//
// The server has no users (any token or none is accepted), Flux enabled (but see
// [InfluxdWithoutFlux]: Flux makes every start take several seconds), and its meta, data
// and WAL folders in the test's temporary folder. No database exists yet: create one
// with Query(`CREATE DATABASE "name"`). Several tests can share one server by each
// using its own database.
func Influxd(t testing.TB, opts ...InfluxdOption) *InfluxdServer {
	t.Helper()
	bin := Require(t, "influxd")
	d := &InfluxdServer{
		t:      t,
		dir:    t.TempDir(),
		nonce:  randomHex(8),
		client: &http.Client{Timeout: 30 * time.Second},
		flux:   true,
	}
	for _, opt := range opts {
		opt(d)
	}
	d.proc = newProcess(t, &process{
		name:    "influxd",
		bin:     bin,
		args:    []string{"run", "-config", d.ConfigPath()},
		env:     influxdEnv(),
		dir:     d.dir,
		logPath: filepath.Join(d.dir, "influxd.log"),
		timeout: 60 * time.Second,
		ready:   d.ready,
	})
	for attempt := 1; ; attempt++ {
		d.httpPort, d.rpcPort = FreePort(t), FreePort(t)
		if err := os.WriteFile(d.ConfigPath(), []byte(d.config()), 0o600); err != nil {
			t.Fatalf("influxd: %v", err)
		}
		var err error
		d.startup, err = d.proc.start()
		if err == nil {
			break
		}
		if errors.Is(err, errAddrInUse) && attempt < 5 {
			continue
		}
		t.Fatalf("start influxd: %v", err)
	}
	t.Logf("influxd listening on %s (ready in %s, folder %s)", d.URL(), d.startup.Round(time.Millisecond), d.dir)
	return d
}

// influxdEnv is the test's environment without INFLUXDB_* variables, which would
// override the configuration file.
func influxdEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "INFLUXDB_") {
			env = append(env, kv)
		}
	}
	return env
}

func (d *InfluxdServer) config() string {
	q := func(p string) string { return fmt.Sprintf("%q", filepath.ToSlash(p)) }
	return fmt.Sprintf(`# influxd for one pointage test, written by internal/testenv
reporting-disabled = true
bind-address = %[1]s

[meta]
  dir = %[2]s
  logging-enabled = false

[data]
  dir = %[3]s
  wal-dir = %[4]s
  wal-fsync-delay = "0s"
  query-log-enabled = false
  trace-logging-enabled = false

[monitor]
  store-enabled = false

[subscriber]
  enabled = false

[continuous_queries]
  enabled = false
  log-enabled = false

[http]
  enabled = true
  bind-address = %[5]s
  auth-enabled = false
  flux-enabled = %[8]t
  log-enabled = false
  suppress-write-log = true
  pprof-enabled = false

[http.headers]
  %[6]s = %[7]q

[logging]
  level = "warn"
  suppress-logo = true
`, q(loopback(d.rpcPort)), q(filepath.Join(d.dir, "meta")), q(filepath.Join(d.dir, "data")),
		q(filepath.Join(d.dir, "wal")), q(loopback(d.httpPort)), influxdHeader, d.nonce, d.flux)
}

// ready: /ping answers 204, from this server (another influxd may hold the port).
func (d *InfluxdServer) ready(func() string) error {
	c := http.Client{Timeout: time.Second}
	resp, err := c.Get(d.URL() + "/ping")
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		return fmt.Errorf("/ping: %s", resp.Status)
	}
	if got := resp.Header.Get(influxdHeader); got != d.nonce {
		return fmt.Errorf("/ping answered by another server (%s %q)", influxdHeader, got)
	}
	return nil
}

// URL is the HTTP API's base URL, "http://127.0.0.1:PORT".
func (d *InfluxdServer) URL() string { return "http://" + d.Addr() }

// Addr is the HTTP API's host:port, "127.0.0.1:PORT".
func (d *InfluxdServer) Addr() string { return loopback(d.httpPort) }

// Dir is the server's folder: configuration, meta, data, wal, log.
func (d *InfluxdServer) Dir() string { return d.dir }

// Pid is influxd's process id (0 while it is stopped), for CPU figures.
func (d *InfluxdServer) Pid() int { return d.proc.pid() }

// ConfigPath is the configuration file the server runs with.
func (d *InfluxdServer) ConfigPath() string { return filepath.Join(d.dir, "influxd.conf") }

// StartupTime is how long the last start took, until /ping answered.
func (d *InfluxdServer) StartupTime() time.Duration { return d.startup }

// Stop stops the server (SIGTERM, then SIGKILL after 15 s) and waits until it has exited.
// Stopping a stopped server does nothing.
func (d *InfluxdServer) Stop() {
	d.t.Helper()
	d.proc.mustStop(d.t)
}

// Kill kills the server with SIGKILL and waits until it has exited. Written points
// survive: the WAL is synced on every write and replayed on start.
func (d *InfluxdServer) Kill() {
	d.t.Helper()
	d.proc.mustKill(d.t)
}

// Start starts a stopped server again, on the same ports with the same data, and waits
// until /ping answers.
func (d *InfluxdServer) Start() {
	d.t.Helper()
	d.startup = d.proc.mustStart(d.t, d.Addr())
}

// Logs returns everything the server has written so far (warnings and errors), over all
// its runs.
func (d *InfluxdServer) Logs() string { return d.proc.logs() }

// Query runs InfluxQL statements through POST /query and returns the JSON answer. It
// fails on an HTTP error and on an error in any statement's result. Name the database
// in the statement (SELECT … FROM "db"."autogen"."m"), or use [InfluxdServer.QueryDB].
func (d *InfluxdServer) Query(q string) (string, error) { return d.QueryDB("", q) }

// QueryDB is [InfluxdServer.Query] with a default database.
func (d *InfluxdServer) QueryDB(db, q string) (string, error) {
	form := url.Values{"q": {q}}
	if db != "" {
		form.Set("db", db)
	}
	resp, err := d.client.PostForm(d.URL()+"/query", form)
	if err != nil {
		return "", fmt.Errorf("influxd query: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", fmt.Errorf("influxd query: %w", err)
	}
	var answer struct {
		Error   string `json:"error"`
		Results []struct {
			Error string `json:"error"`
		} `json:"results"`
	}
	jsonErr := json.Unmarshal(body, &answer)
	switch {
	case answer.Error != "":
		return string(body), fmt.Errorf("influxd query %q: %s: %s", q, resp.Status, answer.Error)
	case resp.StatusCode != http.StatusOK:
		return string(body), fmt.Errorf("influxd query %q: %s: %s", q, resp.Status, strings.TrimSpace(string(body)))
	case jsonErr != nil:
		return string(body), fmt.Errorf("influxd query %q: %w", q, jsonErr)
	}
	for _, r := range answer.Results {
		if r.Error != "" {
			return string(body), fmt.Errorf("influxd query %q: %s", q, r.Error)
		}
	}
	return string(body), nil
}

// Write writes points in line protocol (nanosecond timestamps) to db's default retention
// policy through POST /write.
func (d *InfluxdServer) Write(db, lines string) error {
	u := d.URL() + "/write?" + url.Values{"db": {db}}.Encode()
	resp, err := d.client.Post(u, "text/plain; charset=utf-8", strings.NewReader(lines))
	if err != nil {
		return fmt.Errorf("influxd write: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusNoContent {
		return fmt.Errorf("influxd write to %q: %s: %s", db, resp.Status, strings.TrimSpace(string(body)))
	}
	return nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
