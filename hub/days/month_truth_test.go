package days

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"pointage/hub/corrections"
	"pointage/hub/db"
	"pointage/hub/export"
	"pointage/hub/roster"
	"pointage/hub/store"
	"pointage/hub/store/influxstore"
	"pointage/hub/store/sqlitestore"
	"pointage/internal/civil"
	"pointage/internal/testenv"
	"pointage/internal/wire"
)

// The month truth: a generated month of several schools, each child, staff member
// and school day drawn at random among the cases the counting rules tell apart
// (docs/DESIGN.md §5), with every figure of every site and school day worked out
// by the generator from what it drew, not by the counting code. The store then
// holds the month and the read model must give every figure, on each store, cold
// (read from the check-ins), again from what the store kept of the day (SQLite's
// kept ranges) and in the month's exports.

const (
	truthSites    = 4
	truthChildren = 40 // per site
	truthStaff    = 3
)

// dayTruth is what a site's day must show.
type dayTruth struct {
	meals, duplicates, staffMeals, expected, absent, unexpected, unknown int
	byRegime, expectedByRegime                                           map[string]int
	soirChildren, soirPresent, soirLate, matinChildren                   int
	staffPresent                                                         int
}

// monthTruth is the generated month: its events, and what each site's day and
// the month's exports must show.
type monthTruth struct {
	people   []roster.Person
	events   []store.Event
	days     []civil.Date
	bySite   map[civil.Date]map[string]*dayTruth
	hours    map[string]time.Duration // staff person id -> hours of the month's complete pairs
	missing  map[string]int           // staff person id -> days with a missing clock-out
	occasion int                      // meals billed as occasional in the month
}

func truthBadge(site, i int) string { return fmt.Sprintf("0C%02X%04X", site, i) }

