//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package reader

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"pointage/internal/scansim"
)

// These tests run real readers on pseudo-terminals opened through go.bug.st/serial.

type harness struct {
	t      *testing.T
	r      *Reader
	scans  chan Scan
	cancel context.CancelFunc
	done   chan error
}

func testLogger(t *testing.T) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("test", t.Name())
	}
	return slog.New(slog.DiscardHandler)
}

// start runs a reader until the test ends, and checks that Run then returns
// promptly.
func start(t *testing.T, cfg Config) *harness {
	t.Helper()
	if cfg.Name == "" {
		cfg.Name = "entree"
	}
	if cfg.BackoffMin == 0 {
		cfg.BackoffMin, cfg.BackoffMax = 20*time.Millisecond, 100*time.Millisecond
	}
	r, err := New(cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h := &harness{t: t, r: r, scans: make(chan Scan, 16), cancel: cancel, done: make(chan error, 1)}
	go func() { h.done <- r.Run(ctx, h.scans) }()
	t.Cleanup(h.stop)
	return h
}

func (h *harness) stop() {
	h.t.Helper()
	h.cancel()
	select {
	case err := <-h.done:
		if err != nil {
			h.t.Errorf("Run returned %v", err)
		}
		h.done <- nil // stop is idempotent
	case <-time.After(2 * time.Second):
		h.t.Fatal("Run did not return within 2 s of the context ending")
	}
	if h.r.State().Connected {
		h.t.Error("State().Connected is still true after Run returned")
	}
}

func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (h *harness) waitConnected(want bool) State {
	h.t.Helper()
	var st State
	waitFor(h.t, fmt.Sprintf("Connected == %v", want), 3*time.Second, func() bool {
		st = h.r.State()
		return st.Connected == want
	})
	return st
}

func (h *harness) expectScan(badge string) Scan {
	h.t.Helper()
	select {
	case s := <-h.scans:
		if s.Badge != badge || s.Reader != h.r.Name() {
			h.t.Fatalf("scan %+v, want badge %s from reader %s", s, badge, h.r.Name())
		}
		return s
	case <-time.After(3 * time.Second):
		h.t.Fatalf("no scan of %s within 3 s (state %+v)", badge, h.r.State())
	}
	return Scan{}
}

func (h *harness) expectNoScan(d time.Duration) {
	h.t.Helper()
	select {
	case s := <-h.scans:
		h.t.Fatalf("unexpected scan %+v", s)
	case <-time.After(d):
	}
}

func newPTY(t *testing.T) *scansim.PTY {
	t.Helper()
	p, err := scansim.NewPTY()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func encode(t *testing.T, profile, badge string) []byte {
	t.Helper()
	b, err := scansim.Encode(profile, badge)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func write(t *testing.T, p *scansim.PTY, b []byte) {
	t.Helper()
	if _, err := p.Write(b); err != nil {
		t.Fatal(err)
	}
}

// Every built-in profile: frames written to a pty arrive as scans with the right
// canonical badge.
func TestReaderBuiltinProfiles(t *testing.T) {
	badges := map[string][]string{
		"rdm6300":         {"13005D1DA5", "01026F6C3A", "0B0012D687"},
		"gwiot7941e":      {"2E00B6D7B5", "0B0012D687"},
		"line-hex":        {"DEADBEEF", "04A224B2C35E80"},
		"wiegand26-ascii": {"7BB26E", "010001"},
		"barcode":         {"ELV-2026-0042", "4006381333931"},
	}
	for _, name := range Names(mustBuiltinTB(t)) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p := newPTY(t)
			h := start(t, Config{Port: p.Path(), Profile: builtin(t, name)})
			st := h.waitConnected(true)
			if st.Path != p.Path() || st.Port != p.Path() || st.Profile != name || st.LastError != "" {
				t.Errorf("state %+v", st)
			}
			for _, badge := range badges[name] {
				before := time.Now()
				write(t, p, encode(t, name, badge))
				s := h.expectScan(badge)
				if s.At.Before(before) || s.At.After(time.Now()) {
					t.Errorf("scan time %v not between the write (%v) and now", s.At, before)
				}
			}
			st = h.r.State()
			if st.FramesAccepted != uint64(len(badges[name])) || st.FramesRejected != 0 || st.LastScanAt.IsZero() {
				t.Errorf("state %+v, want %d accepted, 0 rejected, a last scan time", st, len(badges[name]))
			}
		})
	}
	t.Run("gwiot7941e RDM6300 form", func(t *testing.T) {
		t.Parallel()
		p := newPTY(t)
		h := start(t, Config{Port: p.Path(), Profile: builtin(t, "gwiot7941e")})
		h.waitConnected(true)
		write(t, p, []byte(stx+"13005D1DA5F6"+etx))
		h.expectScan("13005D1DA5")
	})
}

