package testenv_test

import (
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"pointage/internal/testenv"
)

var clientSeq atomic.Int64

// connect connects a paho client (no automatic reconnection) or returns the error.
func connect(t *testing.T, url, user, password string) (mqtt.Client, error) {
	t.Helper()
	opts := mqtt.NewClientOptions().
		AddBroker(url).
		SetClientID(fmt.Sprintf("testenv-%d", clientSeq.Add(1))).
		SetUsername(user).
		SetPassword(password).
		SetConnectTimeout(5 * time.Second).
		SetAutoReconnect(false).
		SetConnectRetry(false)
	c := mqtt.NewClient(opts)
	tok := c.Connect()
	if !tok.WaitTimeout(10 * time.Second) {
		return nil, fmt.Errorf("connect to %s: timeout", url)
	}
	if err := tok.Error(); err != nil {
		return nil, err
	}
	t.Cleanup(func() { c.Disconnect(100) })
	return c, nil
}

func mustConnect(t *testing.T, url, user, password string) mqtt.Client {
	t.Helper()
	c, err := connect(t, url, user, password)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func wait(t *testing.T, what string, tok mqtt.Token) {
	t.Helper()
	if !tok.WaitTimeout(5 * time.Second) {
		t.Fatalf("%s: timeout", what)
	}
	if err := tok.Error(); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// subscribe subscribes at QoS 1 and returns the channel of received payloads.
func subscribe(t *testing.T, c mqtt.Client, filter string) <-chan string {
	t.Helper()
	got := make(chan string, 16)
	wait(t, "subscribe "+filter, c.Subscribe(filter, 1, func(_ mqtt.Client, m mqtt.Message) {
		got <- m.Topic() + " " + string(m.Payload())
	}))
	return got
}

func publish(t *testing.T, c mqtt.Client, topic, payload string, retained bool) {
	t.Helper()
	wait(t, "publish "+topic, c.Publish(topic, 1, retained, payload))
}

func receive(t *testing.T, got <-chan string, want string) {
	t.Helper()
	select {
	case msg := <-got:
		if msg != want {
			t.Fatalf("received %q, want %q", msg, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("did not receive %q within 5 s", want)
	}
}

// roundTrip publishes one QoS 1 message and receives it through a subscription.
func roundTrip(t *testing.T, url string) {
	t.Helper()
	c := mustConnect(t, url, "", "")
	topic := "pointage/v1/jules-ferry/jf-cantine-1/checkin"
	got := subscribe(t, c, topic)
	payload := fmt.Sprintf(`{"v":1,"seq":%d}`, clientSeq.Add(1))
	publish(t, c, topic, payload, false)
	receive(t, got, topic+" "+payload)
	c.Disconnect(100)
}

func refused(t *testing.T, addr string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err == nil {
		c.Close()
		t.Fatalf("%s still accepts connections", addr)
	}
}

func TestMosquittoStopKillStart(t *testing.T) {
	t.Parallel()
	m := testenv.Mosquitto(t)
	t.Logf("mosquitto started in %s", m.StartupTime())
	if !strings.HasPrefix(m.URL(), "tcp://127.0.0.1:") || m.Port() == 1883 {
		t.Fatalf("URL = %s", m.URL())
	}
	roundTrip(t, m.URL())

	m.Stop()
	refused(t, m.Addr())
	m.Stop() // harmless
	m.Start()
	t.Logf("mosquitto restarted in %s", m.StartupTime())
	roundTrip(t, m.URL())

	m.Kill()
	refused(t, m.Addr())
	m.Start()
	roundTrip(t, m.URL())

	if logs := m.Logs(); strings.Count(logs, "mosquitto version") < 3 || !strings.Contains(logs, "New client connected") {
		t.Errorf("log does not show three runs with connections:\n%s", logs)
	}
}

func TestMosquittoUsersAndACL(t *testing.T) {
	t.Parallel()
	m := testenv.Mosquitto(t,
		testenv.MosquittoUser("jf-cantine-1", "s3cret-pass"),
		testenv.MosquittoUser("hub", "hub-pass"),
		testenv.MosquittoACL(
			"user jf-cantine-1",
			"topic write pointage/v1/jules-ferry/jf-cantine-1/#",
			"user hub",
			"topic readwrite pointage/v1/#",
		),
	)
	if _, err := connect(t, m.URL(), "", ""); err == nil {
		t.Error("an anonymous client was accepted")
	}
	if _, err := connect(t, m.URL(), "jf-cantine-1", "wrong-pass"); err == nil {
		t.Error("a wrong password was accepted")
	}
	hub := mustConnect(t, m.URL(), "hub", "hub-pass")
	got := subscribe(t, hub, "pointage/v1/#")
	dev := mustConnect(t, m.URL(), "jf-cantine-1", "s3cret-pass")
	// mosquitto drops a denied publish silently; the allowed one that follows arrives
	// after it would have.
	publish(t, dev, "pointage/v1/other-school/jf-cantine-1/checkin", "denied", false)
	publish(t, dev, "pointage/v1/jules-ferry/jf-cantine-1/checkin", "allowed", false)
	receive(t, got, "pointage/v1/jules-ferry/jf-cantine-1/checkin allowed")
	select {
	case msg := <-got:
		t.Errorf("the ACL let through %q", msg)
	case <-time.After(200 * time.Millisecond):
	}
}

func TestMosquittoPersistenceKeepsRetainedAcrossRestart(t *testing.T) {
	t.Parallel()
	m := testenv.Mosquitto(t, testenv.MosquittoPersistence())
	topic := "pointage/v1/jules-ferry/jf-cantine-1/status"
	c := mustConnect(t, m.URL(), "", "")
	publish(t, c, topic, `{"state":"online"}`, true)
	c.Disconnect(100)

	m.Stop()
	m.Start()
	c = mustConnect(t, m.URL(), "", "")
	receive(t, subscribe(t, c, topic), topic+` {"state":"online"}`)
}