func genMonthTruth(t testing.TB, loc *time.Location, seed uint64) *monthTruth {
	rng := rand.New(rand.NewPCG(seed, 17))
	everyDay, _ := roster.ParseWeekdays("lu ma me je ve")
	noWednesday, _ := roster.ParseWeekdays("lu ma je ve")
	regimes := []string{"standard", "sans-porc", "vegetarien"}
	m := &monthTruth{bySite: map[civil.Date]map[string]*dayTruth{}, hours: map[string]time.Duration{}, missing: map[string]int{}}
	for s := 0; s < truthSites; s++ {
		for i := 0; i < truthChildren+truthStaff; i++ {
			match, err := roster.ParseBadge(truthBadge(s, i))
			if err != nil {
				t.Fatal(err)
			}
			p := roster.Person{PersonID: fmt.Sprintf("T%d%03d", s, i), Role: roster.RoleChild, LastName: fmt.Sprintf("Nom%d", i), FirstName: "Zoé",
				Site: fmt.Sprintf("ecole-%d", s), Class: "CE1", Regime: regimes[i%3], CanteenDays: noWednesday, Match: match}
			if i%4 == 0 {
				p.CanteenDays = everyDay
			}
			if i >= truthChildren {
				p.Role, p.Class, p.CanteenDays = roster.RoleStaff, "", roster.Weekdays(0)
			}
			m.people = append(m.people, p)
		}
	}
	seq := map[int]uint64{}
	add := func(s int, badge string, service wire.Service, at time.Time) {
		seq[s]++
		m.events = append(m.events, store.Event{ID: fmt.Sprintf("01TRUTH%d%012d", s, seq[s]), Site: fmt.Sprintf("ecole-%d", s),
			Device: fmt.Sprintf("boitier-%d", s), Epoch: "E1", Reader: "entree", Seq: seq[s], Badge: badge, Service: service,
			Dir: wire.DirAuto, At: at, ReceivedAt: at.Add(time.Second)})
	}
	for d := (civil.Date{Year: 2026, Month: time.November, Day: 1}); d.Month == time.November; d = d.AddDays(1) {
		wd := d.Time().Weekday()
		if wd == time.Saturday || wd == time.Sunday {
			continue
		}
		m.days = append(m.days, d)
		m.bySite[d] = map[string]*dayTruth{}
		at := func(h, min, sec int) time.Time { return time.Date(d.Year, d.Month, d.Day, h, min, sec, 0, loc) }
		for s := 0; s < truthSites; s++ {
			tr := &dayTruth{byRegime: map[string]int{}, expectedByRegime: map[string]int{}}
			m.bySite[d][fmt.Sprintf("ecole-%d", s)] = tr
			for i := 0; i < truthChildren; i++ {
				p := m.people[s*(truthChildren+truthStaff)+i]
				b := p.Match.Badge
				enrolled := p.CanteenDays.Has(wd)
				if enrolled {
					tr.expected++
					tr.expectedByRegime[p.Regime]++
				}
				// The canteen: absent, served once, served twice.
				switch r := rng.Float64(); {
				case enrolled && r < 0.15, !enrolled && r < 0.9:
					if enrolled {
						tr.absent++
					}
				default:
					add(s, b, wire.ServiceCanteen, at(11, i%50, 7))
					tr.meals++
					tr.byRegime[p.Regime]++
					if !enrolled {
						tr.unexpected++
						m.occasion++
					}
					if rng.Float64() < 0.07 {
						add(s, b, wire.ServiceCanteen, at(12, 10, i%60))
						tr.duplicates++
					}
				}
				// The morning garderie (auto_close): in, sometimes out before class.
				if rng.Float64() < 0.2 {
					add(s, b, wire.ServiceGarderie, at(6, 30+i%20, 0))
					if rng.Float64() < 0.5 {
						add(s, b, wire.ServiceGarderie, at(7, 15, i%60))
					}
					tr.matinChildren++
				}
				// The evening garderie: in, then out in time, out late, a
				// duplicate and out, or never out.
				if rng.Float64() < 0.4 {
					tr.soirChildren++
					add(s, b, wire.ServiceGarderie, at(15, 5, i))
					switch r := rng.Float64(); {
					case r < 0.6:
						add(s, b, wire.ServiceGarderie, at(16, 30+i%15, 0))
					case r < 0.8:
						add(s, b, wire.ServiceGarderie, at(17, 50+i%8, 0))
						tr.soirLate++
					case r < 0.9:
						add(s, b, wire.ServiceGarderie, at(15, 6, i)) // a minute later: a duplicate
						add(s, b, wire.ServiceGarderie, at(17, 0, i))
					default:
						tr.soirPresent++
					}
				}
			}
			// Badges not in the roster at the canteen, one of them twice.
			for u := 0; u < (d.Day+s)%3; u++ {
				badge := fmt.Sprintf("0D%02X%02X%02X", s, d.Day, u)
				add(s, badge, wire.ServiceCanteen, at(11, 30, u))
				if u == 0 {
					add(s, badge, wire.ServiceCanteen, at(11, 31, u))
				}
				tr.unknown++
			}
			// Staff: a full day (two pairs), a forgotten clock-out, or away; some eat.
			for i := truthChildren; i < truthChildren+truthStaff; i++ {
				p := m.people[s*(truthChildren+truthStaff)+i]
				switch r := rng.Float64(); {
				case r < 0.8:
					for _, hm := range [][2]int{{7, 0}, {11, 30}, {12, 30}, {16, 0}} {
						add(s, p.Match.Badge, wire.ServiceStaff, at(hm[0], hm[1], i))
					}
					m.hours[p.PersonID] += 8 * time.Hour
				case r < 0.9:
					add(s, p.Match.Badge, wire.ServiceStaff, at(7, 0, i))
					tr.staffPresent++
					m.missing[p.PersonID]++
				}
				if rng.Float64() < 0.5 {
					add(s, p.Match.Badge, wire.ServiceCanteen, at(11, 45, i))
					tr.staffMeals++
				}
			}
		}
	}
	rng.Shuffle(len(m.events), func(i, j int) { m.events[i], m.events[j] = m.events[j], m.events[i] })
	return m
}

