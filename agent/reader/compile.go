package reader

import (
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
)

// compiled is a validated profile ready for decoding: hex fields parsed, patterns
// compiled. It is immutable and shared by the decoders made from it.
type compiled struct {
	name     string
	formats  []*format
	starters []*format // formats that begin with start bytes (stx-etx, fixed)
	line     *format   // the line format, if any (at most one)
	init     []byte
	accepted []byte
	refused  []byte
}

type format struct {
	index           int
	framing         string
	start, end      []byte
	length          int // fixed: total length
	maxLength       int // stx-etx, line: content cap
	encoding        string
	pattern         *regexp.Regexp
	idGroup         int
	ignoreUnmatched bool
	separators      string
	numberBytes     int
	minBytes        int
	maxBytes        int
	xor             bool
	from, to, at    int
	badgeOffset     int
	badgeLength     int
	keepCase        bool
}

// fieldError names the profile field that is wrong.
type fieldError struct {
	field string
	msg   string
}

func (e *fieldError) Error() string { return e.field + ": " + e.msg }

func ferr(field, format string, args ...any) error {
	return &fieldError{field: field, msg: fmt.Sprintf(format, args...)}
}

func compile(p *Profile) (*compiled, error) {
	if p == nil {
		return nil, ferr("profile", "is nil")
	}
	if !profileNameRE.MatchString(p.Name) {
		return nil, ferr("name", "%q must be 1-63 characters of a-z, 0-9, '.', '_' or '-', starting with a letter or digit", p.Name)
	}
	s := p.Serial
	if s.Baud <= 0 || s.Baud > 4000000 {
		return nil, ferr("serial.baud", "%d must be between 1 and 4000000", s.Baud)
	}
	if s.DataBits != 0 && (s.DataBits < 5 || s.DataBits > 8) {
		return nil, ferr("serial.data_bits", "%d must be 5, 6, 7 or 8", s.DataBits)
	}
	switch s.Parity {
	case "", "none", "even", "odd":
	default:
		return nil, ferr("serial.parity", "%q must be none, even or odd", s.Parity)
	}
	if s.StopBits != 0 && s.StopBits != 1 && s.StopBits != 2 {
		return nil, ferr("serial.stop_bits", "%d must be 1 or 2", s.StopBits)
	}
	c := &compiled{name: p.Name}
	var err error
	if c.init, err = parseHexField("init", p.Init); err != nil {
		return nil, err
	}
	if c.accepted, err = parseHexField("feedback.accepted", p.Feedback.Accepted); err != nil {
		return nil, err
	}
	if c.refused, err = parseHexField("feedback.refused", p.Feedback.Refused); err != nil {
		return nil, err
	}
	if len(p.Frames) == 0 {
		return nil, ferr("frames", "at least one frame format is needed")
	}
	for i := range p.Frames {
		f, err := compileFormat(i, &p.Frames[i])
		if err != nil {
			return nil, err
		}
		c.formats = append(c.formats, f)
		if f.framing == FramingLine {
			if c.line != nil {
				return nil, ferr(fmt.Sprintf("frames[%d].framing", i), "only one line format is allowed per profile (frames[%d] is one)", c.line.index)
			}
			c.line = f
		} else {
			c.starters = append(c.starters, f)
		}
	}
	if c.line != nil {
		for _, f := range c.starters {
			if f.start[0] == '\r' || f.start[0] == '\n' {
				return nil, ferr(fmt.Sprintf("frames[%d].start", f.index), "may not begin with CR or LF in a profile with a line format")
			}
		}
	}
	return c, nil
}

func parseHexField(field, s string) ([]byte, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	b, err := parseHexBytes(s)
	if err != nil {
		return nil, ferr(field, "%v", err)
	}
	if len(b) > 256 {
		return nil, ferr(field, "%d bytes is more than 256", len(b))
	}
	return b, nil
}

