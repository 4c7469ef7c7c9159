package hub_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"pointage/hub"
	"pointage/hub/hubtest"
	"pointage/hub/store"
	"pointage/internal/link"
	"pointage/internal/testenv"
	"pointage/internal/wire"
)

// device is a real MQTT client standing in for an agent.
type device struct {
	t            testing.TB
	site, id     string
	l            *link.Link
	msgs         chan link.Message
	mu           sync.Mutex
	acks         map[string]uint64 // highest stored_through per epoch
	cmds         []wire.Command
	wg           sync.WaitGroup
	connectCount int
}

func newDevice(t testing.TB, url, site, id, password string) *device {
	t.Helper()
	d := &device{t: t, site: site, id: id, msgs: make(chan link.Message, 1024), acks: map[string]uint64{}}
	connected := make(chan struct{}, 8)
	l, err := link.New(link.Options{URL: url, ClientID: "agent-" + id, Username: id, Password: password,
		Subscribe: []string{wire.DeviceTopic("", site, id, wire.KindAck), wire.DeviceTopic("", site, id, wire.KindCmd)},
		OnConnect: func() { connected <- struct{}{} },
		Messages:  d.msgs})
	if err != nil {
		t.Fatal(err)
	}
	d.l = l
	l.Start()
	select {
	case <-connected:
	case <-time.After(10 * time.Second):
		t.Fatalf("device %s could not connect", id)
	}
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		for m := range d.msgs {
			d.mu.Lock()
			if strings.HasSuffix(m.Topic, "/ack") {
				if a, err := wire.DecodeAck(m.Payload); err == nil && a.StoredThrough > d.acks[a.Epoch] {
					d.acks[a.Epoch] = a.StoredThrough
				}
			} else if c, err := wire.DecodeCommand(m.Payload); err == nil {
				d.cmds = append(d.cmds, c)
			}
			d.mu.Unlock()
		}
	}()
	t.Cleanup(func() { l.Close("", nil); close(d.msgs); d.wg.Wait() })
	return d
}

func (d *device) checkIn(epoch string, seq uint64, id string) wire.CheckIn {
	if id == "" {
		id = fmt.Sprintf("ID-%s-%s-%d", d.id, epoch, seq)
	}
	return wire.CheckIn{V: 1, ID: id, Site: d.site, Device: d.id, Epoch: epoch, Reader: "entree", Seq: seq,
		Badge: fmt.Sprintf("0A%08X", seq), Service: "canteen", Dir: "auto", At: time.Now().Format(wire.AtLayout)}
}

func (d *device) publish(c wire.CheckIn) {
	d.t.Helper()
	b, _ := wire.Encode(c)
	if err := d.l.Publish(context.Background(), wire.DeviceTopic("", d.site, d.id, wire.KindCheckIn), b, false); err != nil {
		d.t.Fatal(err)
	}
}

func (d *device) send(epoch string, seqs ...uint64) {
	for _, s := range seqs {
		d.publish(d.checkIn(epoch, s, ""))
	}
}

func (d *device) ack(epoch string) uint64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.acks[epoch]
}

func (d *device) commands() []wire.Command {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]wire.Command(nil), d.cmds...)
}

func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	testenv.WaitFor(t, d, what, cond)
}

// startHub runs a hub on free loopback ports until the test ends.
func startHub(t testing.TB, cfg hub.Config) *hub.Hub {
	t.Helper()
	return startHubWith(t, cfg, hub.Options{}, http.DefaultClient)
}

// startHubWith is startHub with options (a clock) and the HTTP client that
// reaches it (an HTTPS hub needs its CA).
func startHubWith(t testing.TB, cfg hub.Config, opts hub.Options, client *http.Client) *hub.Hub {
	t.Helper()
	return hubtest.Start(t, cfg, opts, client)
}

// config is the default configuration with a fresh data folder (set by
// startHub).
func config() hub.Config {
	cfg := hub.Defaults()
	cfg.DataDir = ""
	return cfg
}

