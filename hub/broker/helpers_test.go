package broker

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/mochi-mqtt/server/v2/packets"
)

// fakeAuth is an Authenticator over a fixed table of devices.
type fakeAuth struct {
	devices map[string][2]string // device -> site, password
	calls   atomic.Int64
}

func (f *fakeAuth) Authenticate(_ context.Context, user, password string) (string, bool) {
	f.calls.Add(1)
	d, ok := f.devices[user]
	if !ok || d[1] != password {
		return "", false
	}
	return d[0], true
}

func newFakeAuth() *fakeAuth {
	return &fakeAuth{devices: map[string][2]string{
		"dev-a": {"site-a", "password-a"},
		"dev-b": {"site-b", "password-b"},
		"dev-c": {"site-a", "password-c"},
	}}
}

func topic(site, device, kind string) string {
	return "pointage/v1/" + site + "/" + device + "/" + kind
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// startBroker starts a broker on a free loopback port, closed when the test ends.
func startBroker(t *testing.T, opts Options) *Broker {
	t.Helper()
	opts.Addr = "127.0.0.1:0"
	if opts.Logger == nil {
		opts.Logger = quietLogger()
	}
	b, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Serve(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// received is what an in-process subscription saw: "topic payload user".
type received chan string

func (r received) next(t *testing.T) string {
	t.Helper()
	select {
	case m := <-r:
		return m
	case <-time.After(5 * time.Second):
		t.Fatal("nothing received within 5 s")
		return ""
	}
}

// expect waits for want and fails if anything else arrives first: a test
// publishes a forbidden message, then an allowed one, and expects only the
// allowed one (mochi handles one client's packets in order).
func (r received) expect(t *testing.T, want string) {
	t.Helper()
	if got := r.next(t); got != want {
		t.Fatalf("received %q, want %q", got, want)
	}
}

func (r received) none(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case m := <-r:
		t.Fatalf("received %q, want nothing", m)
	case <-time.After(d):
	}
}

var subID atomic.Int64

// hubSubscribe subscribes in-process to filter.
func hubSubscribe(t *testing.T, b *Broker, filter string) received {
	t.Helper()
	got := make(received, 64)
	if err := b.SubscribeClient(filter, int(subID.Add(1)), func(topic string, payload []byte, user string) {
		got <- fmt.Sprintf("%s %.40s %s", topic, payload, user)
	}); err != nil {
		t.Fatal(err)
	}
	return got
}

// client is a paho client (no reconnection) with a record of lost connections.
type client struct {
	paho.Client
	lost chan error
	msgs received // every message delivered to the client: "topic payload"
}

var clientSeq atomic.Int64

func connect(t *testing.T, b *Broker, clientID, user, password string, opts ...func(*paho.ClientOptions)) (*client, error) {
	t.Helper()
	if clientID == "" {
		clientID = fmt.Sprintf("test-%d", clientSeq.Add(1))
	}
	c := &client{lost: make(chan error, 1), msgs: make(received, 64)}
	o := paho.NewClientOptions().AddBroker(b.URL()).SetClientID(clientID).
		SetUsername(user).SetPassword(password).
		SetProtocolVersion(4). // or paho tries again with 3.1 after a refusal: two logins
		SetConnectTimeout(5 * time.Second).SetAutoReconnect(false).SetConnectRetry(false).
		SetConnectionLostHandler(func(_ paho.Client, err error) { c.lost <- err }).
		SetDefaultPublishHandler(func(_ paho.Client, m paho.Message) {
			c.msgs <- fmt.Sprintf("%s %.40s", m.Topic(), m.Payload())
		})
	for _, f := range opts {
		f(o)
	}
	c.Client = paho.NewClient(o)
	tok := c.Connect()
	if !tok.WaitTimeout(10 * time.Second) {
		return nil, fmt.Errorf("connect %s: timeout", user)
	}
	if err := tok.Error(); err != nil {
		return nil, err
	}
	t.Cleanup(func() { c.Disconnect(50) })
	return c, nil
}

func mustConnect(t *testing.T, b *Broker, user, password string) *client {
	t.Helper()
	c, err := connect(t, b, "", user, password)
	if err != nil {
		t.Fatalf("connect as %q: %v", user, err)
	}
	return c
}

func (c *client) publish(t *testing.T, qos byte, topic, payload string) {
	t.Helper()
	tok := c.Publish(topic, qos, false, payload)
	if !tok.WaitTimeout(5 * time.Second) {
		t.Fatalf("publish %s: timeout", topic)
	}
	if err := tok.Error(); err != nil {
		t.Fatalf("publish %s: %v", topic, err)
	}
}

// subscribe returns the SUBACK code: 0 or 1 granted, 0x80 refused. Messages
// go to c.msgs.
func (c *client) subscribe(t *testing.T, filter string) byte {
	t.Helper()
	tok := c.Subscribe(filter, 1, nil)
	if !tok.WaitTimeout(5 * time.Second) {
		t.Fatalf("subscribe %s: timeout", filter)
	}
	if err := tok.Error(); err != nil {
		return 0x80
	}
	for _, code := range tok.(*paho.SubscribeToken).Result() { // keyed without "$share/group/"
		return code
	}
	t.Fatalf("subscribe %s: no result", filter)
	return 0
}

func (c *client) waitLost(t *testing.T) {
	t.Helper()
	select {
	case <-c.lost:
	case <-time.After(5 * time.Second):
		t.Fatal("the broker did not close the connection")
	}
}

// rawConn is an MQTT 3.1.1 connection written by hand, to control exactly
// how it ends (a TCP close with no DISCONNECT, as a power cut would).
type rawConn struct{ net.Conn }

type will struct {
	topic, payload string
	retain         bool
}

// rawConnect sends a CONNECT and returns the CONNACK return code.
func rawConnect(t *testing.T, b *Broker, clientID, user, password string, w *will) (*rawConn, byte) {
	t.Helper()
	c, err := net.DialTimeout("tcp", b.Addr(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	t.Cleanup(func() { once.Do(func() { c.Close() }) })
	pk := packets.Packet{
		FixedHeader:     packets.FixedHeader{Type: packets.Connect},
		ProtocolVersion: 4,
		Connect: packets.ConnectParams{
			ProtocolName: []byte("MQTT"), Clean: true, Keepalive: 30,
			ClientIdentifier: clientID,
			UsernameFlag:     user != "", Username: []byte(user),
			PasswordFlag: password != "", Password: []byte(password),
		},
	}
	if w != nil {
		pk.Connect.WillFlag, pk.Connect.WillQos, pk.Connect.WillRetain = true, 1, w.retain
		pk.Connect.WillTopic, pk.Connect.WillPayload = w.topic, []byte(w.payload)
	}
	var buf bytes.Buffer
	if err := pk.ConnectEncode(&buf); err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write(buf.Bytes()); err != nil {
		t.Fatal(err)
	}
	ack := make([]byte, 4)
	if _, err := io.ReadFull(c, ack); err != nil {
		t.Fatalf("read CONNACK: %v", err)
	}
	if ack[0] != 0x20 || ack[1] != 2 {
		t.Fatalf("not a CONNACK: % x", ack)
	}
	c.SetDeadline(time.Time{})
	return &rawConn{c}, ack[3]
}

// disconnect ends the connection cleanly: DISCONNECT, then close.
func (c *rawConn) disconnect(t *testing.T) {
	t.Helper()
	if _, err := c.Write([]byte{0xe0, 0}); err != nil {
		t.Fatal(err)
	}
	c.Close()
}
