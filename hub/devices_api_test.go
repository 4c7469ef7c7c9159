package hub_test

import (
	"context"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"pointage/hub"
	"pointage/hub/api"
	"pointage/hub/audit"
	"pointage/hub/auth"
	"pointage/hub/devices"
	"pointage/hub/users"
	"pointage/internal/link"
	"pointage/internal/testenv"
)

var enrolmentCodeShape = regexp.MustCompile(`^[A-HJKMNP-Z2-9]{4}-[A-HJKMNP-Z2-9]{4}-[A-HJKMNP-Z2-9]{4}$`)

// rawCall sends body as it is, with Basic credentials.
func rawCall(t *testing.T, h *hub.Hub, method, path, user, password, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+h.HTTPAddr()+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(user, password)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// devicesAdminHub is a hub with an office user (marie) and a school user
// (ecole) at jules-ferry; cfg's data folder is used as it is.
func devicesAdminHub(t *testing.T, cfg hub.Config) *hub.Hub {
	t.Helper()
	h := startHub(t, cfg)
	adminUsers(t, h)
	return h
}

// adminUsers adds marie (office) and ecole (school, jules-ferry), with
// passwords password-NAME.
func adminUsers(t *testing.T, h *hub.Hub) {
	t.Helper()
	users.FastBcryptForTest(h.Users())
	for _, u := range []struct {
		name string
		role auth.Role
		site string
	}{{"marie", auth.RoleOffice, ""}, {"ecole", auth.RoleSchool, "jules-ferry"}} {
		if _, err := h.Users().Add(context.Background(), u.name, u.role, u.site, "password-"+u.name); err != nil {
			t.Fatal(err)
		}
	}
}

func credentialsOf(t *testing.T, code int, body string, want int) api.DeviceCredentials {
	t.Helper()
	var c api.DeviceCredentials
	if code != want || json.Unmarshal([]byte(body), &c) != nil {
		t.Fatalf("%d %s, want %d and credentials", code, body, want)
	}
	if len(c.Password) < 20 || !enrolmentCodeShape.MatchString(c.EnrolmentCode) || c.Warning != "" {
		t.Fatalf("credentials: %s", body)
	}
	if d := time.Until(c.EnrolmentCodeExpires); d < 7*24*time.Hour-time.Minute || d > 7*24*time.Hour {
		t.Errorf("the code expires in %v, want 7 days", d)
	}
	return c
}

// agentLink is an agent-like MQTT client of a device: it reconnects by
// itself with its password, as the agent does.
func agentLink(t *testing.T, url, id, password string) *link.Link {
	t.Helper()
	l, err := link.New(link.Options{URL: url, ClientID: fmt.Sprintf("agent-%s-%d", id, time.Now().UnixNano()), Username: id, Password: password})
	if err != nil {
		t.Fatal(err)
	}
	l.Start()
	t.Cleanup(func() { l.Close("", nil) })
	return l
}

// stillOut checks that l stays disconnected for a while (it retries with
// its password, which must be refused).
func stillOut(t *testing.T, l *link.Link, what string) {
	t.Helper()
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if l.Connected() {
			t.Fatalf("%s: logged in again", what)
		}
	}
}

