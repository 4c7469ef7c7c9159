package scansim

import (
	"bytes"
	"strings"
	"testing"
)

// Vectors from docs/READERS.md.
func TestEncode(t *testing.T) {
	tests := []struct {
		name    string
		profile string
		badge   string
		want    []byte
	}{
		{name: "rdm6300 13005D1DA5", profile: "rdm6300", badge: "13005D1DA5", want: []byte("\x0213005D1DA5F6\x03")},
		{name: "rdm6300 01026F6C3A", profile: "rdm6300", badge: "01026F6C3A", want: []byte("\x0201026F6C3A3A\x03")},
		{name: "rdm6300 0B0012D687", profile: "rdm6300", badge: "0B0012D687", want: []byte("\x020B0012D68748\x03")},
		{name: "rdm6300 lowercase input", profile: "rdm6300", badge: "0b0012d687", want: []byte("\x020B0012D68748\x03")},
		{name: "gwiot datasheet example", profile: "gwiot7941e", badge: "2E00B6D7B5", want: []byte{0x02, 0x0A, 0x02, 0x2E, 0x00, 0xB6, 0xD7, 0xB5, 0xF2, 0x03}},
		{name: "line-hex MFRC522 uid", profile: "line-hex", badge: "DEADBEEF", want: []byte("DEADBEEF\r\n")},
		{name: "line-hex 7-byte uid", profile: "line-hex", badge: "04a224b2c35e80", want: []byte("04A224B2C35E80\r\n")},
		{name: "wiegand bridge 123/45678", profile: "wiegand26-ascii", badge: "7BB26E", want: []byte("Wiegand HEX = 7BB26E, DECIMAL = 8106606, Type W26\r\n")},
		{name: "wiegand bridge drops leading zeros", profile: "wiegand26-ascii", badge: "010001", want: []byte("Wiegand HEX = 10001, DECIMAL = 65537, Type W26\r\n")},
		{name: "barcode", profile: "barcode", badge: "ELV-2026-0042", want: []byte("ELV-2026-0042\r\n")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Encode(tt.profile, tt.badge)
			if err != nil {
				t.Fatalf("Encode(%q, %q): %v", tt.profile, tt.badge, err)
			}
			if !bytes.Equal(got, tt.want) {
				t.Errorf("Encode(%q, %q) = % X, want % X", tt.profile, tt.badge, got, tt.want)
			}
		})
	}
}

func TestEncodeRefusesBadBadges(t *testing.T) {
	tests := []struct {
		name, profile, badge, wantErr string
	}{
		{name: "unknown profile", profile: "nope", badge: "00", wantErr: "no encoder"},
		{name: "rdm6300 short", profile: "rdm6300", badge: "13005D1D", wantErr: "want 5 bytes"},
		{name: "rdm6300 not hex", profile: "rdm6300", badge: "13005D1DZZ", wantErr: "not an even number of hex digits"},
		{name: "gwiot 4 bytes", profile: "gwiot7941e", badge: "00B6D7B5", wantErr: "want 5 bytes"},
		{name: "line-hex too long", profile: "line-hex", badge: strings.Repeat("AB", 11), wantErr: "want 4 to 10 bytes"},
		{name: "wiegand over 24 bits", profile: "wiegand26-ascii", badge: "1234567", wantErr: "24 bits"},
		{name: "barcode control byte", profile: "barcode", badge: "AB\x03", wantErr: "not printable"},
		{name: "barcode empty", profile: "barcode", badge: "", wantErr: "1 to 64"},
		{name: "barcode space", profile: "barcode", badge: "AB CD", wantErr: "without spaces"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Encode(tt.profile, tt.badge)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Encode(%q, %q) error = %v, want one containing %q", tt.profile, tt.badge, err, tt.wantErr)
			}
		})
	}
}

func TestWiegand26(t *testing.T) {
	tests := []struct {
		name           string
		facility, card uint32
		want           uint32
	}{
		{name: "facility 1 card 1", facility: 1, card: 1, want: 0x2020002}, // 10000000100000000000000010
		{name: "facility 123 card 45678", facility: 123, card: 45678, want: 0x2F764DD},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Wiegand26(tt.facility, tt.card)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("Wiegand26(%d, %d) = %#x (%026b), want %#x", tt.facility, tt.card, got, got, tt.want)
			}
			// The bridge's 24-bit code is the raw bits without parity.
			if code := got >> 1 & 0xFFFFFF; code != tt.facility<<16|tt.card {
				t.Errorf("24-bit code %#x, want %#x", code, tt.facility<<16|tt.card)
			}
		})
	}
	if _, err := Wiegand26(256, 1); err == nil {
		t.Error("Wiegand26(256, 1): no error for an out-of-range facility")
	}
}
