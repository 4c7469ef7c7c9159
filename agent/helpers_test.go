package agent_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"pointage/agent"
	"pointage/internal/link"
	"pointage/internal/testenv"
	"pointage/internal/wire"
)

// collector is a real MQTT subscriber standing in for the hub: it records
// every check-in and status the agents publish.
type collector struct {
	t    testing.TB
	l    *link.Link
	msgs chan link.Message

	mu       sync.Mutex
	checkins []wire.CheckIn
	statuses []wire.Status
	received map[uint64]time.Time // first arrival per seq
	bad      []string
}

func newCollector(t testing.TB, url string) *collector {
	t.Helper()
	c := &collector{t: t, msgs: make(chan link.Message, 1024), received: map[uint64]time.Time{}}
	connected := make(chan struct{}, 1)
	l, err := link.New(link.Options{
		URL: url, ClientID: fmt.Sprintf("test-collector-%d", time.Now().UnixNano()),
		Subscribe: []string{wire.Filter("", wire.KindCheckIn), wire.Filter("", wire.KindStatus)},
		OnConnect: func() {
			select {
			case connected <- struct{}{}:
			default:
			}
		},
		Messages: c.msgs,
	})
	if err != nil {
		t.Fatal(err)
	}
	c.l = l
	l.Start()
	select {
	case <-connected:
	case <-time.After(10 * time.Second):
		t.Fatal("collector could not connect to the broker")
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m := range c.msgs {
			c.handle(m)
		}
	}()
	t.Cleanup(func() {
		l.Close("", nil)
		close(c.msgs)
		<-done
	})
	return c
}

func (c *collector) handle(m link.Message) {
	t, err := wire.ParseTopic("", m.Topic)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		c.bad = append(c.bad, m.Topic)
		return
	}
	switch t.Kind {
	case wire.KindCheckIn:
		ci, err := wire.DecodeCheckIn(m.Payload)
		if err != nil || ci.Site != t.Site || ci.Device != t.Device {
			c.bad = append(c.bad, fmt.Sprintf("%s %s: %v", m.Topic, m.Payload, err))
			return
		}
		c.checkins = append(c.checkins, ci)
		if _, ok := c.received[ci.Seq]; !ok {
			c.received[ci.Seq] = time.Now()
		}
	case wire.KindStatus:
		st, err := wire.DecodeStatus(m.Payload)
		if err != nil {
			c.bad = append(c.bad, fmt.Sprintf("%s %s: %v", m.Topic, m.Payload, err))
			return
		}
		c.statuses = append(c.statuses, st)
	}
}

// unique returns the distinct check-ins received, by seq, checking that a
// seq never arrived with two different ids or contents.
func (c *collector) unique() []wire.CheckIn {
	c.t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.bad) > 0 {
		c.t.Fatalf("invalid messages received: %q", c.bad)
	}
	bySeq := map[uint64]wire.CheckIn{}
	for _, ci := range c.checkins {
		if prev, ok := bySeq[ci.Seq]; ok && prev != ci {
			c.t.Fatalf("seq %d published twice with different content:\n%+v\n%+v", ci.Seq, prev, ci)
		}
		bySeq[ci.Seq] = ci
	}
	out := make([]wire.CheckIn, 0, len(bySeq))
	for _, ci := range bySeq {
		out = append(out, ci)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Seq < out[j].Seq })
	return out
}

func (c *collector) total() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.checkins)
}

func (c *collector) lastStatus() (wire.Status, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.statuses) == 0 {
		return wire.Status{}, false
	}
	return c.statuses[len(c.statuses)-1], true
}

func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	testenv.WaitFor(t, d, what, cond)
}

// testConfig is an agent configuration for tests, with fast timers.
func testConfig(t testing.TB, url string, readers ...agent.ReaderConfig) agent.Config {
	cfg := agent.Defaults()
	cfg.Site, cfg.Device = "jules-ferry", "jf-cantine-1"
	cfg.DataDir = filepath.Join(t.TempDir(), "agent")
	cfg.MQTT.URL = url
	cfg.MQTT.ClientID = "pointage-agent-jf-cantine-1"
	cfg.RepublishAfter = agent.Duration(2 * time.Second)
	cfg.StatusInterval = agent.Duration(2 * time.Second)
	for i := range readers {
		if readers[i].Dir == "" {
			readers[i].Dir = wire.DirAuto
		}
		if readers[i].Debounce == 0 {
			readers[i].Debounce = agent.Duration(time.Second)
		}
	}
	cfg.Readers = readers
	return cfg
}

// startAgent runs an in-process agent until the test ends.
func startAgent(t testing.TB, cfg agent.Config, opts agent.Options) *agent.Agent {
	t.Helper()
	if opts.ReaderBackoffMax == 0 {
		opts.ReaderBackoffMax = 300 * time.Millisecond
	}
	a, err := agent.New(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("agent Run: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Error("agent did not stop within 15s")
		}
	})
	return a
}

// agentBinary builds cmd/pointage-agent once per test run.
func agentBinary(t testing.TB) string {
	t.Helper()
	return testenv.BuildBinary(t, "pointage/cmd/pointage-agent")
}
