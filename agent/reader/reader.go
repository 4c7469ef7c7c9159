package reader

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"go.bug.st/serial"
)

// Defaults for Config.
const (
	DefaultReadTimeout = 50 * time.Millisecond
	DefaultBackoffMin  = 200 * time.Millisecond
	DefaultBackoffMax  = 5 * time.Second
)

// ErrNotConnected is returned by Feedback while the reader's port is not open.
var ErrNotConnected = errors.New("reader not connected")

// Config configures one badge reader.
type Config struct {
	Name    string   // the reader's name in the agent's config ("entree")
	Port    string   // a path or usb:VID:PID[:SERIAL], see ParsePortSpec
	Profile *Profile // how the reader talks
	// Debounce is the window within which frames of one badge are one scan
	// (DefaultDebounce when 0).
	Debounce time.Duration
	// ReadTimeout bounds each read so that partial frames time out and ctx is
	// noticed (DefaultReadTimeout when 0; keep it under PartialTimeout).
	ReadTimeout time.Duration
	// BackoffMin and BackoffMax bound the wait between reconnection attempts,
	// doubling from min to max (DefaultBackoffMin/Max when 0).
	BackoffMin, BackoffMax time.Duration
	// OnChange, if set, is called when Connected or LastError changes, from a
	// goroutine of Run's, outside the reader's locks; calls are coalesced, so it
	// should read State() itself.
	OnChange func()
	// ListPorts finds USB ports for a usb: port (the package's ListPorts when nil;
	// tests inject a fake).
	ListPorts func() ([]PortInfo, error)
}

// Scan is one badge presented to a reader, after debouncing.
type Scan struct {
	Reader string    // Config.Name
	Badge  string    // canonical badge id
	At     time.Time // time.Now() when the frame completed
}

// State is a snapshot of a reader for the agent's status.
type State struct {
	Name           string
	Port           string // the configured port spec
	Path           string // the path last opened (a symlink resolved), "" before
	Profile        string
	Connected      bool
	LastError      string    // why the port is not connected; "" once connected
	LastScanAt     time.Time // zero if none
	FramesRejected uint64
	FramesAccepted uint64 // frames decoded into a badge, repeats of a held card included
}

// Reader reads one badge reader on a serial port: it opens the port with the
// profile's settings, decodes and debounces frames, and reconnects with backoff
// when the port fails or the device is unplugged.
type Reader struct {
	cfg     Config
	spec    PortSpec
	prof    *compiled
	mode    *serial.Mode
	log     *slog.Logger
	running atomic.Bool
	changed chan struct{} // coalesced OnChange signals

	mu sync.Mutex // guards st
	st State

	portMu sync.Mutex // guards port, writes to it and its closing
	port   serial.Port
}

