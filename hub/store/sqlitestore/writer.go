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
//
// The INSERTs are prepared and run on the driver's connection itself
// (Conn.Raw): database/sql's path checks and copies each of a chunk's
// 13,312 arguments again on every run and took a tenth of the write's CPU
// (BenchmarkWriteCity), for values that are already what the driver takes.
type writer struct {
	conn       *sql.Conn
	inserts    map[int]driver.StmtExecContext // insertSQLFor(n), by n
	findRanges *sql.Stmt                      // findRangesSQL, prepared on first use

	args   []driver.NamedValue // a chunk's arguments, reused
	ats    []byte              // a chunk's At, formatted (atLayout) one after another
	atEnds []int               // where each ends in ats
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
	return &writer{conn: conn, inserts: map[int]driver.StmtExecContext{}}, nil
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
	if err := w.conn.Raw(func(dc any) error { return w.insertAll(ctx, dc, events) }); err != nil {
		return err
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

// insertAll inserts events on dc, the write connection's driver
// connection, in chunks (chunkSize).
func (w *writer) insertAll(ctx context.Context, dc any, events []store.Event) error {
	for start := 0; start < len(events); {
		chunk := events[start : start+chunkSize(len(events)-start)]
		start += len(chunk)
		stmt, err := w.insert(ctx, dc, len(chunk))
		if err != nil {
			return err
		}
		if _, err := stmt.ExecContext(ctx, w.bind(chunk)); err != nil {
			return fmt.Errorf("devices %s… seq %d…: %w", chunk[0].Device, chunk[0].Seq, err)
		}
	}
	return nil
}

// bind returns the arguments of chunk's INSERT, in insertSQLFor's order.
// A batch's events share most of their device, epoch, site, reader,
// service and dir with the event before: the value boxed for that one is
// used again instead of a new copy per event. The times are formatted
// into one buffer and made one string, which each event's At is part of.
func (w *writer) bind(chunk []store.Event) []driver.NamedValue {
	w.ats, w.atEnds = w.ats[:0], w.atEnds[:0]
	for i := range chunk {
		w.ats = chunk[i].At.AppendFormat(w.ats, atLayout)
		w.atEnds = append(w.atEnds, len(w.ats))
	}
	ats := string(w.ats)
	var last [6]string
	var boxed [6]driver.Value
	same := func(col int, v string) driver.Value {
		if boxed[col] == nil || last[col] != v {
			last[col], boxed[col] = v, v
		}
		return boxed[col]
	}
	args, from := w.args[:0], 0
	for i := range chunk {
		e := &chunk[i]
		at := ats[from:w.atEnds[i]]
		from = w.atEnds[i]
		args = append(args,
			driver.NamedValue{Value: same(0, e.Device)},
			driver.NamedValue{Value: same(1, e.Epoch)},
			driver.NamedValue{Value: int64(e.Seq)},
			driver.NamedValue{Value: e.ID},
			driver.NamedValue{Value: same(2, e.Site)},
			driver.NamedValue{Value: same(3, e.Reader)},
			driver.NamedValue{Value: e.Badge},
			driver.NamedValue{Value: same(4, string(e.Service))},
			driver.NamedValue{Value: same(5, string(e.Dir))},
			driver.NamedValue{Value: at},
			driver.NamedValue{Value: e.At.UnixMilli()},
			driver.NamedValue{Value: e.ReceivedAt.UnixMilli()},
			driver.NamedValue{Value: e.Review},
		)
	}
	for i := range args {
		args[i].Ordinal = i + 1
	}
	w.args = args
	return args
}

// insert returns the INSERT of n rows, prepared on dc on first use.
func (w *writer) insert(ctx context.Context, dc any, n int) (driver.StmtExecContext, error) {
	if stmt := w.inserts[n]; stmt != nil {
		return stmt, nil
	}
	pc, ok := dc.(driver.ConnPrepareContext)
	if !ok {
		return nil, fmt.Errorf("sqlite driver connection %T cannot prepare with a context", dc)
	}
	ds, err := pc.PrepareContext(ctx, insertSQLFor(n))
	if err != nil {
		return nil, err
	}
	stmt, ok := ds.(driver.StmtExecContext)
	if !ok {
		ds.Close()
		return nil, fmt.Errorf("sqlite driver statement %T cannot run with a context", ds)
	}
	w.inserts[n] = stmt
	return stmt, nil
}

// discard closes the connection for good: database/sql closes a
// connection whose Raw function returns driver.ErrBadConn instead of
// pooling it, so no other user can land in a transaction left open.
func (w *writer) discard() {
	w.conn.Raw(func(any) error {
		w.closeInserts()
		return driver.ErrBadConn
	})
	w.close()
}

// close closes the statements and hands the connection back to the pool
// (after discard: nothing more).
func (w *writer) close() {
	w.conn.Raw(func(any) error {
		w.closeInserts()
		return nil
	})
	if w.findRanges != nil {
		w.findRanges.Close()
	}
	w.conn.Close()
}

// closeInserts closes the INSERTs (inside Conn.Raw: they are the driver
// connection's).
func (w *writer) closeInserts() {
	for n, stmt := range w.inserts {
		stmt.(driver.Stmt).Close()
		delete(w.inserts, n)
	}
}

// insertSQLFor is the INSERT of n events; a known (device, epoch, seq) is
// rewritten (the same event again leaves one copy).
func insertSQLFor(n int) string {
	return `INSERT INTO checkins (device, epoch, seq, id, site, reader, badge, service, dir,
	at, at_utc_ms, received_at_ms, review) VALUES ` +
		strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?),", n), ",") + upsertSQL
}
