package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"pointage/hub/store"
	"pointage/hub/store/sqlitestore"
	"pointage/internal/link"
	"pointage/internal/testenv"
	"pointage/internal/wire"
)

// load is the same set of check-ins for every side: devices x perDevice QoS 1 messages.
type load struct {
	devices, perDevice int
	sites, names       []string
	topics             []string
	payloads           [][][]byte // [device][seq-1]
	checkins           [][]wire.CheckIn
}

func newLoad(devices, perDevice int) *load {
	l := &load{devices: devices, perDevice: perDevice}
	base := time.Now().Add(-time.Hour).Truncate(time.Second)
	for d := 0; d < devices; d++ {
		site, dev := fmt.Sprintf("ecole-%02d", d+1), fmt.Sprintf("bench-%02d", d+1)
		l.sites, l.names = append(l.sites, site), append(l.names, dev)
		l.topics = append(l.topics, wire.DeviceTopic("", site, dev, wire.KindCheckIn))
		ps := make([][]byte, perDevice)
		cs := make([]wire.CheckIn, perDevice)
		for s := 1; s <= perDevice; s++ {
			c := wire.CheckIn{V: 1, ID: fmt.Sprintf("01BENCH%02d%016d", d+1, s), Site: site, Device: dev, Epoch: "E1",
				Reader: "entree", Seq: uint64(s), Badge: fmt.Sprintf("0A%08X", (d+1)*10_000_000+s), Service: wire.ServiceCanteen,
				Dir: wire.DirAuto, At: base.Add(time.Duration(s) * time.Millisecond).Format(wire.AtLayout)}
			b, err := wire.Encode(c)
			if err != nil {
				panic(err)
			}
			if s == 1 {
				if _, err := wire.DecodeCheckIn(b); err != nil {
					panic(fmt.Sprintf("generated check-in refused: %v", err))
				}
			}
			ps[s-1], cs[s-1] = b, c
		}
		l.payloads = append(l.payloads, ps)
		l.checkins = append(l.checkins, cs)
	}
	return l
}

func (l *load) total() int { return l.devices * l.perDevice }

