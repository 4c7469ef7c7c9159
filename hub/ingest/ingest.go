package ingest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"pointage/hub/store"
	"pointage/internal/wire"
)

// Publisher sends the hub's messages (Acks, commands) to the broker.
type Publisher interface {
	Publish(topic string, payload []byte, retained bool) error
}

// Registry says whether a device is registered (for --require-registration).
type Registry interface {
	Registered(ctx context.Context, site, device string) bool
}

// Options configure an Ingest.
type Options struct {
	DB        *sql.DB     // the hub's state database
	Store     store.Store // the time-series store
	Publisher Publisher
	TopicRoot string // default "pointage"
	Logger    *slog.Logger
	Now       func() time.Time
	// Registry, when set, refuses check-ins of unregistered devices.
	Registry Registry
	// OnStored, when set, receives every batch of events just stored (the
	// live counts), from the writer goroutine; it must not block.
	OnStored func([]store.Event)
	// Metrics registers the ingest metrics (default: a private registry).
	Metrics prometheus.Registerer

	BatchSize    int           // events per store write (1000)
	BatchDelay   time.Duration // how long a batch waits to fill (5 ms)
	ResendAfter  time.Duration // a gap this old makes the hub ask for a resend (5 s)
	ResendEvery  time.Duration // at most one resend per device and epoch this often (30 s)
	MaxBackoff   time.Duration // between store retries (10 s)
	MaxClockSkew time.Duration // beyond it, events are marked for review (5 min)
}

