package days

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"pointage/hub/corrections"
	"pointage/hub/days/daystest"
	"pointage/hub/export"
	"pointage/hub/store"
	"pointage/internal/civil"
)

// A month's meal export holds one row per child and day served, whatever
// the UTC date of the scan, with voided scans left out and corrections in.
func TestExportMonth(t *testing.T) {
	ctx := context.Background()
	env := daystest.New(t, nil)
	st, ros, corr := env.Store, env.Roster, env.Corrections
	env.Import(t, "badge;person_id;role;last_name;first_name;site;class;regime;canteen_days;garderie;family_id\n"+
		"0A00000001;E001;child;Wamytan;Léa;jules-ferry;CP;standard;lu ma me je ve;;F12\n"+
		"0A00000002;E002;child;Gowé;Noa;jules-ferry;CE1;sans-porc;lu;;F13\n", civil.MinDate.AddDays(1))
	loc := time.FixedZone("Pacific/Noumea", 11*3600)
	ev := func(id, badge string, seq uint64, at time.Time) store.Event {
		return store.Event{ID: id, Site: "jules-ferry", Device: "d1", Epoch: "E", Reader: "r", Seq: seq, Badge: badge, Service: "canteen", Dir: "auto", At: at, ReceivedAt: at}
	}
	err := st.Write(ctx, []store.Event{
		ev("A", "0A00000001", 1, time.Date(2026, 11, 2, 10, 59, 0, 0, loc)),  // Monday 2 Nov local (1 Nov UTC)
		ev("B", "0A00000002", 2, time.Date(2026, 11, 2, 11, 30, 0, 0, loc)),  // Noa, Monday: expected
		ev("C", "0A00000002", 3, time.Date(2026, 11, 3, 11, 30, 0, 0, loc)),  // Noa, Tuesday: occasional
		ev("D", "0A00000001", 4, time.Date(2026, 11, 3, 11, 31, 0, 0, loc)),  // voided below
		ev("E", "0A00000001", 5, time.Date(2026, 12, 1, 0, 30, 0, 0, loc)),   // December: not in November
		ev("F", "0A00000001", 6, time.Date(2026, 10, 31, 23, 30, 0, 0, loc)), // October
	})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 4, 11, 45, 0, 0, loc)
	for _, c := range []corrections.Correction{
		{Kind: corrections.VoidScan, Site: "jules-ferry", Day: "2026-11-03", EventID: "D", User: "u", Reason: "r"},
		{Kind: corrections.AddScan, Site: "jules-ferry", Day: "2026-11-04", PersonID: "E001", Service: "canteen", Dir: "auto", At: &at, User: "u", Reason: "badge oublié"},
	} {
		if _, err := corr.Add(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	svc := New(Options{Store: st, Roster: ros, Corrections: corr, Loc: loc, Now: func() time.Time { return time.Date(2026, 12, 5, 12, 0, 0, 0, loc) }})
	var progress []int
	e, err := svc.Export(ctx, export.Meals, "2026-11", "", func(done, total int) {
		if total != 30 {
			t.Fatalf("November has %d days here", total)
		}
		progress = append(progress, done)
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(progress) != 30 {
		t.Fatalf("progress called %d times", len(progress))
	}
	got := []string{}
	for _, r := range e.Meals {
		got = append(got, r.Date.String()+" "+r.PersonID+" "+r.Status+" "+r.FamilyID)
		if r.PersonID == "E001" && r.Date.Day == 4 && !r.Corrected {
			t.Errorf("the corrected meal is not marked: %+v", r)
		}
	}
	want := "2026-11-02 E001 expected F12,2026-11-02 E002 expected F13,2026-11-03 E002 occasional F13,2026-11-04 E001 expected F12"
	if strings.Join(got, ",") != want {
		t.Fatalf("rows:\n got %s\nwant %s", strings.Join(got, ","), want)
	}
	if _, err := svc.Export(ctx, export.Meals, "2026-13", "", nil); err == nil {
		t.Fatal("a bad month was accepted")
	}
}

// Today's live events: kept as they are stored, duplicates and other days
// left out, equal to what the store gives.
func TestLiveEvents(t *testing.T) {
	ctx := context.Background()
	env := daystest.New(t, nil)
	st, ros, corr := env.Store, env.Roster, env.Corrections
	loc := time.FixedZone("Pacific/Noumea", 11*3600)
	now := time.Date(2026, 11, 24, 11, 0, 0, 0, loc)
	svc := New(Options{Store: st, Roster: ros, Corrections: corr, Loc: loc, Now: func() time.Time { return now }})
	ev := func(seq uint64, at time.Time) store.Event {
		return store.Event{ID: "ID" + string(rune('A'+seq)), Site: "jules-ferry", Device: "d1", Epoch: "E", Reader: "r", Seq: seq,
			Badge: "0A00000001", Service: "canteen", Dir: "auto", At: at, ReceivedAt: at}
	}
	first := []store.Event{ev(1, now.Add(-time.Hour))}
	st.Write(ctx, first)
	if err := svc.Warm(ctx); err != nil {
		t.Fatal(err)
	}
	later := []store.Event{ev(2, now), ev(1, now.Add(-time.Hour)), ev(3, now.Add(-24*time.Hour))} // a duplicate, yesterday
	st.Write(ctx, later)
	svc.Stored(later)
	got, err := svc.liveEvents(ctx, svc.Today())
	if err != nil || len(got) != 2 {
		t.Fatalf("live events: %d (%v), want 2", len(got), err)
	}
	live, _ := svc.compute(ctx, svc.Today(), false)
	stored, _ := svc.compute(ctx, svc.Today(), true)
	lc, sc := live.Results["jules-ferry"].Canteen, stored.Results["jules-ferry"].Canteen
	if !reflect.DeepEqual(lc, sc) || lc.UnknownBadges != 1 || len(live.Results["jules-ferry"].Detail.Scans) != 2 {
		t.Fatalf("live %+v, stored %+v", live.Results["jules-ferry"].Canteen, stored.Results["jules-ferry"].Canteen)
	}
}
