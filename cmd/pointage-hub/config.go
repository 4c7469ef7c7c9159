package main

import (
	"fmt"
	"log/slog"
	"os"
	"pointage/internal/logs"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"pointage/hub"
	"pointage/hub/backup"
)

// hubFlags binds the hub's configuration flags (docs/DESIGN.md §7) to cfg.
func hubFlags(fs *pflag.FlagSet, cfg *hub.Config, configFile *string) {
	d := hub.Defaults()
	fs.StringVar(configFile, "config", "", "configuration file (YAML, keys are flag names); env POINTAGE_CONFIG")
	fs.StringVar(&cfg.Listen, "listen", d.Listen, "HTTP address (dashboard, API, /metrics)")
	fs.StringVar(&cfg.MQTTListen, "mqtt-listen", d.MQTTListen, "address of the embedded MQTT broker")
	fs.StringVar(&cfg.MQTTURL, "mqtt-url", "", "use this external MQTT broker instead of the embedded one (tcp://host:1883)")
	fs.StringVar(&cfg.MQTTUsername, "mqtt-username", "", "username on the external broker (password: POINTAGE_MQTT_PASSWORD or the file's mqtt_password)")
	fs.StringVar(&cfg.MosquittoDir, "mosquitto-dir", "", "with --mqtt-url and mosquitto: the folder of broker-config mosquitto --out, whose passwd and acl files the hub writes again after each device change made in the dashboard (then reload mosquitto)")
	fs.StringVar(&cfg.MQTTCAFile, "mqtt-ca-file", "", "CA bundle (PEM) of an ssl:// external broker; system roots when empty")
	fs.StringVar(&cfg.MQTTTLSListen, "mqtt-tls-listen", "", "also serve MQTT over TLS on this address (like :8883); needs --mqtt-tls-cert and --mqtt-tls-key")
	fs.StringVar(&cfg.MQTTTLSCert, "mqtt-tls-cert", "", "certificate (PEM, chain allowed) of the embedded broker's TLS listener; renewed files are served without a restart")
	fs.StringVar(&cfg.MQTTTLSKey, "mqtt-tls-key", "", "private key (PEM) of the embedded broker's TLS listener")
	fs.StringVar(&cfg.TLSCert, "tls-cert", "", "serve the dashboard and API over HTTPS with this certificate (PEM, chain allowed; renewed files are served without a restart); needs --tls-key")
	fs.StringVar(&cfg.TLSKey, "tls-key", "", "private key (PEM) for --tls-cert")
	fs.BoolVar(&cfg.BehindTLSProxy, "behind-tls-proxy", false, "a reverse proxy terminates HTTPS in front of the hub: mark session cookies Secure")
	fs.StringVar(&cfg.InfluxURL, "influx-url", "", "store check-ins in InfluxDB at this URL instead of SQLite (token: POINTAGE_INFLUX_TOKEN)")
	fs.StringVar(&cfg.InfluxOrg, "influx-org", "", "InfluxDB organisation (empty for 1.8)")
	fs.StringVar(&cfg.InfluxBucket, "influx-bucket", "", "InfluxDB bucket (1.8: database/retention, like pointage/autogen)")
	fs.StringVar(&cfg.DataDir, "data-dir", d.DataDir, "folder of the hub's databases")
	fs.BoolVar(&cfg.RequireRegistration, "require-registration", false, "refuse check-ins from devices not registered with `devices add`")
	fs.StringVar(&cfg.TopicRoot, "topic-root", d.TopicRoot, "first MQTT topic level")
	fs.StringVar(&cfg.Timezone, "timezone", d.Timezone, "the schools' time zone (local days are counted in it)")
	fs.StringVar(&cfg.Calendar, "calendar", "", "YAML file of closed days (example: firmware-config/calendar-nc.example.yaml)")
	fs.StringVar(&cfg.Sites, "sites", "", "YAML file of per-site settings: display names, garderie sessions (default 06:00-07:30 and 15:00-17:45); diet labels")
	fs.IntVar(&cfg.RetentionMonths, "retention-months", 18, "keep raw check-ins this many months (monthly figures per person are kept); -1: forever")
	fs.StringVar(&cfg.PublicMQTTURL, "public-mqtt-url", "", "the MQTT URL enrolled agents are given (like ssl://pointage.ville.nc:8883); default: the host they reach the API by, with the embedded broker's port (--mqtt-tls-listen's, as ssl://, when set)")
	fs.StringVar(&cfg.BackupDir, "backup-dir", "", "take scheduled backups into this folder (a second disk or a mounted network share, not the data folder)")
	fs.DurationVar(&cfg.BackupEvery, "backup-every", backup.DefaultEvery, "with --backup-dir: time between backups (at least 1m)")
	fs.IntVar(&cfg.BackupKeep, "backup-keep", backup.DefaultKeep, "with --backup-dir: how many backups to keep (the oldest are removed)")
	fs.StringVar(&cfg.MemoryLimit, "memory-limit", "", "soft memory limit of the hub's process, like 300MiB (the collector works harder near it; GOMEMLIMIT when unset; 0: none)")
	fs.StringVar(&cfg.LogLevel, "log-level", d.LogLevel, "debug, info, warn or error")
	fs.StringVar(&cfg.LogFormat, "log-format", d.LogFormat, "text or json")
}

// envName is the environment variable of a flag: POINTAGE_MQTT_URL.
func envName(flag string) string {
	return "POINTAGE_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// applyPrecedence fills every flag the command line did not set from the
// environment, then from the config file: flag > environment > file >
// default. It then reads the secrets (environment or file only).
func applyPrecedence(cmd *cobra.Command, cfg *hub.Config, configFile string) error {
	if configFile == "" {
		configFile = os.Getenv("POINTAGE_CONFIG")
	}
	file, err := hub.ReadConfigFile(configFile)
	if err != nil {
		return err
	}
	known := map[string]bool{"influx_token": true, "mqtt_password": true}
	var errs []string
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		key := strings.ReplaceAll(f.Name, "-", "_")
		known[key] = true
		if f.Changed || f.Name == "config" {
			return
		}
		if v, ok := os.LookupEnv(envName(f.Name)); ok && v != "" {
			if err := f.Value.Set(v); err != nil {
				errs = append(errs, fmt.Sprintf("%s=%q: %v", envName(f.Name), v, err))
			}
			return
		}
		if v, ok := file[key]; ok {
			if err := f.Value.Set(v); err != nil {
				errs = append(errs, fmt.Sprintf("%s: %s: %v", configFile, key, err))
			}
		}
	})
	for k := range file {
		if !known[k] {
			errs = append(errs, fmt.Sprintf("%s: unknown key %q", configFile, k))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("configuration: %s", strings.Join(errs, "; "))
	}
	cfg.SecretsFrom(os.Getenv, file)
	return nil
}

func newLogger(level, format string) *slog.Logger { return logs.New(os.Stderr, level, format) }
