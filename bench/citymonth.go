package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"pointage/internal/testenv"
	"pointage/internal/wire"
)

// The city-month footprint (issue 17): the whole city's last month published through a
// real mosquitto into a hub (SQLite or influxd), then every school day's counts read
// once, then the month's meal export as XLSX through the API, with the hub's resident
// set sampled every 100 ms during each step.

const (
	cmSchools  = 60
	cmChildren = 160 // per school
	cmStaff    = 6   // per school
)

// cityStep is one step of the scenario and the hub's memory during it.
type cityStep struct {
	Name     string
	Took     time.Duration
	PeakRSS  float64 // KiB, the largest sample during the step
	AfterRSS float64 // KiB, at its end
	Runtime  string  // the Go runtime's view at its end (goRuntime)
}

// goRuntime is what the hub's /metrics says of its Go runtime: goroutines, heap in
// use, stacks, and memory the runtime holds but does not use (idle, not yet returned).
func goRuntime(base string) string {
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	v := map[string]float64{}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) == 2 && !strings.HasPrefix(line, "#") {
			var x float64
			fmt.Sscan(f[1], &x)
			v[f[0]] = x
		}
	}
	mib := func(k string) float64 { return v[k] / (1 << 20) }
	return fmt.Sprintf("%.0f goroutines, heap in use %.0f MiB, stacks %.0f MiB, heap idle %.0f MiB of which returned %.0f MiB",
		v["go_goroutines"], mib("go_memstats_heap_inuse_bytes"), mib("go_memstats_stack_inuse_bytes"),
		mib("go_memstats_heap_idle_bytes"), mib("go_memstats_heap_released_bytes"))
}

// cityMonth is one run of the scenario on one store.
type cityMonth struct {
	Store    string
	Events   int
	Month    string
	Steps    []cityStep
	PeakRSS  float64    // KiB, VmHWM at the end: the whole run's peak
	Offline  []cityStep // the month's export by the command line, the hub stopped
	Failures []string
}

// cityLoad is a month of check-ins of cmSchools schools, one device each, every
// device with the same number (watchAcks waits for the same seq on each): each child
// at the canteen every school day, a third also at the evening garderie (in, out),
// each staff member in and out twice.
func cityLoad(month time.Time) (*load, []string) {
	var days []string
	l := &load{devices: cmSchools}
	for s := 0; s < cmSchools; s++ {
		site, dev := fmt.Sprintf("ecole-%02d", s+1), fmt.Sprintf("ec%02d-boitier", s+1)
		l.sites, l.names = append(l.sites, site), append(l.names, dev)
		l.topics = append(l.topics, wire.DeviceTopic("", site, dev, wire.KindCheckIn))
		var ps [][]byte
		var cs []wire.CheckIn
		seq := uint64(0)
		add := func(badge string, service wire.Service, at time.Time) {
			seq++
			c := wire.CheckIn{V: 1, ID: fmt.Sprintf("01CITY%02d%018d", s+1, seq), Site: site, Device: dev, Epoch: "E1",
				Reader: "entree", Seq: seq, Badge: badge, Service: service, Dir: wire.DirAuto, At: at.Format(wire.AtLayout)}
			b, err := wire.Encode(c)
			if err != nil {
				panic(err)
			}
			ps, cs = append(ps, b), append(cs, c)
		}
		for d := month; d.Month() == month.Month(); d = d.AddDate(0, 0, 1) {
			if wd := d.Weekday(); wd == time.Saturday || wd == time.Sunday {
				continue
			}
			if s == 0 {
				days = append(days, d.Format("2006-01-02"))
			}
			for i := 0; i < cmChildren; i++ {
				add(cmBadge(s, i), wire.ServiceCanteen, d.Add(11*time.Hour+time.Duration(i)*4*time.Second))
				if i%3 == 0 {
					add(cmBadge(s, i), wire.ServiceGarderie, d.Add(15*time.Hour+time.Duration(i)*time.Second))
					add(cmBadge(s, i), wire.ServiceGarderie, d.Add(17*time.Hour+time.Duration(i)*time.Second))
				}
			}
			for i := cmChildren; i < cmChildren+cmStaff; i++ {
				for _, h := range []time.Duration{7, 11, 12, 16} {
					add(cmBadge(s, i), wire.ServiceStaff, d.Add(h*time.Hour+time.Duration(i)*time.Second))
				}
			}
		}
		l.payloads, l.checkins = append(l.payloads, ps), append(l.checkins, cs)
		l.perDevice = len(ps)
	}
	return l, days
}

func cmBadge(school, i int) string { return fmt.Sprintf("0A%02X%06X", school+1, i+1) }

