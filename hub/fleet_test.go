package hub_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"pointage/hub"
	"pointage/hub/api"
	"pointage/internal/link"
	"pointage/internal/wire"
)

// configListener is a device that records the config commands it gets and
// publishes the statuses it is told to.
type configListener struct {
	l    *link.Link
	mu   sync.Mutex
	cmds []wire.ConfigCommand
}

func listenConfig(t *testing.T, h *hub.Hub, site, device, password string) *configListener {
	t.Helper()
	c := &configListener{}
	msgs := make(chan link.Message, 64)
	l, err := link.New(link.Options{URL: h.MQTTURL(), ClientID: "agent-" + device, Username: device, Password: password,
		Subscribe: []string{wire.DeviceTopic("", site, device, wire.KindCmd)}, Messages: msgs})
	if err != nil {
		t.Fatal(err)
	}
	c.l = l
	l.Start()
	waitFor(t, 10*time.Second, device+" connected", l.Connected)
	go func() {
		for m := range msgs {
			if cc, err := wire.DecodeConfigCommand(m.Payload); err == nil {
				c.mu.Lock()
				c.cmds = append(c.cmds, cc)
				c.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() { l.Close("", nil); close(msgs) })
	return c
}

func (c *configListener) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.cmds)
}

func (c *configListener) last() wire.ConfigCommand {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cmds[len(c.cmds)-1]
}

func (c *configListener) status(t *testing.T, site, device string, configVersion, errVersion int64) {
	t.Helper()
	st := wire.Status{V: 1, Site: site, Device: device, Epoch: "E1", State: wire.StateOnline, At: time.Now().Format(wire.AtLayout),
		Readers: []wire.ReaderStatus{}, ConfigVersion: configVersion, ConfigErrorVersion: errVersion, Profiles: []string{"maison"}}
	if errVersion != 0 {
		st.ConfigError = "unknown profile"
	}
	b, _ := wire.Encode(st)
	if err := c.l.Publish(context.Background(), wire.DeviceTopic("", site, device, wire.KindStatus), b, true); err != nil {
		t.Fatal(err)
	}
}

