package link

import (
	"bytes"
	"context"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"pointage/internal/testenv"
)

// receiver is a Link subscribed to test/# that collects what arrives.
func receiver(t testing.TB, url string, buf int) (*Link, chan Message) {
	t.Helper()
	msgs := make(chan Message, buf)
	connected := make(chan struct{}, 1)
	l, err := New(Options{URL: url, ClientID: fmt.Sprintf("sub-%d", time.Now().UnixNano()), Subscribe: []string{"test/#"},
		Messages: msgs, OnConnect: func() { connected <- struct{}{} }})
	if err != nil {
		t.Fatal(err)
	}
	l.Start()
	t.Cleanup(func() { l.Close("", nil) })
	select {
	case <-connected:
	case <-time.After(10 * time.Second):
		t.Fatal("the subscriber did not connect")
	}
	return l, msgs
}

func publisher(t testing.TB, url string) *Link {
	t.Helper()
	l, err := New(Options{URL: url, ClientID: fmt.Sprintf("pub-%d", time.Now().UnixNano())})
	if err != nil {
		t.Fatal(err)
	}
	l.Start()
	t.Cleanup(func() { l.Close("", nil) })
	testenv.WaitFor(t, 10*time.Second, "the publisher connected", l.Connected)
	return l
}

// Every message published arrives whole, on its topic, whatever its size
// against the connection's read buffer (tiny, a few packets per read, and
// larger than the buffer).
func TestReceivesEveryMessageWhole(t *testing.T) {
	broker := testenv.Mosquitto(t)
	_, msgs := receiver(t, broker.URL(), 10000)
	pub := publisher(t, broker.URL())
	var out []Outgoing
	for i := 0; i < 3000; i++ {
		size := []int{1, 300, 4096, 40000, 100000}[i%5]
		if i%5 >= 3 && i > 10 {
			size = 300 // a few large ones only
		}
		out = append(out, Outgoing{Topic: fmt.Sprintf("test/%d", i), Payload: bytes.Repeat([]byte{byte('a' + i%26)}, size)})
	}
	if err := pub.PublishAll(context.Background(), out); err != nil {
		t.Fatal(err)
	}
	got := map[string][]byte{}
	deadline := time.After(30 * time.Second)
	for len(got) < len(out) {
		select {
		case m := <-msgs:
			got[m.Topic] = m.Payload
		case <-deadline:
			t.Fatalf("%d of %d messages after 30 s", len(got), len(out))
		}
	}
	for _, o := range out {
		if !bytes.Equal(got[o.Topic], o.Payload) {
			t.Fatalf("%s: got %d bytes, want %d", o.Topic, len(got[o.Topic]), len(o.Payload))
		}
	}
}

// An Inline handler that blocks holds back the connection: the messages
// that follow wait in the broker, not in a goroutine each in this process,
// and all of them arrive in order once the handler goes on.
func TestInlineHandlerHoldsBackTheConnection(t *testing.T) {
	broker := testenv.Mosquitto(t)
	release := make(chan struct{})
	var mu sync.Mutex
	var got []string
	connected := make(chan struct{}, 1)
	sub, err := New(Options{URL: broker.URL(), ClientID: "inline-sub", Subscribe: []string{"test/#"}, Inline: true,
		OnConnect: func() { connected <- struct{}{} },
		OnMessage: func(topic string, _ []byte) {
			<-release
			mu.Lock()
			got = append(got, topic)
			mu.Unlock()
		}})
	if err != nil {
		t.Fatal(err)
	}
	sub.Start()
	t.Cleanup(func() { sub.Close("", nil) })
	select {
	case <-connected:
	case <-time.After(10 * time.Second):
		t.Fatal("the subscriber did not connect")
	}
	pub := publisher(t, broker.URL())
	before := runtime.NumGoroutine()
	const n = 3000
	var out []Outgoing
	for i := 0; i < n; i++ {
		out = append(out, Outgoing{Topic: fmt.Sprintf("test/%d", i), Payload: []byte("x")})
	}
	if err := pub.PublishAll(context.Background(), out); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond) // what the broker sends has arrived
	if g := runtime.NumGoroutine(); g > before+20 {
		t.Errorf("%d goroutines while the handler is held (%d before the burst): a goroutine per waiting message", g, before)
	}
	close(release)
	testenv.WaitFor(t, 30*time.Second, "every message handled", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) == n
	})
	for i, topic := range got {
		if want := fmt.Sprintf("test/%d", i); topic != want {
			t.Fatalf("message %d is %s, want %s: inline delivery keeps the order", i, topic, want)
		}
	}
}

// BenchmarkReceive publishes QoS 1 messages to a Link subscriber through a
// real mosquitto and reports this process's CPU per message (publisher and
// subscriber together: compare runs, not the absolute figure).
func BenchmarkReceive(b *testing.B) {
	broker := testenv.Mosquitto(b, testenv.MosquittoConfig("max_queued_messages 1000000"))
	_, msgs := receiver(b, broker.URL(), 100000)
	pub := publisher(b, broker.URL())
	payload := bytes.Repeat([]byte("x"), 250)
	const perBatch = 1000
	var wg sync.WaitGroup
	b.ResetTimer()
	cpu0 := cpuTime()
	start := time.Now()
	total := 0
	for i := 0; i < b.N; i++ {
		out := make([]Outgoing, perBatch)
		for j := range out {
			out[j] = Outgoing{Topic: "test/pointage/v1/site/device/checkin", Payload: payload}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range perBatch {
				<-msgs
			}
		}()
		if err := pub.PublishAll(context.Background(), out); err != nil {
			b.Fatal(err)
		}
		total += perBatch
	}
	wg.Wait()
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(total), "cpu-µs/msg")
	b.ReportMetric(float64(total)/time.Since(start).Seconds(), "msgs/s")
}
