package devices

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"pointage/internal/testenv"
)

var clientSeq atomic.Int64

type mqttClient struct {
	paho.Client
	msgs chan string // "topic payload" of every message delivered
}

// dial connects a paho client (MQTT 3.1.1, no reconnection) or returns the error.
func dial(t *testing.T, url, user, password string, opts ...func(*paho.ClientOptions)) (*mqttClient, error) {
	t.Helper()
	c := &mqttClient{msgs: make(chan string, 64)}
	o := paho.NewClientOptions().AddBroker(url).
		SetClientID(fmt.Sprintf("devices-test-%d", clientSeq.Add(1))).
		SetUsername(user).SetPassword(password).SetProtocolVersion(4).
		SetConnectTimeout(5 * time.Second).SetAutoReconnect(false).SetConnectRetry(false).
		SetDefaultPublishHandler(func(_ paho.Client, m paho.Message) {
			c.msgs <- m.Topic() + " " + string(m.Payload())
		})
	for _, f := range opts {
		f(o)
	}
	c.Client = paho.NewClient(o)
	tok := c.Connect()
	if !tok.WaitTimeout(10 * time.Second) {
		return nil, fmt.Errorf("connect as %q: timeout", user)
	}
	if err := tok.Error(); err != nil {
		return nil, err
	}
	t.Cleanup(func() { c.Disconnect(50) })
	return c, nil
}

func mustDial(t *testing.T, url, user, password string) *mqttClient {
	t.Helper()
	c, err := dial(t, url, user, password)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (c *mqttClient) publish(t *testing.T, topic, payload string) {
	t.Helper()
	tok := c.Publish(topic, 1, false, payload)
	if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("publish %s: %v", topic, tok.Error())
	}
}

func (c *mqttClient) subscribe(t *testing.T, filter string) byte {
	t.Helper()
	tok := c.Subscribe(filter, 1, nil)
	if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe %s: %v", filter, tok.Error())
	}
	for _, code := range tok.(*paho.SubscribeToken).Result() {
		return code
	}
	return 0x80
}