func mqttClient(t *tb, url, id string, onConnect func(mqtt.Client)) mqtt.Client {
	o := mqtt.NewClientOptions().AddBroker(url).SetClientID(id).SetCleanSession(true).
		SetAutoReconnect(false).SetConnectTimeout(10 * time.Second).SetWriteTimeout(30 * time.Second).
		SetOrderMatters(false).SetMaxResumePubInFlight(0)
	if onConnect != nil {
		o.SetOnConnectHandler(onConnect)
	}
	c := mqtt.NewClient(o)
	if tok := c.Connect(); !tok.WaitTimeout(15*time.Second) || tok.Error() != nil {
		t.Fatalf("mqtt connect %s to %s: %v", id, url, tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	return c
}

func subscribe(t *tb, c mqtt.Client, filter string, h mqtt.MessageHandler) {
	if tok := c.Subscribe(filter, 1, h); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe %s: %v", filter, tok.Error())
	}
}

// publishAll runs the generator: one MQTT connection per device, QoS 1, as fast as the
// broker takes them (at most window PUBACKs outstanding per connection). It returns
// when every message has its PUBACK.
func publishAll(t *tb, url string, l *load, window int) (start, end time.Time) {
	clients := make([]mqtt.Client, l.devices)
	for d := range clients {
		clients[d] = mqttClient(t, url, fmt.Sprintf("gen-%s-%d", l.names[d], time.Now().UnixNano()), nil)
	}
	var wg sync.WaitGroup
	var failed atomic.Value
	start = time.Now()
	for d := range clients {
		wg.Add(1)
		go func(d int) {
			defer wg.Done()
			toks := make([]mqtt.Token, len(l.payloads[d]))
			for i, p := range l.payloads[d] {
				if i >= window {
					toks[i-window].Wait()
				}
				toks[i] = clients[d].Publish(l.topics[d], 1, false, p)
			}
			for _, tok := range toks {
				if !tok.WaitTimeout(60*time.Second) || tok.Error() != nil {
					failed.Store(fmt.Sprintf("publish: %v", tok.Error()))
					return
				}
			}
		}(d)
	}
	wg.Wait()
	end = time.Now()
	if f := failed.Load(); f != nil {
		t.Fatalf("%v", f)
	}
	return start, end
}

// ingestResult is one side's run.
type ingestResult struct {
	N        int
	Elapsed  time.Duration // first publish -> last message stored (or received)
	PubTime  time.Duration // first publish -> last PUBACK
	CPU      float64       // CPU seconds of the consumer process during the run (hub, Telegraf); 0 if not measured
	PeakRSS  float64       // the consumer process's peak resident set (VmHWM, KiB) since it started; 0 if not measured
	Note     string
	Received int
	// Other processes' CPU seconds over the same run: the bench process
	// (generator, plus the raw subscriber or the Ack watcher), mosquitto,
	// and influxd where there is one.
	Others cpuBudget
}

// cpuBudget is the CPU seconds the processes other than the consumer spent.
type cpuBudget struct{ Bench, Broker, Influxd float64 }

// cpuMeter measures a side's other processes between start and stop.
type cpuMeter struct {
	broker, influxd int
	at              cpuBudget
}

func startMeter(broker *testenv.MosquittoServer, influxd *testenv.InfluxdServer) *cpuMeter {
	m := &cpuMeter{broker: broker.Pid()}
	if influxd != nil {
		m.influxd = influxd.Pid()
	}
	m.at = m.read()
	return m
}

func (m *cpuMeter) read() cpuBudget {
	b := cpuBudget{Bench: procCPU(os.Getpid()), Broker: procCPU(m.broker)}
	if m.influxd != 0 {
		b.Influxd = procCPU(m.influxd)
	}
	return b
}

// spent is the CPU used since start.
func (m *cpuMeter) spent() cpuBudget {
	now := m.read()
	return cpuBudget{Bench: now.Bench - m.at.Bench, Broker: now.Broker - m.at.Broker, Influxd: now.Influxd - m.at.Influxd}
}

func (r ingestResult) rate() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.N) / r.Elapsed.Seconds()
}

// benchBroker is the mosquitto every side uses: testenv's configuration (as
// deploy/mosquitto: max_inflight_messages 1000, max_queued_messages 100000) with the
// queue raised further so that no side loses messages because a consumer lags.
func benchBroker(t *tb) *testenv.MosquittoServer {
	return testenv.Mosquitto(t, testenv.MosquittoConfig("max_queued_messages 1000000"))
}

// rawSide: the generator against a plain QoS 1 subscriber.
func rawSide(t *tb, l *load) ingestResult {
	broker := benchBroker(t)
	var got atomic.Int64
	done := make(chan time.Time, 1)
	total := int64(l.total())
	sub := mqttClient(t, broker.URL(), "raw-sub", nil)
	subscribe(t, sub, wire.Filter("", wire.KindCheckIn), func(_ mqtt.Client, m mqtt.Message) {
		if got.Add(1) == total {
			done <- time.Now()
		}
	})
	return measureSide(t, "raw subscriber", broker, l, got.Load, done, nil)
}

// measureSide publishes the load and waits until done gets the time the
// consumer counted the last event (count tells how far it got), or failed
// gets an error, for at most 120 s.
func measureSide(t *tb, name string, broker *testenv.MosquittoServer, l *load, count func() int64, done <-chan time.Time, failed <-chan error) ingestResult {
	meter := startMeter(broker, nil)
	start, pubEnd := publishAll(t, broker.URL(), l, 1000)
	select {
	case end := <-done:
		return ingestResult{N: l.total(), Elapsed: end.Sub(start), PubTime: pubEnd.Sub(start), Received: int(count()), Others: meter.spent()}
	case err := <-failed:
		t.Fatalf("%s: %v", name, err)
	case <-time.After(120 * time.Second):
		t.Fatalf("%s: %d of %d check-ins after 120 s", name, count(), l.total())
	}
	return ingestResult{}
}

