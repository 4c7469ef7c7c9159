package devices_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"pointage/hub/broker"
	"pointage/hub/db"
	"pointage/hub/devices"
)

var _ broker.Authenticator = (*devices.Registry)(nil)

// The registry is the embedded broker's authenticator: a device logs in with
// the password devices add printed, and publishes under its own site.
func TestRegistryAuthenticatesEmbeddedBrokerLogins(t *testing.T) {
	ctx := context.Background()
	sqlDB, err := db.OpenMigrated(ctx, filepath.Join(t.TempDir(), "hub.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer sqlDB.Close()
	reg, err := devices.New(ctx, sqlDB, nil)
	if err != nil {
		t.Fatal(err)
	}
	devices.FastBcryptForTest(reg)
	_, password, err := reg.Add(ctx, "jules-ferry", "jf-cantine-1", "")
	if err != nil {
		t.Fatal(err)
	}

	b, err := broker.New(broker.Options{Addr: "127.0.0.1:0", Auth: reg})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.Serve(); err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 4)
	if err := b.SubscribeClient("pointage/v1/+/+/checkin", 1, func(topic string, payload []byte, user string) {
		got <- topic + " " + string(payload) + " " + user
	}); err != nil {
		t.Fatal(err)
	}

	login := func(password string) (paho.Client, error) {
		c := paho.NewClient(paho.NewClientOptions().AddBroker(b.URL()).SetClientID("pointage-agent-jf-cantine-1").
			SetUsername("jf-cantine-1").SetPassword(password).SetProtocolVersion(4).
			SetAutoReconnect(false).SetConnectTimeout(5 * time.Second))
		tok := c.Connect()
		tok.WaitTimeout(10 * time.Second)
		return c, tok.Error()
	}
	if _, err := login("not-the-password"); err == nil {
		t.Fatal("a wrong password logged in")
	}
	c, err := login(password)
	if err != nil {
		t.Fatalf("the generated password: %v", err)
	}
	defer c.Disconnect(50)
	const topic = "pointage/v1/jules-ferry/jf-cantine-1/checkin"
	if tok := c.Publish(topic, 1, false, "hello"); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("publish: %v", tok.Error())
	}
	select {
	case m := <-got:
		if m != topic+" hello jf-cantine-1" {
			t.Errorf("received %q", m)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the check-in did not reach the hub")
	}
}