// Noise, bad checksums, non-hex and over-long frames are counted and never become
// scans; the valid frame after them does.
func TestReaderRejectsBadFrames(t *testing.T) {
	tests := []struct {
		name    string
		profile string
		bad     []string
		valid   string
		badge   string
	}{
		{"rdm6300", "rdm6300", []string{
			"line noise",                           // noise
			stx + "13005D1DA5F7" + etx,             // bad checksum
			stx + "13005D1DX5F6" + etx,             // not hex
			stx + "13005D1DA5F613005D1DA5F6" + etx, // too long
			stx + "1300\x00\x01" + etx,             // binary junk
		}, stx + "01026F6C3A3A" + etx, "01026F6C3A"},
		{"gwiot7941e", "gwiot7941e", []string{
			"\x02\x0a\x02\x2e\x00\xb6\xd7\xb5\xf3\x03", // bad BCC
			"\xff\xfe", // noise
		}, "\x02\x0a\x02\x2e\x00\xb6\xd7\xb5\xf2\x03", "2E00B6D7B5"},
		{"line-hex", "line-hex", []string{
			"DEADBEXF\r\n",                         // not hex
			strings.Repeat("DEADBEEF", 9) + "\r\n", // too long
			"\x00\xff\x13\r\n",                     // binary
			"BEEF\n",                               // too short
		}, "Card UID: DE AD BE EF\r\n", "DEADBEEF"},
		{"wiegand26-ascii", "wiegand26-ascii", []string{
			"Wiegand HEX = 7BX26E, DECIMAL = 1, Type W26\r\n",
			stx + "7BB2ZZ" + etx,
		}, "Wiegand HEX = 7BB26E, DECIMAL = 8106606, Type W26\r\n", "7BB26E"},
		{"barcode", "barcode", []string{
			strings.Repeat("9", 65) + "\r\n",
			"AB\x07C\r\n",
		}, "ABC-123\r\n", "ABC-123"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := newPTY(t)
			h := start(t, Config{Port: p.Path(), Profile: builtin(t, tt.profile)})
			h.waitConnected(true)
			for _, b := range tt.bad {
				write(t, p, []byte(b))
			}
			write(t, p, []byte(tt.valid))
			h.expectScan(tt.badge)
			h.expectNoScan(150 * time.Millisecond)
			st := h.r.State()
			if st.FramesRejected != uint64(len(tt.bad)) || st.FramesAccepted != 1 {
				t.Errorf("rejected %d accepted %d, want %d and 1", st.FramesRejected, st.FramesAccepted, len(tt.bad))
			}
		})
	}
}