func storedCount(t testing.TB, h *hub.Hub) int {
	t.Helper()
	evs, err := h.Store().Events(context.Background(), store.Query{From: time.Now().Add(-24 * time.Hour), To: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	return len(evs)
}

// Through the embedded broker: a registered device's check-ins are stored
// and acknowledged on its ack topic; a gap makes the hub ask for a resend
// on its cmd topic; a redelivery is stored once.
func TestEmbeddedBrokerIngest(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	cfg := config()
	h := startHub(t, cfg)
	_, pw, err := h.Devices().Add(context.Background(), "jules-ferry", "jf-cantine-1", "")
	if err != nil {
		t.Fatal(err)
	}
	d := newDevice(t, h.MQTTURL(), "jules-ferry", "jf-cantine-1", pw)
	d.send("E1", 1, 2, 3)
	waitFor(t, 10*time.Second, "ack 3 on the ack topic", func() bool { return d.ack("E1") == 3 })
	d.send("E1", 1, 2, 5) // redeliveries and a gap
	waitFor(t, 15*time.Second, "resend 4..4 on the cmd topic", func() bool {
		for _, c := range d.commands() {
			if c.Cmd == "resend" && c.Epoch == "E1" && c.FromSeq == 4 && c.ToSeq == 4 {
				return true
			}
		}
		return false
	})
	if got := d.ack("E1"); got != 3 {
		t.Fatalf("acked %d across the gap", got)
	}
	d.send("E1", 4)
	waitFor(t, 10*time.Second, "ack 5 once the gap is filled", func() bool { return d.ack("E1") == 5 })
	if n := storedCount(t, h); n != 5 {
		t.Fatalf("%d events stored, want 5", n)
	}
	// /metrics counts what happened.
	resp, err := http.Get("http://" + h.HTTPAddr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`pointage_ingest_checkins_total{result="duplicate"} 2`, `pointage_ingest_checkins_total{result="stored"} 5`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// Through a real mosquitto with --mqtt-url.
func TestExternalMosquittoIngest(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	m := testenv.Mosquitto(t)
	cfg := config()
	cfg.MQTTURL = m.URL()
	startHub(t, cfg)
	d := newDevice(t, m.URL(), "pasteur", "pa-cantine-1", "")
	d.send("E1", 1, 2, 3, 4)
	waitFor(t, 10*time.Second, "ack 4 through mosquitto", func() bool { return d.ack("E1") == 4 })
	// A payload that does not match its topic is refused, the rest goes on.
	bad := d.checkIn("E1", 5, "")
	bad.Device = "someone-else"
	d.publish(bad)
	d.send("E1", 5)
	waitFor(t, 10*time.Second, "ack 5", func() bool { return d.ack("E1") == 5 })
}

// influxd stopped in the middle of a stream and started again: the hub
// keeps the events queued, Acks only what InfluxDB holds, and in the end
// InfluxDB has every event exactly once (counted by InfluxDB itself).
func TestInfluxdOutageLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	influx := testenv.Influxd(t, testenv.InfluxdWithoutFlux())
	cfg := config()
	cfg.InfluxURL, cfg.InfluxBucket = influx.URL(), "pointage/autogen"
	h := startHub(t, cfg)
	_, pw, err := h.Devices().Add(context.Background(), "jules-ferry", "jf-cantine-1", "")
	if err != nil {
		t.Fatal(err)
	}
	d := newDevice(t, h.MQTTURL(), "jules-ferry", "jf-cantine-1", pw)
	const total = 300
	for seq := uint64(1); seq <= total; seq++ {
		if seq == 100 {
			waitFor(t, 10*time.Second, "the first events acked", func() bool { return d.ack("E1") >= 50 })
			influx.Stop()
		}
		if seq == 200 {
			time.Sleep(2 * time.Second) // the hub retries meanwhile
			if a := d.ack("E1"); a >= 100 {
				t.Fatalf("acked through %d while InfluxDB was down (stopped before seq 100)", a)
			}
			influx.Start()
		}
		d.send("E1", seq)
	}
	waitFor(t, 30*time.Second, "every event acked", func() bool { return d.ack("E1") == total })
	// Redeliveries after the outage do not double anything.
	d.send("E1", 1, 150, total)
	time.Sleep(300 * time.Millisecond)
	out, err := influx.QueryDB("pointage", `SELECT count(badge) FROM checkin`)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, fmt.Sprintf(`"count"],"values":[["1970-01-01T00:00:00Z",%d]]`, total)) {
		t.Fatalf("InfluxDB does not hold exactly %d points: %s", total, out)
	}
}

// With --mqtt-url and --require-registration, check-ins of a device that
// was never registered are refused (and kept in the rejected table), those
// of a registered one go through.
func TestRequireRegistration(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	m := testenv.Mosquitto(t)
	cfg := config()
	cfg.MQTTURL, cfg.RequireRegistration = m.URL(), true
	h := startHub(t, cfg)
	if _, _, err := h.Devices().Add(context.Background(), "pasteur", "pa-cantine-1", ""); err != nil {
		t.Fatal(err)
	}
	known := newDevice(t, m.URL(), "pasteur", "pa-cantine-1", "")
	stranger := newDevice(t, m.URL(), "pasteur", "pa-intrus", "")
	stranger.send("E1", 1)
	known.send("E1", 1)
	waitFor(t, 10*time.Second, "the registered device acked", func() bool { return known.ack("E1") == 1 })
	waitFor(t, 10*time.Second, "the stranger rejected", func() bool {
		rej, err := h.Ingest().RecentRejected(context.Background(), 10)
		return err == nil && len(rej) == 1 && rej[0].Reason == "unregistered" && rej[0].Device == "pa-intrus"
	})
	if stranger.ack("E1") != 0 || storedCount(t, h) != 1 {
		t.Fatalf("the unregistered device's check-in was stored")
	}
}