func compileFormat(i int, ff *FrameFormat) (*format, error) {
	field := func(name string) string { return fmt.Sprintf("frames[%d].%s", i, name) }
	f := &format{index: i, framing: ff.Framing, encoding: ff.Encoding}
	var err error
	if f.start, err = parseHexField(field("start"), ff.Start); err != nil {
		return nil, err
	}
	if f.end, err = parseHexField(field("end"), ff.End); err != nil {
		return nil, err
	}
	switch ff.Encoding {
	case EncodingHex, EncodingText, EncodingBinary:
	default:
		return nil, ferr(field("encoding"), "%q must be hex, binary or text", ff.Encoding)
	}
	known := 0 // number of decoded bytes when it is fixed, for offset checks
	switch ff.Framing {
	case FramingSTXETX:
		if len(f.start) == 0 || len(f.end) == 0 {
			return nil, ferr(field(ifThen(len(f.start) == 0, "start", "end")), "a stx-etx frame needs start and end bytes")
		}
		if len(f.start) > 8 || len(f.end) > 8 {
			return nil, ferr(field(ifThen(len(f.start) > 8, "start", "end")), "at most 8 bytes")
		}
		if f.start[0] == f.end[0] {
			return nil, ferr(field("end"), "must not begin with the start byte")
		}
		if ff.Encoding == EncodingBinary {
			return nil, ferr(field("encoding"), "binary content needs fixed framing (a stx-etx frame's content is ASCII)")
		}
		if ff.Length != 0 {
			return nil, ferr(field("length"), "applies to fixed framing only")
		}
	case FramingFixed:
		if len(f.start) == 0 {
			return nil, ferr(field("start"), "a fixed frame needs start bytes")
		}
		if ff.Encoding != EncodingBinary {
			return nil, ferr(field("encoding"), "a fixed frame's encoding must be binary")
		}
		if ff.Length < len(f.start)+len(f.end)+1 || ff.Length > maxFrameBytes {
			return nil, ferr(field("length"), "%d must be between %d and %d", ff.Length, len(f.start)+len(f.end)+1, maxFrameBytes)
		}
		if ff.MaxLength != 0 {
			return nil, ferr(field("max_length"), "does not apply to fixed framing (length does)")
		}
		f.length = ff.Length
		known = ff.Length
	case FramingLine:
		if len(f.start) != 0 || len(f.end) != 0 {
			return nil, ferr(field(ifThen(len(f.start) != 0, "start", "end")), "does not apply to line framing (lines end with CR, LF or CRLF)")
		}
		if ff.Encoding == EncodingBinary {
			return nil, ferr(field("encoding"), "a line's encoding must be hex or text")
		}
		if ff.Length != 0 {
			return nil, ferr(field("length"), "applies to fixed framing only")
		}
	default:
		return nil, ferr(field("framing"), "%q must be stx-etx, fixed or line", ff.Framing)
	}
	if ff.Framing != FramingFixed {
		if ff.MaxLength < 1 || ff.MaxLength > maxFrameBytes {
			return nil, ferr(field("max_length"), "%d must be between 1 and %d", ff.MaxLength, maxFrameBytes)
		}
		f.maxLength = ff.MaxLength
	}

	// Content rules.
	if ff.Pattern != "" {
		if ff.Encoding == EncodingBinary {
			return nil, ferr(field("pattern"), "applies to hex and text only")
		}
		re, err := regexp.Compile(ff.Pattern)
		if err != nil {
			return nil, ferr(field("pattern"), "%v", err)
		}
		if re.NumSubexp() < 1 {
			return nil, ferr(field("pattern"), "needs a group holding the badge, (?P<id>...)")
		}
		f.pattern = re
		f.idGroup = 1
		if g := re.SubexpIndex("id"); g > 0 {
			f.idGroup = g
		}
	}
	switch ff.Unmatched {
	case "", "reject":
	case "ignore":
		f.ignoreUnmatched = true
	default:
		return nil, ferr(field("unmatched"), "%q must be reject or ignore", ff.Unmatched)
	}
	if ff.Unmatched != "" && f.pattern == nil {
		return nil, ferr(field("unmatched"), "applies only with a pattern")
	}
	if ff.Separators != "" {
		if ff.Encoding != EncodingHex {
			return nil, ferr(field("separators"), "applies to hex only")
		}
		if strings.ContainsAny(ff.Separators, "0123456789abcdefABCDEF") {
			return nil, ferr(field("separators"), "%q may not contain hex digits", ff.Separators)
		}
		f.separators = ff.Separators
	}
	if ff.NumberBytes != 0 {
		if ff.Encoding != EncodingHex {
			return nil, ferr(field("number_bytes"), "applies to hex only")
		}
		if ff.NumberBytes < 0 || ff.NumberBytes > 16 {
			return nil, ferr(field("number_bytes"), "%d must be between 1 and 16", ff.NumberBytes)
		}
		f.numberBytes = ff.NumberBytes
	}
	if ff.MinBytes != 0 || ff.MaxBytes != 0 {
		if ff.Encoding != EncodingHex {
			return nil, ferr(field(ifThen(ff.MinBytes != 0, "min_bytes", "max_bytes")), "applies to hex only")
		}
		if ff.MinBytes < 0 {
			return nil, ferr(field("min_bytes"), "%d must not be negative", ff.MinBytes)
		}
		if ff.MaxBytes < 0 || (ff.MaxBytes != 0 && ff.MaxBytes < ff.MinBytes) {
			return nil, ferr(field("max_bytes"), "%d must be 0 (no bound) or at least min_bytes (%d)", ff.MaxBytes, ff.MinBytes)
		}
		f.minBytes, f.maxBytes = ff.MinBytes, ff.MaxBytes
		if ff.MaxBytes > 0 && ff.MaxBytes == ff.MinBytes {
			known = ff.MaxBytes
		}
	}
	if ff.Encoding == EncodingHex && f.maxBytes > 0 && f.pattern == nil && f.separators == "" && f.numberBytes == 0 && 2*f.minBytes > f.maxLength {
		return nil, ferr(field("max_length"), "%d characters cannot hold min_bytes (%d) in hex", f.maxLength, f.minBytes)
	}

	// Checksum.
	ck := ff.Checksum
	switch ck.Kind {
	case "", ChecksumNone:
		if ck.From != 0 || ck.To != 0 || ck.At != 0 {
			return nil, ferr(field("checksum.kind"), "is none but from/to/at are set")
		}
	case ChecksumXOR:
		if ff.Encoding == EncodingText {
			return nil, ferr(field("checksum.kind"), "text content has no checksum bytes")
		}
		if ck.From < 0 || ck.To < ck.From {
			return nil, ferr(field("checksum.to"), "range %d..%d is empty or negative", ck.From, ck.To)
		}
		if ck.At < 0 || (ck.At >= ck.From && ck.At <= ck.To) {
			return nil, ferr(field("checksum.at"), "%d must be a byte outside %d..%d", ck.At, ck.From, ck.To)
		}
		if known > 0 && (ck.To >= known || ck.At >= known) {
			return nil, ferr(field(ifThen(ck.To >= known, "checksum.to", "checksum.at")), "is past the frame's %d decoded bytes", known)
		}
		f.xor, f.from, f.to, f.at = true, ck.From, ck.To, ck.At
	default:
		return nil, ferr(field("checksum.kind"), "%q must be none or xor", ck.Kind)
	}

	// Badge.
	b := ff.Badge
	if b.Offset < 0 || b.Length < 0 {
		return nil, ferr(field(ifThen(b.Offset < 0, "badge.offset", "badge.length")), "must not be negative")
	}
	if ff.Encoding == EncodingText {
		if b.Offset != 0 || b.Length != 0 {
			return nil, ferr(field("badge.offset"), "applies to hex and binary only (use pattern for text)")
		}
		switch b.Case {
		case "", "upper":
		case "keep":
			f.keepCase = true
		default:
			return nil, ferr(field("badge.case"), "%q must be upper or keep", b.Case)
		}
	} else {
		if b.Case != "" {
			return nil, ferr(field("badge.case"), "applies to text only (hex badges are always uppercase)")
		}
		if known > 0 && (b.Offset >= known || b.Offset+b.Length > known) {
			return nil, ferr(field("badge.length"), "bytes %d..%d are past the frame's %d decoded bytes", b.Offset, b.Offset+b.Length-1, known)
		}
	}
	f.badgeOffset, f.badgeLength = b.Offset, b.Length
	return f, nil
}

