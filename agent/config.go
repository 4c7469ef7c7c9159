package agent

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"pointage/internal/link"
	"pointage/internal/wire"
)

// EnvPrefix starts every environment variable the agent reads.
const EnvPrefix = "POINTAGE_AGENT_"

// Config is the agent's configuration (docs/DESIGN.md §7). Defaults, then the YAML
// file, then POINTAGE_AGENT_* variables; flags are applied by the command.
type Config struct {
	Site        string         `yaml:"site"`
	Device      string         `yaml:"device"`
	DataDir     string         `yaml:"data_dir"`
	MQTT        MQTTConfig     `yaml:"mqtt"`
	Readers     []ReaderConfig `yaml:"readers"`
	ProfilesDir string         `yaml:"profiles_dir"` // extra scanner profiles (*.yaml)
	TopicRoot   string         `yaml:"topic_root"`   // default "pointage"
	// Retention is how long acknowledged events are kept to answer resend
	// commands (default 7 days).
	Retention Duration `yaml:"retention"`
	// RepublishAfter: a pending event is published again when this long has
	// passed since its last publication without an Ack (default 30 s).
	RepublishAfter Duration `yaml:"republish_after"`
	// StatusInterval: the status is republished at least this often (60 s).
	StatusInterval Duration  `yaml:"status_interval"`
	Log            LogConfig `yaml:"log"`
}

// MQTTConfig says how to reach the broker.
type MQTTConfig struct {
	URL          string `yaml:"url"`
	Username     string `yaml:"username"`
	Password     Secret `yaml:"password"`
	PasswordFile string `yaml:"password_file"`
	CAFile       string `yaml:"ca_file"`   // PEM CA bundle of a TLS broker; empty = system roots
	ClientID     string `yaml:"client_id"` // default "pointage-agent-{device}"
}

// ReaderConfig is one badge reader on a serial port.
type ReaderConfig struct {
	Name     string       `yaml:"name"`
	Port     string       `yaml:"port"`
	Profile  string       `yaml:"profile"`
	Service  wire.Service `yaml:"service"`
	Dir      wire.Dir     `yaml:"dir"`      // in, out or auto (default)
	Debounce Duration     `yaml:"debounce"` // default 3 s
}

// LogConfig selects the log level and format.
type LogConfig struct {
	Level  string `yaml:"level"`  // debug, info (default), warn, error
	Format string `yaml:"format"` // text (default) or json
}

// Secret is a string that never prints.
type Secret string

func (Secret) String() string   { return "[secret]" }
func (Secret) GoString() string { return "[secret]" }

// MarshalYAML hides the secret.
func (s Secret) MarshalYAML() (any, error) { return "[secret]", nil }

// Duration is a time.Duration read from "3s", "30s", "7d".
type Duration time.Duration

// UnmarshalYAML accepts Go durations plus a "d" (days) suffix.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := ParseDuration(n.Value)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

func (d Duration) String() string { return time.Duration(d).String() }

// ParseDuration parses a Go duration or a whole number of days ("7d").
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("bad duration %q: want like 3s, 30s, 12h or 7d", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("bad duration %q: want like 3s, 30s, 12h or 7d", s)
	}
	return d, nil
}

// Defaults returns a Config with every default filled in.
func Defaults() Config {
	return Config{
		DataDir:        "/var/lib/pointage-agent",
		TopicRoot:      wire.DefaultRoot,
		Retention:      Duration(7 * 24 * time.Hour),
		RepublishAfter: Duration(30 * time.Second),
		StatusInterval: Duration(60 * time.Second),
		Log:            LogConfig{Level: "info", Format: "text"},
	}
}

// LoadConfig reads defaults, then the YAML file (if path is not empty), then
// the environment (getenv, usually os.Getenv), and validates the result.
func LoadConfig(path string, getenv func(string) string) (Config, error) {
	cfg := Defaults()
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return Config{}, fmt.Errorf("read config: %w", err)
		}
		dec := yaml.NewDecoder(strings.NewReader(string(b)))
		dec.KnownFields(true)
		if err := dec.Decode(&cfg); err != nil {
			return Config{}, fmt.Errorf("config %s: %w", path, err)
		}
	}
	if err := cfg.applyEnv(getenv); err != nil {
		return Config{}, err
	}
	cfg.fillReaderDefaults()
	if err := cfg.Validate(); err != nil {
		if path != "" {
			return Config{}, fmt.Errorf("config %s: %w", path, err)
		}
		return Config{}, err
	}
	return cfg, nil
}

func (c *Config) applyEnv(getenv func(string) string) error {
	if getenv == nil {
		return nil
	}
	str := map[string]*string{
		"SITE": &c.Site, "DEVICE": &c.Device, "DATA_DIR": &c.DataDir,
		"MQTT_URL": &c.MQTT.URL, "MQTT_USERNAME": &c.MQTT.Username,
		"MQTT_PASSWORD_FILE": &c.MQTT.PasswordFile, "MQTT_CA_FILE": &c.MQTT.CAFile,
		"MQTT_CLIENT_ID": &c.MQTT.ClientID, "PROFILES_DIR": &c.ProfilesDir,
		"TOPIC_ROOT": &c.TopicRoot, "LOG_LEVEL": &c.Log.Level, "LOG_FORMAT": &c.Log.Format,
	}
	for name, dst := range str {
		if v := getenv(EnvPrefix + name); v != "" {
			*dst = v
		}
	}
	if v := getenv(EnvPrefix + "MQTT_PASSWORD"); v != "" {
		c.MQTT.Password = Secret(v)
	}
	durs := map[string]*Duration{"RETENTION": &c.Retention, "REPUBLISH_AFTER": &c.RepublishAfter, "STATUS_INTERVAL": &c.StatusInterval}
	for name, dst := range durs {
		if v := getenv(EnvPrefix + name); v != "" {
			d, err := ParseDuration(v)
			if err != nil {
				return fmt.Errorf("%s%s: %w", EnvPrefix, name, err)
			}
			*dst = Duration(d)
		}
	}
	return nil
}

