package ingest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"pointage/hub/db"
	"pointage/hub/store"
	"pointage/hub/store/sqlitestore"
	"pointage/internal/wire"
)

// recorder is the broker side seen by the hub: it records what ingest
// publishes (Acks and commands).
type recorder struct {
	mu   sync.Mutex
	msgs []published
}

type published struct {
	topic   string
	payload []byte
}

func (r *recorder) Publish(topic string, payload []byte, _ bool) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, published{topic, append([]byte(nil), payload...)})
	return nil
}

// lastAck returns the highest stored_through acknowledged to device/epoch.
func (r *recorder) lastAck(device, epoch string) uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	var n uint64
	for _, m := range r.msgs {
		if !strings.HasSuffix(m.topic, "/"+device+"/ack") {
			continue
		}
		a, err := wire.DecodeAck(m.payload)
		if err == nil && a.Epoch == epoch && a.StoredThrough > n {
			n = a.StoredThrough
		}
	}
	return n
}

func (r *recorder) commands(device string) []wire.Command {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []wire.Command
	for _, m := range r.msgs {
		if strings.HasSuffix(m.topic, "/"+device+"/cmd") {
			if c, err := wire.DecodeCommand(m.payload); err == nil {
				out = append(out, c)
			}
		}
	}
	return out
}

// faultyStore wraps a real store and fails on demand.
type faultyStore struct {
	store.Store
	mu        sync.Mutex
	hold      chan struct{}   // when set, writes wait until it is closed or their context ends
	down      bool            // every write fails, retryably
	refuse    map[string]bool // badges refused for good
	writes    int
	permanent int
}

