package ingest

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"pointage/internal/wire"
)

// status is an online status of device d1 of jules-ferry for epoch.
func (e *env) status(device, epoch string, lastSeq uint64, pending int64) {
	st := fmt.Sprintf(`{"v":1,"site":"jules-ferry","device":%q,"epoch":%q,"state":"online","at":%q,"clock_synced":true,"last_seq":%d,"outbox_pending":%d,"oldest_pending_at":null,"readers":[]}`,
		device, epoch, time.Now().Format(wire.AtLayout), lastSeq, pending)
	e.in.Handle(wire.DeviceTopic("", "jules-ferry", device, wire.KindStatus), []byte(st))
}

func (e *env) sequence(device, epoch string) SequenceState {
	for _, q := range e.in.Sequences() {
		if q.Device == device && q.Epoch == epoch {
			return q
		}
	}
	return SequenceState{}
}

func TestHeldThrough(t *testing.T) {
	for _, c := range []struct {
		last    uint64
		pending int64
		want    uint64
	}{{0, 0, 0}, {10, 0, 10}, {10, 3, 7}, {10, 10, 0}, {10, 11, 0}, {10, -1, 0}} {
		if got := heldThrough(wire.Status{LastSeq: c.last, OutboxPending: c.pending}); got != c.want {
			t.Errorf("last_seq %d, pending %d: held through %d, want %d", c.last, c.pending, got, c.want)
		}
	}
}

func TestUnreceived(t *testing.T) {
	tr := newTracker("s")
	now := time.Now()
	for _, s := range []uint64{1, 2, 3, 6, 7, 10} {
		tr.markReceived(s, now)
	}
	for _, c := range []struct {
		through uint64
		want    []Range
	}{
		{3, nil},
		{5, []Range{{4, 5}}},
		{8, []Range{{4, 5}, {8, 8}}},
		{10, []Range{{4, 5}, {8, 9}}},
		{14, []Range{{4, 5}, {8, 9}, {11, 14}}},
	} {
		got := tr.unreceived(c.through)
		if fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("unreceived(%d) = %v, want %v", c.through, got, c.want)
		}
	}
	tr.held = 14
	if n := tr.recoveryMissing(); n != 8 {
		t.Errorf("recovery missing %d, want 8", n)
	}
}

// A hub restored from an older hub.db: the agent's status says it holds
// seqs 1-8 as acknowledged and 9-10 pending. The hub asks at once for 4-8
// (not for the pending tail, which the agent publishes by itself), shows the
// device recovering until they arrive, and does not ask twice while the
// answer is coming.
func TestStatusAboveReceivedAsksForTheDifference(t *testing.T) {
	dir := t.TempDir()
	e := newEnv(t, dir, func(o *Options) { o.ResendEvery = 200 * time.Millisecond })
	e.send("d1", "E1", 1, 2, 3)
	waitFor(t, "ack 3", func() bool { return e.pub.lastAck("d1", "E1") == 3 })
	e.status("d1", "E1", 3, 0)
	time.Sleep(300 * time.Millisecond)
	if c := e.pub.commands("d1"); len(c) != 0 {
		t.Fatalf("a status the hub is level with asked for %+v", c)
	}

	e.status("d1", "E1", 10, 2)
	waitFor(t, "the recovery request", func() bool { return len(e.pub.commands("d1")) > 0 })
	c := e.pub.commands("d1")[0]
	if c.Cmd != wire.CmdResend || c.Epoch != "E1" || c.FromSeq != 4 || c.ToSeq != 8 {
		t.Fatalf("recovery command %+v, want resend 4..8 of E1", c)
	}
	if q := e.sequence("d1", "E1"); q.HeldThrough != 8 || q.RecoveryMissing != 5 {
		t.Fatalf("sequence %+v, want held through 8 with 5 missing", q)
	}
	views := Views(nil, e.in.Sequences())
	if len(views) != 1 || !views[0].Recovering || views[0].RecoveryMissing != 5 {
		t.Fatalf("device views %+v, want recovering with 5 missing", views)
	}

	// The answer is coming: a status meanwhile does not ask again.
	e.send("d1", "E1", 4, 5)
	waitFor(t, "ack 5", func() bool { return e.pub.lastAck("d1", "E1") == 5 })
	e.status("d1", "E1", 10, 2)
	time.Sleep(100 * time.Millisecond)
	if n := len(e.pub.commands("d1")); n != 1 {
		t.Fatalf("%d commands while the answer was arriving, want 1", n)
	}
	// It stops halfway (the agent went offline): a later status asks for
	// the rest once nothing has come for ResendEvery.
	time.Sleep(300 * time.Millisecond)
	e.status("d1", "E1", 10, 2)
	waitFor(t, "a second request", func() bool { return len(e.pub.commands("d1")) == 2 })
	if c := e.pub.commands("d1")[1]; c.FromSeq != 6 || c.ToSeq != 8 {
		t.Fatalf("second request %+v, want 6..8", c)
	}
	e.send("d1", "E1", 6, 7, 8, 9, 10)
	waitFor(t, "ack 10", func() bool { return e.pub.lastAck("d1", "E1") == 10 })
	if q := e.sequence("d1", "E1"); q.RecoveryMissing != 0 {
		t.Fatalf("recovery not complete: %+v", q)
	}
	if n := len(e.stored()); n != 10 {
		t.Fatalf("%d events stored, want 10", n)
	}
}

// A hub that lost hub.db entirely knows nothing of the epoch: it asks for
// everything the agent holds.
func TestStatusOfAnUnknownEpochAsksForAll(t *testing.T) {
	e := newEnv(t, t.TempDir(), nil)
	e.status("d1", "E7", 40, 0)
	waitFor(t, "the recovery request", func() bool { return len(e.pub.commands("d1")) > 0 })
	if c := e.pub.commands("d1")[0]; c.FromSeq != 1 || c.ToSeq != 40 || c.Epoch != "E7" {
		t.Fatalf("recovery command %+v, want 1..40 of E7", c)
	}
	// A device with nothing acknowledged is not asked for anything.
	e.status("d2", "E1", 5, 5)
	time.Sleep(200 * time.Millisecond)
	if c := e.pub.commands("d2"); len(c) != 0 {
		t.Fatalf("asked a device with nothing acknowledged: %+v", c)
	}
}

// After a restart on the same hub.db (nothing lost), the statuses ask for
// nothing: what the agent holds as acknowledged was received.
func TestRestartAsksForNothing(t *testing.T) {
	dir := t.TempDir()
	e := newEnv(t, dir, nil)
	e.send("d1", "E1", 1, 2, 3, 4)
	waitFor(t, "ack 4", func() bool { return e.pub.lastAck("d1", "E1") == 4 })
	e.stop()
	if _, err := os.Stat(filepath.Join(dir, "hub.db")); err != nil {
		t.Fatal(err)
	}
	e2 := newEnv(t, dir, nil)
	e2.status("d1", "E1", 6, 2)
	time.Sleep(300 * time.Millisecond)
	if c := e2.pub.commands("d1"); len(c) != 0 {
		t.Fatalf("a restarted hub asked for %+v", c)
	}
	if q := e2.sequence("d1", "E1"); q.RecoveryMissing != 0 || q.HeldThrough != 4 {
		t.Fatalf("sequence %+v", q)
	}
}
