package retention_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"pointage/hub/audit"
	"pointage/hub/corrections"
	"pointage/hub/days"
	"pointage/hub/days/daystest"
	"pointage/hub/retention"
	"pointage/hub/roster"
	"pointage/hub/store"
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
		"0A00000001;E001;child;Wamytan;Léa;jules-ferry;CP;standard;lu ma me je ve;soir;F12\n", roster.MinDate.AddDays(1))
	loc, _ := time.LoadLocation("Pacific/Noumea")
	ev := func(id string, seq uint64, service string, at time.Time) store.Event {
		return store.Event{ID: id, Site: "jules-ferry", Device: "d1", Epoch: "E", Reader: "r", Seq: seq, Badge: "0A00000001",
			Service: service, Dir: "auto", At: at, ReceivedAt: at}
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
