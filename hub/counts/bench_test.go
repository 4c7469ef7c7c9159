package counts

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"pointage/hub/roster"
	"pointage/internal/wire"
)

// benchDay builds a big school's day: 600 children and 20 staff at the
// site (among the people of the whole city when city is true: 60 sites,
// 10,000 children) and about 2,000 scans.
func benchDay(b *testing.B, city bool) Input {
	regimes := []string{"standard", "standard", "standard", "sans-porc", "vegetarien", "pai"}
	var people []roster.Person
	sites := []string{site}
	if city {
		for i := 1; i < 60; i++ {
			sites = append(sites, fmt.Sprintf("ecole-%02d", i))
		}
	}
	for si, s := range sites {
		n := 600
		if si > 0 {
			n = 9400 / 59
		}
		for i := range n {
			p := kid(fmt.Sprintf("E%02d%04d", si, i), fmt.Sprintf("0A%02X%06X", si, i), s, regimes[i%len(regimes)], "lu ma je ve", roster.GarderieMatin|roster.GarderieSoir)
			people = append(people, p)
		}
		for i := range 20 {
			people = append(people, agent(fmt.Sprintf("S%02d%03d", si, i), fmt.Sprintf("0C%02X%06X", si, i), s))
		}
	}
	snap := snapshot(b, testDay, people...)

	rng := rand.New(rand.NewPCG(1, 2))
	var scans []Scan
	var seq uint64
	add := func(service, badge, dir string, t time.Time) {
		seq++
		scans = append(scans, Scan{ID: fmt.Sprintf("%026d", seq), Device: "jf-" + service, Reader: "r", Seq: seq,
			Badge: badge, Service: wire.Service(service), Dir: wire.Dir(dir), At: t, ReceivedAt: t})
	}
	jitter := func(base string, spread time.Duration) time.Time {
		return at(base).Add(time.Duration(rng.Int64N(int64(spread))))
	}
	for i := range 600 {
		badge := fmt.Sprintf("0A00%06X", i)
		if i < 570 { // a few absent
			t := jitter("11:00", 90*time.Minute)
			add("canteen", badge, "auto", t)
			if i%4 == 0 {
				add("canteen", badge, "auto", t.Add(20*time.Second))
			}
			if i%10 == 0 {
				add("canteen", badge, "auto", t.Add(15*time.Minute))
			}
		}
		if i < 250 { // morning garderie, auto-closed, a few checked out by hand
			add("garderie", badge, "auto", jitter("05:45", 90*time.Minute))
			if i%3 == 0 {
				add("garderie", badge, "out", at("07:25"))
			}
		}
		if i >= 250 { // evening garderie: in, out, some repeats
			in := jitter("15:00", 30*time.Minute)
			add("garderie", badge, "auto", in)
			if i%5 == 0 {
				add("garderie", badge, "auto", in.Add(30*time.Second))
			}
			if i%7 != 0 { // the others are still there
				add("garderie", badge, "auto", in.Add(time.Hour+time.Duration(rng.Int64N(int64(2*time.Hour)))))
			}
		}
	}
	for i := range 20 {
		badge := fmt.Sprintf("0C00%06X", i)
		add("staff", badge, "auto", jitter("06:30", time.Hour))
		add("staff", badge, "auto", jitter("11:00", 30*time.Minute))
		add("staff", badge, "auto", jitter("12:00", 30*time.Minute))
		add("canteen", badge, "auto", jitter("12:30", 30*time.Minute))
		if i%5 != 0 {
			add("staff", badge, "auto", jitter("16:00", time.Hour))
		}
	}
	for i := range 15 {
		add("canteen", fmt.Sprintf("FFFF%06X", i), "auto", jitter("11:00", time.Hour))
	}
	for i := 0; i < len(scans); i += 50 {
		scans[i].Voided = true
	}
	rng.Shuffle(len(scans), func(i, j int) { scans[i], scans[j] = scans[j], scans[i] })
	return Input{Site: site, Day: testDay, Loc: noumea, Scans: scans, Roster: snap, Now: at("17:00"),
		Absent: map[string]bool{"E000595": true, "E000596": true}}
}

func BenchmarkCompute(b *testing.B) {
	for _, city := range []bool{false, true} {
		name := "site-roster"
		if city {
			name = "city-roster-10k"
		}
		b.Run(name, func(b *testing.B) {
			in := benchDay(b, city)
			res := Compute(in)
			if res.Canteen.Meals < 500 || res.Garderie[SessionSoir].Children < 300 {
				b.Fatalf("unexpected figures %+v", res)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				Compute(in)
			}
			b.ReportMetric(float64(len(in.Scans)), "scans")
		})
	}
}

// BenchmarkCityAdd is the cost of one scan folded into the running figures
// (the live counts): per op, one scan of a big school's day, in arrival
// order (shuffled). The figures are rebuilt every len(scans) ops.
func BenchmarkCityAdd(b *testing.B) {
	in := benchDay(b, true)
	scans := in.Scans
	newCity := func() *City {
		return NewCity(in.Day, []string{site}, func(string) Input { x := in; x.Scans = nil; return x })
	}
	city := newCity()
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		if i == len(scans) {
			b.StopTimer()
			city, i = newCity(), 0
			b.StartTimer()
		}
		city.Add(site, scans[i])
		i++
	}
}

// BenchmarkCityResults is reading the running figures of 60 sites: what
// GET /api/v1/counts costs for today, before JSON.
func BenchmarkCityResults(b *testing.B) {
	in := benchDay(b, true)
	var sites []string
	for i := 1; i < 60; i++ {
		sites = append(sites, fmt.Sprintf("ecole-%02d", i))
	}
	city := NewCity(in.Day, append(sites, site), func(s string) Input { x := in; x.Site, x.Scans = s, nil; return x })
	for _, s := range in.Scans {
		city.Add(site, s)
	}
	now := at("17:00")
	b.ReportAllocs()
	for b.Loop() {
		city.Results(now)
	}
}
