package hub_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"pointage/hub"
	"pointage/internal/link"
	"pointage/internal/testenv"
	"pointage/internal/wire"
)

// testCA is a throwaway certificate authority.
type testCA struct {
	cert    *x509.Certificate
	key     *ecdsa.PrivateKey
	pemPath string // the CA certificate, PEM
	pool    *x509.CertPool
}

func newTestCA(t testing.TB, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	ca := &testCA{cert: cert, key: key, pemPath: filepath.Join(t.TempDir(), name+".crt"), pool: x509.NewCertPool()}
	ca.pool.AddCert(cert)
	writePEM(t, ca.pemPath, "CERTIFICATE", der)
	return ca
}

// issue writes a server certificate for 127.0.0.1 and localhost signed by
// the CA, and its key; it returns both paths.
func (ca *testCA) issue(t testing.TB) (certPath, keyPath string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "hub"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certPath, keyPath = filepath.Join(dir, "hub.crt"), filepath.Join(dir, "hub.key")
	writePEM(t, certPath, "CERTIFICATE", der)
	writePEM(t, keyPath, "PRIVATE KEY", kder)
	return certPath, keyPath
}

func writePEM(t testing.TB, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// startTLSHub runs a hub like startHub, waiting for /healthz on its own
// URL (https:// with --tls-cert) with the given client.
func startTLSHub(t *testing.T, cfg hub.Config, client *http.Client) *hub.Hub {
	t.Helper()
	cfg.DataDir = t.TempDir()
	return startHubWith(t, cfg, hub.Options{}, client)
}

// tlsDevice connects a device over url with the CA file; it reports
// whether it connected within wait.
func tlsDevice(t *testing.T, url, caFile, site, id, password string, wait time.Duration) (*link.Link, chan link.Message, bool) {
	t.Helper()
	msgs := make(chan link.Message, 64)
	connected := make(chan struct{}, 8)
	l, err := link.New(link.Options{URL: url, CAFile: caFile, ClientID: "agent-" + id, Username: id, Password: password,
		Subscribe:      []string{wire.DeviceTopic("", site, id, wire.KindAck)},
		OnConnect:      func() { connected <- struct{}{} },
		Messages:       msgs,
		ConnectTimeout: 2 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	l.Start()
	t.Cleanup(func() { l.Close("", nil) })
	select {
	case <-connected:
		return l, msgs, true
	case <-time.After(wait):
		return l, msgs, false
	}
}

// The embedded broker's TLS listener: a device trusting the hub's CA
// publishes a check-in that is stored and acknowledged; a device trusting
// another CA and a plain-TCP client on the TLS port never get in; the plain
// listener keeps working beside it.
func TestEmbeddedBrokerOverTLS(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	ca, other := newTestCA(t, "city-ca"), newTestCA(t, "other-ca")
	crt, key := ca.issue(t)
	cfg := config()
	cfg.MQTTTLSListen, cfg.MQTTTLSCert, cfg.MQTTTLSKey = "127.0.0.1:0", crt, key
	h := startTLSHub(t, cfg, http.DefaultClient)
	if h.MQTTTLSAddr() == "" {
		t.Fatal("no TLS listener")
	}
	_, pw, err := h.Devices().Add(context.Background(), "jules-ferry", "jf-cantine-1", "")
	if err != nil {
		t.Fatal(err)
	}

	for i, scheme := range []string{"ssl", "mqtts", "tls"} {
		l, msgs, ok := tlsDevice(t, scheme+"://"+h.MQTTTLSAddr(), ca.pemPath, "jules-ferry", "jf-cantine-1", pw, 10*time.Second)
		if !ok {
			t.Fatalf("%s:// with the right CA did not connect", scheme)
		}
		seq := uint64(i + 1)
		c := wire.CheckIn{V: 1, ID: "ID-TLS-" + scheme, Site: "jules-ferry", Device: "jf-cantine-1", Epoch: "E1", Reader: "entree",
			Seq: seq, Badge: "0A00BC614E", Service: "canteen", Dir: "auto", At: time.Now().Format(wire.AtLayout)}
		b, _ := wire.Encode(c)
		if err := l.Publish(context.Background(), wire.DeviceTopic("", "jules-ferry", "jf-cantine-1", wire.KindCheckIn), b, false); err != nil {
			t.Fatal(err)
		}
		deadline := time.After(10 * time.Second)
	wait:
		for {
			select {
			case m := <-msgs:
				if a, err := wire.DecodeAck(m.Payload); err == nil && a.Epoch == "E1" && a.StoredThrough == seq {
					break wait
				}
			case <-deadline:
				t.Fatalf("%s://: no ack for seq %d", scheme, seq)
			}
		}
		l.Close("", nil)
	}
	if n := storedCount(t, h); n != 3 {
		t.Fatalf("%d events stored, want 3", n)
	}

	// A client that trusts another CA: the handshake fails on the
	// certificate, and the link never connects.
	_, err = tls.Dial("tcp", h.MQTTTLSAddr(), &tls.Config{RootCAs: other.pool, MinVersion: tls.VersionTLS12})
	var unknown x509.UnknownAuthorityError
	if !errors.As(err, &unknown) {
		t.Fatalf("handshake trusting another CA: %v, want an unknown-authority error", err)
	}
	if _, _, ok := tlsDevice(t, "ssl://"+h.MQTTTLSAddr(), other.pemPath, "jules-ferry", "jf-cantine-1", pw, 3*time.Second); ok {
		t.Fatal("a device trusting another CA connected")
	}
	// TLS older than 1.2 is refused.
	if _, err := tls.Dial("tcp", h.MQTTTLSAddr(), &tls.Config{RootCAs: ca.pool, MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11}); err == nil {
		t.Fatal("TLS 1.1 accepted")
	}
	// Plain MQTT on the TLS port: never a CONNACK.
	if _, _, ok := tlsDevice(t, "tcp://"+h.MQTTTLSAddr(), "", "jules-ferry", "jf-cantine-1", pw, 3*time.Second); ok {
		t.Fatal("a plain-TCP client connected to the TLS port")
	}
	conn, err := net.Dial("tcp", h.MQTTTLSAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// CONNECT, MQTT 3.1.1, clean session, keep-alive 15 s, client id "x".
	conn.Write([]byte{0x10, 13, 0, 4, 'M', 'Q', 'T', 'T', 4, 2, 0, 15, 0, 1, 'x'})
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	reply, _ := io.ReadAll(conn)
	if len(reply) > 0 && reply[0] == 0x20 {
		t.Fatalf("plain CONNECT on the TLS port got a CONNACK: % x", reply)
	}
	// The plain listener still serves devices.
	if _, _, ok := tlsDevice(t, h.MQTTURL(), "", "jules-ferry", "jf-cantine-1", pw, 10*time.Second); !ok {
		t.Fatal("the plain listener stopped working")
	}
}

// The hub's own client on an external broker over TLS (--mqtt-url ssl://
// with --mqtt-ca-file): a real mosquitto with a TLS listener, a device on
// it over TLS too; the check-in is stored and acknowledged.
func TestExternalBrokerOverTLS(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	ca := newTestCA(t, "city-ca")
	crt, key := ca.issue(t)
	port := testenv.FreePort(t)
	testenv.Mosquitto(t, testenv.MosquittoConfig(
		fmt.Sprintf("listener %d 127.0.0.1", port), "certfile "+crt, "keyfile "+key, "tls_version tlsv1.2"))
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	cfg := config()
	cfg.MQTTURL, cfg.MQTTCAFile = "mqtts://"+addr, ca.pemPath
	h := startTLSHub(t, cfg, http.DefaultClient)
	l, msgs, ok := tlsDevice(t, "ssl://"+addr, ca.pemPath, "pasteur", "pa-cantine-1", "", 10*time.Second)
	if !ok {
		t.Fatal("device did not connect to mosquitto over TLS")
	}
	c := wire.CheckIn{V: 1, ID: "ID-EXT-TLS", Site: "pasteur", Device: "pa-cantine-1", Epoch: "E1", Reader: "entree",
		Seq: 1, Badge: "0A00BC614E", Service: "canteen", Dir: "auto", At: time.Now().Format(wire.AtLayout)}
	b, _ := wire.Encode(c)
	topic := wire.DeviceTopic("", "pasteur", "pa-cantine-1", wire.KindCheckIn)
	deadline := time.Now().Add(15 * time.Second)
	for acked := false; !acked; {
		// The hub may still be subscribing: publish again until the Ack, as the agent does.
		if err := l.Publish(context.Background(), topic, b, false); err != nil {
			t.Fatal(err)
		}
		select {
		case m := <-msgs:
			a, err := wire.DecodeAck(m.Payload)
			acked = err == nil && a.StoredThrough == 1
		case <-time.After(time.Second):
		}
		if time.Now().After(deadline) {
			t.Fatal("no ack through mosquitto over TLS")
		}
	}
	if n := storedCount(t, h); n != 1 {
		t.Fatalf("%d events stored, want 1", n)
	}
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// dashboardLogin logs in through the form without following redirects or
// keeping a cookie jar, and returns the session cookie as set.
func dashboardLogin(t *testing.T, c *http.Client, base, name, password string) *http.Cookie {
	t.Helper()
	resp, err := c.Get(base + "/connexion")
	if err != nil {
		t.Fatal(err)
	}
	form, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := csrfField.FindSubmatch(form)
	if m == nil {
		t.Fatalf("no CSRF field in the login form:\n%s", form)
	}
	req, _ := http.NewRequest("POST", base+"/connexion",
		strings.NewReader(url.Values{"csrf": {string(m[1])}, "nom": {name}, "motdepasse": {password}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for _, ck := range resp.Cookies() { // the double-submit cookie, sent back even over plain HTTP
		req.AddCookie(&http.Cookie{Name: ck.Name, Value: ck.Value})
	}
	noRedirect := *c
	noRedirect.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err = noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for _, ck := range resp.Cookies() {
		if ck.Name == "pointage_session" && ck.Value != "" {
			return ck
		}
	}
	t.Fatalf("login: %d, no session cookie in %v", resp.StatusCode, resp.Header["Set-Cookie"])
	return nil
}

// --tls-cert/--tls-key: the API and dashboard answer over HTTPS to a client
// trusting the CA, not to one that does not, and the session cookie is
// Secure.
func TestHTTPSWithSecureSessionCookie(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	ca := newTestCA(t, "city-ca")
	crt, key := ca.issue(t)
	cfg := config()
	cfg.TLSCert, cfg.TLSKey = crt, key
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.pool}}, Timeout: 10 * time.Second}
	h := startTLSHub(t, cfg, client)
	if !strings.HasPrefix(h.HTTPURL(), "https://") {
		t.Fatalf("HTTPURL %s", h.HTTPURL())
	}
	if _, err := h.Users().Add(context.Background(), "marie", "office", "", "password-marie"); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", h.HTTPURL()+"/api/v1/counts?date=2026-11-28", nil)
	req.SetBasicAuth("marie", "password-marie")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.TLS == nil || !strings.Contains(string(body), `"date":"2026-11-28"`) {
		t.Fatalf("counts over HTTPS: %d tls=%v\n%s", resp.StatusCode, resp.TLS != nil, body)
	}
	// Without the CA: refused by the client's verification.
	var unknown x509.UnknownAuthorityError
	if _, err := http.Get(h.HTTPURL() + "/healthz"); !errors.As(err, &unknown) {
		t.Fatalf("HTTPS without the CA: %v, want an unknown-authority error", err)
	}
	// Plain HTTP on the HTTPS port gets no API answer.
	if resp, err := http.Get("http://" + h.HTTPAddr() + "/healthz"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Fatal("plain HTTP answered on the HTTPS port")
		}
	}
	if ck := dashboardLogin(t, client, h.HTTPURL(), "marie", "password-marie"); !ck.Secure || !ck.HttpOnly {
		t.Fatalf("session cookie over HTTPS: %+v", ck)
	}
}

// --behind-tls-proxy: the hub serves plain HTTP to the proxy, and the
// session cookie is Secure all the same.
func TestBehindTLSProxySecureCookie(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	cfg := config()
	cfg.BehindTLSProxy = true
	h := startTLSHub(t, cfg, http.DefaultClient)
	if _, err := h.Users().Add(context.Background(), "marie", "office", "", "password-marie"); err != nil {
		t.Fatal(err)
	}
	if ck := dashboardLogin(t, http.DefaultClient, h.HTTPURL(), "marie", "password-marie"); !ck.Secure {
		t.Fatalf("session cookie behind a TLS proxy: %+v", ck)
	}
}

// The TLS options are checked together, each error naming its flag.
func TestTLSConfigValidation(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  func(*hub.Config)
		want string // "" = valid
	}{
		{"plain defaults", func(*hub.Config) {}, ""},
		{"mqtt tls", func(c *hub.Config) { c.MQTTTLSListen, c.MQTTTLSCert, c.MQTTTLSKey = ":8883", "c", "k" }, ""},
		{"mqtt tls without key", func(c *hub.Config) { c.MQTTTLSListen, c.MQTTTLSCert = ":8883", "c" }, "mqtt-tls-key"},
		{"mqtt tls without cert", func(c *hub.Config) { c.MQTTTLSListen, c.MQTTTLSKey = ":8883", "k" }, "mqtt-tls-cert"},
		{"mqtt cert without listener", func(c *hub.Config) { c.MQTTTLSCert, c.MQTTTLSKey = "c", "k" }, "mqtt-tls-listen"},
		{"mqtt tls with external broker", func(c *hub.Config) {
			c.MQTTURL, c.MQTTTLSListen, c.MQTTTLSCert, c.MQTTTLSKey = "tcp://b:1883", ":8883", "c", "k"
		}, "mqtt-tls-listen"},
		{"ca file with ssl", func(c *hub.Config) { c.MQTTURL, c.MQTTCAFile = "ssl://b:8883", "ca.pem" }, ""},
		{"ca file with mqtts", func(c *hub.Config) { c.MQTTURL, c.MQTTCAFile = "mqtts://b:8883", "ca.pem" }, ""},
		{"ca file with tcp", func(c *hub.Config) { c.MQTTURL, c.MQTTCAFile = "tcp://b:1883", "ca.pem" }, "mqtt-ca-file"},
		{"ca file with embedded broker", func(c *hub.Config) { c.MQTTCAFile = "ca.pem" }, "mqtt-ca-file"},
		{"https", func(c *hub.Config) { c.TLSCert, c.TLSKey = "c", "k" }, ""},
		{"https without key", func(c *hub.Config) { c.TLSCert = "c" }, "tls-key"},
		{"https without cert", func(c *hub.Config) { c.TLSKey = "k" }, "tls-cert"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := hub.Defaults()
			tc.set(&cfg)
			err := cfg.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.HasPrefix(err.Error(), tc.want+":")):
				t.Fatalf("error %v, want one naming %s", err, tc.want)
			}
		})
	}
	// A certificate file that does not exist is refused at start, naming the flags.
	cfg := hub.Defaults()
	cfg.DataDir, cfg.Listen, cfg.MQTTListen = t.TempDir(), "127.0.0.1:0", "127.0.0.1:0"
	cfg.TLSCert, cfg.TLSKey = "/nonexistent.crt", "/nonexistent.key"
	if _, err := hub.New(context.Background(), cfg, hub.Options{}); err == nil || !strings.Contains(err.Error(), "--tls-cert") {
		t.Fatalf("missing HTTPS certificate: %v", err)
	}
}
