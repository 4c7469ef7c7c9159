package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"pointage/agent/outbox"
	"pointage/internal/scansim"
	"pointage/internal/testenv"
	"pointage/internal/wire"
)

type agentReader struct {
	name, port, profile string
}

// writeAgentConfig writes an agent.yaml for the real pointage-agent binary.
func writeAgentConfig(t *tb, site, device, dataDir, brokerURL string, readers []agentReader) string {
	y := fmt.Sprintf("site: %s\ndevice: %s\ndata_dir: %s\nmqtt: {url: %q, client_id: %q}\nrepublish_after: 30s\nstatus_interval: 60s\nlog: {level: warn}\nreaders:\n",
		site, device, dataDir, brokerURL, "agent-"+device)
	for _, r := range readers {
		y += fmt.Sprintf("  - {name: %s, port: %q, profile: %s, service: canteen, dir: auto, debounce: 1s}\n", r.name, r.port, r.profile)
	}
	path := filepath.Join(t.TempDir(), "agent.yaml")
	if err := os.WriteFile(path, []byte(y), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func newPTY(t *tb) *scansim.PTY {
	p, err := scansim.NewPTY()
	if err != nil {
		t.Fatalf("pty: %v", err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// waitOnline waits for the device's retained status saying online with n readers connected.
func waitOnline(t *tb, url, site, device string, n int) {
	ok := make(chan struct{}, 1)
	c := mqttClient(t, url, "status-watch-"+device, nil)
	subscribe(t, c, wire.DeviceTopic("", site, device, wire.KindStatus), func(_ mqtt.Client, m mqtt.Message) {
		st, err := wire.DecodeStatus(m.Payload())
		if err != nil || st.State != "online" || len(st.Readers) != n {
			return
		}
		for _, r := range st.Readers {
			if !r.Connected {
				return
			}
		}
		select {
		case ok <- struct{}{}:
		default:
		}
	})
	select {
	case <-ok:
	case <-time.After(30 * time.Second):
		t.Fatalf("agent %s not online with %d readers within 30 s", device, n)
	}
}

// countsPoller polls /api/v1/counts?site=S as fast as it answers (1 ms pause) and keeps
// when each new value of the canteen's unknown_badges was first seen.
type countsPoller struct {
	mu   sync.Mutex
	seen []countSeen
	stop chan struct{}
	done chan struct{}
}

type countSeen struct {
	at time.Time
	n  int
}

func pollCounts(t *tb, base, site string) *countsPoller {
	p := &countsPoller{stop: make(chan struct{}), done: make(chan struct{})}
	client := &http.Client{Timeout: 10 * time.Second}
	url := base + "/api/v1/counts?site=" + site
	go func() {
		defer close(p.done)
		last := -1
		for {
			select {
			case <-p.stop:
				return
			default:
			}
			resp, err := client.Get(url)
			if err == nil {
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				now := time.Now()
				n := 0
				if resp.StatusCode == 200 {
					var v any
					if json.Unmarshal(body, &v) == nil {
						n = unknownBadges(v)
					}
				}
				if n > last {
					last = n
					p.mu.Lock()
					p.seen = append(p.seen, countSeen{now, n})
					p.mu.Unlock()
				}
			}
			time.Sleep(time.Millisecond)
		}
	}()
	t.Cleanup(func() { close(p.stop); <-p.done })
	return p
}

func countsBody(base, site string) string {
	resp, err := http.Get(base + "/api/v1/counts?site=" + site)
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return tail(string(b), 1500)
}

// eventBadges: the badges of the site's events today, from /api/v1/events.
func eventBadges(t *tb, base, site string) map[string]bool {
	resp, err := http.Get(base + "/api/v1/events?site=" + site)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var ans struct {
		Events []struct {
			Badge string `json:"badge"`
		} `json:"events"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&ans); err != nil {
		t.Fatalf("/api/v1/events: %v", err)
	}
	m := map[string]bool{}
	for _, e := range ans.Events {
		m[e.Badge] = true
	}
	return m
}

// framesRejected: the readers' frames_rejected as the hub last heard them.
func framesRejected(base, device string) string {
	resp, err := http.Get(base + "/api/v1/devices")
	if err != nil {
		return "?"
	}
	defer resp.Body.Close()
	var ans struct {
		Devices []struct {
			Device  string `json:"device"`
			Readers []struct {
				Name           string `json:"name"`
				FramesRejected int    `json:"frames_rejected"`
			} `json:"readers"`
		} `json:"devices"`
	}
	if json.NewDecoder(resp.Body).Decode(&ans) != nil {
		return "?"
	}
	var parts []string
	for _, d := range ans.Devices {
		if d.Device == device {
			for _, r := range d.Readers {
				parts = append(parts, fmt.Sprintf("%s %d", r.Name, r.FramesRejected))
			}
		}
	}
	return strings.Join(parts, ", ")
}

// unknownBadges sums canteen.unknown_badges wherever it appears in a counts answer.
func unknownBadges(v any) int {
	n := 0
	switch x := v.(type) {
	case map[string]any:
		if c, ok := x["canteen"].(map[string]any); ok {
			if u, ok := c["unknown_badges"].(float64); ok {
				n += int(u)
			}
		}
		for k, y := range x {
			if k != "canteen" {
				n += unknownBadges(y)
			}
		}
	case []any:
		for _, y := range x {
			n += unknownBadges(y)
		}
	}
	return n
}

func (p *countsPoller) current() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.seen) == 0 {
		return 0
	}
	return p.seen[len(p.seen)-1].n
}

// firstSeen: when the count first reached n.
func (p *countsPoller) firstSeen(n int) (time.Time, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, s := range p.seen {
		if s.n >= n {
			return s.at, true
		}
	}
	return time.Time{}, false
}

type latencyResult struct {
	Rate, N  int
	P50, P99 time.Duration
	Max      time.Duration
	AgentCPU float64 // % of one core during the phase
	AgentRSS float64 // KiB at the end of the phase
	Lost     int     // scans never counted
	Rejected string  // frames_rejected of the readers after the phase (from /api/v1/devices)
}

type footprint struct {
	IdleCPU, IdleRSS float64
	BusyCPU, BusyRSS float64
}

// latencyRun: frame written to a pty reader of a real agent -> mosquitto -> hub
// (SQLite) -> the count visible through /api/v1/counts. Also the agent's footprint idle
// and at 10 scans/s.
func latencyRun(t *tb, agentBin, hubBin string, phases [][2]int, idleFor time.Duration) ([]latencyResult, footprint) {
	broker := benchBroker(t)
	h := startHub(t, hubBin, broker.URL())
	warmupHub(t, broker.URL())
	const site, device = "ecole-lat", "lat-1"
	p1, p2 := newPTY(t), newPTY(t)
	cfg := writeAgentConfig(t, site, device, t.TempDir(), broker.URL(),
		[]agentReader{{"entree", p1.Path(), "rdm6300"}, {"sortie", p2.Path(), "line-hex"}})
	cmd := testenv.StartProcess(t, agentBin, "run", "--config", cfg)
	pid := cmd.Process.Pid
	waitOnline(t, broker.URL(), site, device, 2)
	time.Sleep(3 * time.Second)
	var fp footprint
	c0 := procCPU(pid)
	time.Sleep(idleFor)
	fp.IdleCPU = (procCPU(pid) - c0) / idleFor.Seconds() * 100
	fp.IdleRSS = procRSS(pid)

	poll := pollCounts(t, h.http, site)
	badge := 0
	var badges []string
	var out []latencyResult
	for _, ph := range phases {
		rate, n := ph[0], ph[1]
		base := poll.current()
		sent := make([]time.Time, n)
		cpu0 := procCPU(pid)
		t0 := time.Now()
		tick := time.NewTicker(time.Second / time.Duration(rate))
		for i := 0; i < n; i++ {
			<-tick.C
			badge++
			var frame []byte
			var err error
			var p *scansim.PTY
			if i%2 == 0 {
				b := fmt.Sprintf("0B%08X", badge)
				badges = append(badges, b)
				frame, err = scansim.Encode("rdm6300", b)
				p = p1
			} else {
				b := fmt.Sprintf("%08X", 0x50000000+badge)
				badges = append(badges, b)
				frame, err = scansim.Encode("line-hex", b)
				p = p2
			}
			if err != nil {
				t.Fatal(err)
			}
			sent[i] = time.Now()
			if _, err := p.Write(frame); err != nil {
				t.Fatal(err)
			}
		}
		tick.Stop()
		// Wait for every scan to be counted; a scan that never is (a frame the agent
		// rejected) is reported, and the others keep their order.
		sentBadges := badges[len(badges)-n:]
		lastGrow, last := time.Now(), poll.current()
		for poll.current() < base+n {
			if c := poll.current(); c > last {
				last, lastGrow = c, time.Now()
			}
			if time.Since(lastGrow) > 15*time.Second {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		phaseCPU := (procCPU(pid) - cpu0) / time.Since(t0).Seconds() * 100
		lost := map[string]bool{}
		if got := poll.current() - base; got < n {
			stored := eventBadges(t, h.http, site)
			for _, b := range sentBadges {
				if !stored[b] {
					lost[b] = true
				}
			}
			logf("   %d scans/s: %d of %d scans counted; not stored: %d (%s)", rate, got, n, len(lost), countsBody(h.http, site))
		}
		var lat []time.Duration
		k := 0
		for i := range n {
			if lost[sentBadges[i]] {
				continue
			}
			k++
			at, ok := poll.firstSeen(base + k)
			if !ok {
				continue
			}
			lat = append(lat, at.Sub(sent[i]))
		}
		if len(lat) == 0 {
			t.Fatalf("%d scans/s: no scan counted", rate)
		}
		rejected := framesRejected(h.http, device)
		sort.Slice(lat, func(a, b int) bool { return lat[a] < lat[b] })
		m := len(lat)
		r := latencyResult{Rate: rate, N: n, P50: lat[m/2], P99: lat[(m*99)/100], Max: lat[m-1], AgentCPU: phaseCPU, AgentRSS: procRSS(pid),
			Lost: n - m, Rejected: rejected}
		if rate == 10 {
			fp.BusyCPU, fp.BusyRSS = r.AgentCPU, r.AgentRSS
		}
		out = append(out, r)
		time.Sleep(2 * time.Second)
	}
	return out, fp
}

type backlogResult struct {
	N           int
	Fill        time.Duration // time to pre-fill the outbox (N appends, one fsync each)
	Drain       time.Duration // agent started -> Ack covering every event
	FirstAck    time.Duration // agent started -> first Ack
	PendingLeft int
}

// backlogRun: n events pending in an agent's outbox (pre-filled with the outbox
// package, as an agent that ran while the hub was unreachable leaves it), the hub
// reachable: time from the agent's start until the hub's Acks cover them all.
func backlogRun(t *tb, agentBin, hubBin string, n int) backlogResult {
	const site, device = "ecole-backlog", "backlog-1"
	dataDir := t.TempDir()
	ob, err := outbox.Open(outbox.Options{Path: filepath.Join(dataDir, "outbox.db")})
	if err != nil {
		t.Fatal(err)
	}
	fill0 := time.Now()
	at := time.Now().Add(-2 * time.Hour)
	for i := 1; i <= n; i++ {
		if _, err := ob.Append(context.Background(), outbox.Scan{Reader: "entree", Badge: fmt.Sprintf("0C%08X", i), Service: wire.ServiceCanteen,
			Dir: wire.DirAuto, At: at.Add(time.Duration(i) * 100 * time.Millisecond)}); err != nil {
			t.Fatal(err)
		}
	}
	fill := time.Since(fill0)
	ob.Close()

	broker := benchBroker(t)
	startHub(t, hubBin, broker.URL())
	warmupHub(t, broker.URL())
	first := make(chan time.Time, 1)
	w := watchAcks(t, broker.URL(), uint64(n), []string{device})
	fw := mqttClient(t, broker.URL(), "first-ack", nil)
	subscribe(t, fw, wire.DeviceTopic("", site, device, wire.KindAck), func(_ mqtt.Client, m mqtt.Message) {
		select {
		case first <- time.Now():
		default:
		}
	})
	p := newPTY(t)
	cfg := writeAgentConfig(t, site, device, dataDir, broker.URL(), []agentReader{{"entree", p.Path(), "rdm6300"}})
	t0 := time.Now()
	testenv.StartProcess(t, agentBin, "run", "--config", cfg)
	var r backlogResult
	select {
	case end := <-w.done:
		r = backlogResult{N: n, Fill: fill, Drain: end.Sub(t0)}
	case <-time.After(300 * time.Second):
		t.Fatalf("backlog: Acks cover %d of %d after 300 s", w.stored(), n)
	}
	select {
	case f := <-first:
		r.FirstAck = f.Sub(t0)
	default:
	}
	// The agent's own view: outbox --json.
	var st map[string]any
	testenv.WaitFor(t, 30*time.Second, "outbox --json: 0 pending", func() bool {
		out, err := exec.Command(agentBin, "outbox", "--config", cfg, "--json").Output()
		if err != nil || json.Unmarshal(out, &st) != nil {
			return false
		}
		p, _ := st["pending"].(float64)
		r.PendingLeft = int(p)
		return p == 0
	})
	return r
}
