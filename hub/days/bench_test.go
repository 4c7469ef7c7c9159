package days

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"pointage/hub/backup"
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

const (
	benchSites    = 60
	benchChildren = 170 // per site: 10,200 children
	benchStaff    = 5
)

var benchLoc = time.FixedZone("Pacific/Noumea", 11*3600)

// benchDB is the hub.db of the latest benchCity (for the day cache).
var benchDB *sql.DB

// benchSQLite is a fresh SQLite store, closed when the benchmark ends.
func benchSQLite(b *testing.B) store.Store {
	st, err := sqlitestore.Open(context.Background(), filepath.Join(b.TempDir(), "checkins.db"), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	return st
}

// benchInflux is a store on a fresh influxd 1.8.10, closed when the
// benchmark ends.
func benchInflux(b *testing.B) store.Store {
	influx := testenv.Influxd(b)
	st, err := influxstore.Open(context.Background(), influxstore.Options{URL: influx.URL(), Bucket: "bench/autogen"})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	return st
}

// benchCity fills a roster of 60 schools and, for each given day, about
// 20,000 events: every child at the canteen, a third of them in and out of
// the evening garderie, staff clocking in and out twice.
func benchCity(b *testing.B, st store.Store, days []civil.Date) *Service {
	b.Helper()
	ctx := context.Background()
	sqlDB, err := db.OpenMigrated(ctx, filepath.Join(b.TempDir(), "hub.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { sqlDB.Close() })
	ros, err := roster.New(ctx, sqlDB)
	if err != nil {
		b.Fatal(err)
	}
	corr, err := corrections.New(ctx, sqlDB, nil)
	if err != nil {
		b.Fatal(err)
	}
	days7, _ := roster.ParseWeekdays("lu ma me je ve")
	var people []roster.Person
	badge := func(s, i int) string { return fmt.Sprintf("0A%04X%04X", s, i) }
	for s := 0; s < benchSites; s++ {
		for i := 0; i < benchChildren+benchStaff; i++ {
			m, _ := roster.ParseBadge(badge(s, i))
			p := roster.Person{PersonID: fmt.Sprintf("P%02d%04d", s, i), Role: roster.RoleChild, LastName: "Nom", FirstName: "Prénom",
				Site: fmt.Sprintf("ecole-%02d", s), Class: "CP", Regime: []string{"standard", "sans-porc", "vegetarien"}[i%3],
				CanteenDays: days7, Match: m}
			if i >= benchChildren {
				p.Role, p.Class = roster.RoleStaff, ""
			}
			people = append(people, p)
		}
	}
	if _, err := ros.Import(ctx, people, civil.MinDate.AddDays(1), nil); err != nil {
		b.Fatal(err)
	}
	seq := uint64(0)
	for _, day := range days {
		var evs []store.Event
		add := func(s, i int, service string, at time.Time) {
			seq++
			evs = append(evs, store.Event{ID: fmt.Sprintf("ID%09d", seq), Site: fmt.Sprintf("ecole-%02d", s), Device: fmt.Sprintf("dev-%02d", s),
				Epoch: "E1", Reader: "entree", Seq: seq, Badge: badge(s, i), Service: wire.Service(service), Dir: "auto", At: at, ReceivedAt: at})
		}
		base := day.In(benchLoc)
		for s := 0; s < benchSites; s++ {
			for i := 0; i < benchChildren; i++ {
				add(s, i, "canteen", base.Add(11*time.Hour+time.Duration(i)*5*time.Second))
				if i%3 == 0 {
					add(s, i, "garderie", base.Add(15*time.Hour+time.Duration(i)*time.Second))
					add(s, i, "garderie", base.Add(17*time.Hour+time.Duration(i)*time.Second))
				}
			}
			for i := benchChildren; i < benchChildren+benchStaff; i++ {
				for _, h := range []time.Duration{7, 11, 12, 16} {
					add(s, i, "staff", base.Add(h*time.Hour+time.Duration(i)*time.Second))
				}
			}
		}
		for i := 0; i < len(evs); i += 5000 {
			if err := st.Write(ctx, evs[i:min(i+5000, len(evs))]); err != nil {
				b.Fatal(err)
			}
		}
	}
	benchDB = sqlDB
	return New(Options{Store: st, Roster: ros, Corrections: corr, Loc: benchLoc, Now: func() time.Time { return time.Date(2026, 12, 1, 12, 0, 0, 0, benchLoc) }})
}

var benchDay = civil.Date{Year: 2026, Month: time.November, Day: 24}

// benchCounts measures a past day's figures computed cold: what the first request
// after a change of its figures costs (the caches serve the next ones until they
// change again). lateEvent: the change is an event of that day arriving late (one of
// its events written again before each computation, not timed: SQLite merges it into
// the day's kept range); otherwise (a correction, a roster import, a closed day) the
// store reads it as it last did (SQLite: its kept range, sqlitestore/ranges.go).
func benchCounts(b *testing.B, st store.Store, lateEvent bool) {
	svc := benchCity(b, st, []civil.Date{benchDay})
	ctx := context.Background()
	late, err := st.Events(ctx, store.Query{From: benchDay.In(benchLoc), To: benchDay.AddDays(1).In(benchLoc)})
	if err != nil || len(late) == 0 {
		b.Fatalf("%d events, %v", len(late), err)
	}
	// The day read once before the change, as the hub does.
	if _, err := svc.compute(ctx, benchDay, true); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if lateEvent {
			b.StopTimer()
			if err := st.Write(ctx, late[i%len(late):i%len(late)+1]); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
		d, err := svc.compute(ctx, benchDay, true)
		if err != nil {
			b.Fatal(err)
		}
		if n := len(d.Sites); n != benchSites {
			b.Fatalf("%d sites", n)
		}
	}
}

// BenchmarkCountsDayCached is GET /api/v1/counts?date= for a past
// 60-school day once the day cache holds it (the hub fills it in the
// background; the first request of a day not cached fills it too).
func BenchmarkCountsDayCached(b *testing.B) {
	st := benchSQLite(b)
	svc := benchCity(b, st, []civil.Date{benchDay})
	svc.Computer.opts.DB = benchDB
	if _, err := svc.Counts(context.Background(), benchDay, ""); err != nil { // fills the cache
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		v, err := svc.Counts(context.Background(), benchDay, "")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := json.Marshal(v); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCountsDaySQLite is GET /api/v1/counts for a 60-school day of
// about 20,000 events, computed from the SQLite store, cold: the first request
// after a change of its figures.
func BenchmarkCountsDaySQLite(b *testing.B) {
	st := benchSQLite(b)
	benchCounts(b, st, false)
}

// BenchmarkCountsDaySQLiteLateEvent is the same, after an event of that day
// arrived late (merged into the day's kept range, sqlitestore/ranges.go).
func BenchmarkCountsDaySQLiteLateEvent(b *testing.B) {
	st := benchSQLite(b)
	benchCounts(b, st, true)
}

// BenchmarkCountsDayInfluxDB is the same from a real influxd 1.8.10 (which
// reads the day from its shards each time).
func BenchmarkCountsDayInfluxDB(b *testing.B) {
	st := benchInflux(b)
	benchCounts(b, st, false)
}

// schoolDays returns the weekdays of November 2026 (21 days: ~420,000 events).
func schoolDays() []civil.Date {
	var out []civil.Date
	for d := (civil.Date{Year: 2026, Month: time.November, Day: 1}); d.Month == time.November; d = d.AddDays(1) {
		if wd := d.Weekday(); wd != time.Saturday && wd != time.Sunday {
			out = append(out, d)
		}
	}
	return out
}

// benchExport measures a month's export with its days' figures computed
// (none cached), after a change as benchCounts: lateEvent, an event of each day
// arrived late; otherwise the month was exported once before.
func benchExport(b *testing.B, st store.Store, format string, lateEvent bool) {
	days := schoolDays()
	svc := benchCity(b, st, days)
	ctx := context.Background()
	var late []store.Event // one event of each day
	for _, d := range days {
		evs, err := st.Events(ctx, store.Query{From: d.In(benchLoc), To: d.AddDays(1).In(benchLoc)})
		if err != nil || len(evs) == 0 {
			b.Fatalf("%s: %d events, %v", d, len(evs), err)
		}
		late = append(late, evs[len(evs)/2])
	}
	// The month exported once before the change.
	if _, err := svc.Export(ctx, export.Meals, "2026-11", "", nil); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		forgetComputed(svc) // the bench has no change feed to tell the read model
		b.StartTimer()
		if lateEvent {
			b.StopTimer()
			for _, e := range late {
				if err := st.Write(ctx, []store.Event{e}); err != nil {
					b.Fatal(err)
				}
			}
			b.StartTimer()
		}
		e, err := svc.Export(ctx, export.Meals, "2026-11", "", nil)
		if err != nil {
			b.Fatal(err)
		}
		if err := export.WriteTo(io.Discard, format, e, nil); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(e.Len()), "rows")
	}
}

// forgetComputed empties the read model's in-memory cache of computed days.
func forgetComputed(svc *Service) {
	svc.Computer.cacheMu.Lock()
	clear(svc.Computer.cache)
	svc.Computer.cacheMu.Unlock()
}

// BenchmarkExportMonthCached is the month's meal export to CSV once the
// hub has prepared the past days' rows (FillCache; the first export does
// the same): what the office waits for.
func BenchmarkExportMonthCached(b *testing.B) {
	st := benchSQLite(b)
	svc := benchCity(b, st, schoolDays())
	svc.Computer.opts.DB = benchDB
	started := time.Now()
	if _, err := svc.Export(context.Background(), export.Meals, "2026-11", "", nil); err != nil { // fills the cache
		b.Fatal(err)
	}
	b.Logf("cold export (fills the cache): %s", time.Since(started).Round(time.Millisecond))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e, err := svc.Export(context.Background(), export.Meals, "2026-11", "", nil)
		if err != nil {
			b.Fatal(err)
		}
		if err := export.WriteTo(io.Discard, "csv", e, nil); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(e.Len()), "rows")
	}
}

// BenchmarkExportMonthSQLite is the month's meal export (21 school days,
// ~420,000 events, ~214,000 meal rows) to CSV, from SQLite.
func BenchmarkExportMonthSQLite(b *testing.B) {
	st := benchSQLite(b)
	benchExport(b, st, "csv", false)
}

// BenchmarkExportMonthSQLiteLateEvent is the same after an event of each day
// arrived late.
func BenchmarkExportMonthSQLiteLateEvent(b *testing.B) {
	st := benchSQLite(b)
	benchExport(b, st, "csv", true)
}

// BenchmarkExportMonthInfluxDB is the same from a real influxd 1.8.10, to XLSX.
func BenchmarkExportMonthInfluxDB(b *testing.B) {
	st := benchInflux(b)
	benchExport(b, st, "xlsx", false)
}

// BenchmarkCountsDayLive is GET /api/v1/counts for today, a 60-school day
// of about 20,000 events, from the running figures (roster and sites
// checked, figures read, JSON encoded): what every request costs.
func BenchmarkCountsDayLive(b *testing.B) {
	st := benchSQLite(b)
	svc := benchCity(b, st, []civil.Date{benchDay})
	svc.Computer.opts.Now = func() time.Time { return benchDay.In(benchLoc).Add(13 * time.Hour) }
	if err := svc.Warm(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		v, err := svc.Counts(context.Background(), benchDay, "")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := json.Marshal(v); err != nil {
			b.Fatal(err)
		}
	}
}

// benchStartup is the hub's start-up: today's events read from the store
// and folded into the running figures (Warm).
func benchStartup(b *testing.B, st store.Store) {
	svc := benchCity(b, st, []civil.Date{benchDay})
	opts := *svc.Computer.opts
	opts.Now = func() time.Time { return benchDay.In(benchLoc).Add(13 * time.Hour) }
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		fresh := New(opts)
		if err := fresh.Warm(context.Background()); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(fresh.live.events.n), "events")
	}
}

