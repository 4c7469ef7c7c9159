package testenv

import (
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// MosquittoServer is a mosquitto broker started for one test.
type MosquittoServer struct {
	t       testing.TB
	dir     string
	port    int
	proc    *process
	startup time.Duration
}

// MosquittoOption changes the broker's configuration.
type MosquittoOption func(*mosquittoSettings)

type mosquittoSettings struct {
	anonymous    *bool
	users        [][2]string // name, password
	passwordFile string
	acl          []string
	aclFile      string
	persistence  bool
	extra        []string
}

// MosquittoUser adds a user with a password (hashed as mosquitto_passwd does). Clients
// must then log in: anonymous access is off unless [MosquittoAnonymous] turns it on.
func MosquittoUser(name, password string) MosquittoOption {
	return func(s *mosquittoSettings) { s.users = append(s.users, [2]string{name, password}) }
}

// MosquittoPasswordFile uses a password file written by someone else, for instance by
// `pointage-hub broker-config mosquitto`. Anonymous access is off unless
// [MosquittoAnonymous] turns it on. The file is read in place (see [MosquittoServer.Reload]);
// combined with [MosquittoUser], a copy with the extra users is used instead.
func MosquittoPasswordFile(path string) MosquittoOption {
	return func(s *mosquittoSettings) { s.passwordFile = path }
}

// MosquittoACL adds access-control rules, in mosquitto's acl_file syntax
// ("user NAME", "topic read|write|readwrite TOPIC", "pattern … %u …"), one per line.
func MosquittoACL(rules ...string) MosquittoOption {
	return func(s *mosquittoSettings) { s.acl = append(s.acl, rules...) }
}

// MosquittoACLFile uses an ACL file written by someone else, read in place; combined
// with [MosquittoACL], a copy with the extra rules is used instead.
func MosquittoACLFile(path string) MosquittoOption {
	return func(s *mosquittoSettings) { s.aclFile = path }
}

// MosquittoAnonymous allows or refuses clients that send no username. The default is to
// allow them, unless users or a password file are configured.
func MosquittoAnonymous(allow bool) MosquittoOption {
	return func(s *mosquittoSettings) { s.anonymous = &allow }
}

// MosquittoPersistence keeps retained messages, sessions and queued messages in the
// broker's folder across [MosquittoServer.Stop] and [MosquittoServer.Start] (mosquitto writes them
// on a clean shutdown and every autosave_interval, not on [MosquittoServer.Kill]).
func MosquittoPersistence() MosquittoOption {
	return func(s *mosquittoSettings) { s.persistence = true }
}

// MosquittoConfig appends raw lines to mosquitto.conf, for instance
// "max_queued_messages 10" to reproduce a broker dropping messages.
func MosquittoConfig(lines ...string) MosquittoOption {
	return func(s *mosquittoSettings) { s.extra = append(s.extra, lines...) }
}

// Mosquitto starts a mosquitto broker on a free port of 127.0.0.1 and returns once it
// accepts connections. The broker is stopped when the test ends. When mosquitto is not
// installed the test is skipped, or fails under CI (see [Require]).
//
// By default anonymous clients may do anything, max_queued_messages is 100000 and
// max_inflight_messages 1000 (as in deploy/mosquitto/mosquitto.conf), and nothing is
// kept on disk.
func Mosquitto(t testing.TB, opts ...MosquittoOption) *MosquittoServer {
	t.Helper()
	bin := Require(t, "mosquitto")
	var s mosquittoSettings
	for _, opt := range opts {
		opt(&s)
	}
	m := &MosquittoServer{t: t, dir: t.TempDir()}
	auth, err := s.authLines(m.dir)
	if err != nil {
		t.Fatalf("mosquitto: %v", err)
	}
	m.proc = newProcess(t, &process{
		name:    "mosquitto",
		bin:     bin,
		args:    []string{"-c", m.ConfigPath()},
		dir:     m.dir,
		logPath: filepath.Join(m.dir, "mosquitto.log"),
		timeout: 10 * time.Second,
		ready:   m.ready,
	})
	for attempt := 1; ; attempt++ {
		m.port = FreePort(t)
		conf := s.config(m.port, m.dir, auth)
		if err := os.WriteFile(m.ConfigPath(), []byte(conf), 0o600); err != nil {
			t.Fatalf("mosquitto: %v", err)
		}
		m.startup, err = m.proc.start()
		if err == nil {
			break
		}
		if errors.Is(err, errAddrInUse) && attempt < 5 {
			continue
		}
		t.Fatalf("start mosquitto: %v", err)
	}
	t.Logf("mosquitto listening on %s (ready in %s, folder %s)", m.Addr(), m.startup.Round(time.Millisecond), m.dir)
	return m
}

// ready: mosquitto says "running" once its listeners are open.
func (m *MosquittoServer) ready(log func() string) error {
	if !strings.Contains(log(), " running") {
		return errors.New(`no "running" line in its log yet`)
	}
	c, err := net.DialTimeout("tcp", m.Addr(), time.Second)
	if err != nil {
		return err
	}
	return c.Close()
}

// URL is the broker's address for MQTT clients: "tcp://127.0.0.1:PORT".
func (m *MosquittoServer) URL() string { return "tcp://" + m.Addr() }

// Addr is the broker's host:port, "127.0.0.1:PORT".
func (m *MosquittoServer) Addr() string { return loopback(m.port) }

// Port is the broker's TCP port.
func (m *MosquittoServer) Port() int { return m.port }

// Pid is the broker's process id (0 while it is stopped), for CPU figures.
func (m *MosquittoServer) Pid() int { return m.proc.pid() }

// Dir is the broker's folder: configuration, password and ACL files, log, persistence.
func (m *MosquittoServer) Dir() string { return m.dir }

// ConfigPath is the mosquitto.conf the broker runs with.
func (m *MosquittoServer) ConfigPath() string { return filepath.Join(m.dir, "mosquitto.conf") }

// StartupTime is how long the last start took, until the broker accepted connections.
func (m *MosquittoServer) StartupTime() time.Duration { return m.startup }

// Stop stops the broker (SIGTERM, then SIGKILL after 15 s) and waits until it has exited.
// Stopping a stopped broker does nothing.
func (m *MosquittoServer) Stop() {
	m.t.Helper()
	m.proc.mustStop(m.t)
}

// Kill kills the broker with SIGKILL, as a crash or a power cut would, and waits until it
// has exited.
func (m *MosquittoServer) Kill() {
	m.t.Helper()
	m.proc.mustKill(m.t)
}

// Start starts a stopped broker again, on the same port and with the same folder, and
// waits until it accepts connections.
func (m *MosquittoServer) Start() {
	m.t.Helper()
	m.startup = m.proc.mustStart(m.t, m.Addr())
}

// Reload makes the broker read its password and ACL files again (SIGHUP), as
// `systemctl reload mosquitto` does. It does not wait: mosquitto reloads asynchronously.
func (m *MosquittoServer) Reload() {
	m.t.Helper()
	if err := m.proc.signal(syscall.SIGHUP); err != nil {
		m.t.Fatalf("reload mosquitto: %v", err)
	}
}

// Logs returns everything the broker has written so far, over all its runs.
func (m *MosquittoServer) Logs() string { return m.proc.logs() }

// authLines writes the password and ACL files the options ask for into dir and returns
// the configuration lines that use them.
func (s *mosquittoSettings) authLines(dir string) ([]string, error) {
	var lines []string
	anonymous := len(s.users) == 0 && s.passwordFile == ""
	if s.anonymous != nil {
		anonymous = *s.anonymous
	}
	lines = append(lines, fmt.Sprintf("allow_anonymous %t", anonymous))

	if pw := s.passwordFile; pw != "" || len(s.users) > 0 {
		if len(s.users) > 0 {
			var b strings.Builder
			if pw != "" {
				old, err := os.ReadFile(pw)
				if err != nil {
					return nil, err
				}
				b.Write(old)
				if len(old) > 0 && old[len(old)-1] != '\n' {
					b.WriteByte('\n')
				}
			}
			for _, u := range s.users {
				line, err := mosquittoPasswordLine(u[0], u[1])
				if err != nil {
					return nil, err
				}
				b.WriteString(line)
			}
			pw = filepath.Join(dir, "passwd")
			if err := os.WriteFile(pw, []byte(b.String()), 0o600); err != nil {
				return nil, err
			}
		}
		lines = append(lines, "password_file "+absPath(pw))
	}

	if acl := s.aclFile; acl != "" || len(s.acl) > 0 {
		if len(s.acl) > 0 {
			var b strings.Builder
			if acl != "" {
				old, err := os.ReadFile(acl)
				if err != nil {
					return nil, err
				}
				b.Write(old)
				b.WriteByte('\n')
			}
			for _, r := range s.acl {
				b.WriteString(r + "\n")
			}
			acl = filepath.Join(dir, "acl")
			if err := os.WriteFile(acl, []byte(b.String()), 0o600); err != nil {
				return nil, err
			}
		}
		lines = append(lines, "acl_file "+absPath(acl))
	}
	return lines, nil
}

func (s *mosquittoSettings) config(port int, dir string, auth []string) string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	w("# mosquitto for one pointage test, written by internal/testenv")
	w("listener %d 127.0.0.1", port)
	for _, l := range auth {
		w("%s", l)
	}
	w("# as deploy/mosquitto/mosquitto.conf: the default queue of 1000 drops silently")
	w("max_queued_messages 100000")
	w("max_queued_bytes 0")
	w("max_inflight_messages 1000")
	w("set_tcp_nodelay true")
	if s.persistence {
		w("persistence true")
		w("persistence_location %s/", dir)
	} else {
		w("persistence false")
	}
	w("log_dest stderr")
	for _, t := range []string{"error", "warning", "notice", "information"} {
		w("log_type %s", t)
	}
	w("connection_messages true")
	w("log_timestamp_format %%Y-%%m-%%dT%%H:%%M:%%S")
	if os.Geteuid() == 0 {
		// Run as root, mosquitto switches to the user "mosquitto", which cannot read the
		// test's private temporary folder; "root" keeps it as it is.
		w("user root")
	}
	for _, l := range s.extra {
		w("%s", l)
	}
	return b.String()
}

// mosquittoPasswordLine is one password_file line in mosquitto 2's format
// ($7$ = PBKDF2-SHA512, 101 iterations, 12-byte salt), as mosquitto_passwd writes it.
func mosquittoPasswordLine(name, password string) (string, error) {
	if name == "" || strings.ContainsAny(name, ":\n") {
		return "", fmt.Errorf("mosquitto user name %q: empty or contains ':' or a newline", name)
	}
	salt := make([]byte, 12)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	return mosquittoPasswordLineSalt(name, password, salt)
}

func mosquittoPasswordLineSalt(name, password string, salt []byte) (string, error) {
	const iterations = 101
	key, err := pbkdf2.Key(sha512.New, password, salt, iterations, sha512.Size)
	if err != nil {
		return "", err
	}
	enc := base64.StdEncoding
	return fmt.Sprintf("%s:$7$%d$%s$%s\n", name, iterations, enc.EncodeToString(salt), enc.EncodeToString(key)), nil
}

func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}
