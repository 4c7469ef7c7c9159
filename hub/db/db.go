// Package db opens the hub's SQLite databases (modernc.org/sqlite, pure Go)
// with the settings every hub table relies on: WAL, synchronous=FULL, a busy
// timeout and immediate write transactions, and keeps hub.db's schema
// versioned (migrate.go): each package that owns tables in hub.db
// registers its ordered steps (Register), and Migrate brings a database to
// the current version, recorded in PRAGMA user_version. The packages'
// constructors create nothing: they are given a migrated *sql.DB, so the
// hub's state lives in one file, hub.db, under --data-dir.
package db

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"

	_ "modernc.org/sqlite" // the "sqlite" driver
)

// Open opens (creating if needed) the SQLite database at path.
func Open(ctx context.Context, path string) (*sql.DB, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	q := url.Values{}
	for _, p := range []string{"journal_mode(WAL)", "synchronous(FULL)", "busy_timeout(10000)", "foreign_keys(ON)"} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	dsn := "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	db.SetMaxOpenConns(4)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	var mode string
	if err := db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		db.Close()
		return nil, fmt.Errorf("open database %s: journal_mode is %q, want wal (%v)", path, mode, err)
	}
	return db, nil
}

// WithTx runs f in one transaction on d (immediate with Open): committed
// when f returns nil, rolled back otherwise.
func WithTx(ctx context.Context, d *sql.DB, f func(*sql.Tx) error) error {
	tx, err := d.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := f(tx); err != nil {
		return err
	}
	return tx.Commit()
}