func (f *faultyStore) Write(ctx context.Context, evs []store.Event) error {
	f.mu.Lock()
	hold := f.hold
	f.mu.Unlock()
	if hold != nil {
		select {
		case <-hold:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	f.mu.Lock()
	f.writes++
	down := f.down
	var bad bool
	for _, e := range evs {
		bad = bad || f.refuse[e.Badge]
	}
	if bad {
		f.permanent++
	}
	f.mu.Unlock()
	if down {
		return errors.New("store unreachable (injected)")
	}
	if bad {
		return fmt.Errorf("field type conflict (injected): %w", store.ErrPermanent)
	}
	return f.Store.Write(ctx, evs)
}

func (f *faultyStore) setDown(v bool) {
	f.mu.Lock()
	f.down = v
	f.mu.Unlock()
}

type env struct {
	t     testing.TB
	in    *Ingest
	pub   *recorder
	store *faultyStore
	stop  func()
}

func newEnv(t testing.TB, dir string, tune func(*Options)) *env {
	t.Helper()
	ctx := context.Background()
	sqlDB, err := db.OpenMigrated(ctx, filepath.Join(dir, "hub.db"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlitestore.Open(ctx, filepath.Join(dir, "checkins.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	return newEnvWith(t, sqlDB, st, tune)
}

// newEnvWith runs an Ingest on the given state database and store.
func newEnvWith(t testing.TB, sqlDB *sql.DB, st store.Store, tune func(*Options)) *env {
	t.Helper()
	ctx := context.Background()
	var err error
	e := &env{t: t, pub: &recorder{}, store: &faultyStore{Store: st, refuse: map[string]bool{}}}
	opts := Options{DB: sqlDB, Store: e.store, Publisher: e.pub, ResendAfter: 300 * time.Millisecond, ResendEvery: time.Hour, MaxBackoff: 200 * time.Millisecond}
	if tune != nil {
		tune(&opts)
	}
	if e.in, err = New(ctx, opts); err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { e.in.Run(runCtx); close(done) }()
	var once sync.Once
	e.stop = func() {
		once.Do(func() {
			cancel()
			<-done
			st.Close()
			sqlDB.Close()
		})
	}
	t.Cleanup(e.stop)
	return e
}

func checkIn(device, epoch string, seq uint64, badge string) (string, []byte) {
	c := wire.CheckIn{V: 1, ID: fmt.Sprintf("ID%s%s%06d", device, epoch, seq), Site: "jules-ferry", Device: device, Epoch: epoch,
		Reader: "entree", Seq: seq, Badge: badge, Service: "canteen", Dir: "auto", At: "2026-11-24T11:32:05.123+11:00"}
	b, _ := wire.Encode(c)
	return wire.DeviceTopic("", "jules-ferry", device, wire.KindCheckIn), b
}

func (e *env) send(device, epoch string, seqs ...uint64) {
	for _, s := range seqs {
		e.in.Handle(checkIn(device, epoch, s, fmt.Sprintf("0A%08X", s)))
	}
}

func (e *env) stored() []store.Event {
	e.t.Helper()
	evs, err := e.store.Events(context.Background(), store.Query{From: time.Date(2026, 11, 23, 13, 0, 0, 0, time.UTC), To: time.Date(2026, 11, 24, 13, 0, 0, 0, time.UTC)})
	if err != nil {
		e.t.Fatal(err)
	}
	return evs
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second) // -race on 2 cores is slow
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// journaled counts the seqs of a device and epoch in the handled journal.
func (e *env) journaled(device, epoch string) int {
	e.t.Helper()
	n := 0
	if err := e.in.scanJournal(context.Background(), seqKey{device, epoch}, 1, math.MaxInt64, func(seqID) { n++ }); err != nil {
		e.t.Fatal(err)
	}
	return n
}

func (e *env) count(q string, args ...any) int {
	var n int
	if err := e.in.db.QueryRow(q, args...).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

func TestStoresOnceAndAcks(t *testing.T) {
	e := newEnv(t, t.TempDir(), nil)
	e.send("d1", "E1", 1, 2, 3)
	waitFor(t, "ack 3", func() bool { return e.pub.lastAck("d1", "E1") == 3 })
	// Redeliveries of the same events are no-ops.
	e.send("d1", "E1", 1, 2, 3)
	e.send("d1", "E1", 4)
	waitFor(t, "ack 4", func() bool { return e.pub.lastAck("d1", "E1") == 4 })
	if n := len(e.stored()); n != 4 {
		t.Fatalf("%d events stored, want 4", n)
	}
	// Another id for a known seq is a conflict, kept aside, not stored.
	topic, payload := checkIn("d1", "E1", 2, "0AFFFFFFFF")
	payload = []byte(strings.Replace(string(payload), "IDd1E1000002", "OTHERID", 1))
	e.in.Handle(topic, payload)
	waitFor(t, "the conflict", func() bool { return e.count(`SELECT count(*) FROM conflicts WHERE seq=2 AND other_id='OTHERID'`) == 1 })
	for _, ev := range e.stored() {
		if ev.Seq == 2 && ev.Badge != "0A00000002" {
			t.Fatalf("the conflicting event overwrote the stored one: %+v", ev)
		}
	}
	if n := len(e.stored()); n != 4 {
		t.Fatalf("%d events stored after the conflict, want 4", n)
	}
}

func TestGapAsksForResendAndAckWaits(t *testing.T) {
	e := newEnv(t, t.TempDir(), nil)
	e.send("d1", "E1", 1, 2, 5, 6)
	waitFor(t, "ack 2", func() bool { return e.pub.lastAck("d1", "E1") == 2 })
	waitFor(t, "a resend command", func() bool { return len(e.pub.commands("d1")) > 0 })
	c := e.pub.commands("d1")[0]
	if c.Cmd != "resend" || c.Epoch != "E1" || c.FromSeq != 3 || c.ToSeq != 4 {
		t.Fatalf("resend command %+v, want 3..4 of E1", c)
	}
	seq := e.in.Sequences()
	if len(seq) != 1 || len(seq[0].Missing) != 1 || seq[0].Missing[0] != (Range{3, 4}) || seq[0].StoredThrough != 2 {
		t.Fatalf("sequences %+v", seq)
	}
	if got := e.pub.lastAck("d1", "E1"); got != 2 {
		t.Fatalf("acked %d past the gap", got)
	}
	e.send("d1", "E1", 4, 3)
	waitFor(t, "ack 6 once the gap is filled", func() bool { return e.pub.lastAck("d1", "E1") == 6 })
	// A new epoch starts a new sequence; the old one stays listed.
	e.send("d1", "E2", 1)
	waitFor(t, "ack 1 of E2", func() bool { return e.pub.lastAck("d1", "E2") == 1 })
	if n := len(e.in.Sequences()); n != 2 {
		t.Fatalf("%d sequences, want 2", n)
	}
}

func TestRejectsBadMessagesWithoutLosingGoodOnes(t *testing.T) {
	e := newEnv(t, t.TempDir(), nil)
	topic, good := checkIn("d1", "E1", 1, "0A00000001")
	bad := []struct {
		topic, payload, reason string
	}{
		{topic, "not json", wire.ReasonBadJSON},
		{topic, strings.Replace(string(good), `"v":1`, `"v":9`, 1), wire.ReasonBadVersion},
		{topic, strings.Replace(string(good), `"service":"canteen"`, `"service":"piscine"`, 1), wire.ReasonBadField},
		{wire.DeviceTopic("", "jules-ferry", "d2", wire.KindCheckIn), string(good), wire.ReasonTopicMismatch},
		{topic, `{"v":1,"pad":"` + strings.Repeat("x", 5000) + `"}`, wire.ReasonTooLarge},
		{"pointage/v1/jules-ferry/d1/other", string(good), wire.ReasonBadTopic},
		{"pointage/v1/jules-ferry/d1/status", `{"v":1}`, wire.ReasonMissingField},
		// docs/DESIGN.md §15: a zero-length payload (how MQTT clears a retained
		// message) was a NULL payload, refused by hub.db: the whole batch's
		// rejections went unrecorded.
		{topic, "", wire.ReasonBadJSON},
		{"pointage/v1/jules-ferry/d1/status", "", wire.ReasonBadJSON},
		{topic, " \r\n", wire.ReasonBadJSON},
		{topic, "null", wire.ReasonBadJSON},
		{topic, strings.Replace(string(good), `"seq":1`, `"seq":1,"seq":2`, 1), wire.ReasonBadJSON}, // was stored as seq 2
		{"pointage/v1/jules-ferry/d1/ack", `{"v":1,"epoch":"E1","stored_through":1}`, wire.ReasonBadTopic},
	}
	for _, b := range bad {
		e.in.Handle(b.topic, []byte(b.payload))
	}
	e.in.Handle(topic, good)
	waitFor(t, "the good event acked", func() bool { return e.pub.lastAck("d1", "E1") == 1 })
	waitFor(t, "every rejection recorded", func() bool { return e.count(`SELECT count(*) FROM rejected`) == len(bad) })
	for _, b := range bad {
		if n := e.count(`SELECT count(*) FROM rejected WHERE reason=?`, b.reason); n == 0 {
			t.Errorf("no rejection with reason %s", b.reason)
		}
	}
	if n := e.count(`SELECT max(length(payload)) FROM rejected`); n > wire.MaxPayload {
		t.Errorf("a rejected payload of %d bytes was kept whole", n)
	}
	rej, err := e.in.RecentRejected(context.Background(), 100)
	if err != nil || len(rej) != len(bad) {
		t.Fatalf("RecentRejected: %d, %v", len(rej), err)
	}
}

// A row that hub.db refuses costs the record of that row only, not of the
// others of its batch (docs/DESIGN.md §15).
func TestOneRefusedRowDoesNotLoseTheBatch(t *testing.T) {
	e := newEnv(t, t.TempDir(), nil)
	// hub.db refuses any rejection whose topic ends in /refused.
	if _, err := e.in.db.Exec(`CREATE TRIGGER refuse BEFORE INSERT ON rejected WHEN NEW.topic LIKE '%/refused'
		BEGIN SELECT RAISE(ABORT, 'refused by the test'); END`); err != nil {
		t.Fatal(err)
	}
	topic, good := checkIn("d1", "E1", 1, "0A00000001")
	e.in.Handle(topic, []byte("not json"))
	e.in.Handle("pointage/v1/jules-ferry/d1/refused", []byte("x"))
	e.in.Handle(topic, []byte("{}"))
	e.in.Handle(topic, good)
	waitFor(t, "the good event acked", func() bool { return e.pub.lastAck("d1", "E1") == 1 })
	waitFor(t, "the two other rejections recorded", func() bool { return e.count(`SELECT count(*) FROM rejected`) == 2 })
	if n := e.count(`SELECT count(*) FROM rejected WHERE topic LIKE '%/refused'`); n != 0 {
		t.Fatalf("%d refused rows recorded", n)
	}
}

func TestStoreDownKeepsEventsAndAcksOnlyWhatIsStored(t *testing.T) {
	e := newEnv(t, t.TempDir(), nil)
	e.store.setDown(true)
	e.send("d1", "E1", 1, 2, 3)
	waitFor(t, "a few failed writes", func() bool { e.store.mu.Lock(); defer e.store.mu.Unlock(); return e.store.writes >= 2 })
	if got := e.pub.lastAck("d1", "E1"); got != 0 {
		t.Fatalf("acked %d while the store is down", got)
	}
	if n := e.count(`SELECT count(*) FROM received WHERE state=0`); n != 3 {
		t.Fatalf("%d events queued, want 3", n)
	}
	e.store.setDown(false)
	waitFor(t, "ack 3 once the store is back", func() bool { return e.pub.lastAck("d1", "E1") == 3 })
	if n := len(e.stored()); n != 3 {
		t.Fatalf("%d stored, want 3", n)
	}
}

func TestPermanentRefusalIsQuarantinedAndAcked(t *testing.T) {
	e := newEnv(t, t.TempDir(), nil)
	e.store.refuse["0A00000002"] = true
	e.send("d1", "E1", 1, 2, 3)
	waitFor(t, "ack 3 (seq 2 quarantined)", func() bool { return e.pub.lastAck("d1", "E1") == 3 })
	if n := e.count(`SELECT count(*) FROM received WHERE state=2 AND seq=2 AND reason LIKE '%field type conflict%'`); n != 1 {
		t.Fatalf("seq 2 not quarantined with its reason")
	}
	if n := len(e.stored()); n != 2 {
		t.Fatalf("%d stored, want 2", n)
	}
}

func TestRestartKeepsAccounting(t *testing.T) {
	dir := t.TempDir()
	e := newEnv(t, dir, nil)
	e.send("d1", "E1", 1, 2, 4)
	waitFor(t, "ack 2", func() bool { return e.pub.lastAck("d1", "E1") == 2 })
	waitFor(t, "seq 4 stored", func() bool { return len(e.stored()) == 3 })
	e.store.setDown(true)
	e.send("d1", "E1", 5)
	waitFor(t, "seq 5 queued", func() bool { return e.count(`SELECT count(*) FROM received WHERE state=0`) == 1 })
	e.stop()

	e2 := newEnv(t, dir, nil)
	seq := e2.in.Sequences()
	if len(seq) != 1 || seq[0].StoredThrough != 2 || seq[0].ReceivedThrough != 2 || seq[0].MaxSeq != 5 || len(seq[0].Missing) != 1 || seq[0].Missing[0] != (Range{3, 3}) {
		t.Fatalf("after restart: %+v", seq)
	}
	e2.send("d1", "E1", 3, 4)
	waitFor(t, "ack 5 after the restart", func() bool { return e2.pub.lastAck("d1", "E1") == 5 })
	if n := len(e2.stored()); n != 5 {
		t.Fatalf("%d stored, want 5", n)
	}
	if n := e2.count(`SELECT count(*) FROM received`); n != 0 {
		t.Fatalf("%d events left in the queue, want none", n)
	}
}

func TestOnlineStatusGetsAckAndClockSkewMarksReview(t *testing.T) {
	e := newEnv(t, t.TempDir(), nil)
	e.send("d1", "E1", 1)
	waitFor(t, "ack 1", func() bool { return e.pub.lastAck("d1", "E1") == 1 })
	before := len(e.pub.msgs)
	// The device comes online with a clock 1 h ahead.
	at := time.Now().Add(time.Hour).Format(wire.AtLayout)
	st := fmt.Sprintf(`{"v":1,"site":"jules-ferry","device":"d1","epoch":"E1","state":"online","at":%q,"clock_synced":true,"last_seq":1,"outbox_pending":0,"oldest_pending_at":null,"readers":[]}`, at)
	e.in.Handle(wire.DeviceTopic("", "jules-ferry", "d1", wire.KindStatus), []byte(st))
	waitFor(t, "an ack on coming online", func() bool { e.pub.mu.Lock(); defer e.pub.mu.Unlock(); return len(e.pub.msgs) > before })
	e.send("d1", "E1", 2)
	waitFor(t, "ack 2", func() bool { return e.pub.lastAck("d1", "E1") == 2 })
	for _, ev := range e.stored() {
		if want := ev.Seq == 2; ev.Review != want {
			t.Errorf("seq %d review=%v, want %v", ev.Seq, ev.Review, want)
		}
	}
	if n := e.count(`SELECT count(*) FROM device_status WHERE device='d1' AND clock_skew_ms > 3500000`); n != 1 {
		t.Fatalf("clock skew not recorded")
	}
}

// An agent that lost its Ack publishes again; the redelivery must bring the
// Ack back, or the agent would republish forever.
func TestRedeliveryIsAckedAgain(t *testing.T) {
	e := newEnv(t, t.TempDir(), nil)
	e.send("d1", "E1", 1, 2)
	waitFor(t, "ack 2", func() bool { return e.pub.lastAck("d1", "E1") == 2 })
	e.pub.mu.Lock()
	e.pub.msgs = nil // the Ack was lost on its way
	e.pub.mu.Unlock()
	e.send("d1", "E1", 2)
	waitFor(t, "ack 2 again after the redelivery", func() bool { return e.pub.lastAck("d1", "E1") == 2 })
}

// A flood of garbage never holds back valid events: 5,000 bad messages
// around 50 good ones, every good one is stored and acknowledged, every
// bad one counted.
func TestGarbageFloodDoesNotStallIngest(t *testing.T) {
	e := newEnv(t, t.TempDir(), nil)
	topic, _ := checkIn("d1", "E1", 1, "0A00000001")
	garbage := [][]byte{[]byte("{"), []byte(`{"v":1}`), []byte("\x00\xff\xfe"), []byte(`[]`), []byte(`{"v":1,"id":"x","site":"jules-ferry","device":"d1","reader":"r","seq":-5}`)}
	for i := 0; i < 5000; i++ {
		if i%100 == 0 {
			e.send("d1", "E1", uint64(i/100+1))
		}
		e.in.Handle(topic, garbage[i%len(garbage)])
	}
	waitFor(t, "the 50 good events acked", func() bool { return e.pub.lastAck("d1", "E1") == 50 })
	waitFor(t, "5,000 rejections recorded", func() bool { return e.count(`SELECT count(*) FROM rejected`) == 5000 })
}

// The office declares a gap lost: it is no longer missing, the Ack moves
// past it, and a restart remembers it.
func TestDeclareLost(t *testing.T) {
	dir := t.TempDir()
	e := newEnv(t, dir, nil)
	e.send("d1", "E1", 1, 2, 5)
	waitFor(t, "ack 2", func() bool { return e.pub.lastAck("d1", "E1") == 2 })
	waitFor(t, "seq 5 stored", func() bool { return len(e.stored()) == 3 })
	if err := e.in.DeclareLost(context.Background(), "jules-ferry", "d1", "E1", 3, 4, "C1"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "ack 5 past the lost range", func() bool { return e.pub.lastAck("d1", "E1") == 5 })
	if seq := e.in.Sequences(); len(seq[0].Missing) != 0 {
		t.Fatalf("still missing: %+v", seq)
	}
	if err := e.in.DeclareLost(context.Background(), "jules-ferry", "d9", "E1", 1, 2, "C2"); err == nil {
		t.Fatal("declared lost for an unknown device")
	}
	e.stop()
	e2 := newEnv(t, dir, nil)
	if seq := e2.in.Sequences(); seq[0].StoredThrough != 5 || len(seq[0].Missing) != 0 {
		t.Fatalf("after restart: %+v", seq)
	}
}

// One batch holding an event, its redelivery and a conflicting copy (more
// than one insert statement's worth of events around them): the first is
// stored once, the redelivery is a duplicate, the other id a conflict.
func TestDuplicatesAndConflictInOneBatch(t *testing.T) {
	e := newEnv(t, t.TempDir(), func(o *Options) { o.BatchDelay = 200 * time.Millisecond })
	var seqs []uint64
	for s := uint64(1); s <= 150; s++ {
		seqs = append(seqs, s)
	}
	e.send("d1", "E1", seqs[:70]...)
	e.send("d1", "E1", 5, 70) // redeliveries, in the same batch
	topic, payload := checkIn("d1", "E1", 7, "0AFFFFFFFF")
	e.in.Handle(topic, []byte(strings.Replace(string(payload), "IDd1E1000007", "OTHERID", 1)))
	e.send("d1", "E1", seqs[70:]...)
	waitFor(t, "ack 150", func() bool { return e.pub.lastAck("d1", "E1") == 150 })
	if n := len(e.stored()); n != 150 {
		t.Fatalf("%d events stored, want 150", n)
	}
	if n := e.count(`SELECT count(*) FROM received`); n != 0 {
		t.Fatalf("%d rows queued, want none (the store took every event at once)", n)
	}
	if n := e.journaled("d1", "E1"); n != 150 {
		t.Fatalf("%d seqs in the handled journal, want 150", n)
	}
	if n := e.count(`SELECT count(*) FROM conflicts WHERE seq = 7 AND other_id = 'OTHERID'`); n != 1 {
		t.Fatalf("%d conflicts, want 1", n)
	}
	for _, ev := range e.stored() {
		if ev.Seq == 7 && ev.Badge != "0A00000007" {
			t.Fatalf("the conflicting copy was stored: %+v", ev)
		}
	}
}

// After a restart, the handled journal still tells a redelivery (same id:
// Acked again, not stored twice) from a conflict (another id: kept aside,
// the stored event unchanged), however late they come.
func TestRedeliveryAndConflictAfterRestart(t *testing.T) {
	dir := t.TempDir()
	e := newEnv(t, dir, nil)
	e.send("d1", "E1", 1, 2, 3)
	waitFor(t, "ack 3", func() bool { return e.pub.lastAck("d1", "E1") == 3 })
	e.stop()

	e2 := newEnv(t, dir, nil)
	e2.send("d1", "E1", 2)
	waitFor(t, "ack 3 again after the redelivery", func() bool { return e2.pub.lastAck("d1", "E1") == 3 })
	topic, payload := checkIn("d1", "E1", 3, "0AFFFFFFFF")
	e2.in.Handle(topic, []byte(strings.Replace(string(payload), "IDd1E1000003", "OTHERID", 1)))
	waitFor(t, "the conflict recorded", func() bool {
		return e2.count(`SELECT count(*) FROM conflicts WHERE seq = 3 AND stored_id = 'IDd1E1000003' AND other_id = 'OTHERID'`) == 1
	})
	got := e2.stored()
	if len(got) != 3 {
		t.Fatalf("%d events stored, want 3", len(got))
	}
	for _, ev := range got {
		if ev.Badge != fmt.Sprintf("0A%08X", ev.Seq) {
			t.Fatalf("seq %d was overwritten: %+v", ev.Seq, ev)
		}
	}
}

// A seq the office declared lost that arrives after all is stored, and the
// Ack does not move back.
func TestLostSeqArrivingLaterIsStored(t *testing.T) {
	e := newEnv(t, t.TempDir(), nil)
	e.send("d1", "E1", 1, 2, 5)
	waitFor(t, "seq 5 stored", func() bool { return len(e.stored()) == 3 })
	if err := e.in.DeclareLost(context.Background(), "jules-ferry", "d1", "E1", 3, 4, "C1"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "ack 5 past the lost range", func() bool { return e.pub.lastAck("d1", "E1") == 5 })
	e.send("d1", "E1", 3)
	waitFor(t, "seq 3 stored after all", func() bool { return len(e.stored()) == 4 })
	if got := e.pub.lastAck("d1", "E1"); got != 5 {
		t.Fatalf("ack %d, want 5", got)
	}
}

// The hub stops (a crash, a restart) while events are on their way to the
// store: they were never acknowledged, nothing of them is left half-done,
// and when the agent publishes them again they are stored once.
func TestEventsInFlightAtStopComeAgain(t *testing.T) {
	dir := t.TempDir()
	e := newEnv(t, dir, nil)
	e.send("d1", "E1", 1, 2)
	waitFor(t, "ack 2", func() bool { return e.pub.lastAck("d1", "E1") == 2 })
	e.store.mu.Lock()
	e.store.hold = make(chan struct{}) // the store stalls from now on
	e.store.mu.Unlock()
	e.send("d1", "E1", 3, 4, 5)
	waitFor(t, "seqs 3-5 in flight", func() bool { return len(e.in.Sequences()) == 1 && e.in.Sequences()[0].ReceivedThrough == 5 })
	e.stop()
	if got := e.pub.lastAck("d1", "E1"); got != 2 {
		t.Fatalf("acked %d, want 2: events in flight are not stored", got)
	}

	e2 := newEnv(t, dir, nil)
	if seq := e2.in.Sequences(); seq[0].StoredThrough != 2 || seq[0].ReceivedThrough != 2 {
		t.Fatalf("after restart: %+v, want stored and received through 2", seq)
	}
	e2.send("d1", "E1", 3, 4, 5) // the agent's republish (no Ack covered them)
	waitFor(t, "ack 5", func() bool { return e2.pub.lastAck("d1", "E1") == 5 })
	if n := len(e2.stored()); n != 5 {
		t.Fatalf("%d events stored, want 5", n)
	}
}

// A damaged row of the handled journal does not keep the hub from starting,
// and a redelivery of a seq it held is stored once.
func TestDamagedJournalRow(t *testing.T) {
	dir := t.TempDir()
	e := newEnv(t, dir, nil)
	e.send("d1", "E1", 1, 2)
	waitFor(t, "ack 2", func() bool { return e.pub.lastAck("d1", "E1") == 2 })
	e.send("d1", "E1", 4) // above a gap: in the journal, not in stored_through
	waitFor(t, "seq 4 stored", func() bool { return len(e.stored()) == 3 })
	e.stop()
	sqlDB, err := db.OpenMigrated(context.Background(), filepath.Join(dir, "hub.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sqlDB.Exec(`UPDATE handled SET ids = x'ff' WHERE max_seq = 4`); err != nil {
		t.Fatal(err)
	}
	sqlDB.Close()

	e2 := newEnv(t, dir, nil)
	e2.send("d1", "E1", 4, 3)
	waitFor(t, "ack 4", func() bool { return e2.pub.lastAck("d1", "E1") == 4 })
	if n := len(e2.stored()); n != 4 {
		t.Fatalf("%d events stored, want 4", n)
	}
}
