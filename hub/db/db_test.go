package db

import (
	"context"
	"path/filepath"
	"testing"
)

func TestOpenSettings(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "sub dir", "hub é.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var sync, timeout int
	db.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&sync)
	db.QueryRowContext(ctx, "PRAGMA busy_timeout").Scan(&timeout)
	if sync != 2 || timeout != 10000 {
		t.Fatalf("synchronous=%d busy_timeout=%d", sync, timeout)
	}
}
