package outbox

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/oklog/ulid/v2"
)

// publishBatch is how many seqs one UPDATE of MarkPublished binds, well
// under SQLite's bound-parameter limit; a variable for the tests.
var publishBatch = 500

const eventColumns = "seq, id, reader, badge, service, dir, at, created_at, published_at, acked_at"

// Append stores s as the next event and returns it. When Append returns
// nil, the event is on disk (the WAL is fsynced) with seq = previous last seq
// + 1. When it returns an error, nothing is stored and no seq is consumed;
// errors.Is(err, ErrUnavailable) tells a condition of the environment (disk
// full, read-only, I/O error) from a bad Scan.
func (o *Outbox) Append(ctx context.Context, s Scan) (Event, error) {
	if err := o.checkOpen(); err != nil {
		return Event{}, err
	}
	if err := s.validate(); err != nil {
		return Event{}, fmt.Errorf("append scan: %w", err)
	}
	now := o.now().Truncate(time.Millisecond)
	at := s.At
	if at.IsZero() {
		at = now
	}
	at = at.Truncate(time.Millisecond)
	id, err := ulid.New(ulid.Timestamp(now), o.entropy)
	if err != nil {
		return Event{}, fmt.Errorf("append scan: new event id: %w", err)
	}
	ev := Event{
		ID: id.String(), Epoch: o.epoch,
		Reader: s.Reader, Badge: s.Badge, Service: s.Service, Dir: s.Dir,
		At: at, CreatedAt: now,
	}

	seq, err := o.insert(ctx, ev)
	if err != nil {
		if ctx.Err() != nil {
			return Event{}, fmt.Errorf("append scan: %w", ctx.Err())
		}
		return Event{}, fmt.Errorf("append scan: %w", classify(err))
	}
	ev.Seq = seq
	return ev, nil
}

func (s Scan) validate() error {
	for _, f := range [...]struct{ name, v string }{
		{"reader", s.Reader}, {"badge", s.Badge}, {"service", string(s.Service)}, {"dir", string(s.Dir)},
	} {
		if f.v == "" {
			return fmt.Errorf("empty %s", f.name)
		}
	}
	return nil
}

// insert assigns the next seq and stores ev in one transaction.
func (o *Outbox) insert(ctx context.Context, ev Event) (uint64, error) {
	tx, err := o.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback() // after a failed statement; SQLite may already have rolled back
	var seq int64
	if err := tx.QueryRowContext(ctx,
		"UPDATE outbox SET last_seq = last_seq + 1 WHERE id = 1 RETURNING last_seq").Scan(&seq); err != nil {
		return 0, fmt.Errorf("next seq: %w", err)
	}
	if _, err := tx.ExecContext(ctx,
		"INSERT INTO events (seq, id, reader, badge, service, dir, at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
		seq, ev.ID, ev.Reader, ev.Badge, ev.Service, ev.Dir, ev.At.Format(atLayout), ev.CreatedAt.UnixMilli()); err != nil {
		return 0, fmt.Errorf("store event: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("commit event: %w", err)
	}
	return uint64(seq), nil
}

// Pending returns up to limit pending (unacknowledged) events with seq >
// afterSeq, in ascending seq order. limit <= 0 means no limit.
func (o *Outbox) Pending(ctx context.Context, afterSeq uint64, limit int) ([]Event, error) {
	if err := o.checkOpen(); err != nil {
		return nil, err
	}
	evs, err := o.query(ctx, `SELECT `+eventColumns+` FROM events
		WHERE seq > max(?, (SELECT acked_through FROM outbox WHERE id = 1)) AND acked_at IS NULL
		ORDER BY seq LIMIT ?`, dbSeq(afterSeq), dbLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("pending events: %w", err)
	}
	return evs, nil
}

// DuePending returns up to limit pending events never published or last
// published before olderThan, in ascending seq order: those to publish again
// (docs/DESIGN.md §4: 30 s without an Ack covering them). limit <= 0 means no limit.
func (o *Outbox) DuePending(ctx context.Context, olderThan time.Time, limit int) ([]Event, error) {
	if err := o.checkOpen(); err != nil {
		return nil, err
	}
	evs, err := o.query(ctx, `SELECT `+eventColumns+` FROM events
		WHERE seq > (SELECT acked_through FROM outbox WHERE id = 1) AND acked_at IS NULL
		  AND (published_at IS NULL OR published_at < ?)
		ORDER BY seq LIMIT ?`, olderThan.UnixMilli(), dbLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("due pending events: %w", err)
	}
	return evs, nil
}

// Range returns the events of epoch with from <= seq <= to that the outbox
// still holds, acknowledged or not, in ascending seq order: what a resend
// command asks for. Another epoch's range is empty.
func (o *Outbox) Range(ctx context.Context, epoch string, from, to uint64) ([]Event, error) {
	if err := o.checkOpen(); err != nil {
		return nil, err
	}
	if epoch != o.epoch || from > to {
		return nil, nil
	}
	evs, err := o.query(ctx, `SELECT `+eventColumns+` FROM events
		WHERE seq BETWEEN ? AND ? ORDER BY seq`, dbSeq(from), dbSeq(to))
	if err != nil {
		return nil, fmt.Errorf("events %d-%d: %w", from, to, err)
	}
	return evs, nil
}

func (o *Outbox) query(ctx context.Context, q string, args ...any) ([]Event, error) {
	rows, err := o.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, classify(err)
	}
	defer rows.Close()
	var evs []Event
	for rows.Next() {
		var (
			ev                 Event
			seq, created       int64
			at                 string
			published, ackedAt sql.NullInt64
		)
		if err := rows.Scan(&seq, &ev.ID, &ev.Reader, &ev.Badge, &ev.Service, &ev.Dir,
			&at, &created, &published, &ackedAt); err != nil {
			return nil, err
		}
		ev.Seq = uint64(seq)
		ev.Epoch = o.epoch
		if ev.At, err = time.Parse(time.RFC3339, at); err != nil {
			return nil, fmt.Errorf("seq %d: bad at %q: %w", seq, at, err)
		}
		ev.CreatedAt = time.UnixMilli(created)
		if published.Valid {
			ev.PublishedAt = time.UnixMilli(published.Int64)
		}
		ev.Acked = ackedAt.Valid
		evs = append(evs, ev)
	}
	if err := rows.Err(); err != nil {
		return nil, classify(err)
	}
	return evs, nil
}

