package wire

import (
	"errors"
	"fmt"
	"time"

	"pointage/internal/strictjson"
)

// Version is the payload version this package speaks ("v":1).
const Version = 1

// MaxPayload is the largest payload accepted on any pointage topic.
const MaxPayload = 4096

// AtLayout is the layout agents use for every time they write: RFC 3339 with
// exactly milliseconds and the offset of the device's zone.
const AtLayout = "2006-01-02T15:04:05.000Z07:00"

// Service is what a check-in is for: the canteen, the garderie (before
// and after school) or staff time.
type Service string

// Services a check-in can belong to.
const (
	ServiceCanteen  Service = "canteen"
	ServiceGarderie Service = "garderie"
	ServiceStaff    Service = "staff"
)

// Dir is a check-in's direction; DirAuto lets the hub decide.
type Dir string

// Directions of a check-in.
const (
	DirIn   Dir = "in"
	DirOut  Dir = "out"
	DirAuto Dir = "auto"
)

// Device states carried by Status.
const (
	StateOnline  = "online"
	StateOffline = "offline"
)

// CmdResend is the only command of version 1.
const CmdResend = "resend"

// The patterns identifiers must match, as regular expressions. They are
// shown in error messages; the checks themselves are the byte loops below,
// which accept exactly the strings these patterns match: a regexp match
// cost most of a microsecond per field, too much for the hub's ingest rate.
const (
	siteDevicePattern = `^[a-z0-9][a-z0-9-]{0,62}$`
	// Event ids and epochs: ULIDs in practice; any short token is accepted.
	tokenPattern = `^[0-9A-Za-z_-]{1,64}$`
	// Reader names are InfluxDB tag values: short, no spaces.
	readerPattern = `^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`
	// Badges: canonical uppercase hex for RFID profiles, printable text
	// without spaces for barcodes.
	badgePattern = `^[\x21-\x7e]{1,64}$`
)

// ValidSiteOrDevice reports whether s is a valid site or device id
// (siteDevicePattern).
func ValidSiteOrDevice(s string) bool {
	if len(s) == 0 || len(s) > 63 || s[0] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isLowerOrDigit(c) && c != '-' {
			return false
		}
	}
	return true
}

// ValidReaderName reports whether s may name a reader (readerPattern).
func ValidReaderName(s string) bool {
	if len(s) == 0 || len(s) > 64 || !isAlnum(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !isAlnum(c) && c != '_' && c != '.' && c != '-' {
			return false
		}
	}
	return true
}

// ValidBadge reports whether s is an acceptable badge id on the wire
// (badgePattern).
func ValidBadge(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x21 || c > 0x7e {
			return false
		}
	}
	return true
}

// validToken reports whether s is an event id or epoch (tokenPattern).
func validToken(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isAlnum(c) && c != '_' && c != '-' {
			return false
		}
	}
	return true
}

// Every pattern is ASCII-only, so testing bytes is testing characters: a
// byte of a multi-byte (or invalid) UTF-8 sequence is never accepted.

func isLowerOrDigit(c byte) bool { return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' }

func isAlnum(c byte) bool { return isLowerOrDigit(c) || 'A' <= c && c <= 'Z' }

// Valid reports whether s is one of the three services.
func (s Service) Valid() bool {
	return s == ServiceCanteen || s == ServiceGarderie || s == ServiceStaff
}

// Valid reports whether d is in, out or auto.
func (d Dir) Valid() bool { return d == DirIn || d == DirOut || d == DirAuto }

// Reasons a payload or topic is refused. They are stable: the hub uses them
// as metric labels and in its rejected-messages table.
const (
	ReasonTooLarge      = "too_large"
	ReasonBadEncoding   = strictjson.ReasonBadEncoding
	ReasonBadJSON       = strictjson.ReasonBadJSON
	ReasonUnknownField  = strictjson.ReasonUnknownField
	ReasonMissingField  = "missing_field"
	ReasonBadVersion    = "bad_version"
	ReasonBadField      = strictjson.ReasonBadField
	ReasonBadTopic      = "bad_topic"
	ReasonTopicMismatch = "topic_mismatch"
)

// Error is a refused topic or payload: Reason (one of the Reason
// constants), the JSON Field at fault if any, and Msg. It is strictjson's,
// so a payload strictjson refuses is returned as it is.
type Error = strictjson.Error

// ReasonOf returns the Reason of err if it is (or wraps) an *Error, and
// "invalid" otherwise.
func ReasonOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return "invalid"
}

func fieldErr(reason, field, format string, args ...any) *Error {
	return &Error{Reason: reason, Field: field, Msg: fmt.Sprintf(format, args...)}
}

// decodeStrict decodes one JSON object into dst, refusing oversized
// payloads and whatever strictjson refuses (non-UTF-8, unknown fields,
// wrong types, trailing data, duplicate keys, keys not in snake_case, null
// outside nullable).
func decodeStrict(payload []byte, dst any) error {
	if len(payload) > MaxPayload {
		return &Error{Reason: ReasonTooLarge, Msg: fmt.Sprintf("payload is %d bytes, the limit is %d", len(payload), MaxPayload)}
	}
	return strictjson.Decode(payload, dst, nullable)
}

// MaxSeq is the largest sequence number accepted (2^53-1): above it a
// JavaScript or JSON reader that keeps numbers as doubles (the dashboard,
// Telegraf, a spreadsheet) would read another number than the hub.
const MaxSeq = 1<<53 - 1

// nullable are the only keys whose value may be null: a time not known,
// and a Status's readers (null and [] both mean none, for every parser).
var nullable = map[string]bool{"oldest_pending_at": true, "last_scan_at": true, "readers": true}

// ParseTime parses an RFC 3339 time that carries an offset or Z.
func ParseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("not an RFC 3339 time with an offset (like 2026-11-28T11:32:05.123+11:00): %q", s)
	}
	return t, nil
}

// FormatTime writes t in AtLayout, keeping t's zone.
func FormatTime(t time.Time) string { return t.Format(AtLayout) }

func checkVersion(v *int) error {
	if v == nil {
		return fieldErr(ReasonMissingField, "v", "required")
	}
	if *v != Version {
		return fieldErr(ReasonBadVersion, "v", "version %d is not supported (this hub speaks %d)", *v, Version)
	}
	return nil
}

func checkSiteDevice(site, device string) error {
	if !ValidSiteOrDevice(site) {
		return fieldErr(ReasonBadField, "site", "must match %s", siteDevicePattern)
	}
	if !ValidSiteOrDevice(device) {
		return fieldErr(ReasonBadField, "device", "must match %s", siteDevicePattern)
	}
	return nil
}

func checkEpoch(epoch string) error {
	if epoch != "" && !validToken(epoch) {
		return fieldErr(ReasonBadField, "epoch", "must be at most 64 letters, digits, '-' or '_'")
	}
	return nil
}
