package days

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"pointage/hub/corrections"
	"pointage/hub/days/daystest"
	"pointage/hub/store"
	"pointage/internal/civil"
)

// A child's history: the check-ins of each badge while it was theirs (a
// Wiegand reader's 3 bytes included), not another child's, and the
// corrections naming them.
func TestHistory(t *testing.T) {
	ctx := context.Background()
	env := daystest.New(t, nil)
	st, ros, corr := env.Store, env.Roster, env.Corrections
	head := "badge;person_id;role;last_name;first_name;site;class;regime;canteen_days;garderie;family_id\n"
	imp := func(rows string, from civil.Date) { env.Import(t, head+rows, from) }
	imp("0A00ABCDEF;E001;child;Wamytan;Léa;jules-ferry;CP;standard;lu ma me je ve;;F12\n"+
		"0B00000002;E002;child;Gowé;Noa;jules-ferry;CP;standard;lu ma me je ve;;F13\n", civil.MinDate.AddDays(1))
	imp("0C00000009;E001;child;Wamytan;Léa;jules-ferry;CE1;standard;lu ma me je ve;;F12\n"+ // a new card from 10 Nov
		"0B00000002;E002;child;Gowé;Noa;jules-ferry;CP;standard;lu ma me je ve;;F13\n", civil.Date{Year: 2026, Month: 11, Day: 10})
	loc, _ := time.LoadLocation("Pacific/Noumea")
	ev := func(id, badge string, at time.Time) store.Event {
		return store.Event{ID: id, Site: "jules-ferry", Device: "d1", Epoch: "E", Reader: "r", Seq: uint64(at.Unix()), Badge: badge,
			Service: "canteen", Dir: "auto", At: at, ReceivedAt: at}
	}
	st.Write(ctx, []store.Event{
		ev("old-card", "0A00ABCDEF", time.Date(2026, 11, 3, 11, 30, 0, 0, loc)),
		ev("wiegand", "ABCDEF", time.Date(2026, 11, 4, 11, 30, 0, 0, loc)),
		ev("noa", "0B00000002", time.Date(2026, 11, 4, 11, 31, 0, 0, loc)),
		ev("old-card-after", "0A00ABCDEF", time.Date(2026, 11, 12, 11, 30, 0, 0, loc)), // no longer hers
		ev("new-card", "0C00000009", time.Date(2026, 11, 12, 11, 31, 0, 0, loc)),
		ev("too-late", "0C00000009", time.Date(2026, 12, 1, 11, 31, 0, 0, loc)),
	})
	corr.Add(ctx, corrections.Correction{Kind: corrections.Absence, Site: "jules-ferry", Day: "2026-11-20", PersonID: "E001", User: "u", Reason: "malade"})
	corr.Add(ctx, corrections.Correction{Kind: corrections.Absence, Site: "jules-ferry", Day: "2026-11-20", PersonID: "E002", User: "u", Reason: "malade"})
	svc := New(Options{Store: st, Roster: ros, Corrections: corr, Loc: loc})

	h, err := svc.PersonHistory(ctx, "E001", civil.Date{Year: 2026, Month: 11, Day: 1}, civil.Date{Year: 2026, Month: 11, Day: 30})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, e := range h.Events {
		ids = append(ids, e.ID)
	}
	if strings.Join(ids, ",") != "old-card,wiegand,new-card" {
		t.Fatalf("events %v", ids)
	}
	if len(h.Roster) != 2 || h.Roster[1].Class != "CE1" || h.Roster[0].ValidTo != "2026-11-09" || len(h.Corrections) != 1 || h.Corrections[0].PersonID != "E001" {
		t.Fatalf("history %+v", h)
	}
	if _, err := svc.PersonHistory(ctx, "E404", civil.Date{Year: 2026, Month: 11, Day: 1}, civil.Date{Year: 2026, Month: 11, Day: 30}); !errors.Is(err, ErrUnknownPerson) {
		t.Fatalf("unknown person: %v", err)
	}
	if _, err := svc.PersonHistory(ctx, "E001", civil.Date{Year: 2026, Month: 11, Day: 2}, civil.Date{Year: 2026, Month: 11, Day: 1}); !errors.Is(err, ErrBadRange) {
		t.Fatalf("reversed: %v", err)
	}
	if _, err := svc.PersonHistory(ctx, "E001", civil.Date{Year: 2020, Month: 1, Day: 1}, civil.Date{Year: 2026, Month: 11, Day: 1}); !errors.Is(err, ErrBadRange) {
		t.Fatalf("too long: %v", err)
	}
}