// linkSubscriber connects a subscriber to the check-in topics through
// internal/link (as the hub receives with an external broker), closed at
// the end of the step.
func linkSubscriber(t *tb, url, id string, onMessage func(topic string, payload []byte)) {
	connected := make(chan struct{}, 1)
	sub, err := link.New(link.Options{
		URL: url, ClientID: id, Subscribe: []string{wire.Filter("", wire.KindCheckIn)},
		OnConnect: func() { connected <- struct{}{} },
		OnMessage: onMessage,
	})
	if err != nil {
		t.Fatal(err)
	}
	sub.Start()
	t.Cleanup(func() { sub.Close("", nil) })
	select {
	case <-connected:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: not connected after 10 s", id)
	}
}

// linkSide: the generator against a subscriber that receives through the
// hub's own MQTT link (internal/link: paho with buffered reads, combined
// writes, one handler) and does nothing else. Its CPU (the generator
// process's, minus what the hub side's generator process uses) is the part
// of the hub's CPU that receiving costs, whatever the hub does next.
func linkSide(t *tb, l *load) ingestResult {
	broker := benchBroker(t)
	var got atomic.Int64
	done := make(chan time.Time, 1)
	total := int64(l.total())
	linkSubscriber(t, broker.URL(), "link-sub", func(string, []byte) {
		if got.Add(1) == total {
			done <- time.Now()
		}
	})
	return measureSide(t, "link subscriber", broker, l, got.Load, done, nil)
}

// storeSide: the generator against the least a consumer that stores must
// do: receive through internal/link, decode each check-in
// (wire.DecodeCheckIn), and write batches (1,000 or 5 ms, as the hub) into
// the hub's SQLite store (hub/store/sqlitestore, a fresh file, durable).
// No deduplication, journal, live counts or Acks: counted from the events
// written. What it reaches, the hub, which does all of that on top, cannot
// pass on this machine.
func storeSide(t *tb, l *load) ingestResult {
	ctx := context.Background()
	st, err := sqlitestore.Open(ctx, filepath.Join(t.TempDir(), "checkins.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	broker := benchBroker(t)
	total := l.total()
	msgs := make(chan []byte, 16384)
	done := make(chan time.Time, 1)
	failed := make(chan error, 1)
	var stored atomic.Int64
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		batch := make([]store.Event, 0, 1000)
		for {
			var p []byte
			select {
			case p = <-msgs:
			case <-stop:
				return
			}
			payloads := [][]byte{p}
			deadline := time.After(5 * time.Millisecond)
		fill:
			for len(payloads) < 1000 {
				select {
				case p := <-msgs:
					payloads = append(payloads, p)
				case <-deadline:
					break fill
				}
			}
			batch = batch[:0]
			now := time.Now()
			for _, p := range payloads {
				c, err := wire.DecodeCheckIn(p)
				if err != nil {
					failed <- err
					return
				}
				batch = append(batch, store.Event{ID: c.ID, Site: c.Site, Device: c.Device, Epoch: c.Epoch,
					Reader: c.Reader, Seq: c.Seq, Badge: c.Badge, Service: c.Service, Dir: c.Dir,
					At: c.Time().Truncate(time.Millisecond), ReceivedAt: now.Truncate(time.Millisecond)})
			}
			if err := st.Write(ctx, batch); err != nil {
				failed <- err
				return
			}
			if stored.Add(int64(len(batch))) == int64(total) {
				done <- time.Now()
			}
		}
	}()
	linkSubscriber(t, broker.URL(), "store-sub", func(_ string, payload []byte) { msgs <- append([]byte(nil), payload...) })
	return measureSide(t, "store subscriber", broker, l, stored.Load, done, failed)
}

// ackWatcher follows the hub's Acks of every device.
type ackWatcher struct {
	mu      sync.Mutex
	through map[string]uint64
	want    uint64
	devices int
	done    chan time.Time
	closed  bool
}

func watchAcks(t *tb, url string, want uint64, devices []string) *ackWatcher {
	w := &ackWatcher{through: map[string]uint64{}, want: want, devices: len(devices), done: make(chan time.Time, 1)}
	c := mqttClient(t, url, fmt.Sprintf("ack-watch-%d", time.Now().UnixNano()), nil)
	subscribe(t, c, wire.Filter("", wire.KindAck), func(_ mqtt.Client, m mqtt.Message) {
		now := time.Now()
		tp, err := wire.ParseTopic("", m.Topic())
		if err != nil {
			return
		}
		a, err := wire.DecodeAck(m.Payload())
		if err != nil {
			return
		}
		w.mu.Lock()
		defer w.mu.Unlock()
		if a.StoredThrough > w.through[tp.Device] {
			w.through[tp.Device] = a.StoredThrough
		}
		if w.closed {
			return
		}
		n := 0
		for _, d := range devices {
			if w.through[d] >= w.want {
				n++
			}
		}
		if n == len(devices) {
			w.closed = true
			w.done <- now
		}
	})
	return w
}

func (w *ackWatcher) stored() uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	var s uint64
	for _, v := range w.through {
		s += min(v, w.want)
	}
	return s
}

