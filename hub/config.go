package hub

import (
	"errors"
	"fmt"
	"math"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/dustin/go-humanize"
	"gopkg.in/yaml.v3"

	"pointage/internal/link"
	"pointage/internal/wire"
)

// Config is the hub's configuration (docs/DESIGN.md §7). Every field with a flag
// can also be set by POINTAGE_<FLAG> and by the config file (the flag's
// name, with '-' or '_'); flag > environment > file > default.
type Config struct {
	Listen              string // HTTP, default ":8080"
	MQTTListen          string // embedded broker, default ":1883"
	MQTTURL             string // external broker instead of the embedded one
	MQTTUsername        string // for the external broker
	MQTTPassword        Secret // POINTAGE_MQTT_PASSWORD or the file's mqtt_password
	MQTTCAFile          string // CA bundle of a TLS external broker; empty = system roots
	MosquittoDir        string // external mosquitto: the hub writes its passwd and acl files here after each dashboard change
	MQTTTLSListen       string // embedded broker's TLS listener (like ":8883"); "" = none
	MQTTTLSCert         string // its certificate (PEM, chain allowed)
	MQTTTLSKey          string // its private key (PEM)
	TLSCert             string // HTTPS: certificate (PEM, chain allowed); "" = plain HTTP
	TLSKey              string // HTTPS: private key (PEM)
	BehindTLSProxy      bool   // a reverse proxy terminates TLS: treat every request as HTTPS (Secure cookies)
	InfluxURL           string
	InfluxOrg           string
	InfluxBucket        string
	InfluxToken         Secret // POINTAGE_INFLUX_TOKEN or the file's influx_token
	DataDir             string // default "./data"
	RequireRegistration bool
	TopicRoot           string // default "pointage"
	Timezone            string // default "Pacific/Noumea"
	Calendar            string // YAML file of closed days (none: no day is closed)
	Sites               string // YAML file of per-site settings (display names, garderie sessions) and diet labels
	// RetentionMonths is how long raw check-ins are kept (months before the
	// current one; 0: retention.DefaultMonths, negative: forever).
	RetentionMonths int
	// BackupDir is where `run` writes scheduled backups (docs/DESIGN.md
	// §13; "" none), every BackupEvery (0: 24h), keeping the newest
	// BackupKeep (0: 14).
	// PublicMQTTURL is the broker URL agents are given by enrolment
	// (docs/DESIGN.md §14); "" derives it from the host they reach the API by.
	PublicMQTTURL string
	BackupDir     string
	BackupEvery   time.Duration
	BackupKeep    int
	LogLevel      string
	LogFormat     string
	// MemoryLimit is Go's soft memory limit for the hub's process, like
	// "300MiB" ("" or "0": none, or GOMEMLIMIT's): the collector runs more
	// often as the heap nears it (MemoryLimitBytes).
	MemoryLimit string
}

// MemoryLimitBytes is MemoryLimit in bytes (0: none); Validate has checked it.
func (c Config) MemoryLimitBytes() int64 {
	n, _ := parseMemoryLimit(c.MemoryLimit)
	return n
}

// parseMemoryLimit reads "300MiB", "1GiB", "512MB" (go-humanize's units).
func parseMemoryLimit(s string) (int64, error) {
	if s = strings.TrimSpace(s); s == "" || s == "0" {
		return 0, nil
	}
	n, err := humanize.ParseBytes(s)
	if err != nil || n > math.MaxInt64 {
		return 0, fmt.Errorf("%q: want a size like 300MiB or 1GiB (0: no limit)", s)
	}
	if n < 64<<20 {
		return 0, fmt.Errorf("%q: at least 64MiB (the hub's heap alone is tens of MB; 300MiB suits a city)", s)
	}
	return int64(n), nil
}

// Secret is a string that never prints.
type Secret string

func (Secret) String() string   { return "[secret]" }
func (Secret) GoString() string { return "[secret]" }

// Defaults returns the configuration with no flag, variable or file.
func Defaults() Config {
	return Config{Listen: ":8080", MQTTListen: ":1883", DataDir: "./data", TopicRoot: wire.DefaultRoot,
		Timezone: "Pacific/Noumea", LogLevel: "info", LogFormat: "text"}
}

// SecretsFrom fills the secrets from the environment, then the file's
// values (already read into file), never from the command line.
func (c *Config) SecretsFrom(getenv func(string) string, file map[string]string) {
	if v := getenv("POINTAGE_INFLUX_TOKEN"); v != "" {
		c.InfluxToken = Secret(v)
	} else if v := file["influx_token"]; v != "" {
		c.InfluxToken = Secret(v)
	}
	if v := getenv("POINTAGE_MQTT_PASSWORD"); v != "" {
		c.MQTTPassword = Secret(v)
	} else if v := file["mqtt_password"]; v != "" {
		c.MQTTPassword = Secret(v)
	}
}

