package agent

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const goodYAML = `
site: jules-ferry
device: jf-cantine-1
data_dir: /var/lib/pointage-agent
mqtt: {url: "tcp://hub.example:1883", username: jf-cantine-1, password_file: /etc/pointage/secret}
readers:
  - {name: entree, port: /dev/ttyUSB0, profile: rdm6300, service: canteen, dir: auto, debounce: 3s}
  - {name: porte-garderie, port: "usb:10c4:ea60", profile: line-hex, service: garderie}
`

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func noEnv(string) string { return "" }

func TestLoadConfigContractExample(t *testing.T) {
	cfg, err := LoadConfig(writeFile(t, "agent.yaml", goodYAML), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Site != "jules-ferry" || cfg.Device != "jf-cantine-1" || len(cfg.Readers) != 2 {
		t.Fatalf("wrong config: %+v", cfg)
	}
	r := cfg.Readers[1]
	if r.Dir != "auto" || time.Duration(r.Debounce) != 3*time.Second || r.Port != "usb:10c4:ea60" {
		t.Fatalf("reader defaults not applied: %+v", r)
	}
	if time.Duration(cfg.Retention) != 7*24*time.Hour || time.Duration(cfg.RepublishAfter) != 30*time.Second {
		t.Fatalf("defaults: retention %s republish %s", cfg.Retention, cfg.RepublishAfter)
	}
	if cfg.MQTT.ClientID != "pointage-agent-jf-cantine-1" {
		t.Fatalf("client id %q", cfg.MQTT.ClientID)
	}
	if cfg.OutboxPath() != "/var/lib/pointage-agent/outbox.db" {
		t.Fatalf("outbox path %q", cfg.OutboxPath())
	}
}

func TestLoadConfigEnvironmentOverridesFile(t *testing.T) {
	env := map[string]string{
		"POINTAGE_AGENT_SITE":          "pasteur",
		"POINTAGE_AGENT_MQTT_URL":      "ssl://hub.example:8883",
		"POINTAGE_AGENT_MQTT_PASSWORD": "s3cret-pass",
		"POINTAGE_AGENT_RETENTION":     "14d",
	}
	yaml := strings.Replace(goodYAML, "password_file: /etc/pointage/secret", "", 1)
	cfg, err := LoadConfig(writeFile(t, "agent.yaml", yaml), func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Site != "pasteur" || cfg.MQTT.URL != "ssl://hub.example:8883" || time.Duration(cfg.Retention) != 14*24*time.Hour {
		t.Fatalf("environment not applied: %+v", cfg)
	}
	if p, _ := cfg.ResolvePassword(); p != "s3cret-pass" {
		t.Fatalf("password from the environment not used")
	}
	if s := strings.Join([]string{cfg.MQTT.Password.String(), (&cfg).MQTT.Password.GoString()}, " "); strings.Contains(s, "s3cret") {
		t.Fatalf("the secret prints: %s", s)
	}
}

func TestPasswordFileFirstLine(t *testing.T) {
	cfg := Defaults()
	cfg.MQTT.PasswordFile = writeFile(t, "secret", "pass word\r\nsecond line\n")
	p, err := cfg.ResolvePassword()
	if err != nil || p != "pass word" {
		t.Fatalf("got %q, %v", string(p), err)
	}
	cfg.MQTT.PasswordFile = filepath.Join(t.TempDir(), "missing")
	if _, err := cfg.ResolvePassword(); err == nil || !strings.Contains(err.Error(), "mqtt.password_file") {
		t.Fatalf("missing password file: %v", err)
	}
}

func TestConfigErrorsNameTheField(t *testing.T) {
	tests := []struct {
		name, from, to, want string
	}{
		{"bad site", "site: jules-ferry", "site: Jules Ferry", "site:"},
		{"missing device", "device: jf-cantine-1", "", "device:"},
		{"bad url", `url: "tcp://hub.example:1883"`, `url: "hub.example:1883"`, "mqtt.url:"},
		{"bad service", "service: canteen", "service: cantine", `readers[0].service: "cantine": want canteen, garderie or staff`},
		{"bad dir", "dir: auto", "dir: sideways", "readers[0].dir:"},
		{"no port", "port: /dev/ttyUSB0, ", "", "readers[0].port:"},
		{"no profile", "profile: line-hex, ", "", "readers[1].profile:"},
		{"duplicate reader", "name: porte-garderie", "name: entree", `readers[1].name: "entree" is used by two readers`},
		{"bad debounce", "debounce: 3s", "debounce: soon", "bad duration"},
		{"unknown key", "data_dir:", "dta_dir:", "dta_dir"},
		{"wildcard client id", "username: jf-cantine-1", "username: jf-cantine-1, client_id: a+b", "mqtt.client_id:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			yaml := strings.Replace(goodYAML, tt.from, tt.to, 1)
			if yaml == goodYAML {
				t.Fatalf("test edit %q not applied", tt.from)
			}
			_, err := LoadConfig(writeFile(t, "agent.yaml", yaml), noEnv)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
	if _, err := LoadConfig("", noEnv); err == nil || !strings.Contains(err.Error(), "mqtt.url: required") {
		t.Fatalf("an empty config must list what is missing, got %v", err)
	}
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{"3s": 3 * time.Second, "7d": 7 * 24 * time.Hour, "1h30m": 90 * time.Minute} {
		if got, err := ParseDuration(in); err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "d", "-1d", "3 days", "1.5d"} {
		if _, err := ParseDuration(bad); err == nil {
			t.Errorf("ParseDuration(%q) accepted", bad)
		}
	}
}
