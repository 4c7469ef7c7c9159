//go:build ignore

// This program made hub/testdata/hub-v0/hub.db.gz: a hub.db written by the
// hub as it was at commit c7c7ffe, before hub.db had a schema version
// (PRAGMA user_version 0), with a few rows in each of its 21 tables. It
// compiles only against that commit's packages, whose constructors created
// the tables:
//
//	mkdir /tmp/c7c7ffe && git archive c7c7ffe | tar -x -C /tmp/c7c7ffe
//	mkdir /tmp/c7c7ffe/hub/legacygen && cp hub/testdata/hub-v0/generate.go /tmp/c7c7ffe/hub/legacygen/main.go
//	cd /tmp/c7c7ffe && go run hub/legacygen/main.go /tmp/out && gzip -9n < /tmp/out/hub.db > hub.db.gz
//
// The rows go through the packages' own writes where that is simple
// (devices, users and a session, roster imports, corrections, the audit
// chain, ingest's journal, sequences, statuses, rejections, conflicts,
// quarantine and queue, the day cache) and through plain INSERTs for the
// retention's two tables.
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"pointage/hub/audit"
	"pointage/hub/corrections"
	"pointage/hub/days"
	"pointage/hub/db"
	"pointage/hub/devices"
	"pointage/hub/export"
	"pointage/hub/ingest"
	"pointage/hub/retention"
	"pointage/hub/roster"
	"pointage/hub/store"
	"pointage/hub/store/sqlitestore"
	"pointage/hub/users"
	"pointage/internal/civil"
	"pointage/internal/wire"
)

// faulty refuses one badge for good and is down while down is set.
type faulty struct {
	store.Store
	mu   sync.Mutex
	down bool
}

func (f *faulty) Write(ctx context.Context, evs []store.Event) error {
	f.mu.Lock()
	down := f.down
	f.mu.Unlock()
	if down {
		return errors.New("store unreachable (generator)")
	}
	for _, e := range evs {
		if e.Badge == "0AFFFFFFFF" {
			return fmt.Errorf("refused (generator): %w", store.ErrPermanent)
		}
	}
	return f.Store.Write(ctx, evs)
}

type discard struct{}

func (discard) Publish(string, []byte, bool) error { return nil }

var loc, _ = time.LoadLocation("Pacific/Noumea")

