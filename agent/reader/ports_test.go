package reader

import (
	"errors"
	"strings"
	"testing"
)

func TestParsePortSpec(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    PortSpec
		wantErr string
	}{
		{name: "linux path", in: "/dev/ttyUSB0", want: PortSpec{Path: "/dev/ttyUSB0"}},
		{name: "windows port", in: "COM3", want: PortSpec{Path: "COM3"}},
		{name: "by-id symlink", in: "/dev/serial/by-id/usb-Silicon_Labs_CP2102_0001-if00-port0", want: PortSpec{Path: "/dev/serial/by-id/usb-Silicon_Labs_CP2102_0001-if00-port0"}},
		{name: "usb vid pid", in: "usb:10c4:ea60", want: PortSpec{VID: "10C4", PID: "EA60"}},
		{name: "usb uppercase", in: "USB:10C4:EA60", want: PortSpec{VID: "10C4", PID: "EA60"}},
		{name: "usb with serial", in: "usb:1a86:7523:A50285BI", want: PortSpec{VID: "1A86", PID: "7523", Serial: "A50285BI"}},
		{name: "usb serial with colon", in: "usb:0403:6001:AB:CD", want: PortSpec{VID: "0403", PID: "6001", Serial: "AB:CD"}},
		{name: "empty", in: "", wantErr: "empty"},
		{name: "spaces", in: " /dev/ttyUSB0", wantErr: "spaces"},
		{name: "usb without pid", in: "usb:10c4", wantErr: "usb:VID:PID"},
		{name: "usb short vid", in: "usb:c4:ea60", wantErr: "vendor id"},
		{name: "usb non-hex pid", in: "usb:10c4:ex60", wantErr: "product id"},
		{name: "usb empty serial", in: "usb:10c4:ea60:", wantErr: "empty serial"},
		{name: "newline", in: "/dev/tty\nUSB0", wantErr: "control"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePortSpec(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParsePortSpec(%q) = %+v, %v; want error containing %q", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParsePortSpec(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
			}
			// String round-trips.
			again, err := ParsePortSpec(got.String())
			if err != nil || again != got {
				t.Errorf("ParsePortSpec(%q.String() = %q) = %+v, %v", tt.in, got.String(), again, err)
			}
		})
	}
}

func TestResolve(t *testing.T) {
	ports := []PortInfo{
		{Name: "/dev/ttyS0"},
		{Name: "/dev/ttyUSB0", IsUSB: true, VID: "10C4", PID: "EA60", SerialNumber: "0001", Product: "CP2102 USB to UART"},
		{Name: "/dev/ttyUSB1", IsUSB: true, VID: "1A86", PID: "7523", SerialNumber: ""},
		{Name: "/dev/ttyUSB2", IsUSB: true, VID: "1A86", PID: "7523", SerialNumber: ""},
		{Name: "/dev/ttyACM0", IsUSB: true, VID: "2341", PID: "0043", SerialNumber: "85735313"},
	}
	list := func() ([]PortInfo, error) { return ports, nil }
	tests := []struct {
		name    string
		spec    string
		want    string
		wantErr string
	}{
		{name: "path as is", spec: "/dev/ttyUSB7", want: "/dev/ttyUSB7"},
		{name: "vid pid, lowercase spec", spec: "usb:10c4:ea60", want: "/dev/ttyUSB0"},
		{name: "vid pid serial", spec: "usb:2341:0043:85735313", want: "/dev/ttyACM0"},
		{name: "wrong serial", spec: "usb:2341:0043:999", wantErr: "no matching serial port"},
		{name: "unplugged", spec: "usb:0403:6001", wantErr: "no matching serial port"},
		{name: "two identical readers", spec: "usb:1a86:7523", wantErr: "matches 2 ports (/dev/ttyUSB1, /dev/ttyUSB2)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec, err := ParsePortSpec(tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Resolve(spec, list)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Resolve(%s) = %q, %v; want error containing %q", tt.spec, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Resolve(%s) = %q, %v; want %q", tt.spec, got, err, tt.want)
			}
		})
	}
	t.Run("not found is ErrPortNotFound", func(t *testing.T) {
		_, err := Resolve(PortSpec{VID: "0403", PID: "6001"}, list)
		if !errors.Is(err, ErrPortNotFound) {
			t.Errorf("error %v is not ErrPortNotFound", err)
		}
	})
	t.Run("lister error", func(t *testing.T) {
		boom := errors.New("enumeration failed")
		_, err := Resolve(PortSpec{VID: "0403", PID: "6001"}, func() ([]PortInfo, error) { return nil, boom })
		if !errors.Is(err, boom) {
			t.Errorf("error %v does not wrap the lister's", err)
		}
	})
}

// ListPorts runs against the real machine: it must not fail, and never lists
// pseudo-terminals.
func TestListPorts(t *testing.T) {
	ports, err := ListPorts()
	if err != nil {
		t.Fatalf("ListPorts: %v", err)
	}
	for _, p := range ports {
		if p.Name == "" || strings.HasPrefix(p.Name, "/dev/pts/") {
			t.Errorf("unexpected port %+v", p)
		}
	}
}
