package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math/bits"
	"strings"
	"sync"
	"sync/atomic"
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
CREATE INDEX IF NOT EXISTS checkins_at_site ON checkins (at_utc_ms, site);
`

// One index serves every read: a range of at_utc_ms, of every site or of
// one. Each index costs every insert a B-tree seek and insert: a second
// one, (site, at_utc_ms), made a write ~20% dearer, for the one read that
// no part of the hub makes (days reads every site of a day at once); a
// day of one site now reads the day's range of this index (57 ms instead
// of 4 ms for one site of a 500,000-event city, still far from a scan).
// A database made before keeps its two old indexes, checkins_at
// (at_utc_ms) and checkins_site_at (site, at_utc_ms), until migrate
// replaces them.
const migrateIndexes = `
CREATE INDEX IF NOT EXISTS checkins_at_site ON checkins (at_utc_ms, site);
DROP INDEX IF EXISTS checkins_at;
DROP INDEX IF EXISTS checkins_site_at;
`

// migrate replaces the indexes of a database made by an older hub (a
// one-off: building the index takes ~3 s per million events). It runs in
// one transaction, so a crash leaves either schema, both readable.
func migrate(ctx context.Context, sdb *sql.DB, log *slog.Logger) error {
	var old int
	if err := sdb.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema
		WHERE type = 'index' AND name IN ('checkins_at', 'checkins_site_at')`).Scan(&old); err != nil {
		return err
	}
	if old == 0 {
		return nil
	}
	log.Info("replacing the check-in indexes (once; may take a while on a large store)")
	tx, err := sdb.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, migrateIndexes); err != nil {
		return err
	}
	return tx.Commit()
}

// maxChunk is the most events one INSERT statement writes (13 parameters
// each: 13,312, below SQLite's limit of 32,766). A batch is written in as
// few statements as chunkSize allows: each statement inside a transaction
// copies the pages it touches to a statement journal first, and chunks of
// 64 cost ~5-10% more CPU than one statement per 1,000 events.
const maxChunk = 1024

// chunkSize is how many of n remaining events the next statement writes:
// maxChunk, else the largest power of two not above n. The sizes are then
// few (11), so each has its statement prepared once and cached, where a
// last chunk of any size had to be prepared for every batch.
func chunkSize(n int) int {
	if n >= maxChunk {
		return maxChunk
	}
	return 1 << (bits.Len(uint(n)) - 1)
}

const upsertSQL = `
ON CONFLICT (device, epoch, seq) DO UPDATE SET
	id = excluded.id, site = excluded.site, reader = excluded.reader,
	badge = excluded.badge, service = excluded.service, dir = excluded.dir,
	at = excluded.at, at_utc_ms = excluded.at_utc_ms,
	received_at_ms = excluded.received_at_ms, review = excluded.review`

// selectSQL and selectSiteSQL read a range, of every site or of one (both
// through the index checkins_at_site).
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
	query, args := badgeQuery(q, from, to)
	return s.db.QueryContext(ctx, query, args...)
}

// badgeQuery is the SELECT of queryBadges and its arguments.
func badgeQuery(q store.Query, from, to int64) (string, []any) {
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
	return query, args
}

// oldestSQL and purgeSQL serve the retention (index checkins_at_site).
const (
	oldestSQL = `SELECT min(at_utc_ms) FROM checkins`
	purgeSQL  = `DELETE FROM checkins WHERE at_utc_ms < ?`
)

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
	if err := s.db.QueryRowContext(ctx, oldestSQL).Scan(&oldest); err != nil {
		return 0, fmt.Errorf("purge check-ins: %w", err)
	}
	var total int64
	for cut := oldest.Int64 + 86_400_000; oldest.Valid; cut += 86_400_000 {
		res, err := s.db.ExecContext(ctx, purgeSQL, min(cut, limit))
		if err != nil {
			return total, fmt.Errorf("purge check-ins: %w", err)
		}
		n, _ := res.RowsAffected()
		total += n
		if cut >= limit {
			break
		}
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.gen.Add(1)
	if _, err := s.db.ExecContext(ctx, purgeRangesSQL, limit); err != nil {
		return total, fmt.Errorf("purge check-ins: the kept past days: %w", err)
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
	if err := s.db.QueryRowContext(ctx, oldestSQL).Scan(&oldest); err != nil {
		return time.Time{}, false, fmt.Errorf("read check-ins: %w", err)
	}
	return time.UnixMilli(oldest.Int64).UTC(), oldest.Valid, nil
}

// errClosed is returned by every method called after Close.
var errClosed = errors.New("check-in store is closed")

// Store is the SQLite check-in store. Its methods are safe for concurrent use.
type Store struct {
	path string
	log  *slog.Logger
	db   *sql.DB

	// wmu serialises writes on w, the store's write connection (nil until
	// the first Write, and after a failed rollback discarded it).
	wmu sync.Mutex
	w   *writer
	// gen counts the Writes and Purges that ended (changed, or may have
	// changed, checkins): a range read before one is not kept (ranges.go).
	gen atomic.Uint64
	// now is the clock that says which ranges have ended (time.Now).
	now func() time.Time

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
	if _, err := sdb.ExecContext(ctx, schema+rangesSchema); err != nil {
		sdb.Close()
		return nil, fmt.Errorf("open check-in store %s: create schema: %w", path, err)
	}
	s := &Store{path: path, log: logger.With("store", "sqlite"), db: sdb, now: time.Now}
	if err := migrate(ctx, sdb, s.log); err != nil {
		sdb.Close()
		return nil, fmt.Errorf("open check-in store %s: replace indexes: %w", path, err)
	}
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
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.w == nil {
		if s.w, err = newWriter(ctx, s.db); err != nil {
			return fmt.Errorf("write %d check-ins: %w", len(events), err)
		}
	}
	err = s.w.write(ctx, events)
	s.gen.Add(1) // even after a failure: the transaction may have committed
	if errors.Is(err, errBadWriter) {
		s.w = nil // the next Write takes another connection
	}
	if err != nil {
		return fmt.Errorf("write %d check-ins: %w", len(events), err)
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
	keep := cacheable(q, from, to, s.now())
	var gen uint64
	if keep {
		events, ok, err := s.cachedRange(ctx, from, to)
		if err != nil {
			return nil, fmt.Errorf("read check-ins: %w", err)
		}
		if ok {
			return events, nil
		}
		gen = s.gen.Load() // before reading checkins: see keepRange
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
	if keep {
		if err := s.keepRange(ctx, from, to, gen, events); err != nil {
			// The events are right; only the next read is not faster.
			s.log.Warn("could not keep a past day's events", "err", err)
		}
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
	if s.w != nil { // no Write is running: mu is held
		s.w.close()
	}
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
