// Package demo runs a simulated school through the real pipeline for
// `make run`: the embedded broker, pseudo-terminal badge readers fed by the
// scanner simulator, and a real agent that reads them through
// go.bug.st/serial and publishes over MQTT. Until the hub's ingest exists it
// prints what the agent publishes; nothing acknowledges the check-ins, so
// they stay pending in the agent's outbox (and are published again every
// 30 s, which the printout shows once per event).
package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"time"

	"pointage/agent"
	"pointage/hub/broker"
	"pointage/internal/scansim"
	"pointage/internal/wire"
)

// Options configure the demo.
type Options struct {
	MQTTListen string // default ":1883"; a free port when it is taken
	DataDir    string // default a temporary folder
	Out        io.Writer
	Logger     *slog.Logger
	// Pace is the mean time between two simulated scans (default 700 ms).
	Pace time.Duration
}

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
	if opts.Pace == 0 {
		opts.Pace = 700 * time.Millisecond
	}
	if opts.DataDir == "" {
		dir, err := os.MkdirTemp("", "pointage-demo-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		opts.DataDir = dir
	}

	b, err := broker.New(broker.Options{Addr: opts.MQTTListen, AllowAll: true, Logger: opts.Logger})
	if err != nil {
		opts.Logger.Warn("default MQTT port taken; using a free port", "addr", opts.MQTTListen, "err", err)
		if b, err = broker.New(broker.Options{Addr: "127.0.0.1:0", AllowAll: true, Logger: opts.Logger}); err != nil {
			return err
		}
	}
	defer b.Close()
	if err := b.Serve(); err != nil {
		return err
	}

	var printMu sync.Mutex
	seen := map[string]bool{}
	if err := b.Subscribe(wire.Filter("", wire.KindCheckIn), 1, func(topic string, payload []byte) {
		c, err := wire.DecodeCheckIn(payload)
		printMu.Lock()
		defer printMu.Unlock()
		if err != nil {
			fmt.Fprintf(opts.Out, "rejected on %s: %v\n", topic, err)
			return
		}
		if seen[c.ID] {
			return
		}
		seen[c.ID] = true
		fmt.Fprintf(opts.Out, "%s  %s/%s  seq %-4d %-15s %-8s badge %s\n",
			c.Time().Format("15:04:05.000"), c.Site, c.Device, c.Seq, c.Reader, c.Service, c.Badge)
	}); err != nil {
		return err
	}

	canteen, err := scansim.NewPTY()
	if err != nil {
		return fmt.Errorf("demo: pseudo-terminal: %w", err)
	}
	defer canteen.Close()
	garderie, err := scansim.NewPTY()
	if err != nil {
		return fmt.Errorf("demo: pseudo-terminal: %w", err)
	}
	defer garderie.Close()

	cfg := agent.Defaults()
	cfg.Site, cfg.Device = "jules-ferry", "jf-cantine-1"
	cfg.DataDir = filepath.Join(opts.DataDir, "agent-jf-cantine-1")
	cfg.MQTT.URL = b.URL()
	cfg.MQTT.ClientID = "pointage-agent-jf-cantine-1"
	cfg.Readers = []agent.ReaderConfig{
		{Name: "entree", Port: canteen.Path(), Profile: "rdm6300", Service: wire.ServiceCanteen, Dir: wire.DirAuto, Debounce: agent.Duration(3 * time.Second)},
		{Name: "porte-garderie", Port: garderie.Path(), Profile: "line-hex", Service: wire.ServiceGarderie, Dir: wire.DirAuto, Debounce: agent.Duration(3 * time.Second)},
	}
	a, err := agent.New(cfg, agent.Options{Logger: opts.Logger, Version: "demo"})
	if err != nil {
		return err
	}

	fmt.Fprintf(opts.Out, "pointage demo\n  MQTT broker: %s\n  agent jules-ferry/jf-cantine-1, outbox %s\n", b.URL(), cfg.OutboxPath())
	fmt.Fprintf(opts.Out, "  readers: entree (rdm6300) on %s, porte-garderie (line-hex) on %s\n", canteen.Path(), garderie.Path())
	fmt.Fprintf(opts.Out, "  the hub's ingest is not built yet: check-ins stay pending in the outbox. Ctrl-C stops.\n\n")

	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		simulate(ctx, opts.Pace, canteen, garderie)
	}()
	err = a.Run(ctx)
	wg.Wait()
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
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