func (o *Options) ensureDefaults() {
	if o.TopicRoot == "" {
		o.TopicRoot = wire.DefaultRoot
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Metrics == nil {
		o.Metrics = prometheus.NewRegistry()
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 1000
	}
	if o.BatchDelay <= 0 {
		o.BatchDelay = 5 * time.Millisecond
	}
	if o.ResendAfter <= 0 {
		o.ResendAfter = 5 * time.Second
	}
	if o.ResendEvery <= 0 {
		o.ResendEvery = 30 * time.Second
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 10 * time.Second
	}
	if o.MaxClockSkew <= 0 {
		o.MaxClockSkew = 5 * time.Minute
	}
}

type seqKey struct{ device, epoch string }

type clockInfo struct {
	skew   time.Duration
	synced bool
}

// Ingest is the hub's ingest pipeline.
type Ingest struct {
	opts    Options
	db      *sql.DB
	log     *slog.Logger
	metrics *metrics

	msgs     chan message
	wake     chan struct{}
	fresh    chan []queued // batches just queued, handed to the writer in memory
	backlog  atomic.Bool   // the writer must read the queue from hub.db
	done     chan struct{}
	stopOnce sync.Once

	// writeMu serialises the pipeline's and the writer's transactions on
	// hub.db: waiting on a Go mutex is cheaper than SQLite's busy handler,
	// which sleeps. Taken before mu, never inside it.
	writeMu sync.Mutex

	changedMu sync.Mutex
	changed   chan struct{} // closed at the next change (Changed)

	mu       sync.Mutex // guards trackers, clocks and lastLog
	trackers map[seqKey]*tracker
	clocks   map[string]clockInfo // by device
	lastLog  map[string]time.Time // rate limit of rejection logs, by device
}

type message struct {
	topic    string
	payload  []byte
	received time.Time
}

// New creates the tables and loads the sequence accounting.
func New(ctx context.Context, opts Options) (*Ingest, error) {
	opts.ensureDefaults()
	if opts.DB == nil || opts.Store == nil || opts.Publisher == nil {
		return nil, errors.New("ingest: DB, Store and Publisher are required")
	}
	if err := createTables(ctx, opts.DB); err != nil {
		return nil, err
	}
	m, err := newMetrics(opts.Metrics)
	if err != nil {
		return nil, err
	}
	in := &Ingest{
		opts: opts, db: opts.DB, log: opts.Logger, metrics: m,
		msgs:     make(chan message, 16384),
		wake:     make(chan struct{}, 1),
		fresh:    make(chan []queued, 8),
		changed:  make(chan struct{}),
		done:     make(chan struct{}),
		trackers: map[seqKey]*tracker{},
		clocks:   map[string]clockInfo{},
		lastLog:  map[string]time.Time{},
	}
	if err := in.load(ctx); err != nil {
		return nil, err
	}
	in.backlog.Store(true) // whatever a previous run left queued goes first
	return in, nil
}

// Handle takes one MQTT message. It copies the payload and queues it for
// the pipeline; it blocks only while the pipeline's queue is full.
func (in *Ingest) Handle(topic string, payload []byte) {
	m := message{topic: topic, payload: append([]byte(nil), payload...), received: in.opts.Now()}
	select {
	case in.msgs <- m:
	case <-in.done:
	}
}

// Run runs the pipeline, the store writer and the gap watcher until ctx
// ends, and returns after all three stopped.
func (in *Ingest) Run(ctx context.Context) error {
	defer in.stopOnce.Do(func() { close(in.done) })
	var wg sync.WaitGroup
	for _, loop := range []func(context.Context){in.pipeline, in.writer, in.gapWatcher} {
		wg.Add(1)
		go func() { defer wg.Done(); loop(ctx) }()
	}
	wg.Wait()
	return nil
}

func (in *Ingest) wakeWriter() {
	select {
	case in.wake <- struct{}{}:
	default:
	}
}

// pipeline validates messages and queues accepted check-ins in batches.
func (in *Ingest) pipeline(ctx context.Context) {
	batch := make([]message, 0, in.opts.BatchSize)
	for {
		batch = batch[:0]
		select {
		case <-ctx.Done():
			return
		case m := <-in.msgs:
			batch = append(batch, m)
		}
		timer := time.NewTimer(in.opts.BatchDelay)
	fill:
		for len(batch) < in.opts.BatchSize {
			select {
			case m := <-in.msgs:
				batch = append(batch, m)
			case <-timer.C:
				break fill
			case <-ctx.Done():
				break fill
			}
		}
		timer.Stop()
		if err := in.process(ctx, batch); err != nil {
			if ctx.Err() != nil {
				return
			}
			// The queue could not be written: nothing of this batch is
			// acknowledged, so the agents will publish it again.
			in.log.Error("ingest: could not queue a batch; agents will republish it", "messages", len(batch), "err", err)
			in.metrics.queueErrors.Inc()
		}
	}
}

type accepted struct {
	c        wire.CheckIn
	at       time.Time
	received time.Time
	review   bool
	payload  []byte
}

type rejection struct {
	m      message
	site   string
	device string
	reason string
	detail string
}

func (in *Ingest) process(ctx context.Context, batch []message) error {
	var events []accepted
	var rejects []rejection
	var statuses []statusMsg
	for _, m := range batch {
		t, err := wire.ParseTopic(in.opts.TopicRoot, m.topic)
		if err != nil {
			rejects = append(rejects, rejection{m: m, reason: wire.ReasonOf(err), detail: err.Error()})
			continue
		}
		switch t.Kind {
		case wire.KindCheckIn:
			a, rej := in.checkIn(ctx, t, m)
			if rej != nil {
				rejects = append(rejects, *rej)
				continue
			}
			events = append(events, a)
		case wire.KindStatus:
			s, err := wire.DecodeStatus(m.payload)
			if err == nil && (s.Site != t.Site || s.Device != t.Device) {
				err = &wire.Error{Reason: wire.ReasonTopicMismatch, Msg: fmt.Sprintf("payload is %s/%s, topic is %s/%s", s.Site, s.Device, t.Site, t.Device)}
			}
			if err != nil {
				rejects = append(rejects, rejection{m: m, site: t.Site, device: t.Device, reason: wire.ReasonOf(err), detail: err.Error()})
				continue
			}
			statuses = append(statuses, statusMsg{s: s, payload: m.payload, received: m.received})
		default: // ack and cmd are the hub's own; nothing to ingest
		}
	}
	fresh, err := in.queue(ctx, events, rejects, statuses)
	if err != nil {
		return err
	}
	if len(fresh) > 0 {
		select {
		case in.fresh <- fresh:
		default:
			in.backlog.Store(true) // the writer is behind: it reads hub.db
			in.wakeWriter()
		}
	}
	for _, r := range rejects {
		in.logRejection(r)
	}
	for _, s := range statuses {
		in.afterStatus(s)
	}
	if len(statuses) > 0 {
		in.notifyChanged()
	}
	return nil
}

func (in *Ingest) checkIn(ctx context.Context, t wire.Topic, m message) (accepted, *rejection) {
	rej := func(reason, detail string) (accepted, *rejection) {
		return accepted{}, &rejection{m: m, site: t.Site, device: t.Device, reason: reason, detail: detail}
	}
	c, err := wire.DecodeCheckIn(m.payload)
	if err != nil {
		return rej(wire.ReasonOf(err), err.Error())
	}
	if c.Site != t.Site || c.Device != t.Device {
		return rej(wire.ReasonTopicMismatch, fmt.Sprintf("payload is %s/%s, topic is %s/%s", c.Site, c.Device, t.Site, t.Device))
	}
	if in.opts.Registry != nil && !in.opts.Registry.Registered(ctx, c.Site, c.Device) {
		return rej("unregistered", fmt.Sprintf("device %s of site %s is not registered (pointage-hub devices add)", c.Device, c.Site))
	}
	at := c.Time()
	return accepted{c: c, at: at, received: m.received, review: in.needsReview(c.Device, at, m.received), payload: m.payload}, nil
}

var reviewFloor = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)

