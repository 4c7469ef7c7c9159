package reader

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"go.bug.st/serial"
	"gopkg.in/yaml.v3"

	firmwareconfig "pointage/firmware-config"
)

// Profile says how to talk to one kind of badge reader: serial settings, the frame
// formats it sends, how a frame becomes a canonical badge id, and optional bytes to
// send at open and as feedback. Profiles are data (YAML); see
// firmware-config/README.md for the schema.
type Profile struct {
	Name        string         `yaml:"name"`
	Description string         `yaml:"description,omitempty"`
	Serial      SerialSettings `yaml:"serial"`
	// Frames lists the frame formats the reader may send; a frame is matched
	// against them in order.
	Frames []FrameFormat `yaml:"frames"`
	// Init is hex bytes written once each time the port is opened ("" = none).
	Init     string   `yaml:"init,omitempty"`
	Feedback Feedback `yaml:"feedback,omitempty"`
}

// SerialSettings is the port configuration. Zero values mean 8 data bits, no
// parity and 1 stop bit.
type SerialSettings struct {
	Baud     int    `yaml:"baud"`
	DataBits int    `yaml:"data_bits,omitempty"` // 5..8, default 8
	Parity   string `yaml:"parity,omitempty"`    // none (default) | even | odd
	StopBits int    `yaml:"stop_bits,omitempty"` // 1 (default) | 2
}

// Feedback holds the hex bytes that make the reader signal an accepted or refused
// scan (a beep, a LED); empty when the reader has none.
type Feedback struct {
	Accepted string `yaml:"accepted,omitempty"`
	Refused  string `yaml:"refused,omitempty"`
}

// Framing kinds.
const (
	FramingSTXETX = "stx-etx" // start bytes, ASCII content, end bytes
	FramingFixed  = "fixed"   // start bytes, fixed total length, end bytes (binary)
	FramingLine   = "line"    // printable text ended by CR, LF or CRLF
)

// Encodings of a frame's content.
const (
	EncodingHex    = "hex"    // ASCII hex digits, decoded to bytes
	EncodingBinary = "binary" // the frame's bytes as they are (fixed framing only)
	EncodingText   = "text"   // printable ASCII text, kept as text (barcodes)
)

// Checksum kinds.
const (
	ChecksumNone = "none"
	// ChecksumXOR: the XOR of decoded bytes From..To (inclusive) equals byte At.
	// A datasheet's "BCC" is this XOR.
	ChecksumXOR = "xor"
)

// FrameFormat is one way a reader frames a badge. See firmware-config/README.md.
type FrameFormat struct {
	Framing string `yaml:"framing"`
	// Start and End are hex byte sequences (spaces allowed) around a stx-etx or
	// fixed frame.
	Start string `yaml:"start,omitempty"`
	End   string `yaml:"end,omitempty"`
	// Length is a fixed frame's total length, start and end bytes included.
	Length int `yaml:"length,omitempty"`
	// MaxLength caps the content of a stx-etx frame or a line (bytes, terminators
	// and start/end bytes excluded); longer ones are rejected.
	MaxLength int    `yaml:"max_length,omitempty"`
	Encoding  string `yaml:"encoding"`
	// Pattern, for hex and text, is a regular expression the content must match;
	// its group named "id" (or else its first group) holds the badge text.
	Pattern string `yaml:"pattern,omitempty"`
	// Unmatched says what to do with content that Pattern does not match:
	// "reject" (default: counted as a rejected frame) or "ignore" (silently, for
	// banner lines).
	Unmatched string `yaml:"unmatched,omitempty"`
	// Separators are characters dropped from hex text ("DE:AD:BE:EF"); a 0x prefix
	// on each separated group is dropped too.
	Separators string `yaml:"separators,omitempty"`
	// NumberBytes > 0 reads the hex as a number printed without leading zeros: an
	// odd digit count is allowed and the value is left-padded to this many bytes.
	NumberBytes int `yaml:"number_bytes,omitempty"`
	// MinBytes and MaxBytes bound the decoded byte count (hex) — 0 means no bound.
	MinBytes int      `yaml:"min_bytes,omitempty"`
	MaxBytes int      `yaml:"max_bytes,omitempty"`
	Checksum Checksum `yaml:"checksum,omitempty"`
	Badge    Badge    `yaml:"badge,omitempty"`
}

// Checksum describes a frame's check. Offsets count decoded bytes: for hex the
// bytes the digits decode to, for binary the frame's bytes from its first start
// byte.
type Checksum struct {
	Kind string `yaml:"kind,omitempty"` // none (default) | xor
	From int    `yaml:"from,omitempty"`
	To   int    `yaml:"to,omitempty"`
	At   int    `yaml:"at,omitempty"`
}

