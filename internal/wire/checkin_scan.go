package wire

import "math"

// This file is DecodeCheckIn's fast path. encoding/json with reflection
// costs about 10 µs per check-in, and the hub must ingest tens of thousands
// a second, so the canonical payload agents write (Encode of a CheckIn) is
// read by the small scanner below instead.
//
// The scanner only has to be right when it says ok: on anything it does not
// fully understand it gives up, and DecodeCheckIn takes the general path,
// which makes the decision and writes the error. It accepts exactly:
//
//   - at most MaxPayload bytes, all ASCII (so the payload is valid UTF-8);
//   - JSON whitespace (space, tab, CR, LF), a flat object, JSON whitespace;
//   - keys spelt exactly as CheckIn's JSON names, each at most once
//     (encoding/json also matches keys case-insensitively and lets the last
//     of duplicate keys win);
//   - string values of printable ASCII without escapes, for string fields;
//   - v and seq as plain non-negative integers that fit their Go type
//     (no sign, fraction, exponent or leading zero).
//
// null, true, false, arrays, nested objects and numbers given for string
// fields (or strings for numbers) all make it give up.

// checkInFields is a set of CheckIn fields, one bit per field, recording
// which a payload carried.
type checkInFields uint16

const (
	fieldV checkInFields = 1 << iota
	fieldID
	fieldSite
	fieldDevice
	fieldEpoch
	fieldReader
	fieldSeq
	fieldBadge
	fieldService
	fieldDir
	fieldAt
)

// checkInFieldNamed returns the field whose JSON name is exactly key, or 0.
func checkInFieldNamed(key []byte) checkInFields {
	switch string(key) { // the compiler does not allocate for this conversion
	case "v":
		return fieldV
	case "id":
		return fieldID
	case "site":
		return fieldSite
	case "device":
		return fieldDevice
	case "epoch":
		return fieldEpoch
	case "reader":
		return fieldReader
	case "seq":
		return fieldSeq
	case "badge":
		return fieldBadge
	case "service":
		return fieldService
	case "dir":
		return fieldDir
	case "at":
		return fieldAt
	}
	return 0
}

// scanCheckIn reads a canonical CheckIn payload. ok is false when p is not
// one; c and seen are then meaningless.
func scanCheckIn(p []byte) (c CheckIn, seen checkInFields, ok bool) {
	if len(p) > MaxPayload {
		return CheckIn{}, 0, false
	}
	s := scanner{p: p}
	s.skipSpace()
	if !s.consume('{') {
		return CheckIn{}, 0, false
	}
	s.skipSpace()
	if !s.consume('}') {
		for {
			key, ok := s.plainString()
			if !ok {
				return CheckIn{}, 0, false
			}
			f := checkInFieldNamed(key)
			if f == 0 || seen&f != 0 {
				return CheckIn{}, 0, false
			}
			seen |= f
			s.skipSpace()
			if !s.consume(':') {
				return CheckIn{}, 0, false
			}
			s.skipSpace()
			if !s.value(&c, f) {
				return CheckIn{}, 0, false
			}
			s.skipSpace()
			if s.consume('}') {
				break
			}
			if !s.consume(',') {
				return CheckIn{}, 0, false
			}
			s.skipSpace()
		}
	}
	s.skipSpace()
	if s.i != len(s.p) {
		return CheckIn{}, 0, false
	}
	return c, seen, true
}

// scanner is a read position in a payload.
type scanner struct {
	p []byte
	i int
}

// skipSpace skips JSON whitespace. Other Unicode spaces (which
// decodeStrict's bytes.TrimSpace would strip around the object) are left
// for the general path.
func (s *scanner) skipSpace() {
	for s.i < len(s.p) {
		switch s.p[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// consume skips c if it is the next byte, and reports whether it was.
func (s *scanner) consume(c byte) bool {
	if s.i < len(s.p) && s.p[s.i] == c {
		s.i++
		return true
	}
	return false
}

// value reads the value of field f into c. Every string field is filled
// from a plain string; v and seq from a plain integer in range.
func (s *scanner) value(c *CheckIn, f checkInFields) bool {
	switch f {
	case fieldV:
		n, ok := s.plainUint()
		if !ok || n > math.MaxInt {
			return false
		}
		c.V = int(n)
		return true
	case fieldSeq:
		n, ok := s.plainUint()
		c.Seq = n
		return ok
	}
	b, ok := s.plainString()
	if !ok {
		return false
	}
	switch f {
	case fieldID:
		c.ID = string(b)
	case fieldSite:
		c.Site = string(b)
	case fieldDevice:
		c.Device = string(b)
	case fieldEpoch:
		c.Epoch = string(b)
	case fieldReader:
		c.Reader = string(b)
	case fieldBadge:
		c.Badge = string(b)
	case fieldService:
		c.Service = internService(b)
	case fieldDir:
		c.Dir = internDir(b)
	case fieldAt:
		c.At = string(b)
	}
	return true
}

// plainString reads a JSON string made only of printable ASCII without
// escapes, whose bytes are therefore its value, and returns those bytes.
func (s *scanner) plainString() ([]byte, bool) {
	if !s.consume('"') {
		return nil, false
	}
	start := s.i
	for s.i < len(s.p) {
		c := s.p[s.i]
		switch {
		case c == '"':
			s.i++
			return s.p[start : s.i-1], true
		case c < 0x20 || c > 0x7e || c == '\\':
			return nil, false
		}
		s.i++
	}
	return nil, false
}

// plainUint reads digits as a uint64, failing on overflow. It stops after a
// leading 0, so that "01", like "1.5" or "1e3", leaves a byte the caller
// refuses (it wants whitespace, ',' or '}' after a value).
func (s *scanner) plainUint() (uint64, bool) {
	start := s.i
	var n uint64
	for s.i < len(s.p) && '0' <= s.p[s.i] && s.p[s.i] <= '9' {
		d := uint64(s.p[s.i] - '0')
		if n > (math.MaxUint64-d)/10 {
			return 0, false
		}
		n = n*10 + d
		s.i++
		if n == 0 {
			break
		}
	}
	return n, s.i > start
}

// internService returns the constant for a known service, to save an
// allocation on nearly every check-in, and a copy of b otherwise.
func internService(b []byte) Service {
	switch Service(b) {
	case ServiceCanteen:
		return ServiceCanteen
	case ServiceGarderie:
		return ServiceGarderie
	case ServiceStaff:
		return ServiceStaff
	}
	return Service(b)
}

// internDir is internService for directions.
func internDir(b []byte) Dir {
	switch Dir(b) {
	case DirIn:
		return DirIn
	case DirOut:
		return DirOut
	case DirAuto:
		return DirAuto
	}
	return Dir(b)
}