func TestReaderPartialFrameThenSilence(t *testing.T) {
	t.Parallel()
	p := newPTY(t)
	h := start(t, Config{Port: p.Path(), Profile: builtin(t, "rdm6300")})
	h.waitConnected(true)
	written := time.Now()
	write(t, p, []byte(stx+"13005D"))
	// The reader drops the partial frame by itself after 100 ms of silence.
	waitFor(t, "the partial frame rejected", 2*time.Second, func() bool { return h.r.State().FramesRejected == 1 })
	if el := time.Since(written); el < PartialTimeout {
		t.Fatalf("partial frame dropped after %v, before %v of silence", el, PartialTimeout)
	}
	time.Sleep(time.Until(written.Add(150 * time.Millisecond)))
	// The rest of the first frame, then a valid frame: only the valid one counts.
	write(t, p, []byte("1DA5F6"+etx+stx+"0B0012D68748"+etx))
	h.expectScan("0B0012D687")
	h.expectNoScan(150 * time.Millisecond)
	if st := h.r.State(); st.FramesRejected != 2 || st.FramesAccepted != 1 {
		t.Errorf("rejected %d (want the partial frame and the orphan rest), accepted %d (want 1)", st.FramesRejected, st.FramesAccepted)
	}
}

func TestReaderReassemblesPieces(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"rdm6300", "gwiot7941e", "wiegand26-ascii"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p := newPTY(t)
			h := start(t, Config{Port: p.Path(), Profile: builtin(t, name)})
			h.waitConnected(true)
			badge := map[string]string{"rdm6300": "13005D1DA5", "gwiot7941e": "2E00B6D7B5", "wiegand26-ascii": "7BB26E"}[name]
			if err := p.WriteSlowly(encode(t, name, badge), 3, 30*time.Millisecond); err != nil {
				t.Fatal(err)
			}
			h.expectScan(badge)
			if st := h.r.State(); st.FramesRejected != 0 {
				t.Errorf("%d frames rejected", st.FramesRejected)
			}
		})
	}
}

func TestReaderDebounce(t *testing.T) {
	t.Parallel()
	p := newPTY(t)
	const window = 400 * time.Millisecond
	h := start(t, Config{Port: p.Path(), Profile: builtin(t, "rdm6300"), Debounce: window})
	h.waitConnected(true)
	frame := encode(t, "rdm6300", "13005D1DA5")
	// A card held on the reader: a frame every 100 ms for 700 ms, longer than the
	// window, is one scan.
	for i := 0; i < 8; i++ {
		write(t, p, frame)
		time.Sleep(100 * time.Millisecond)
	}
	h.expectScan("13005D1DA5")
	// Another card meanwhile is its own scan.
	write(t, p, encode(t, "rdm6300", "0B0012D687"))
	h.expectScan("0B0012D687")
	h.expectNoScan(window / 2)
	// Presented again after the window (with a margin for a slow machine): a
	// second scan.
	time.Sleep(window + 300*time.Millisecond)
	write(t, p, frame)
	h.expectScan("13005D1DA5")
	if st := h.r.State(); st.FramesAccepted != 10 {
		t.Errorf("%d frames accepted, want 10", st.FramesAccepted)
	}
}

