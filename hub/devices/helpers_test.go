package devices

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"pointage/hub/db"
	// Version 2 of hub.db is users' step: without it the schema has a hole
	// (versions 1 and 3 only) and is refused.
	_ "pointage/hub/users"
)

// testClock is a settable clock.
type testClock struct{ ns atomic.Int64 }

func (c *testClock) now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *testClock) advance(d time.Duration) { c.ns.Add(int64(d)) }

// newTestRegistry opens a fresh hub.db; bcrypt runs at its minimum cost so
// the race detector does not make tests crawl (the cost is a parameter,
// the code path is the same).
func newTestRegistry(t *testing.T) (*Registry, *testClock) {
	t.Helper()
	ctx := context.Background()
	sqlDB, err := db.OpenMigrated(ctx, filepath.Join(t.TempDir(), "hub.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sqlDB.Close() })
	r, err := New(ctx, sqlDB, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.bcrypt.Cost != DefaultBcryptCost || DefaultBcryptCost < 10 || DefaultBcryptCost > 12 {
		t.Fatalf("bcrypt cost %d, default %d: want 10 to 12", r.bcrypt.Cost, DefaultBcryptCost)
	}
	fastBcrypt(r)
	clock := &testClock{}
	clock.ns.Store(time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC).UnixNano())
	r.now = clock.now
	return r, clock
}

func fastBcrypt(r *Registry) {
	r.bcrypt.Cost = bcrypt.MinCost
}

func mustAdd(t *testing.T, r *Registry, site, device, password string) string {
	t.Helper()
	_, pw, err := r.Add(context.Background(), site, device, password)
	if err != nil {
		t.Fatal(err)
	}
	return pw
}
