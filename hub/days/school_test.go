package days

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"pointage/hub/corrections"
	"pointage/hub/days/daystest"
	"pointage/hub/store"
	"pointage/internal/civil"
	"pointage/internal/wire"
)

// schoolFixture is Friday 27 November 2026 at jules-ferry, seen at 18:30
// (after the evening garderie's end at 17:45): Léa eats twice and is
// still at the garderie, Noa is expected and not served but picked up
// late, Jade is declared absent, Tom eats without being expected, an
// unknown card eats, Paul (staff) works two shifts, the second still open.
func schoolFixture(t *testing.T) *Service {
	t.Helper()
	ctx := context.Background()
	env := daystest.New(t, nil)
	st, ros, corr := env.Store, env.Roster, env.Corrections
	env.Import(t, "badge;person_id;role;last_name;first_name;site;class;regime;canteen_days;garderie\n"+
		"0A00000001;E001;child;Wamytan;Léa;jules-ferry;CP;standard;lu ma me je ve;soir\n"+
		"0A00000002;E002;child;Gowé;Noa;jules-ferry;CE1;sans-porc;lu ma me je ve;matin+soir\n"+
		"0A00000003;E003;child;Martin;Jade;jules-ferry;CE1;standard;lu ma me je ve;\n"+
		"0A00000004;E004;child;Kaloi;Tom;jules-ferry;CM1;standard;lu;\n"+
		"0A00000009;S001;staff;Dupont;Paul;jules-ferry;;standard;lu ma me je ve;\n"+
		"0B00000001;P001;child;Tein;Tui;pasteur;CP;standard;lu ma me je ve;\n", civil.MinDate.AddDays(1))
	loc := time.FixedZone("Pacific/Noumea", 11*3600)
	at := func(h, m int) time.Time { return time.Date(2026, 11, 27, h, m, 0, 0, loc) }
	seq := uint64(0)
	ev := func(badge, service string, t time.Time) store.Event {
		seq++
		id := "EV" + string(rune('A'+seq))
		return store.Event{ID: id, Site: "jules-ferry", Device: "d1", Epoch: "E", Reader: "r", Seq: seq, Badge: badge, Service: wire.Service(service), Dir: "auto", At: t, ReceivedAt: t}
	}
	if err := st.Write(ctx, []store.Event{
		ev("0A00000009", "staff", at(7, 0)),
		ev("0A00000009", "staff", at(11, 0)),
		ev("0A00000001", "canteen", at(11, 30)),
		ev("0A00000001", "canteen", at(11, 35)),
		ev("0A00000004", "canteen", at(11, 40)),
		ev("0AFFFFFFFF", "canteen", at(11, 45)),
		ev("0A00000009", "staff", at(13, 0)),
		ev("0A00000002", "garderie", at(15, 5)),
		ev("0A00000001", "garderie", at(15, 10)),
		ev("0A00000002", "garderie", at(18, 0)),
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := corr.Add(ctx, corrections.Correction{Kind: corrections.Absence, Site: "jules-ferry", Day: "2026-11-27",
		PersonID: "E003", User: "directrice", Reason: "malade"}); err != nil {
		t.Fatal(err)
	}
	return New(Options{Store: st, Roster: ros, Corrections: corr, Loc: loc, Now: func() time.Time { return at(18, 30) }})
}

func names(list []PersonRef) []string {
	out := []string{}
	for _, p := range list {
		out = append(out, p.FirstName+" "+p.LastName)
	}
	return out
}

func servedNames(list []ServedView) []string {
	out := []string{}
	for _, p := range list {
		out = append(out, p.FirstName+" "+p.LastName)
	}
	return out
}

func TestSchoolDay(t *testing.T) {
	svc := schoolFixture(t)
	day := civil.Date{Year: 2026, Month: 11, Day: 27}
	got, err := svc.School(context.Background(), day, "jules-ferry")
	if err != nil {
		t.Fatal(err)
	}
	v := got
	if v.Date != "2026-11-27" || v.Offset != "+11:00" || v.Now != "2026-11-27T18:30:00.000+11:00" || v.Past || v.Closed {
		t.Fatalf("header: %+v", v)
	}
	c := v.Canteen
	check := func(what string, got, want any) {
		t.Helper()
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: got %v, want %v", what, got, want)
		}
	}
	check("served", servedNames(c.Served), []string{"Léa Wamytan", "Tom Kaloi"})
	check("first scan", c.Served[0].First, "2026-11-27T11:30:00.000+11:00")
	check("served expected flags", []bool{c.Served[0].Expected, c.Served[1].Expected}, []bool{true, false})
	check("absent", names(c.Absent), []string{"Noa Gowé"})
	check("declared absent", names(c.DeclaredAbsent), []string{"Jade Martin"})
	check("unexpected", servedNames(c.Unexpected), []string{"Tom Kaloi"})
	check("duplicates", servedNames(c.Duplicates), []string{"Léa Wamytan"})
	check("duplicate scans", c.Duplicates[0].Scans, 2)
	check("unknown", c.UnknownBadges, []string{"0AFFFFFFFF"})
	check("counts", [3]int{v.Counts.Canteen.Meals, v.Counts.Canteen.Expected, v.Counts.Canteen.Absent}, [3]int{2, 2, 1}) // Léa, Noa and Jade enrolled on Fridays, Jade declared absent
	check("class and diet", [2]string{c.Absent[0].Class, c.Absent[0].Regime}, [2]string{"CE1", "sans-porc"})

	if len(v.Garderie) != 2 || v.Garderie[0].Name != "garderie-matin" || v.Garderie[1].Name != "garderie-soir" {
		t.Fatalf("sessions: %+v", v.Garderie)
	}
	soir := v.Garderie[1]
	check("soir times", [3]string{soir.Start, soir.End, soir.EndAt}, [3]string{"15:00", "17:45", "2026-11-27T17:45:00.000+11:00"})
	check("soir ended", soir.Ended, true)
	check("soir figures", [2]int{soir.Present, soir.Late}, [2]int{1, 1})
	check("still present after the end", names(soir.StillPresent), []string{"Léa Wamytan"})
	byName := map[string]ChildView{}
	for _, ch := range soir.Children {
		byName[ch.FirstName] = ch
	}
	lea, noa := byName["Léa"], byName["Noa"]
	check("Léa", [4]any{lea.In, lea.Out, lea.Present, lea.DurationMinutes}, [4]any{"2026-11-27T15:10:00.000+11:00", "", true, 200})
	check("Noa", [5]any{noa.In, noa.Out, noa.Present, noa.Late, noa.DurationMinutes}, [5]any{"2026-11-27T15:05:00.000+11:00", "2026-11-27T18:00:00.000+11:00", false, true, 175})

	if len(v.Staff) != 1 {
		t.Fatalf("staff: %+v", v.Staff)
	}
	paul := v.Staff[0]
	check("staff name", paul.FirstName, "Paul")
	check("staff shifts", len(paul.Shifts), 2)
	check("staff worked", paul.WorkedMinutes, 240)
	check("staff present", paul.Present, true)
	check("unknown badges", len(v.Unknown), 1)

	// The JSON a page reads: names, times and the alert list.
	b, _ := json.Marshal(v)
	for _, want := range []string{`"still_present":[{"person_id":"E001","first_name":"Léa"`, `"counts":{"site":"jules-ferry"`, `"declared_absent":[{"person_id":"E003"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("JSON lacks %s:\n%s", want, b)
		}
	}

	if _, err := svc.School(context.Background(), day, "nowhere"); !errors.Is(err, ErrUnknownSite) {
		t.Fatalf("unknown site: %v", err)
	}
}

// A missing clock-out is flagged on a past day, never guessed.
func TestSchoolStaffMissingClockOut(t *testing.T) {
	svc := schoolFixture(t)
	svc.Computer.opts.Now = func() time.Time { return time.Date(2026, 11, 28, 9, 0, 0, 0, svc.Computer.opts.Loc) }
	got, err := svc.School(context.Background(), civil.Date{Year: 2026, Month: 11, Day: 27}, "jules-ferry")
	if err != nil {
		t.Fatal(err)
	}
	v := got
	if !v.Past || len(v.Staff) != 1 || !reflect.DeepEqual(v.Staff[0].Flags, []string{"missing_clock_out"}) || v.Staff[0].Shifts[1].Out != "" {
		t.Fatalf("past day staff: past=%v %+v", v.Past, v.Staff)
	}
}

func TestPeople(t *testing.T) {
	svc := schoolFixture(t)
	got, err := svc.People(context.Background(), civil.Date{Year: 2026, Month: 11, Day: 27}, "jules-ferry")
	if err != nil {
		t.Fatal(err)
	}
	v := got
	var list []string
	for _, c := range v.Children {
		list = append(list, c.Class+" "+c.FirstName+" "+strings.Join(c.Garderie, "+"))
	}
	want := []string{"CP Léa garderie-soir", "CE1 Noa garderie-matin+garderie-soir", "CE1 Jade ", "CM1 Tom "}
	// by class in school order (CP before CE1 and CM1, issue 14), then last name: Gowé before Martin
	if !reflect.DeepEqual(list, want) {
		t.Fatalf("children: %q, want %q", list, want)
	}
	if v.Children[3].CanteenToday || !v.Children[0].CanteenToday || v.Children[3].CanteenDays != "lu" {
		t.Fatalf("canteen days: %+v", v.Children)
	}
	if !reflect.DeepEqual(names(v.Staff), []string{"Paul Dupont"}) || !reflect.DeepEqual(v.Sessions, []string{"garderie-matin", "garderie-soir"}) {
		t.Fatalf("staff %v sessions %v", v.Staff, v.Sessions)
	}
}
