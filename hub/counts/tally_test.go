package counts

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"pointage/hub/roster"
	"pointage/internal/wire"
)

// randomDay builds a day of random scans at three sites: known children
// and staff, unknown badges, scans at the wrong service, explicit and auto
// directions, 2-minute repeats, corrections, voided scans, scans outside
// the day, late pick-ups; a closed site and declared absences.
func randomDay(r *rand.Rand, snap *roster.Snapshot, badges []string) (map[string]Input, []string) {
	sites := []string{"a", "b", "c"}
	inputs := map[string]Input{}
	for _, s := range sites {
		in := Input{Site: s, Day: testDay, Loc: noumea, Roster: snap, Closed: s == "c" && r.IntN(2) == 0,
			Absent: map[string]bool{}, ClosedClockOuts: map[string]time.Time{}}
		if r.IntN(2) == 0 {
			in.Absent[fmt.Sprintf("K%02d", r.IntN(12))] = true
		}
		if r.IntN(2) == 0 {
			in.ClosedClockOuts[fmt.Sprintf("T%d", r.IntN(3))] = at("17:00")
		}
		inputs[s] = in
	}
	services := []wire.Service{"canteen", "garderie", "staff", "garderie", "canteen", "bus"}
	dirs := []wire.Dir{"auto", "auto", "auto", "in", "out"}
	n := 20 + r.IntN(120)
	for i := range n {
		site := sites[r.IntN(len(sites))]
		in := inputs[site]
		// Clustered times, so 2-minute repeats and session edges happen.
		base := []string{"05:50", "06:30", "07:25", "07:40", "11:30", "14:40", "15:30", "17:40", "17:50", "23:58"}[r.IntN(10)]
		t := at(base).Add(time.Duration(r.IntN(240)) * time.Second)
		if r.IntN(40) == 0 {
			t = at("00:10").Add(-2 * time.Hour) // the day before
		}
		s := Scan{ID: fmt.Sprintf("e%04d", i), Device: "d-" + site, Reader: "r", Seq: uint64(i + 1),
			Badge: badges[r.IntN(len(badges))], Service: services[r.IntN(len(services))], Dir: dirs[r.IntN(len(dirs))],
			At: t, ReceivedAt: t.Add(time.Second), Review: r.IntN(10) == 0, Voided: r.IntN(15) == 0}
		if r.IntN(12) == 0 { // a correction names the person
			s.Correction, s.PersonID, s.Badge, s.Device = s.ID, fmt.Sprintf("K%02d", r.IntN(14)), "", "correction"
		}
		if r.IntN(8) == 0 { // same instant as another scan: ordered by seq, device, id
			s.At = at("15:30")
		}
		in.Scans = append(in.Scans, s)
		inputs[site] = in
	}
	return inputs, sites
}

func TestCityEqualsCompute(t *testing.T) {
	var people []roster.Person
	var badges []string
	all := []string{"lu ma je ve", "lu ma me je ve", "me", "je"}
	for i := range 12 {
		b := fmt.Sprintf("0A%08d", i)
		g := roster.Garderie(i % 4)
		people = append(people, kid(fmt.Sprintf("K%02d", i), b, []string{"a", "b", "c"}[i%3], []string{"standard", "sans-porc", "pai"}[i%3], all[i%4], g))
		badges = append(badges, b)
	}
	for i := range 3 {
		b := fmt.Sprintf("0C%08d", i)
		people = append(people, agent(fmt.Sprintf("T%d", i), b, []string{"a", "b", "c"}[i]))
		badges = append(badges, b)
	}
	badges = append(badges, "DEADBEEF01", "DEADBEEF02")
	snap := snapshot(t, testDay, people...)

	nows := []time.Time{at("06:20"), at("07:35"), at("12:00"), at("17:50"), at("23:59"), at("23:59").Add(time.Hour), {}}
	for seed := range uint64(400) {
		r := rand.New(rand.NewPCG(seed, 7))
		inputs, sites := randomDay(r, snap, badges)

		// Every scan, shuffled, some delivered twice: out-of-order arrival.
		type arrival struct {
			site string
			s    Scan
		}
		var arrivals []arrival
		for _, site := range sites {
			for _, s := range inputs[site].Scans {
				arrivals = append(arrivals, arrival{site, s})
				if r.IntN(10) == 0 {
					arrivals = append(arrivals, arrival{site, s})
				}
			}
		}
		r.Shuffle(len(arrivals), func(i, j int) { arrivals[i], arrivals[j] = arrivals[j], arrivals[i] })
		city := NewCity(testDay, []string{"a"}, func(site string) Input { in := inputs[site]; in.Scans = nil; return in })
		for _, a := range arrivals {
			city.Add(a.site, a.s)
		}
		city.AddSite("b")
		city.AddSite("c")

		for _, now := range nows {
			var want []Result
			for _, site := range sites {
				in := inputs[site]
				in.Now = now
				want = append(want, Compute(in))
			}
			cross := CrossSiteWarnings(want)
			for i := range want {
				want[i].Warnings = append(want[i].Warnings, cross[want[i].Site]...)
			}
			wantJSON, _ := json.Marshal(want)
			gotJSON, _ := json.Marshal(city.Results(now))
			if string(wantJSON) != string(gotJSON) {
				t.Fatalf("seed %d, now %s: running figures differ from Compute\n got: %s\nwant: %s", seed, now, gotJSON, wantJSON)
			}
		}
	}
}

// TestCityTwoSitesWarning: a child at two sites is warned at both, from
// the second site's first scan.
func TestCityTwoSitesWarning(t *testing.T) {
	snap := snapshot(t, testDay, kid("K1", "0A00000001", "a", "standard", "lu ma me je ve", roster.GarderieSoir))
	city := NewCity(testDay, []string{"a", "b"}, func(site string) Input {
		return Input{Day: testDay, Loc: noumea, Roster: snap}
	})
	city.Add("a", canteen("0A00000001", "11:30"))
	for _, r := range city.Results(at("12:00")) {
		if len(r.Warnings) != 0 {
			t.Fatalf("%s: warnings before the second site: %+v", r.Site, r.Warnings)
		}
	}
	city.Add("b", garderie("0A00000001", "15:10"))
	for _, r := range city.Results(at("16:00")) {
		if len(r.Warnings) != 1 || r.Warnings[0].Code != WarnTwoSites || r.Warnings[0].PersonID != "K1" {
			t.Fatalf("%s: want one %s warning for K1, got %+v", r.Site, WarnTwoSites, r.Warnings)
		}
	}
}
