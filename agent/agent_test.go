package agent_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"pointage/agent"
	"pointage/internal/link"
	"pointage/internal/scansim"
	"pointage/internal/testenv"
	"pointage/internal/wire"
)

func newPTY(t testing.TB) *scansim.PTY {
	t.Helper()
	p, err := scansim.NewPTY()
	if err != nil {
		t.Fatalf("pseudo-terminal: %v", err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func encode(t testing.TB, profile, badge string) []byte {
	t.Helper()
	b, err := scansim.Encode(profile, badge)
	if err != nil {
		t.Fatalf("encode %s %s: %v", profile, badge, err)
	}
	return b
}

// Every profile's frames, noise, bad checksums, partial frames, a frame in
// pieces and a re-scan inside the debounce window: only real scans become
// check-ins, in seq order, through a real mosquitto.
func TestReadersToBroker(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	broker := testenv.Mosquitto(t)
	col := newCollector(t, broker.URL())

	type rd struct {
		name, profile string
		service       wire.Service
		badge         string
	}
	readers := []rd{
		{"entree", "rdm6300", wire.ServiceCanteen, "13005D1DA5"},
		{"gwiot", "gwiot7941e", wire.ServiceCanteen, "0200B6D7B5"},
		{"porte-garderie", "line-hex", wire.ServiceGarderie, "DEADBEEF"},
		{"wiegand", "wiegand26-ascii", wire.ServiceStaff, "7BB26E"},
		{"qr", "barcode", wire.ServiceStaff, "AGENT-0042"},
	}
	ptys := map[string]*scansim.PTY{}
	var rcs []agent.ReaderConfig
	for _, r := range readers {
		p := newPTY(t)
		ptys[r.name] = p
		rcs = append(rcs, agent.ReaderConfig{Name: r.name, Port: p.Path(), Profile: r.profile, Service: r.service})
	}
	cfg := testConfig(t, broker.URL(), rcs...)
	startAgent(t, cfg, agent.Options{})
	waitFor(t, 10*time.Second, "all readers connected", func() bool {
		st, ok := col.lastStatus()
		if !ok || len(st.Readers) != len(readers) {
			return false
		}
		for _, r := range st.Readers {
			if !r.Connected {
				return false
			}
		}
		return true
	})

	// One valid frame per profile.
	for _, r := range readers {
		ptys[r.name].Write(encode(t, r.profile, r.badge))
	}
	waitFor(t, 10*time.Second, "one check-in per profile", func() bool { return len(col.unique()) == len(readers) })
	got := col.unique()
	for i, r := range readers {
		found := false
		for _, ci := range got {
			if ci.Reader == r.name {
				found = true
				if ci.Badge != r.badge || ci.Service != r.service || ci.Dir != wire.DirAuto {
					t.Errorf("reader %s: got %+v, want badge %s service %s", r.name, ci, r.badge, r.service)
				}
			}
		}
		if !found {
			t.Errorf("no check-in from reader %s (%d)", r.name, i)
		}
	}

	// Junk on the rdm6300 reader: noise, a bad checksum, a partial frame
	// left to time out, non-hex digits. None may become a check-in.
	entree := ptys["entree"]
	entree.Write([]byte("\xff\x00garbage\r\n"))
	entree.Write([]byte("\x0213005D1DA5F7\x03"))           // checksum off by one
	entree.Write([]byte("\x0201026F"))                     // partial, then silence
	time.Sleep(200 * time.Millisecond)                     // > 100 ms: the partial frame is dropped
	entree.Write([]byte("\x02ZZ005D1DA5F6\x03"))           // not hex
	entree.Write([]byte("\x0213005D\x0201026F6C3A3A\x03")) // STX inside a frame starts a new one
	// A frame written in pieces with pauses shorter than 100 ms.
	entree.WriteSlowly(encode(t, "rdm6300", "0B0012D687"), 3, 30*time.Millisecond)
	// The same card held on the reader: repeats inside the debounce window.
	held := encode(t, "rdm6300", "0F00ABCDEF")
	for i := 0; i < 4; i++ {
		entree.Write(held)
		time.Sleep(150 * time.Millisecond)
	}
	waitFor(t, 10*time.Second, "the valid frames among the junk", func() bool { return len(col.unique()) >= len(readers)+3 })
	time.Sleep(500 * time.Millisecond) // anything wrongly accepted would arrive now
	got = col.unique()
	if len(got) != len(readers)+3 {
		t.Fatalf("got %d check-ins, want %d: %+v", len(got), len(readers)+3, got)
	}
	tail := []string{got[len(got)-3].Badge, got[len(got)-2].Badge, got[len(got)-1].Badge}
	if strings.Join(tail, ",") != "01026F6C3A,0B0012D687,0F00ABCDEF" {
		t.Fatalf("wrong badges after the junk: %v", tail)
	}
	for i, ci := range got {
		if ci.Seq != uint64(i+1) {
			t.Fatalf("seqs not contiguous from 1: %d at position %d", ci.Seq, i)
		}
	}
	waitFor(t, 10*time.Second, "frames_rejected in the status", func() bool {
		st, ok := col.lastStatus()
		if !ok {
			return false
		}
		for _, r := range st.Readers {
			if r.Name == "entree" {
				return r.FramesRejected >= 4
			}
		}
		return false
	})
}

// Unplug the reader (close the pty) and plug a new one behind the same
// symlink: the agent recovers without a restart and its status shows the
// reader disconnected meanwhile.
func TestReaderUnplugReplug(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	broker := testenv.Mosquitto(t)
	col := newCollector(t, broker.URL())
	first := newPTY(t)
	port := filepath.Join(t.TempDir(), "ttyREADER")
	if err := os.Symlink(first.Path(), port); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t, broker.URL(), agent.ReaderConfig{Name: "entree", Port: port, Profile: "rdm6300", Service: wire.ServiceCanteen})
	startAgent(t, cfg, agent.Options{})
	readerConnected := func(want bool) func() bool {
		return func() bool {
			st, ok := col.lastStatus()
			return ok && len(st.Readers) == 1 && st.Readers[0].Connected == want
		}
	}
	waitFor(t, 10*time.Second, "reader connected", readerConnected(true))
	first.Write(encode(t, "rdm6300", "13005D1DA5"))
	waitFor(t, 10*time.Second, "first scan", func() bool { return len(col.unique()) == 1 })

	first.Close() // unplug
	waitFor(t, 10*time.Second, "status showing the reader disconnected", func() bool {
		if readerConnected(false)() {
			return true
		}
		st, _ := col.lastStatus()
		t.Logf("status: %+v", st.Readers)
		time.Sleep(500 * time.Millisecond)
		return false
	})
	st, _ := col.lastStatus()
	if st.Readers[0].LastError == "" {
		t.Errorf("a disconnected reader should say why: %+v", st.Readers[0])
	}

	second := newPTY(t) // replug: a new device path behind the same symlink
	if err := os.Remove(port); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(second.Path(), port); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "reader connected again", readerConnected(true))
	second.Write(encode(t, "rdm6300", "01026F6C3A"))
	waitFor(t, 10*time.Second, "scan after replug", func() bool { return len(col.unique()) == 2 })
	if got := col.unique(); got[1].Badge != "01026F6C3A" || got[1].Seq != 2 {
		t.Fatalf("after replug got %+v", got[1])
	}
}

// writeAgentConfig writes cfg as YAML for the real binary.
func writeAgentConfig(t testing.TB, cfg agent.Config, extra map[string]any) string {
	t.Helper()
	readers := []map[string]any{}
	for _, r := range cfg.Readers {
		readers = append(readers, map[string]any{"name": r.Name, "port": r.Port, "profile": r.Profile,
			"service": r.Service, "dir": r.Dir, "debounce": time.Duration(r.Debounce).String()})
	}
	doc := map[string]any{
		"site": cfg.Site, "device": cfg.Device, "data_dir": cfg.DataDir,
		"mqtt":            map[string]any{"url": cfg.MQTT.URL, "client_id": cfg.MQTT.ClientID},
		"readers":         readers,
		"republish_after": time.Duration(cfg.RepublishAfter).String(),
		"status_interval": time.Duration(cfg.StatusInterval).String(),
		"log":             map[string]any{"level": "debug"},
	}
	for k, v := range extra {
		doc[k] = v
	}
	b, err := yaml.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "agent.yaml")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func startProcess(t testing.TB, args ...string) *exec.Cmd {
	t.Helper()
	return startCommand(t, agentBinary(t), args...)
}

// startCommand starts a process whose output goes to a log file that the
// test prints when it fails, and kills it when the test ends.
func startCommand(t testing.TB, name string, args ...string) *exec.Cmd {
	t.Helper()
	return testenv.StartProcess(t, name, args...)
}

func outboxStats(t testing.TB, cfgPath string) map[string]any {
	t.Helper()
	out, err := exec.Command(agentBinary(t), "outbox", "--config", cfgPath, "--json").CombinedOutput()
	if err != nil {
		t.Fatalf("pointage-agent outbox: %v\n%s", err, out)
	}
	var m map[string]any
	if err := json.Unmarshal(out, &m); err != nil {
		t.Fatalf("outbox --json: %v\n%s", err, out)
	}
	return m
}

// Broker down, scans, the agent killed with SIGKILL, restarted, broker
// back: every scan the reader was told "accepted" is delivered, seqs are
// contiguous and no seq is given to two scans.
func TestDurabilityAcrossKillAndBrokerOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	broker := testenv.Mosquitto(t)
	col := newCollector(t, broker.URL())
	p := newPTY(t)
	// A profile with feedback bytes, so the test sees what was accepted.
	profDir := t.TempDir()
	writeBeeper(t, profDir)
	cfg := testConfig(t, broker.URL(), agent.ReaderConfig{Name: "entree", Port: p.Path(), Profile: "beeper", Service: wire.ServiceCanteen, Debounce: agent.Duration(50 * time.Millisecond)})
	cfgPath := writeAgentConfig(t, cfg, map[string]any{"profiles_dir": profDir})

	proc := startProcess(t, "run", "--config", cfgPath)
	waitFor(t, 15*time.Second, "agent online", func() bool {
		st, ok := col.lastStatus()
		return ok && st.State == wire.StateOnline && len(st.Readers) == 1 && st.Readers[0].Connected
	})
	broker.Stop()

	accepted := 0
	badge := func(i int) string { return fmt.Sprintf("0A%08X", 0x00BC6100+i) }
	scan := func(i int) bool {
		p.Write(encode(t, "rdm6300", badge(i)))
		return waitFeedback(t, p, 2*time.Second) // true when the accepted bytes came back
	}
	for i := 0; i < 10; i++ {
		if scan(i) {
			accepted++
		}
	}
	if accepted != 10 {
		t.Fatalf("with the broker down, %d of 10 scans were accepted; the outbox should take them all", accepted)
	}
	proc.Process.Signal(syscall.SIGKILL)
	proc.Wait()

	proc = startProcess(t, "run", "--config", cfgPath)
	time.Sleep(500 * time.Millisecond)
	for i := 10; i < 15; i++ {
		if scan(i) {
			accepted++
		}
	}
	proc.Process.Signal(syscall.SIGKILL)
	proc.Wait()
	st := outboxStats(t, cfgPath)
	if st["pending"].(float64) != float64(accepted) {
		t.Fatalf("outbox shows %v pending, want %d: %v", st["pending"], accepted, st)
	}

	proc = startProcess(t, "run", "--config", cfgPath)
	broker.Start()
	waitFor(t, 30*time.Second, "every accepted scan delivered", func() bool { return len(col.unique()) >= accepted })
	got := col.unique()
	if len(got) != accepted {
		t.Fatalf("delivered %d distinct scans, accepted %d", len(got), accepted)
	}
	ids := map[string]bool{}
	for i, ci := range got {
		if ci.Seq != uint64(i+1) {
			t.Fatalf("seqs not contiguous: position %d has seq %d", i, ci.Seq)
		}
		if ci.Badge != badge(i) {
			t.Fatalf("seq %d carries badge %s, want %s", ci.Seq, ci.Badge, badge(i))
		}
		if ids[ci.ID] {
			t.Fatalf("id %s given to two seqs", ci.ID)
		}
		ids[ci.ID] = true
	}
	_ = proc
}

