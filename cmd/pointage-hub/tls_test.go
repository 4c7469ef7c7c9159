package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"pointage/hub"
	"pointage/internal/scansim"
	"pointage/internal/testenv"
)

// throwawayCA writes a CA certificate and a server certificate for
// 127.0.0.1 and localhost signed by it; it returns the three paths and a
// pool holding the CA.
func throwawayCA(t *testing.T) (caPath, certPath, keyPath string, pool *x509.CertPool) {
	t.Helper()
	dir := t.TempDir()
	write := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test city CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "hub"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalPKCS8PrivateKey(key)
	pool = x509.NewCertPool()
	pool.AddCert(ca)
	return write("ca.crt", "CERTIFICATE", caDER), write("hub.crt", "CERTIFICATE", der), write("hub.key", "PRIVATE KEY", kder), pool
}

// The TLS flags come from the environment and the config file like the others.
func TestTLSFlagsPrecedence(t *testing.T) {
	file := filepath.Join(t.TempDir(), "hub.yaml")
	os.WriteFile(file, []byte("tls-cert: /etc/pointage/hub.crt\ntls_key: /etc/pointage/hub.key\nmqtt_tls_listen: \":8883\"\n"), 0o600)
	t.Setenv("POINTAGE_MQTT_TLS_CERT", "/env/mqtt.crt")
	t.Setenv("POINTAGE_MQTT_TLS_KEY", "/env/mqtt.key")
	t.Setenv("POINTAGE_BEHIND_TLS_PROXY", "true")
	var cfg hub.Config
	var configFile string
	cmd := &cobra.Command{Use: "x", RunE: func(*cobra.Command, []string) error { return nil }}
	hubFlags(cmd.Flags(), &cfg, &configFile)
	cmd.SetArgs([]string{"--config", file, "--mqtt-ca-file", "/flag/ca.pem"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if err := applyPrecedence(cmd, &cfg, configFile); err != nil {
		t.Fatal(err)
	}
	if cfg.TLSCert != "/etc/pointage/hub.crt" || cfg.TLSKey != "/etc/pointage/hub.key" || cfg.MQTTTLSListen != ":8883" ||
		cfg.MQTTTLSCert != "/env/mqtt.crt" || cfg.MQTTTLSKey != "/env/mqtt.key" || !cfg.BehindTLSProxy || cfg.MQTTCAFile != "/flag/ca.pem" {
		t.Fatalf("TLS settings: %+v", cfg)
	}
	if d := hub.Defaults(); d.MQTTTLSListen != "" || d.TLSCert != "" || d.BehindTLSProxy {
		t.Fatalf("TLS must be off by default: %+v", d)
	}
}

// A real agent process, configured with ssl:// and the CA file, badges
// through a pty reader to a real hub process serving MQTT over TLS (set
// by environment variables) and HTTPS (set by the config file): the
// check-in is stored, the API shows it over HTTPS, and the agent's outbox
// has nothing pending (the hub's Ack arrived over TLS).
func TestAgentProcessOverTLS(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	caPath, crt, key, pool := throwawayCA(t)
	data := t.TempDir()
	add := exec.Command(hubBinary(t), "devices", "add", "--data-dir", data, "jules-ferry", "jf-cantine-1", "--password-stdin")
	add.Stdin = strings.NewReader("correct horse battery\n")
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("devices add: %v\n%s", err, out)
	}
	httpPort, mqttPort, tlsPort := testenv.FreePort(t), testenv.FreePort(t), testenv.FreePort(t)
	hubConf := filepath.Join(t.TempDir(), "hub.yaml")
	os.WriteFile(hubConf, []byte(fmt.Sprintf("tls_cert: %s\ntls_key: %s\n", crt, key)), 0o600)
	t.Setenv("POINTAGE_MQTT_TLS_LISTEN", fmt.Sprintf("127.0.0.1:%d", tlsPort))
	t.Setenv("POINTAGE_MQTT_TLS_CERT", crt)
	t.Setenv("POINTAGE_MQTT_TLS_KEY", key)
	startHubProcess(t, "run", "--config", hubConf, "--data-dir", data,
		"--listen", fmt.Sprintf("127.0.0.1:%d", httpPort), "--mqtt-listen", fmt.Sprintf("127.0.0.1:%d", mqttPort))
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}, Timeout: 5 * time.Second}
	base := fmt.Sprintf("https://127.0.0.1:%d", httpPort)
	getJSON := func(path string, into any) bool {
		resp, err := client.Get(base + path)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		return resp.StatusCode == 200 && json.NewDecoder(resp.Body).Decode(into) == nil
	}
	waitFor(t, 15*time.Second, "hub healthy over HTTPS", func() bool { var v any; return getJSON("/healthz", &v) })

	pty, err := scansim.NewPTY()
	if err != nil {
		t.Fatalf("pseudo-terminal: %v", err)
	}
	t.Cleanup(func() { pty.Close() })
	frame, err := scansim.Encode("rdm6300", "13005D1DA5")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	secret := filepath.Join(dir, "secret")
	os.WriteFile(secret, []byte("correct horse battery\n"), 0o600)
	agentConf := filepath.Join(dir, "agent.yaml")
	os.WriteFile(agentConf, []byte(fmt.Sprintf(`site: jules-ferry
device: jf-cantine-1
data_dir: %s
mqtt: {url: "ssl://127.0.0.1:%d", username: jf-cantine-1, password_file: %s, ca_file: %s}
readers:
  - {name: entree, port: %s, profile: rdm6300, service: canteen, debounce: 1h}
republish_after: 2s
status_interval: 2s
log: {level: debug}
`, filepath.Join(dir, "data"), tlsPort, secret, caPath, pty.Path())), 0o600)
	agentBin := testenv.BuildBinary(t, "pointage/cmd/pointage-agent")
	testenv.StartProcess(t, agentBin, "run", "--config", agentConf)

	// Badge until the hub has the check-in (the reader may not be open
	// yet); the 1 h debounce makes the repeats one scan.
	date := time.Now().In(mustLoc(t, "Pacific/Noumea")).Format("2006-01-02")
	var events struct {
		Events []struct {
			Badge, Device string
			Seq           uint64
		} `json:"events"`
	}
	waitFor(t, 30*time.Second, "the check-in in the API over HTTPS", func() bool {
		pty.Write(frame)
		return getJSON("/api/v1/events?site=jules-ferry&date="+date, &events) && len(events.Events) > 0
	})
	if e := events.Events[0]; len(events.Events) != 1 || e.Badge != "13005D1DA5" || e.Device != "jf-cantine-1" || e.Seq != 1 {
		t.Fatalf("events: %+v", events.Events)
	}
	waitFor(t, 15*time.Second, "the agent's outbox acknowledged", func() bool {
		out, err := exec.Command(agentBin, "outbox", "--config", agentConf, "--json").Output()
		var st struct {
			Pending      int    `json:"pending"`
			AckedThrough uint64 `json:"acked_through"`
		}
		return err == nil && json.Unmarshal(out, &st) == nil && st.Pending == 0 && st.AckedThrough == 1
	})
}

func mustLoc(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}