func ifThen(cond bool, a, b string) string {
	if cond {
		return a
	}
	return b
}

// MaxBadgeLen caps a badge id's length, as the wire contract does (1 to 64
// printable ASCII characters without spaces).
const MaxBadgeLen = 64

// Reject reasons (Frame.Reject begins with one of them).
const (
	RejectNoise       = "noise"         // bytes outside any frame
	RejectPartial     = "partial frame" // a frame cut short (silence or a new start byte)
	RejectTooLong     = "too long"      // content over max_length
	RejectBadEnd      = "bad end byte"  // a fixed frame without its end byte
	RejectChecksum    = "bad checksum"  // checksum mismatch
	RejectNotHex      = "not hex"       // hex content with other characters
	RejectLength      = "bad length"    // wrong number of decoded bytes
	RejectUnprintable = "non-printable" // control or non-ASCII bytes in text
	RejectNoID        = "no badge id"   // content the pattern does not match
	RejectEmpty       = "empty frame"   // a stx-etx frame with no content
)

// decode turns a complete frame's bytes into a badge. For fixed frames data is the
// whole frame; otherwise it is the content between start and end bytes (or the line
// without its terminator). ignored reports content to drop silently (empty lines,
// banner lines under unmatched: ignore).
func (f *format) decode(data []byte) (badge, reject string, ignored bool) {
	var raw []byte
	switch f.encoding {
	case EncodingBinary:
		raw = data
	case EncodingText, EncodingHex:
		for _, c := range data {
			if (c < 0x20 || c > 0x7e) && c != '\t' {
				return "", fmt.Sprintf("%s: byte %02X", RejectUnprintable, c), false
			}
		}
		s := string(data)
		if strings.TrimSpace(s) == "" {
			if f.framing == FramingLine {
				return "", "", true
			}
			return "", RejectEmpty, false
		}
		if f.pattern != nil {
			m := f.pattern.FindStringSubmatch(s)
			if m == nil {
				if f.ignoreUnmatched {
					return "", "", true
				}
				return "", RejectNoID, false
			}
			s = m[f.idGroup]
		}
		s = strings.TrimSpace(s)
		if f.encoding == EncodingText {
			if s == "" {
				return "", RejectEmpty, false
			}
			if strings.ContainsAny(s, " \t") {
				// The wire contract allows printable characters without spaces.
				return "", RejectUnprintable + ": space in the badge", false
			}
			if len(s) > MaxBadgeLen {
				return "", fmt.Sprintf("%s: badge over %d characters", RejectLength, MaxBadgeLen), false
			}
			if !f.keepCase {
				s = strings.ToUpper(s)
			}
			return s, "", false
		}
		digits, ok := f.hexDigits(s)
		if !ok {
			return "", fmt.Sprintf("%s: %q", RejectNotHex, clip(s)), false
		}
		if f.numberBytes > 0 {
			if len(digits)%2 == 1 {
				digits = "0" + digits
			}
			if pad := 2*f.numberBytes - len(digits); pad > 0 {
				digits = strings.Repeat("0", pad) + digits
			}
		} else if len(digits)%2 == 1 {
			return "", fmt.Sprintf("%s: odd number of hex digits (%d)", RejectNotHex, len(digits)), false
		}
		var err error
		if raw, err = hex.DecodeString(digits); err != nil {
			return "", fmt.Sprintf("%s: %q", RejectNotHex, clip(s)), false
		}
	}
	if len(raw) == 0 || len(raw) < f.minBytes || (f.maxBytes > 0 && len(raw) > f.maxBytes) {
		return "", fmt.Sprintf("%s: %d bytes", RejectLength, len(raw)), false
	}
	if f.xor {
		if f.to >= len(raw) || f.at >= len(raw) {
			return "", fmt.Sprintf("%s: %d bytes, too short for the checksum", RejectLength, len(raw)), false
		}
		var x byte
		for _, c := range raw[f.from : f.to+1] {
			x ^= c
		}
		if x != raw[f.at] {
			return "", fmt.Sprintf("%s: got %02X, want %02X", RejectChecksum, raw[f.at], x), false
		}
	}
	end := len(raw)
	if f.badgeLength > 0 {
		end = f.badgeOffset + f.badgeLength
	}
	if f.badgeOffset >= len(raw) || end > len(raw) || end <= f.badgeOffset {
		return "", fmt.Sprintf("%s: %d bytes, too short for the badge", RejectLength, len(raw)), false
	}
	if 2*(end-f.badgeOffset) > MaxBadgeLen {
		return "", fmt.Sprintf("%s: badge over %d characters", RejectLength, MaxBadgeLen), false
	}
	return strings.ToUpper(hex.EncodeToString(raw[f.badgeOffset:end])), "", false
}

