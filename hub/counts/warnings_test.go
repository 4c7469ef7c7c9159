package counts

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"pointage/hub/roster"
	"pointage/internal/civil"
	"pointage/internal/wire"
)

func TestSiteWarnings(t *testing.T) {
	snap := snapshot(t, testDay,
		kid("E1", "0A00000001", site, "standard", "je", 0),
		kid("E2", "0A00000002", site, "standard", "me", 0), // not on Thursdays
		kid("E3", "0A00000003", site, "standard", "je", roster.GarderieSoir))
	tests := []struct {
		name   string
		scans  []Scan
		closed bool
		codes  []string
	}{
		{"nothing wrong", []Scan{canteen("0A00000001", "11:30")}, false, nil},
		{"as many served as enrolled", []Scan{canteen("0A00000001", "11:30"), canteen("0A00000003", "11:31")}, false, nil},
		{"served more than enrolled", []Scan{canteen("0A00000001", "11:30"), canteen("0A00000002", "11:31"), canteen("0A00000003", "11:32")}, false,
			[]string{WarnServedMoreThanEnrolled}},
		{"duplicates and unknown badges are not meals", []Scan{canteen("0A00000001", "11:30"), canteen("0A00000001", "11:31"), canteen("0A00000003", "11:32"), canteen("FFFF000001", "11:33")}, false, nil},
		{"scans on a closed day", []Scan{garderie("0A00000003", "15:30")}, true, []string{WarnScansOnClosedDay}},
		{"a closed day without scans", nil, true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := Compute(Input{Site: site, Day: testDay, Loc: noumea, Scans: tt.scans, Roster: snap, Closed: tt.closed})
			if res.Warnings == nil {
				t.Fatal("warnings is nil, want [] in JSON")
			}
			var codes []string
			for _, w := range res.Warnings {
				codes = append(codes, w.Code)
				if w.Message == "" {
					t.Errorf("warning %s has no message", w.Code)
				}
			}
			if !slices.Equal(codes, tt.codes) {
				t.Errorf("warnings %v, want %v", res.Warnings, tt.codes)
			}
		})
	}
}

func TestCrossSiteWarnings(t *testing.T) {
	snap := snapshot(t, testDay,
		kid("E1", "0A00000001", site, "standard", "je", roster.GarderieSoir),
		kid("E2", "0A00000002", site, "standard", "je", 0),
		kid("P1", "0B00000001", other, "standard", "je", 0),
		agent("S1", "0C00000001", site))
	compute := func(s string, day civil.Date, scans ...Scan) Result {
		return Compute(Input{Site: s, Day: day, Loc: noumea, Scans: scans, Roster: snap})
	}
	at2 := func(d civil.Date, hhmm string) time.Time { return local(noumea, d, hhmm) }
	mk := func(service, badge string, d civil.Date, hhmm string) Scan {
		return Scan{ID: service + badge + hhmm + d.String(), Badge: badge, Service: wire.Service(service), Dir: "auto", At: at2(d, hhmm)}
	}
	tomorrow := testDay.AddDays(1)
	results := []Result{
		compute(site, testDay,
			mk("canteen", "0A00000001", testDay, "11:30"),
			mk("canteen", "0A00000002", testDay, "11:30"),
			mk("canteen", "0B00000001", testDay, "11:31"),
			mk("canteen", "0C00000001", testDay, "11:40"),
			voided(mk("canteen", "0A00000001", testDay, "11:50"))),
		compute(other, testDay,
			mk("garderie", "0A00000001", testDay, "16:00"), // E1 at two sites: canteen here, garderie there
			mk("canteen", "0B00000001", testDay, "11:35"),  // P1 at both canteens
			mk("canteen", "0C00000001", testDay, "11:45")), // staff at two sites: normal
		compute("third-site", testDay,
			voided(mk("canteen", "0A00000002", testDay, "11:30")), // voided: not a visit
			mk("canteen", "0B00000001", testDay, "12:00")),
		compute(other, tomorrow, mk("canteen", "0A00000002", tomorrow, "11:30")), // another day
	}
	got := CrossSiteWarnings(results)
	wE1 := Warning{Code: WarnTwoSites, PersonID: "E1", Message: "child E1 was scanned at 2 sites on 2026-11-26: jules-ferry, pierre-loti"}
	wP1 := Warning{Code: WarnTwoSites, PersonID: "P1", Message: "child P1 was scanned at 3 sites on 2026-11-26: jules-ferry, pierre-loti, third-site"}
	want := map[string][]Warning{
		site:         {wE1, wP1},
		other:        {wE1, wP1},
		"third-site": {wP1},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("CrossSiteWarnings\n got %+v\nwant %+v", got, want)
	}
	if len(CrossSiteWarnings(nil)) != 0 || len(CrossSiteWarnings(results[:1])) != 0 {
		t.Error("warnings from a single site")
	}
}

