package ingest

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"pointage/hub/store"
	"pointage/internal/wire"
)

type queued struct {
	rowid int64
	ev    store.Event
}

// writer moves queued events to the store in batches, retries with backoff
// while the store fails, quarantines what it refuses for good, and
// publishes the Acks of what it handled.
//
// Fresh batches come from the pipeline in memory. At start-up, after a
// failure, or when the pipeline could not hand a batch over, the writer is
// in backlog mode and reads the queue from hub.db until it is empty; a batch
// both in memory and read from the database may then be written twice,
// which the store's idempotence makes harmless.
func (in *Ingest) writer(ctx context.Context) {
	backoff := time.Duration(0)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for ctx.Err() == nil {
		var batch []queued
		if backoff > 0 {
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
		} else if !in.backlog.Load() {
			select {
			case <-ctx.Done():
				return
			case batch = <-in.fresh:
			case <-in.wake:
			case <-tick.C:
			}
		}
		var err error
		if len(batch) > 0 && !in.backlog.Load() {
			_, err = in.writeQueued(ctx, batch)
		} else if in.backlog.Load() {
			err = in.drainBacklog(ctx)
		}
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			in.backlog.Store(true)
			backoff = min(max(2*backoff, 100*time.Millisecond), in.opts.MaxBackoff)
			in.metrics.storeErrors.Inc()
			in.log.Warn("store write failed; events stay queued in hub.db and are retried", "retry_in", backoff, "err", err)
			continue
		}
		if backoff > 0 {
			in.log.Info("store writes work again")
		}
		backoff = 0
	}
}

