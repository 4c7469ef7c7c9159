package reader

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"go.bug.st/serial"
)

// PortSpec is a parsed reader port: either a device path (/dev/ttyUSB0, COM3, a
// symlink such as /dev/serial/by-id/…) or a USB device named by vendor id, product
// id and optionally serial number, found among the ports each time the reader
// connects so that a replugged reader is found whatever path it gets.
type PortSpec struct {
	Path   string // device path; empty for a USB spec
	VID    string // 4 uppercase hex digits; set for a USB spec
	PID    string // 4 uppercase hex digits
	Serial string // USB serial number; empty matches any
}

// IsUSB reports whether the spec names a USB device rather than a path.
func (s PortSpec) IsUSB() bool { return s.VID != "" }

// String returns the spec in the form ParsePortSpec reads.
func (s PortSpec) String() string {
	if !s.IsUSB() {
		return s.Path
	}
	out := "usb:" + strings.ToLower(s.VID) + ":" + strings.ToLower(s.PID)
	if s.Serial != "" {
		out += ":" + s.Serial
	}
	return out
}

// ParsePortSpec reads a port: a path, or usb:VID:PID[:SERIAL] with VID and PID
// as 4 hex digits (any case). It does no I/O.
func ParsePortSpec(s string) (PortSpec, error) {
	if strings.TrimSpace(s) != s || s == "" {
		return PortSpec{}, fmt.Errorf("port %q: empty or surrounded by spaces", s)
	}
	if strings.ContainsAny(s, "\x00\n\r") {
		return PortSpec{}, fmt.Errorf("port %q: holds control characters", s)
	}
	if len(s) < 4 || !strings.EqualFold(s[:4], "usb:") {
		return PortSpec{Path: s}, nil
	}
	parts := strings.SplitN(s[4:], ":", 3)
	if len(parts) < 2 {
		return PortSpec{}, fmt.Errorf("port %q: want usb:VID:PID or usb:VID:PID:SERIAL", s)
	}
	for i, what := range []string{"vendor id", "product id"} {
		if !isHex4(parts[i]) {
			return PortSpec{}, fmt.Errorf("port %q: %s %q must be 4 hex digits", s, what, parts[i])
		}
	}
	spec := PortSpec{VID: strings.ToUpper(parts[0]), PID: strings.ToUpper(parts[1])}
	if len(parts) == 3 {
		if parts[2] == "" {
			return PortSpec{}, fmt.Errorf("port %q: empty serial number", s)
		}
		spec.Serial = parts[2]
	}
	return spec, nil
}

func isHex4(s string) bool {
	if len(s) != 4 {
		return false
	}
	for i := 0; i < 4; i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// PortInfo describes a serial port found on the machine.
type PortInfo struct {
	Name         string // path to open: /dev/ttyUSB0, COM3
	IsUSB        bool
	VID          string // USB vendor id, uppercase hex ("10C4")
	PID          string // USB product id
	SerialNumber string
	Product      string
}

// ErrPortNotFound: no port matches a USB spec (the reader is unplugged).
var ErrPortNotFound = errors.New("no matching serial port")

// ListPorts lists the machine's serial ports with their USB details. Ports that
// the USB enumeration cannot describe are listed by name only. Pseudo-terminals
// are never listed.
func ListPorts() ([]PortInfo, error) {
	details, err := detailedPorts()
	if err != nil {
		return nil, fmt.Errorf("list serial ports: %w", err)
	}
	var out []PortInfo
	seen := make(map[string]bool)
	for _, d := range details {
		if d.Name == "" {
			continue
		}
		seen[d.Name] = true
		out = append(out, d)
	}
	// The Linux enumerator leaves out the name of a port it cannot describe.
	if names, err := serial.GetPortsList(); err == nil {
		for _, n := range names {
			if !seen[n] {
				out = append(out, PortInfo{Name: n})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Resolve finds the path to open for spec: a path spec is returned as is; a USB
// spec is looked up with list (ListPorts when nil). No match is ErrPortNotFound;
// several matches (identical readers without a serial number in the spec) are an
// error listing them.
func Resolve(spec PortSpec, list func() ([]PortInfo, error)) (string, error) {
	if !spec.IsUSB() {
		if spec.Path == "" {
			return "", errors.New("empty port")
		}
		return spec.Path, nil
	}
	if list == nil {
		list = ListPorts
	}
	ports, err := list()
	if err != nil {
		return "", err
	}
	var found []string
	for _, p := range ports {
		if !p.IsUSB || !strings.EqualFold(p.VID, spec.VID) || !strings.EqualFold(p.PID, spec.PID) {
			continue
		}
		if spec.Serial != "" && !strings.EqualFold(p.SerialNumber, spec.Serial) {
			continue
		}
		found = append(found, p.Name)
	}
	switch len(found) {
	case 0:
		return "", fmt.Errorf("%s: %w", spec, ErrPortNotFound)
	case 1:
		return found[0], nil
	default:
		sort.Strings(found)
		return "", fmt.Errorf("%s matches %d ports (%s): add the serial number, usb:VID:PID:SERIAL", spec, len(found), strings.Join(found, ", "))
	}
}
