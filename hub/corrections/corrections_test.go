package corrections

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"pointage/hub/db"
)

func TestAddValidateList(t *testing.T) {
	ctx := context.Background()
	sqlDB, err := db.Open(ctx, filepath.Join(t.TempDir(), "hub.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer sqlDB.Close()
	s, err := New(ctx, sqlDB, nil)
	if err != nil {
		t.Fatal(err)
	}
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
