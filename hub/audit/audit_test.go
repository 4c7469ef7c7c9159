package audit

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"pointage/hub/db"
)

func open(t *testing.T) (*Log, func(string)) {
	t.Helper()
	ctx := context.Background()
	sqlDB, err := db.OpenMigrated(ctx, filepath.Join(t.TempDir(), "hub.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sqlDB.Close() })
	now := time.Date(2026, 11, 28, 1, 2, 3, 0, time.UTC)
	l, err := New(ctx, sqlDB, func() time.Time { now = now.Add(time.Second); return now })
	if err != nil {
		t.Fatal(err)
	}
	exec := func(q string) {
		t.Helper()
		if _, err := sqlDB.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	return l, exec
}

func record(t *testing.T, l *Log, n int) {
	t.Helper()
	for i := range n {
		if _, err := l.Record(context.Background(), Entry{User: "marie", Role: "office", Action: []string{Login, Correction, Export, ViewChild}[i%4],
			Target: "E00" + string(rune('1'+i%9)), Detail: "raison", Addr: "10.0.0.5"}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestRecordListVerify(t *testing.T) {
	l, _ := open(t)
	ctx := context.Background()
	record(t, l, 8)
	got, err := l.List(ctx, Filter{Action: ViewChild})
	if err != nil || len(got) != 2 || got[0].ID != 8 || got[0].User != "marie" || got[0].Target != "E008" || got[0].Addr != "10.0.0.5" {
		t.Fatalf("list view_child: %+v %v", got, err)
	}
	if got, _ := l.List(ctx, Filter{Limit: 3}); len(got) != 3 || got[0].ID != 8 {
		t.Fatalf("limit: %+v", got)
	}
	if n, err := l.Verify(ctx); n != 8 || err != nil {
		t.Fatalf("verify: %d %v", n, err)
	}
}

// The table refuses changes; with the triggers dropped (someone with the
// file), a change, a removal in the middle or at the end breaks the chain.
func TestTamperingIsFound(t *testing.T) {
	for _, c := range []struct {
		name, sql, want string
	}{
		{"changed", `UPDATE audit_log SET target = 'E009' WHERE id = 3`, "entry 3"},
		{"removed", `DELETE FROM audit_log WHERE id = 4`, "entries 4 to 4 are missing"},
		{"first removed", `DELETE FROM audit_log WHERE id = 1`, "entries 1 to 1 are missing"},
		{"latest removed", `DELETE FROM audit_log WHERE id >= 5`, "entries 5 to 6, the latest, are missing"},
	} {
		t.Run(c.name, func(t *testing.T) {
			l, exec := open(t)
			ctx := context.Background()
			record(t, l, 6)
			for _, q := range []string{`UPDATE audit_log SET user = 'x'`, `DELETE FROM audit_log`} {
				if _, err := l.db.ExecContext(ctx, q); err == nil || !strings.Contains(err.Error(), "append-only") {
					t.Fatalf("%s: want refused as append-only, got %v", q, err)
				}
			}
			exec(`DROP TRIGGER audit_log_no_update`)
			exec(`DROP TRIGGER audit_log_no_delete`)
			exec(c.sql)
			_, err := l.Verify(ctx)
			if !errors.Is(err, ErrBroken) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("verify: want %q, got %v", c.want, err)
			}
		})
	}
}
