package outbox

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"time"
)

// Stats are the outbox figures of `pointage-agent outbox` and of the agent's
// Status (docs/DESIGN.md §3, §7).
type Stats struct {
	Epoch   string `json:"epoch"`
	LastSeq uint64 `json:"last_seq"`
	Pending int    `json:"pending"`
	// OldestPendingAt is when the oldest pending event was stored (its
	// CreatedAt); nil when nothing is pending.
	OldestPendingAt *time.Time `json:"oldest_pending_at"`
	AckedThrough    uint64     `json:"acked_through"`
	Held            int        `json:"held"` // events stored, pending or kept for resends
}

const statsQuery = `
SELECT o.epoch, o.last_seq, o.acked_through,
	(SELECT count(*) FROM events WHERE seq > o.acked_through AND acked_at IS NULL),
	(SELECT created_at FROM events WHERE seq > o.acked_through AND acked_at IS NULL ORDER BY seq LIMIT 1),
	(SELECT count(*) FROM events)
FROM outbox o WHERE o.id = 1`

type queryRower interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func readStats(ctx context.Context, q queryRower) (Stats, error) {
	var (
		st                    Stats
		lastSeq, ackedThrough int64
		oldest                sql.NullInt64
	)
	if err := q.QueryRowContext(ctx, statsQuery).Scan(&st.Epoch, &lastSeq, &ackedThrough,
		&st.Pending, &oldest, &st.Held); err != nil {
		return Stats{}, classify(err)
	}
	st.LastSeq, st.AckedThrough = uint64(lastSeq), uint64(ackedThrough)
	if oldest.Valid {
		t := time.UnixMilli(oldest.Int64)
		st.OldestPendingAt = &t
	}
	return st, nil
}

// Stats returns the outbox's figures.
func (o *Outbox) Stats(ctx context.Context) (Stats, error) {
	if err := o.checkOpen(); err != nil {
		return Stats{}, err
	}
	st, err := readStats(ctx, o.db)
	if err != nil {
		return Stats{}, fmt.Errorf("outbox stats: %w", err)
	}
	return st, nil
}

// ReadStats returns the figures of the outbox file at path without writing
// to it: it opens the database read-only, so it works while the agent runs
// (WAL readers do not block the writer). A missing file is an error matching
// fs.ErrNotExist, and no file is created. Like any WAL reader, SQLite may
// create the empty -wal and the -shm index beside an existing file when the
// agent is not running; the database itself is never written.
func ReadStats(ctx context.Context, path string) (Stats, error) {
	if _, err := os.Stat(path); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return Stats{}, fmt.Errorf("outbox %s does not exist yet (the agent creates it on its first start): %w", path, fs.ErrNotExist)
		}
		return Stats{}, fmt.Errorf("outbox %s: %w", path, err)
	}
	dsn, err := fileURI(path, url.Values{
		"mode":    {"ro"},
		"_pragma": {fmt.Sprintf("busy_timeout(%d)", busyTimeoutMS)},
	})
	if err != nil {
		return Stats{}, fmt.Errorf("outbox %s: %w", path, err)
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return Stats{}, fmt.Errorf("outbox %s: %w", path, err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	st, err := readStats(ctx, db)
	if err != nil {
		return Stats{}, fmt.Errorf("read outbox %s: %w", path, err)
	}
	return st, nil
}

// WriteText writes the figures one `key: value` per line (docs/DESIGN.md §7), times
// in RFC 3339 with milliseconds, "-" for no time.
func (s Stats) WriteText(w io.Writer) {
	oldest := "-"
	if s.OldestPendingAt != nil {
		oldest = s.OldestPendingAt.Format(atLayout)
	}
	fmt.Fprintf(w, "epoch: %s\nlast_seq: %d\npending: %d\noldest_pending_at: %s\nacked_through: %d\nheld: %d\n",
		s.Epoch, s.LastSeq, s.Pending, oldest, s.AckedThrough, s.Held)
}
