package days

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"pointage/hub/calendar"
	"pointage/hub/days/daystest"
	"pointage/hub/export"
	"pointage/hub/store"
	"pointage/internal/civil"
	"pointage/internal/wire"
)

// A closed day added or removed while the hub runs (the dashboard's,
// calendar.Store) applies to every figure at the next request, with no
// other signal than the calendar's stamp: today's running figures, a past
// day's counts cached in hub.db, the month series, the export rows (only
// the days it covers are counted again).
func TestClosedDayAppliesAtOnce(t *testing.T) {
	ctx := context.Background()
	env := daystest.New(t, nil)
	env.Import(t, "badge;person_id;role;last_name;first_name;site;class;regime;canteen_days;garderie\n"+
		"0A00000001;E001;child;Wamytan;Léa;jules-ferry;CP;standard;lu ma me je ve sa di;\n"+
		"0A00000002;E002;child;Gowé;Noa;pasteur;CE1;standard;lu ma me je ve sa di;\n", civil.MinDate.AddDays(1))
	loc, _ := time.LoadLocation("Pacific/Noumea")
	past, today := civil.Date{Year: 2026, Month: time.November, Day: 24}, civil.Date{Year: 2026, Month: time.December, Day: 3}
	var evs []store.Event
	for i, d := range []civil.Date{past, today} {
		for j, site := range []string{"jules-ferry", "pasteur"} {
			at := d.In(loc).Add(11*time.Hour + time.Duration(j)*time.Minute)
			evs = append(evs, store.Event{ID: fmt.Sprintf("ev%d%d", i, j), Site: site, Device: "d-" + site, Epoch: "E", Reader: "r",
				Seq: uint64(i + 1), Badge: fmt.Sprintf("0A0000000%d", j+1), Service: wire.Service("canteen"), Dir: "auto", At: at, ReceivedAt: at})
		}
	}
	if err := env.Store.Write(ctx, evs); err != nil {
		t.Fatal(err)
	}
	cal, err := calendar.Open(ctx, calendar.Options{DB: env.DB}) // no Changed: the stamps alone must do
	if err != nil {
		t.Fatal(err)
	}
	now := today.In(loc).Add(12 * time.Hour)
	svc := New(Options{Store: env.Store, Roster: env.Roster, Corrections: env.Corrections, Calendar: cal, Loc: loc,
		Now: func() time.Time { return now }, DB: env.DB, ConfigKey: "k"})

	// figures says, per day, what jules-ferry and pasteur expect, from
	// the counts, the month series and (past day) the meals export.
	figures := func(d civil.Date) string {
		t.Helper()
		v, err := svc.Counts(ctx, d, "")
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for _, r := range v.Sites {
			fmt.Fprintf(&b, "%s expected %d", r.Site, r.Canteen.Expected)
			for _, w := range r.Warnings {
				b.WriteString(" " + w.Code)
			}
			b.WriteString("; ")
		}
		series, err := svc.MonthSeries(ctx, civil.Date{Year: d.Year, Month: d.Month, Day: 1}, "jules-ferry")
		if err != nil {
			t.Fatal(err)
		}
		m := series.Days[d.Day-1]
		fmt.Fprintf(&b, "month: expected %d closed %v", m.Expected, m.Closed)
		if d != today {
			e, err := svc.Export(ctx, export.Meals, "2026-11", "jules-ferry", nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range e.Meals {
				if r.Date == d {
					fmt.Fprintf(&b, "; export %s %s", r.PersonID, r.Status)
				}
			}
		}
		return b.String()
	}
	const (
		openPast    = "jules-ferry expected 1; pasteur expected 1; month: expected 1 closed false; export E001 " + export.StatusExpected
		closedPast  = "jules-ferry expected 0 scans_on_closed_day; pasteur expected 1; month: expected 0 closed true; export E001 " + export.StatusOccasional
		openToday   = "jules-ferry expected 1; pasteur expected 1; month: expected 1 closed false"
		closedToday = "jules-ferry expected 0 scans_on_closed_day; pasteur expected 1; month: expected 0 closed true"
	)
	check := func(what string, d civil.Date, want string) {
		t.Helper()
		if got := figures(d); got != want {
			t.Errorf("%s, %s:\n got %s\nwant %s", what, d, got, want)
		}
	}
	check("before", past, openPast)
	check("before", today, openToday)
	check("before, cached", past, openPast)
	computed := svc.cacheComputed()

	strike, err := cal.Add(ctx, calendar.Addition{From: "2026-11-24", To: "2026-11-25", Sites: []string{"jules-ferry"}, Reason: "Grève"}, "marie")
	if err != nil {
		t.Fatal(err)
	}
	check("a strike at jules-ferry", past, closedPast)
	if n := svc.cacheComputed() - computed; n != 2 {
		t.Errorf("the export counted %d days again, want 2 (the strike's)", n)
	}
	check("a strike at jules-ferry (yesterday's), today", today, openToday)
	closure, err := cal.Add(ctx, calendar.Addition{From: "2026-12-03", Sites: []string{"jules-ferry"}, Reason: "Fermeture"}, "marie")
	if err != nil {
		t.Fatal(err)
	}
	check("closed today", today, closedToday)

	for _, e := range []calendar.Entry{strike, closure} {
		if _, err := cal.Remove(ctx, e.ID, "marie"); err != nil {
			t.Fatal(err)
		}
	}
	check("removed", past, openPast)
	check("removed", today, openToday)
}