// hexDigits strips separators and 0x prefixes and checks that only hex digits
// remain.
func (f *format) hexDigits(s string) (string, bool) {
	var groups []string
	if f.separators != "" {
		groups = strings.FieldsFunc(s, func(r rune) bool { return strings.ContainsRune(f.separators, r) })
	} else {
		groups = []string{s}
	}
	var sb strings.Builder
	for _, g := range groups {
		if len(g) > 2 && (g[:2] == "0x" || g[:2] == "0X") {
			g = g[2:]
		}
		for i := 0; i < len(g); i++ {
			c := g[i]
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return "", false
			}
		}
		sb.WriteString(g)
	}
	if sb.Len() == 0 {
		return "", false
	}
	return sb.String(), true
}

func clip(s string) string {
	if len(s) > 24 {
		return s[:24] + "…"
	}
	return s
}

// maxBadgeLen is the longest badge the format can produce (for tests and docs).
func (f *format) maxBadgeLen() int {
	var n int
	switch f.encoding {
	case EncodingText:
		n = f.maxLength
	case EncodingBinary:
		n = 2 * f.length
	default:
		b := f.maxLength/2 + 1
		if f.numberBytes > b {
			b = f.numberBytes
		}
		if f.maxBytes > 0 && f.maxBytes < b {
			b = f.maxBytes
		}
		n = 2 * b
	}
	return min(n, MaxBadgeLen)
}