// New validates cfg, fills in defaults and returns a reader; it does not open the
// port (Run does). A nil logger discards logs.
func New(cfg Config, logger *slog.Logger) (*Reader, error) {
	if cfg.Name == "" {
		return nil, errors.New("reader: name is empty")
	}
	spec, err := ParsePortSpec(cfg.Port)
	if err != nil {
		return nil, fmt.Errorf("reader %q: %w", cfg.Name, err)
	}
	if cfg.Profile == nil {
		return nil, fmt.Errorf("reader %q: no profile", cfg.Name)
	}
	prof, err := compile(cfg.Profile)
	if err != nil {
		return nil, fmt.Errorf("reader %q: profile %q: %w", cfg.Name, cfg.Profile.Name, err)
	}
	if cfg.Debounce < 0 || cfg.ReadTimeout < 0 || cfg.BackoffMin < 0 || cfg.BackoffMax < 0 {
		return nil, fmt.Errorf("reader %q: negative duration", cfg.Name)
	}
	if cfg.Debounce == 0 {
		cfg.Debounce = DefaultDebounce
	}
	if cfg.ReadTimeout == 0 {
		cfg.ReadTimeout = DefaultReadTimeout
	}
	if cfg.BackoffMin == 0 {
		cfg.BackoffMin = DefaultBackoffMin
	}
	if cfg.BackoffMax == 0 {
		cfg.BackoffMax = DefaultBackoffMax
	}
	if cfg.BackoffMax < cfg.BackoffMin {
		cfg.BackoffMax = cfg.BackoffMin
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	r := &Reader{
		cfg:     cfg,
		spec:    spec,
		prof:    prof,
		mode:    cfg.Profile.serialMode(),
		log:     logger.With("reader", cfg.Name, "port", cfg.Port),
		changed: make(chan struct{}, 1),
	}
	r.st = State{Name: cfg.Name, Port: cfg.Port, Profile: cfg.Profile.Name}
	return r, nil
}

// Name returns the reader's name.
func (r *Reader) Name() string { return r.cfg.Name }

// State returns a snapshot of the reader's state. It is safe for concurrent use.
func (r *Reader) State() State {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.st
}

// Run reads the reader until ctx ends, sending each scan to out (a blocking send
// that gives up when ctx ends). It opens the port, finding a usb: port again on
// every attempt, sends the profile's init bytes, and on a read error or unplug
// closes the port, records the error and reconnects with backoff. It returns nil
// once ctx has ended and everything it started has stopped; an error only if it is
// already running.
func (r *Reader) Run(ctx context.Context, out chan<- Scan) error {
	if !r.running.CompareAndSwap(false, true) {
		return fmt.Errorf("reader %q: already running", r.cfg.Name)
	}
	defer r.running.Store(false)

	var wg sync.WaitGroup
	stopNotifier := make(chan struct{})
	if r.cfg.OnChange != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.notifier(stopNotifier)
		}()
	}
	debounce := NewDebouncer(r.cfg.Debounce)
	backoff := r.cfg.BackoffMin
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for ctx.Err() == nil {
		err := r.connect(ctx, out, debounce, &backoff)
		if ctx.Err() != nil {
			break
		}
		r.setDisconnected(err)
		timer.Reset(backoff)
		select {
		case <-ctx.Done():
			timer.Stop()
		case <-timer.C:
		}
		backoff = min(2*backoff, r.cfg.BackoffMax)
	}
	r.mu.Lock()
	changed := r.st.Connected
	r.st.Connected = false
	r.mu.Unlock()
	if changed {
		r.notify()
	}
	close(stopNotifier)
	wg.Wait()
	return nil
}

// connect opens the port and reads it until an error or the end of ctx.
func (r *Reader) connect(ctx context.Context, out chan<- Scan, debounce *Debouncer, backoff *time.Duration) error {
	path, err := Resolve(r.spec, r.cfg.ListPorts)
	if err != nil {
		return err
	}
	port, err := serial.Open(path, r.mode)
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	if err := port.SetReadTimeout(r.cfg.ReadTimeout); err != nil {
		_ = port.Close()
		return fmt.Errorf("set read timeout on %s: %w", path, err)
	}
	// The init bytes go out before the port is offered to Feedback, so no
	// feedback byte can come first.
	r.portMu.Lock()
	r.port = port
	var initErr error
	if len(r.prof.init) > 0 {
		initErr = r.writeLocked(r.prof.init)
	}
	r.portMu.Unlock()
	defer r.closePort()
	if initErr != nil {
		return fmt.Errorf("send init bytes to %s: %w", path, initErr)
	}
	shown := path
	if p, err := filepath.EvalSymlinks(path); err == nil {
		shown = p
	}
	r.setConnected(shown)
	started := time.Now()
	err = r.read(ctx, port, out, debounce)
	if time.Since(started) >= r.cfg.BackoffMax {
		*backoff = r.cfg.BackoffMin // it worked for a while: retry quickly
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", path, describe(err))
	}
	return nil
}

// describe names the unplug case, which go.bug.st/serial reports as a PortError
// (no Unwrap) with code PortClosed.
func describe(err error) error {
	var pe *serial.PortError
	if errors.As(err, &pe) && pe.Code() == serial.PortClosed {
		return fmt.Errorf("port closed or device unplugged: %w", err)
	}
	return err
}

