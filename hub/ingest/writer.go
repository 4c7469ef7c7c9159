package ingest

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"pointage/hub/db"
	"pointage/hub/store"
	"pointage/internal/wire"
)

// writer writes the pipeline's batches to the store and publishes the Acks
// of what it handled. While the store fails it keeps the events in hub.db's
// queue (the received table), not in memory, and retries with backoff; it
// quarantines what the store refuses for good.
//
// An event that reaches the store at once is written once: to the store,
// and its id to the handled journal. Until then it is only in memory and in
// the agent's outbox — the hub has not acknowledged it, so after a hub crash
// the agent publishes it again.
func (in *Ingest) writer(ctx context.Context) {
	var backoff time.Duration
	retry := time.NewTimer(0) // first: whatever a previous run left queued
	defer retry.Stop()
	failed := func(err error) {
		backoff = min(max(2*backoff, 100*time.Millisecond), in.opts.MaxBackoff)
		retry.Reset(backoff)
		in.metrics.storeErrors.Inc()
		in.log.Warn("store write failed; events wait in hub.db and are retried", "retry_in", backoff, "err", err)
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-retry.C:
			if err := in.drainQueue(ctx); err != nil {
				if ctx.Err() != nil {
					return
				}
				failed(err)
				continue
			}
			if backoff > 0 {
				in.log.Info("store writes work again")
			}
			backoff = 0
		case batch := <-in.fresh:
			batch = in.coalesce(batch)
			if backoff > 0 { // the store is failing: queue at once, retry on the timer
				in.enqueue(ctx, batch)
				continue
			}
			if rest, err := in.writeBatch(ctx, batch, false); err != nil {
				in.enqueue(ctx, rest)
				if ctx.Err() != nil {
					return
				}
				failed(err)
			}
		}
	}
}

// coalesce appends to batch the batches already waiting, up to BatchSize
// events: the pipeline cuts a batch every BatchDelay, and under load one
// store write (two commits, two fsyncs) per 5 ms of messages would cap the
// rate; a writer that fell behind catches up with bigger writes instead.
func (in *Ingest) coalesce(batch []store.Event) []store.Event {
	for len(batch) < in.opts.BatchSize {
		select {
		case more := <-in.fresh:
			batch = append(batch, more...)
		default:
			return batch
		}
	}
	return batch
}

