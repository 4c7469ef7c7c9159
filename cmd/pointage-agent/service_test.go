package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// writeAgentConfig writes a valid agent configuration in dir (data_dir in
// dir/data, a broker nobody listens on) with extra YAML lines appended.
func writeAgentConfig(t *testing.T, dir, extra string) string {
	t.Helper()
	p := filepath.Join(dir, "agent.yaml")
	body := "site: a\ndevice: b\ndata_dir: " + dir + "/data\nmqtt: {url: tcp://127.0.0.1:1}\nreaders: [{name: r, port: /dev/null, profile: rdm6300, service: canteen}]\n" + extra
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func noEnv(string) string { return "" }

func TestPlanInstall(t *testing.T) {
	dir := t.TempDir()
	writeAgentConfig(t, dir, "")
	t.Chdir(dir)
	p, err := planInstall("bin/pointage-agent.exe", "agent.yaml", "pointage-agent", noEnv)
	if err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "agent.yaml")
	if p.ConfigPath != cfg {
		t.Errorf("config path %q, want the absolute %q", p.ConfigPath, cfg)
	}
	if want := filepath.Join(dir, "bin/pointage-agent.exe"); p.Exe != want {
		t.Errorf("exe %q, want %q", p.Exe, want)
	}
	// The exact command line the service runs (mgr.CreateService quotes each one).
	if want := []string{"service", "run", "--name", "pointage-agent", "--config", cfg}; !slices.Equal(p.Args, want) {
		t.Errorf("args %q, want %q", p.Args, want)
	}
	if p.DisplayName != "Pointage agent" || !strings.Contains(p.Description, "pointage hub") || !p.AutoStart {
		t.Errorf("display name %q, description %q, automatic start %v", p.DisplayName, p.Description, p.AutoStart)
	}
	if want := []time.Duration{5 * time.Second, 5 * time.Second, 30 * time.Second}; !slices.Equal(p.RestartDelays, want) || p.ResetPeriod != 24*time.Hour {
		t.Errorf("recovery %v reset after %v, want %v reset after 24h", p.RestartDelays, p.ResetPeriod, want)
	}
	if want := filepath.Join(dir, "data", "pointage-agent.log"); p.LogPath != want {
		t.Errorf("log path %q, want %q", p.LogPath, want)
	}

	// A path with spaces is one argument; the service runs it after a restart too.
	spaced := filepath.Join(dir, "Mes documents")
	os.Mkdir(spaced, 0o750)
	writeAgentConfig(t, spaced, "")
	p, err = planInstall("/opt/p/pointage-agent.exe", "", "cantine 2", func(k string) string {
		if k == "POINTAGE_AGENT_CONFIG" {
			return filepath.Join(spaced, "agent.yaml")
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"service", "run", "--name", "cantine 2", "--config", filepath.Join(spaced, "agent.yaml")}; !slices.Equal(p.Args, want) {
		t.Errorf("args %q, want %q", p.Args, want)
	}
}

func TestPlanInstallRefuses(t *testing.T) {
	dir := t.TempDir()
	good := writeAgentConfig(t, dir, "")
	rel := filepath.Join(t.TempDir(), "rel.yaml")
	os.WriteFile(rel, []byte("site: a\ndevice: b\ndata_dir: data\nmqtt: {url: tcp://127.0.0.1:1}\nreaders: [{name: r, port: COM3, profile: rdm6300, service: canteen}]\n"), 0o600)
	profRel := writeAgentConfig(t, t.TempDir(), "")
	os.WriteFile(profRel, append(must(os.ReadFile(profRel)), "profiles_dir: profils\n"...), 0o600)
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("site: Bad Site\n"), 0o600)
	for _, c := range []struct {
		name, cfg, svc, want string
	}{
		{"no config", "", "pointage-agent", "--config is required"},
		{"missing file", filepath.Join(dir, "nope.yaml"), "pointage-agent", "read config"},
		{"invalid config", bad, "pointage-agent", "site:"},
		{"relative data_dir", rel, "pointage-agent", "data_dir: \"data\" is relative"},
		{"relative profiles_dir", profRel, "pointage-agent", "profiles_dir: \"profils\" is relative"},
		{"bad name", good, `a\b`, "--name"},
		{"empty name", good, "", "--name"},
	} {
		_, err := planInstall("/opt/pointage-agent.exe", c.cfg, c.svc, noEnv)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one saying %q", c.name, err, c.want)
		}
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

func TestServiceLogRotation(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data") // created by openServiceLog
	path := filepath.Join(dir, "pointage-agent.log")
	w, err := openServiceLog(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("the log file is not created at once: %v", err)
	}
	line := bytes.Repeat([]byte("x"), 1023)
	line = append(line, '\n')
	// 25 MB: two rotations at 10 MB.
	for range 25 * 1024 {
		if _, err := w.Write(line); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	var names []string
	deadline := time.Now().Add(5 * time.Second)
	for { // lumberjack removes old backups in the background
		ents, _ := os.ReadDir(dir)
		names = names[:0]
		for _, e := range ents {
			names = append(names, e.Name())
		}
		if len(names) == 2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(names) != 2 || !slices.Contains(names, "pointage-agent.log") {
		t.Fatalf("log folder holds %q, want the log file and one older file", names)
	}
	for _, n := range names {
		fi, _ := os.Stat(filepath.Join(dir, n))
		if fi.Size() > 10<<20 {
			t.Errorf("%s is %d bytes, more than 10 MB", n, fi.Size())
		}
	}
	if fi, _ := os.Stat(path); fi.Size() != 5<<20 {
		t.Errorf("current log is %d bytes, want the last 5 MB", fi.Size())
	}
}

// fakeSCM drives serveControl as the Service Control Manager would.
type fakeSCM struct {
	reqs     chan svcCmd
	statuses chan svcStatus
	final    chan svcStatus
	err      chan error
}

func startFakeSCM(t *testing.T, run func(context.Context) error) *fakeSCM {
	t.Helper()
	f := &fakeSCM{reqs: make(chan svcCmd), statuses: make(chan svcStatus, 16), final: make(chan svcStatus, 1), err: make(chan error, 1)}
	go func() {
		st, err := serveControl(context.Background(), run, f.reqs, func(s svcStatus) { f.statuses <- s })
		f.final <- st
		f.err <- err
	}()
	return f
}

func (f *fakeSCM) next(t *testing.T) svcStatus {
	t.Helper()
	select {
	case s := <-f.statuses:
		return s
	case <-time.After(5 * time.Second):
		t.Fatal("no status reported")
	}
	return svcStatus{}
}

func (f *fakeSCM) send(t *testing.T, c svcCmd) {
	t.Helper()
	select {
	case f.reqs <- c:
	case <-time.After(5 * time.Second):
		t.Fatalf("request %d not read", c)
	}
}

func (f *fakeSCM) stopped(t *testing.T) (svcStatus, error) {
	t.Helper()
	select {
	case st := <-f.final:
		return st, <-f.err
	case <-time.After(5 * time.Second):
		t.Fatal("the service did not stop")
	}
	return svcStatus{}, nil
}

func TestServeControlStop(t *testing.T) {
	for _, cmd := range []svcCmd{cmdStop, cmdShutdown} {
		agentCtx := make(chan context.Context, 1)
		release := make(chan struct{})
		f := startFakeSCM(t, func(ctx context.Context) error {
			agentCtx <- ctx
			<-ctx.Done()
			<-release // the agent takes its time to publish offline and close the outbox
			return ctx.Err()
		})
		if s := f.next(t); s.State != stateStartPending {
			t.Fatalf("first status %v, want start pending", s.State)
		}
		if s := f.next(t); s.State != stateRunning || !s.AcceptsStop {
			t.Fatalf("then %+v, want running accepting stop", s)
		}
		ctx := <-agentCtx
		f.send(t, cmdOther) // pause: not accepted, ignored
		f.send(t, cmdInterrogate)
		if s := f.next(t); s.State != stateRunning {
			t.Fatalf("interrogate while running answered %v", s.State)
		}
		if ctx.Err() != nil {
			t.Fatal("the agent was cancelled before any stop")
		}
		f.send(t, cmd)
		if s := f.next(t); s.State != stateStopPending || s.AcceptsStop || s.WaitHint <= 0 {
			t.Fatalf("after stop %+v, want stop pending with a wait hint", s)
		}
		if ctx.Err() == nil {
			t.Fatal("stop did not cancel the agent")
		}
		// Still answering while the agent finishes; not stopped before it returned.
		f.send(t, cmdInterrogate)
		if s := f.next(t); s.State != stateStopPending {
			t.Fatalf("interrogate while stopping answered %v", s.State)
		}
		f.send(t, cmdStop) // a second stop is harmless
		select {
		case <-f.final:
			t.Fatal("stopped before the agent returned")
		case <-time.After(50 * time.Millisecond):
		}
		close(release)
		st, err := f.stopped(t)
		if st.State != stateStopped || st.ExitCode != 0 || err != nil {
			t.Fatalf("final %+v, %v; want stopped with exit code 0", st, err)
		}
		select {
		case s := <-f.statuses:
			t.Fatalf("extra status %+v after stop pending", s)
		default:
		}
	}
}

func TestServeControlAgentFails(t *testing.T) {
	boom := errors.New("outbox: disk full")
	f := startFakeSCM(t, func(ctx context.Context) error { return boom })
	st, err := f.stopped(t)
	if st.State != stateStopped || st.ExitCode == 0 || !errors.Is(err, boom) {
		t.Fatalf("final %+v, %v; want stopped with a non-zero exit code and the agent's error", st, err)
	}
	// Returning nil without a stop is a failure too: the service must not stay down.
	f = startFakeSCM(t, func(ctx context.Context) error { return nil })
	if st, err := f.stopped(t); st.ExitCode == 0 || err == nil {
		t.Fatalf("agent returning on its own: final %+v, %v; want a non-zero exit code", st, err)
	}
}

func TestServiceAgentLogs(t *testing.T) {
	// A broken configuration: the reason lands beside the configuration file.
	dir := t.TempDir()
	bad := filepath.Join(dir, "agent.yaml")
	os.WriteFile(bad, []byte("site: Bad Site\n"), 0o600)
	if err := serviceAgent(bad, noEnv)(context.Background()); err == nil {
		t.Fatal("a broken configuration ran")
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "pointage-agent.log")); !strings.Contains(string(b), "cannot start") || !strings.Contains(string(b), "site:") {
		t.Fatalf("log beside the configuration: %q", b)
	}

	// A good one: the agent's own log goes to data_dir/pointage-agent.log.
	dir = t.TempDir()
	cfg := writeAgentConfig(t, dir, "")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serviceAgent(cfg, noEnv)(ctx) }()
	logPath := filepath.Join(dir, "data", "pointage-agent.log")
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, _ := os.ReadFile(logPath)
		if strings.Contains(string(b), "agent starting") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no agent log in %s: %q", logPath, b)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(logPath); !strings.Contains(string(b), "agent stopped") {
		t.Fatalf("log after the stop: %q", b)
	}
}

func TestWaitState(t *testing.T) {
	states := []svcState{stateRunning, stateStopPending, stateStopPending, stateStopped}
	var out bytes.Buffer
	err := waitState(func() (svcState, error) {
		s := states[0]
		if len(states) > 1 {
			states = states[1:]
		}
		return s, nil
	}, stateStopped, time.Second, time.Millisecond, &out)
	if err != nil || !strings.Contains(out.String(), "service stop pending") {
		t.Fatalf("err %v, progress %q", err, out.String())
	}
	out.Reset()
	err = waitState(func() (svcState, error) { return stateStopPending, nil }, stateStopped, 50*time.Millisecond, time.Millisecond, &out)
	if err == nil || !strings.Contains(err.Error(), "still stop pending") {
		t.Fatalf("timeout: err %v", err)
	}
}

func TestServiceCommandsOutsideWindows(t *testing.T) {
	if serviceSupported {
		t.Skip("Windows")
	}
	// Even before the configuration is read: the service is not the way here.
	for _, args := range [][]string{
		{"service", "install", "--config", filepath.Join(t.TempDir(), "agent.yaml")},
		{"service", "uninstall"}, {"service", "start"}, {"service", "stop"},
	} {
		_, err := run(context.Background(), args...)
		if err == nil || !strings.Contains(err.Error(), "is for Windows; on Linux use the systemd unit (docs/DEPLOY.md)") {
			t.Errorf("%v: error %v", args, err)
		}
	}
}