// hubProc starts pointage-hub run with an external broker.
type hubProc struct {
	pid  int
	http string
	cmd  *exec.Cmd
}

func startHub(t *tb, bin, brokerURL string, extra ...string) hubProc {
	return startHubEnv(t, nil, bin, brokerURL, extra...)
}

// startHubEnv is startHub with variables added to the hub's environment.
func startHubEnv(t *tb, env []string, bin, brokerURL string, extra ...string) hubProc {
	port := testenv.FreePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	args := append([]string{"run", "--data-dir", t.TempDir(), "--listen", addr, "--mqtt-url", brokerURL, "--log-level", "warn"}, extra...)
	cmd := testenv.StartProcessEnv(t, env, bin, args...)
	testenv.WaitFor(t, 60*time.Second, "hub /healthz", func() bool {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	return hubProc{pid: cmd.Process.Pid, http: "http://" + addr, cmd: cmd}
}

// startProfiledHub is startHub with the hub's CPU profile written to
// profileDir (none when it is empty); stop ends the hub so that its profile
// is complete.
func startProfiledHub(t *tb, profileDir, bin, brokerURL string, extra ...string) (h hubProc, stop func()) {
	if profileDir == "" {
		return startHub(t, bin, brokerURL, extra...), func() {}
	}
	path := filepath.Join(profileDir, strings.ReplaceAll(t.Name(), "/", "_")+".prof")
	h = startHubEnv(t, []string{"POINTAGE_CPUPROFILE=" + path}, bin, brokerURL, extra...)
	return h, func() {
		h.cmd.Process.Signal(syscall.SIGTERM)
		h.cmd.Wait()
		t.Logf("hub CPU profile: %s", path)
	}
}

// warmup publishes one check-in from a device outside the load and waits for its Ack:
// the hub is subscribed and its store answers.
func warmupHub(t *tb, url string) {
	w := watchAcks(t, url, 1, []string{"warmup"})
	c := mqttClient(t, url, "warmup", nil)
	ci := wire.CheckIn{V: 1, ID: "01WARMUP", Site: "ecole-00", Device: "warmup", Epoch: "E1", Reader: "entree", Seq: 1, Badge: "0AFFFFFFFF",
		Service: wire.ServiceCanteen, Dir: wire.DirAuto, At: time.Now().Add(-time.Hour).Format(wire.AtLayout)}
	b, _ := wire.Encode(ci)
	deadline := time.Now().Add(60 * time.Second)
	for {
		c.Publish(wire.DeviceTopic("", "ecole-00", "warmup", wire.KindCheckIn), 1, false, b).Wait()
		select {
		case <-w.done:
			return
		case <-time.After(2 * time.Second):
		}
		if time.Now().After(deadline) {
			t.Fatalf("the hub did not acknowledge a warm-up check-in within 60 s")
		}
	}
}

// hubSide: generator -> mosquitto -> hub -> store, counted from the hub's Acks. With
// influx non-nil, the stored points are also counted in influxd. With profileDir
// set, the hub writes its CPU profile there (startProfiledHub).
func hubSide(t *tb, hubBin string, l *load, influx *testenv.InfluxdServer, profileDir string) (acks ingestResult, counted ingestResult) {
	broker := benchBroker(t)
	var extra []string
	if influx != nil {
		if _, err := influx.Query(`CREATE DATABASE "pointage"`); err != nil {
			t.Fatal(err)
		}
		extra = []string{"--influx-url", influx.URL(), "--influx-bucket", "pointage/autogen"}
	}
	h, stopHub := startProfiledHub(t, profileDir, hubBin, broker.URL(), extra...)
	defer stopHub()
	warmupHub(t, broker.URL())
	w := watchAcks(t, broker.URL(), uint64(l.perDevice), l.names)
	base := 0
	if influx != nil {
		base = countPoints(t, influx)
	}
	cpu0 := procCPU(h.pid)
	meter := startMeter(broker, influx)
	start, pubEnd := publishAll(t, broker.URL(), l, 1000)
	var counter *pointCounter
	if influx != nil {
		counter = newPointCounter(t, influx, base, l.total(), start)
	}
	select {
	case end := <-w.done:
		acks = ingestResult{N: l.total(), Elapsed: end.Sub(start), PubTime: pubEnd.Sub(start), CPU: procCPU(h.pid) - cpu0, Others: meter.spent(), PeakRSS: procPeakRSS(h.pid)}
	case <-time.After(300 * time.Second):
		t.Fatalf("hub: Acks cover %d of %d check-ins after 300 s", w.stored(), l.total())
	}
	if counter != nil {
		counted = counter.wait(t)
		counted.PubTime = acks.PubTime
		counted.CPU = procCPU(h.pid) - cpu0
		counted.Others = meter.spent()
		counted.PeakRSS = procPeakRSS(h.pid)
	}
	return acks, counted
}

// countPoints counts the check-in points in influxd.
func countPoints(t *tb, d *testenv.InfluxdServer) int {
	body, err := d.QueryDB("pointage", `SELECT count("seq") FROM "checkin"`)
	if err != nil {
		t.Fatal(err)
	}
	var ans struct {
		Results []struct {
			Series []struct {
				Values [][]any `json:"values"`
			} `json:"series"`
		} `json:"results"`
	}
	if err := json.Unmarshal([]byte(body), &ans); err != nil {
		t.Fatalf("count: %v: %s", err, body)
	}
	if len(ans.Results) == 0 || len(ans.Results[0].Series) == 0 || len(ans.Results[0].Series[0].Values) == 0 {
		return 0
	}
	v := ans.Results[0].Series[0].Values[0]
	if f, ok := v[len(v)-1].(float64); ok {
		return int(f)
	}
	return 0
}

// pointCounter polls the number of stored points every 100 ms from the start of a run
// until it reaches the total, or stops growing for 10 s; the run ends at the poll where
// the count last grew.
type pointCounter struct {
	d           *testenv.InfluxdServer
	base, total int
	start       time.Time
	res         chan ingestResult
}

func newPointCounter(t *tb, d *testenv.InfluxdServer, base, total int, start time.Time) *pointCounter {
	pc := &pointCounter{d: d, base: base, total: total, start: start, res: make(chan ingestResult, 1)}
	go func() {
		last, lastGrow := -1, time.Now()
		for {
			n := -1
			func() {
				defer func() { recover() }()
				n = countPoints(t, d) - base
			}()
			now := time.Now()
			if n > last {
				last, lastGrow = n, now
			}
			if last >= total || now.Sub(lastGrow) > 10*time.Second {
				r := ingestResult{N: last, Elapsed: lastGrow.Sub(start), Received: last}
				if last < total {
					r.Note = fmt.Sprintf("only %d of %d points stored", last, total)
				}
				pc.res <- r
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
	return pc
}

func (pc *pointCounter) wait(t *tb) ingestResult {
	select {
	case r := <-pc.res:
		return r
	case <-time.After(600 * time.Second):
		t.Fatalf("counting points: no end after 600 s")
	}
	return ingestResult{}
}

// lineProtocol is the hub's point shape (docs/DESIGN.md §6 and the README's schema: 4 tags,
// 5 fields plus received_at and review), timestamp = event ms + seq mod 1e6 ns.
func lineProtocol(c wire.CheckIn, received int64) string {
	at, _ := wire.ParseTime(c.At)
	ts := at.Truncate(time.Millisecond).UnixNano() + int64(c.Seq%1_000_000)
	return fmt.Sprintf(`checkin,device=%s,reader=%s,service=%s,site=%s badge=%q,dir=%q,epoch=%q,id=%q,received_at=%di,review=false,seq=%di %d`,
		c.Device, c.Reader, c.Service, c.Site, c.Badge, c.Dir, c.Epoch, c.ID, received, c.Seq, ts)
}

// influxDirect writes the same points to influxd in line-protocol batches, one writer
// per device (as many as the generator's connections), through POST /write.
func influxDirect(t *tb, l *load, batch int) ingestResult {
	d := testenv.Influxd(t, testenv.InfluxdWithoutFlux())
	if _, err := d.Query(`CREATE DATABASE "pointage"`); err != nil {
		t.Fatal(err)
	}
	recv := time.Now().UnixMilli()
	bodies := make([][][]byte, l.devices)
	for dv := range l.devices {
		var b bytes.Buffer
		for i, c := range l.checkins[dv] {
			b.WriteString(lineProtocol(c, recv))
			b.WriteByte('\n')
			if (i+1)%batch == 0 || i == len(l.checkins[dv])-1 {
				bodies[dv] = append(bodies[dv], bytes.Clone(b.Bytes()))
				b.Reset()
			}
		}
	}
	client := &http.Client{Timeout: 60 * time.Second}
	url := d.URL() + "/write?db=pointage&precision=ns"
	var wg sync.WaitGroup
	var failed atomic.Value
	start := time.Now()
	for dv := range l.devices {
		wg.Add(1)
		go func(dv int) {
			defer wg.Done()
			for _, body := range bodies[dv] {
				resp, err := client.Post(url, "text/plain", bytes.NewReader(body))
				if err != nil {
					failed.Store(err.Error())
					return
				}
				msg, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusNoContent {
					failed.Store(fmt.Sprintf("%s: %s", resp.Status, msg))
					return
				}
			}
		}(dv)
	}
	wg.Wait()
	el := time.Since(start)
	if f := failed.Load(); f != nil {
		t.Fatalf("influx write: %v", f)
	}
	if n := countPoints(t, d); n != l.total() {
		t.Fatalf("influx direct: %d points stored, want %d", n, l.total())
	}
	return ingestResult{N: l.total(), Elapsed: el}
}

// telegrafSide: generator -> mosquitto -> Telegraf (mqtt_consumer, json_v2) -> influxd.
func telegrafSide(t *tb, telegraf string, l *load) ingestResult {
	broker := benchBroker(t)
	d := testenv.Influxd(t)
	if _, err := d.Query(`CREATE DATABASE "pointage"`); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	conf := filepath.Join(dir, "telegraf.conf")
	if err := os.WriteFile(conf, []byte(telegrafConfig(broker.URL(), d.URL(), filepath.Join(dir, "telegraf.log"))), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := testenv.StartProcess(t, telegraf, "--config", conf)
	// Warm-up: one check-in through Telegraf, seen in influxd.
	c := mqttClient(t, broker.URL(), "warmup", nil)
	ci := wire.CheckIn{V: 1, ID: "01WARMUP", Site: "ecole-00", Device: "warmup", Epoch: "E1", Reader: "entree", Seq: 1, Badge: "0AFFFFFFFF",
		Service: wire.ServiceCanteen, Dir: wire.DirAuto, At: time.Now().Add(-time.Hour).Format(wire.AtLayout)}
	b, _ := wire.Encode(ci)
	deadline := time.Now().Add(90 * time.Second)
	for countPoints(t, d) < 1 {
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "telegraf.log"))
			t.Fatalf("Telegraf stored no warm-up point within 90 s; its log:\n%s", tail(string(log), 3000))
		}
		c.Publish(wire.DeviceTopic("", "ecole-00", "warmup", wire.KindCheckIn), 1, false, b).Wait()
		time.Sleep(500 * time.Millisecond)
	}
	base := countPoints(t, d)
	cpu0 := procCPU(cmd.Process.Pid)
	meter := startMeter(broker, d)
	start, pubEnd := publishAll(t, broker.URL(), l, 1000)
	r := newPointCounter(t, d, base, l.total(), start).wait(t)
	r.PubTime = pubEnd.Sub(start)
	r.CPU = procCPU(cmd.Process.Pid) - cpu0
	r.Others = meter.spent()
	r.PeakRSS = procPeakRSS(cmd.Process.Pid)
	if r.N < l.total() {
		log, _ := os.ReadFile(filepath.Join(dir, "telegraf.log"))
		r.Note += "; Telegraf log: " + strings.ReplaceAll(tail(string(log), 400), "\n", " ")
	}
	return r
}

// telegrafConfig: the hub's point shape (tags site, device, reader, service; fields
// badge, seq, epoch, id, dir; the event time), Telegraf's fastest sensible settings:
// no gzip on loopback, no topic tag, no host tag, a buffer that holds a whole run.
func telegrafConfig(broker, influx, logfile string) string {
	return fmt.Sprintf(`# written by bench (make bench)
[agent]
  interval = "10s"
  round_interval = false
  metric_batch_size = 5000
  metric_buffer_limit = 1000000
  collection_jitter = "0s"
  flush_interval = "100ms"
  flush_jitter = "0s"
  precision = "0s"
  omit_hostname = true
  quiet = true
  logfile = %q

[[inputs.mqtt_consumer]]
  servers = [%q]
  topics = ["pointage/v1/+/+/checkin"]
  topic_tag = ""
  qos = 1
  max_undelivered_messages = 10000
  persistent_session = false
  client_id = "telegraf-bench"
  connection_timeout = "30s"
  data_format = "json_v2"
  [[inputs.mqtt_consumer.json_v2]]
    measurement_name = "checkin"
    timestamp_path = "at"
    timestamp_format = "2006-01-02T15:04:05.000Z07:00"
    [[inputs.mqtt_consumer.json_v2.tag]]
      path = "site"
    [[inputs.mqtt_consumer.json_v2.tag]]
      path = "device"
    [[inputs.mqtt_consumer.json_v2.tag]]
      path = "reader"
    [[inputs.mqtt_consumer.json_v2.tag]]
      path = "service"
    [[inputs.mqtt_consumer.json_v2.field]]
      path = "badge"
      type = "string"
    [[inputs.mqtt_consumer.json_v2.field]]
      path = "seq"
      type = "int"
    [[inputs.mqtt_consumer.json_v2.field]]
      path = "epoch"
      type = "string"
    [[inputs.mqtt_consumer.json_v2.field]]
      path = "id"
      type = "string"
    [[inputs.mqtt_consumer.json_v2.field]]
      path = "dir"
      type = "string"

[[outputs.influxdb_v2]]
  urls = [%q]
  token = "bench:bench"
  organization = ""
  bucket = "pointage/autogen"
  timeout = "30s"
  content_encoding = "identity"
`, logfile, broker, influx)
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// procCPU is a process's user+system CPU seconds from /proc.
func procCPU(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	f := strings.Fields(s[i+2:])
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseFloat(f[11], 64)
	sy, _ := strconv.ParseFloat(f[12], 64)
	return (u + sy) / 100
}

// procRSS is a process's resident set size in KiB.
func procRSS(pid int) float64 { return procStatusKiB(pid, "VmRSS:") }

// procPeakRSS is the largest resident set size a process has had, in KiB (the
// kernel's high-water mark: nothing between two samples is missed).
func procPeakRSS(pid int) float64 { return procStatusKiB(pid, "VmHWM:") }

// procStatusKiB reads a "Vm…:  N kB" line of /proc/PID/status.
func procStatusKiB(pid int, key string) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == key {
			v, _ := strconv.ParseFloat(f[1], 64)
			return v
		}
	}
	return 0
}