func (c *Config) fillReaderDefaults() {
	for i := range c.Readers {
		r := &c.Readers[i]
		if r.Dir == "" {
			r.Dir = wire.DirAuto
		}
		if r.Debounce == 0 {
			r.Debounce = Duration(3 * time.Second)
		}
	}
	if c.MQTT.ClientID == "" && c.Device != "" {
		c.MQTT.ClientID = "pointage-agent-" + c.Device
	}
}

// Validate checks the configuration without any I/O. Its errors name the
// field at fault and say what is expected.
func (c Config) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
	}
	if !wire.ValidSiteOrDevice(c.Site) {
		bad("site", "%q is not a site id: use lowercase letters, digits and '-', up to 63 characters (like jules-ferry)", c.Site)
	}
	if !wire.ValidSiteOrDevice(c.Device) {
		bad("device", "%q is not a device id: use lowercase letters, digits and '-', up to 63 characters (like jf-cantine-1)", c.Device)
	}
	if c.DataDir == "" {
		bad("data_dir", "required: the folder that holds the outbox")
	}
	if c.MQTT.URL == "" {
		bad("mqtt.url", "required, like tcp://hub.example:1883 or ssl://hub.example:8883")
	} else if !hasScheme(c.MQTT.URL, "tcp", "mqtt", "ssl", "tls", "mqtts", "ws", "wss") {
		bad("mqtt.url", "%q: want tcp://HOST:PORT, mqtt://, ssl://, tls://, mqtts://, ws:// or wss://", c.MQTT.URL)
	}
	if c.MQTT.CAFile != "" && c.MQTT.URL != "" && !link.IsTLSURL(c.MQTT.URL) {
		bad("mqtt.ca_file", "set, but mqtt.url %q does not use TLS: use ssl://HOST:8883 (or tls://, mqtts://, wss://)", c.MQTT.URL)
	}
	if c.MQTT.Password != "" && c.MQTT.PasswordFile != "" {
		bad("mqtt.password_file", "set password or password_file, not both")
	}
	if strings.ContainsAny(c.MQTT.ClientID, "+#") {
		bad("mqtt.client_id", "may not contain '+' or '#'")
	}
	if c.TopicRoot == "" || strings.ContainsAny(c.TopicRoot, "+#/") {
		bad("topic_root", "%q: one topic level without '/', '+' or '#'", c.TopicRoot)
	}
	// No reader is allowed: an enrolled agent waits for the hub's list
	// (docs/DESIGN.md §14).
	names := map[string]bool{}
	for i, r := range c.Readers {
		f := fmt.Sprintf("readers[%d]", i)
		if !wire.ValidReaderName(r.Name) {
			bad(f+".name", "%q: letters, digits, '-', '_' or '.', up to 64 characters (like entree)", r.Name)
		} else if names[r.Name] {
			bad(f+".name", "%q is used by two readers", r.Name)
		}
		names[r.Name] = true
		if r.Port == "" {
			bad(f+".port", "required: a device path (/dev/ttyUSB0, COM3, /dev/serial/by-id/…) or usb:VID:PID[:SERIAL]")
		}
		if r.Profile == "" {
			bad(f+".profile", "required: a scanner profile (pointage-agent profiles lists them)")
		}
		if !r.Service.Valid() {
			bad(f+".service", "%q: want canteen, garderie or staff", r.Service)
		}
		if !r.Dir.Valid() {
			bad(f+".dir", "%q: want in, out or auto", r.Dir)
		}
		if r.Debounce < 0 {
			bad(f+".debounce", "must not be negative")
		}
	}
	if c.Retention < Duration(time.Hour) {
		bad("retention", "%s: keep acknowledged events at least 1h (default 7d)", c.Retention)
	}
	if c.RepublishAfter < Duration(time.Second) {
		bad("republish_after", "%s: at least 1s (default 30s)", c.RepublishAfter)
	}
	if c.StatusInterval < Duration(time.Second) || c.StatusInterval > Duration(60*time.Second) {
		bad("status_interval", "%s: between 1s and 60s", c.StatusInterval)
	}
	switch c.Log.Level {
	case "", "debug", "info", "warn", "error":
	default:
		bad("log.level", "%q: want debug, info, warn or error", c.Log.Level)
	}
	switch c.Log.Format {
	case "", "text", "json":
	default:
		bad("log.format", "%q: want text or json", c.Log.Format)
	}
	return errors.Join(errs...)
}

func hasScheme(url string, schemes ...string) bool {
	for _, s := range schemes {
		if strings.HasPrefix(url, s+"://") && len(url) > len(s)+3 {
			return true
		}
	}
	return false
}

// OutboxPath is where the outbox database lives.
func (c Config) OutboxPath() string { return filepath.Join(c.DataDir, "outbox.db") }

// ResolvePassword returns the MQTT password from password or password_file
// (its first line; the newline is not part of it).
func (c Config) ResolvePassword() (Secret, error) {
	if c.MQTT.PasswordFile == "" {
		return c.MQTT.Password, nil
	}
	b, err := os.ReadFile(c.MQTT.PasswordFile)
	if err != nil {
		return "", fmt.Errorf("mqtt.password_file: %w", err)
	}
	line, _, _ := strings.Cut(string(b), "\n")
	return Secret(strings.TrimSuffix(line, "\r")), nil
}