// ReadConfigFile reads a YAML file of flat `key: value` pairs, keys being
// flag names with '-' or '_'. It returns them with '_' keys.
func ReadConfigFile(path string) (map[string]string, error) {
	out := map[string]string{}
	if path == "" {
		return out, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	var raw map[string]any
	if err := yaml.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	for k, v := range raw {
		switch v.(type) {
		case map[string]any, []any:
			return nil, fmt.Errorf("config %s: %s: want a single value", path, k)
		}
		out[strings.ReplaceAll(strings.ToLower(k), "-", "_")] = fmt.Sprint(v)
	}
	return out, nil
}

// Validate checks the configuration without I/O.
func (c Config) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
	}
	if c.DataDir == "" {
		bad("data-dir", "required")
	}
	if _, err := parseMemoryLimit(c.MemoryLimit); err != nil {
		bad("memory-limit", "%v", err)
	}
	if c.RetentionMonths > 120 {
		bad("retention-months", "%d: at most 120 (ten years); -1 keeps everything", c.RetentionMonths)
	} else if c.RetentionMonths > 0 && c.RetentionMonths < 3 {
		bad("retention-months", "%d: at least 3, or billing disputes of last month could not be answered", c.RetentionMonths)
	}
	if c.PublicMQTTURL != "" {
		if u, err := url.Parse(c.PublicMQTTURL); err != nil || u.Host == "" || !slices.Contains([]string{"tcp", "mqtt", "ssl", "tls", "mqtts", "ws", "wss"}, u.Scheme) {
			bad("public-mqtt-url", "%q: want ssl://HOST:8883 (or tcp://HOST:1883), the address agents reach the broker by", c.PublicMQTTURL)
		}
	}
	if c.BackupDir != "" {
		if c.BackupEvery != 0 && c.BackupEvery < time.Minute {
			bad("backup-every", "%s: at least 1m (24h is the usual)", c.BackupEvery)
		}
		if c.BackupKeep < 0 {
			bad("backup-keep", "%d: at least 1", c.BackupKeep)
		}
	}
	if c.MQTTURL != "" {
		if u, err := url.Parse(c.MQTTURL); err != nil || u.Host == "" {
			bad("mqtt-url", "%q: want tcp://HOST:PORT or ssl://HOST:PORT", c.MQTTURL)
		} else if c.MQTTCAFile != "" && !link.IsTLSURL(c.MQTTURL) {
			bad("mqtt-ca-file", "set, but --mqtt-url %q does not use TLS: use ssl://HOST:8883 (or tls://, mqtts://)", c.MQTTURL)
		}
		if c.MQTTTLSListen != "" {
			bad("mqtt-tls-listen", "is for the embedded broker: with --mqtt-url, the external broker terminates TLS")
		}
	} else if c.MQTTCAFile != "" {
		bad("mqtt-ca-file", "is for an external broker (--mqtt-url ssl://…); the embedded broker's certificate is --mqtt-tls-cert")
	}
	if c.MosquittoDir != "" && c.MQTTURL == "" {
		bad("mosquitto-dir", "is for an external mosquitto (--mqtt-url): the embedded broker reads the registry itself")
	}
	if c.MQTTTLSListen != "" {
		if c.MQTTTLSCert == "" {
			bad("mqtt-tls-cert", "required with --mqtt-tls-listen (PEM certificate file)")
		}
		if c.MQTTTLSKey == "" {
			bad("mqtt-tls-key", "required with --mqtt-tls-listen (PEM private key file)")
		}
	} else if c.MQTTTLSCert != "" || c.MQTTTLSKey != "" {
		bad("mqtt-tls-listen", "required with --mqtt-tls-cert and --mqtt-tls-key (like :8883)")
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		if c.TLSCert == "" {
			bad("tls-cert", "required with --tls-key")
		} else {
			bad("tls-key", "required with --tls-cert")
		}
	}
	if c.InfluxURL != "" {
		if u, err := url.Parse(c.InfluxURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") {
			bad("influx-url", "%q: want http://HOST:8086 or https://…", c.InfluxURL)
		}
		if c.InfluxBucket == "" {
			bad("influx-bucket", "required with --influx-url (InfluxDB 1.8: db/rp, like pointage/autogen)")
		}
	}
	if _, err := time.LoadLocation(c.Timezone); err != nil {
		bad("timezone", "%q is not a time zone (like Pacific/Noumea)", c.Timezone)
	}
	if c.TopicRoot == "" || strings.ContainsAny(c.TopicRoot, "+#/") {
		bad("topic-root", "%q: one topic level without '/', '+' or '#'", c.TopicRoot)
	}
	return errors.Join(errs...)
}