// BenchmarkStartupSQLite is the start-up rebuild of today's figures from
// SQLite.
func BenchmarkStartupSQLite(b *testing.B) {
	st := benchSQLite(b)
	benchStartup(b, st)
}

// BenchmarkStartupInfluxDB is the same from a real influxd 1.8.10.
func BenchmarkStartupInfluxDB(b *testing.B) {
	st := benchInflux(b)
	benchStartup(b, st)
}

// BenchmarkBackupCityMonth is `pointage-hub backup` of a city month (the
// roster in hub.db, ~420,000 check-ins in checkins.db), then `restore` of
// the file into an empty folder (restore-s), with the file's size.
func BenchmarkBackupCityMonth(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir() // the data folder: hub.db and checkins.db side by side
	st, err := sqlitestore.Open(ctx, filepath.Join(dir, "checkins.db"), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	benchCity(b, st, schoolDays())
	if _, err := benchDB.ExecContext(ctx, "VACUUM INTO ?", filepath.Join(dir, "hub.db")); err != nil {
		b.Fatal(err)
	}
	out := filepath.Join(b.TempDir(), "pointage-backup.tar.gz")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m, err := backup.Take(ctx, dir, out, backup.Options{HubVersion: "bench"})
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		fi, err := os.Stat(out)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(fi.Size())/1e6, "file-MB")
		b.ReportMetric(float64(m.Size())/1e6, "databases-MB")
		start := time.Now()
		if _, err := backup.Restore(ctx, out, filepath.Join(b.TempDir(), "restored"), false, backup.Options{HubSchema: db.Hub.Version()}); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(time.Since(start).Seconds(), "restore-s")
		b.StartTimer()
	}
}