// Badge says which decoded bytes form the canonical badge id (uppercase hex of
// them) or, for text, how the text is kept.
type Badge struct {
	Offset int `yaml:"offset,omitempty"`
	// Length 0 means up to the end of the decoded bytes.
	Length int `yaml:"length,omitempty"`
	// Case applies to text: "upper" (default) or "keep".
	Case string `yaml:"case,omitempty"`
}

var profileNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`)

// maxFrameBytes caps every length a profile may declare.
const maxFrameBytes = 1024

// Validate checks the profile without doing I/O; the error names the wrong field
// (for example "frames[0].checksum.at: 9 is past the frame's 6 decoded bytes").
func (p *Profile) Validate() error {
	_, err := compile(p)
	return err
}

// serialMode turns the profile's settings into go.bug.st/serial's Mode. The
// InitialStatusBits are left nil: setting modem bits fails on pseudo-terminals and
// the port's defaults (DTR and RTS raised) suit the readers.
func (p *Profile) serialMode() *serial.Mode {
	m := &serial.Mode{BaudRate: p.Serial.Baud, DataBits: p.Serial.DataBits}
	if m.DataBits == 0 {
		m.DataBits = 8
	}
	switch p.Serial.Parity {
	case "even":
		m.Parity = serial.EvenParity
	case "odd":
		m.Parity = serial.OddParity
	default:
		m.Parity = serial.NoParity
	}
	if p.Serial.StopBits == 2 {
		m.StopBits = serial.TwoStopBits
	} else {
		m.StopBits = serial.OneStopBit
	}
	return m
}

// parseHexBytes reads "02 0A", "020a" or "" into bytes.
func parseHexBytes(s string) ([]byte, error) {
	s = strings.Map(func(r rune) rune {
		if r == ' ' || r == ':' || r == '-' || r == '\t' {
			return -1
		}
		return r
	}, s)
	s = strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X")
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%q is not hex bytes", s)
	}
	return b, nil
}

// ParseProfile reads one profile from YAML. Unknown fields are errors, so that a
// misspelt field is not silently ignored. The profile is validated.
func ParseProfile(data []byte) (*Profile, error) {
	p, err := decodeProfile(data)
	if err != nil {
		return nil, err
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return p, nil
}

func decodeProfile(data []byte) (*Profile, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var p Profile
	if err := dec.Decode(&p); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("empty profile")
		}
		return nil, err
	}
	return &p, nil
}

// Builtin returns the built-in profiles (firmware-config/profiles), by name. The
// map and profiles are fresh copies the caller may change.
func Builtin() (map[string]*Profile, error) {
	out := make(map[string]*Profile)
	names, err := fs.Glob(firmwareconfig.Profiles, "profiles/*.yaml")
	if err != nil {
		return nil, err
	}
	for _, name := range names {
		data, err := fs.ReadFile(firmwareconfig.Profiles, name)
		if err != nil {
			return nil, err
		}
		p, err := loadOne(data, path.Base(name))
		if err != nil {
			return nil, fmt.Errorf("built-in profile %s: %w", name, err)
		}
		out[p.Name] = p
	}
	return out, nil
}

// Load returns the built-in profiles plus every *.yaml and *.yml file in dir (dir
// "" means built-ins only). A profile in dir replaces a built-in of the same name;
// a file without a name takes its file name. A bad file is an error naming the
// file and the field; two files in dir with one name are an error.
func Load(dir string) (map[string]*Profile, error) {
	out, err := Builtin()
	if err != nil {
		return nil, err
	}
	if dir == "" {
		return out, nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read profile directory: %w", err)
	}
	from := make(map[string]string) // profile name -> file, for duplicates
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
	for _, e := range entries {
		ext := strings.ToLower(filepath.Ext(e.Name()))
		if e.IsDir() || (ext != ".yaml" && ext != ".yml") {
			continue
		}
		file := filepath.Join(dir, e.Name())
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("profile %s: %w", file, err)
		}
		p, err := loadOne(data, e.Name())
		if err != nil {
			return nil, fmt.Errorf("profile %s: %w", file, err)
		}
		if prev, dup := from[p.Name]; dup {
			return nil, fmt.Errorf("profile %s: name %q is already defined by %s", file, p.Name, prev)
		}
		from[p.Name] = file
		out[p.Name] = p
	}
	return out, nil
}

func loadOne(data []byte, fileName string) (*Profile, error) {
	p, err := decodeProfile(data)
	if err != nil {
		return nil, err
	}
	if p.Name == "" {
		p.Name = strings.TrimSuffix(fileName, filepath.Ext(fileName))
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return p, nil
}

// Names returns the profile names of m, sorted.
func Names(m map[string]*Profile) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
