package days

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"pointage/hub/corrections"
	"pointage/hub/days/daystest"
	"pointage/hub/export"
	"pointage/hub/store"
	"pointage/internal/civil"
	"pointage/internal/wire"
)

// A month's export reads past days from the day cache, and the cache never
// serves a day whose figures changed: a late event, a correction, a roster
// import, a new hub start. Cached or counted, the file is the same.
func TestDayCache(t *testing.T) {
	ctx := context.Background()
	env := daystest.New(t, nil)
	sqlDB, st, ros, corr := env.DB, env.Store, env.Roster, env.Corrections
	csv := "badge;person_id;role;last_name;first_name;site;class;regime;canteen_days;garderie;family_id\n" +
		"0A00000001;E001;child;Wamytan;Léa;jules-ferry;CP;standard;lu ma me je ve;soir;F12\n" +
		"0A00000002;E002;child;Gowé;Noa;pasteur;CE1;sans-porc;lu;;F13\n" +
		"0A00000009;S001;staff;Dupont;Paul;jules-ferry;;standard;lu ma me je ve;\n"
	imp := func(csv string) { env.Import(t, csv, civil.MinDate.AddDays(1)) }
	imp(csv)
	loc, _ := time.LoadLocation("Pacific/Noumea")
	seq := uint64(0)
	ev := func(site, badge, service string, at time.Time) store.Event {
		seq++
		return store.Event{ID: "ev" + string(rune('a'+seq%26)) + at.Format("0102150405"), Site: site, Device: "d-" + site, Epoch: "E", Reader: "r", Seq: seq,
			Badge: badge, Service: wire.Service(service), Dir: "auto", At: at, ReceivedAt: at}
	}
	var evs []store.Event
	for d := 2; d <= 27; d++ {
		day := time.Date(2026, 11, d, 0, 0, 0, 0, loc)
		if wd := day.Weekday(); wd == time.Saturday || wd == time.Sunday {
			continue
		}
		evs = append(evs, ev("jules-ferry", "0A00000001", "canteen", day.Add(11*time.Hour+30*time.Minute)),
			ev("jules-ferry", "0A00000001", "garderie", day.Add(15*time.Hour+10*time.Minute)),
			ev("jules-ferry", "0A00000001", "garderie", day.Add(17*time.Hour+50*time.Minute)),
			ev("jules-ferry", "0A00000009", "staff", day.Add(7*time.Hour)),
			ev("pasteur", "0A00000002", "canteen", day.Add(11*time.Hour+40*time.Minute)))
	}
	if err := st.Write(ctx, evs); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, loc)
	opts := Options{Store: st, Roster: ros, Corrections: corr, Loc: loc, Now: func() time.Time { return now }, DB: sqlDB, ConfigKey: "k1"}
	svc := New(opts)

	file := func(svc *Service, kind export.Kind, site string) string {
		t.Helper()
		e, err := svc.Export(ctx, kind, "2026-11", site, nil)
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if err := export.WriteTo(&b, export.FormatCSV, e, nil); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	counted := func(want int, what string) {
		t.Helper()
		if got := svc.cacheComputed(); got != want {
			t.Fatalf("%s: %d days counted, want %d", what, got, want)
		}
	}
	fresh := func() *Service { o := opts; o.DB = nil; return New(o) } // no cache: counts every day
	same := func(what string) {
		t.Helper()
		for _, kind := range []export.Kind{export.Meals, export.Garderie, export.Staff} {
			for _, site := range []string{"", "jules-ferry"} {
				if got, want := file(svc, kind, site), file(fresh(), kind, site); got != want {
					t.Fatalf("%s: %s %q from the cache differs from counting:\n got %s\nwant %s", what, kind, site, got, want)
				}
			}
		}
	}

	countsOf := func(svc *Service, day civil.Date, site string) string {
		t.Helper()
		v, err := svc.Counts(ctx, day, site)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(v)
		return string(b)
	}
	sameCounts := func(what string) {
		t.Helper()
		for _, d := range []int{3, 10, 12, 28} {
			day := civil.Date{Year: 2026, Month: time.November, Day: d}
			for _, site := range []string{"", "pasteur"} {
				if got, want := countsOf(svc, day, site), countsOf(fresh(), day, site); got != want {
					t.Fatalf("%s: counts of %s %q from the cache differ:\n got %s\nwant %s", what, day, site, got, want)
				}
			}
		}
	}
	sameCounts("cold")
	sameCounts("warm")
	var n int
	sqlDB.QueryRow(`SELECT count(*) FROM day_counts`).Scan(&n)
	if n != 4 {
		t.Fatalf("%d days of counts cached, want 4", n)
	}
	series := func(svc *Service) string {
		t.Helper()
		v, err := svc.MonthSeries(ctx, civil.Date{Year: 2026, Month: time.November, Day: 1}, "")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(v)
		return string(b)
	}
	if got, want := series(New(opts)), series(fresh()); got != want { // a new service: from the day cache only
		t.Fatalf("the month series from the day cache differs:\n got %s\nwant %s", got, want)
	}

	meals := file(svc, export.Meals, "")
	counted(30, "first export")
	if n := strings.Count(meals, "Wamytan;Léa"); n != 20 {
		t.Fatalf("%d meals of Léa in November, want 20", n)
	}
	same("cold")
	counted(30, "exports again") // every kind and site read from the cache

	// A device catches up: a meal of Saturday 28 November stored now.
	late := ev("pasteur", "0A00000002", "canteen", time.Date(2026, 11, 28, 11, 0, 0, 0, loc)) // a Saturday: occasional
	st.Write(ctx, []store.Event{late})
	svc.Stored([]store.Event{late})
	if m := file(svc, export.Meals, ""); strings.Count(m, "Gowé;Noa") != 21 {
		t.Fatalf("the late meal is missing:\n%s", m)
	}
	counted(31, "after a late event")

	// A correction of 12 November.
	at := time.Date(2026, 11, 12, 11, 45, 0, 0, loc)
	corr.Add(ctx, corrections.Correction{Kind: corrections.AddScan, Site: "pasteur", Day: "2026-11-12", PersonID: "E002", Service: "canteen", Dir: "auto", At: &at, User: "u", Reason: "oubli"})
	file(svc, export.Meals, "")
	counted(32, "after a correction")
	same("after a correction")
	sameCounts("after a late event and a correction")

	// A roster import (Noa's family id changes): every day is counted again.
	imp(strings.Replace(csv, ";F13", ";F99", 1))
	if m := file(svc, export.Meals, "pasteur"); !strings.Contains(m, "F99") || strings.Contains(m, "F13") {
		t.Fatalf("the roster change is not in the export:\n%s", m)
	}
	counted(62, "after a roster import")

	// A new hub start, a new configuration: counted again.
	if err := svc.NewCacheEpoch(ctx); err != nil {
		t.Fatal(err)
	}
	file(svc, export.Staff, "")
	counted(92, "after a new epoch")
	svc.Computer.opts.ConfigKey = "k2"
	file(svc, export.Staff, "")
	counted(122, "after a configuration change")
	same("at the end")
	sameCounts("at the end")
}
