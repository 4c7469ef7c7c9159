package ingest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"pointage/hub/changes"
	"pointage/hub/db"
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
	// Changes is told of every batch of events stored and of every status
	// (nil: a feed of its own, which nobody reads).
	Changes *changes.Feed
	// Metrics registers the ingest metrics (default: a private registry).
	Metrics prometheus.Registerer
	// OnStatus, if set, is told each online status once it is recorded,
	// from the pipeline's goroutine (the hub sends a device its reader
	// list from there: docs/DESIGN.md §14). It must not block.
	OnStatus func(wire.Status)

	BatchSize    int           // events per store write (1000)
	BatchDelay   time.Duration // how long a batch waits to fill (5 ms)
	ResendAfter  time.Duration // a gap this old makes the hub ask for a resend (5 s)
	ResendEvery  time.Duration // at most one resend per device and epoch this often (30 s)
	MaxBackoff   time.Duration // between store retries (10 s)
	MaxClockSkew time.Duration // beyond it, events are marked for review (5 min)
}

func (o *Options) ensureDefaults() {
	if o.Changes == nil {
		o.Changes = changes.New()
	}
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
	fresh    chan []store.Event // new check-ins, handed to the writer in memory
	done     chan struct{}
	stopOnce sync.Once

	// writeMu serialises the pipeline's and the writer's transactions on
	// hub.db: waiting on a Go mutex is cheaper than SQLite's busy handler,
	// which sleeps. Taken before mu, never inside it.
	writeMu sync.Mutex

	mu       sync.Mutex // guards trackers, clocks and lastLog
	trackers map[seqKey]*tracker
	clocks   map[string]clockInfo // by device
	lastLog  map[string]time.Time // rate limit of rejection logs, by device
}

type message struct {
	topic    string
	payload  []byte
	received time.Time
	refused  *refusal // set by Refuse: a message refused before it could be read
}

// refusal is what is known of a message the broker refused unread.
type refusal struct{ site, device, reason, detail string }

// New loads the sequence accounting from hub.db, migrated (hub/db).
func New(ctx context.Context, opts Options) (*Ingest, error) {
	opts.ensureDefaults()
	if opts.DB == nil || opts.Store == nil || opts.Publisher == nil {
		return nil, errors.New("ingest: DB, Store and Publisher are required")
	}
	m, err := newMetrics(opts.Metrics)
	if err != nil {
		return nil, err
	}
	in := &Ingest{
		opts: opts, db: opts.DB, log: opts.Logger, metrics: m,
		msgs:     make(chan message, 16384),
		fresh:    make(chan []store.Event, 4),
		done:     make(chan struct{}),
		trackers: map[seqKey]*tracker{},
		clocks:   map[string]clockInfo{},
		lastLog:  map[string]time.Time{},
	}
	if err := in.load(ctx); err != nil {
		return nil, err
	}
	return in, nil
}

// Handle takes one MQTT message. It copies the payload and queues it for
// the pipeline; it blocks only while the pipeline's queue is full.
func (in *Ingest) Handle(topic string, payload []byte) {
	m := message{topic: topic, payload: append([]byte(nil), payload...), received: in.opts.Now()}
	select {
	case in.msgs <- m: // the usual case, without the cost of a two-way select
		return
	default:
	}
	select {
	case in.msgs <- m:
	case <-in.done:
	}
}

// Refuse records a message that was refused before it could be read (the
// embedded broker closes a connection on a packet over its limit without
// reading the topic): a rejection with reason, site and device, no topic
// and an empty payload, so that it shows in /api/v1/rejected (docs/DESIGN.md §15).
func (in *Ingest) Refuse(site, device, reason, detail string) {
	m := message{received: in.opts.Now(), refused: &refusal{site: site, device: device, reason: reason, detail: detail}}
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

// pipeline validates messages, sorts check-ins into new ones, redeliveries
// and conflicts, and hands the new ones to the writer in batches.
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
		batch = in.fill(ctx, batch)
		if err := in.process(ctx, batch); err != nil {
			if ctx.Err() != nil {
				return
			}
			// Rejections, statuses or conflicts could not be recorded, or
			// redeliveries could not be looked up: those check-ins are not
			// acknowledged, so the agents will publish them again.
			in.log.Error("ingest: could not record part of a batch in hub.db; agents will republish what is not acknowledged", "messages", len(batch), "err", err)
			in.metrics.queueErrors.Inc()
		}
	}
}

