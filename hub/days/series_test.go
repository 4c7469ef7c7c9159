package days

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"pointage/hub/corrections"
	"pointage/hub/counts"
	"pointage/hub/days/daystest"
	"pointage/hub/store"
	"pointage/internal/civil"
	"pointage/internal/wire"
)

// Quarter hours follow the site's wall clock: 10:59 in Nouméa is 23:59
// UTC the day before and lands in the 10:45 bucket of the local day.
func TestQuarterHours(t *testing.T) {
	loc := time.FixedZone("Pacific/Noumea", 11*3600)
	scan := func(service string, at time.Time, kind counts.Kind) counts.ScanResult {
		return counts.ScanResult{Scan: counts.Scan{Service: wire.Service(service), At: at}, Kind: kind}
	}
	utc := time.Date(2026, 11, 23, 23, 59, 0, 0, time.UTC) // 10:59 on 24/11 in Nouméa
	got := QuarterHours([]counts.ScanResult{
		scan("canteen", utc, counts.KindMeal),
		scan("canteen", utc.Add(time.Minute), counts.KindDuplicate),  // 11:00: the next bucket, duplicates count
		scan("canteen", utc.Add(-14*time.Minute), counts.KindVoided), // voided: left out
		scan("garderie", time.Date(2026, 11, 24, 6, 0, 0, 0, loc), counts.KindIn),
		scan("garderie", time.Date(2026, 11, 24, 6, 14, 59, 0, loc), counts.KindIn),
		scan("staff", time.Date(2026, 11, 24, 23, 59, 0, 0, loc), counts.KindClockIn),
		scan("staff", time.Date(2026, 11, 25, 0, 1, 0, 0, loc), counts.KindOtherDay), // another day: left out
		scan("laundry", utc, counts.KindIgnored),                                     // not a service of the series
	}, loc)
	want := map[string]map[int]int{
		"canteen":  {10*4 + 3: 1, 11 * 4: 1},
		"garderie": {6 * 4: 2},
		"staff":    {23*4 + 3: 1},
	}
	if len(got) != 3 {
		t.Fatalf("services: %v", got)
	}
	for svc, buckets := range got {
		if len(buckets) != 96 {
			t.Fatalf("%s: %d buckets", svc, len(buckets))
		}
		for i, n := range buckets {
			if n != want[svc][i] {
				t.Errorf("%s bucket %02d:%02d = %d, want %d", svc, i/4, i%4*15, n, want[svc][i])
			}
		}
	}
}

// seriesFixture is a service over a real SQLite store with two children
// at jules-ferry and one at pasteur.
func seriesFixture(t *testing.T, now time.Time) (*Service, store.Store, *corrections.Store) {
	t.Helper()
	env := daystest.New(t, nil)
	st, ros, corr := env.Store, env.Roster, env.Corrections
	env.Import(t, "badge;person_id;role;last_name;first_name;site;class;regime;canteen_days;garderie;family_id\n"+
		"0A00000001;E001;child;Wamytan;Léa;jules-ferry;CP;standard;lu ma me je ve;soir;F12\n"+
		"0A00000002;E002;child;Gowé;Noa;jules-ferry;CE1;sans-porc;lu ma me je ve;;F13\n"+
		"0A00000003;E003;child;Martin;Jade;pasteur;CP;standard;lu ma me je ve;;F14\n", civil.MinDate.AddDays(1))
	svc := New(Options{Store: st, Roster: ros, Corrections: corr, Loc: now.Location(), Now: func() time.Time { return now }})
	return svc, st, corr
}

func seriesEvent(id, site, badge, service string, seq uint64, at time.Time) store.Event {
	return store.Event{ID: id, Site: site, Device: site + "-1", Epoch: "E", Reader: "r", Seq: seq, Badge: badge, Service: wire.Service(service), Dir: "auto", At: at, ReceivedAt: at}
}

