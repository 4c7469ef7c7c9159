package main

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"pointage/hub/store"
	"pointage/hub/store/influxstore"
	"pointage/hub/store/sqlitestore"
	"pointage/internal/testenv"
	"pointage/internal/wire"
)

// The hub's start with a school year of data (issue 17): the city's last ten months of
// check-ins (as cityLoad's, every school day) written straight into the store, with
// today's morning too, then `pointage-hub run` timed from its start to its first
// healthy /healthz (which answers once today's figures are rebuilt), three times.

type startYear struct {
	Store   string
	Events  int
	Today   int // of them, today's (how many depends on the time of day in Nouméa)
	Runs    []time.Duration
	RSS     float64 // KiB, after the last start
	Failure string
}

// yearEvents writes the ten months before today and today until now into st.
func yearEvents(t *tb, st store.Store, loc *time.Location) (n, today int) {
	ctx := context.Background()
	now := time.Now().In(loc)
	day0 := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, loc)
	first := time.Date(now.Year(), now.Month()-10, 1, 0, 0, 0, 0, loc)
	seq := make([]uint64, cmSchools)
	var batch []store.Event
	flush := func() {
		if err := st.Write(ctx, batch); err != nil {
			t.Fatal(err)
		}
		n += len(batch)
		batch = batch[:0]
	}
	for d := first; !d.After(day0); d = d.AddDate(0, 0, 1) {
		if wd := d.Weekday(); wd == time.Saturday || wd == time.Sunday {
			continue
		}
		for s := 0; s < cmSchools; s++ {
			site, dev := fmt.Sprintf("ecole-%02d", s+1), fmt.Sprintf("ec%02d-boitier", s+1)
			add := func(badge string, service wire.Service, at time.Time) {
				if at.After(now) {
					return
				}
				seq[s]++
				if !at.Before(day0) {
					today++
				}
				batch = append(batch, store.Event{ID: fmt.Sprintf("01YEAR%02d%018d", s+1, seq[s]), Site: site, Device: dev, Epoch: "E1",
					Reader: "entree", Seq: seq[s], Badge: badge, Service: service, Dir: wire.DirAuto, At: at, ReceivedAt: at})
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
		if len(batch) >= 10000 {
			flush()
		}
	}
	if len(batch) > 0 {
		flush()
	}
	return n, today
}

// startYearRun fills a data folder (SQLite, or influxd when influx is set) and times
// the hub's starts on it.
func startYearRun(t *tb, hubBin string, influx *testenv.InfluxdServer) startYear {
	loc, err := time.LoadLocation("Pacific/Noumea")
	if err != nil {
		t.Fatal(err)
	}
	res := startYear{Store: "SQLite"}
	data := t.TempDir()
	csv := filepath.Join(t.TempDir(), "roster.csv")
	if err := cityRoster(csv); err != nil {
		t.Fatal(err)
	}
	from := time.Now().In(loc).AddDate(0, -11, 0).Format("2006-01-02")
	if out, err := exec.Command(hubBin, "roster", "import", "--data-dir", data, "--from", from, csv).CombinedOutput(); err != nil {
		t.Fatalf("roster import: %v\n%s", err, out)
	}
	extra := []string{"--data-dir", data}
	var st store.Store
	t0 := time.Now()
	if influx != nil {
		res.Store = "InfluxDB 1.8"
		if _, err := influx.Query(`CREATE DATABASE "pointage"`); err != nil {
			t.Fatal(err)
		}
		st, err = influxstore.Open(context.Background(), influxstore.Options{URL: influx.URL(), Bucket: "pointage/autogen"})
		extra = append(extra, "--influx-url", influx.URL(), "--influx-bucket", "pointage/autogen")
	} else {
		st, err = sqlitestore.Open(context.Background(), filepath.Join(data, "checkins.db"), nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	res.Events, res.Today = yearEvents(t, st, loc)
	st.Close()
	logf("   %s: %s check-ins of ten months written in %s", res.Store, commas(int64(res.Events)), time.Since(t0).Round(time.Second))
	broker := benchBroker(t)
	for range 3 {
		t0 := time.Now()
		h := startHub(t, hubBin, broker.URL(), extra...)
		res.Runs = append(res.Runs, time.Since(t0))
		res.RSS = procRSS(h.pid)
		h.cmd.Process.Signal(syscall.SIGTERM)
		h.cmd.Wait()
		logf("   %s: the hub healthy %s after its start, RSS %.0f MiB", res.Store, res.Runs[len(res.Runs)-1].Round(time.Millisecond), res.RSS/1024)
	}
	return res
}

func (r *report) startYearSection(w writer) {
	if len(r.startYear) == 0 {
		return
	}
	w("### The hub's start with a school year of data")
	w("")
	w("Ten months of the city month's check-ins (every school day, %d schools x %d children and %d staff) and", cmSchools, cmChildren, cmStaff)
	w("today's until now, written straight into the store, the roster imported; then `pointage-hub run`")
	w("timed from its start to its first healthy `/healthz` (served once today's figures are rebuilt),")
	w("three starts. Goal (issue 17): under 5 s. How many of the check-ins are today's depends on the")
	w("time of day in Nouméa when the bench runs; a whole day of today's is `BenchmarkStartup*` above.")
	w("")
	w("| store | check-ins (today's) | starts | RSS after the last | |")
	w("|---|---|---|---|---|")
	for _, s := range r.startYear {
		var runs []string
		worst := time.Duration(0)
		for _, d := range s.Runs {
			runs = append(runs, d.Round(10*time.Millisecond).String())
			worst = max(worst, d)
		}
		w("| %s | %s (%s) | %v | %.0f MiB | %s |", s.Store, commas(int64(s.Events)), commas(int64(s.Today)), runs, s.RSS/1024, metOrMissed(worst < 5*time.Second))
	}
	w("")
}