// cityRoster writes the roster CSV of cityLoad's people.
func cityRoster(path string) error {
	var b strings.Builder
	b.WriteString("badge;person_id;role;last_name;first_name;site;class;regime;canteen_days;garderie;card_number;family_id\n")
	regimes := []string{"standard", "sans-porc", "vegetarien"}
	for s := 0; s < cmSchools; s++ {
		for i := 0; i < cmChildren+cmStaff; i++ {
			role, class, garderie := "child", "CP", "soir"
			if i >= cmChildren {
				role, class, garderie = "staff", "", ""
			}
			fmt.Fprintf(&b, "%s;P%02d%04d;%s;Nom%d;Prénom;ecole-%02d;%s;%s;lu ma je ve;%s;;\n",
				cmBadge(s, i), s+1, i+1, role, i, s+1, class, regimes[i%3], garderie)
		}
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

// keepHeapProfile saves the hub's heap profile to path (a failure is logged).
func keepHeapProfile(path, base string) {
	resp, err := http.Get(base + "/debug/pprof/heap")
	if err == nil {
		defer resp.Body.Close()
		var b []byte
		if b, err = io.ReadAll(resp.Body); err == nil {
			err = os.WriteFile(path, b, 0o644)
		}
	}
	if err != nil {
		logf("   heap profile %s: %v", path, err)
	}
}

// rssSampler keeps the largest resident set of a process since the last mark.
type rssSampler struct {
	mu   sync.Mutex
	peak float64
	stop chan struct{}
}

func sampleRSS(pid int) *rssSampler {
	s := &rssSampler{stop: make(chan struct{})}
	go func() {
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-s.stop:
				return
			case <-tick.C:
				v := procRSS(pid)
				s.mu.Lock()
				s.peak = max(s.peak, v)
				s.mu.Unlock()
			}
		}
	}()
	return s
}

// mark returns the peak since the previous mark and starts a new one.
func (s *rssSampler) mark() float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.peak
	s.peak = 0
	return p
}

// cityMonthRun runs the scenario on SQLite (influx nil) or influxd.
func cityMonthRun(t *tb, hubBin string, influx *testenv.InfluxdServer) cityMonth {
	loc, err := time.LoadLocation("Pacific/Noumea")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().In(loc)
	month := time.Date(now.Year(), now.Month()-1, 1, 0, 0, 0, 0, loc)
	l, days := cityLoad(month)
	res := cityMonth{Store: "SQLite", Events: l.total(), Month: month.Format("2006-01")}
	data := t.TempDir()
	csv := filepath.Join(t.TempDir(), "roster.csv")
	if err := cityRoster(csv); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(hubBin, "roster", "import", "--data-dir", data, "--from", month.AddDate(0, -1, 0).Format("2006-01-02"), csv).CombinedOutput(); err != nil {
		t.Fatalf("roster import: %v\n%s", err, out)
	}
	broker := benchBroker(t)
	extra := []string{"--data-dir", data}
	if influx != nil {
		res.Store = "InfluxDB 1.8"
		if _, err := influx.Query(`CREATE DATABASE "pointage"`); err != nil {
			t.Fatal(err)
		}
		extra = append(extra, "--influx-url", influx.URL(), "--influx-bucket", "pointage/autogen")
	}
	started := time.Now()
	// POINTAGE_BENCH_HEAPDIR=dir keeps the hub's heap profile at the end of each
	// step (go tool pprof -sample_index=inuse_space|alloc_space FILE).
	heapDir, pprofAddr := os.Getenv("POINTAGE_BENCH_HEAPDIR"), ""
	var env []string
	if heapDir != "" {
		pprofAddr = fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
		env = []string{"POINTAGE_PPROF=" + pprofAddr}
		logf("   hub profiles on http://%s/debug/pprof/, heap profiles kept in %s", pprofAddr, heapDir)
	}
	h := startHubEnv(t, env, hubBin, broker.URL(), extra...)
	rss := sampleRSS(h.pid)
	defer close(rss.stop)
	step := func(name string, since time.Time) {
		time.Sleep(150 * time.Millisecond) // one more sample after the step
		st := cityStep{Name: name, Took: time.Since(since), PeakRSS: rss.mark(), AfterRSS: procRSS(h.pid), Runtime: goRuntime(h.http)}
		res.Steps = append(res.Steps, st)
		if heapDir != "" {
			keepHeapProfile(filepath.Join(heapDir, fmt.Sprintf("%s-%d.heap", strings.Fields(res.Store)[0], len(res.Steps))), "http://"+pprofAddr)
		}
		logf("   %s %s: %s, peak %.0f MiB, after %.0f MiB (%s)", res.Store, name, st.Took.Round(time.Millisecond), st.PeakRSS/1024, st.AfterRSS/1024, st.Runtime)
	}
	step("start (roster of 9,960 people)", started)

	t0 := time.Now()
	w := watchAcks(t, broker.URL(), uint64(l.perDevice), l.names)
	publishAll(t, broker.URL(), l, 1000)
	select {
	case <-w.done:
	case <-time.After(600 * time.Second):
		t.Fatalf("city month: Acks cover %d of %d check-ins after 600 s", w.stored(), l.total())
	}
	step(fmt.Sprintf("ingest of the month (%s check-ins)", commas(int64(l.total()))), t0)
	// The hub holds back the broker's connection while its ingest queue is full
	// (link Inline): it must not have lost it (paho's keep-alive) meanwhile.
	if f, ok := h.cmd.Stdout.(*os.File); ok {
		if b, err := os.ReadFile(f.Name()); err == nil && strings.Contains(string(b), "mqtt connection lost") {
			res.Failures = append(res.Failures, "the hub lost its broker connection during the ingest (see its log)")
		}
	}

	get := func(path string) (int, int64) {
		resp, err := http.Get(h.http + path)
		if err != nil {
			res.Failures = append(res.Failures, fmt.Sprintf("%s: %v", path, err))
			return 0, 0
		}
		defer resp.Body.Close()
		n, _ := io.Copy(io.Discard, resp.Body)
		if resp.StatusCode != 200 {
			res.Failures = append(res.Failures, fmt.Sprintf("%s: %d", path, resp.StatusCode))
		}
		return resp.StatusCode, n
	}
	t0 = time.Now()
	for _, d := range days {
		get("/api/v1/counts?date=" + d)
	}
	step(fmt.Sprintf("counts of the %d school days, each once", len(days)), t0)

	t0 = time.Now()
	_, n := get("/api/v1/export?kind=meals&month=" + res.Month + "&format=xlsx")
	step(fmt.Sprintf("meal export of the month, XLSX (%.1f MB)", float64(n)/1e6), t0)

	t0 = time.Now()
	time.Sleep(30 * time.Second)
	step("30 s idle after the export", t0)
	res.PeakRSS = procPeakRSS(h.pid)

	// The same month exported offline (`pointage-hub export`, the hub stopped), with
	// the command's peak RSS: its VmHWM read every 10 ms while it runs (not rusage's
	// ru_maxrss, which keeps the bench's own peak: exec records the vforked parent's).
	h.cmd.Process.Signal(syscall.SIGTERM)
	h.cmd.Wait()
	for _, format := range []string{"xlsx", "csv"} {
		args := append([]string{"export", "meals", "--month", res.Month, "--format", format, "--out", filepath.Join(t.TempDir(), "meals."+format)}, extra...)
		cmd := exec.Command(hubBin, args...)
		var outBuf strings.Builder
		cmd.Stdout, cmd.Stderr = &outBuf, &outBuf
		t0 := time.Now()
		err := cmd.Start()
		peak := 0.0
		if err == nil {
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			tick := time.NewTicker(10 * time.Millisecond)
		wait:
			for {
				select {
				case err = <-exited:
					break wait
				case <-tick.C:
					peak = max(peak, procPeakRSS(cmd.Process.Pid))
				}
			}
			tick.Stop()
		}
		took := time.Since(t0)
		out := outBuf.String()
		if err != nil {
			res.Failures = append(res.Failures, fmt.Sprintf("export meals --format %s: %v: %s", format, err, out))
			continue
		}
		res.Offline = append(res.Offline, cityStep{Name: "`export meals --month " + res.Month + " --format " + format + "`", Took: took, PeakRSS: peak})
		logf("   %s offline export %s: %s, peak %.0f MiB", res.Store, format, took.Round(time.Millisecond), peak/1024)
	}
	return res
}

