package broker

import (
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestNewOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts Options
	}{
		{"neither AllowAll nor Auth", Options{}},
		{"both AllowAll and Auth", Options{AllowAll: true, Auth: newFakeAuth()}},
		{"root with a slash", Options{Auth: newFakeAuth(), TopicRoot: "a/b"}},
		{"root with a wildcard", Options{Auth: newFakeAuth(), TopicRoot: "a+"}},
		{"negative payload", Options{Auth: newFakeAuth(), MaxPayload: -1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Addr = "127.0.0.1:0"
			if b, err := New(tc.opts); err == nil {
				b.Close()
				t.Fatal("New accepted the options")
			}
		})
	}
}

// A registered device publishes its own check-ins and status, nothing else,
// and reads its own ack and cmd, nothing else.
func TestDeviceMayUseOnlyItsOwnTopics(t *testing.T) {
	t.Parallel()
	b := startBroker(t, Options{Auth: newFakeAuth()})
	hub := hubSubscribe(t, b, "pointage/v1/#")
	a := mustConnect(t, b, "dev-a", "password-a")

	t.Run("own checkin and status reach the hub with the user name", func(t *testing.T) {
		a.publish(t, 1, topic("site-a", "dev-a", "checkin"), `{"seq":1}`)
		hub.expect(t, topic("site-a", "dev-a", "checkin")+` {"seq":1} dev-a`)
		a.publish(t, 1, topic("site-a", "dev-a", "status"), `{"state":"online"}`)
		hub.expect(t, topic("site-a", "dev-a", "status")+` {"state":"online"} dev-a`)
	})

	t.Run("QoS 0 elsewhere is dropped", func(t *testing.T) {
		before := b.Stats().WritesDenied
		for _, tp := range []string{
			topic("site-b", "dev-b", "checkin"), // another device
			topic("site-b", "dev-a", "checkin"), // its id under another site
			topic("site-a", "dev-c", "status"),  // a device of its own site
			topic("site-a", "dev-a", "ack"),     // its own ack: the hub's to write
			topic("site-a", "dev-a", "cmd"),
			"pointage/v1/site-a/dev-a/checkin/x",
			"other/topic",
		} {
			a.publish(t, 0, tp, `{"seq":666}`)
		}
		a.publish(t, 1, topic("site-a", "dev-a", "checkin"), `{"seq":2}`)
		hub.expect(t, topic("site-a", "dev-a", "checkin")+` {"seq":2} dev-a`)
		if got := b.Stats().WritesDenied - before; got != 7 {
			t.Errorf("WritesDenied grew by %d, want 7", got)
		}
	})

	t.Run("QoS 1 elsewhere closes the connection", func(t *testing.T) {
		c := mustConnect(t, b, "dev-c", "password-c")
		c.Publish(topic("site-b", "dev-b", "checkin"), 1, false, `{"seq":667}`)
		c.waitLost(t)
		a.publish(t, 1, topic("site-a", "dev-a", "checkin"), `{"seq":3}`)
		hub.expect(t, topic("site-a", "dev-a", "checkin")+` {"seq":3} dev-a`)
	})

	t.Run("subscriptions", func(t *testing.T) {
		for _, tc := range []struct {
			filter string
			want   byte
		}{
			{"pointage/v1/#", 0x80},
			{"#", 0x80},
			{"pointage/v1/site-a/dev-a/+", 0x80},
			{"pointage/v1/+/dev-a/ack", 0x80},
			{topic("site-b", "dev-b", "ack"), 0x80},
			{topic("site-a", "dev-c", "cmd"), 0x80},
			{topic("site-a", "dev-a", "checkin"), 0x80},
			{"$share/g/" + topic("site-b", "dev-b", "ack"), 0x80},
			{"$share/g/" + topic("site-a", "dev-a", "ack"), 0x80},
			{topic("site-a", "dev-a", "ack"), 1},
			{topic("site-a", "dev-a", "cmd"), 1},
		} {
			if got := a.subscribe(t, tc.filter); got != tc.want {
				t.Errorf("subscribe %s: SUBACK %#x, want %#x", tc.filter, got, tc.want)
			}
		}
	})

	t.Run("receives its own ack and cmd only", func(t *testing.T) {
		for _, tp := range []string{topic("site-b", "dev-b", "ack"), topic("site-a", "dev-c", "ack"),
			topic("site-a", "dev-a", "ack"), topic("site-a", "dev-a", "cmd")} {
			if err := b.Publish(tp, []byte(`{"stored_through":5}`), false); err != nil {
				t.Fatal(err)
			}
		}
		a.msgs.expect(t, topic("site-a", "dev-a", "ack")+` {"stored_through":5}`)
		a.msgs.expect(t, topic("site-a", "dev-a", "cmd")+` {"stored_through":5}`)
		a.msgs.none(t, 100*time.Millisecond)
	})
}

