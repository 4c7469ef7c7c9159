package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"pointage/hub/db"
	"pointage/hub/store"
)

// atLayout is how At is stored: milliseconds and the device's offset.
const atLayout = "2006-01-02T15:04:05.000Z07:00"

const schema = `
CREATE TABLE IF NOT EXISTS checkins (
	device         TEXT    NOT NULL,
	epoch          TEXT    NOT NULL,
	seq            INTEGER NOT NULL,
	id             TEXT    NOT NULL,
	site           TEXT    NOT NULL,
	reader         TEXT    NOT NULL,
	badge          TEXT    NOT NULL,
	service        TEXT    NOT NULL,
	dir            TEXT    NOT NULL,
	at             TEXT    NOT NULL,
	at_utc_ms      INTEGER NOT NULL,
	received_at_ms INTEGER NOT NULL,
	review         INTEGER NOT NULL,
	PRIMARY KEY (device, epoch, seq)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS checkins_at ON checkins (at_utc_ms);
CREATE INDEX IF NOT EXISTS checkins_site_at ON checkins (site, at_utc_ms);
`

// writeChunk is how many events one INSERT statement writes (13
// parameters each, far below SQLite's limit of 32,766).
const writeChunk = 64

// insertSQLFor is the INSERT of n events; a known (device, epoch, seq) is
// rewritten (the same event again leaves one copy).
func insertSQLFor(n int) string {
	return `INSERT INTO checkins (device, epoch, seq, id, site, reader, badge, service, dir,
	at, at_utc_ms, received_at_ms, review) VALUES ` +
		strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?),", n), ",") + upsertSQL
}

const upsertSQL = `
ON CONFLICT (device, epoch, seq) DO UPDATE SET
	id = excluded.id, site = excluded.site, reader = excluded.reader,
	badge = excluded.badge, service = excluded.service, dir = excluded.dir,
	at = excluded.at, at_utc_ms = excluded.at_utc_ms,
	received_at_ms = excluded.received_at_ms, review = excluded.review`

// selectSQL and selectSiteSQL read a range, of every site (index
// checkins_at) or of one (index checkins_site_at).
const (
	selectSQL = `
SELECT id, site, device, epoch, reader, seq, badge, service, dir, at, received_at_ms, review
FROM checkins
WHERE at_utc_ms >= ? AND at_utc_ms < ?
ORDER BY at_utc_ms, device, seq, epoch`
	selectSiteSQL = `
SELECT id, site, device, epoch, reader, seq, badge, service, dir, at, received_at_ms, review
FROM checkins
WHERE site = ? AND at_utc_ms >= ? AND at_utc_ms < ?
ORDER BY at_utc_ms, device, seq, epoch`
)

// queryBadges reads a range keeping the badges with one of the suffixes
// (scanned in SQLite, without decoding the other rows).
func (s *Store) queryBadges(ctx context.Context, q store.Query, from, to int64) (*sql.Rows, error) {
	query := `SELECT id, site, device, epoch, reader, seq, badge, service, dir, at, received_at_ms, review
FROM checkins WHERE at_utc_ms >= ? AND at_utc_ms < ?`
	args := []any{from, to}
	if q.Site != "" {
		query += ` AND site = ?`
		args = append(args, q.Site)
	}
	var or []string
	for _, suffix := range q.BadgeSuffixes {
		or = append(or, `substr(badge, -?) = ?`)
		args = append(args, len(suffix), suffix)
	}
	query += ` AND (` + strings.Join(or, " OR ") + `) ORDER BY at_utc_ms, device, seq, epoch`
	return s.db.QueryContext(ctx, query, args...)
}

// Purge deletes the events before the instant (the retention), in slices
// of a day so the writer is never held up for long.
func (s *Store) Purge(ctx context.Context, before time.Time) (int64, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return 0, fmt.Errorf("purge check-ins: %w", errClosed)
	}
	limit := ceilMilli(before)
	var oldest sql.NullInt64
	if err := s.db.QueryRowContext(ctx, `SELECT min(at_utc_ms) FROM checkins`).Scan(&oldest); err != nil {
		return 0, fmt.Errorf("purge check-ins: %w", err)
	}
	var total int64
	for cut := oldest.Int64 + 86_400_000; oldest.Valid; cut += 86_400_000 {
		res, err := s.db.ExecContext(ctx, `DELETE FROM checkins WHERE at_utc_ms < ?`, min(cut, limit))
		if err != nil {
			return total, fmt.Errorf("purge check-ins: %w", err)
		}
		n, _ := res.RowsAffected()
		total += n
		if cut >= limit {
			break
		}
	}
	return total, nil
}

// Oldest returns the time of the oldest event.
func (s *Store) Oldest(ctx context.Context) (time.Time, bool, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return time.Time{}, false, fmt.Errorf("read check-ins: %w", errClosed)
	}
	var oldest sql.NullInt64
	if err := s.db.QueryRowContext(ctx, `SELECT min(at_utc_ms) FROM checkins`).Scan(&oldest); err != nil {
		return time.Time{}, false, fmt.Errorf("read check-ins: %w", err)
	}
	return time.UnixMilli(oldest.Int64).UTC(), oldest.Valid, nil
}

// errClosed is returned by every method called after Close.
var errClosed = errors.New("check-in store is closed")