// truthService fills st with the month (in batches, shuffled, a tenth of it
// written twice, as agents publish again) and returns a read model on it.
func truthService(t *testing.T, st store.Store, m *monthTruth, loc *time.Location, withDB bool) (*Service, *roster.Roster) {
	ctx := context.Background()
	sqlDB, err := db.OpenMigrated(ctx, filepath.Join(t.TempDir(), "hub.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sqlDB.Close() })
	ros, err := roster.New(ctx, sqlDB)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ros.Import(ctx, m.people, civil.Date{Year: 2026, Month: time.October, Day: 1}, nil); err != nil {
		t.Fatal(err)
	}
	corr, err := corrections.New(ctx, sqlDB, nil)
	if err != nil {
		t.Fatal(err)
	}
	opts := Options{Store: st, Roster: ros, Corrections: corr, Loc: loc, Now: func() time.Time { return time.Date(2026, 12, 2, 9, 0, 0, 0, loc) }}
	if withDB {
		opts.DB = sqlDB
	}
	return New(opts), ros
}

func writeTruth(t *testing.T, st store.Store, m *monthTruth) {
	writeEvents(t, st, m.events)
	writeEvents(t, st, m.events[:len(m.events)/10]) // redeliveries
}

func writeEvents(t *testing.T, st store.Store, evs []store.Event) {
	for i := 0; i < len(evs); i += 2000 {
		if err := st.Write(context.Background(), evs[i:min(i+2000, len(evs))]); err != nil {
			t.Fatal(err)
		}
	}
}

func nonZero(m map[string]int) map[string]int {
	out := map[string]int{}
	for k, v := range m {
		if v != 0 {
			out[k] = v
		}
	}
	return out
}

// checkDays compares every figure of every site and school day with the truth.
func checkDays(t *testing.T, how string, svc *Service, m *monthTruth) {
	t.Helper()
	ctx := context.Background()
	figures := 0
	for _, d := range m.days {
		v, err := svc.Counts(ctx, d, "")
		if err != nil {
			t.Fatalf("%s: %s: %v", how, d, err)
		}
		if len(v.Sites) != truthSites {
			t.Fatalf("%s: %s: %d sites, want %d", how, d, len(v.Sites), truthSites)
		}
		for _, r := range v.Sites {
			tr := m.bySite[d][r.Site]
			if tr == nil {
				t.Fatalf("%s: %s: a site %q the month does not have", how, d, r.Site)
			}
			c, soir, matin := r.Canteen, r.Garderie["garderie-soir"], r.Garderie["garderie-matin"]
			late := -1
			if soir.Late != nil {
				late = *soir.Late
			}
			got := []int{c.Meals, c.Duplicates, c.StaffMeals, c.Expected, c.Absent, c.Unexpected, c.UnknownBadges,
				soir.Children, soir.Present, late, matin.Children, matin.Present, r.Staff.Present}
			want := []int{tr.meals, tr.duplicates, tr.staffMeals, tr.expected, tr.absent, tr.unexpected, tr.unknown,
				tr.soirChildren, tr.soirPresent, tr.soirLate, tr.matinChildren, 0, tr.staffPresent}
			names := []string{"meals", "duplicates", "staff_meals", "expected", "absent", "unexpected", "unknown_badges",
				"soir children", "soir present", "soir late", "matin children", "matin present", "staff present"}
			for k := range got {
				if got[k] != want[k] {
					t.Errorf("%s: %s %s: %s = %d, want %d", how, d, r.Site, names[k], got[k], want[k])
				}
			}
			if !maps.Equal(nonZero(c.ByRegime), nonZero(tr.byRegime)) || !maps.Equal(nonZero(c.ExpectedByRegime), nonZero(tr.expectedByRegime)) {
				t.Errorf("%s: %s %s: by_regime %v expected_by_regime %v, want %v and %v", how, d, r.Site, c.ByRegime, c.ExpectedByRegime, tr.byRegime, tr.expectedByRegime)
			}
			figures += len(got) + 2
		}
	}
	t.Logf("%s: %d figures of %d school days alike", how, figures, len(m.days))
}

// checkExports compares the month's meal and staff exports with the truth.
func checkExports(t *testing.T, svc *Service, m *monthTruth) {
	t.Helper()
	ctx := context.Background()
	e, err := svc.Export(ctx, export.Meals, "2026-11", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	meals, occasional := 0, 0
	for _, d := range m.days {
		for _, tr := range m.bySite[d] {
			meals += tr.meals
		}
	}
	for _, r := range e.Meals {
		if r.Status == export.StatusOccasional {
			occasional++
		}
	}
	if len(e.Meals) != meals || occasional != m.occasion {
		t.Errorf("meal export: %d rows, %d occasional; want %d and %d", len(e.Meals), occasional, meals, m.occasion)
	}
	s, err := svc.Export(ctx, export.Staff, "2026-11", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	hours, missing := map[string]time.Duration{}, map[string]int{}
	for _, r := range s.Staff {
		hours[r.PersonID] += r.Hours
		for _, f := range r.Flags {
			if f == export.FlagMissingClockOut {
				missing[r.PersonID]++
			}
		}
	}
	if !maps.Equal(hours, nonZeroHours(m.hours)) || !maps.Equal(missing, m.missing) {
		t.Errorf("staff export: hours %v, missing clock-outs %v; want %v and %v", hours, missing, m.hours, m.missing)
	}
}

func nonZeroHours(m map[string]time.Duration) map[string]time.Duration {
	out := map[string]time.Duration{}
	for k, v := range m {
		if v != 0 {
			out[k] = v
		}
	}
	return out
}

func truthLoc(t *testing.T) *time.Location {
	loc, err := time.LoadLocation("Pacific/Noumea")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestMonthTruthSQLite(t *testing.T) {
	loc := truthLoc(t)
	m := genMonthTruth(t, loc, 2026)
	st, err := sqlitestore.Open(context.Background(), filepath.Join(t.TempDir(), "checkins.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	writeTruth(t, st, m)
	svc, _ := truthService(t, st, m, loc, true)
	checkDays(t, "cold, from the check-ins", svc, m)
	checkExports(t, svc, m)
	// A read model without hub.db's day cache, on the same store: every day
	// from what the store kept of it.
	again, _ := truthService(t, st, m, loc, false)
	checkDays(t, "from the kept ranges", again, m)
	checkExports(t, again, m)

	// Late events: a tenth of the month arrives after every day was read (and
	// kept), and joins the kept days.
	late, err := sqlitestore.Open(context.Background(), filepath.Join(t.TempDir(), "checkins.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { late.Close() })
	cut := len(m.events) * 9 / 10
	writeEvents(t, late, m.events[:cut])
	before, _ := truthService(t, late, m, loc, false)
	for _, d := range m.days {
		if _, err := before.Counts(context.Background(), d, ""); err != nil {
			t.Fatal(err)
		}
	}
	writeEvents(t, late, m.events[cut:])
	writeEvents(t, late, m.events[:len(m.events)/10])
	after, _ := truthService(t, late, m, loc, false)
	checkDays(t, "late events merged into the kept ranges", after, m)
	checkExports(t, after, m)
}

func TestMonthTruthInfluxDB(t *testing.T) {
	loc := truthLoc(t)
	m := genMonthTruth(t, loc, 2027)
	influx := testenv.Influxd(t)
	st, err := influxstore.Open(context.Background(), influxstore.Options{URL: influx.URL(), Bucket: "truth/autogen"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	writeTruth(t, st, m)
	svc, _ := truthService(t, st, m, loc, true)
	checkDays(t, "from influxd", svc, m)
	checkExports(t, svc, m)
}