func (r *Reader) read(ctx context.Context, port serial.Port, out chan<- Scan, debounce *Debouncer) error {
	dec := newDecoder(r.prof)
	buf := make([]byte, 512)
	for ctx.Err() == nil {
		n, err := port.Read(buf)
		now := time.Now()
		var frames []Frame
		if n > 0 {
			frames = dec.Feed(buf[:n], now)
		} else {
			frames = dec.Tick(now)
		}
		for _, f := range frames {
			if !r.handle(ctx, f, now, out, debounce) {
				return nil
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// handle counts a frame and sends a debounced scan; false when ctx ended.
func (r *Reader) handle(ctx context.Context, f Frame, now time.Time, out chan<- Scan, debounce *Debouncer) bool {
	r.mu.Lock()
	if f.Rejected() {
		r.st.FramesRejected++
	} else {
		r.st.FramesAccepted++
	}
	r.mu.Unlock()
	if f.Rejected() {
		r.log.Debug("frame rejected", "reason", f.Reject)
		return true
	}
	if !debounce.Accept(f.Badge, now) {
		return true
	}
	select {
	case out <- Scan{Reader: r.cfg.Name, Badge: f.Badge, At: now}:
	case <-ctx.Done():
		return false
	}
	r.mu.Lock()
	r.st.LastScanAt = now
	r.mu.Unlock()
	r.log.Debug("scan", "badge", f.Badge)
	return true
}

// Feedback makes the reader signal an accepted or refused scan by writing the
// profile's feedback bytes. It is a no-op when the profile has none for that case,
// and returns ErrNotConnected when the port is not open. It is safe to call while
// Run reads; ctx is checked before writing (a write of a few bytes does not block).
func (r *Reader) Feedback(ctx context.Context, accepted bool) error {
	b := r.prof.refused
	if accepted {
		b = r.prof.accepted
	}
	if len(b) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := r.write(b); err != nil {
		return fmt.Errorf("reader %q feedback: %w", r.cfg.Name, err)
	}
	return nil
}

func (r *Reader) write(b []byte) error {
	r.portMu.Lock()
	defer r.portMu.Unlock()
	return r.writeLocked(b)
}

// writeLocked writes b to the port; the caller holds portMu.
func (r *Reader) writeLocked(b []byte) error {
	if r.port == nil {
		return ErrNotConnected
	}
	for len(b) > 0 {
		n, err := r.port.Write(b)
		if err != nil {
			return describe(err)
		}
		if n == 0 {
			return errors.New("short write")
		}
		b = b[n:]
	}
	return nil
}

func (r *Reader) closePort() {
	r.portMu.Lock()
	defer r.portMu.Unlock()
	if r.port != nil {
		_ = r.port.Close()
		r.port = nil
	}
}

func (r *Reader) setConnected(path string) {
	r.mu.Lock()
	changed := !r.st.Connected || r.st.LastError != ""
	r.st.Connected, r.st.LastError, r.st.Path = true, "", path
	r.mu.Unlock()
	r.log.Info("reader connected", "path", path)
	if changed {
		r.notify()
	}
}

func (r *Reader) setDisconnected(err error) {
	msg := "disconnected"
	if err != nil {
		msg = err.Error()
	}
	r.mu.Lock()
	wasConnected := r.st.Connected
	changed := wasConnected || r.st.LastError != msg
	r.st.Connected, r.st.LastError = false, msg
	r.mu.Unlock()
	if !changed {
		r.log.Debug("reader still unavailable", "error", msg)
		return
	}
	if wasConnected {
		r.log.Warn("reader disconnected", "error", msg)
	} else {
		r.log.Warn("reader unavailable", "error", msg)
	}
	r.notify()
}

func (r *Reader) notify() {
	if r.cfg.OnChange == nil {
		return
	}
	select {
	case r.changed <- struct{}{}:
	default: // a call is already pending; it will read the new state
	}
}

func (r *Reader) notifier(stop <-chan struct{}) {
	for {
		select {
		case <-r.changed:
			r.cfg.OnChange()
		case <-stop:
			select {
			case <-r.changed:
				r.cfg.OnChange()
			default:
			}
			return
		}
	}
}
