package reader

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"go.bug.st/serial"
)

func TestBuiltin(t *testing.T) {
	all, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"barcode", "gwiot7941e", "line-hex", "rdm6300", "wiegand26-ascii"}
	if got := Names(all); !reflect.DeepEqual(got, want) {
		t.Fatalf("built-in profiles %v, want %v", got, want)
	}
	for name, p := range all {
		t.Run(name, func(t *testing.T) {
			if p.Name != name || p.Description == "" {
				t.Errorf("name %q, description %q", p.Name, p.Description)
			}
			if err := p.Validate(); err != nil {
				t.Error(err)
			}
			m := p.serialMode()
			if m.BaudRate != 9600 || m.DataBits != 8 || m.Parity != serial.NoParity || m.StopBits != serial.OneStopBit {
				t.Errorf("serial mode %+v, want 9600 8N1", m)
			}
			if m.InitialStatusBits != nil {
				t.Error("InitialStatusBits set: it fails on pseudo-terminals")
			}
		})
	}
	// Fresh copies: changing one does not change the next call's.
	all["rdm6300"].Serial.Baud = 1
	again, _ := Builtin()
	if again["rdm6300"].Serial.Baud != 9600 {
		t.Error("Builtin returned a shared profile")
	}
}

func writeFile(t *testing.T, dir, name, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

const minimalProfile = `
serial: {baud: 9600}
frames:
  - {framing: line, max_length: 32, encoding: text}
`

func TestLoad(t *testing.T) {
	t.Run("testdata custom profile", func(t *testing.T) {
		all, err := Load("testdata/profiles")
		if err != nil {
			t.Fatal(err)
		}
		p := all["line-hex-beep"]
		if p == nil {
			t.Fatalf("line-hex-beep not loaded: %v", Names(all))
		}
		if p.Serial.Baud != 115200 || p.Feedback.Accepted != "06" || p.Init != "1B 40" {
			t.Errorf("loaded %+v", p)
		}
		if len(all) != 6 {
			t.Errorf("want the 5 built-ins plus 1, got %v", Names(all))
		}
	})
	t.Run("empty dir means built-ins only", func(t *testing.T) {
		all, err := Load("")
		if err != nil || len(all) != 5 {
			t.Fatalf("Load(\"\") = %v, %v", Names(all), err)
		}
	})
	t.Run("override a built-in, name from file name, .yml", func(t *testing.T) {
		dir := t.TempDir()
		writeFile(t, dir, "rdm6300.yaml", "name: rdm6300\n"+minimalProfile)
		writeFile(t, dir, "kiosk.yml", minimalProfile)
		writeFile(t, dir, "notes.txt", "not a profile")
		all, err := Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		if all["rdm6300"].Frames[0].Framing != FramingLine {
			t.Error("user rdm6300 did not replace the built-in")
		}
		if all["kiosk"] == nil {
			t.Errorf("kiosk.yml not loaded under its file name: %v", Names(all))
		}
	})
	tests := []struct {
		name    string
		files   map[string]string
		wantErr []string // all must appear in the error
	}{
		{"bad field value", map[string]string{"bad.yaml": "name: bad\nserial: {baud: 9600, parity: mark}\nframes: [{framing: line, max_length: 8, encoding: text}]\n"},
			[]string{"bad.yaml", "serial.parity", "mark"}},
		{"misspelt field", map[string]string{"typo.yaml": "name: typo\nserial: {baudrate: 9600}\nframes: [{framing: line, max_length: 8, encoding: text}]\n"},
			[]string{"typo.yaml", "baudrate"}},
		{"bad frame field", map[string]string{"f.yaml": "name: f\nserial: {baud: 9600}\nframes: [{framing: stx-etx, start: '02', end: '03', max_length: 12, encoding: hex, checksum: {kind: crc16}}]\n"},
			[]string{"f.yaml", "frames[0].checksum.kind", "crc16"}},
		{"two files one name", map[string]string{"a.yaml": "name: same\n" + minimalProfile, "b.yaml": "name: same\n" + minimalProfile},
			[]string{"b.yaml", `"same"`, "a.yaml"}},
		{"not yaml", map[string]string{"x.yaml": "{{{"}, []string{"x.yaml"}},
		{"empty file", map[string]string{"e.yaml": ""}, []string{"e.yaml", "empty"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for n, c := range tt.files {
				writeFile(t, dir, n, c)
			}
			_, err := Load(dir)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("Load of a missing directory: no error")
	}
}

func TestValidateNamesTheField(t *testing.T) {
	tests := []struct {
		name   string
		change func(p *Profile)
		field  string
	}{
		{"name", func(p *Profile) { p.Name = "Bad Name" }, "name"},
		{"baud", func(p *Profile) { p.Serial.Baud = 0 }, "serial.baud"},
		{"data bits", func(p *Profile) { p.Serial.DataBits = 9 }, "serial.data_bits"},
		{"stop bits", func(p *Profile) { p.Serial.StopBits = 3 }, "serial.stop_bits"},
		{"no frames", func(p *Profile) { p.Frames = nil }, "frames"},
		{"framing", func(p *Profile) { p.Frames[0].Framing = "slip" }, "frames[0].framing"},
		{"start not hex", func(p *Profile) { p.Frames[0].Start = "0G" }, "frames[0].start"},
		{"no end", func(p *Profile) { p.Frames[0].End = "" }, "frames[0].end"},
		{"encoding", func(p *Profile) { p.Frames[0].Encoding = "base64" }, "frames[0].encoding"},
		{"binary in stx-etx", func(p *Profile) { p.Frames[0].Encoding = EncodingBinary }, "frames[0].encoding"},
		{"max length", func(p *Profile) { p.Frames[0].MaxLength = 0 }, "frames[0].max_length"},
		{"pattern syntax", func(p *Profile) { p.Frames[0].Pattern = "(" }, "frames[0].pattern"},
		{"pattern without group", func(p *Profile) { p.Frames[0].Pattern = "^[0-9A-F]+$" }, "frames[0].pattern"},
		{"unmatched without pattern", func(p *Profile) { p.Frames[0].Unmatched = "ignore" }, "frames[0].unmatched"},
		{"separators with hex digit", func(p *Profile) { p.Frames[0].Separators = " a" }, "frames[0].separators"},
		{"max below min bytes", func(p *Profile) { p.Frames[0].MaxBytes = 2 }, "frames[0].max_bytes"},
		{"checksum kind", func(p *Profile) { p.Frames[0].Checksum.Kind = "crc" }, "frames[0].checksum.kind"},
		{"checksum at inside range", func(p *Profile) { p.Frames[0].Checksum.At = 3 }, "frames[0].checksum.at"},
		{"checksum past the bytes", func(p *Profile) { p.Frames[0].Checksum.At = 9 }, "frames[0].checksum.at"},
		{"badge past the bytes", func(p *Profile) { p.Frames[0].Badge.Length = 7 }, "frames[0].badge.length"},
		{"badge case on hex", func(p *Profile) { p.Frames[0].Badge.Case = "keep" }, "frames[0].badge.case"},
		{"init not hex", func(p *Profile) { p.Init = "zz" }, "init"},
		{"feedback not hex", func(p *Profile) { p.Feedback.Refused = "1" }, "feedback.refused"},
		{"two line formats", func(p *Profile) {
			p.Frames = append(p.Frames, FrameFormat{Framing: FramingLine, MaxLength: 8, Encoding: EncodingText}, FrameFormat{Framing: FramingLine, MaxLength: 8, Encoding: EncodingText})
		}, "frames[2].framing"},
		{"fixed frame not binary", func(p *Profile) {
			p.Frames[0] = FrameFormat{Framing: FramingFixed, Start: "02", End: "03", Length: 10, Encoding: EncodingHex}
		}, "frames[0].encoding"},
		{"fixed frame too short", func(p *Profile) {
			p.Frames[0] = FrameFormat{Framing: FramingFixed, Start: "02", End: "03", Length: 2, Encoding: EncodingBinary}
		}, "frames[0].length"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := builtin(t, "rdm6300")
			tt.change(p)
			err := p.Validate()
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.HasPrefix(err.Error(), tt.field+": ") {
				t.Errorf("error %q does not begin with the field %q", err, tt.field)
			}
		})
	}
}