// needsReview applies DESIGN §4: a skewed or unsynchronised device clock, a
// date in the future or before 2020 mark the event for the office.
func (in *Ingest) needsReview(device string, at, received time.Time) bool {
	if at.Before(reviewFloor) || at.After(received.Add(in.opts.MaxClockSkew)) {
		return true
	}
	in.mu.Lock()
	ci, ok := in.clocks[device]
	in.mu.Unlock()
	return ok && (!ci.synced || ci.skew > in.opts.MaxClockSkew || ci.skew < -in.opts.MaxClockSkew)
}

func (in *Ingest) logRejection(r rejection) {
	in.metrics.rejected.WithLabelValues(r.reason).Inc()
	key := r.site + "/" + r.device
	now := time.Now()
	in.mu.Lock()
	last := in.lastLog[key]
	show := now.Sub(last) >= time.Minute
	if show {
		if len(in.lastLog) > 10000 {
			clear(in.lastLog)
		}
		in.lastLog[key] = now
	}
	in.mu.Unlock()
	if show {
		in.log.Warn("message rejected (logged once a minute per device; all are in the rejected table)",
			"topic", clip(r.m.topic, 200), "reason", r.reason, "detail", clip(r.detail, 300))
	}
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// queue writes a batch's rejections, statuses and check-ins to the state
// database in one transaction: a check-in is recorded once per
// (device, epoch, seq); the same id again is a redelivery, another id a
// conflict.
func (in *Ingest) queue(ctx context.Context, events []accepted, rejects []rejection, statuses []statusMsg) ([]queued, error) {
	if len(events) == 0 && len(rejects) == 0 && len(statuses) == 0 {
		return nil, nil
	}
	in.writeMu.Lock()
	defer in.writeMu.Unlock()
	tx, err := in.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	for _, r := range rejects {
		payload := r.m.payload
		if len(payload) > wire.MaxPayload {
			payload = payload[:wire.MaxPayload]
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO rejected (received_at, topic, site, device, reason, detail, payload) VALUES (?,?,?,?,?,?,?)`,
			r.m.received.UnixMilli(), clip(r.m.topic, 512), r.site, r.device, r.reason, clip(r.detail, 1000), payload); err != nil {
			return nil, fmt.Errorf("record rejection: %w", err)
		}
	}
	for _, s := range statuses {
		if err := in.saveStatus(ctx, tx, s); err != nil {
			return nil, err
		}
	}
	var newOnes []accepted
	var fresh []queued
	var dups, conflicts int
	dupKeys := map[seqKey]string{} // redelivered: the agent may have lost its Ack
	// Multi-row inserts (insertChunk rows a statement): the per-statement
	// cost of database/sql and the driver was a third of the queue's time.
	for start := 0; start < len(events); start += insertChunk {
		chunk := events[start:min(start+insertChunk, len(events))]
		inserted, err := insertReceived(ctx, tx, chunk)
		if err != nil {
			return nil, err
		}
		for _, a := range chunk {
			c := a.c
			k := receivedKey{c.Device, c.Epoch, c.Seq}
			if rowid, ok := inserted[k]; ok {
				delete(inserted, k) // a second copy in the same batch is a redelivery
				newOnes = append(newOnes, a)
				fresh = append(fresh, queued{rowid: rowid, ev: store.Event{ID: c.ID, Site: c.Site, Device: c.Device, Epoch: c.Epoch,
					Reader: c.Reader, Seq: c.Seq, Badge: c.Badge, Service: c.Service, Dir: c.Dir,
					At: a.at.Truncate(time.Millisecond), ReceivedAt: a.received.Truncate(time.Millisecond), Review: a.review}})
				continue
			}
			var storedID string
			if err := tx.QueryRowContext(ctx, `SELECT id FROM received WHERE device=? AND epoch=? AND seq=?`, c.Device, c.Epoch, int64(c.Seq)).Scan(&storedID); err != nil {
				return nil, fmt.Errorf("look up a redelivered check-in: %w", err)
			}
			if storedID == c.ID {
				dups++
				dupKeys[seqKey{c.Device, c.Epoch}] = c.Site
				continue
			}
			conflicts++
			if _, err := tx.ExecContext(ctx, `INSERT INTO conflicts (device, epoch, seq, stored_id, other_id, payload, received_at) VALUES (?,?,?,?,?,?,?)
				ON CONFLICT DO NOTHING`, c.Device, c.Epoch, int64(c.Seq), storedID, c.ID, string(a.payload), a.received.UnixMilli()); err != nil {
				return nil, fmt.Errorf("record conflict: %w", err)
			}
			in.log.Warn("conflict: another event id for a known seq, kept aside", "device", c.Device, "epoch", c.Epoch, "seq", c.Seq, "stored_id", storedID, "other_id", c.ID)
		}
	}
	// Sequence accounting: compute the new figures, persist them with the
	// events, and publish them in memory only after the commit.
	in.mu.Lock()
	changed := map[seqKey]*tracker{}
	for _, a := range newOnes {
		k := seqKey{a.c.Device, a.c.Epoch}
		tr, ok := changed[k]
		if !ok {
			tr = in.trackerCopy(k, a.c.Site)
			changed[k] = tr
		}
		tr.markReceived(a.c.Seq, a.received)
	}
	in.mu.Unlock()
	now := in.opts.Now().UnixMilli()
	for k, tr := range changed {
		if _, err := tx.ExecContext(ctx, `INSERT INTO sequences (device, epoch, site, received_through, stored_through, max_seq, first_seen, last_seen)
			VALUES (?,?,?,?,?,?,?,?) ON CONFLICT (device, epoch) DO UPDATE SET received_through=excluded.received_through, max_seq=excluded.max_seq, last_seen=excluded.last_seen`,
			k.device, k.epoch, tr.site, int64(tr.receivedThrough), int64(tr.storedThrough), int64(tr.maxSeq), now, now); err != nil {
			return nil, fmt.Errorf("update sequences: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	in.mu.Lock()
	for k, tr := range changed {
		cur := in.trackers[k]
		if cur == nil {
			in.trackers[k] = tr
			continue
		}
		// Only the received side changed here; the writer may have moved the
		// stored side meanwhile.
		cur.receivedThrough, cur.received, cur.maxSeq, cur.gapSince = tr.receivedThrough, tr.received, tr.maxSeq, tr.gapSince
	}
	in.mu.Unlock()
	// A redelivery means the agent has no Ack for it (lost, or sent before a
	// hub crash): send the current one again.
	for k, site := range dupKeys {
		in.mu.Lock()
		var through uint64
		if tr := in.trackers[k]; tr != nil {
			through = tr.storedThrough
		}
		in.mu.Unlock()
		if through > 0 {
			in.ack(site, k.device, k.epoch, through)
		}
	}
	in.metrics.checkins.WithLabelValues("queued").Add(float64(len(newOnes)))
	in.metrics.checkins.WithLabelValues("duplicate").Add(float64(dups))
	in.metrics.checkins.WithLabelValues("conflict").Add(float64(conflicts))
	return fresh, nil
}

// insertChunk is how many check-ins one INSERT statement queues (12
// parameters each, far below SQLite's limit of 32,766).
const insertChunk = 64

type receivedKey struct {
	device, epoch string
	seq           uint64
}

// insertReceived queues a chunk of check-ins in one statement and returns
// the rowid of each one that was new (a known (device, epoch, seq) is left
// as it is: the caller tells a redelivery from a conflict).
func insertReceived(ctx context.Context, tx *sql.Tx, chunk []accepted) (map[receivedKey]int64, error) {
	var q strings.Builder
	q.WriteString(`INSERT INTO received (device, epoch, seq, id, site, reader, badge, service, dir, at, received_at, review) VALUES `)
	args := make([]any, 0, len(chunk)*12)
	for i, a := range chunk {
		if i > 0 {
			q.WriteByte(',')
		}
		q.WriteString("(?,?,?,?,?,?,?,?,?,?,?,?)")
		c := a.c
		args = append(args, c.Device, c.Epoch, int64(c.Seq), c.ID, c.Site, c.Reader, c.Badge, c.Service, c.Dir,
			a.at.Format(wire.AtLayout), a.received.UnixMilli(), a.review)
	}
	q.WriteString(` ON CONFLICT (device, epoch, seq) DO NOTHING RETURNING rowid, device, epoch, seq`)
	rows, err := tx.QueryContext(ctx, q.String(), args...)
	if err != nil {
		return nil, fmt.Errorf("queue check-ins: %w", err)
	}
	defer rows.Close()
	out := make(map[receivedKey]int64, len(chunk))
	for rows.Next() {
		var rowid, seq int64
		var k receivedKey
		if err := rows.Scan(&rowid, &k.device, &k.epoch, &seq); err != nil {
			return nil, fmt.Errorf("queue check-ins: %w", err)
		}
		k.seq = uint64(seq)
		out[k] = rowid
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("queue check-ins: %w", err)
	}
	return out, nil
}

// trackerCopy returns a copy of the received side of a tracker (a new one
// if unknown), so a failed transaction leaves the live one untouched.
// Caller holds in.mu.
func (in *Ingest) trackerCopy(k seqKey, site string) *tracker {
	cur := in.trackers[k]
	tr := newTracker(site)
	if cur == nil {
		return tr
	}
	tr.site = cur.site
	tr.receivedThrough, tr.maxSeq, tr.gapSince = cur.receivedThrough, cur.maxSeq, cur.gapSince
	tr.storedThrough = cur.storedThrough
	for s := range cur.received {
		tr.received[s] = struct{}{}
	}
	return tr
}

// ack publishes stored_through for one device and epoch.
func (in *Ingest) ack(site, device, epoch string, through uint64) {
	payload, err := wire.Encode(wire.Ack{V: wire.Version, Epoch: epoch, StoredThrough: through})
	if err != nil {
		return
	}
	if err := in.opts.Publisher.Publish(wire.DeviceTopic(in.opts.TopicRoot, site, device, wire.KindAck), payload, false); err != nil {
		in.log.Warn("could not publish an ack", "device", device, "err", err)
		return
	}
	in.metrics.acks.Inc()
}

// statusMsg is a validated Status and when it arrived.
type statusMsg struct {
	s        wire.Status
	payload  []byte
	received time.Time
}

func (in *Ingest) saveStatus(ctx context.Context, tx *sql.Tx, s statusMsg) error {
	at, _ := wire.ParseTime(s.s.At)
	skew := at.Sub(s.received)
	_, err := tx.ExecContext(ctx, `INSERT INTO device_status (device, site, epoch, state, status, received_at, clock_skew_ms, clock_synced)
		VALUES (?,?,?,?,?,?,?,?) ON CONFLICT (device) DO UPDATE SET site=excluded.site, epoch=excluded.epoch, state=excluded.state,
		status=excluded.status, received_at=excluded.received_at, clock_skew_ms=excluded.clock_skew_ms, clock_synced=excluded.clock_synced`,
		s.s.Device, s.s.Site, s.s.Epoch, s.s.State, string(s.payload), s.received.UnixMilli(), skew.Milliseconds(), s.s.ClockSynced)
	if err != nil {
		return fmt.Errorf("save status: %w", err)
	}
	return nil
}

// afterStatus updates the device's clock figures and, when it comes
// online, sends it the Ack of its epoch (DESIGN §3).
func (in *Ingest) afterStatus(s statusMsg) {
	if s.s.State != wire.StateOnline {
		return
	}
	at, _ := wire.ParseTime(s.s.At)
	in.mu.Lock()
	in.clocks[s.s.Device] = clockInfo{skew: at.Sub(s.received), synced: s.s.ClockSynced}
	tr := in.trackers[seqKey{s.s.Device, s.s.Epoch}]
	var through uint64
	if tr != nil {
		through = tr.storedThrough
	}
	in.mu.Unlock()
	if through > 0 {
		in.ack(s.s.Site, s.s.Device, s.s.Epoch, through)
	}
}

// load rebuilds the sequence accounting from the state database.
func (in *Ingest) load(ctx context.Context) error {
	rows, err := in.db.QueryContext(ctx, `SELECT device, epoch, site, received_through, stored_through, max_seq FROM sequences`)
	if err != nil {
		return fmt.Errorf("ingest: load sequences: %w", err)
	}
	type row struct {
		k                 seqKey
		site              string
		recv, stor, maxSq int64
	}
	var all []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.k.device, &r.k.epoch, &r.site, &r.recv, &r.stor, &r.maxSq); err != nil {
			rows.Close()
			return err
		}
		all = append(all, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	now := in.opts.Now()
	for _, r := range all {
		tr := newTracker(r.site)
		tr.receivedThrough, tr.storedThrough = uint64(r.recv), uint64(r.stor)
		low := min(r.recv, r.stor)
		seqs, err := in.db.QueryContext(ctx, `SELECT seq, state FROM received WHERE device=? AND epoch=? AND seq>? ORDER BY seq`, r.k.device, r.k.epoch, low)
		if err != nil {
			return err
		}
		for seqs.Next() {
			var seq int64
			var state int
			if err := seqs.Scan(&seq, &state); err != nil {
				seqs.Close()
				return err
			}
			tr.markReceived(uint64(seq), now)
			if state != statePending {
				tr.markStored(uint64(seq))
			}
		}
		seqs.Close()
		in.trackers[r.k] = tr
	}
	lost, err := in.db.QueryContext(ctx, `SELECT device, epoch, from_seq, to_seq FROM lost`)
	if err != nil {
		return err
	}
	defer lost.Close()
	for lost.Next() {
		var k seqKey
		var from, to int64
		if err := lost.Scan(&k.device, &k.epoch, &from, &to); err != nil {
			return err
		}
		if tr := in.trackers[k]; tr != nil {
			markLost(tr, uint64(from), uint64(to), now)
		}
	}
	return lost.Err()
}

// MaxLostRange is the largest range one declaration may cover.
const MaxLostRange = 100000

// markLost records seqs the office declared lost as arrived and handled.
func markLost(tr *tracker, from, to uint64, now time.Time) {
	for s := from; s <= to; s++ {
		tr.markReceived(s, now)
		tr.markStored(s)
	}
}

// DeclareLost records that the office declared the range [from, to] of a
// device's epoch lost (audited by the correction that asks for it): the
// gap is no longer missing, and the Ack may move past it.
func (in *Ingest) DeclareLost(ctx context.Context, site, device, epoch string, from, to uint64, correctionID string) error {
	if from == 0 || to < from || to-from >= MaxLostRange {
		return fmt.Errorf("declare lost: need 1 <= from_seq <= to_seq and at most %d seqs", MaxLostRange)
	}
	k := seqKey{device, epoch}
	in.mu.Lock()
	_, known := in.trackers[k]
	in.mu.Unlock()
	if !known {
		return fmt.Errorf("declare lost: no sequence known for device %s epoch %q", device, epoch)
	}
	in.writeMu.Lock()
	defer in.writeMu.Unlock()
	if _, err := in.db.ExecContext(ctx, `INSERT INTO lost (device, epoch, from_seq, to_seq, correction_id) VALUES (?,?,?,?,?) ON CONFLICT DO NOTHING`,
		device, epoch, int64(from), int64(to), correctionID); err != nil {
		return fmt.Errorf("declare lost: %w", err)
	}
	in.mu.Lock()
	tr := in.trackers[k]
	before := tr.storedThrough
	markLost(tr, from, to, in.opts.Now())
	through, recv, trSite := tr.storedThrough, tr.receivedThrough, tr.site
	in.mu.Unlock()
	if _, err := in.db.ExecContext(ctx, `UPDATE sequences SET stored_through = MAX(stored_through, ?), received_through = MAX(received_through, ?) WHERE device = ? AND epoch = ?`,
		int64(through), int64(recv), device, epoch); err != nil {
		return err
	}
	if site == "" {
		site = trSite
	}
	if through > before {
		in.ack(site, device, epoch, through)
	}
	in.log.Info("sequence range declared lost", "device", device, "epoch", epoch, "from_seq", from, "to_seq", to, "correction", correctionID)
	return nil
}

// SequenceState is the completeness of one device and epoch.
type SequenceState struct {
	Site            string  `json:"site"`
	Device          string  `json:"device"`
	Epoch           string  `json:"epoch"`
	ReceivedThrough uint64  `json:"received_through"`
	StoredThrough   uint64  `json:"stored_through"`
	MaxSeq          uint64  `json:"max_seq"`
	Missing         []Range `json:"missing"`
}

// Sequences returns the accounting of every device and epoch.
func (in *Ingest) Sequences() []SequenceState {
	in.mu.Lock()
	defer in.mu.Unlock()
	out := make([]SequenceState, 0, len(in.trackers))
	for k, tr := range in.trackers {
		out = append(out, SequenceState{Site: tr.site, Device: k.device, Epoch: k.epoch, ReceivedThrough: tr.receivedThrough,
			StoredThrough: tr.storedThrough, MaxSeq: tr.maxSeq, Missing: tr.missing()})
	}
	return out
}

// Rejected is one refused message, for the office.
type Rejected struct {
	ReceivedAt time.Time `json:"received_at"`
	Topic      string    `json:"topic"`
	Site       string    `json:"site"`
	Device     string    `json:"device"`
	Reason     string    `json:"reason"`
	Detail     string    `json:"detail"`
	Payload    string    `json:"payload"`
}

// RecentRejected lists the latest rejected messages, newest first.
func (in *Ingest) RecentRejected(ctx context.Context, limit int) ([]Rejected, error) {
	rows, err := in.db.QueryContext(ctx, `SELECT received_at, topic, site, device, reason, detail, payload FROM rejected ORDER BY id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Rejected
	for rows.Next() {
		var r Rejected
		var ms int64
		var payload []byte
		if err := rows.Scan(&ms, &r.Topic, &r.Site, &r.Device, &r.Reason, &r.Detail, &payload); err != nil {
			return nil, err
		}
		r.ReceivedAt = time.UnixMilli(ms)
		r.Payload = strings.ToValidUTF8(string(payload), "\uFFFD")
		out = append(out, r)
	}
	return out, rows.Err()
}