// drainQueue writes hub.db's queue to the store until it is empty.
func (in *Ingest) drainQueue(ctx context.Context) error {
	for ctx.Err() == nil {
		batch, err := in.readQueue(ctx, in.opts.BatchSize)
		if err != nil {
			return err
		}
		if len(batch) == 0 {
			return nil
		}
		if _, err := in.writeBatch(ctx, batch, true); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// writeBatch writes one batch to the store and records what it handled. On
// a retryable failure it returns the events not handled.
func (in *Ingest) writeBatch(ctx context.Context, batch []store.Event, fromQueue bool) ([]store.Event, error) {
	in.metrics.queueDepth.Set(float64(len(batch)))
	err := in.opts.Store.Write(ctx, batch)
	switch {
	case err == nil:
		if err := in.handled(ctx, batch, nil, nil, fromQueue); err != nil {
			return batch, err
		}
		return nil, nil
	case !store.IsPermanent(err):
		return batch, err
	}
	// The store refused the batch for good: find which events, one by one.
	in.log.Warn("the store refused a batch; writing its events one by one to quarantine the bad ones", "events", len(batch), "err", err)
	var stored, bad []store.Event
	reasons := map[receivedKey]string{}
	for i, ev := range batch {
		err := in.opts.Store.Write(ctx, []store.Event{ev})
		switch {
		case err == nil:
			stored = append(stored, ev)
		case store.IsPermanent(err):
			bad = append(bad, ev)
			reasons[receivedKey{ev.Device, ev.Epoch, ev.Seq}] = err.Error()
		default:
			// Retryable now: record what is done, retry the rest later.
			if e := in.handled(ctx, stored, bad, reasons, fromQueue); e != nil {
				return batch, e
			}
			return batch[i:], err
		}
	}
	for _, ev := range bad {
		in.log.Error("event quarantined: the store refused it for good", "device", ev.Device, "seq", ev.Seq, "reason", reasons[receivedKey{ev.Device, ev.Epoch, ev.Seq}])
	}
	if err := in.handled(ctx, stored, bad, reasons, fromQueue); err != nil {
		return batch, err
	}
	return nil, nil
}

// enqueue keeps events the store did not take in hub.db's queue. If even
// that fails, the hub forgets them: they are not acknowledged, so their
// agents publish them again.
func (in *Ingest) enqueue(ctx context.Context, batch []store.Event) {
	if len(batch) == 0 {
		return
	}
	err := func() error {
		in.writeMu.Lock()
		defer in.writeMu.Unlock()
		return db.WithTx(ctx, in.db, func(tx *sql.Tx) error {
			stmt, err := tx.PrepareContext(ctx, `INSERT INTO received (device, epoch, seq, id, site, reader, badge, service, dir, at, received_at, review)
				VALUES (?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT (device, epoch, seq) DO NOTHING`)
			if err != nil {
				return err
			}
			defer stmt.Close()
			for _, ev := range batch {
				if _, err := stmt.ExecContext(ctx, ev.Device, ev.Epoch, int64(ev.Seq), ev.ID, ev.Site, ev.Reader, ev.Badge, ev.Service, ev.Dir,
					ev.At.Format(wire.AtLayout), ev.ReceivedAt.UnixMilli(), ev.Review); err != nil {
					return err
				}
			}
			return nil
		})
	}()
	if err == nil {
		return
	}
	in.metrics.queueErrors.Inc()
	in.log.Error("could not queue events in hub.db while the store fails; their agents will publish them again", "events", len(batch), "err", err)
	in.mu.Lock()
	for _, ev := range batch {
		if tr := in.trackers[seqKey{ev.Device, ev.Epoch}]; tr != nil {
			delete(tr.pending, ev.Seq)
		}
	}
	in.mu.Unlock()
}

func (in *Ingest) readQueue(ctx context.Context, limit int) ([]store.Event, error) {
	rows, err := in.db.QueryContext(ctx, `SELECT device, epoch, seq, id, site, reader, badge, service, dir, at, received_at, review
		FROM received WHERE state = 0 ORDER BY rowid LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("read the queue: %w", err)
	}
	defer rows.Close()
	var out []store.Event
	for rows.Next() {
		var ev store.Event
		var seq, recv int64
		var at string
		if err := rows.Scan(&ev.Device, &ev.Epoch, &seq, &ev.ID, &ev.Site, &ev.Reader, &ev.Badge,
			&ev.Service, &ev.Dir, &at, &recv, &ev.Review); err != nil {
			return nil, err
		}
		ev.Seq = uint64(seq)
		ev.ReceivedAt = time.UnixMilli(recv)
		if ev.At, err = wire.ParseTime(at); err != nil {
			return nil, fmt.Errorf("queued event %s seq %d: %w", ev.Device, seq, err)
		}
		out = append(out, ev)
	}
	return out, rows.Err()
}

// handled records events as stored (or quarantined, with their reasons):
// their ids in the handled journal, the quarantined ones in the received
// table, those that came from the queue out of it, and the new sequence
// figures; then it advances the accounting in memory and publishes the
// Acks. Nothing moves in memory unless the transaction commits.
func (in *Ingest) handled(ctx context.Context, stored, bad []store.Event, reasons map[receivedKey]string, fromQueue bool) error {
	if len(stored)+len(bad) == 0 {
		return nil
	}
	h := handledBatch{stored: stored, bad: bad, reasons: reasons, fromQueue: fromQueue,
		groups: map[seqKey][]seqID{}, sites: map[seqKey]string{}}
	for _, list := range [][]store.Event{stored, bad} {
		for _, ev := range list {
			k := seqKey{ev.Device, ev.Epoch}
			h.groups[k] = append(h.groups[k], seqID{ev.Seq, ev.ID})
			h.sites[k] = ev.Site
		}
	}
	moved, err := in.commitHandled(ctx, h)
	if err != nil {
		return fmt.Errorf("record %d handled events: %w", len(stored)+len(bad), err)
	}
	in.metrics.checkins.WithLabelValues("stored").Add(float64(len(stored)))
	in.metrics.checkins.WithLabelValues("quarantined").Add(float64(len(bad)))
	// The live counts first: a device acked sees its scan counted.
	in.opts.Changes.Stored(stored)
	for k, a := range moved {
		in.ack(a.site, k.device, k.epoch, a.through)
	}
	return nil
}

// handledBatch is one batch the writer handled, grouped by device and epoch.
type handledBatch struct {
	stored, bad []store.Event
	reasons     map[receivedKey]string // why each bad one was refused
	fromQueue   bool                   // read from hub.db's queue (to be taken out of it)
	groups      map[seqKey][]seqID
	sites       map[seqKey]string
}

// ackTo is the Ack a device and epoch gets after a batch.
type ackTo struct {
	site    string
	through uint64
}

// commitHandled writes a handled batch to hub.db and, once committed,
// applies it to the accounting in memory (to the same figures: nothing else
// changes the stored side meanwhile); it returns the Acks that moved.
// writeMu keeps DeclareLost, the only other writer of the stored side, out
// until the new figures are applied.
func (in *Ingest) commitHandled(ctx context.Context, h handledBatch) (map[seqKey]ackTo, error) {
	in.writeMu.Lock()
	defer in.writeMu.Unlock()
	in.mu.Lock()
	next := in.figuresAfter(h)
	in.mu.Unlock()
	now := in.opts.Now().UnixMilli()
	if err := db.WithTx(ctx, in.db, func(tx *sql.Tx) error { return writeHandled(ctx, tx, h, next, now) }); err != nil {
		return nil, err
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	moved := map[seqKey]ackTo{}
	for k, list := range h.groups {
		cur := in.trackers[k]
		for _, s := range list {
			if cur.markStored(s.seq) {
				moved[k] = ackTo{cur.site, cur.storedThrough}
			}
			delete(cur.pending, s.seq)
		}
	}
	return moved, nil
}

// figures is a device and epoch's sequence row after a batch.
type figures struct {
	site                                   string
	receivedThrough, storedThrough, maxSeq uint64
}

// figuresAfter returns, for each device and epoch of the batch, its
// sequence figures once the batch is handled, leaving the trackers as they
// are. Caller holds in.mu.
func (in *Ingest) figuresAfter(h handledBatch) map[seqKey]figures {
	next := make(map[seqKey]figures, len(h.groups))
	for k, list := range h.groups {
		cur := in.trackers[k]
		if cur == nil { // queued before a restart whose load missed it
			cur = newTracker(h.sites[k])
			in.trackers[k] = cur
		}
		next[k] = figures{site: cur.site, receivedThrough: cur.receivedThrough, storedThrough: cur.storedThroughWith(list), maxSeq: cur.maxSeq}
	}
	return next
}

// writeHandled is commitHandled's transaction: the journal, the queue and
// the quarantine, the sequences.
func writeHandled(ctx context.Context, tx *sql.Tx, h handledBatch, next map[seqKey]figures, now int64) error {
	if err := journalHandled(ctx, tx, h.groups, now); err != nil {
		return err
	}
	if h.fromQueue {
		for _, ev := range h.stored {
			if _, err := tx.ExecContext(ctx, `DELETE FROM received WHERE device=? AND epoch=? AND seq=? AND state=?`,
				ev.Device, ev.Epoch, int64(ev.Seq), statePending); err != nil {
				return fmt.Errorf("unqueue stored events: %w", err)
			}
		}
	}
	for _, ev := range h.bad {
		if _, err := tx.ExecContext(ctx, `INSERT INTO received (device, epoch, seq, id, site, reader, badge, service, dir, at, received_at, review, state, reason)
			VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT (device, epoch, seq) DO UPDATE SET state=excluded.state, reason=excluded.reason`,
			ev.Device, ev.Epoch, int64(ev.Seq), ev.ID, ev.Site, ev.Reader, ev.Badge, ev.Service, ev.Dir,
			ev.At.Format(wire.AtLayout), ev.ReceivedAt.UnixMilli(), ev.Review, stateQuarantined,
			clip(h.reasons[receivedKey{ev.Device, ev.Epoch, ev.Seq}], 1000)); err != nil {
			return fmt.Errorf("quarantine: %w", err)
		}
	}
	for k, f := range next {
		if _, err := tx.ExecContext(ctx, `INSERT INTO sequences (device, epoch, site, received_through, stored_through, max_seq, first_seen, last_seen)
			VALUES (?,?,?,?,?,?,?,?) ON CONFLICT (device, epoch) DO UPDATE SET received_through=excluded.received_through,
			stored_through=MAX(stored_through, excluded.stored_through), max_seq=MAX(max_seq, excluded.max_seq), last_seen=excluded.last_seen`,
			k.device, k.epoch, f.site, int64(f.receivedThrough), int64(f.storedThrough), int64(f.maxSeq), now, now); err != nil {
			return fmt.Errorf("update sequences: %w", err)
		}
	}
	return nil
}

// gapWatcher asks agents to resend ranges missing for longer than
// ResendAfter, at most once per ResendEvery per device and epoch.
func (in *Ingest) gapWatcher(ctx context.Context) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		now := in.opts.Now()
		type req struct {
			k    seqKey
			site string
			r    Range
		}
		var reqs []req
		in.mu.Lock()
		for k, tr := range in.trackers {
			if tr.gapSince.IsZero() || now.Sub(tr.gapSince) < in.opts.ResendAfter || now.Sub(tr.lastResend) < in.opts.ResendEvery {
				continue
			}
			gaps := tr.missing()
			if len(gaps) == 0 {
				continue
			}
			tr.lastResend = now
			// One command covering every gap: the agent sends what it holds.
			reqs = append(reqs, req{k, tr.site, Range{From: gaps[0].From, To: gaps[len(gaps)-1].To}})
		}
		in.mu.Unlock()
		for _, r := range reqs {
			payload, _ := wire.Encode(wire.Command{V: wire.Version, Cmd: wire.CmdResend, Epoch: r.k.epoch, FromSeq: r.r.From, ToSeq: r.r.To})
			if err := in.opts.Publisher.Publish(wire.DeviceTopic(in.opts.TopicRoot, r.site, r.k.device, wire.KindCmd), payload, false); err != nil {
				in.log.Warn("could not ask for a resend", "device", r.k.device, "err", err)
				continue
			}
			in.metrics.resends.Inc()
			in.log.Info("asked the agent to resend a gap", "device", r.k.device, "epoch", r.k.epoch, "from_seq", r.r.From, "to_seq", r.r.To)
		}
	}
}
