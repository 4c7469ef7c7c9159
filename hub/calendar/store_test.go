package calendar_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"pointage/hub/calendar"
	"pointage/hub/db"
	_ "pointage/hub/users" // hub.db's version 2: the calendar's step is version 3
	"pointage/internal/civil"
)

func date(t *testing.T, s string) civil.Date {
	t.Helper()
	d, err := civil.ParseDate(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

const file = `closed:
  - {date: 2026-11-11, reason: "Armistice"}
  - {date: 2026-11-27, sites: [pasteur], reason: "Grève (fichier)"}
`

// openStore opens a Store on a fresh hub.db with the file above; the
// returned counter counts the Changed calls.
func openStore(t *testing.T, sqlDB *sql.DB) (*calendar.Store, *int) {
	t.Helper()
	cal, err := calendar.Parse([]byte(file))
	if err != nil {
		t.Fatal(err)
	}
	n := new(int)
	now := time.Date(2026, 11, 20, 9, 30, 0, 0, time.UTC)
	s, err := calendar.Open(context.Background(), calendar.Options{DB: sqlDB, File: cal, Now: func() time.Time { return now },
		Changed: func() { *n++ }})
	if err != nil {
		t.Fatal(err)
	}
	return s, n
}

func hubDB(t *testing.T) *sql.DB {
	t.Helper()
	sqlDB, err := db.OpenMigrated(context.Background(), filepath.Join(t.TempDir(), "hub.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sqlDB.Close() })
	return sqlDB
}

// The effective calendar is the file's entries and hub.db's: both close
// days; an entry added or removed applies at once, changes the stamp of
// the days it covers (only those), is kept across a reopening, and says
// so (Changed).
func TestStoreMergesFileAndHubDB(t *testing.T) {
	ctx := context.Background()
	sqlDB := hubDB(t)
	s, changed := openStore(t, sqlDB)
	closed := func(site, day string) string {
		t.Helper()
		c, reason := s.Closed(site, date(t, day))
		if !c {
			return "open"
		}
		return reason
	}
	if got := closed("jules-ferry", "2026-11-27"); got != "open" {
		t.Fatalf("jules-ferry on 27/11 before any entry: %q", got)
	}
	stamp27, stamp30 := s.Stamp(date(t, "2026-11-27")), s.Stamp(date(t, "2026-11-30"))

	strike, err := s.Add(ctx, calendar.Addition{From: "2026-11-27", Sites: []string{"jules-ferry", "jules-ferry"}, Reason: "  Grève  "}, "marie")
	if err != nil {
		t.Fatal(err)
	}
	if strike.Source != calendar.FromDashboard || strike.ID == "" || strike.To != strike.From || len(strike.Sites) != 1 ||
		strike.Reason != "Grève" || strike.CreatedBy != "marie" || strike.CreatedAt.IsZero() {
		t.Fatalf("added %+v", strike)
	}
	holidays, err := s.Add(ctx, calendar.Addition{From: "2026-12-21", To: "2026-12-24", Reason: "Fermeture de fin d'année"}, "marie")
	if err != nil {
		t.Fatal(err)
	}
	if *changed != 2 {
		t.Errorf("Changed called %d times for two additions", *changed)
	}
	for _, tt := range []struct{ site, day, want string }{
		{"jules-ferry", "2026-11-27", "Grève"},
		{"pasteur", "2026-11-27", "Grève (fichier)"}, // the file's
		{"pierre-loti", "2026-11-27", "open"},
		{"pierre-loti", "2026-11-11", "Armistice"},
		{"pierre-loti", "2026-12-21", "Fermeture de fin d'année"},
		{"jules-ferry", "2026-12-24", "Fermeture de fin d'année"},
		{"jules-ferry", "2026-12-25", "open"},
	} {
		if got := closed(tt.site, tt.day); got != tt.want {
			t.Errorf("%s on %s: %q, want %q", tt.site, tt.day, got, tt.want)
		}
	}
	if s.Stamp(date(t, "2026-11-27")) == stamp27 {
		t.Error("the stamp of 27/11 did not change when a closed day was added on it")
	}
	if s.Stamp(date(t, "2026-11-30")) != stamp30 {
		t.Error("the stamp of 30/11 changed: no entry covers it")
	}

	list := s.List(date(t, "2026-11-01"), date(t, "2026-12-21"))
	var got []string
	for _, e := range list {
		got = append(got, string(e.Source)+" "+e.ID+" "+e.From.String()+" "+strings.Join(e.Sites, ","))
	}
	want := []string{"config config-1 2026-11-11 ", "config config-2 2026-11-27 pasteur", "dashboard " + strike.ID + " 2026-11-27 jules-ferry",
		"dashboard " + holidays.ID + " 2026-12-21 "}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("List:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if list[1].Line != 3 {
		t.Errorf("the file's second entry: line %d, want 3", list[1].Line)
	}
	if n := len(s.List(date(t, "2026-12-25"), date(t, "2027-01-31"))); n != 0 {
		t.Errorf("List after the last entry: %d entries", n)
	}

	// Kept in hub.db: a process opening the state sees them.
	again, _ := openStore(t, sqlDB)
	if c, reason := again.Closed("jules-ferry", date(t, "2026-11-27")); !c || reason != "Grève" {
		t.Errorf("reopened: jules-ferry on 27/11 %v %q", c, reason)
	}

	removed, err := s.Remove(ctx, strike.ID, "paul")
	if err != nil || removed.ID != strike.ID || removed.Reason != "Grève" {
		t.Fatalf("Remove = %+v, %v", removed, err)
	}
	if got := closed("jules-ferry", "2026-11-27"); got != "open" {
		t.Errorf("jules-ferry on 27/11 after the removal: %q", got)
	}
	if got := closed("pasteur", "2026-11-27"); got != "Grève (fichier)" {
		t.Errorf("the file's entry after the removal: %q", got)
	}
	if s.Stamp(date(t, "2026-11-27")) != stamp27 {
		t.Error("the stamp of 27/11 is not back to what it was")
	}
	if *changed != 3 {
		t.Errorf("Changed called %d times, want 3", *changed)
	}
	var by string
	var at sql.NullInt64
	if err := sqlDB.QueryRow(`SELECT removed_by, removed_at FROM closed_days WHERE id = ?`, strike.ID).Scan(&by, &at); err != nil || by != "paul" || !at.Valid {
		t.Errorf("the removed entry in hub.db: %q %v %v (kept, with who removed it)", by, at, err)
	}
	third, _ := openStore(t, sqlDB)
	if c, _ := third.Closed("jules-ferry", date(t, "2026-11-27")); c {
		t.Error("reopened after the removal: still closed")
	}
	if c, _ := third.Closed("jules-ferry", date(t, "2026-12-22")); !c {
		t.Error("reopened: the other entry is lost")
	}
}

func TestStoreRemoveErrors(t *testing.T) {
	ctx := context.Background()
	s, changed := openStore(t, hubDB(t))
	e, err := s.Add(ctx, calendar.Addition{From: "2026-11-27", Reason: "Grève"}, "marie")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Remove(ctx, e.ID, "marie"); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		id   string
		want error
		msg  string
	}{
		{"config-2", calendar.ErrReadOnly, "line 3"},
		{"config-9", calendar.ErrNotFound, "config-9"},
		{e.ID, calendar.ErrNotFound, "removed already"},
		{"999", calendar.ErrNotFound, "999"},
		{"abc", calendar.ErrInvalid, "id:"},
		{"0", calendar.ErrInvalid, "id:"},
		{"-1", calendar.ErrInvalid, "id:"},
		{"0" + e.ID, calendar.ErrInvalid, "id:"},
		{"", calendar.ErrInvalid, "id:"},
	} {
		t.Run(tt.id, func(t *testing.T) {
			_, err := s.Remove(ctx, tt.id, "marie")
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("Remove(%q) = %v, want %v with %q", tt.id, err, tt.want, tt.msg)
			}
		})
	}
	if c, _ := s.Closed("jules-ferry", date(t, "2026-11-11")); !c {
		t.Error("the file's entry is gone after a refused removal")
	}
	if *changed != 2 {
		t.Errorf("Changed called %d times, want 2 (refusals change nothing)", *changed)
	}
}

// Check refuses what the dashboard must not record, naming the field.
func TestAdditionCheck(t *testing.T) {
	long := strings.Repeat("é", 201)
	tests := []struct {
		name string
		a    calendar.Addition
		want string // "" = valid
	}{
		{"one day city-wide", calendar.Addition{From: "2026-11-27", Reason: "Grève"}, ""},
		{"a range for two sites", calendar.Addition{From: "2026-11-27", To: "2026-11-30", Sites: []string{"jules-ferry", "pasteur"}, Reason: "Travaux"}, ""},
		{"a year exactly", calendar.Addition{From: "2026-01-01", To: "2027-01-02", Reason: "x"}, ""},
		{"200 characters", calendar.Addition{From: "2026-11-27", Reason: long[2:]}, ""},
		{"no from", calendar.Addition{To: "2026-11-27", Reason: "Grève"}, "from: required"},
		{"nothing", calendar.Addition{}, "from: required"},
		{"French date", calendar.Addition{From: "27/11/2026", Reason: "Grève"}, `from "27/11/2026"`},
		{"no such day", calendar.Addition{From: "2026-02-30", Reason: "Grève"}, `from "2026-02-30"`},
		{"bad to", calendar.Addition{From: "2026-11-27", To: "2026-11-31", Reason: "Grève"}, `to "2026-11-31"`},
		{"to before from", calendar.Addition{From: "2026-11-27", To: "2026-11-26", Reason: "Grève"}, "to: 2026-11-26 is before from 2026-11-27"},
		{"more than a year", calendar.Addition{From: "2026-01-01", To: "2027-01-03", Reason: "Grève"}, "to: 2026-01-01 to 2027-01-03 is more than a year"},
		{"year 26", calendar.Addition{From: "0026-11-27", Reason: "Grève"}, "from: 0026-11-27 is not a day of this century"},
		{"year 2206", calendar.Addition{From: "2206-11-27", Reason: "Grève"}, "from: 2206-11-27"},
		{"no reason", calendar.Addition{From: "2026-11-27"}, "reason: required"},
		{"blank reason", calendar.Addition{From: "2026-11-27", Reason: " \t "}, "reason: required"},
		{"reason on two lines", calendar.Addition{From: "2026-11-27", Reason: "Grève\nsuite"}, "reason: at most 200 characters on one line"},
		{"reason too long", calendar.Addition{From: "2026-11-27", Reason: long}, "reason: at most 200"},
		{"site not an id", calendar.Addition{From: "2026-11-27", Sites: []string{"Jules Ferry"}, Reason: "Grève"}, `sites: "Jules Ferry" is not a site id`},
		{"empty site", calendar.Addition{From: "2026-11-27", Sites: []string{""}, Reason: "Grève"}, `sites: "" is not a site id`},
		{"empty site list", calendar.Addition{From: "2026-11-27", Sites: []string{}, Reason: "Grève"}, "sites: empty list"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.a.Check()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Check() = %v, want valid", err)
			case tt.want != "" && (err == nil || !errors.Is(err, calendar.ErrInvalid) || !strings.HasPrefix(err.Error(), tt.want[:strings.IndexAny(tt.want, ": \"")]) || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("Check() = %v, want ErrInvalid with %q", err, tt.want)
			}
		})
	}
}
