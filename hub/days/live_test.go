package days

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"pointage/hub/corrections"
	"pointage/hub/days/daystest"
	"pointage/hub/store"
	"pointage/internal/civil"
	"pointage/internal/wire"
)

// Today's running figures, fed event by event in the order of arrival
// (shuffled, with duplicate deliveries), equal the figures a restart
// computes from the store, after each batch, after corrections and after a
// roster change; events alone never rebuild them.
func TestLiveCountsEqualStore(t *testing.T) {
	ctx := context.Background()
	env := daystest.New(t, nil)
	st, ros, corr := env.Store, env.Roster, env.Corrections
	csv := "badge;person_id;role;last_name;first_name;site;class;regime;canteen_days;garderie;family_id\n"
	var badges []string
	for i := range 30 {
		site := []string{"jules-ferry", "magenta"}[i%2]
		role, g := "child", []string{"", "matin", "soir", "matin soir"}[i%4]
		if i >= 26 {
			role, g = "staff", ""
		}
		b := fmt.Sprintf("0A%08d", i)
		badges = append(badges, b)
		csv += fmt.Sprintf("%s;P%02d;%s;Nom%d;Prénom;%s;CP;%s;lu ma me je ve;%s;F%d\n", b, i, role, i, site, []string{"standard", "sans-porc"}[i%2], g, i)
	}
	badges = append(badges, "0AFFFFFFFF") // unknown
	people := env.Import(t, csv, civil.MinDate.AddDays(1))
	loc, _ := time.LoadLocation("Pacific/Noumea")
	day := time.Date(2026, 11, 26, 0, 0, 0, 0, loc) // a Thursday
	now := day.Add(16 * time.Hour)
	svc := New(Options{Store: st, Roster: ros, Corrections: corr, Loc: loc, Now: func() time.Time { return now }})

	r := rand.New(rand.NewPCG(3, 4))
	var all []store.Event
	for i := range 400 {
		at := day.Add(time.Duration(5*3600+r.IntN(14*3600)) * time.Second)
		if i%50 == 0 {
			at = day.Add(-time.Hour) // yesterday: never today's
		}
		all = append(all, store.Event{ID: fmt.Sprintf("ev%04d", i), Site: []string{"jules-ferry", "magenta"}[r.IntN(2)],
			Device: fmt.Sprintf("d%d", i%3), Epoch: "E", Reader: "r", Seq: uint64(i + 1), Badge: badges[r.IntN(len(badges))],
			Service: []wire.Service{"canteen", "garderie", "staff"}[r.IntN(3)], Dir: []wire.Dir{"auto", "auto", "in", "out"}[r.IntN(4)],
			At: at, ReceivedAt: at})
	}
	r.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })

	check := func(what string) {
		t.Helper()
		got, err := svc.Counts(ctx, svc.Today(), "")
		if err != nil {
			t.Fatal(err)
		}
		d, err := svc.ComputeFromStore(ctx, svc.Today())
		if err != nil {
			t.Fatal(err)
		}
		want := CountsView{Date: d.Date.String(), Timezone: loc.String(), Now: got.Now} // the time of the answer
		for _, x := range d.Sites {
			want.Sites = append(want.Sites, d.Results[x])
		}
		gj, _ := json.Marshal(got)
		wj, _ := json.Marshal(want)
		if string(gj) != string(wj) {
			t.Fatalf("%s: running figures differ from the store's\n got %s\nwant %s", what, gj, wj)
		}
	}

	if err := st.Write(ctx, all[:100]); err != nil {
		t.Fatal(err)
	}
	if err := svc.Warm(ctx); err != nil { // start-up: built from the store
		t.Fatal(err)
	}
	check("after start-up")
	rebuilds := svc.live.rebuilds
	for i := 100; i < len(all); i += 37 {
		batch := all[i:min(i+37, len(all))]
		if err := st.Write(ctx, batch); err != nil {
			t.Fatal(err)
		}
		svc.Stored(append(batch, all[r.IntN(i)])) // and a duplicate delivery
		check(fmt.Sprintf("after event %d", i))
	}
	if svc.live.rebuilds != rebuilds {
		t.Fatalf("events rebuilt the figures %d times: they must be counted one by one", svc.live.rebuilds-rebuilds)
	}
	// Other days looked at (the roster's snapshot cache of today is
	// evicted): nothing changed, nothing rebuilt.
	for i := 1; i <= 12; i++ {
		if _, err := svc.Compute(ctx, svc.Today().AddDays(-i), ""); err != nil {
			t.Fatal(err)
		}
	}
	check("after looking at other days")
	if svc.live.rebuilds != rebuilds {
		t.Fatalf("looking at other days rebuilt today's figures")
	}

	at := now.Add(-time.Hour)
	for _, c := range []corrections.Correction{
		{Kind: corrections.AddScan, Site: "magenta", PersonID: "P01", Service: "canteen", Dir: "auto", At: &at},
		{Kind: corrections.VoidScan, Site: all[5].Site, EventID: all[5].ID},
		{Kind: corrections.Absence, Site: "jules-ferry", PersonID: "P02"},
		{Kind: corrections.CloseClockOut, Site: "jules-ferry", PersonID: "P26", At: &at},
	} {
		c.Day, c.User, c.Reason = "2026-11-26", "u", "test"
		if _, err := corr.Add(ctx, c); err != nil {
			t.Fatal(err)
		}
		svc.Corrected()
		check("after a " + string(c.Kind) + " correction")
	}

	// A roster change (a child moves to the other school): rebuilt.
	people[3].Site = "jules-ferry"
	if _, err := ros.Import(ctx, people, civil.MinDate.AddDays(2), nil); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond) // the roster's cache checks for imports every second
	check("after a roster import")
}