func TestLoginsRefused(t *testing.T) {
	t.Parallel()
	auth := newFakeAuth()
	b := startBroker(t, Options{Auth: auth})
	held := mustConnect(t, b, "dev-a", "password-a") // holds client id test-N
	heldID := held.OptionsReader()
	for _, tc := range []struct {
		name, clientID, user, password string
	}{
		{"wrong password", "", "dev-a", "password-b"},
		{"unknown device", "", "dev-z", "password-a"},
		{"anonymous", "", "", ""},
		{"user name without password", "", "dev-a", ""},
		{"client id with +", "agent+1", "dev-a", "password-a"},
		{"client id with #", "agent#1", "dev-a", "password-a"},
		{"the inline client's id", "inline", "dev-a", "password-a"},
		{"client id held by another device", heldID.ClientID(), "dev-b", "password-b"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := b.Stats().LoginsRefused
			if _, err := connect(t, b, tc.clientID, tc.user, tc.password); err == nil {
				t.Fatal("connected")
			}
			if got := b.Stats().LoginsRefused - before; got != 1 {
				t.Errorf("LoginsRefused grew by %d, want 1", got)
			}
		})
	}
	// The holder of the client id was not kicked out.
	held.publish(t, 1, topic("site-a", "dev-a", "checkin"), `{}`)
	if !held.IsConnectionOpen() {
		t.Error("the device whose client id was claimed lost its connection")
	}
}

func TestLastWill(t *testing.T) {
	t.Parallel()
	b := startBroker(t, Options{Auth: newFakeAuth()})
	hub := hubSubscribe(t, b, "pointage/v1/+/+/status")
	own := topic("site-a", "dev-a", "status")

	t.Run("sent on its own status when the connection drops", func(t *testing.T) {
		c, code := rawConnect(t, b, "agent-a", "dev-a", "password-a", &will{own, `{"state":"offline"}`, true})
		if code != 0 {
			t.Fatalf("CONNACK %d", code)
		}
		c.Close() // no DISCONNECT: a cut cable
		hub.expect(t, own+` {"state":"offline"} dev-a`)
		// Retained: a subscriber that comes later still sees it.
		later := hubSubscribe(t, b, own)
		if got := later.next(t); !strings.HasPrefix(got, own+` {"state":"offline"} `) {
			t.Errorf("retained: %q", got)
		}
	})

	t.Run("not sent after a clean disconnect", func(t *testing.T) {
		c, code := rawConnect(t, b, "agent-a", "dev-a", "password-a", &will{own, `{"state":"lost"}`, false})
		if code != 0 {
			t.Fatalf("CONNACK %d", code)
		}
		c.disconnect(t)
		a := mustConnect(t, b, "dev-a", "password-a")
		a.publish(t, 1, own, `{"state":"online"}`)
		hub.expect(t, own+` {"state":"online"} dev-a`)
	})

	t.Run("not sent when the same device takes its session over", func(t *testing.T) {
		old, code := rawConnect(t, b, "agent-a", "dev-a", "password-a", &will{own, `{"state":"stale"}`, true})
		if code != 0 {
			t.Fatalf("CONNACK %d", code)
		}
		c, err := connect(t, b, "agent-a", "dev-a", "password-a")
		if err != nil {
			t.Fatal(err)
		}
		// mochi closed the old connection.
		old.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.Copy(io.Discard, old); err != nil {
			t.Fatalf("the old connection was not closed: %v", err)
		}
		c.publish(t, 1, own, `{"state":"online"}`)
		hub.expect(t, own+` {"state":"online"} dev-a`)
	})

	t.Run("elsewhere refuses the connection", func(t *testing.T) {
		for _, w := range []string{topic("site-b", "dev-b", "status"), topic("site-a", "dev-a", "ack"), "pointage/v1/site-a/dev-a/#"} {
			_, code := rawConnect(t, b, "agent-a", "dev-a", "password-a", &will{w, `{"state":"offline"}`, true})
			if code != 5 {
				t.Errorf("will on %s: CONNACK %d, want 5 (not authorized)", w, code)
			}
		}
	})

	t.Run("larger than the maximum payload refuses the connection", func(t *testing.T) {
		_, code := rawConnect(t, b, "agent-a", "dev-a", "password-a", &will{own, strings.Repeat("x", DefaultMaxPayload+1), true})
		if code == 0 {
			t.Error("connection accepted")
		}
	})
}

