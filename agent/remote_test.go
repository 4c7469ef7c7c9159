package agent_test

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"pointage/agent"
	"pointage/internal/link"
	"pointage/internal/testenv"
	"pointage/internal/wire"
)

// sendConfig publishes the hub's config command to the test agent.
func sendConfig(t *testing.T, url string, version int64, readers []wire.ReaderConfig) {
	t.Helper()
	l, err := link.New(link.Options{URL: url, ClientID: fmt.Sprintf("test-hub-%d", time.Now().UnixNano())})
	if err != nil {
		t.Fatal(err)
	}
	l.Start()
	defer l.Close("", nil)
	waitFor(t, 10*time.Second, "the test hub connected", l.Connected)
	b, err := wire.Encode(wire.ConfigCommand{V: wire.Version, Cmd: wire.CmdConfig, Version: version, Readers: readers})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := l.Publish(ctx, wire.DeviceTopic("", "jules-ferry", "jf-cantine-1", wire.KindCmd), b, false); err != nil {
		t.Fatal(err)
	}
}

func readerOf(st wire.Status, name string) *wire.ReaderStatus {
	for i := range st.Readers {
		if st.Readers[i].Name == name {
			return &st.Readers[i]
		}
	}
	return nil
}

// The hub's reader list applied live (docs/DESIGN.md §14) while a reader
// is scanned without a pause: a reader added, one changed and one removed,
// through a real mosquitto and pseudo-terminal readers. No scan is lost or
// counted twice, seqs stay contiguous; a list the agent cannot run is
// refused with config_error and the previous one goes on; a restarted
// agent with no network keeps the hub's list.
func TestReaderConfigFromHubAppliedLive(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	broker := testenv.Mosquitto(t)
	col := newCollector(t, broker.URL())
	entree, garderie := newPTY(t), newPTY(t)
	cfg := testConfig(t, broker.URL(), agent.ReaderConfig{Name: "entree", Port: entree.Path(), Profile: "rdm6300", Service: wire.ServiceCanteen})
	ctx, stop := context.WithCancel(context.Background())
	a, err := agent.New(cfg, agent.Options{ReaderBackoffMax: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	waitFor(t, 10*time.Second, "the file's reader connected", func() bool {
		st, ok := col.lastStatus()
		r := readerOf(st, "entree")
		return ok && r != nil && r.Connected && st.ConfigVersion == 0
	})

	// A stream of distinct badges on entree through every change.
	var written atomic.Int64
	streamCtx, stopStream := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 1; streamCtx.Err() == nil; i++ {
			entree.Write(encode(t, "rdm6300", fmt.Sprintf("0A%08X", i)))
			written.Add(1)
			time.Sleep(40 * time.Millisecond)
		}
	}()
	time.Sleep(300 * time.Millisecond)

	// Version 5: entree unchanged, a garderie reader added.
	entreeW := wire.ReaderConfig{Name: "entree", Port: entree.Path(), Profile: "rdm6300", Service: wire.ServiceCanteen, Debounce: "1s"}
	sendConfig(t, broker.URL(), 5, []wire.ReaderConfig{entreeW,
		{Name: "garderie", Port: garderie.Path(), Profile: "rdm6300", Service: wire.ServiceGarderie, Dir: wire.DirIn}})
	waitFor(t, 10*time.Second, "version 5 reported, the new reader connected", func() bool {
		st, _ := col.lastStatus()
		g := readerOf(st, "garderie")
		return st.ConfigVersion == 5 && g != nil && g.Connected && g.Service == wire.ServiceGarderie && len(st.Readers) == 2
	})
	garderie.Write(encode(t, "rdm6300", "0B00000001"))

	// Version 6: entree becomes a staff reader (in place: its port stays
	// open), garderie moves to another port (closed, opened there).
	time.Sleep(300 * time.Millisecond)
	moved := newPTY(t)
	entreeStaff := wire.ReaderConfig{Name: "entree", Port: entree.Path(), Profile: "rdm6300", Service: wire.ServiceStaff, Debounce: "1s"}
	sendConfig(t, broker.URL(), 6, []wire.ReaderConfig{entreeStaff,
		{Name: "garderie", Port: moved.Path(), Profile: "rdm6300", Service: wire.ServiceGarderie, Dir: wire.DirIn}})
	waitFor(t, 10*time.Second, "version 6 reported, entree a staff reader, garderie on its new port", func() bool {
		st, _ := col.lastStatus()
		e, g := readerOf(st, "entree"), readerOf(st, "garderie")
		return st.ConfigVersion == 6 && e != nil && e.Service == wire.ServiceStaff && e.Connected && g != nil && g.Port == moved.Path() && g.Connected
	})
	moved.Write(encode(t, "rdm6300", "0B00000002"))
	time.Sleep(300 * time.Millisecond)

	// Version 7: garderie removed.
	sendConfig(t, broker.URL(), 7, []wire.ReaderConfig{entreeStaff})
	waitFor(t, 10*time.Second, "version 7 reported, garderie gone", func() bool {
		st, _ := col.lastStatus()
		return st.ConfigVersion == 7 && len(st.Readers) == 1
	})
	moved.Write(encode(t, "rdm6300", "0B00000003")) // no reader any more: not a check-in
	time.Sleep(300 * time.Millisecond)

	// Version 8 names a profile this agent does not have: refused, 7 goes on.
	sendConfig(t, broker.URL(), 8, []wire.ReaderConfig{{Name: "entree", Port: entree.Path(), Profile: "inconnu", Service: wire.ServiceCanteen}})
	waitFor(t, 10*time.Second, "version 8 refused with its reason", func() bool {
		st, _ := col.lastStatus()
		return st.ConfigVersion == 7 && st.ConfigErrorVersion == 8 && st.ConfigError != "" && readerOf(st, "entree") != nil
	})
	time.Sleep(300 * time.Millisecond)
	stopStream()
	wg.Wait()

	want := int(written.Load()) + 2 // the stream and the garderie's two
	waitFor(t, 15*time.Second, fmt.Sprintf("all %d scans published", want), func() bool { return len(col.unique()) >= want })
	time.Sleep(500 * time.Millisecond)
	got := col.unique()
	if len(got) != want {
		t.Fatalf("%d check-ins for %d scans", len(got), want)
	}
	services := map[wire.Service]int{}
	badges := map[string]bool{}
	for i, ci := range got {
		if ci.Seq != uint64(i+1) {
			t.Fatalf("seqs not contiguous: %d at position %d", ci.Seq, i)
		}
		if badges[ci.Badge] {
			t.Fatalf("badge %s counted twice", ci.Badge)
		}
		badges[ci.Badge] = true
		services[ci.Service]++
		if ci.Reader == "garderie" && (ci.Service != wire.ServiceGarderie || ci.Dir != wire.DirIn) {
			t.Fatalf("the garderie reader's check-in: %+v", ci)
		}
	}
	if services[wire.ServiceGarderie] != 2 || services[wire.ServiceStaff] == 0 || services[wire.ServiceCanteen] == 0 {
		t.Fatalf("check-ins per service %v: want canteen before version 6, staff after, two garderie", services)
	}
	t.Logf("%d scans through three configuration changes: %v", want, services)

	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(cfg.HubConfigPath()); err != nil {
		t.Fatalf("the hub's list is not kept: %v", err)
	}

	// Restarted with no network (the broker unreachable): the hub's list.
	offline := cfg
	offline.MQTT.URL = "tcp://127.0.0.1:1" // nothing listens
	b, err := agent.New(offline, agent.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	st, err := b.Status(context.Background(), wire.StateOnline)
	if err != nil {
		t.Fatal(err)
	}
	if e := readerOf(st, "entree"); st.ConfigVersion != 7 || len(st.Readers) != 1 || e == nil || e.Service != wire.ServiceStaff {
		t.Fatalf("after a restart without the hub: version %d, readers %+v; want version 7's staff reader", st.ConfigVersion, st.Readers)
	}
}
