package users

import (
	"context"
	"database/sql"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"pointage/hub/auth"
	"pointage/hub/db"
)

// testClock is a settable clock.
type testClock struct{ ns atomic.Int64 }

func (c *testClock) now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *testClock) advance(d time.Duration) { c.ns.Add(int64(d)) }

// newTestStore opens a fresh hub.db with bcrypt at its minimum cost (the
// race detector would make cost 10 crawl; the code path is the same).
func newTestStore(t *testing.T) (*Store, *testClock, *sql.DB) {
	t.Helper()
	ctx := context.Background()
	sqlDB, err := db.OpenMigrated(ctx, filepath.Join(t.TempDir(), "hub.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sqlDB.Close() })
	clock := &testClock{}
	clock.ns.Store(time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC).UnixNano())
	return reopen(t, sqlDB, clock), clock, sqlDB
}

// reopen makes a new Store on an existing database, as a restarted hub (or
// the users add command) would.
func reopen(t *testing.T, sqlDB *sql.DB, clock *testClock) *Store {
	t.Helper()
	s, err := New(context.Background(), sqlDB, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.bcrypt.Cost != DefaultBcryptCost || DefaultBcryptCost != 10 {
		t.Fatalf("bcrypt cost %d, default %d: want 10", s.bcrypt.Cost, DefaultBcryptCost)
	}
	FastBcryptForTest(s)
	s.now = clock.now
	return s
}

func mustAdd(t *testing.T, s *Store, name string, role auth.Role, site, password string) User {
	t.Helper()
	u, err := s.Add(context.Background(), name, role, site, password)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
