// Package demo runs a simulated school through the real pipeline for
// `make run`: the hub (embedded broker, ingest, SQLite store), pseudo-
// terminal badge readers fed by the scanner simulator, and a real agent
// that reads them through go.bug.st/serial, keeps them in its outbox and
// publishes them over MQTT with its registered device identity. It prints
// what the hub stored and what the agent still holds. The dashboard and the
// simulated school day come with the dashboard work.
package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"pointage/agent"
	"pointage/hub"
	"pointage/hub/devices"
	"pointage/internal/scansim"
	"pointage/internal/wire"
)

// Options configure the demo.
type Options struct {
	MQTTListen string // default ":1883"; a free port when it is taken
	Listen     string // HTTP, default ":8080"; a free port when it is taken
	DataDir    string // default a temporary folder
	Out        io.Writer
	Logger     *slog.Logger
	// Pace is the mean time between two simulated scans (default 700 ms).
	Pace time.Duration
	// Report is how often the demo prints what was stored (default 5 s).
	Report time.Duration
}

// freeOr returns addr when it can be listened on, else a free loopback port.
func freeOr(addr string) string {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "127.0.0.1:0"
	}
	ln.Close()
	return addr
}

const (
	demoSite   = "jules-ferry"
	demoDevice = "jf-cantine-1"
)

// Run runs the demo until ctx ends.
func Run(ctx context.Context, opts Options) error {
	if opts.Out == nil {
		opts.Out = os.Stdout
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	if opts.MQTTListen == "" {
		opts.MQTTListen = ":1883"
	}
	if opts.Listen == "" {
		opts.Listen = ":8080"
	}
	if opts.Pace == 0 {
		opts.Pace = 700 * time.Millisecond
	}
	if opts.Report == 0 {
		opts.Report = 5 * time.Second
	}
	if opts.DataDir == "" {
		dir, err := os.MkdirTemp("", "pointage-demo-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		opts.DataDir = dir
	}

	cfg := hub.Defaults()
	cfg.DataDir = filepath.Join(opts.DataDir, "hub")
	cfg.MQTTListen = freeOr(opts.MQTTListen)
	cfg.Listen = freeOr(opts.Listen)
	h, err := hub.New(ctx, cfg, hub.Options{Logger: opts.Logger, Version: "demo"})
	if err != nil {
		return err
	}
	_, password, err := h.Devices().Add(ctx, demoSite, demoDevice, "")
	if errors.Is(err, devices.ErrExists) {
		password, err = h.Devices().SetPassword(ctx, demoDevice, "")
	}
	if err != nil {
		h.Close()
		return err
	}

	canteen, err := scansim.NewPTY()
	if err != nil {
		h.Close()
		return fmt.Errorf("demo: pseudo-terminal: %w", err)
	}
	defer canteen.Close()
	garderie, err := scansim.NewPTY()
	if err != nil {
		h.Close()
		return fmt.Errorf("demo: pseudo-terminal: %w", err)
	}
	defer garderie.Close()

	acfg := agent.Defaults()
	acfg.Site, acfg.Device = demoSite, demoDevice
	acfg.DataDir = filepath.Join(opts.DataDir, "agent-"+demoDevice)
	acfg.MQTT.URL = h.MQTTURL()
	acfg.MQTT.Username = demoDevice
	acfg.MQTT.Password = agent.Secret(password)
	acfg.MQTT.ClientID = "pointage-agent-" + demoDevice
	acfg.Readers = []agent.ReaderConfig{
		{Name: "entree", Port: canteen.Path(), Profile: "rdm6300", Service: wire.ServiceCanteen, Dir: wire.DirAuto, Debounce: agent.Duration(3 * time.Second)},
		{Name: "porte-garderie", Port: garderie.Path(), Profile: "line-hex", Service: wire.ServiceGarderie, Dir: wire.DirAuto, Debounce: agent.Duration(3 * time.Second)},
	}
	a, err := agent.New(acfg, agent.Options{Logger: opts.Logger, Version: "demo"})
	if err != nil {
		h.Close()
		return err
	}

	fmt.Fprintf(opts.Out, "pointage demo\n  hub: http://%s (/healthz, /metrics), MQTT %s, data %s\n", h.HTTPAddr(), h.MQTTURL(), cfg.DataDir)
	fmt.Fprintf(opts.Out, "  agent %s/%s, outbox %s\n", demoSite, demoDevice, acfg.OutboxPath())
	fmt.Fprintf(opts.Out, "  readers: entree (rdm6300) on %s, porte-garderie (line-hex) on %s\n", canteen.Path(), garderie.Path())
	fmt.Fprintf(opts.Out, "  the dashboard comes with a later version. Ctrl-C stops.\n\n")

	var wg sync.WaitGroup
	errc := make(chan error, 2)
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	wg.Add(4)
	go func() { defer wg.Done(); errc <- h.Run(runCtx) }()
	go func() { defer wg.Done(); errc <- a.Run(runCtx) }()
	go func() { defer wg.Done(); simulate(runCtx, opts.Pace, canteen, garderie) }()
	go func() { defer wg.Done(); report(runCtx, opts.Out, opts.Report, h, a) }()
	var first error
	select {
	case <-ctx.Done():
	case first = <-errc:
	}
	cancel()
	wg.Wait()
	return first
}

// report prints what the hub stored and what the agent still holds.
func report(ctx context.Context, out io.Writer, every time.Duration, h *hub.Hub, a *agent.Agent) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		var stored uint64
		var missing int
		for _, s := range h.Ingest().Sequences() {
			if s.Device == demoDevice && s.Epoch == a.Epoch() {
				stored, missing = s.StoredThrough, len(s.Missing)
			}
		}
		st, err := a.Status(ctx, wire.StateOnline)
		if err != nil {
			continue
		}
		fmt.Fprintf(out, "%s  hub: %s stored through seq %d, %d gap(s) | agent: last seq %d, %d pending in the outbox\n",
			time.Now().Format("15:04:05"), demoDevice, stored, missing, st.LastSeq, st.OutboxPending)
	}
}

// simulate writes badge frames to the readers: children at the canteen
// (sometimes holding the card long enough for a repeated frame, sometimes a
// burst of line noise) and at the garderie door.
func simulate(ctx context.Context, pace time.Duration, canteen, garderie *scansim.PTY) {
	badges := make([]string, 40)
	for i := range badges {
		badges[i] = fmt.Sprintf("0A00%06X", 0xBC6100+i*7)
	}
	for {
		wait := time.Duration(rand.Int64N(int64(2 * pace)))
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		badge := badges[rand.IntN(len(badges))]
		switch n := rand.IntN(20); {
		case n < 13:
			frame, _ := scansim.Encode("rdm6300", badge)
			canteen.Write(frame)
			if n == 0 { // card held on the reader: the frame repeats
				time.Sleep(200 * time.Millisecond)
				canteen.Write(frame)
			}
		case n < 19:
			frame, _ := scansim.Encode("line-hex", badge[2:])
			garderie.Write(frame)
		default:
			canteen.Write([]byte{0x02, '1', '3', 0x55, 0xff})
		}
	}
}
