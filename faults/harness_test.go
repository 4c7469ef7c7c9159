package faults

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
	_ "modernc.org/sqlite" // the agent's outbox, read read-only

	"pointage/agent/outbox"
	"pointage/hub/store"
	"pointage/hub/store/sqlitestore"
	"pointage/internal/scansim"
	"pointage/internal/testenv"
)

// full reports whether the long versions of the scenarios run (POINTAGE_FAULTS=full,
// set by `make test-faults`); `make test` runs the short ones.
func full() bool { return os.Getenv("POINTAGE_FAULTS") == "full" }

// pick returns long under POINTAGE_FAULTS=full, short otherwise.
func pick[T any](short, long T) T {
	if full() {
		return long
	}
	return short
}

func integration(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("fault injection runs real processes")
	}
}

const (
	timezone     = "Pacific/Noumea" // the hub's default
	beepAccepted = 0x06
	beepRefused  = 0x15
	devicePass   = "correct horse battery"
)

// ---------------------------------------------------------------- the hub

type hubProc struct {
	t       *testing.T
	bin     string
	data    string
	http    string // 127.0.0.1:port
	mqtt    string // tcp://… the agents connect to
	args    []string
	cmd     *exec.Cmd
	influx  *testenv.InfluxdServer
	started int
}

type hubOptions struct {
	mqttURL string                 // external broker; "" = embedded
	influx  *testenv.InfluxdServer // nil = SQLite store
}

const influxBucket = "pointage/autogen"

func newHub(t *testing.T, o hubOptions) *hubProc {
	t.Helper()
	h := &hubProc{t: t, bin: testenv.BuildBinary(t, "pointage/cmd/pointage-hub"), data: t.TempDir(), influx: o.influx}
	h.http = fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	h.args = []string{"run", "--data-dir", h.data, "--listen", h.http, "--log-level", "info"}
	if o.mqttURL != "" {
		h.mqtt = o.mqttURL
		h.args = append(h.args, "--mqtt-url", o.mqttURL)
	} else {
		addr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
		h.mqtt = "tcp://" + addr
		h.args = append(h.args, "--mqtt-listen", addr)
	}
	if o.influx != nil {
		h.args = append(h.args, "--influx-url", o.influx.URL(), "--influx-bucket", influxBucket)
	}
	return h
}