func TestPayloadLimit(t *testing.T) {
	t.Parallel()
	oversize := make(chan string, 4)
	b := startBroker(t, Options{Auth: newFakeAuth(), OnOversize: func(site, device, detail string) {
		oversize <- site + " " + device + " " + detail
	}})
	hub := hubSubscribe(t, b, "pointage/v1/+/+/checkin")
	checkin := topic("site-a", "dev-a", "checkin")
	status := topic("site-a", "dev-a", "status")
	a := mustConnect(t, b, "dev-a", "password-a")

	full := strings.Repeat("x", DefaultMaxPayload)
	a.publish(t, 1, checkin, full)
	hub.expect(t, checkin+" "+full[:40]+" dev-a")

	// A little too large: PUBACK, passed to the hub (which rejects it as
	// too_large: docs/DESIGN.md §15), the connection stays.
	a.publish(t, 1, checkin, "y"+full)
	hub.expect(t, checkin+" y"+full[:39]+" dev-a")
	a.publish(t, 1, checkin, "small")
	hub.expect(t, checkin+" small dev-a")
	if got := b.Stats().OversizePayloads; got != 1 {
		t.Errorf("OversizePayloads = %d, want 1", got)
	}
	// ...and never retained: a later subscriber gets nothing.
	tok := a.Publish(status, 1, true, "r"+full)
	if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("retained publish: %v", tok.Error())
	}
	hubSubscribe(t, b, status).none(t, 200*time.Millisecond)

	// Far too large: mochi closes the connection before reading the packet,
	// and the hub is told which device it was.
	a.Publish(checkin, 1, false, strings.Repeat("z", 3*DefaultMaxPayload))
	a.waitLost(t)
	hub.none(t, 100*time.Millisecond)
	select {
	case got := <-oversize:
		if !strings.HasPrefix(got, "site-a dev-a a packet of more than 5120 bytes") {
			t.Errorf("OnOversize got %q", got)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("OnOversize not called for the closed connection")
	}
	if got := b.Stats().OversizePackets; got != 1 {
		t.Errorf("OversizePackets = %d, want 1", got)
	}

	// The hub's own messages are not limited.
	sub := hubSubscribe(t, b, topic("site-a", "dev-a", "cmd"))
	if err := b.Publish(topic("site-a", "dev-a", "cmd"), []byte(strings.Repeat("h", 3*DefaultMaxPayload)), false); err != nil {
		t.Fatal(err)
	}
	sub.expect(t, topic("site-a", "dev-a", "cmd")+" "+strings.Repeat("h", 40)+" ")
}

func TestFailedLoginsAreRateLimited(t *testing.T) {
	t.Parallel()
	auth := newFakeAuth()
	var clock atomic.Int64
	clock.Store(time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC).UnixNano())
	nowf := func() time.Time { return time.Unix(0, clock.Load()) }
	tick := func(d time.Duration) { clock.Add(int64(d)) }
	b := startBroker(t, Options{Auth: auth, Now: nowf, LoginLimit: LoginLimit{PerIP: 15}})

	for range 10 { // the default: 10 failures per address and user name
		if _, err := connect(t, b, "", "dev-a", "wrong-password"); err == nil {
			t.Fatal("wrong password accepted")
		}
	}
	calls := auth.calls.Load()
	if _, err := connect(t, b, "", "dev-a", "password-a"); err == nil {
		t.Fatal("dev-a logged in after 10 failures")
	}
	if auth.calls.Load() != calls {
		t.Error("the password of a throttled login was checked")
	}
	if got := b.Stats().LoginsThrottled; got != 1 {
		t.Errorf("LoginsThrottled = %d, want 1", got)
	}
	// Another device behind the same address (a school's NAT) still logs in.
	mustConnect(t, b, "dev-b", "password-b")

	// Failures across user names block the address for everyone.
	for range 5 {
		connect(t, b, "", "dev-b", "wrong-password")
	}
	if _, err := connect(t, b, "", "dev-c", "password-c"); err == nil {
		t.Fatal("dev-c logged in from an address with 15 failures")
	}

	// A minute later, all is forgiven.
	tick(time.Minute)
	mustConnect(t, b, "dev-a", "password-a")
	mustConnect(t, b, "dev-c", "password-c")
}

func TestAllowAll(t *testing.T) {
	t.Parallel()
	b := startBroker(t, Options{AllowAll: true})
	hub := hubSubscribe(t, b, "#")
	c := mustConnect(t, b, "", "")
	c.publish(t, 1, "anything/at/all", "x")
	hub.expect(t, "anything/at/all x ")
	if code := c.subscribe(t, "#"); code != 1 {
		t.Errorf("SUBACK %#x", code)
	}
	if _, err := connect(t, b, "inline", "", ""); err == nil {
		t.Error("a client took the inline client's id")
	}
}
