package agent

import (
	"strings"
	"testing"
)

// mqtt.url accepts the TLS schemes; mqtt.ca_file is refused with a plain
// URL, naming the field; POINTAGE_AGENT_MQTT_CA_FILE sets it.
func TestTLSConfig(t *testing.T) {
	for _, tc := range []struct{ name, mqtt, want string }{
		{"ssl with ca", `{url: "ssl://hub.example:8883", ca_file: /etc/pointage/ca.pem}`, ""},
		{"tls with ca", `{url: "tls://hub.example:8883", ca_file: /etc/pointage/ca.pem}`, ""},
		{"mqtts with ca", `{url: "mqtts://hub.example:8883", ca_file: /etc/pointage/ca.pem}`, ""},
		{"wss with ca", `{url: "wss://hub.example/mqtt", ca_file: /etc/pointage/ca.pem}`, ""},
		{"mqtts system roots", `{url: "mqtts://hub.example:8883"}`, ""},
		{"tcp with ca", `{url: "tcp://hub.example:1883", ca_file: /etc/pointage/ca.pem}`, "mqtt.ca_file: set, but mqtt.url"},
		{"unknown scheme", `{url: "https://hub.example:8883"}`, "mqtt.url:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			yaml := strings.Replace(goodYAML,
				`{url: "tcp://hub.example:1883", username: jf-cantine-1, password_file: /etc/pointage/secret}`, tc.mqtt, 1)
			if yaml == goodYAML {
				t.Fatal("test edit not applied")
			}
			_, err := LoadConfig(writeFile(t, "agent.yaml", yaml), noEnv)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
	env := map[string]string{"POINTAGE_AGENT_MQTT_URL": "mqtts://hub.example:8883", "POINTAGE_AGENT_MQTT_CA_FILE": "/etc/pointage/ca.pem"}
	cfg, err := LoadConfig(writeFile(t, "agent.yaml", goodYAML), func(k string) string { return env[k] })
	if err != nil || cfg.MQTT.CAFile != "/etc/pointage/ca.pem" || cfg.MQTT.URL != "mqtts://hub.example:8883" {
		t.Fatalf("environment: %v %+v", err, cfg.MQTT)
	}
}
