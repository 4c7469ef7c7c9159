package demo

import (
	"context"
	"strings"
	"testing"
	"time"

	"pointage/hub/counts"
	"pointage/internal/civil"
	"pointage/internal/testenv"
)

// The clock is monotonic, maps the segments both ways and skips weekends.
func TestSimClock(t *testing.T) {
	loc := time.FixedZone("+11", 11*3600)
	sat := civil.Date{Year: 2026, Month: time.November, Day: 28}
	c := newSimClock(DefaultDayLength, loc, sat)
	if c.first.Weekday() != time.Monday {
		t.Fatalf("first day %s is a %s", c.first, c.first.Weekday())
	}
	var el time.Duration
	c.since = func(time.Time) time.Duration { return el }
	c.Start(time.Unix(1, 0))
	prev := c.Now()
	if got := prev.Format("2006-01-02 15:04"); got != "2026-11-30 05:45" {
		t.Fatalf("start %s", got)
	}
	for el = 0; el < 3*DefaultDayLength; el += 700 * time.Millisecond {
		now := c.Now()
		if now.Before(prev) {
			t.Fatalf("clock went back at %s: %s then %s", el, prev, now)
		}
		prev = now
	}
	if rush := c.realOffset(hm(12, 30)) - c.realOffset(hm(11, 0)); rush < 3*time.Minute {
		t.Errorf("canteen rush lasts %s of real time", rush)
	}
	if meals := c.realOffset(hm(11, 0)); meals > time.Minute {
		t.Errorf("meals start after %s", meals)
	}
	if DefaultDayLength < 10*time.Minute {
		t.Errorf("a day lasts %s", DefaultDayLength)
	}
	for _, tod := range []time.Duration{hm(6, 0), hm(11, 20), hm(16, 10)} {
		if got := c.timeOfDay(c.realOffset(tod)); (got - tod).Abs() > time.Second {
			t.Errorf("timeOfDay(realOffset(%s)) = %s", tod, got)
		}
	}
	el = DefaultDayLength * 5 // Monday + 5 school days: the next Monday
	if d := civil.DateOf(c.Now()); d != (civil.Date{Year: 2026, Month: time.December, Day: 7}) {
		t.Errorf("day 5 is %s", d)
	}
}

// The demo plays a school day at three schools through pty readers and
// real agents into the hub, which counts it and acknowledges every scan.
func TestDemoPlaysASchoolDay(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the demo")
	}
	var out testenv.SyncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	started := make(chan *Running, 1)
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Options{MQTTListen: "127.0.0.1:0", Listen: "127.0.0.1:0", DataDir: t.TempDir(), Out: &out,
			Report: 500 * time.Millisecond, DayLength: 8 * time.Second, Days: 1, Children: 50, Staff: 6,
			OnStart: func(r *Running) { started <- r }})
	}()
	var r *Running
	t0 := time.Now()
	select {
	case r = <-started:
	case err := <-done:
		t.Fatalf("Run: %v\n%s", err, out.String())
	case <-time.After(30 * time.Second): // -race on a loaded 2-core machine: bcrypt and agents' start-up take seconds
		t.Fatal("the demo did not start within 30 s")
	}

	startedAfter := time.Since(t0)
	// The demo login of the printed banner works (demo mode only).
	if u, ok := r.Hub.Users().Check(context.Background(), "demo", "demo"); !ok || u.Role != "office" {
		t.Fatalf("demo login: %+v %v", u, ok)
	}
	// The schools are shown by their names (the sites file the demo writes).
	if v, err := r.Hub.State().Names.Site(context.Background(), "riviere-salee"); err != nil || v.Name != "École de Rivière-Salée" {
		t.Errorf("riviere-salee's name: %+v %v", v, err)
	}
	// Wait for the end of the first day and for every agent to have its
	// scans acknowledged.
	deadline := time.Now().Add(25 * time.Second)
	settled := func() bool {
		if !r.DayOver() {
			return false
		}
		for _, a := range r.Agents {
			st, err := a.Status(ctx, "")
			if err != nil || st.OutboxPending != 0 || st.LastSeq == 0 {
				return false
			}
		}
		return true
	}
	for !settled() {
		if time.Now().After(deadline) {
			t.Fatalf("the first day did not settle\n%s", out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	unknown := 0
	for _, site := range r.Sites {
		d, err := r.Hub.Days().Compute(ctx, r.FirstDay, site)
		if err != nil {
			t.Fatal(err)
		}
		res := d.Results[site]
		c := res.Canteen
		t.Logf("%s: meals %d/%d by regime %v, duplicates %d, unknown %d, garderie %+v, staff %d days",
			site, c.Meals, c.Expected, c.ByRegime, c.Duplicates, c.UnknownBadges, res.Garderie, len(res.Detail.Staff))
		if c.Meals < c.Expected/2 || c.Expected == 0 {
			t.Errorf("%s: %d meals for %d expected", site, c.Meals, c.Expected)
		}
		if res.Garderie[counts.SessionMatin].Children == 0 || res.Garderie[counts.SessionSoir].Children == 0 {
			t.Errorf("%s: garderie %+v", site, res.Garderie)
		}
		worked := 0
		for _, sd := range res.Detail.Staff {
			if sd.Worked > 6*time.Hour {
				worked++
			}
		}
		if worked < len(res.Detail.Staff)/2 || len(res.Detail.Staff) == 0 {
			t.Errorf("%s: %d staff with a full day: %+v", site, worked, res.Detail.Staff)
		}
		unknown += c.UnknownBadges
	}
	if unknown == 0 {
		t.Error("no unknown badge listed")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	s := out.String()
	t.Logf("started after %s; output:\n%s", startedAfter, s)
	for _, want := range []string{"MQTT tcp://127.0.0.1:", "utilisateur demo, mot de passe demo", "repas servis", "débranché", "rebranché", "perd le réseau", "réseau rétabli"} {
		if !strings.Contains(s, want) {
			t.Errorf("no %q in the output:\n%s", want, s)
		}
	}
}
