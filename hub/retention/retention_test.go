package retention_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"pointage/hub/audit"
	"pointage/hub/corrections"
	"pointage/hub/days"
	"pointage/hub/days/daystest"
	"pointage/hub/ingest"
	"pointage/hub/retention"
	"pointage/hub/store"
	"pointage/internal/civil"
	"pointage/internal/wire"
)

// Eighteen months after November 2026, its check-ins are purged and its
// figures per child kept; December 2026 stays whole; a second run does
// nothing more; a dry run changes nothing.
func TestRetention(t *testing.T) {
	ctx := context.Background()
	env := daystest.New(t, nil)
	sqlDB, st, ros, corr := env.DB, env.Store, env.Roster, env.Corrections
	auditLog, _ := audit.New(ctx, sqlDB, nil)
	env.Import(t, "badge;person_id;role;last_name;first_name;site;class;regime;canteen_days;garderie;family_id\n"+
		"0A00000001;E001;child;Wamytan;Léa;jules-ferry;CP;standard;lu ma me je ve;soir;F12\n", civil.MinDate.AddDays(1))
	loc, _ := time.LoadLocation("Pacific/Noumea")
	ev := func(id string, seq uint64, service string, at time.Time) store.Event {
		return store.Event{ID: id, Site: "jules-ferry", Device: "d1", Epoch: "E", Reader: "r", Seq: seq, Badge: "0A00000001",
			Service: wire.Service(service), Dir: "auto", At: at, ReceivedAt: at}
	}
	events := []store.Event{
		ev("A", 1, "canteen", time.Date(2026, 10, 30, 11, 30, 0, 0, loc)),
		ev("B", 2, "canteen", time.Date(2026, 11, 2, 11, 30, 0, 0, loc)),
		ev("C", 3, "canteen", time.Date(2026, 11, 3, 11, 30, 0, 0, loc)),
		ev("D", 4, "garderie", time.Date(2026, 11, 3, 15, 30, 0, 0, loc)),
		ev("E", 5, "garderie", time.Date(2026, 11, 3, 18, 0, 0, 0, loc)),  // late
		ev("F", 6, "canteen", time.Date(2026, 11, 30, 23, 30, 0, 0, loc)), // 30 Nov local (12:30 UTC)
		ev("G", 7, "canteen", time.Date(2026, 12, 1, 0, 30, 0, 0, loc)),   // 1 Dec local, still 30 Nov in UTC: kept
		ev("H", 8, "canteen", time.Date(2026, 12, 14, 11, 30, 0, 0, loc)), // kept
	}
	if err := st.Write(ctx, events); err != nil {
		t.Fatal(err)
	}
	for _, c := range []corrections.Correction{
		{Kind: corrections.Absence, Site: "jules-ferry", Day: "2026-11-04", PersonID: "E001"},
		{Kind: corrections.Absence, Site: "jules-ferry", Day: "2026-12-04", PersonID: "E001"},
		{Kind: corrections.DeclareLost, Site: "jules-ferry", Day: "2026-11-05", Device: "d1", Epoch: "E", FromSeq: 9, ToSeq: 9},
	} {
		c.User, c.Reason = "u", "r"
		if _, err := corr.Add(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Date(2028, 6, 15, 9, 0, 0, 0, loc)
	svc := days.New(days.Options{Store: st, Roster: ros, Corrections: corr, Loc: loc, Now: func() time.Time { return now }})
	r, err := retention.New(ctx, retention.Options{DB: sqlDB, Store: st, Figures: svc, Loc: loc, Now: func() time.Time { return now }, Audit: auditLog})
	if err != nil {
		t.Fatal(err)
	}
	if c := r.Cutoff(); c.String() != "2026-12-01" {
		t.Fatalf("cutoff %s, want 2026-12-01 (18 months before June 2028)", c)
	}
	all := store.Query{From: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}

	dry, err := r.Run(ctx, true, nil)
	if err != nil || strings.Join(dry.Months, ",") != "2026-10,2026-11" {
		t.Fatalf("dry run: %+v %v", dry, err)
	}
	if got, _ := st.Events(ctx, all); len(got) != len(events) {
		t.Fatalf("the dry run purged: %d events left", len(got))
	}

	var months []string
	rep, err := r.Run(ctx, false, func(m string) { months = append(months, m) })
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(months, ",") != "2026-10,2026-11" || rep.Events != 6 || rep.Corrected != 1 || rep.Children != 2 {
		t.Fatalf("report %+v, progress %v", rep, months)
	}
	got, _ := st.Events(ctx, all)
	var ids []string
	for _, e := range got {
		ids = append(ids, e.ID)
	}
	if strings.Join(ids, ",") != "G,H" {
		t.Fatalf("events left %v, want G,H", ids)
	}
	var data string
	if err := sqlDB.QueryRowContext(ctx, `SELECT data FROM monthly_aggregates WHERE month = '2026-11' AND kind = 'child' AND person_id = 'E001'`).Scan(&data); err != nil {
		t.Fatal(err)
	}
	var nov struct {
		Meals    int            `json:"meals"`
		FamilyID string         `json:"family_id"`
		Sessions map[string]int `json:"sessions"`
		Late     map[string]int `json:"late"`
	}
	json.Unmarshal([]byte(data), &nov)
	if nov.Meals != 3 || nov.FamilyID != "F12" || nov.Sessions["garderie-soir"] != 1 || nov.Late["garderie-soir"] != 1 {
		t.Fatalf("November kept as %s", data)
	}
	left, _ := corr.List(ctx, corrections.Filter{})
	if len(left) != 2 || left[0].Kind != corrections.DeclareLost && left[1].Kind != corrections.DeclareLost {
		t.Fatalf("corrections left: %+v", left)
	}
	entries, _ := auditLog.List(ctx, audit.Filter{Action: audit.Purge})
	if len(entries) != 1 || !strings.Contains(entries[0].Detail, "2026-11") {
		t.Fatalf("audit: %+v", entries)
	}

	kept, err := r.PersonMonths(ctx, "E001")
	if err != nil || len(kept) != 2 || kept[0].Month != "2026-10" || kept[1].Kind != "child" {
		t.Fatalf("person months: %+v %v", kept, err)
	}

	again, err := r.Run(ctx, false, nil)
	if err != nil || len(again.Months) != 0 || again.Events != 0 {
		t.Fatalf("second run: %+v %v", again, err)
	}
}

type discardPublisher struct{}

func (discardPublisher) Publish(string, []byte, bool) error { return nil }

// The ingest tables' rows about check-ins before the cutoff go with the
// check-ins: the handled journal, handled and quarantined queue rows,
// rejections and conflicts. An event still waiting for the store is never
// purged, however old; rows after the cutoff stay; a dry run purges nothing.
func TestRetentionPurgesIngestRows(t *testing.T) {
	ctx := context.Background()
	env := daystest.New(t, nil)
	if _, err := ingest.New(ctx, ingest.Options{DB: env.DB, Store: env.Store, Publisher: discardPublisher{}}); err != nil {
		t.Fatal(err) // creates the ingest tables
	}
	loc, _ := time.LoadLocation("Pacific/Noumea")
	before := time.Date(2026, 11, 15, 12, 0, 0, 0, loc).UnixMilli()
	after := time.Date(2026, 12, 15, 12, 0, 0, 0, loc).UnixMilli()
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := env.DB.ExecContext(ctx, q, args...); err != nil {
			t.Fatal(err)
		}
	}
	for i, at := range []int64{before, before, after} {
		exec(`INSERT INTO handled (device, epoch, min_seq, max_seq, handled_at, ids) VALUES ('d1', 'E', ?, ?, ?, x'00')`, i*10+1, i*10+10, at)
	}
	queue := `INSERT INTO received (device, epoch, seq, id, site, reader, badge, service, dir, at, received_at, state)
		VALUES ('d1', 'E', ?, ?, 'jules-ferry', 'r', '0A00000001', 'canteen', 'auto', '2026-11-15T12:00:00.000+11:00', ?, ?)`
	exec(queue, 1, "stored-old", before, 1)
	exec(queue, 2, "quarantined-old", before, 2)
	exec(queue, 3, "pending-old", before, 0)
	exec(queue, 4, "stored-new", after, 1)
	for i, at := range []int64{before, after} {
		exec(`INSERT INTO rejected (received_at, topic, site, device, reason, detail, payload) VALUES (?, 't', 's', 'd1', 'bad_json', '', x'00')`, at)
		exec(`INSERT INTO conflicts (device, epoch, seq, stored_id, other_id, payload, received_at) VALUES ('d1', 'E', ?, 'a', 'b', '{}', ?)`, i+1, at)
	}
	left := func() map[string]int {
		t.Helper()
		out := map[string]int{}
		for _, table := range []string{"handled", "received", "rejected", "conflicts"} {
			var n int
			if err := env.DB.QueryRowContext(ctx, `SELECT count(*) FROM `+table).Scan(&n); err != nil {
				t.Fatal(err)
			}
			out[table] = n
		}
		return out
	}
	now := time.Date(2028, 6, 15, 9, 0, 0, 0, loc) // cutoff 2026-12-01
	svc := days.New(days.Options{Store: env.Store, Roster: env.Roster, Corrections: env.Corrections, Loc: loc, Now: func() time.Time { return now }})
	r, err := retention.New(ctx, retention.Options{DB: env.DB, Store: env.Store, Figures: svc, Loc: loc, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	full := map[string]int{"handled": 3, "received": 4, "rejected": 2, "conflicts": 2}
	if _, err := r.Run(ctx, true, nil); err != nil {
		t.Fatal(err)
	}
	if got := left(); fmt.Sprint(got) != fmt.Sprint(full) {
		t.Fatalf("the dry run purged hub rows: %v, want %v", got, full)
	}
	rep, err := r.Run(ctx, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"handled": 1, "received": 2, "rejected": 1, "conflicts": 1}
	if got := left(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("rows left %v, want %v", got, want)
	}
	if rep.Received != 6 {
		t.Fatalf("report: %d hub rows purged, want 6 (2 journal, 2 queue, 1 rejection, 1 conflict)", rep.Received)
	}
	var ids []string
	rows, err := env.DB.QueryContext(ctx, `SELECT id FROM received ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		rows.Scan(&id)
		ids = append(ids, id)
	}
	if strings.Join(ids, ",") != "pending-old,stored-new" {
		t.Fatalf("queue rows left %v, want the old pending event and the new one", ids)
	}
}
