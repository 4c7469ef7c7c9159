package corrections

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"pointage/hub/db"
)

// openDB opens an empty hub.db, not migrated, closed at the end of the
// test.
func openDB(t *testing.T) *sql.DB {
	t.Helper()
	sqlDB, err := db.Open(context.Background(), filepath.Join(t.TempDir(), "hub.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sqlDB.Close() })
	return sqlDB
}

// openStore is a Store on an empty hub.db, migrated.
func openStore(t *testing.T) *Store {
	t.Helper()
	sqlDB := openDB(t)
	if _, err := db.Migrate(context.Background(), sqlDB); err != nil {
		t.Fatal(err)
	}
	s, err := New(context.Background(), sqlDB, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestAddValidateList(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	at := time.Date(2026, 11, 24, 11, 30, 0, 0, time.FixedZone("NCT", 11*3600))
	ok := []Correction{
		{Kind: AddScan, Site: "jules-ferry", Day: "2026-11-24", PersonID: "E001", Service: "canteen", Dir: "auto", At: &at, User: "marie", Reason: "badge oublié"},
		{Kind: VoidScan, Site: "jules-ferry", Day: "2026-11-24", EventID: "01JDQ3ZC8M6X3W5R2Y7T9K4B1N", User: "marie", Reason: "badge prêté"},
		{Kind: Absence, Site: "jules-ferry", Day: "2026-11-25", PersonID: "E002", User: "marie", Reason: "sortie scolaire"},
		{Kind: CloseClockOut, Site: "jules-ferry", Day: "2026-11-24", PersonID: "S001", At: &at, User: "marie", Reason: "oubli"},
		{Kind: DeclareLost, Site: "pasteur", Day: "2026-11-24", Device: "pa-cantine-1", Epoch: "E1", FromSeq: 3, ToSeq: 4, User: "paul", Reason: "carte SD remplacée"},
	}
	for _, c := range ok {
		got, err := s.Add(ctx, c)
		if err != nil {
			t.Fatalf("%s: %v", c.Kind, err)
		}
		if got.ID == "" || got.CreatedAt.IsZero() {
			t.Fatalf("%s: no id or time: %+v", c.Kind, got)
		}
	}
	bad := []struct {
		name string
		c    Correction
	}{
		{"no reason", Correction{Kind: Absence, Site: "a", Day: "2026-11-24", PersonID: "E1", User: "u"}},
		{"no user", Correction{Kind: Absence, Site: "a", Day: "2026-11-24", PersonID: "E1", Reason: "r"}},
		{"bad day", Correction{Kind: Absence, Site: "a", Day: "24/11/2026", PersonID: "E1", User: "u", Reason: "r"}},
		{"unknown kind", Correction{Kind: "delete", Site: "a", Day: "2026-11-24", User: "u", Reason: "r"}},
		{"add without time", Correction{Kind: AddScan, Site: "a", Day: "2026-11-24", PersonID: "E1", Service: "canteen", Dir: "auto", User: "u", Reason: "r"}},
		{"add bad service", Correction{Kind: AddScan, Site: "a", Day: "2026-11-24", PersonID: "E1", Service: "piscine", Dir: "auto", At: &at, User: "u", Reason: "r"}},
		{"void without event", Correction{Kind: VoidScan, Site: "a", Day: "2026-11-24", User: "u", Reason: "r"}},
		{"lost reversed", Correction{Kind: DeclareLost, Site: "a", Day: "2026-11-24", Device: "d", FromSeq: 5, ToSeq: 3, User: "u", Reason: "r"}},
	}
	for _, b := range bad {
		t.Run(b.name, func(t *testing.T) {
			if _, err := s.Add(ctx, b.c); !errors.Is(err, ErrInvalid) {
				t.Fatalf("got %v, want ErrInvalid", err)
			}
		})
	}
	all, err := s.List(ctx, Filter{Site: "jules-ferry", From: "2026-11-24", To: "2026-11-24"})
	if err != nil || len(all) != 3 {
		t.Fatalf("List: %d, %v", len(all), err)
	}
	if all[0].Kind != AddScan || all[0].At == nil || !all[0].At.Equal(at) || all[0].User != "marie" {
		t.Fatalf("first correction %+v", all[0])
	}
	lost, _ := s.List(ctx, Filter{Kind: DeclareLost})
	if len(lost) != 1 || lost[0].FromSeq != 3 || lost[0].ToSeq != 4 {
		t.Fatalf("declare_lost: %+v", lost)
	}
}

// A correction sent again with its client_id (a tablet retrying a tap whose
// answer it did not get) is recorded once and answered with the first
// record; the same key for something else is refused; another user's key
// is their own; a malformed key is invalid.
func TestClientIDRecordsOnce(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	at := time.Date(2026, 11, 24, 16, 45, 0, 0, time.FixedZone("NCT", 11*3600))
	tap := Correction{Kind: AddScan, Site: "jules-ferry", Day: "2026-11-24", PersonID: "E001", Service: "garderie", Dir: "out",
		At: &at, User: "ecole-jf", Reason: "appel sur tablette", ClientID: "tap-7f3a-01"}
	first, err := s.Add(ctx, tap)
	if err != nil || first.Replay {
		t.Fatalf("first: %+v %v", first, err)
	}
	again, err := s.Add(ctx, tap)
	if err != nil || !again.Replay || again.ID != first.ID || !again.At.Equal(at) {
		t.Fatalf("again: %+v %v, want the first record (%s) as a replay", again, err, first.ID)
	}
	other := tap
	other.Dir = "in"
	if _, err := s.Add(ctx, other); !errors.Is(err, ErrClientIDReused) {
		t.Fatalf("the same key for another tap: %v, want ErrClientIDReused", err)
	}
	elsewhere := tap
	elsewhere.User = "office"
	if got, err := s.Add(ctx, elsewhere); err != nil || got.Replay {
		t.Fatalf("another user's same key: %+v %v, want a record of its own", got, err)
	}
	noKey := tap
	noKey.ClientID = ""
	for range 2 {
		if got, err := s.Add(ctx, noKey); err != nil || got.Replay {
			t.Fatalf("without a key: %+v %v", got, err)
		}
	}
	list, err := s.List(ctx, Filter{PersonID: "E001"})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 4 { // the tap once, the other user's, two without a key
		t.Fatalf("%d corrections recorded, want 4: %+v", len(list), list)
	}
	if list[0].ClientID != "tap-7f3a-01" {
		t.Fatalf("client_id not listed: %+v", list[0])
	}
	for _, bad := range []string{"with space", "é", string(make([]byte, 65))} {
		c := tap
		c.ClientID = bad
		if _, err := s.Add(ctx, c); !errors.Is(err, ErrInvalid) {
			t.Fatalf("client_id %q: %v, want ErrInvalid", bad, err)
		}
	}
}

// A table made by a hub without client_id gets the column when hub.db is
// migrated, and keeps its rows.
func TestClientIDColumnAddedToAnOldTable(t *testing.T) {
	ctx := context.Background()
	sqlDB := openDB(t)
	if _, err := sqlDB.ExecContext(ctx, `CREATE TABLE corrections (id TEXT PRIMARY KEY, kind TEXT NOT NULL, site TEXT NOT NULL,
		day TEXT NOT NULL, person_id TEXT NOT NULL DEFAULT '', service TEXT NOT NULL DEFAULT '', dir TEXT NOT NULL DEFAULT '',
		at TEXT NOT NULL DEFAULT '', event_id TEXT NOT NULL DEFAULT '', device TEXT NOT NULL DEFAULT '', epoch TEXT NOT NULL DEFAULT '',
		from_seq INTEGER NOT NULL DEFAULT 0, to_seq INTEGER NOT NULL DEFAULT 0, user TEXT NOT NULL, reason TEXT NOT NULL,
		created_at INTEGER NOT NULL);
		INSERT INTO corrections (id, kind, site, day, person_id, user, reason, created_at) VALUES ('old', 'absence', 'jules-ferry', '2026-11-20', 'E001', 'marie', 'malade', 1)`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Migrate(ctx, sqlDB); err != nil {
		t.Fatal(err)
	}
	s, err := New(ctx, sqlDB, nil)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 24, 16, 45, 0, 0, time.UTC)
	tap := Correction{Kind: AddScan, Site: "jules-ferry", Day: "2026-11-24", PersonID: "E001", Service: "garderie", Dir: "out",
		At: &at, User: "u", Reason: "r", ClientID: "k1"}
	if _, err := s.Add(ctx, tap); err != nil {
		t.Fatal(err)
	}
	if again, err := s.Add(ctx, tap); err != nil || !again.Replay {
		t.Fatalf("replay on a migrated table: %+v %v", again, err)
	}
	list, err := s.List(ctx, Filter{})
	if err != nil || len(list) != 2 || list[0].ID != "old" {
		t.Fatalf("after the migration: %+v %v", list, err)
	}
	if m, err := db.Migrate(ctx, sqlDB); err != nil || m.Steps != 0 {
		t.Fatalf("migrating again: %+v %v", m, err)
	}
}
