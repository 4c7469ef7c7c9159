package reader

import (
	"encoding/hex"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.bug.st/serial"
)

var t0 = time.Date(2026, 11, 24, 7, 30, 0, 0, time.UTC)

func builtin(t testing.TB, name string) *Profile {
	t.Helper()
	all, err := Builtin()
	if err != nil {
		t.Fatalf("Builtin: %v", err)
	}
	p, ok := all[name]
	if !ok {
		t.Fatalf("no built-in profile %q (have %v)", name, Names(all))
	}
	return p
}

func newTestDecoder(t testing.TB, profile string) *Decoder {
	t.Helper()
	d, err := NewDecoder(builtin(t, profile))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// summary reduces frames to badges and "reject:<reason category>".
func summary(frames []Frame) []string {
	out := []string{}
	for _, f := range frames {
		if f.Rejected() {
			cat, _, _ := strings.Cut(f.Reject, ":")
			out = append(out, "reject:"+cat)
		} else {
			out = append(out, f.Badge)
		}
	}
	return out
}

// decodeAt feeds in at once, then ticks long after, so a trailing partial frame is
// reported too.
func decodeAt(d *Decoder, in []byte) []Frame {
	frames := d.Feed(in, t0)
	return append(frames, d.Tick(t0.Add(time.Second))...)
}

// decodeByteByByte feeds in one byte at a time (same instant), then ticks.
func decodeByteByByte(d *Decoder, in []byte) []Frame {
	var frames []Frame
	for i := range in {
		frames = append(frames, d.Feed(in[i:i+1], t0)...)
	}
	return append(frames, d.Tick(t0.Add(time.Second))...)
}

func h(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

const stx, etx = "\x02", "\x03"

// Every frame vector of docs/READERS.md, and the malformed frames docs/DESIGN.md §8 says
// must be rejected, for each built-in profile.
func TestDecoderBuiltins(t *testing.T) {
	tests := []struct {
		name    string
		profile string
		in      []byte
		want    []string
	}{
		// RDM6300: STX, 10 hex, 2 hex XOR checksum, ETX.
		{"rdm6300 vector 13005D1DA5", "rdm6300", []byte(stx + "13005D1DA5F6" + etx), []string{"13005D1DA5"}},
		{"rdm6300 vector 01026F6C3A", "rdm6300", []byte(stx + "01026F6C3A3A" + etx), []string{"01026F6C3A"}},
		{"rdm6300 vector 0B0012D687", "rdm6300", []byte(stx + "0B0012D68748" + etx), []string{"0B0012D687"}},
		{"rdm6300 lowercase hex", "rdm6300", []byte(stx + "13005d1da5f6" + etx), []string{"13005D1DA5"}},
		{"rdm6300 repeated frames", "rdm6300", []byte(stx + "13005D1DA5F6" + etx + stx + "13005D1DA5F6" + etx), []string{"13005D1DA5", "13005D1DA5"}},
		{"rdm6300 bad checksum", "rdm6300", []byte(stx + "13005D1DA5F7" + etx), []string{"reject:bad checksum"}},
		{"rdm6300 non-hex", "rdm6300", []byte(stx + "13005D1DX5F6" + etx), []string{"reject:not hex"}},
		{"rdm6300 too short", "rdm6300", []byte(stx + "13005D1DA5" + etx), []string{"reject:bad length"}},
		{"rdm6300 empty frame", "rdm6300", []byte(stx + etx), []string{"reject:empty frame"}},
		{"rdm6300 over-long frame is one rejection", "rdm6300", []byte(stx + "13005D1DA5F613005D1DA5F6" + etx + stx + "01026F6C3A3A" + etx), []string{"reject:too long", "01026F6C3A"}},
		{"rdm6300 noise before a frame", "rdm6300", []byte("garbage" + stx + "13005D1DA5F6" + etx), []string{"reject:noise", "13005D1DA5"}},
		{"rdm6300 noise after a frame", "rdm6300", []byte(stx + "13005D1DA5F6" + etx + "\r\n"), []string{"13005D1DA5", "reject:noise"}},
		{"rdm6300 only noise", "rdm6300", []byte{0xFF, 0x00, 0x13, 0x37}, []string{"reject:noise"}},
		{"rdm6300 STX inside a frame starts a new one", "rdm6300", []byte(stx + "13005D" + stx + "01026F6C3A3A" + etx), []string{"reject:partial frame", "01026F6C3A"}},
		{"rdm6300 binary junk inside a frame", "rdm6300", []byte(stx + "1300\x00\xff" + etx + stx + "13005D1DA5F6" + etx), []string{"reject:non-printable", "13005D1DA5"}},
		{"rdm6300 partial frame at the end", "rdm6300", []byte(stx + "13005D1D"), []string{"reject:partial frame"}},

		// Gwiot 7941E: 02 0A type hidden SN0..SN3 BCC 03, BCC = XOR of bytes 1..7.
		{"gwiot datasheet vector", "gwiot7941e", h("02 0A 02 2E 00 B6 D7 B5 F2 03"), []string{"2E00B6D7B5"}},
		{"gwiot 14-byte RDM6300 form", "gwiot7941e", []byte(stx + "13005D1DA5F6" + etx), []string{"13005D1DA5"}},
		{"gwiot both forms in a row", "gwiot7941e", append(h("02 0A 02 2E 00 B6 D7 B5 F2 03"), []byte(stx+"0B0012D68748"+etx)...), []string{"2E00B6D7B5", "0B0012D687"}},
		{"gwiot frame holding 02 and 03 bytes", "gwiot7941e", h("02 0A 02 03 02 03 02 03 0B 03"), []string{"0302030203"}},
		{"gwiot bad BCC", "gwiot7941e", h("02 0A 02 2E 00 B6 D7 B5 F3 03"), []string{"reject:bad checksum"}},
		{"gwiot bad end byte", "gwiot7941e", h("02 0A 02 2E 00 B6 D7 B5 F2 04"), []string{"reject:bad end byte", "reject:non-printable"}},
		{"gwiot cut-short frame then a good one", "gwiot7941e", h("02 0A 02 2E 02 0A 02 2E 00 B6 D7 B5 F2 03"), []string{"reject:bad end byte", "reject:partial frame", "2E00B6D7B5"}},
		{"gwiot noise then frame", "gwiot7941e", append([]byte{0x55, 0xAA}, h("02 0A 02 2E 00 B6 D7 B5 F2 03")...), []string{"reject:noise", "2E00B6D7B5"}},
		{"gwiot truncated frame", "gwiot7941e", h("02 0A 02 2E 00"), []string{"reject:partial frame"}},

		// line-hex: one hex UID per line, CR, LF or CRLF; MFRC522 and PN532 sketch forms.
		{"line-hex CRLF", "line-hex", []byte("DEADBEEF\r\n"), []string{"DEADBEEF"}},
		{"line-hex LF", "line-hex", []byte("DEADBEEF\n"), []string{"DEADBEEF"}},
		{"line-hex CR", "line-hex", []byte("DEADBEEF\r"), []string{"DEADBEEF"}},
		{"line-hex mixed terminators", "line-hex", []byte("DEADBEEF\r\n04A224B2C35E80\n\r0A0B0C0D\r"), []string{"DEADBEEF", "04A224B2C35E80", "0A0B0C0D"}},
		{"line-hex lowercase with colons", "line-hex", []byte("de:ad:be:ef\r\n"), []string{"DEADBEEF"}},
		{"line-hex MFRC522 Card UID", "line-hex", []byte("Card UID: DE AD BE EF\r\n"), []string{"DEADBEEF"}},
		{"line-hex MFRC522 7-byte UID", "line-hex", []byte("Card UID: 04 A2 24 B2 C3 5E 80\r\n"), []string{"04A224B2C35E80"}},
		{"line-hex PN532 UID Value", "line-hex", []byte("  UID Value: 0xDE 0xAD 0xBE 0xEF\r\n"), []string{"DEADBEEF"}},
		{"line-hex MFRC522 banner ignored", "line-hex", []byte("Firmware Version: 0x92 = v2.0\r\nScan PICC to see UID, SAK, type, and data blocks...\r\nCard UID: DE AD BE EF\r\nPICC type: MIFARE 1KB\r\n"), []string{"DEADBEEF"}},
		{"line-hex PN532 banner ignored", "line-hex", []byte("Found chip PN532\r\nFirmware ver. 1.6\r\nFound an ISO14443A card\r\n  UID Length: 4 bytes\r\n  UID Value: 0xDE 0xAD 0xBE 0xEF\r\n"), []string{"DEADBEEF"}},
		{"line-hex empty lines ignored", "line-hex", []byte("\r\n\n\r\r\n   \r\n"), []string{}},
		{"line-hex non-hex", "line-hex", []byte("DEADBEXF\r\n"), []string{"reject:not hex"}},
		{"line-hex non-hex MFRC522 form", "line-hex", []byte("Card UID: DE AD BE XF\r\n"), []string{"reject:not hex"}},
		{"line-hex odd digits", "line-hex", []byte("DEADBEE\r\n"), []string{"reject:not hex"}},
		{"line-hex too few bytes", "line-hex", []byte("BEEF\r\n"), []string{"reject:bad length"}},
		{"line-hex over-long line is one rejection", "line-hex", []byte(strings.Repeat("DEADBEEF", 10) + "\r\nDEADBEEF\r\n"), []string{"reject:too long", "DEADBEEF"}},
		{"line-hex binary noise", "line-hex", []byte("\x00\xff\x13\x37\r\n"), []string{"reject:non-printable"}},
		{"line-hex line without terminator", "line-hex", []byte("DEADBEEF"), []string{"reject:partial frame"}},

		// wiegand26-ascii: the Arduino bridge line, bare hex, STX/ETX-wrapped hex.
		{"wiegand bridge line", "wiegand26-ascii", []byte("Wiegand HEX = 7BB26E, DECIMAL = 8106606, Type W26\r\n"), []string{"7BB26E"}},
		{"wiegand facility 1 card 1 without leading zeros", "wiegand26-ascii", []byte("Wiegand HEX = 10001, DECIMAL = 65537, Type W26\r\n"), []string{"010001"}},
		{"wiegand W34 code", "wiegand26-ascii", []byte("Wiegand HEX = 12345678, DECIMAL = 305419896, Type W34\r\n"), []string{"12345678"}},
		{"wiegand bare hex line", "wiegand26-ascii", []byte("7BB26E\n"), []string{"7BB26E"}},
		{"wiegand STX/ETX form", "wiegand26-ascii", []byte(stx + "7BB26E" + etx), []string{"7BB26E"}},
		{"wiegand banner ignored", "wiegand26-ascii", []byte("Wiegand reader ready\r\nWiegand HEX = 7BB26E, DECIMAL = 8106606, Type W26\r\n"), []string{"7BB26E"}},
		{"wiegand non-hex", "wiegand26-ascii", []byte("Wiegand HEX = 7BX26E, DECIMAL = 8106606, Type W26\r\n"), []string{"reject:not hex"}},
		{"wiegand too many digits", "wiegand26-ascii", []byte("Wiegand HEX = 1234567890, DECIMAL = 0, Type W26\r\n"), []string{"reject:bad length"}},

		// barcode: printable text, trimmed, uppercased, at most 64 characters.
		{"barcode CRLF", "barcode", []byte("ELV-2026-0042\r\n"), []string{"ELV-2026-0042"}},
		{"barcode LF lowercase trimmed", "barcode", []byte("  abc123  \n"), []string{"ABC123"}},
		{"barcode STX/ETX", "barcode", []byte(stx + "4006381333931" + etx + "\r\n"), []string{"4006381333931"}},
		{"barcode control byte", "barcode", []byte("AB\x07CD\r\n"), []string{"reject:non-printable"}},
		{"barcode inner space", "barcode", []byte("AB CD\r\n"), []string{"reject:non-printable"}},
		{"barcode 64 characters", "barcode", []byte(strings.Repeat("A", 64) + "\r"), []string{strings.Repeat("A", 64)}},
		{"barcode 65 characters", "barcode", []byte(strings.Repeat("A", 65) + "\r"), []string{"reject:too long"}},
		{"barcode STX cuts a line", "barcode", []byte("ABC" + stx + "DEF" + etx), []string{"reject:partial frame", "DEF"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newTestDecoder(t, tt.profile)
			got := decodeAt(d, tt.in)
			if s := summary(got); !reflect.DeepEqual(s, tt.want) {
				t.Errorf("decode % X\n got %q\nwant %q\nframes: %v", tt.in, s, tt.want, got)
			}
			// Byte by byte gives exactly the same frames.
			d2 := newTestDecoder(t, tt.profile)
			if byOne := decodeByteByByte(d2, tt.in); !reflect.DeepEqual(byOne, got) {
				t.Errorf("byte by byte: %v, at once: %v", byOne, got)
			}
		})
	}
}

// The numbers printed on EM4100 cards (READERS.md) are in the canonical id's low
// bits, so the roster can derive badges from them.
func TestCanonicalIDCarriesPrintedNumbers(t *testing.T) {
	tests := []struct {
		name, frame, h10d, w26 string
	}{
		{"13005D1DA5", "13005D1DA5F6", "0006102437", "093,07589"},
		{"01026F6C3A", "01026F6C3A3A", "0040856634", "111,27706"},
		{"0B0012D687", "0B0012D68748", "0001234567", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newTestDecoder(t, "rdm6300")
			frames := d.Feed([]byte(stx+tt.frame+etx), t0)
			if len(frames) != 1 || frames[0].Badge != tt.name {
				t.Fatalf("frames %v, want badge %s", frames, tt.name)
			}
			v, err := strconv.ParseUint(frames[0].Badge, 16, 64)
			if err != nil {
				t.Fatal(err)
			}
			if got := fmt.Sprintf("%010d", v&0xFFFFFFFF); got != tt.h10d {
				t.Errorf("8H10D = %s, want %s", got, tt.h10d)
			}
			if tt.w26 != "" {
				if got := fmt.Sprintf("%03d,%05d", v>>16&0xFF, v&0xFFFF); got != tt.w26 {
					t.Errorf("W26 = %s, want %s", got, tt.w26)
				}
			}
		})
	}
	// Gwiot datasheet: id 0x00B6D7B5 = 11982773 in the badge's low 32 bits.
	d := newTestDecoder(t, "gwiot7941e")
	frames := d.Feed(h("02 0A 02 2E 00 B6 D7 B5 F2 03"), t0)
	if len(frames) != 1 {
		t.Fatalf("gwiot frames %v", frames)
	}
	v, _ := strconv.ParseUint(frames[0].Badge, 16, 64)
	if v&0xFFFFFFFF != 11982773 {
		t.Errorf("gwiot badge %s: low 32 bits %d, want 11982773", frames[0].Badge, v&0xFFFFFFFF)
	}
}

func TestDecoderPartialTimeout(t *testing.T) {
	tests := []struct {
		name   string
		first  string
		gap    time.Duration
		tick   bool // call Tick during the gap
		second string
		want   []string
	}{
		{"partial frame, 150 ms silence, valid frame gives the valid one", stx + "13005D", 150 * time.Millisecond, false, stx + "01026F6C3A3A" + etx,
			[]string{"reject:partial frame", "01026F6C3A"}},
		{"same when Tick runs during the silence", stx + "13005D", 150 * time.Millisecond, true, stx + "01026F6C3A3A" + etx,
			[]string{"reject:partial frame", "01026F6C3A"}},
		{"halves 90 ms apart are one frame", stx + "13005D", 90 * time.Millisecond, true, "1DA5F6" + etx,
			[]string{"13005D1DA5"}},
		{"halves 100 ms apart are not", stx + "13005D", 100 * time.Millisecond, false, "1DA5F6" + etx,
			[]string{"reject:partial frame", "reject:noise"}},
		{"halves 150 ms apart are not (Tick)", stx + "13005D", 150 * time.Millisecond, true, "1DA5F6" + etx,
			[]string{"reject:partial frame", "reject:noise"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newTestDecoder(t, "rdm6300")
			var got []Frame
			got = append(got, d.Feed([]byte(tt.first), t0)...)
			if tt.tick {
				got = append(got, d.Tick(t0.Add(tt.gap/2))...)
				got = append(got, d.Tick(t0.Add(tt.gap))...)
			}
			got = append(got, d.Feed([]byte(tt.second), t0.Add(tt.gap))...)
			got = append(got, d.Tick(t0.Add(tt.gap+time.Second))...)
			if s := summary(got); !reflect.DeepEqual(s, tt.want) {
				t.Errorf("got %q, want %q", s, tt.want)
			}
		})
	}

	t.Run("pieces under 100 ms apart are reassembled", func(t *testing.T) {
		d := newTestDecoder(t, "rdm6300")
		var got []Frame
		at := t0
		for _, piece := range []string{stx + "130", "05D1D", "A5F6", etx} {
			got = append(got, d.Feed([]byte(piece), at)...)
			got = append(got, d.Tick(at.Add(60*time.Millisecond))...)
			at = at.Add(90 * time.Millisecond)
		}
		if s := summary(got); !reflect.DeepEqual(s, []string{"13005D1DA5"}) {
			t.Errorf("got %q", s)
		}
	})

	t.Run("a line without terminator is dropped after 100 ms", func(t *testing.T) {
		d := newTestDecoder(t, "line-hex")
		got := d.Feed([]byte("DEADBEEF"), t0)
		got = append(got, d.Tick(t0.Add(99*time.Millisecond))...)
		if len(got) != 0 {
			t.Fatalf("before 100 ms: %v", got)
		}
		got = append(got, d.Tick(t0.Add(100*time.Millisecond))...)
		got = append(got, d.Feed([]byte("\r\n"), t0.Add(200*time.Millisecond))...)
		if s := summary(got); !reflect.DeepEqual(s, []string{"reject:partial frame"}) {
			t.Errorf("got %q", s)
		}
	})

	t.Run("noise is reported after 100 ms of silence", func(t *testing.T) {
		d := newTestDecoder(t, "rdm6300")
		got := d.Feed([]byte("zz"), t0)
		got = append(got, d.Tick(t0.Add(50*time.Millisecond))...)
		if len(got) != 0 {
			t.Fatalf("noise reported too early: %v", got)
		}
		got = append(got, d.Tick(t0.Add(150*time.Millisecond))...)
		got = append(got, d.Tick(t0.Add(300*time.Millisecond))...)
		if s := summary(got); !reflect.DeepEqual(s, []string{"reject:noise"}) {
			t.Errorf("got %q", s)
		}
	})
}

func TestDecoderLongNoiseIsReported(t *testing.T) {
	d := newTestDecoder(t, "rdm6300")
	got := d.Feed([]byte(strings.Repeat("x", 3*noiseReportBytes)), t0)
	if len(got) != 3 {
		t.Fatalf("%d bytes of noise without a pause gave %v, want 3 noise rejections", 3*noiseReportBytes, got)
	}
}

func TestDecoderCustomProfile(t *testing.T) {
	// A reader that sends "ID:" + 8 hex + ";" + 2 hex of XOR over the 4 bytes, wrapped
	// in 0xAA ... 0x55: a user profile, decoded with no code change.
	yml := `
name: custom-aa55
serial: {baud: 19200, parity: even}
frames:
  - framing: stx-etx
    start: "AA"
    end: "55"
    max_length: 20
    encoding: hex
    pattern: '^ID:(?P<id>[0-9A-Fa-f]{8});[0-9A-Fa-f]{2}$'
    min_bytes: 4
    max_bytes: 4
feedback: {accepted: "07", refused: "07 07 07"}
`
	p, err := ParseProfile([]byte(yml))
	if err != nil {
		t.Fatal(err)
	}
	d, err := NewDecoder(p)
	if err != nil {
		t.Fatal(err)
	}
	got := decodeAt(d, []byte("\xaaID:deadbeef;22\x55\xaaID:nothex00;00\x55"))
	if s := summary(got); !reflect.DeepEqual(s, []string{"DEADBEEF", "reject:no badge id"}) {
		t.Errorf("got %q", s)
	}
	if m := p.serialMode(); m.BaudRate != 19200 || m.DataBits != 8 || m.Parity != serial.EvenParity {
		t.Errorf("serial mode %+v", m)
	}
}

// Framing corners the built-ins do not reach: multi-byte end bytes, a fixed frame
// with a one-byte start.
func TestDecoderFramingCorners(t *testing.T) {
	crlfEnd := &Profile{Name: "crlf-end", Serial: SerialSettings{Baud: 9600}, Frames: []FrameFormat{
		{Framing: FramingSTXETX, Start: "02", End: "0D 0A", MaxLength: 8, Encoding: EncodingHex},
	}}
	fixedAA := &Profile{Name: "fixed-aa", Serial: SerialSettings{Baud: 9600}, Frames: []FrameFormat{
		{Framing: FramingFixed, Start: "AA", End: "55", Length: 7, Encoding: EncodingBinary,
			Checksum: Checksum{Kind: ChecksumXOR, From: 1, To: 4, At: 5}, Badge: Badge{Offset: 1, Length: 4}},
	}}
	longHex := &Profile{Name: "long-hex", Serial: SerialSettings{Baud: 9600}, Frames: []FrameFormat{
		{Framing: FramingLine, MaxLength: 200, Encoding: EncodingHex},
	}}
	tests := []struct {
		name string
		p    *Profile
		in   []byte
		want []string
	}{
		{"64 hex digits is the longest badge", longHex, []byte(strings.Repeat("AB", 32) + "\n"), []string{strings.Repeat("AB", 32)}},
		{"66 hex digits is too long for the wire", longHex, []byte(strings.Repeat("AB", 33) + "\n"), []string{"reject:bad length"}},
		{"multi-byte end", crlfEnd, []byte("\x02DEADBEEF\r\n"), []string{"DEADBEEF"}},
		{"multi-byte end, CR alone is content", crlfEnd, []byte("\x02DE\rBEEF\r\n"), []string{"reject:non-printable"}},
		{"multi-byte end, over-long once", crlfEnd, []byte("\x02DEADBEEF00\r\n\x02CAFEBABE\r\n"), []string{"reject:too long", "CAFEBABE"}},
		{"fixed one-byte start", fixedAA, h("AA DE AD BE EF 22 55"), []string{"DEADBEEF"}},
		{"fixed frame holding its start byte", fixedAA, h("AA AA BB CC DD 00 55"), []string{"AABBCCDD"}},
		{"fixed bad checksum", fixedAA, h("AA DE AD BE EF 23 55"), []string{"reject:bad checksum"}},
		{"fixed bad end resyncs", fixedAA, h("AA DE AD AA DE AD BE EF 22 55"), []string{"reject:bad end byte", "DEADBEEF"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := NewDecoder(tt.p)
			if err != nil {
				t.Fatal(err)
			}
			got := decodeAt(d, tt.in)
			if s := summary(got); !reflect.DeepEqual(s, tt.want) {
				t.Errorf("got %q, want %q (%v)", s, tt.want, got)
			}
			d2, _ := NewDecoder(tt.p)
			if byOne := decodeByteByByte(d2, tt.in); !reflect.DeepEqual(byOne, got) {
				t.Errorf("byte by byte %v, at once %v", byOne, got)
			}
		})
	}
}