// fill adds messages to batch until it holds BatchSize or BatchDelay has
// passed. It does not wake for each message: it takes what is waiting,
// sleeps until the delay is over, and takes
// what came meanwhile (up to BatchSize). Waking the pipeline for every message (a channel
// hand-off each) was a good part of the hub's CPU at full rate; a lone
// message waits BatchDelay either way.
func (in *Ingest) fill(ctx context.Context, batch []message) []message {
	deadline := time.Now().Add(in.opts.BatchDelay)
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
	take:
		for len(batch) < in.opts.BatchSize {
			select {
			case m := <-in.msgs:
				batch = append(batch, m)
			default:
				break take
			}
		}
		wait := time.Until(deadline)
		if len(batch) >= in.opts.BatchSize || wait <= 0 {
			return batch
		}
		if timer == nil {
			timer = time.NewTimer(wait)
		} else {
			timer.Reset(wait)
		}
		select {
		case <-timer.C:
		case <-ctx.Done():
			return batch
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
	// Sized once: grown by append, this slice of large structs was a fifth
	// of the bytes the hub allocated at full rate.
	events := make([]accepted, 0, len(batch))
	var rejects []rejection
	var statuses []statusMsg
	for _, m := range batch {
		if r := m.refused; r != nil {
			rejects = append(rejects, rejection{m: m, site: r.site, device: r.device, reason: r.reason, detail: r.detail})
			continue
		}
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
		default: // ack and cmd are the hub's own: nothing a device may send there
			rejects = append(rejects, rejection{m: m, site: t.Site, device: t.Device, reason: wire.ReasonBadTopic,
				detail: fmt.Sprintf("the hub ingests only checkin and status messages, not %s", t.Kind)})
		}
	}
	st, classifyErr := in.classify(ctx, events)
	if len(st.fresh) > 0 {
		in.metrics.checkins.WithLabelValues("queued").Add(float64(len(st.fresh)))
		select {
		case in.fresh <- st.fresh: // the writer takes them; it blocks us while it is behind
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	in.metrics.checkins.WithLabelValues("duplicate").Add(float64(st.dups))
	in.metrics.checkins.WithLabelValues("conflict").Add(float64(len(st.conflicts)))
	for _, cf := range st.conflicts {
		in.log.Warn("conflict: another event id for a known seq, kept aside", "device", cf.a.c.Device, "epoch", cf.a.c.Epoch,
			"seq", cf.a.c.Seq, "stored_id", cf.storedID, "other_id", cf.a.c.ID)
	}
	recordErr := in.record(ctx, rejects, statuses, st.conflicts)
	// A redelivery means the agent has no Ack for it (lost, or sent before a
	// hub crash): send the current one again.
	for k, site := range st.dupKeys {
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
	for _, r := range rejects {
		in.logRejection(r)
	}
	if recordErr == nil {
		in.metrics.statuses.Add(float64(len(statuses)))
	}
	for _, s := range statuses {
		in.afterStatus(s)
	}
	if len(statuses) > 0 {
		in.opts.Changes.Notify()
	}
	return errors.Join(classifyErr, recordErr)
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

// needsReview applies docs/DESIGN.md §4: a skewed or unsynchronised device clock, a
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

// conflict is a check-in whose (device, epoch, seq) the hub already holds
// with another event id.
type conflict struct {
	a        accepted
	storedID string
}

// sorted is a batch's check-ins sorted by classify.
type sorted struct {
	fresh     []store.Event     // new: on their way to the store
	dupKeys   map[seqKey]string // devices that redelivered handled events: Ack them again (site)
	dups      int
	conflicts []conflict
}

// classify tells, for each accepted check-in, a new event from a
// redelivery (same id) and a conflict (another id for a known seq), using
// the events in flight in memory and, for seqs already handled, the
// handled journal. New events are marked arrived and in flight.
func (in *Ingest) classify(ctx context.Context, events []accepted) (sorted, error) {
	out := sorted{dupKeys: map[seqKey]string{}, fresh: make([]store.Event, 0, len(events))}
	var lookups []accepted
	in.mu.Lock()
	for _, a := range events {
		tr := in.trackerOf(a.c)
		switch {
		case in.inFlight(tr, a, &out):
		case tr.handled(a.c.Seq):
			lookups = append(lookups, a) // redelivered late, or declared lost and arriving after all
		default:
			in.accept(tr, a, &out)
		}
	}
	in.mu.Unlock()
	if len(lookups) == 0 {
		return out, nil
	}
	keys := make([]receivedKey, len(lookups))
	for i, a := range lookups {
		keys[i] = receivedKey{a.c.Device, a.c.Epoch, a.c.Seq}
	}
	ids, err := in.handledIDs(ctx, keys)
	if err != nil {
		// Not acknowledged: the agents publish these again.
		return out, fmt.Errorf("%d redelivered check-ins left for their next delivery: %w", len(lookups), err)
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	for i, a := range lookups {
		tr := in.trackerOf(a.c)
		if in.inFlight(tr, a, &out) { // a second copy in this batch
			continue
		}
		id, found := ids[keys[i]]
		switch {
		case !found: // never handled here (declared lost): store it now
			in.accept(tr, a, &out)
		case id == a.c.ID:
			out.dups++
			out.dupKeys[seqKey{a.c.Device, a.c.Epoch}] = a.c.Site
		default:
			out.conflicts = append(out.conflicts, conflict{a: a, storedID: id})
		}
	}
	return out, nil
}

// trackerOf returns the tracker of c's device and epoch, created if new.
// Caller holds in.mu.
func (in *Ingest) trackerOf(c wire.CheckIn) *tracker {
	k := seqKey{c.Device, c.Epoch}
	tr := in.trackers[k]
	if tr == nil {
		tr = newTracker(c.Site)
		in.trackers[k] = tr
	}
	return tr
}

// inFlight sorts a check-in whose seq is on its way to the store: the same
// id is a redelivery (its Ack comes when it is stored), another a conflict.
// Caller holds in.mu.
func (in *Ingest) inFlight(tr *tracker, a accepted, out *sorted) bool {
	id, ok := tr.pending[a.c.Seq]
	switch {
	case !ok:
		return false
	case id == a.c.ID:
		out.dups++
	default:
		out.conflicts = append(out.conflicts, conflict{a: a, storedID: id})
	}
	return true
}

// accept marks a new check-in arrived and in flight. Caller holds in.mu.
func (in *Ingest) accept(tr *tracker, a accepted, out *sorted) {
	c := a.c
	tr.markReceived(c.Seq, a.received)
	if c.Seq <= tr.held {
		tr.recoveryArrival = a.received // recovery.go: the answer is coming
	}
	tr.pending[c.Seq] = c.ID
	out.fresh = append(out.fresh, store.Event{ID: c.ID, Site: c.Site, Device: c.Device, Epoch: c.Epoch,
		Reader: c.Reader, Seq: c.Seq, Badge: c.Badge, Service: c.Service, Dir: c.Dir,
		At: a.at.Truncate(time.Millisecond), ReceivedAt: a.received.Truncate(time.Millisecond), Review: a.review})
}

// record writes a batch's rejections, statuses and conflicts to the state
// database in one transaction (none in the usual batch). If that
// transaction fails, each row is written again in a transaction of its own,
// so that one row hub.db refuses cannot cost the record of the others
// (docs/DESIGN.md §15); only the rows that still fail are in the returned error.
func (in *Ingest) record(ctx context.Context, rejects []rejection, statuses []statusMsg, conflicts []conflict) error {
	if len(rejects) == 0 && len(statuses) == 0 && len(conflicts) == 0 {
		return nil
	}
	in.writeMu.Lock()
	defer in.writeMu.Unlock()
	var rows []func(*sql.Tx) error
	for _, r := range rejects {
		rows = append(rows, func(tx *sql.Tx) error { return in.saveRejection(ctx, tx, r) })
	}
	for _, s := range statuses {
		rows = append(rows, func(tx *sql.Tx) error { return in.saveStatus(ctx, tx, s) })
	}
	for _, cf := range conflicts {
		rows = append(rows, func(tx *sql.Tx) error { return in.saveConflict(ctx, tx, cf) })
	}
	err := db.WithTx(ctx, in.db, func(tx *sql.Tx) error {
		for _, row := range rows {
			if err := row(tx); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil || ctx.Err() != nil || len(rows) == 1 {
		return err
	}
	var errs []error
	for _, row := range rows {
		if err := db.WithTx(ctx, in.db, row); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%d of %d rows: %w", len(errs), len(rows), errors.Join(errs...))
	}
	return nil
}

func (in *Ingest) saveRejection(ctx context.Context, tx *sql.Tx, r rejection) error {
	payload := r.m.payload
	if len(payload) > wire.MaxPayload {
		payload = payload[:wire.MaxPayload]
	}
	if payload == nil { // a zero-length payload (how MQTT clears a retained message): an empty blob, not NULL
		payload = []byte{}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO rejected (received_at, topic, site, device, reason, detail, payload) VALUES (?,?,?,?,?,?,?)`,
		r.m.received.UnixMilli(), clip(r.m.topic, 512), r.site, r.device, r.reason, clip(r.detail, 1000), payload); err != nil {
		return fmt.Errorf("record rejection: %w", err)
	}
	return nil
}

func (in *Ingest) saveConflict(ctx context.Context, tx *sql.Tx, cf conflict) error {
	c := cf.a.c
	if _, err := tx.ExecContext(ctx, `INSERT INTO conflicts (device, epoch, seq, stored_id, other_id, payload, received_at) VALUES (?,?,?,?,?,?,?)
		ON CONFLICT DO NOTHING`, c.Device, c.Epoch, int64(c.Seq), cf.storedID, c.ID, string(cf.a.payload), cf.a.received.UnixMilli()); err != nil {
		return fmt.Errorf("record conflict: %w", err)
	}
	return nil
}

type receivedKey struct {
	device, epoch string
	seq           uint64
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
// online, sends it the Ack of its epoch (docs/DESIGN.md §3).
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
	if in.opts.Registry == nil || in.opts.Registry.Registered(context.Background(), s.s.Site, s.s.Device) {
		in.recover(s.s, in.opts.Now())
	}
	if in.opts.OnStatus != nil {
		in.opts.OnStatus(s.s)
	}
}

// load rebuilds the sequence accounting from the state database: what is
// handled (stored_through, then the handled journal and the quarantine
// above it), what waits in the queue, and the ranges declared lost. What
// arrived is what is handled or queued: events in flight when the hub
// stopped were not acknowledged and come again.
func (in *Ingest) load(ctx context.Context) error {
	rows, err := in.db.QueryContext(ctx, `SELECT device, epoch, site, stored_through, max_seq FROM sequences`)
	if err != nil {
		return fmt.Errorf("ingest: load sequences: %w", err)
	}
	for rows.Next() {
		var k seqKey
		var site string
		var stored, maxSeq int64
		if err := rows.Scan(&k.device, &k.epoch, &site, &stored, &maxSeq); err != nil {
			rows.Close()
			return fmt.Errorf("ingest: load sequences: %w", err)
		}
		tr := newTracker(site)
		tr.storedThrough, tr.maxSeq = uint64(stored), uint64(maxSeq)
		in.trackers[k] = tr
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("ingest: load sequences: %w", err)
	}
	// Devices whose first events were queued (the store was down).
	rows, err = in.db.QueryContext(ctx, `SELECT DISTINCT device, epoch, site FROM received WHERE state = ?`, statePending)
	if err != nil {
		return fmt.Errorf("ingest: load the queue: %w", err)
	}
	for rows.Next() {
		var k seqKey
		var site string
		if err := rows.Scan(&k.device, &k.epoch, &site); err != nil {
			rows.Close()
			return fmt.Errorf("ingest: load the queue: %w", err)
		}
		if in.trackers[k] == nil {
			in.trackers[k] = newTracker(site)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("ingest: load the queue: %w", err)
	}
	now := in.opts.Now()
	for k, tr := range in.trackers {
		if err := in.scanJournal(ctx, k, tr.storedThrough+1, math.MaxInt64, func(e seqID) { tr.markStored(e.seq) }); err != nil {
			return fmt.Errorf("ingest: %w", err)
		}
		if err := in.loadReceived(ctx, k, tr); err != nil {
			return fmt.Errorf("ingest: load the queue of %s/%s: %w", k.device, k.epoch, err)
		}
		tr.receivedThrough = tr.storedThrough
		for s := range tr.stored {
			tr.markReceived(s, now)
		}
		for s := range tr.pending {
			tr.markReceived(s, now)
		}
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

// loadReceived reads a tracker's rows of the received table above its
// stored_through: queued events are in flight again, quarantined ones (and
// stored ones left by hubs before the journal) handled.
func (in *Ingest) loadReceived(ctx context.Context, k seqKey, tr *tracker) error {
	rows, err := in.db.QueryContext(ctx, `SELECT seq, id, state FROM received WHERE device=? AND epoch=? AND seq>?`,
		k.device, k.epoch, int64(tr.storedThrough))
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var seq int64
		var id string
		var state int
		if err := rows.Scan(&seq, &id, &state); err != nil {
			return err
		}
		if state == statePending {
			tr.pending[uint64(seq)] = id
		} else {
			tr.markStored(uint64(seq))
		}
	}
	return rows.Err()
}

// MaxLostRange is the largest range one declaration may cover.
const MaxLostRange = 100000

// CanDeclareLost says why declaring from..to of device and epoch lost
// cannot apply, or nil: it is checked before the correction is recorded,
// since a correction is never deleted.
func (in *Ingest) CanDeclareLost(device, epoch string, from, to uint64) error {
	return CheckLost(in.Sequences(), device, epoch, from, to)
}

// CheckLost is the rule of CanDeclareLost over the sequences seqs: a range
// of at most MaxLostRange seqs, of a device and epoch the hub has a
// sequence of.
func CheckLost(seqs []SequenceState, device, epoch string, from, to uint64) error {
	if to-from >= MaxLostRange {
		return fmt.Errorf("to_seq: at most %d seqs in one declaration", MaxLostRange)
	}
	for _, sq := range seqs {
		if sq.Device == device && sq.Epoch == epoch {
			return nil
		}
	}
	return fmt.Errorf("device: no sequence known for device %s epoch %q", device, epoch)
}

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
	// HeldThrough is what the device's last status said it holds as
	// acknowledged (last_seq - outbox_pending); RecoveryMissing how many of
	// those have not arrived (docs/DESIGN.md §13): 0 but after a hub lost
	// what it had received.
	HeldThrough     uint64 `json:"held_through"`
	RecoveryMissing uint64 `json:"recovery_missing"`
}

// Sequences returns the accounting of every device and epoch.
func (in *Ingest) Sequences() []SequenceState {
	in.mu.Lock()
	defer in.mu.Unlock()
	out := make([]SequenceState, 0, len(in.trackers))
	for k, tr := range in.trackers {
		out = append(out, SequenceState{Site: tr.site, Device: k.device, Epoch: k.epoch, ReceivedThrough: tr.receivedThrough,
			StoredThrough: tr.storedThrough, MaxSeq: tr.maxSeq, Missing: tr.missing(), HeldThrough: tr.held, RecoveryMissing: tr.recoveryMissing()})
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