// The devices' reader lists and enrolment through the API (docs/DESIGN.md
// §14): a bad list is refused naming the field, a profile the agent
// reported is accepted; the list is sent to the device at once and again
// on each status until it reports it, not when it refused it; an expired
// code is refused; failures are limited per address; everything audited;
// a school user gets 403.
func TestFleetAPI(t *testing.T) {
	var offset atomic.Int64 // the hub's clock runs ahead by this much
	now := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	cfg := config()
	h := startHubWith(t, cfg, hub.Options{Now: now}, nil)
	// devicesAdminHub's users, on this hub.
	adminUsers(t, h)
	office := func(method, path, body string) (int, string) {
		return rawCall(t, h, method, path, "marie", "password-marie", body)
	}
	code, body := office("POST", "/api/v1/devices", `{"site":"jules-ferry","device":"jf-cantine-1"}`)
	creds := credentialsOf(t, code, body, http.StatusCreated)

	good := `{"readers":[{"name":"entree","port":"usb:0403:6001","profile":"rdm6300","service":"canteen"}]}`
	for name, tc := range map[string]struct {
		path, body string
		want       int
		field      string
	}{
		"unknown profile": {"/api/v1/devices/jf-cantine-1/config", strings.Replace(good, "rdm6300", "maison", 1), 400, "readers[0].profile"},
		"duplicate name": {"/api/v1/devices/jf-cantine-1/config", `{"readers":[{"name":"a","port":"COM3","profile":"rdm6300","service":"staff"},{"name":"a","port":"COM4","profile":"rdm6300","service":"staff"}]}`,
			400, "readers[1].name"},
		"bad service":    {"/api/v1/devices/jf-cantine-1/config", strings.Replace(good, "canteen", "cantine", 1), 400, "readers[0].service"},
		"no readers key": {"/api/v1/devices/jf-cantine-1/config", `{}`, 400, "readers"},
		"unknown key":    {"/api/v1/devices/jf-cantine-1/config", `{"readers":[],"x":1}`, 400, "x"},
		"unknown device": {"/api/v1/devices/nowhere/config", good, 404, ""},
		"bad device id":  {"/api/v1/devices/No%20Way/config", good, 400, "device"},
	} {
		if code, body := office("PUT", tc.path, tc.body); code != tc.want || !strings.Contains(body, tc.field) {
			t.Errorf("%s: %d %s, want %d naming %q", name, code, body, tc.want, tc.field)
		}
	}
	if code, _ := rawCall(t, h, "PUT", "/api/v1/devices/jf-cantine-1/config", "ecole", "password-ecole", good); code != http.StatusForbidden {
		t.Fatalf("a school user set a reader list: %d", code)
	}
	if code, body := office("GET", "/api/v1/devices/jf-cantine-1/config", ""); code != 200 || !strings.Contains(body, `"source":"file"`) || !strings.Contains(body, `"rdm6300"`) {
		t.Fatalf("GET before any list: %d %s", code, body)
	}

	dev := listenConfig(t, h, "jules-ferry", "jf-cantine-1", creds.Password)
	dev.status(t, "jules-ferry", "jf-cantine-1", 0, 0) // it reports the profile "maison" of its profiles_dir
	waitFor(t, 5*time.Second, "the status recorded", func() bool {
		_, body := office("GET", "/api/v1/devices/jf-cantine-1/config", "")
		return strings.Contains(body, `"maison"`)
	})
	code, body = office("PUT", "/api/v1/devices/jf-cantine-1/config", strings.Replace(good, "rdm6300", "maison", 1))
	var set api.DeviceConfigView
	if code != 200 || json.Unmarshal([]byte(body), &set) != nil || set.Source != "hub" || set.Version == 0 || set.UpdatedBy != "marie" {
		t.Fatalf("PUT a list naming the agent's own profile: %d %s", code, body)
	}
	waitFor(t, 5*time.Second, "the list sent at once", func() bool { return dev.count() == 1 })
	if c := dev.last(); c.Version != set.Version || len(c.Readers) != 1 || c.Readers[0].Profile != "maison" {
		t.Fatalf("config command %+v", c)
	}
	dev.status(t, "jules-ferry", "jf-cantine-1", 0, 0) // still the old one: sent again
	waitFor(t, 5*time.Second, "the list sent again on a status that lacks it", func() bool { return dev.count() == 2 })
	dev.status(t, "jules-ferry", "jf-cantine-1", set.Version, 0) // applied
	dev.status(t, "jules-ferry", "jf-cantine-1", 0, set.Version) // or refused
	time.Sleep(time.Second)
	if n := dev.count(); n != 2 {
		t.Fatalf("%d config commands after the agent reported it (applied or refused), want 2", n)
	}

	// Enrolment: the code from the registration, expired 8 days later.
	offset.Store(int64(8 * 24 * time.Hour))
	code, body = rawCall(t, h, "POST", "/api/v1/enrol", "", "", fmt.Sprintf(`{"code":%q}`, creds.EnrolmentCode))
	if code != http.StatusUnauthorized || !strings.Contains(body, "expired") {
		t.Fatalf("an expired code: %d %s", code, body)
	}
	offset.Store(0)
	code, body = rawCall(t, h, "POST", "/api/v1/enrol", "", "", fmt.Sprintf(`{"code":%q}`, creds.EnrolmentCode))
	var e api.Enrolled
	if code != 200 || json.Unmarshal([]byte(body), &e) != nil || e.Device != "jf-cantine-1" || e.ConfigVersion != set.Version ||
		len(e.Readers) != 1 || !strings.HasPrefix(e.MQTTURL, "tcp://127.0.0.1:") || len(e.Password) < 20 {
		t.Fatalf("enrol: %d %s", code, body)
	}
	limited := false
	for range 25 {
		if code, _ := rawCall(t, h, "POST", "/api/v1/enrol", "", "", `{"code":"ZZZZ-ZZZZ-ZZZZ"}`); code == http.StatusTooManyRequests {
			limited = true
			break
		}
	}
	if !limited {
		t.Fatal("25 wrong codes from one address were not limited")
	}
	_, audit := office("GET", "/api/v1/audit", "")
	for _, action := range []string{"device_config", "device_enrolled", "device_enrol_refused"} {
		if !strings.Contains(audit, action) {
			t.Errorf("the audit log lacks %s", action)
		}
	}
}

// A password changed by another process (the devices command: hub.db's
// revocation journal, followed every RevokeEvery) closes the sessions
// that logged in with the old one, not one the device opened since with
// the new one (an agent just enrolled is not kicked).
func TestRevocationClosesOnlyOlderSessions(t *testing.T) {
	h := startHub(t, config())
	ctx := context.Background()
	_, oldPw, err := h.Devices().Add(ctx, "jules-ferry", "jf-cantine-1", "")
	if err != nil {
		t.Fatal(err)
	}
	dial := func(client, pw string, drops *atomic.Int32) *link.Link {
		l, err := link.New(link.Options{URL: h.MQTTURL(), ClientID: client, Username: "jf-cantine-1", Password: pw,
			OnDisconnect: func(error) { drops.Add(1) }})
		if err != nil {
			t.Fatal(err)
		}
		l.Start()
		t.Cleanup(func() { l.Close("", nil) })
		waitFor(t, 10*time.Second, client+" connected", l.Connected)
		return l
	}
	var beforeDrops, afterDrops atomic.Int32
	before := dial("agent-old", oldPw, &beforeDrops)
	// The devices command's path: the registry alone, no in-process close.
	newPw, err := h.Devices().SetPassword(ctx, "jf-cantine-1", "")
	if err != nil {
		t.Fatal(err)
	}
	after := dial("agent-new", newPw, &afterDrops)
	waitFor(t, 3*hub.RevokeEvery+time.Second, "the old password's session closed", func() bool { return beforeDrops.Load() > 0 && !before.Connected() })
	time.Sleep(hub.RevokeEvery + 500*time.Millisecond)
	if n := afterDrops.Load(); n != 0 || !after.Connected() {
		t.Fatalf("the session opened with the new password was closed %d time(s) by the revocation", n)
	}
}