// Store is the SQLite check-in store. Its methods are safe for concurrent use.
type Store struct {
	path        string
	log         *slog.Logger
	db          *sql.DB
	insertChunk *sql.Stmt // insertSQLFor(writeChunk)

	// mu is held for reading by every call in progress and for writing by
	// Close, so Close waits for them and nothing runs on a closed database.
	mu     sync.RWMutex
	closed bool
}

var (
	_ store.Store  = (*Store)(nil)
	_ store.Purger = (*Store)(nil)
)

// Open opens (creating if needed) the check-in store in the SQLite file at
// path. A nil logger discards.
func Open(ctx context.Context, path string, logger *slog.Logger) (*Store, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	sdb, err := db.Open(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("open check-in store: %w", err)
	}
	if _, err := sdb.ExecContext(ctx, schema); err != nil {
		sdb.Close()
		return nil, fmt.Errorf("open check-in store %s: create schema: %w", path, err)
	}
	insertChunk, err := sdb.PrepareContext(ctx, insertSQLFor(writeChunk))
	if err != nil {
		sdb.Close()
		return nil, fmt.Errorf("open check-in store %s: %w", path, err)
	}
	s := &Store{path: path, log: logger.With("store", "sqlite"), db: sdb, insertChunk: insertChunk}
	s.log.Info("check-in store opened", "path", path)
	return s, nil
}

// Write stores events in one transaction; it returns once the transaction
// is committed and synced to disk.
func (s *Store) Write(ctx context.Context, events []store.Event) (err error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return fmt.Errorf("write %d check-ins: %w", len(events), errClosed)
	}
	if len(events) == 0 {
		return nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("write %d check-ins: %w", len(events), err)
	}
	defer func() {
		if err != nil {
			tx.Rollback()
		}
	}()
	// Multi-row statements (writeChunk rows each): the per-statement cost
	// of database/sql and the driver dominated one-row inserts.
	full := tx.StmtContext(ctx, s.insertChunk)
	defer full.Close()
	args := make([]any, 0, writeChunk*13)
	for start := 0; start < len(events); start += writeChunk {
		chunk := events[start:min(start+writeChunk, len(events))]
		args = args[:0]
		for i := range chunk {
			e := &chunk[i]
			args = append(args, e.Device, e.Epoch, int64(e.Seq), e.ID, e.Site,
				e.Reader, e.Badge, e.Service, e.Dir, e.At.Format(atLayout), e.At.UnixMilli(),
				e.ReceivedAt.UnixMilli(), e.Review)
		}
		stmt := full
		if len(chunk) < writeChunk {
			stmt, err = tx.PrepareContext(ctx, insertSQLFor(len(chunk)))
			if err != nil {
				return fmt.Errorf("write %d check-ins: %w", len(events), err)
			}
		}
		_, err = stmt.ExecContext(ctx, args...)
		if stmt != full {
			stmt.Close()
		}
		if err != nil {
			return fmt.Errorf("write %d check-ins: devices %s… seq %d…: %w", len(events), chunk[0].Device, chunk[0].Seq, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("write %d check-ins: commit: %w", len(events), err)
	}
	return nil
}

// Events returns the events whose At lies in [q.From, q.To), ordered by At,
// Device, Seq (then Epoch). At keeps the offset it was written with.
func (s *Store) Events(ctx context.Context, q store.Query) ([]store.Event, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, fmt.Errorf("read check-ins: %w", errClosed)
	}
	from, to := ceilMilli(q.From), ceilMilli(q.To)
	if from >= to {
		return nil, nil
	}
	var rows *sql.Rows
	var err error
	switch {
	case len(q.BadgeSuffixes) > 0:
		rows, err = s.queryBadges(ctx, q, from, to)
	case q.Site == "":
		rows, err = s.db.QueryContext(ctx, selectSQL, from, to)
	default:
		rows, err = s.db.QueryContext(ctx, selectSiteSQL, q.Site, from, to)
	}
	if err != nil {
		return nil, fmt.Errorf("read check-ins: %w", err)
	}
	defer rows.Close()
	var events []store.Event
	for rows.Next() {
		var (
			e          store.Event
			seq        int64
			at         string
			receivedAt int64
		)
		if err := rows.Scan(&e.ID, &e.Site, &e.Device, &e.Epoch, &e.Reader, &seq, &e.Badge,
			&e.Service, &e.Dir, &at, &receivedAt, &e.Review); err != nil {
			return nil, fmt.Errorf("read check-ins: %w", err)
		}
		e.Seq = uint64(seq)
		if e.At, err = time.Parse(time.RFC3339, at); err != nil {
			return nil, fmt.Errorf("read check-ins: device %s seq %d: %w", e.Device, e.Seq, err)
		}
		e.ReceivedAt = time.UnixMilli(receivedAt).UTC()
		events = append(events, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read check-ins: %w", err)
	}
	return events, nil
}

// Close closes the database, after the calls in progress have returned.
// Closing twice is harmless.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	s.insertChunk.Close()
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close check-in store %s: %w", s.path, err)
	}
	return nil
}

// ceilMilli is t in unix milliseconds, rounded up: as every At is a whole
// millisecond, At >= t exactly when At >= ceilMilli(t).
func ceilMilli(t time.Time) int64 {
	ms := t.UnixMilli()
	if t.Nanosecond()%int(time.Millisecond) != 0 {
		ms++
	}
	return ms
}