func TestDayAndMonthSeries(t *testing.T) {
	ctx := context.Background()
	loc := time.FixedZone("Pacific/Noumea", 11*3600)
	now := time.Date(2026, 11, 4, 12, 0, 0, 0, loc) // Wednesday 4 November
	svc, st, corr := seriesFixture(t, now)
	d := func(day, h, m int) time.Time { return time.Date(2026, 11, day, h, m, 0, 0, loc) }
	err := st.Write(ctx, []store.Event{
		seriesEvent("A", "jules-ferry", "0A00000001", "canteen", 1, d(2, 10, 59)), // Monday: 23:59 UTC on Sunday
		seriesEvent("B", "jules-ferry", "0A00000002", "canteen", 2, d(2, 11, 5)),
		seriesEvent("C", "jules-ferry", "0A00000001", "garderie", 3, d(2, 15, 20)),
		seriesEvent("D", "jules-ferry", "0A00000001", "garderie", 4, d(2, 17, 10)),
		seriesEvent("E", "pasteur", "0A00000003", "canteen", 1, d(2, 11, 7)),
		seriesEvent("F", "jules-ferry", "0A00000002", "canteen", 5, d(3, 11, 30)),
		seriesEvent("G", "jules-ferry", "0A00000001", "canteen", 6, d(5, 11, 30)), // tomorrow: not shown yet
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Warm(ctx); err != nil {
		t.Fatal(err)
	}

	v, err := svc.DaySeries(ctx, civil.Date{Year: 2026, Month: time.November, Day: 2}, "jules-ferry", false)
	if err != nil {
		t.Fatal(err)
	}
	day := v
	if day.Series["canteen"][10*4+3] != 1 || day.Series["canteen"][11*4] != 1 || day.Totals["canteen"] != 2 ||
		day.Series["garderie"][15*4+1] != 1 || day.Series["garderie"][17*4] != 1 || day.Totals["staff"] != 0 {
		t.Fatalf("day series: %+v", day.Totals)
	}
	if day.Buckets[43] != "10:45" || len(day.Buckets) != 96 {
		t.Fatalf("buckets: %v", day.Buckets[40:44])
	}
	v, _ = svc.DaySeries(ctx, civil.Date{Year: 2026, Month: time.November, Day: 2}, "", true)
	if day = v; day.Totals["canteen"] != 3 || len(day.Series) != 1 {
		t.Fatalf("the city's canteen only: %+v", day)
	}

	month := func(site string) string {
		t.Helper()
		v, err := svc.MonthSeries(ctx, civil.Date{Year: 2026, Month: time.November, Day: 1}, site)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, x := range v.Days {
			b, _ := json.Marshal(x)
			out = append(out, string(b))
		}
		return strings.Join(out, "\n")
	}
	want := `{"date":"2026-11-01","meals":0,"staff_meals":0,"expected":0,"closed":false}
{"date":"2026-11-02","meals":2,"staff_meals":0,"expected":2,"closed":false}
{"date":"2026-11-03","meals":1,"staff_meals":0,"expected":2,"closed":false}
{"date":"2026-11-04","meals":0,"staff_meals":0,"expected":2,"closed":false}`
	if got := month("jules-ferry"); got != want {
		t.Fatalf("month:\n%s\nwant\n%s", got, want)
	}
	if got := month(""); !strings.Contains(got, `{"date":"2026-11-02","meals":3,"staff_meals":0,"expected":3,"closed":false}`) {
		t.Fatalf("city month:\n%s", got)
	}

	// Past days are cached; a correction drops them.
	at := d(3, 11, 40)
	if _, err := corr.Add(ctx, corrections.Correction{Kind: corrections.AddScan, Site: "jules-ferry", Day: "2026-11-03", PersonID: "E001",
		Service: "canteen", Dir: "auto", At: &at, User: "u", Reason: "badge oublié"}); err != nil {
		t.Fatal(err)
	}
	svc.Corrected()
	if got := month("jules-ferry"); !strings.Contains(got, `{"date":"2026-11-03","meals":2,`) {
		t.Fatalf("after a correction:\n%s", got)
	}

	// An event arriving late for a past day shows once the day is stale.
	if err := st.Write(ctx, []store.Event{seriesEvent("H", "jules-ferry", "0A00000002", "canteen", 7, d(1, 11, 0))}); err != nil {
		t.Fatal(err)
	}
	if got := month("jules-ferry"); !strings.Contains(got, `{"date":"2026-11-01","meals":0,`) {
		t.Fatalf("a cached day was read again at once:\n%s", got)
	}
	later := now.Add(pastDayTTL)
	svc.Computer.opts.Now = func() time.Time { return later }
	month("jules-ferry") // two stale days a request
	if got := month("jules-ferry"); !strings.Contains(got, `{"date":"2026-11-01","meals":1,`) {
		t.Fatalf("a stale day was not computed again:\n%s", got)
	}

	if _, err := svc.MonthSeries(ctx, civil.Date{Year: 2026, Month: time.November, Day: 1}, "nowhere"); err == nil {
		t.Fatal("an unknown site was accepted")
	}
	if _, err := svc.DaySeries(ctx, civil.Date{Year: 2026, Month: time.November, Day: 2}, "nowhere", false); err == nil {
		t.Fatal("an unknown site was accepted")
	}
	future, _ := svc.MonthSeries(ctx, civil.Date{Year: 2027, Month: time.January, Day: 1}, "")
	if n := len(future.Days); n != 0 {
		t.Fatalf("a month to come has %d days", n)
	}
}

// BenchmarkMonthSeriesSQLite is GET /api/v1/series/month for the whole
// city (60 schools, 21 school days of ~20,000 events, SQLite): cold (no
// past day cached) and warm (every past day cached).
func BenchmarkMonthSeriesSQLite(b *testing.B) {
	st := benchSQLite(b)
	svc := benchCity(b, st, schoolDays())
	first := civil.Date{Year: 2026, Month: time.November, Day: 1}
	b.Run("cold", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			svc.past.mu.Lock()
			clear(svc.past.days)
			svc.past.mu.Unlock()
			v, err := svc.MonthSeries(context.Background(), first, "")
			if err != nil {
				b.Fatal(err)
			}
			if n := len(v.Days); n != 30 {
				b.Fatalf("%d days", n)
			}
		}
	})
	b.Run("warm", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := svc.MonthSeries(context.Background(), first, "ecole-07"); err != nil {
				b.Fatal(err)
			}
		}
	})
}