// After an Ack covering N, the outbox shows nothing pending up to N; without
// an Ack, pending events are published again after a reconnect.
func TestAckAndRepublishAfterReconnect(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	broker := testenv.Mosquitto(t)
	col := newCollector(t, broker.URL())
	p := newPTY(t)
	cfg := testConfig(t, broker.URL(), agent.ReaderConfig{Name: "entree", Port: p.Path(), Profile: "rdm6300", Service: wire.ServiceCanteen})
	cfg.RepublishAfter = agent.Duration(time.Hour) // only a reconnect republishes here
	cfgPath := writeAgentConfig(t, cfg, nil)
	a := startAgent(t, cfg, agent.Options{})
	waitFor(t, 10*time.Second, "reader connected", func() bool {
		st, ok := col.lastStatus()
		return ok && len(st.Readers) == 1 && st.Readers[0].Connected
	})
	for _, b := range []string{"13005D1DA5", "01026F6C3A", "0B0012D687"} {
		p.Write(encode(t, "rdm6300", b))
	}
	waitFor(t, 10*time.Second, "three check-ins", func() bool { return len(col.unique()) == 3 })

	hub, err := link.New(link.Options{URL: broker.URL(), ClientID: "test-hub"})
	if err != nil {
		t.Fatal(err)
	}
	hub.Start()
	t.Cleanup(func() { hub.Close("", nil) })
	waitFor(t, 10*time.Second, "test hub connected", hub.Connected)
	ack, _ := wire.Encode(wire.Ack{V: 1, Epoch: a.Epoch(), StoredThrough: 2})
	if err := hub.Publish(context.Background(), wire.DeviceTopic("", cfg.Site, cfg.Device, wire.KindAck), ack, false); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "outbox: 1 pending after the Ack", func() bool {
		st := outboxStats(t, cfgPath)
		return st["pending"].(float64) == 1 && st["last_seq"].(float64) == 3
	})
	// Another epoch's Ack changes nothing.
	other, _ := wire.Encode(wire.Ack{V: 1, Epoch: "SOMEOTHEREPOCH", StoredThrough: 3})
	hub.Publish(context.Background(), wire.DeviceTopic("", cfg.Site, cfg.Device, wire.KindAck), other, false)

	before := col.total()
	republished := func() bool {
		col.mu.Lock()
		defer col.mu.Unlock()
		for _, ci := range col.checkins[before:] {
			if ci.Seq == 3 {
				return true
			}
		}
		return false
	}
	// The agent republishes as soon as it is connected again, which may be
	// before the collector has subscribed again (the restarted broker keeps no
	// session): then the broker is restarted again, up to three times.
	for attempt := 1; ; attempt++ {
		broker.Stop()
		broker.Start()
		waitFor(t, 20*time.Second, "the collector connected again", col.l.Connected)
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) && !republished() {
			time.Sleep(20 * time.Millisecond)
		}
		if republished() {
			break
		}
		if attempt == 3 {
			t.Fatal("seq 3 not published again after three reconnects")
		}
	}
	col.mu.Lock()
	for _, ci := range col.checkins[before:] {
		if ci.Seq <= 2 {
			t.Errorf("acknowledged seq %d was published again", ci.Seq)
		}
	}
	col.mu.Unlock()
	if st := outboxStats(t, cfgPath); st["pending"].(float64) != 1 {
		t.Fatalf("another epoch's Ack changed the outbox: %v", st)
	}
}

