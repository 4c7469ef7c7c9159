package sqlitestore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"

	"pointage/hub/store"
)

// errBadWriter means a failed write could not be rolled back: the write
// connection may still be inside the transaction and is discarded.
var errBadWriter = errors.New("write connection discarded")

// writer is the store's one write connection, set up for batch inserts,
// with its INSERT statements prepared once, by number of rows.
//
// Writes are pinned to one connection for two reasons. PRAGMA temp_store
// is per connection and database/sql pools them (hub/db opens them all
// alike). And a statement prepared on a *sql.Conn stays prepared there,
// where one prepared on the pool is prepared again on the connection of
// each transaction (Tx.Stmt). The transaction is therefore run by hand
// (BEGIN IMMEDIATE ... COMMIT on the connection), not with a *sql.Tx,
// which prepares statements anew on each transaction.
type writer struct {
	conn       *sql.Conn
	inserts    map[int]*sql.Stmt // insertSQLFor(n), by n
	findRanges *sql.Stmt         // findRangesSQL, prepared on first use
}

func newWriter(ctx context.Context, sdb *sql.DB) (*writer, error) {
	conn, err := sdb.Conn(ctx)
	if err != nil {
		return nil, err
	}
	// A multi-row INSERT inside a transaction keeps a statement journal
	// (the pages it changes, so it can be undone alone). Past 64 KiB it
	// went to a temporary file: a pwrite per page, ~20% of a write. In
	// memory it is a copy. It is never part of durability: the WAL is.
	if _, err := conn.ExecContext(ctx, "PRAGMA temp_store = MEMORY"); err != nil {
		conn.Close()
		return nil, fmt.Errorf("set up the write connection: %w", err)
	}
	return &writer{conn: conn, inserts: map[int]*sql.Stmt{}}, nil
}

// write stores events in one transaction, synced to disk when it returns
// nil (synchronous=FULL).
func (w *writer) write(ctx context.Context, events []store.Event) (err error) {
	// IMMEDIATE, as hub/db's _txlock sets for every other transaction:
	// the write lock is taken now (or waited for, busy_timeout), not at
	// the first insert where a conflict could not be retried.
	if _, err := w.conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			err = w.rollback(ctx, err)
		}
	}()
	args := make([]any, 0, min(len(events), maxChunk)*13)
	for start := 0; start < len(events); {
		chunk := events[start : start+chunkSize(len(events)-start)]
		start += len(chunk)
		stmt, err := w.insert(ctx, len(chunk))
		if err != nil {
			return err
		}
		args = args[:0]
		for i := range chunk {
			e := &chunk[i]
			args = append(args, e.Device, e.Epoch, int64(e.Seq), e.ID, e.Site,
				e.Reader, e.Badge, e.Service, e.Dir, e.At.Format(atLayout), e.At.UnixMilli(),
				e.ReceivedAt.UnixMilli(), e.Review)
		}
		if _, err := stmt.ExecContext(ctx, args...); err != nil {
			return fmt.Errorf("devices %s… seq %d…: %w", chunk[0].Device, chunk[0].Seq, err)
		}
	}
	// The kept ranges that hold one of these events take them in (ranges.go).
	if err := w.mergeRanges(ctx, events); err != nil {
		return fmt.Errorf("update the kept past days: %w", err)
	}
	if _, err := w.conn.ExecContext(ctx, "COMMIT"); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// rollback ends the failed transaction of err. Run even when ctx has
// ended (the connection must not stay in a transaction); if it fails (the
// transaction may be over, or not), the connection is discarded.
func (w *writer) rollback(ctx context.Context, err error) error {
	_, rbErr := w.conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
	if rbErr == nil {
		return err
	}
	w.discard()
	return fmt.Errorf("%w (rollback: %v; %w)", err, rbErr, errBadWriter)
}

// insert returns the INSERT of n rows, prepared on first use.
func (w *writer) insert(ctx context.Context, n int) (*sql.Stmt, error) {
	if stmt := w.inserts[n]; stmt != nil {
		return stmt, nil
	}
	stmt, err := w.conn.PrepareContext(ctx, insertSQLFor(n))
	if err != nil {
		return nil, err
	}
	w.inserts[n] = stmt
	return stmt, nil
}

// discard closes the connection for good: database/sql closes a
// connection whose Raw function returns driver.ErrBadConn instead of
// pooling it, so no other user can land in a transaction left open.
func (w *writer) discard() {
	w.conn.Raw(func(any) error { return driver.ErrBadConn })
	w.close()
}

// close closes the statements and hands the connection back to the pool
// (after discard: nothing more).
func (w *writer) close() {
	for _, stmt := range w.inserts {
		stmt.Close()
	}
	if w.findRanges != nil {
		w.findRanges.Close()
	}
	w.conn.Close()
}

// insertSQLFor is the INSERT of n events; a known (device, epoch, seq) is
// rewritten (the same event again leaves one copy).
func insertSQLFor(n int) string {
	return `INSERT INTO checkins (device, epoch, seq, id, site, reader, badge, service, dir,
	at, at_utc_ms, received_at_ms, review) VALUES ` +
		strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?),", n), ",") + upsertSQL
}