func (r *report) cityMonthSection(w writer) {
	if len(r.cityMonth) == 0 {
		return
	}
	w("### City month: the hub's memory")
	w("")
	m := r.cityMonth[0]
	w("A generated month (%s, %d schools x %d children and %d staff, one device each) published", m.Month, cmSchools, cmChildren, cmStaff)
	w("through a real mosquitto into a fresh hub (`--mqtt-url`, roster imported first), then every")
	w("school day's `/api/v1/counts?date=` read once, then `/api/v1/export?kind=meals&format=xlsx`")
	w("for the month, then 30 s idle. The hub's RSS is sampled every 100 ms; *peak* is the largest")
	w("sample of the step, *after* the RSS at its end; the run's peak is the kernel's high-water")
	w("mark (VmHWM). Goal (issue 17): under 300 MB through the whole run, on both stores.")
	w("")
	w("| store | step | took | peak RSS | RSS after | the Go runtime at the end (`/metrics`) |")
	w("|---|---|---|---|---|---|")
	for _, m := range r.cityMonth {
		for _, s := range m.Steps {
			w("| %s | %s | %s | %.0f MiB | %.0f MiB | %s |", m.Store, s.Name, s.Took.Round(100*time.Millisecond), s.PeakRSS/1024, s.AfterRSS/1024, s.Runtime)
		}
		w("| %s | **whole run (%s check-ins)** | | **%.0f MiB** (%s) | | |", m.Store, commas(int64(m.Events)), m.PeakRSS/1024, metOrMissed(m.PeakRSS*1024 < 300e6))
		for _, s := range m.Offline {
			w("| %s | offline, the hub stopped: %s | %s | %.0f MiB | | (the command's own process) |", m.Store, s.Name, s.Took.Round(100*time.Millisecond), s.PeakRSS/1024)
		}
		if len(m.Failures) > 0 {
			w("| %s | requests that failed: %s | | | | |", m.Store, strings.Join(m.Failures, "; "))
		}
	}
	w("")
}