// Feedback bytes of the test profile "beeper".
const (
	beepAccepted = 0x06 // ACK
	beepRefused  = 0x15 // NAK
)

// writeBeeper writes the profile "beeper": rdm6300 framing plus feedback
// bytes, so a test sees which scans the agent reported accepted.
func writeBeeper(t testing.TB, dir string) {
	t.Helper()
	base, err := os.ReadFile(filepath.Join("..", "firmware-config", "profiles", "rdm6300.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	doc := strings.Replace(string(base), "name: rdm6300", "name: beeper", 1) +
		fmt.Sprintf("feedback: {accepted: \"%02X\", refused: \"%02X\"}\n", beepAccepted, beepRefused)
	if err := os.WriteFile(filepath.Join(dir, "beeper.yaml"), []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
}

// waitFeedback reads the reader's feedback byte: true for accepted, false
// for refused or nothing within the timeout.
func waitFeedback(t testing.TB, p *scansim.PTY, timeout time.Duration) bool {
	t.Helper()
	b, err := p.ReadN(1, timeout)
	if err != nil || len(b) != 1 {
		return false
	}
	return b[0] == beepAccepted
}

// When the outbox cannot be written (here: a real file-size limit, as on a
// full disk), the scan gets the refused feedback, the status says why, and
// nothing refused is ever published. Once the agent can write again, seqs
// go on without a gap.
func TestOutboxFullRefusesScans(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	broker := testenv.Mosquitto(t)
	col := newCollector(t, broker.URL())
	p := newPTY(t)
	profDir := t.TempDir()
	writeBeeper(t, profDir)
	cfg := testConfig(t, broker.URL(), agent.ReaderConfig{Name: "entree", Port: p.Path(), Profile: "beeper", Service: wire.ServiceCanteen, Debounce: agent.Duration(50 * time.Millisecond)})
	cfg.StatusInterval = agent.Duration(time.Second)
	cfgPath := writeAgentConfig(t, cfg, map[string]any{"profiles_dir": profDir, "log": map[string]any{"level": "warn"}})

	// ulimit -f counts 512-byte blocks: 160 KiB leaves room for the schema and
	// some commits of the write-ahead log, then every write fails (EFBIG).
	limited := startCommand(t, "/bin/sh", "-c", fmt.Sprintf("ulimit -f 320 && exec %s run --config %s", agentBinary(t), cfgPath))
	waitFor(t, 15*time.Second, "agent online", func() bool {
		st, ok := col.lastStatus()
		return ok && st.State == wire.StateOnline && len(st.Readers) == 1 && st.Readers[0].Connected
	})
	badge := func(i int) string { return fmt.Sprintf("0A%08X", 0x00BC6100+i) }
	accepted, refused := []string{}, []string{}
	for i := 0; i < 200 && len(refused) < 3; i++ {
		p.Write(encode(t, "rdm6300", badge(i)))
		b, err := p.ReadN(1, 5*time.Second)
		switch {
		case err != nil || len(b) != 1:
			t.Fatalf("scan %d: no feedback from the agent: %v", i, err)
		case b[0] == beepAccepted:
			accepted = append(accepted, badge(i))
		case b[0] == beepRefused:
			refused = append(refused, badge(i))
		default:
			t.Fatalf("unexpected feedback byte %x", b[0])
		}
	}
	t.Logf("accepted %d scans before the limit bit, then refused %d", len(accepted), len(refused))
	if len(refused) == 0 || len(accepted) == 0 {
		t.Fatalf("accepted %d, refused %d: the limit did not bite as expected", len(accepted), len(refused))
	}
	waitFor(t, 10*time.Second, "outbox_error in the status", func() bool {
		st, ok := col.lastStatus()
		return ok && st.OutboxError != ""
	})
	waitFor(t, 10*time.Second, "every accepted scan published", func() bool { return len(col.unique()) >= len(accepted) })
	limited.Process.Signal(syscall.SIGKILL)
	limited.Wait()

	// Without the limit, the next scan continues the sequence.
	startProcess(t, "run", "--config", cfgPath)
	waitFor(t, 15*time.Second, "agent back online", func() bool {
		st, ok := col.lastStatus()
		return ok && st.State == wire.StateOnline && st.OutboxError == "" && len(st.Readers) == 1 && st.Readers[0].Connected
	})
	p.Write(encode(t, "rdm6300", "0B0012D687"))
	if !waitFeedback(t, p, 5*time.Second) {
		t.Fatal("scan refused after the limit was lifted")
	}
	accepted = append(accepted, "0B0012D687")
	waitFor(t, 10*time.Second, "the new scan published", func() bool { return len(col.unique()) >= len(accepted) })
	time.Sleep(300 * time.Millisecond)
	got := col.unique()
	if len(got) != len(accepted) {
		t.Fatalf("published %d scans, accepted %d (refused: %v)", len(got), len(accepted), refused)
	}
	for i, ci := range got {
		if ci.Seq != uint64(i+1) || ci.Badge != accepted[i] {
			t.Fatalf("position %d: seq %d badge %s, want seq %d badge %s", i, ci.Seq, ci.Badge, i+1, accepted[i])
		}
	}
}

// A reader's last scan in the status is on the agent's clock, the clock of
// its check-ins (the demo accelerates it): the devices page shows it beside
// the time the hub received the status, so both must be of one clock.
func TestStatusLastScanOnAgentClock(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	broker := testenv.Mosquitto(t)
	col := newCollector(t, broker.URL())
	p := newPTY(t)
	cfg := testConfig(t, broker.URL(), agent.ReaderConfig{Name: "entree", Port: p.Path(), Profile: "rdm6300", Service: wire.ServiceCanteen})
	offset := -5 * time.Hour
	startAgent(t, cfg, agent.Options{Now: func() time.Time { return time.Now().Add(offset) }})
	waitFor(t, 10*time.Second, "reader connected", func() bool {
		st, ok := col.lastStatus()
		return ok && len(st.Readers) == 1 && st.Readers[0].Connected
	})
	p.Write(encode(t, "rdm6300", "13005D1DA5"))
	waitFor(t, 10*time.Second, "the check-in", func() bool { return len(col.unique()) == 1 })
	var last *string
	waitFor(t, 10*time.Second, "last_scan_at in the status", func() bool {
		st, ok := col.lastStatus()
		if ok && len(st.Readers) == 1 {
			last = st.Readers[0].LastScanAt
		}
		return last != nil
	})
	scanAt, err := wire.ParseTime(*last)
	if err != nil {
		t.Fatal(err)
	}
	ciAt, err := wire.ParseTime(col.unique()[0].At)
	if err != nil {
		t.Fatal(err)
	}
	if d := scanAt.Sub(ciAt); d < -time.Second || d > time.Second {
		t.Errorf("last_scan_at %s is not the check-in's time %s (agent clock)", *last, col.unique()[0].At)
	}
	if d := time.Since(scanAt); d < 4*time.Hour {
		t.Errorf("last_scan_at %s is on the real clock, not the agent's (5 h behind)", *last)
	}
}