// expect fails unless want is the next message: the forbidden messages
// published before it must not have arrived.
func (c *mqttClient) expect(t *testing.T, want string) {
	t.Helper()
	select {
	case got := <-c.msgs:
		if got != want {
			t.Fatalf("received %q, want %q", got, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("did not receive %q", want)
	}
}

// The files broker-config writes make a real mosquitto enforce docs/DESIGN.md §3.
func TestMosquittoConfigEnforcesDeviceIdentity(t *testing.T) {
	r, _ := newTestRegistry(t)
	ctx := context.Background()
	mustAdd(t, r, "jules-ferry", "jf-cantine-1", "password-a")
	pwB := mustAdd(t, r, "victor-hugo", "vh-cantine-1", "")

	// An earlier passwd: the hub's user, added by hand, and an old line of a device.
	dir := t.TempDir()
	passwd, acl := filepath.Join(dir, PasswdFile), filepath.Join(dir, ACLFile)
	hubHash, _ := mosquittoHash("hub-password")
	oldHash, _ := mosquittoHash("old-password")
	if err := os.WriteFile(passwd, []byte(HubUser+":"+hubHash+"\njf-cantine-1:"+oldHash+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := r.WriteMosquittoConfig(ctx, dir); err != nil {
		t.Fatal(err)
	}
	for path, mode := range map[string]os.FileMode{passwd: 0o600, acl: 0o644} {
		if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != mode {
			t.Errorf("%s: %v, want mode %v (%v)", path, fi.Mode(), mode, err)
		}
	}
	pw, _ := os.ReadFile(passwd)
	if n := strings.Count(string(pw), "jf-cantine-1:"); n != 1 || strings.Contains(string(pw), oldHash) ||
		!strings.Contains(string(pw), HubUser+":"+hubHash) {
		t.Errorf("passwd:\n%s", pw)
	}
	aclText, _ := os.ReadFile(acl)
	t.Logf("acl:\n%s", aclText)

	m := testenv.Mosquitto(t, testenv.MosquittoPasswordFile(passwd), testenv.MosquittoACLFile(acl),
		testenv.MosquittoAnonymous(false))
	url := m.URL()
	const (
		checkinA = "pointage/v1/jules-ferry/jf-cantine-1/checkin"
		statusA  = "pointage/v1/jules-ferry/jf-cantine-1/status"
		ackA     = "pointage/v1/jules-ferry/jf-cantine-1/ack"
		checkinB = "pointage/v1/victor-hugo/vh-cantine-1/checkin"
		ackB     = "pointage/v1/victor-hugo/vh-cantine-1/ack"
		statusB  = "pointage/v1/victor-hugo/vh-cantine-1/status"
	)
	hub := mustDial(t, url, HubUser, "hub-password")
	if code := hub.subscribe(t, "pointage/v1/+/+/checkin"); code != 1 {
		t.Fatalf("hub subscription: SUBACK %#x", code)
	}
	a := mustDial(t, url, "jf-cantine-1", "password-a")
	b := mustDial(t, url, "vh-cantine-1", pwB)

	t.Run("a device publishes only its own check-ins", func(t *testing.T) {
		a.publish(t, checkinA, "a1")
		hub.expect(t, checkinA+" a1")
		a.publish(t, checkinB, "forged") // mosquitto acknowledges it and drops it
		a.publish(t, statusA, "status")  // allowed, but the hub does not subscribe to it
		b.publish(t, checkinB, "b1")
		a.publish(t, checkinA, "a2")
		hub.expect(t, checkinB+" b1")
		hub.expect(t, checkinA+" a2")
	})

	t.Run("a device reads only its own ack", func(t *testing.T) {
		code := a.subscribe(t, "pointage/v1/#")
		t.Logf("mosquitto answers SUBACK %#x to pointage/v1/#", code)
		a.subscribe(t, ackB)
		if code := a.subscribe(t, ackA); code != 1 {
			t.Fatalf("own ack: SUBACK %#x", code)
		}
		hub.publish(t, ackB, "for-b")
		hub.publish(t, ackA, "for-a")
		a.expect(t, ackA+" for-a")
	})

	t.Run("wrong password, old password, anonymous", func(t *testing.T) {
		for _, cred := range [][2]string{{"jf-cantine-1", "password-b"}, {"jf-cantine-1", "old-password"}, {"", ""}, {"nobody", "password-a"}} {
			if _, err := dial(t, url, cred[0], cred[1]); err == nil {
				t.Errorf("%q/%q connected", cred[0], cred[1])
			}
		}
	})

	t.Run("last will", func(t *testing.T) {
		// mosquitto 2.0.11 accepts a will on any topic at connect time and
		// checks the ACL when it would send it.
		if code := hub.subscribe(t, "pointage/v1/+/+/status"); code != 1 {
			t.Fatalf("hub subscription: SUBACK %#x", code)
		}
		forged := rawConnect(t, m.Addr(), "jf-cantine-1", "password-a", statusB, `{"state":"forged"}`)
		forged.Close()
		own := rawConnect(t, m.Addr(), "jf-cantine-1", "password-a", statusA, `{"state":"offline"}`)
		own.Close()
		hub.expect(t, statusA+` {"state":"offline"}`)
		select {
		case m := <-hub.msgs:
			t.Errorf("received %q: the forged will was sent", m)
		case <-time.After(200 * time.Millisecond):
		}
	})
}

// rawConnect logs in with a hand-written MQTT 3.1.1 CONNECT carrying a
// retained QoS 1 will, so the test can end the connection without a
// DISCONNECT, as a power cut would.
func rawConnect(t *testing.T, addr, user, password, willTopic, willPayload string) net.Conn {
	t.Helper()
	str := func(b []byte, s string) []byte {
		return append(binary.BigEndian.AppendUint16(b, uint16(len(s))), s...)
	}
	body := str(nil, "MQTT")
	body = append(body, 4, 0x80|0x40|0x20|0x08|0x04|0x02, 0, 30) // user, password, will retain, will QoS 1, will, clean; keepalive 30 s
	body = str(body, fmt.Sprintf("raw-%d", clientSeq.Add(1)))
	body = str(body, willTopic)
	body = str(body, willPayload)
	body = str(body, user)
	body = str(body, password)
	pk := []byte{0x10}
	for n := len(body); ; { // remaining length, 7 bits a byte
		b := byte(n & 0x7f)
		if n >>= 7; n > 0 {
			pk = append(pk, b|0x80)
			continue
		}
		pk = append(pk, b)
		break
	}
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write(append(pk, body...)); err != nil {
		t.Fatal(err)
	}
	ack := make([]byte, 4)
	if _, err := io.ReadFull(c, ack); err != nil || ack[0] != 0x20 || ack[3] != 0 {
		t.Fatalf("CONNACK % x (%v)", ack, err)
	}
	return c
}

// Files written again keep the permissions an operator gave them (640
// for mosquitto's group, docs/DEPLOY.md): the hub rewrites them after
// each change made in the dashboard, and mosquitto must still read them.
func TestMosquittoFilesKeepTheirPermissions(t *testing.T) {
	r, _ := newTestRegistry(t)
	ctx := context.Background()
	mustAdd(t, r, "jules-ferry", "jf-cantine-1", "password-a")
	dir := t.TempDir()
	if err := r.WriteMosquittoConfig(ctx, dir); err != nil {
		t.Fatal(err)
	}
	passwd, acl := filepath.Join(dir, PasswdFile), filepath.Join(dir, ACLFile)
	for path, mode := range map[string]os.FileMode{passwd: 0o640, acl: 0o640} {
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
	}
	mustAdd(t, r, "jules-ferry", "jf-cantine-2", "password-b")
	if err := r.WriteMosquittoConfig(ctx, dir); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{passwd, acl} {
		if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o640 {
			t.Errorf("%s written again: %v, want mode 0640 as it was (%v)", path, fi.Mode(), err)
		}
	}
	if b, _ := os.ReadFile(passwd); !strings.Contains(string(b), "jf-cantine-2:$7$") {
		t.Errorf("passwd not written again:\n%s", b)
	}
}

// A device removed loses its line when the files are written again (it
// would still log in to mosquitto otherwise); the users that are not
// devices stay, the hub's account created with mosquitto_passwd -c as
// well as a line added by hand below the file's last comment.
func TestMosquittoFilesDropRemovedDevices(t *testing.T) {
	r, _ := newTestRegistry(t)
	ctx := context.Background()
	mustAdd(t, r, "jules-ferry", "jf-1", "password-1")
	mustAdd(t, r, "jules-ferry", "jf-2", "password-2")
	dir := t.TempDir()
	passwd := filepath.Join(dir, PasswdFile)
	hubHash, _ := mosquittoHash("hub-password")
	if err := os.WriteFile(passwd, []byte(HubUser+":"+hubHash+"\n"), 0o600); err != nil { // mosquitto_passwd -c
		t.Fatal(err)
	}
	if err := r.WriteMosquittoConfig(ctx, dir); err != nil {
		t.Fatal(err)
	}
	otherHash, _ := mosquittoHash("other-password")
	f, err := os.OpenFile(passwd, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("supervision:" + otherHash + "\n") // added by hand
	f.Close()
	if err := r.Remove(ctx, "jf-2"); err != nil {
		t.Fatal(err)
	}
	for range 2 { // twice: what was kept is kept again
		if err := r.WriteMosquittoConfig(ctx, dir); err != nil {
			t.Fatal(err)
		}
	}
	b, _ := os.ReadFile(passwd)
	text := string(b)
	if strings.Contains(text, "jf-2:") {
		t.Errorf("the removed device's line is still there:\n%s", text)
	}
	for _, want := range []string{"jf-1:$7$", HubUser + ":" + hubHash, "supervision:" + otherHash} {
		if strings.Count(text, want) != 1 {
			t.Errorf("want %q once:\n%s", want, text)
		}
	}
}