// MarkPublished records that the events seqs were published at at. Unknown
// seqs are ignored.
func (o *Outbox) MarkPublished(ctx context.Context, seqs []uint64, at time.Time) error {
	if err := o.checkOpen(); err != nil {
		return err
	}
	if len(seqs) == 0 {
		return nil
	}
	batch := publishBatch
	err := o.write(ctx, func(tx *sql.Tx) error {
		for start := 0; start < len(seqs); start += batch {
			part := seqs[start:min(start+batch, len(seqs))]
			args := make([]any, 0, len(part)+1)
			args = append(args, at.UnixMilli())
			for _, s := range part {
				args = append(args, dbSeq(s))
			}
			q := "UPDATE events SET published_at = ? WHERE seq IN (?" + strings.Repeat(", ?", len(part)-1) + ")"
			if _, err := tx.ExecContext(ctx, q, args...); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("mark %d events published: %w", len(seqs), err)
	}
	return nil
}

// Ack applies the hub's Ack {epoch, stored_through}: every event of this
// epoch with seq <= storedThrough becomes acknowledged and is no longer
// pending. An Ack for another epoch is ignored (0, nil). Acks are idempotent
// and monotonic: a lower one later un-acks nothing, and one beyond the last
// seq acknowledges only the events that exist. It returns how many events
// the Ack newly acknowledged.
func (o *Outbox) Ack(ctx context.Context, epoch string, storedThrough uint64) (int, error) {
	if err := o.checkOpen(); err != nil {
		return 0, err
	}
	if epoch != o.epoch {
		o.log.Debug("ack for another epoch ignored", "ack_epoch", epoch, "stored_through", storedThrough)
		return 0, nil
	}
	var (
		n                int64
		lastSeq, through int64
	)
	err := o.write(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx,
			"SELECT last_seq, acked_through FROM outbox WHERE id = 1").Scan(&lastSeq, &through); err != nil {
			return err
		}
		target := min(dbSeq(storedThrough), lastSeq)
		if target <= through {
			return nil
		}
		res, err := tx.ExecContext(ctx,
			"UPDATE events SET acked_at = ? WHERE seq > ? AND seq <= ? AND acked_at IS NULL",
			o.now().UnixMilli(), through, target)
		if err != nil {
			return err
		}
		if n, err = res.RowsAffected(); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, "UPDATE outbox SET acked_through = ? WHERE id = 1", target)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("ack through %d: %w", storedThrough, err)
	}
	if storedThrough > uint64(lastSeq) {
		o.log.Warn("ack beyond the last seq", "stored_through", storedThrough, "last_seq", lastSeq)
	}
	return int(n), nil
}

// Prune deletes the acknowledged events acknowledged before ackedBefore
// (the end of the resend window) and returns how many it deleted. Pending
// events are never deleted, and the seq counter is kept.
func (o *Outbox) Prune(ctx context.Context, ackedBefore time.Time) (int, error) {
	if err := o.checkOpen(); err != nil {
		return 0, err
	}
	var n int64
	err := o.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx,
			"DELETE FROM events WHERE acked_at IS NOT NULL AND acked_at < ?", ackedBefore.UnixMilli())
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("prune events acked before %s: %w", ackedBefore.Format(time.RFC3339), err)
	}
	if n > 0 {
		o.log.Debug("outbox pruned", "deleted", n)
	}
	return int(n), nil
}

// write runs fn in a write transaction and commits it.
func (o *Outbox) write(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := o.db.BeginTx(ctx, nil)
	if err != nil {
		return classify(err)
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return classify(err)
	}
	if err := tx.Commit(); err != nil {
		return classify(err)
	}
	return nil
}

// dbSeq converts a seq for SQLite's signed 64-bit integers; no outbox ever
// reaches the clamp, but a hostile Ack or resend could ask for it.
func dbSeq(s uint64) int64 {
	if s > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(s)
}

func dbLimit(limit int) int {
	if limit <= 0 {
		return -1 // SQLite: no limit
	}
	return limit
}