func main() {
	if len(os.Args) != 2 {
		log.Fatal("usage: go run hub/legacygen/main.go OUT_DIR")
	}
	dir := os.Args[1]
	ctx := context.Background()
	must := func(err error) {
		if err != nil {
			log.Fatal(err)
		}
	}
	sqlDB, err := db.Open(ctx, filepath.Join(dir, "hub.db"))
	must(err)
	st, err := sqlitestore.Open(ctx, filepath.Join(dir, "checkins.db"), nil)
	must(err)

	reg, err := devices.New(ctx, sqlDB, nil)
	must(err)
	for _, d := range [][2]string{{"jules-ferry", "d1"}, {"jules-ferry", "d2"}, {"victor-hugo", "d3"}} {
		_, _, err := reg.Add(ctx, d[0], d[1], "password-"+d[1])
		must(err)
	}
	_, err = reg.SetPassword(ctx, "d2", "password-d2-new") // a revocation
	must(err)

	fs := &faulty{Store: st}
	in, err := ingest.New(ctx, ingest.Options{DB: sqlDB, Store: fs, Publisher: discard{}, MaxBackoff: time.Hour})
	must(err)
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { in.Run(runCtx); close(done) }()
	checkIn := func(device, epoch string, seq uint64, badge, id string) {
		site := map[string]string{"d1": "jules-ferry", "d3": "victor-hugo"}[device]
		c := wire.CheckIn{V: 1, ID: id, Site: site, Device: device, Epoch: epoch,
			Reader: "entree", Seq: seq, Badge: badge, Service: "canteen", Dir: "auto", At: "2026-11-24T11:32:05.123+11:00"}
		b, err := wire.Encode(c)
		must(err)
		in.Handle(wire.DeviceTopic("", site, device, wire.KindCheckIn), b)
	}
	id := func(device string, seq uint64) string {
		return fmt.Sprintf("01JD%s%018d", strings.ToUpper(device), seq)
	}
	status := wire.Status{V: 1, Site: "jules-ferry", Device: "d1", Epoch: "E1", State: "online", At: "2026-11-24T11:30:00.000+11:00",
		ClockSynced: true, LastSeq: 5}
	b, err := wire.Encode(status)
	must(err)
	in.Handle(wire.DeviceTopic("", "jules-ferry", "d1", wire.KindStatus), b)
	for seq := uint64(1); seq <= 5; seq++ {
		checkIn("d1", "E1", seq, fmt.Sprintf("0A%08X", seq), id("d1", seq))
	}
	wait := func(what string, cond func() bool) {
		for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				log.Fatalf("timed out waiting for %s", what)
			}
		}
	}
	count := func(table, where string) int {
		var n int
		must(sqlDB.QueryRowContext(ctx, "SELECT count(*) FROM "+table+" WHERE "+where).Scan(&n))
		return n
	}
	wait("d1's five check-ins", func() bool { return count("sequences", "stored_through = 5") == 1 })
	checkIn("d3", "E3", 5, "0A00000005", id("d3", 5)) // seqs 1-4 never came: declared lost below
	wait("d3's check-in", func() bool { return count("sequences", "device = 'd3'") == 1 })
	checkIn("d1", "E1", 3, "0A00000003", id("d1", 99))                                       // same seq, another id: a conflict
	in.Handle(wire.DeviceTopic("", "jules-ferry", "d1", wire.KindCheckIn), []byte(`{"v":1`)) // malformed: rejected
	checkIn("d1", "E1", 6, "0AFFFFFFFF", id("d1", 6))                                        // refused by the store: quarantine
	wait("conflict, rejection and quarantine", func() bool {
		return count("conflicts", "1") == 1 && count("rejected", "1") == 1 && count("received", "state = 2") == 1
	})
	fs.mu.Lock()
	fs.down = true
	fs.mu.Unlock()
	checkIn("d1", "E1", 7, "0A00000007", id("d1", 7)) // the store is down: queued
	checkIn("d1", "E1", 8, "0A00000008", id("d1", 8))
	wait("the queue", func() bool { return count("received", "state = 0") == 2 })
	must(in.DeclareLost(ctx, "victor-hugo", "d3", "E3", 1, 4, "01JDLOSTCORRECTION00000000"))
	stop()
	<-done

	ros, err := roster.New(ctx, sqlDB)
	must(err)
	csv := "badge;person_id;role;last_name;first_name;site;class;regime;canteen_days;garderie;family_id\n" +
		"0A00000001;E001;child;Wamytan;Léa;jules-ferry;CP;standard;lu ma je ve;soir;F12\n" +
		"0A00000002;E002;child;Gowé;Noa;jules-ferry;CE1;sans-porc;lu ma je ve;;F13\n" +
		"0A00000009;S001;staff;Dupont;Paul;jules-ferry;;standard;lu ma je ve;;\n"
	for i, from := range []civil.Date{{Year: 2026, Month: 9, Day: 1}, {Year: 2026, Month: 11, Day: 2}} {
		if i == 1 {
			csv = strings.Replace(csv, ";CP;", ";CE1;", 1) // a change: a new version of E001
		}
		parsed, err := roster.Parse(strings.NewReader(csv))
		must(err)
		_, err = ros.Import(ctx, parsed.People, from, nil)
		must(err)
	}

	clock := time.Date(2026, 11, 25, 9, 0, 0, 0, loc)
	now := func() time.Time { clock = clock.Add(time.Minute); return clock }
	corr, err := corrections.New(ctx, sqlDB, now)
	must(err)
	at := time.Date(2026, 11, 24, 11, 40, 0, 0, loc)
	for _, c := range []corrections.Correction{
		{Kind: corrections.Absence, Site: "jules-ferry", Day: "2026-11-23", PersonID: "E002", User: "marie", Reason: "malade"},
		{Kind: corrections.AddScan, Site: "jules-ferry", Day: "2026-11-24", PersonID: "E002", Service: "canteen", Dir: "auto", At: &at,
			User: "marie", Reason: "badge oublié", ClientID: "tablet-1"},
		{Kind: corrections.DeclareLost, Site: "victor-hugo", Day: "2026-11-24", Device: "d3", Epoch: "E3", FromSeq: 1, ToSeq: 4,
			User: "marie", Reason: "lecteur volé"},
	} {
		_, err := corr.Add(ctx, c)
		must(err)
	}

	us, err := users.New(ctx, sqlDB, nil)
	must(err)
	_, err = us.Add(ctx, "marie", users.RoleOffice, "", "marie-password")
	must(err)
	_, err = us.Add(ctx, "paul", users.RoleSchool, "jules-ferry", "paul-password")
	must(err)
	_, _, err = us.Login(ctx, "marie", "marie-password", "192.0.2.10")
	must(err)

	auditLog, err := audit.New(ctx, sqlDB, now)
	must(err)
	for _, e := range []audit.Entry{
		{User: "marie", Role: "office", Action: audit.Login, Addr: "192.0.2.10"},
		{User: "marie", Role: "office", Action: audit.Correction, Target: "E002", Detail: "absence", Addr: "192.0.2.10"},
		{User: "cli:root", Action: audit.Export, Target: "meals 2026-11 all sites", Detail: "csv, 2 rows", Addr: "cli"},
	} {
		_, err := auditLog.Record(ctx, e)
		must(err)
	}

	svc := days.New(days.Options{Store: st, Roster: ros, Corrections: corr, Loc: loc, DB: sqlDB, ConfigKey: "legacy",
		Now: func() time.Time { return time.Date(2026, 12, 2, 9, 0, 0, 0, loc) }})
	must(svc.NewCacheEpoch(ctx))
	_, err = svc.Export(ctx, export.Meals, "2026-11", "", nil) // day_rows and day_counts of November's days
	must(err)
	svc.Stored([]store.Event{{ID: "late", Site: "jules-ferry", Device: "d1", Epoch: "E1", Seq: 9, Badge: "0A00000001", Service: "canteen",
		Dir: "auto", At: time.Date(2026, 11, 20, 11, 30, 0, 0, loc), ReceivedAt: time.Date(2026, 12, 2, 8, 0, 0, 0, loc)}}) // a day's version bumped

	_, err = retention.New(ctx, retention.Options{DB: sqlDB, Store: st, Figures: svc, Loc: loc})
	must(err)
	_, err = sqlDB.ExecContext(ctx, `INSERT INTO monthly_aggregates (month, kind, person_id, data) VALUES
		('2025-03', 'child', 'E001', '{"meals":12}'), ('2025-03', 'staff', 'S001', '{"meals":20}');
		INSERT INTO retention_months (month, aggregated_at, children, staff) VALUES ('2025-03', 1780000000000, 1, 1)`)
	must(err)

	rows, err := sqlDB.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`)
	must(err)
	var tables []string
	for rows.Next() {
		var name string
		must(rows.Scan(&name))
		tables = append(tables, name)
	}
	must(rows.Err())
	for _, t := range tables {
		fmt.Printf("%-20s %d\n", t, count(t, "1"))
	}
	fmt.Println(len(tables), "tables")
	must(st.Close())
	must(sqlDB.Close())
}
