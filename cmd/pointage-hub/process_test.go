package main

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"pointage/hub/store"
	"pointage/hub/store/sqlitestore"
	"pointage/internal/link"
	"pointage/internal/testenv"
	"pointage/internal/wire"
)

func hubBinary(t testing.TB) string {
	t.Helper()
	return testenv.BuildBinary(t, "pointage/cmd/pointage-hub")
}

func startHubProcess(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	return testenv.StartProcess(t, hubBinary(t), args...)
}

func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	testenv.WaitFor(t, d, what, cond)
}

// The hub killed with SIGKILL in the middle of a stream and restarted on
// the same data: its sequence accounting is intact and every event is
// stored exactly once once the device has published what was not acked.
func TestHubKilledAndRestarted(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	data := t.TempDir()
	add := exec.Command(hubBinary(t), "devices", "add", "--data-dir", data, "jules-ferry", "jf-cantine-1", "--password-stdin")
	add.Stdin = strings.NewReader("correct horse battery\n")
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("devices add: %v\n%s", err, out)
	}
	httpPort, mqttPort := testenv.FreePort(t), testenv.FreePort(t)
	args := []string{"run", "--data-dir", data, "--listen", fmt.Sprintf("127.0.0.1:%d", httpPort), "--mqtt-listen", fmt.Sprintf("127.0.0.1:%d", mqttPort)}
	hub := startHubProcess(t, args...)
	url := fmt.Sprintf("tcp://127.0.0.1:%d", mqttPort)
	waitFor(t, 10*time.Second, "hub listening", func() bool {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", mqttPort))
		if err == nil {
			c.Close()
		}
		return err == nil
	})

	// The device: publishes a stream; on every (re)connect it publishes
	// again everything above the last Ack, as the agent does.
	const total = 400
	var mu sync.Mutex
	acked := uint64(0)
	msgs := make(chan link.Message, 1024)
	reconnected := make(chan struct{}, 16)
	l, err := link.New(link.Options{URL: url, ClientID: "agent-jf", Username: "jf-cantine-1", Password: "correct horse battery",
		Subscribe: []string{wire.DeviceTopic("", "jules-ferry", "jf-cantine-1", wire.KindAck)},
		OnConnect: func() { reconnected <- struct{}{} }, Messages: msgs})
	if err != nil {
		t.Fatal(err)
	}
	l.Start()
	defer l.Close("", nil)
	go func() {
		for m := range msgs {
			if a, err := wire.DecodeAck(m.Payload); err == nil {
				mu.Lock()
				acked = max(acked, a.StoredThrough)
				mu.Unlock()
			}
		}
	}()
	<-reconnected
	publish := func(seq uint64) error {
		c := wire.CheckIn{V: 1, ID: fmt.Sprintf("ID%06d", seq), Site: "jules-ferry", Device: "jf-cantine-1", Epoch: "E1", Reader: "entree",
			Seq: seq, Badge: fmt.Sprintf("0A%08X", seq), Service: "canteen", Dir: "auto", At: time.Now().Format(wire.AtLayout)}
		b, _ := wire.Encode(c)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		return l.Publish(ctx, wire.DeviceTopic("", "jules-ferry", "jf-cantine-1", wire.KindCheckIn), b, false)
	}
	for seq := uint64(1); seq <= total; seq++ {
		if seq == total/2 {
			hub.Process.Signal(syscall.SIGKILL)
			hub.Wait()
			hub = startHubProcess(t, args...)
		}
		for publish(seq) != nil {
			time.Sleep(50 * time.Millisecond) // broker down: wait, as the outbox would
		}
	}
	// Publish again what is not acknowledged (the agent's republish rule).
	deadline := time.Now().Add(30 * time.Second)
	for {
		mu.Lock()
		a := acked
		mu.Unlock()
		if a == total {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("acked through %d of %d", a, total)
		}
		for seq := a + 1; seq <= total; seq++ {
			publish(seq)
		}
		time.Sleep(time.Second)
	}
	hub.Process.Signal(syscall.SIGTERM)
	hub.Wait()

	st, err := sqlitestore.Open(context.Background(), filepath.Join(data, "checkins.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	evs, err := st.Events(context.Background(), store.Query{From: time.Now().Add(-time.Hour), To: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[uint64]int{}
	for _, e := range evs {
		seen[e.Seq]++
	}
	for seq := uint64(1); seq <= total; seq++ {
		if seen[seq] != 1 {
			t.Errorf("seq %d stored %d times", seq, seen[seq])
		}
	}
	if len(evs) != total {
		t.Fatalf("%d events stored, want %d", len(evs), total)
	}
}