func (h *hubProc) command(stdin string, args ...string) {
	h.t.Helper()
	cmd := exec.Command(h.bin, args...)
	cmd.Stdin = strings.NewReader(stdin)
	if out, err := cmd.CombinedOutput(); err != nil {
		h.t.Fatalf("pointage-hub %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// addDevice registers a device for the embedded broker's logins.
func (h *hubProc) addDevice(site, device string) {
	h.t.Helper()
	h.command(devicePass+"\n", "devices", "add", "--data-dir", h.data, site, device, "--password-stdin")
}

// importRoster makes every badge a child of site eating at the canteen every day.
func (h *hubProc) importRoster(site string, badges []string) {
	h.t.Helper()
	var b strings.Builder
	b.WriteString("badge;person_id;role;last_name;first_name;site;class;regime;canteen_days;garderie\n")
	for i, badge := range badges {
		fmt.Fprintf(&b, "%s;%s-%05d;child;Eleve;N%d;%s;CP;standard;lu ma me je ve sa di;\n", badge, site, i, i, site)
	}
	path := filepath.Join(h.t.TempDir(), "roster.csv")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		h.t.Fatal(err)
	}
	h.command("", "roster", "import", "--data-dir", h.data, path)
}

func (h *hubProc) start() {
	h.t.Helper()
	h.cmd = testenv.StartProcess(h.t, h.bin, h.args...)
	h.started++
	testenv.WaitFor(h.t, 60*time.Second, "the hub answering /healthz", func() bool {
		resp, err := http.Get("http://" + h.http + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	if slices.Contains(h.args, "--mqtt-listen") {
		u, _ := url.Parse(h.mqtt)
		testenv.WaitFor(h.t, 30*time.Second, "the embedded broker listening", func() bool {
			c, err := net.Dial("tcp", u.Host)
			if err == nil {
				c.Close()
			}
			return err == nil
		})
	}
}

func (h *hubProc) signal(sig syscall.Signal) {
	h.t.Helper()
	if h.cmd == nil || h.cmd.ProcessState != nil {
		return
	}
	h.cmd.Process.Signal(sig)
	h.cmd.Wait()
}

func (h *hubProc) kill() { h.signal(syscall.SIGKILL) }
func (h *hubProc) stop() { h.signal(syscall.SIGTERM) }

func (h *hubProc) getJSON(path string, v any) {
	h.t.Helper()
	resp, err := http.Get("http://" + h.http + path)
	if err != nil {
		h.t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		h.t.Fatalf("GET %s: %s", path, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		h.t.Fatalf("GET %s: %v", path, err)
	}
}

type apiEvent struct {
	ID     string `json:"id"`
	Device string `json:"device"`
	Seq    uint64 `json:"seq"`
	Badge  string `json:"badge"`
	At     string `json:"at"`
	Kind   string `json:"kind"`
	Review bool   `json:"review"`
}

func (h *hubProc) events(site, date string) []apiEvent {
	h.t.Helper()
	var body struct {
		Events []apiEvent `json:"events"`
	}
	h.getJSON("/api/v1/events?site="+site+"&date="+date, &body)
	return body.Events
}

type deviceView struct {
	Device        string `json:"device"`
	Epoch         string `json:"epoch"`
	StoredThrough uint64 `json:"stored_through"`
	Missing       []any  `json:"missing"`
	OutboxError   string `json:"outbox_error"`
	ClockSkewMS   int64  `json:"clock_skew_ms"`
	Recovering    bool   `json:"recovering"`
}

// device returns the hub's view of a device (GET /api/v1/devices).
func (h *hubProc) device(device string) deviceView {
	h.t.Helper()
	var body struct {
		Devices []deviceView `json:"devices"`
	}
	h.getJSON("/api/v1/devices", &body)
	for _, d := range body.Devices {
		if d.Device == device {
			return d
		}
	}
	return deviceView{}
}

type canteenCounts struct {
	Meals         int `json:"meals"`
	Duplicates    int `json:"duplicates"`
	UnknownBadges int `json:"unknown_badges"`
}

func (h *hubProc) counts(site, date string) canteenCounts {
	h.t.Helper()
	var body struct {
		Sites []struct {
			Site    string        `json:"site"`
			Canteen canteenCounts `json:"canteen"`
		} `json:"sites"`
	}
	h.getJSON("/api/v1/counts?site="+site+"&date="+date, &body)
	if len(body.Sites) != 1 || body.Sites[0].Site != site {
		h.t.Fatalf("counts of %s on %s: %+v", site, date, body)
	}
	return body.Sites[0].Canteen
}

// storedIDs reads the store itself, not through the hub: every row's id,
// duplicates included. For SQLite the hub must be stopped.
func (h *hubProc) storedIDs(site string) []string {
	h.t.Helper()
	if h.influx != nil {
		out, err := h.influx.QueryDB("pointage", fmt.Sprintf(`SELECT "id" FROM "checkin" WHERE "site" = '%s'`, site))
		if err != nil {
			h.t.Fatalf("query influxd: %v", err)
		}
		var body struct {
			Results []struct {
				Series []struct {
					Values [][]any `json:"values"`
				} `json:"series"`
				Error string `json:"error"`
			} `json:"results"`
		}
		if err := json.Unmarshal([]byte(out), &body); err != nil {
			h.t.Fatalf("influxd answer %q: %v", out, err)
		}
		var ids []string
		for _, r := range body.Results {
			if r.Error != "" {
				h.t.Fatalf("influxd: %s", r.Error)
			}
			for _, s := range r.Series {
				for _, v := range s.Values {
					id, _ := v[1].(string)
					ids = append(ids, id)
				}
			}
		}
		return ids
	}
	ctx := context.Background()
	st, err := sqlitestore.Open(ctx, filepath.Join(h.data, "checkins.db"), nil)
	if err != nil {
		h.t.Fatal(err)
	}
	defer st.Close()
	now := time.Now()
	evs, err := st.Events(ctx, store.Query{From: now.Add(-72 * time.Hour), To: now.Add(72 * time.Hour), Site: site})
	if err != nil {
		h.t.Fatal(err)
	}
	ids := make([]string, len(evs))
	for i, e := range evs {
		ids[i] = e.ID
	}
	return ids
}

// ---------------------------------------------------------------- the agent

type agentProc struct {
	t        *testing.T
	bin      string
	site     string
	device   string
	cfgPath  string
	dataDir  string
	pty      *scansim.PTY
	cmd      *exec.Cmd
	logs     []string // one log file per run
	started  int
	fsize    int           // ulimit -f (512-byte blocks) for the next start; 0 = none
	skew     time.Duration // the agent's clock is off by this much (a helper process)
	mqttPass string
}

func newAgent(t *testing.T, site, device, mqttURL string) *agentProc {
	t.Helper()
	p, err := scansim.NewPTY()
	if err != nil {
		t.Fatalf("pseudo-terminal: %v", err)
	}
	t.Cleanup(func() { p.Close() })
	dir := t.TempDir()
	profiles := filepath.Join(dir, "profiles")
	os.Mkdir(profiles, 0o755)
	base, err := os.ReadFile(filepath.Join("..", "firmware-config", "profiles", "rdm6300.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	// rdm6300 framing plus feedback bytes: the test sees what the agent accepted.
	prof := strings.Replace(string(base), "name: rdm6300", "name: beeper", 1) +
		fmt.Sprintf("feedback: {accepted: \"%02X\", refused: \"%02X\"}\n", beepAccepted, beepRefused)
	if err := os.WriteFile(filepath.Join(profiles, "beeper.yaml"), []byte(prof), 0o644); err != nil {
		t.Fatal(err)
	}
	a := &agentProc{t: t, bin: testenv.BuildBinary(t, "pointage/cmd/pointage-agent"), site: site, device: device,
		dataDir: filepath.Join(dir, "data"), pty: p, cfgPath: filepath.Join(dir, "agent.yaml")}
	doc := map[string]any{
		"site": site, "device": device, "data_dir": a.dataDir,
		"mqtt": map[string]any{"url": mqttURL, "username": device, "password": devicePass},
		"readers": []map[string]any{{"name": "entree", "port": p.Path(), "profile": "beeper",
			"service": "canteen", "dir": "auto", "debounce": "3s"}},
		"profiles_dir":    profiles,
		"republish_after": "3s",
		"status_interval": "2s",
		"log":             map[string]any{"level": "info"},
	}
	b, err := yaml.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(a.cfgPath, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return a
}

func (a *agentProc) outboxPath() string { return filepath.Join(a.dataDir, "outbox.db") }

// start runs the agent and waits until its reader is open.
func (a *agentProc) start() {
	a.t.Helper()
	if err := a.startNoWait(); err != nil {
		a.t.Fatal(err)
	}
	if err := a.waitReady(20 * time.Second); err != nil {
		a.t.Fatal(err)
	}
}

func (a *agentProc) startNoWait() error {
	switch {
	case a.skew != 0:
		a.cmd = testenv.StartProcess(a.t, os.Args[0], skewedAgentArg, a.skew.String(), a.cfgPath)
	case a.fsize > 0:
		a.cmd = testenv.StartProcess(a.t, "/bin/sh", "-c", fmt.Sprintf("ulimit -f %d && exec %s run --config %s", a.fsize, a.bin, a.cfgPath))
	default:
		a.cmd = testenv.StartProcess(a.t, a.bin, "run", "--config", a.cfgPath)
	}
	f, ok := a.cmd.Stdout.(*os.File)
	if !ok {
		return fmt.Errorf("agent's output is not a file")
	}
	a.logs = append(a.logs, f.Name())
	a.started++
	return nil
}

// waitReady waits for "reader connected" in the current run's log. It does
// not use t, so a background goroutine may call it.
func (a *agentProc) waitReady(d time.Duration) error {
	path := a.logs[len(a.logs)-1]
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		b, _ := os.ReadFile(path)
		if strings.Contains(string(b), "reader connected") {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	b, _ := os.ReadFile(path)
	return fmt.Errorf("agent run %d: reader not connected after %s; log:\n%s", a.started, d, b)
}

func (a *agentProc) signal(sig syscall.Signal) {
	if a.cmd == nil || a.cmd.ProcessState != nil {
		return
	}
	a.cmd.Process.Signal(sig)
	a.cmd.Wait()
}

func (a *agentProc) kill() { a.signal(syscall.SIGKILL) }
func (a *agentProc) stop() { a.signal(syscall.SIGTERM) }

func (a *agentProc) stats() (outbox.Stats, error) {
	return outbox.ReadStats(context.Background(), a.outboxPath())
}

// waitAcked waits until the hub has acknowledged every event of the outbox.
func (a *agentProc) waitAcked(d time.Duration) {
	a.t.Helper()
	testenv.WaitFor(a.t, d, "every event of the outbox acknowledged by the hub", func() bool {
		st, err := a.stats()
		return err == nil && st.Pending == 0
	})
}

type outboxEvent struct {
	Seq   uint64
	ID    string
	Badge string
	At    time.Time
	Acked bool
}

// events reads the outbox read-only: what the agent accepted.
func (a *agentProc) events() (epoch string, evs []outboxEvent) {
	a.t.Helper()
	u := url.URL{Scheme: "file", Path: a.outboxPath(), RawQuery: url.Values{"mode": {"ro"}, "_pragma": {"busy_timeout(5000)"}}.Encode()}
	db, err := sql.Open("sqlite", u.String())
	if err != nil {
		a.t.Fatal(err)
	}
	defer db.Close()
	if err := db.QueryRow("SELECT epoch FROM outbox").Scan(&epoch); err != nil {
		a.t.Fatalf("read the outbox: %v", err)
	}
	rows, err := db.Query("SELECT seq, id, badge, at, acked_at IS NOT NULL FROM events ORDER BY seq")
	if err != nil {
		a.t.Fatalf("read the outbox: %v", err)
	}
	defer rows.Close()
	for rows.Next() {
		var e outboxEvent
		var at string
		if err := rows.Scan(&e.Seq, &e.ID, &e.Badge, &at, &e.Acked); err != nil {
			a.t.Fatal(err)
		}
		if e.At, err = time.Parse(time.RFC3339Nano, at); err != nil {
			a.t.Fatalf("outbox seq %d: at %q: %v", e.Seq, at, err)
		}
		evs = append(evs, e)
	}
	if err := rows.Err(); err != nil {
		a.t.Fatal(err)
	}
	return epoch, evs
}

// ---------------------------------------------------------------- the reader

// frame is one badge presented to the reader and the feedback it got.
type frame struct {
	Badge    string
	Feedback byte // beepAccepted, beepRefused, or 0 for none
}

type feeder struct {
	t      *testing.T
	pty    *scansim.PTY
	prefix int
	next   int
	frames []frame
}

func newFeeder(t *testing.T, pty *scansim.PTY, prefix int) *feeder {
	return &feeder{t: t, pty: pty, prefix: prefix}
}

// badge returns the i-th badge of this feeder: distinct badges, one child each.
func (f *feeder) badge(i int) string { return fmt.Sprintf("%02X%08X", f.prefix, 0xBC0000+i) }

// badges lists the first n badges (the roster).
func (f *feeder) badges(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = f.badge(i)
	}
	return out
}

// scan presents the next badge and waits up to timeout for its feedback.
func (f *feeder) scan(timeout time.Duration) frame {
	f.t.Helper()
	b, err := scansim.Encode("rdm6300", f.badge(f.next))
	if err != nil {
		f.t.Fatal(err)
	}
	fr := frame{Badge: f.badge(f.next)}
	f.next++
	if _, err := f.pty.Write(b); err != nil {
		f.t.Fatalf("write to the reader: %v", err)
	}
	if got, err := f.pty.ReadN(1, timeout); err == nil && len(got) == 1 {
		fr.Feedback = got[0]
	}
	f.frames = append(f.frames, fr)
	return fr
}

// drain reads and drops feedback until none came for quiet.
func (f *feeder) drain(quiet time.Duration) {
	for {
		b, err := f.pty.ReadN(1, quiet)
		if err != nil || len(b) == 0 {
			return
		}
	}
}

// stream presents n badges at the given rate (one every `every`), calling
// before(i) before the i-th. It returns how many got no accepted feedback.
func (f *feeder) stream(n int, every time.Duration, timeout time.Duration, before func(i int), after func(fr frame)) {
	f.t.Helper()
	tick := time.NewTicker(every)
	defer tick.Stop()
	for i := range n {
		if before != nil {
			before(i)
		}
		fr := f.scan(timeout)
		if after != nil {
			after(fr)
		}
		<-tick.C
	}
}

func (f *feeder) count(fb byte) int {
	n := 0
	for _, fr := range f.frames {
		if fr.Feedback == fb {
			n++
		}
	}
	return n
}

// ---------------------------------------------------------------- the check

type checkOptions struct {
	ackWait      time.Duration
	wantReview   bool // every event must be marked review (the skewed clock)
	wantAccepted bool // every frame must have been accepted (the agent never failed)
}

// verify waits for the hub's Acks, then compares the agent's outbox with the
// store (through the events API and directly), checks the counts, logs and
// reports the scenario's line. The agent and the hub are stopped at the end.
func verify(t *testing.T, name string, h *hubProc, a *agentProc, f *feeder, o checkOptions) Figures {
	t.Helper()
	if o.ackWait == 0 {
		o.ackWait = 90 * time.Second
	}
	a.waitAcked(o.ackWait)
	epoch, evs := a.events()
	a.stop()

	// The outbox: contiguous seqs from 1, one badge per event, every badge a frame.
	emitted := map[string]bool{}
	badgeOf := map[string]string{}
	byBadge := map[string]int{}
	loc, err := time.LoadLocation(timezone)
	if err != nil {
		t.Fatal(err)
	}
	dates := map[string]bool{}
	for i, e := range evs {
		if e.Seq != uint64(i+1) {
			t.Errorf("outbox: position %d holds seq %d: seqs not contiguous from 1", i, e.Seq)
		}
		emitted[e.ID] = true
		badgeOf[e.ID] = e.Badge
		byBadge[e.Badge]++
		dates[e.At.In(loc).Format(time.DateOnly)] = true
	}
	written := map[string]byte{}
	for _, fr := range f.frames {
		written[fr.Badge] = fr.Feedback
	}
	for b, n := range byBadge {
		fb, ok := written[b]
		switch {
		case !ok:
			t.Errorf("outbox holds badge %s that was never presented", b)
		case n > 1:
			t.Errorf("outbox holds badge %s %d times (one frame each)", b, n)
		case fb == beepRefused:
			t.Errorf("badge %s got the refused feedback but is in the outbox", b)
		}
	}
	confirmed, refused, silent := 0, 0, 0
	for _, fr := range f.frames {
		switch fr.Feedback {
		case beepAccepted:
			confirmed++
			if byBadge[fr.Badge] == 0 {
				t.Errorf("badge %s got the accepted feedback but is not in the outbox", fr.Badge)
			}
		case beepRefused:
			refused++
		default:
			silent++
			if o.wantAccepted {
				t.Errorf("badge %s got no feedback", fr.Badge)
			}
		}
	}

	// The store through the events API, per local day of the events.
	var apiIDs []string
	meals, dups, unknown := 0, 0, 0
	for _, d := range slices.Sorted(maps.Keys(dates)) {
		for _, e := range h.events(a.site, d) {
			apiIDs = append(apiIDs, e.ID)
			if e.Badge != badgeOf[e.ID] && emitted[e.ID] {
				t.Errorf("event %s stored with badge %s, emitted with %s", e.ID, e.Badge, badgeOf[e.ID])
			}
			// Only the skewed clock is checked: an agent on a machine whose clock
			// NTP has not synchronised (as CI containers often are) is rightly
			// marked review too.
			if o.wantReview && !e.Review {
				t.Errorf("event %s (seq %d, at %s): review %t, want %t", e.ID, e.Seq, e.At, e.Review, o.wantReview)
			}
			if e.Kind != "meal" {
				t.Errorf("event %s (badge %s) counted as %q, want meal", e.ID, e.Badge, e.Kind)
			}
		}
		c := h.counts(a.site, d)
		meals += c.Meals
		dups += c.Duplicates
		unknown += c.UnknownBadges
	}
	fig := Compare(emitted, apiIDs)
	if dv := h.device(a.device); dv.Epoch != epoch || dv.StoredThrough != uint64(len(evs)) || len(dv.Missing) != 0 {
		t.Errorf("the hub's sequence accounting: %+v; want epoch %s stored through %d, nothing missing", dv, epoch, len(evs))
	}
	if meals != len(byBadge) || dups != 0 || unknown != 0 {
		t.Errorf("counts API: %d meals, %d duplicates, %d unknown badges; want %d meals (one per child), 0, 0",
			meals, dups, unknown, len(byBadge))
	}
	h.stop()
	direct := Compare(emitted, h.storedIDs(a.site))

	line := fig.Line(name)
	extra := fmt.Sprintf("  frames %d (accepted feedback %d, refused %d, none %d), epoch %s, dates %v, meals counted %d, store read directly: %s",
		len(f.frames), confirmed, refused, silent, epoch, slices.Sorted(maps.Keys(dates)), meals, direct.Line(name))
	t.Log(line)
	t.Log(extra)
	if err := WriteReport(name, line, extra); err != nil {
		t.Errorf("report: %v", err)
	}
	for _, g := range []Figures{fig, direct} {
		if !g.OK() {
			t.Errorf("%s\nlost %v\nduplicated %v\nphantom %v", g.Line(name), head(g.LostIDs), head(g.DuplicatedIDs), head(g.PhantomIDs))
		}
	}
	if len(evs) == 0 {
		t.Errorf("the agent accepted nothing: the scenario proved nothing")
	}
	return fig
}

func head(ids []string) []string {
	if len(ids) > 20 {
		return ids[:20]
	}
	return ids
}