// The reader is unplugged and comes back on another pty behind the same
// by-id-style symlink: Run notices, reconnects and scans flow again.
func TestReaderUnplugReplug(t *testing.T) {
	t.Parallel()
	link, err := scansim.NewSymlink(filepath.Join(t.TempDir(), "usb-RFID_Reader_0001-if00-port0"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { link.Close() })
	var changes atomic.Int32
	h := start(t, Config{Port: link.Path(), Profile: builtin(t, "rdm6300"), OnChange: func() { changes.Add(1) }})
	st := h.waitConnected(true)
	if st.Path != link.PTY().Path() {
		t.Errorf("Path %q, want the link's target %q", st.Path, link.PTY().Path())
	}
	write(t, link.PTY(), encode(t, "rdm6300", "13005D1DA5"))
	h.expectScan("13005D1DA5")

	if err := link.Unplug(); err != nil {
		t.Fatal(err)
	}
	st = h.waitConnected(false)
	if st.LastError == "" {
		t.Error("disconnected without LastError")
	}
	waitFor(t, "OnChange calls for connect and disconnect", time.Second, func() bool { return changes.Load() >= 2 })

	p, err := link.Replug()
	if err != nil {
		t.Fatal(err)
	}
	st = h.waitConnected(true)
	if st.LastError != "" || st.Path != p.Path() {
		t.Errorf("after replug: %+v, want no error and path %s", st, p.Path())
	}
	write(t, p, encode(t, "rdm6300", "01026F6C3A"))
	h.expectScan("01026F6C3A")
	waitFor(t, "OnChange call for the reconnect", time.Second, func() bool { return changes.Load() >= 3 })
}

// A usb:VID:PID port is looked up again at every connection: after a replug the
// reader follows the device to its new path.
func TestReaderFollowsUSBDevice(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var current *scansim.PTY
	lister := func() ([]PortInfo, error) {
		mu.Lock()
		defer mu.Unlock()
		ports := []PortInfo{{Name: "/dev/ttyS0"}}
		if current != nil {
			ports = append(ports, PortInfo{Name: current.Path(), IsUSB: true, VID: "10C4", PID: "EA60", SerialNumber: "0001"})
		}
		return ports, nil
	}
	plug := func(p *scansim.PTY) {
		mu.Lock()
		current = p
		mu.Unlock()
	}
	h := start(t, Config{Port: "usb:10c4:ea60:0001", Profile: builtin(t, "line-hex"), ListPorts: lister})
	waitFor(t, "an error saying the device is missing", 2*time.Second, func() bool {
		return strings.Contains(h.r.State().LastError, "no matching serial port")
	})
	first := newPTY(t)
	plug(first)
	h.waitConnected(true)
	write(t, first, encode(t, "line-hex", "DEADBEEF"))
	h.expectScan("DEADBEEF")

	plug(nil)
	first.Close()
	h.waitConnected(false)
	second := newPTY(t)
	plug(second)
	if st := h.waitConnected(true); st.Path != second.Path() || st.Port != "usb:10c4:ea60:0001" {
		t.Errorf("state %+v, want path %s", st, second.Path())
	}
	write(t, second, encode(t, "line-hex", "CAFEBABE"))
	h.expectScan("CAFEBABE")
}

// Init bytes are sent at open; Feedback bytes arrive on the reader's side; both
// work while scans are read.
func TestReaderInitAndFeedback(t *testing.T) {
	t.Parallel()
	profiles, err := Load("testdata/profiles")
	if err != nil {
		t.Fatal(err)
	}
	p := newPTY(t)
	h := start(t, Config{Port: p.Path(), Profile: profiles["line-hex-beep"]})
	ctx := context.Background()
	early := h.r.Feedback(ctx, true) // may race with the connection
	if early != nil && !errors.Is(early, ErrNotConnected) {
		t.Fatalf("Feedback before connecting: %v", early)
	}
	h.waitConnected(true)
	if got, err := p.ReadN(2, 2*time.Second); err != nil || string(got) != "\x1b\x40" {
		t.Fatalf("init bytes % X, %v; want 1B 40", got, err)
	}
	if early == nil { // it won the race: its byte follows the init bytes
		if got, err := p.ReadN(1, 2*time.Second); err != nil || string(got) != "\x06" {
			t.Fatalf("early feedback % X, %v; want 06", got, err)
		}
	}
	if err := h.r.Feedback(ctx, true); err != nil {
		t.Fatal(err)
	}
	if got, err := p.ReadN(1, 2*time.Second); err != nil || string(got) != "\x06" {
		t.Fatalf("accepted feedback % X, %v; want 06", got, err)
	}
	if err := h.r.Feedback(ctx, false); err != nil {
		t.Fatal(err)
	}
	if got, err := p.ReadN(2, 2*time.Second); err != nil || string(got) != "\x15\x15" {
		t.Fatalf("refused feedback % X, %v; want 15 15", got, err)
	}

	// Feedback from several goroutines while scans are read.
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 5; j++ {
				if err := h.r.Feedback(ctx, true); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	for _, b := range []string{"DEADBEEF", "CAFEBABE"} {
		write(t, p, []byte(b+"\r\n"))
		h.expectScan(b)
	}
	wg.Wait()
	if got, err := p.ReadN(20, 2*time.Second); err != nil || string(got) != strings.Repeat("\x06", 20) {
		t.Fatalf("concurrent feedback: % X, %v", got, err)
	}

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := h.r.Feedback(cancelled, true); !errors.Is(err, context.Canceled) {
		t.Errorf("Feedback with a cancelled context: %v", err)
	}
	h.stop()
	if err := h.r.Feedback(ctx, true); !errors.Is(err, ErrNotConnected) {
		t.Errorf("Feedback after Run returned: %v, want ErrNotConnected", err)
	}
}

func TestReaderFeedbackWithoutBytesIsNoop(t *testing.T) {
	r, err := New(Config{Name: "x", Port: "/dev/null-reader", Profile: builtin(t, "rdm6300")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Feedback(context.Background(), true); err != nil {
		t.Errorf("Feedback on a profile without feedback bytes: %v", err)
	}
}

// Run stops when its context ends even while it waits to deliver a scan nobody
// reads, and while the port is missing.
func TestReaderStops(t *testing.T) {
	t.Parallel()
	t.Run("blocked on send", func(t *testing.T) {
		t.Parallel()
		p := newPTY(t)
		r, err := New(Config{Name: "entree", Port: p.Path(), Profile: builtin(t, "line-hex")}, nil)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- r.Run(ctx, make(chan Scan)) }() // nobody reads
		waitFor(t, "connected", 3*time.Second, func() bool { return r.State().Connected })
		write(t, p, []byte("DEADBEEF\r\n"))
		waitFor(t, "the frame decoded", 3*time.Second, func() bool { return r.State().FramesAccepted == 1 })
		if err := r.Run(ctx, make(chan Scan)); err == nil {
			t.Error("a second concurrent Run did not fail")
		}
		cancel()
		select {
		case <-done:
		case <-time.After(2 * time.Second):
			t.Fatal("Run blocked on its send after the context ended")
		}
		if st := r.State(); st.Connected || !st.LastScanAt.IsZero() {
			t.Errorf("state %+v: want disconnected and no delivered scan", st)
		}
	})
	t.Run("port missing", func(t *testing.T) {
		t.Parallel()
		h := start(t, Config{Port: filepath.Join(t.TempDir(), "ttyUSB9"), Profile: builtin(t, "rdm6300")})
		waitFor(t, "an open error", 2*time.Second, func() bool { return h.r.State().LastError != "" })
		if st := h.r.State(); !strings.Contains(st.LastError, "ttyUSB9") {
			t.Errorf("LastError %q does not name the port", st.LastError)
		}
	})
}

func TestNewValidates(t *testing.T) {
	good := Config{Name: "entree", Port: "/dev/ttyUSB0", Profile: builtin(t, "rdm6300")}
	tests := []struct {
		name    string
		change  func(c *Config)
		wantErr string
	}{
		{"no name", func(c *Config) { c.Name = "" }, "name"},
		{"bad port", func(c *Config) { c.Port = "usb:xyz" }, "usb:VID:PID"},
		{"no profile", func(c *Config) { c.Profile = nil }, "no profile"},
		{"bad profile", func(c *Config) { p := *c.Profile; p.Serial.Baud = -1; c.Profile = &p }, "serial.baud"},
		{"negative debounce", func(c *Config) { c.Debounce = -time.Second }, "negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := good
			tt.change(&c)
			_, err := New(c, nil)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("New: %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
	r, err := New(good, nil)
	if err != nil {
		t.Fatal(err)
	}
	if st := r.State(); st.Name != "entree" || st.Port != "/dev/ttyUSB0" || st.Profile != "rdm6300" || st.Connected {
		t.Errorf("initial state %+v", st)
	}
}