// drainBacklog writes the database queue until it is empty, then leaves
// backlog mode.
func (in *Ingest) drainBacklog(ctx context.Context) error {
	for ctx.Err() == nil {
		// Batches handed over so far are in the database too: drop them
		// before reading it, so none is missed and few are written twice.
	discard:
		for {
			select {
			case <-in.fresh:
			default:
				break discard
			}
		}
		batch, err := in.readQueue(ctx, in.opts.BatchSize)
		if err != nil {
			return err
		}
		if len(batch) == 0 {
			in.backlog.Store(false)
			return nil
		}
		if _, err := in.writeQueued(ctx, batch); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// writeQueued writes one batch of queued events; it returns how many it
// handled.
func (in *Ingest) writeQueued(ctx context.Context, batch []queued) (int, error) {
	in.metrics.queueDepth.Set(float64(len(batch)))
	evs := make([]store.Event, len(batch))
	for i, q := range batch {
		evs[i] = q.ev
	}
	err := in.opts.Store.Write(ctx, evs)
	switch {
	case err == nil:
		return len(batch), in.markHandled(ctx, batch, stateStored, nil)
	case !store.IsPermanent(err):
		return 0, err
	}
	// The store refused the batch for good: find which events, one by one.
	in.log.Warn("the store refused a batch; writing its events one by one to quarantine the bad ones", "events", len(batch), "err", err)
	var stored, bad []queued
	reasons := map[int64]string{}
	for _, q := range batch {
		err := in.opts.Store.Write(ctx, []store.Event{q.ev})
		switch {
		case err == nil:
			stored = append(stored, q)
		case store.IsPermanent(err):
			bad = append(bad, q)
			reasons[q.rowid] = err.Error()
		default:
			// Retryable now: handle what is done, retry the rest later.
			if e := in.markHandled(ctx, stored, stateStored, nil); e != nil {
				return 0, e
			}
			if e := in.markHandled(ctx, bad, stateQuarantined, reasons); e != nil {
				return 0, e
			}
			return 0, err
		}
	}
	if err := in.markHandled(ctx, stored, stateStored, nil); err != nil {
		return 0, err
	}
	for _, q := range bad {
		in.log.Error("event quarantined: the store refused it for good", "device", q.ev.Device, "seq", q.ev.Seq, "reason", reasons[q.rowid])
	}
	return len(batch), in.markHandled(ctx, bad, stateQuarantined, reasons)
}

func (in *Ingest) readQueue(ctx context.Context, limit int) ([]queued, error) {
	rows, err := in.db.QueryContext(ctx, `SELECT rowid, device, epoch, seq, id, site, reader, badge, service, dir, at, received_at, review
		FROM received WHERE state = 0 ORDER BY rowid LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("read the queue: %w", err)
	}
	defer rows.Close()
	var out []queued
	for rows.Next() {
		var q queued
		var seq, recv int64
		var at string
		if err := rows.Scan(&q.rowid, &q.ev.Device, &q.ev.Epoch, &seq, &q.ev.ID, &q.ev.Site, &q.ev.Reader, &q.ev.Badge,
			&q.ev.Service, &q.ev.Dir, &at, &recv, &q.ev.Review); err != nil {
			return nil, err
		}
		q.ev.Seq = uint64(seq)
		q.ev.ReceivedAt = time.UnixMilli(recv)
		if q.ev.At, err = wire.ParseTime(at); err != nil {
			return nil, fmt.Errorf("queued event %s seq %d: %w", q.ev.Device, seq, err)
		}
		out = append(out, q)
	}
	return out, rows.Err()
}

// markHandled records the batch as stored (or quarantined), advances the
// sequence accounting and publishes the Acks.
func (in *Ingest) markHandled(ctx context.Context, batch []queued, state int, reasons map[int64]string) error {
	if len(batch) == 0 {
		return nil
	}
	ids := make([]int64, len(batch))
	for i, q := range batch {
		ids[i] = q.rowid
	}
	list, _ := json.Marshal(ids)
	type ackTo struct {
		site    string
		through uint64
	}
	moved := map[seqKey]ackTo{}
	err := func() error {
		in.writeMu.Lock()
		defer in.writeMu.Unlock()
		tx, err := in.db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		if _, err := tx.ExecContext(ctx, `UPDATE received SET state = ? WHERE rowid IN (SELECT value FROM json_each(?))`, state, string(list)); err != nil {
			return fmt.Errorf("mark stored: %w", err)
		}
		for rowid, reason := range reasons {
			if _, err := tx.ExecContext(ctx, `UPDATE received SET reason = ? WHERE rowid = ?`, clip(reason, 1000), rowid); err != nil {
				return err
			}
		}
		in.mu.Lock()
		for _, q := range batch {
			k := seqKey{q.ev.Device, q.ev.Epoch}
			tr := in.trackers[k]
			if tr == nil { // queued before a restart whose load missed it: rebuild lazily
				tr = newTracker(q.ev.Site)
				in.trackers[k] = tr
			}
			if tr.markStored(q.ev.Seq) {
				moved[k] = ackTo{tr.site, tr.storedThrough}
			}
		}
		in.mu.Unlock()
		for k, a := range moved {
			if _, err := tx.ExecContext(ctx, `UPDATE sequences SET stored_through = MAX(stored_through, ?) WHERE device = ? AND epoch = ?`,
				int64(a.through), k.device, k.epoch); err != nil {
				return err
			}
		}
		// The in-memory accounting may move ahead of the database if the
		// commit fails: a restart recomputes it from the received table, and no
		// Ack is sent.
		return tx.Commit()
	}()
	if err != nil {
		return err
	}
	label := "stored"
	if state == stateQuarantined {
		label = "quarantined"
	}
	in.metrics.checkins.WithLabelValues(label).Add(float64(len(batch)))
	if state == stateStored && in.opts.OnStored != nil {
		evs := make([]store.Event, len(batch))
		for i, q := range batch {
			evs[i] = q.ev
		}
		in.opts.OnStored(evs)
	}
	for k, a := range moved {
		in.ack(a.site, k.device, k.epoch, a.through)
	}
	in.notifyChanged()
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