func TestMonth(t *testing.T) {
	snap := snapshot(t, testDay,
		kid("E1", "0A00000001", site, "standard", "lu ma me je ve", roster.GarderieSoir),
		kid("E2", "0A00000002", site, "standard", "me", 0),
		agent("S1", "0C00000001", site), agent("S2", "0C00000002", site))
	days := []civil.Date{testDay, testDay.AddDays(1), testDay.AddDays(5)} // 26 and 27 November, 1 December
	var results []Result
	for i, d := range days {
		l := func(hhmm string) time.Time { return local(noumea, d, hhmm) }
		mk := func(service, badge, hhmm string) Scan {
			return Scan{ID: service + badge + hhmm, Badge: badge, Service: wire.Service(service), Dir: "auto", At: l(hhmm)}
		}
		scans := []Scan{
			mk("canteen", "0A00000001", "11:30"),
			mk("canteen", "0A00000002", "11:31"), // E2 not enrolled those days: occasional
			mk("garderie", "0A00000001", "15:10"),
			mk("staff", "0C00000001", "07:00"),
			mk("staff", "0C00000002", "07:00"),
			mk("staff", "0C00000002", "15:00"),
		}
		if i != 1 {
			scans = append(scans, mk("staff", "0C00000001", "11:00"), mk("garderie", "0A00000001", "17:50"))
		}
		results = append(results, Compute(Input{Site: site, Day: d, Loc: noumea, Scans: scans, Roster: snap}))
	}
	// The same staff at another site on the first day.
	results = append(results, Compute(Input{Site: other, Day: testDay, Loc: noumea, Roster: snap, Scans: []Scan{
		{ID: "o1", Badge: "0C00000001", Service: "staff", Dir: "auto", At: at("16:00")},
		{ID: "o2", Badge: "0C00000001", Service: "staff", Dir: "auto", At: at("18:00")},
	}}))

	staff := StaffMonth(results)
	type srow struct {
		month, id string
		sites     []string
		days      int
		worked    time.Duration
		missing   int
	}
	var gotStaff []srow
	for _, r := range staff {
		gotStaff = append(gotStaff, srow{r.Month, r.PersonID, r.Sites, r.Days, r.Worked, r.MissingClockOuts})
		if r.Person == nil || r.Person.PersonID != r.PersonID {
			t.Errorf("row %s %s has person %v", r.Month, r.PersonID, r.Person)
		}
	}
	wantStaff := []srow{
		{"2026-11", "S1", []string{site, other}, 2, 4*time.Hour + 2*time.Hour, 1},
		{"2026-11", "S2", []string{site}, 2, 16 * time.Hour, 0},
		{"2026-12", "S1", []string{site}, 1, 4 * time.Hour, 0},
		{"2026-12", "S2", []string{site}, 1, 8 * time.Hour, 0},
	}
	slices.Sort(wantStaff[0].sites)
	if !reflect.DeepEqual(gotStaff, wantStaff) {
		t.Errorf("StaffMonth\n got %+v\nwant %+v", gotStaff, wantStaff)
	}

	children := ChildrenMonth(results)
	type crow struct {
		month, id         string
		meals, occasional int
		sessions, late    map[string]int
	}
	var gotChildren []crow
	for _, r := range children {
		gotChildren = append(gotChildren, crow{r.Month, r.PersonID, r.Meals, r.Occasional, r.Sessions, r.Late})
	}
	wantChildren := []crow{
		{"2026-11", "E1", 2, 0, map[string]int{SessionSoir: 2}, map[string]int{SessionSoir: 1}},
		{"2026-11", "E2", 2, 2, map[string]int{}, map[string]int{}},
		{"2026-12", "E1", 1, 0, map[string]int{SessionSoir: 1}, map[string]int{SessionSoir: 1}},
		{"2026-12", "E2", 1, 1, map[string]int{}, map[string]int{}},
	}
	if !reflect.DeepEqual(gotChildren, wantChildren) {
		t.Errorf("ChildrenMonth\n got %+v\nwant %+v", gotChildren, wantChildren)
	}
}
