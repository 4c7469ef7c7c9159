package demo

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// The demo of `make run` plays scans through pty readers and a real agent
// into the hub, which stores them and acknowledges them to the agent.
func TestDemoPublishesSimulatedScans(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the demo")
	}
	var out syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Options{MQTTListen: "127.0.0.1:0", Listen: "127.0.0.1:0", DataDir: t.TempDir(), Out: &out,
			Pace: 30 * time.Millisecond, Report: 200 * time.Millisecond})
	}()
	deadline := time.Now().Add(20 * time.Second)
	for !storedAndAcked(out.String()) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	s := out.String()
	if !strings.Contains(s, "MQTT tcp://127.0.0.1:") || !storedAndAcked(s) {
		t.Fatalf("demo output:\n%s", s)
	}
}

// storedAndAcked finds a report line where the hub stored at least 5
// events and the agent's outbox holds nothing pending: the Ack went round.
func storedAndAcked(out string) bool {
	for _, line := range strings.Split(out, "\n") {
		var stored, gaps, last, pending int
		i := strings.Index(line, "hub: ")
		if i < 0 {
			continue
		}
		if _, err := fmt.Sscanf(line[i:], "hub: jf-cantine-1 stored through seq %d, %d gap(s) | agent: last seq %d, %d pending in the outbox", &stored, &gaps, &last, &pending); err == nil &&
			stored >= 5 && stored == last && pending == 0 {
			return true
		}
	}
	return false
}