// A site known after a past day was cached (a device registered since) is
// not an unknown site.
func TestNewSiteAfterCaching(t *testing.T) {
	ctx := context.Background()
	env := daystest.New(t, nil)
	st, ros, corr := env.Store, env.Roster, env.Corrections
	known := []string{"jules-ferry"}
	svc := New(Options{Store: st, Roster: ros, Corrections: corr, KnownSites: func(context.Context) ([]string, error) { return known, nil }})
	past := svc.Today().AddDays(-3)
	if _, err := svc.Compute(ctx, past, "jules-ferry"); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Compute(ctx, past, "pasteur"); err == nil {
		t.Fatal("an unknown site was accepted")
	}
	known = append(known, "pasteur") // a device registered at pasteur
	if d, err := svc.Compute(ctx, past, "pasteur"); err != nil || len(d.Sites) != 1 {
		t.Fatalf("the new site: %v %v", d, err)
	}
}

// The day's event log keeps every event, in order, across its blocks, and
// never writes into the slice it was loaded from (the store's answer).
func TestEventLogKeepsEveryEventInOrder(t *testing.T) {
	loaded := make([]store.Event, 3, 10)
	for i := range loaded {
		loaded[i] = store.Event{ID: fmt.Sprintf("loaded-%d", i), Seq: uint64(i)}
	}
	spare := loaded[:cap(loaded)]
	l := newEventLog(loaded)
	var want []store.Event
	want = append(want, loaded...)
	for i := range 2*logBlock + 5 {
		e := store.Event{ID: fmt.Sprintf("added-%d", i), Seq: uint64(100 + i)}
		l.add(e)
		want = append(want, e)
	}
	got := l.all()
	if len(got) != len(want) || l.n != len(want) {
		t.Fatalf("%d events (n %d), want %d", len(got), l.n, len(want))
	}
	for i := range want {
		if got[i].ID != want[i].ID {
			t.Fatalf("event %d is %s, want %s", i, got[i].ID, want[i].ID)
		}
	}
	for i := len(loaded); i < len(spare); i++ {
		if spare[i].ID != "" {
			t.Fatalf("the loaded slice's spare capacity was written at %d", i)
		}
	}
	var empty eventLog
	empty.add(store.Event{ID: "one"})
	if all := empty.all(); len(all) != 1 || all[0].ID != "one" {
		t.Fatalf("an empty log after one add holds %v", all)
	}
}
