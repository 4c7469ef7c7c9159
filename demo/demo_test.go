package demo

import (
	"context"
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
// to the embedded broker, and prints the check-ins it publishes.
func TestDemoPublishesSimulatedScans(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the demo")
	}
	var out syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Options{MQTTListen: "127.0.0.1:0", DataDir: t.TempDir(), Out: &out, Pace: 30 * time.Millisecond})
	}()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(out.String(), "seq 5 ") && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	s := out.String()
	if !strings.Contains(s, "MQTT broker: tcp://127.0.0.1:") || !strings.Contains(s, "seq 5 ") {
		t.Fatalf("demo output:\n%s", s)
	}
	if strings.Contains(s, "rejected") {
		t.Fatalf("the agent published something the contract refuses:\n%s", s)
	}
}