// docs/DESIGN.md §12's devices API against a running hub: the office
// registers a device (password and enrolment code returned once, the
// password logs in), gives it a new password (the open session closed
// within 2 s, the old password refused, the old code replaced) and
// removes it (closed within 2 s, refused); bad input is refused with its
// reason; a school user gets 403; every change is in the audit log.
func TestDevicesAPI(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	h := devicesAdminHub(t, config())
	marie := func(method, path, body string) (int, string) {
		t.Helper()
		return rawCall(t, h, method, path, "marie", "password-marie", body)
	}
	ecole := func(method, path, body string) (int, string) {
		t.Helper()
		return rawCall(t, h, method, path, "ecole", "password-ecole", body)
	}
	ctx := context.Background()

	code, body := marie("POST", "/api/v1/devices", `{"site":"jules-ferry","device":"jf-cantine-2"}`)
	first := credentialsOf(t, code, body, 201)
	if first.Site != "jules-ferry" || first.Device != "jf-cantine-2" {
		t.Fatalf("registered: %s", body)
	}
	// Listed before it ever connected, as registered.
	code, body = marie("GET", "/api/v1/devices", "")
	var list api.DevicesView
	if code != 200 || json.Unmarshal([]byte(body), &list) != nil || len(list.Devices) != 1 {
		t.Fatalf("devices: %d %s", code, body)
	}
	if d := list.Devices[0]; d.Device != "jf-cantine-2" || d.Site != "jules-ferry" || !d.Registered || d.State != "unknown" || d.RegisteredAt == nil {
		t.Errorf("listed: %+v", d)
	}
	if code, body := ecole("GET", "/api/v1/devices", ""); code != 200 || !strings.Contains(body, `"device":"jf-cantine-2"`) {
		t.Errorf("the school's devices: %d %s", code, body)
	}

	// Bad input, each refused with its reason; nothing registered.
	for _, c := range []struct {
		method, path, body string
		want               int
		says               string
	}{
		{"POST", "/api/v1/devices", `{"site":"Jules Ferry","device":"jf-3"}`, 400, "site: "},
		{"POST", "/api/v1/devices", `{"site":"jules-ferry","device":"jf/3"}`, 400, "device: "},
		{"POST", "/api/v1/devices", `{"site":"jules-ferry","device":"jf-+"}`, 400, "device: "},
		{"POST", "/api/v1/devices", `{"site":"jules-ferry","device":"école-1"}`, 400, "device: "},
		{"POST", "/api/v1/devices", `{"site":"jules-ferry"}`, 400, "device: required"},
		{"POST", "/api/v1/devices", `{"device":"jf-3"}`, 400, "site: required"},
		{"POST", "/api/v1/devices", `{"site":"jules-ferry","device":"jf-3","password":"x"}`, 400, "password"},
		{"POST", "/api/v1/devices", `{"site":"jules-ferry","device":"jf-3","device":"jf-4"}`, 400, "device"},
		{"POST", "/api/v1/devices", `{"site":"jules-ferry","Device":"jf-3"}`, 400, "body: "},
		{"POST", "/api/v1/devices", `{"site":null,"device":"jf-3"}`, 400, "body: "},
		{"POST", "/api/v1/devices", `{"site":"jules-ferry","device":"jf-3"} {}`, 400, "body: "},
		{"POST", "/api/v1/devices", `["jules-ferry","jf-3"]`, 400, "body: "},
		{"POST", "/api/v1/devices", ``, 400, "body: "},
		{"POST", "/api/v1/devices", `{"site":"jules-ferry","device":"jf-cantine-2"}`, 409, "already registered"},
		{"POST", "/api/v1/devices", `{"site":"pasteur","device":"jf-cantine-2"}`, 409, `already registered at site`},
		{"POST", "/api/v1/devices/nobody/password", ``, 404, "not registered"},
		{"POST", "/api/v1/devices/jf-cantine-2/password", `{"password":"mine"}`, 400, "body: "},
		{"POST", "/api/v1/devices/Bad%20Id/password", ``, 400, "device: "},
		{"DELETE", "/api/v1/devices/nobody", ``, 404, "not registered"},
		{"DELETE", "/api/v1/devices/jf%2Fcantine", ``, 400, "device: "},
	} {
		if code, body := marie(c.method, c.path, c.body); code != c.want || !strings.Contains(body, c.says) {
			t.Errorf("%s %s %s: %d %s, want %d saying %q", c.method, c.path, c.body, code, body, c.want, c.says)
		}
	}
	for _, c := range [][3]string{
		{"POST", "/api/v1/devices", `{"site":"jules-ferry","device":"jf-3"}`},
		{"POST", "/api/v1/devices/jf-cantine-2/password", ``},
		{"DELETE", "/api/v1/devices/jf-cantine-2", ``},
	} {
		if code, body := ecole(c[0], c[1], c[2]); code != 403 {
			t.Errorf("school user: %s %s: %d %s, want 403", c[0], c[1], code, body)
		}
	}
	if all, err := h.Devices().List(ctx); err != nil || len(all) != 1 {
		t.Fatalf("registered after the refusals: %+v %v", all, err)
	}

	// The password the API gave logs in; a new one closes that session.
	d := agentLink(t, h.MQTTURL(), "jf-cantine-2", first.Password)
	waitFor(t, 10*time.Second, "the device logs in with the password the API gave", d.Connected)
	code, body = marie("POST", "/api/v1/devices/jf-cantine-2/password", ``)
	second := credentialsOf(t, code, body, 200)
	if second.Password == first.Password || second.EnrolmentCode == first.EnrolmentCode || second.Device != "jf-cantine-2" {
		t.Fatalf("new password: %s after %+v", body, first)
	}
	waitFor(t, 2*time.Second, "the old password's session closed", func() bool { return !d.Connected() })
	stillOut(t, d, "the old password")
	d.Close("", nil)
	if _, err := h.Devices().Redeem(ctx, first.EnrolmentCode, time.Now()); err == nil {
		t.Error("the first enrolment code still works after a new one")
	}
	if code, _ := marie("POST", "/api/v1/devices/jf-cantine-2/password", `{}`); code != 200 {
		t.Errorf("new password with {}: %d", code)
	}
	code, body = marie("POST", "/api/v1/devices/jf-cantine-2/password", ``)
	third := credentialsOf(t, code, body, 200)
	if dev, err := h.Devices().Redeem(ctx, strings.ToLower(third.EnrolmentCode), time.Now()); err != nil || dev.ID != "jf-cantine-2" {
		t.Errorf("the latest enrolment code: %+v %v", dev, err)
	}

	// Removed: its session closed within 2 s, and it stays out.
	d = agentLink(t, h.MQTTURL(), "jf-cantine-2", third.Password)
	waitFor(t, 10*time.Second, "the device logs in with its new password", d.Connected)
	if code, body := marie("DELETE", "/api/v1/devices/jf-cantine-2", ""); code != 204 || body != "" {
		t.Fatalf("remove: %d %q", code, body)
	}
	waitFor(t, 2*time.Second, "the removed device's session closed", func() bool { return !d.Connected() })
	stillOut(t, d, "the removed device")
	if code, _ := marie("DELETE", "/api/v1/devices/jf-cantine-2", ""); code != 404 {
		t.Errorf("remove again: %d, want 404", code)
	}
	if code, body := marie("GET", "/api/v1/devices", ""); code != 200 || strings.Contains(body, "jf-cantine-2") {
		t.Errorf("a removed device that never sent anything is still listed: %s", body)
	}

	// Audited: who, what, when; never a password or a code.
	code, body = marie("GET", "/api/v1/audit", "")
	var got api.AuditView
	if code != 200 || json.Unmarshal([]byte(body), &got) != nil {
		t.Fatalf("audit: %d %s", code, body)
	}
	n := map[string]int{}
	for _, e := range got.Entries {
		if e.Target != "jf-cantine-2" {
			continue
		}
		n[e.Action]++
		if e.User != "marie" || e.Role != "office" || e.Addr != "127.0.0.1" || time.Since(e.At) > time.Minute || !strings.Contains(e.Detail, "jules-ferry") {
			t.Errorf("audit entry: %+v", e)
		}
	}
	if n[audit.DeviceAdded] != 1 || n[audit.DevicePassword] != 3 || n[audit.DeviceRemoved] != 1 {
		t.Errorf("audited: %v, want 1 added, 3 passwords, 1 removed", n)
	}
	for _, secret := range []string{first.Password, first.EnrolmentCode, second.Password, third.EnrolmentCode} {
		if strings.Contains(body, secret) || strings.Contains(body, strings.ReplaceAll(secret, "-", "")) {
			t.Errorf("the audit log holds a password or a code: %s", body)
		}
	}
}

