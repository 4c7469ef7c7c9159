package wire

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// CmdConfig is the hub's reader configuration for a device (docs/DESIGN.md
// §14): {"v":1,"cmd":"config","version":N,"readers":[…]}.
const CmdConfig = "config"

// Limits of a reader configuration sent by the hub.
const (
	MaxReaders     = 16
	maxPortLen     = 200
	maxProfileLen  = 64
	MaxDebounce    = time.Minute
	maxStatusPorts = 16
)

// ReaderConfig is one reader of a device's configuration: the `readers:`
// entry of the agent's file (docs/DESIGN.md §7), as the hub keeps and sends
// it. Dir "" is auto; Debounce "" is the agent's default (3 s).
type ReaderConfig struct {
	Name     string  `json:"name"`
	Port     string  `json:"port"`
	Profile  string  `json:"profile"`
	Service  Service `json:"service"`
	Dir      Dir     `json:"dir,omitempty"`
	Debounce string  `json:"debounce,omitempty"` // a Go duration: "3s", "1500ms"
}

// ConfigCommand is the config command.
type ConfigCommand struct {
	V       int            `json:"v"`
	Cmd     string         `json:"cmd"`
	Version int64          `json:"version"`
	Readers []ReaderConfig `json:"readers"`
}

// PortInfo is a serial port an agent sees, reported in its Status (an
// addition) so the devices page can offer it.
type PortInfo struct {
	Name    string `json:"name"`              // /dev/ttyUSB0, COM3
	USB     string `json:"usb,omitempty"`     // usb:VID:PID, when it is a USB port
	Serial  string `json:"serial,omitempty"`  // the USB serial number
	Product string `json:"product,omitempty"` // the USB product name
}

// ReaderConfigError is what is wrong with a reader list: the field at
// fault (readers[1].profile) and what is expected.
type ReaderConfigError struct {
	Field string
	Msg   string
}

func (e *ReaderConfigError) Error() string { return e.Field + ": " + e.Msg }

// ValidateReaders checks a reader list as the hub stores it and as an agent
// applies it: at most MaxReaders, unique valid names, a port, a profile
// among profiles (nil: any non-empty name), a service, a direction and a
// debounce between 0 and MaxDebounce. The first fault is returned.
func ValidateReaders(readers []ReaderConfig, profiles func(string) bool) error {
	bad := func(i int, field, format string, args ...any) error {
		f := "readers"
		if i >= 0 {
			f = fmt.Sprintf("readers[%d].%s", i, field)
		}
		return &ReaderConfigError{Field: f, Msg: fmt.Sprintf(format, args...)}
	}
	if len(readers) > MaxReaders {
		return bad(-1, "", "%d readers: at most %d", len(readers), MaxReaders)
	}
	names := map[string]bool{}
	for i, r := range readers {
		switch {
		case !ValidReaderName(r.Name):
			return bad(i, "name", "%q: letters, digits, '-', '_' or '.', up to 64 characters, starting with a letter or digit (like entree)", clip(r.Name))
		case names[r.Name]:
			return bad(i, "name", "%q is used by two readers", r.Name)
		case r.Port == "" || len(r.Port) > maxPortLen || strings.ContainsAny(r.Port, "\x00\r\n\t"):
			return bad(i, "port", "required: a device path (/dev/ttyUSB0, COM3, /dev/serial/by-id/…) or usb:VID:PID[:SERIAL], up to %d characters", maxPortLen)
		case r.Profile == "" || len(r.Profile) > maxProfileLen:
			return bad(i, "profile", "required: a scanner profile (pointage-agent profiles lists them)")
		case profiles != nil && !profiles(r.Profile):
			return bad(i, "profile", "%q is not a profile this device knows", clip(r.Profile))
		case !r.Service.Valid():
			return bad(i, "service", "%q: want canteen, garderie or staff", clip(string(r.Service)))
		case r.Dir != "" && !r.Dir.Valid():
			return bad(i, "dir", "%q: want in, out or auto", clip(string(r.Dir)))
		}
		if r.Debounce != "" {
			d, err := time.ParseDuration(r.Debounce)
			if err != nil || d < 0 || d > MaxDebounce {
				return bad(i, "debounce", "%q: a duration between 0s and %s, like 3s", clip(r.Debounce), MaxDebounce)
			}
		}
		names[r.Name] = true
	}
	return nil
}

// CommandKind reads a command's "cmd" without checking the rest: resend
// (DecodeCommand) or config (DecodeConfigCommand); "" when it has none.
func CommandKind(payload []byte) string {
	var probe struct {
		Cmd string `json:"cmd"`
	}
	_ = json.Unmarshal(payload, &probe)
	return probe.Cmd
}

// DecodeConfigCommand decodes and validates a config command: strict JSON,
// version at least 1, a reader list (possibly empty) that ValidateReaders
// accepts with any profile name (the agent checks its own profiles).
func DecodeConfigCommand(payload []byte) (ConfigCommand, error) {
	var in struct {
		V       *int            `json:"v"`
		Cmd     *string         `json:"cmd"`
		Version *int64          `json:"version"`
		Readers *[]ReaderConfig `json:"readers"`
	}
	if err := decodeStrict(payload, &in); err != nil {
		return ConfigCommand{}, err
	}
	if err := checkVersion(in.V); err != nil {
		return ConfigCommand{}, err
	}
	if in.Cmd == nil || *in.Cmd != CmdConfig {
		return ConfigCommand{}, fieldErr(ReasonBadField, "cmd", "want %q", CmdConfig)
	}
	if in.Version == nil || *in.Version < 1 {
		return ConfigCommand{}, fieldErr(ReasonMissingField, "version", "required, at least 1")
	}
	if in.Readers == nil {
		return ConfigCommand{}, fieldErr(ReasonMissingField, "readers", "required (a list, possibly empty)")
	}
	c := ConfigCommand{V: *in.V, Cmd: CmdConfig, Version: *in.Version, Readers: *in.Readers}
	if err := ValidateReaders(c.Readers, nil); err != nil {
		return ConfigCommand{}, fieldErr(ReasonBadField, "readers", "%v", err)
	}
	return c, nil
}

// ClipPorts bounds the ports a Status carries (a payload is at most
// MaxPayload bytes).
func ClipPorts(ports []PortInfo) []PortInfo {
	if len(ports) > maxStatusPorts {
		ports = ports[:maxStatusPorts]
	}
	out := make([]PortInfo, len(ports))
	for i, p := range ports {
		out[i] = PortInfo{Name: clipN(p.Name, 100), USB: clipN(p.USB, 40), Serial: clipN(p.Serial, 40), Product: clipN(p.Product, 40)}
	}
	return out
}

func clipN(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