// mosquittoLine is a password_file line as mosquitto_passwd 2.x writes it.
func mosquittoLine(t *testing.T, user, password string) string {
	t.Helper()
	salt := make([]byte, 12)
	rand.Read(salt)
	key, err := pbkdf2.Key(sha512.New, password, salt, 101, sha512.Size)
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.StdEncoding
	return fmt.Sprintf("%s:$7$101$%s$%s\n", user, enc.EncodeToString(salt), enc.EncodeToString(key))
}

// With an external mosquitto and --mosquitto-dir, a change made through
// the API rewrites mosquitto's passwd and acl files as broker-config does
// (the hub's own account kept, the files' permissions kept): after
// mosquitto's reload the registered device logs in and is heard, a new
// password replaces the old one, a removed device is disconnected and
// stays out.
func TestDevicesAPIWritesMosquittoFiles(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	ctx := context.Background()
	mosqDir, data := t.TempDir(), t.TempDir()
	passwd, acl := filepath.Join(mosqDir, devices.PasswdFile), filepath.Join(mosqDir, devices.ACLFile)
	if err := os.WriteFile(passwd, []byte(mosquittoLine(t, devices.HubUser, "hub-password")), 0o640); err != nil {
		t.Fatal(err)
	}
	cfg := config()
	cfg.DataDir = data
	st, err := hub.OpenState(ctx, cfg, hub.StateOptions{HubDBOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Devices.WriteMosquittoConfig(ctx, mosqDir); err != nil { // broker-config mosquitto, before any device
		t.Fatal(err)
	}
	st.Close()
	m := testenv.Mosquitto(t, testenv.MosquittoPasswordFile(passwd), testenv.MosquittoACLFile(acl), testenv.MosquittoAnonymous(false))
	cfg.MQTTURL, cfg.MQTTUsername, cfg.MQTTPassword, cfg.MosquittoDir = m.URL(), devices.HubUser, "hub-password", mosqDir
	h := devicesAdminHub(t, cfg)
	marie := func(method, path, body string) (int, string) {
		t.Helper()
		return rawCall(t, h, method, path, "marie", "password-marie", body)
	}

	code, body := marie("POST", "/api/v1/devices", `{"site":"pasteur","device":"pa-cantine-1"}`)
	first := credentialsOf(t, code, body, 201)
	if b, _ := os.ReadFile(passwd); !strings.Contains(string(b), "pa-cantine-1:$7$") || !strings.Contains(string(b), devices.HubUser+":$7$") {
		t.Fatalf("passwd after the API's registration:\n%s", b)
	}
	if fi, err := os.Stat(passwd); err != nil || fi.Mode().Perm() != 0o640 {
		t.Errorf("passwd written again: %v %v, want its mode 0640 kept", fi.Mode(), err)
	}
	m.Reload() // systemctl reload mosquitto (docs/DEPLOY.md: a path unit does it)
	waitFor(t, 10*time.Second, "the registered device logs in to mosquitto", func() bool {
		l, err := link.New(link.Options{URL: m.URL(), ClientID: "probe-pa", Username: "pa-cantine-1", Password: first.Password})
		if err != nil {
			return false
		}
		defer l.Close("", nil)
		l.Start()
		for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			if l.Connected() {
				return true
			}
		}
		return false
	})
	dev := newDevice(t, m.URL(), "pasteur", "pa-cantine-1", first.Password)
	deadline := time.Now().Add(15 * time.Second)
	for dev.ack("E1") != 1 { // the ACL lets it publish its check-in and read its Ack
		if time.Now().After(deadline) {
			t.Fatal("no Ack through mosquitto with the files the API wrote")
		}
		dev.send("E1", 1)
		time.Sleep(500 * time.Millisecond)
	}

	code, body = marie("POST", "/api/v1/devices/pa-cantine-1/password", "")
	second := credentialsOf(t, code, body, 200)
	m.Reload()
	waitFor(t, 5*time.Second, "the old password's session closed by mosquitto's reload", func() bool { return !dev.l.Connected() })
	stillOut(t, dev.l, "the old password")
	l := agentLink(t, m.URL(), "pa-cantine-1", second.Password)
	waitFor(t, 10*time.Second, "the new password logs in", l.Connected)

	if code, _ := marie("DELETE", "/api/v1/devices/pa-cantine-1", ""); code != 204 {
		t.Fatalf("remove: %d", code)
	}
	if b, _ := os.ReadFile(passwd); strings.Contains(string(b), "pa-cantine-1") || !strings.Contains(string(b), devices.HubUser+":$7$") {
		t.Fatalf("passwd after the removal:\n%s", b)
	}
	if b, _ := os.ReadFile(acl); strings.Contains(string(b), "pa-cantine-1") {
		t.Fatalf("acl after the removal:\n%s", b)
	}
	m.Reload()
	waitFor(t, 5*time.Second, "the removed device disconnected by mosquitto's reload", func() bool { return !l.Connected() })
	stillOut(t, l, "the removed device")
}

// --mosquitto-dir is for an external mosquitto: with the embedded broker it
// would write files nobody reads.
func TestMosquittoDirNeedsAnExternalBroker(t *testing.T) {
	cfg := hub.Defaults()
	cfg.MosquittoDir = "/etc/mosquitto/pointage"
	if err := cfg.Validate(); err == nil || !strings.HasPrefix(err.Error(), "mosquitto-dir:") {
		t.Errorf("with the embedded broker: %v, want an error naming mosquitto-dir", err)
	}
	cfg.MQTTURL = "tcp://127.0.0.1:1883"
	if err := cfg.Validate(); err != nil {
		t.Errorf("with --mqtt-url: %v", err)
	}
}
