package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"
)

// Version is the payload version this package speaks ("v":1).
const Version = 1

// MaxPayload is the largest payload accepted on any pointage topic.
const MaxPayload = 4096

// AtLayout is the layout agents use for every time they write: RFC 3339 with
// exactly milliseconds and the offset of the device's zone.
const AtLayout = "2006-01-02T15:04:05.000Z07:00"

// Services a check-in can belong to.
const (
	ServiceCanteen  = "canteen"
	ServiceGarderie = "garderie"
	ServiceStaff    = "staff"
)

// Directions of a check-in; DirAuto lets the hub decide.
const (
	DirIn   = "in"
	DirOut  = "out"
	DirAuto = "auto"
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

// ValidService reports whether s is one of the three services.
func ValidService(s string) bool {
	return s == ServiceCanteen || s == ServiceGarderie || s == ServiceStaff
}

// ValidDir reports whether s is in, out or auto.
func ValidDir(s string) bool { return s == DirIn || s == DirOut || s == DirAuto }

// Reasons a payload or topic is refused. They are stable: the hub uses them
// as metric labels and in its rejected-messages table.
const (
	ReasonTooLarge      = "too_large"
	ReasonBadEncoding   = "bad_encoding"
	ReasonBadJSON       = "bad_json"
	ReasonUnknownField  = "unknown_field"
	ReasonMissingField  = "missing_field"
	ReasonBadVersion    = "bad_version"
	ReasonBadField      = "bad_field"
	ReasonBadTopic      = "bad_topic"
	ReasonTopicMismatch = "topic_mismatch"
)

// Error is a refused topic or payload.
type Error struct {
	Reason string // one of the Reason constants
	Field  string // the JSON field at fault, if any
	Msg    string
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: field %q: %s", e.Reason, e.Field, e.Msg)
	}
	return e.Reason + ": " + e.Msg
}

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

// decodeStrict decodes one JSON object into dst, refusing oversized or
// non-UTF-8 payloads, unknown fields, wrong types and trailing data.
func decodeStrict(payload []byte, dst any) error {
	if len(payload) > MaxPayload {
		return &Error{Reason: ReasonTooLarge, Msg: fmt.Sprintf("payload is %d bytes, the limit is %d", len(payload), MaxPayload)}
	}
	if !utf8.Valid(payload) {
		return &Error{Reason: ReasonBadEncoding, Msg: "payload is not valid UTF-8"}
	}
	trimmed := bytes.TrimSpace(payload)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return &Error{Reason: ReasonBadJSON, Msg: "payload is not a JSON object"}
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		var typeErr *json.UnmarshalTypeError
		switch {
		case errors.As(err, &typeErr):
			return fieldErr(ReasonBadField, typeErr.Field, "wrong type: got JSON %s, want %s", typeErr.Value, typeErr.Type)
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
			return fieldErr(ReasonUnknownField, name, "unknown field")
		default:
			return &Error{Reason: ReasonBadJSON, Msg: err.Error()}
		}
	}
	if _, err := dec.Token(); err != io.EOF {
		return &Error{Reason: ReasonBadJSON, Msg: "trailing data after the JSON object"}
	}
	// encoding/json has read it; now what it lets through.
	return checkObject(trimmed)
}

// MaxSeq is the largest sequence number accepted (2^53-1): above it a
// JavaScript or JSON reader that keeps numbers as doubles (the dashboard,
// Telegraf, a spreadsheet) would read another number than the hub.
const MaxSeq = 1<<53 - 1

// nullable are the only keys whose value may be null: a time not known,
// and a Status's readers (null and [] both mean none, for every parser).
var nullable = map[string]bool{"oldest_pending_at": true, "last_scan_at": true, "readers": true}

// checkObject walks a JSON object that encoding/json has decoded, and
// refuses what two JSON parsers could read differently (DESIGN §15):
// a duplicate key (encoding/json keeps the last, others the first), a key
// that is not lowercase snake_case (encoding/json matches keys without
// regard to case, so "SEQ" and "ſeq" would be read as seq), null where a
// value is required (encoding/json leaves the field as it was). The walk
// goes no deeper than the message types do (a Status's readers, 3 levels):
// encoding/json has already refused anything else as a wrong type.
func checkObject(payload []byte) error {
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber() // numbers are not parsed: encoding/json has checked them
	if err := checkValue(dec, ""); err != nil {
		var e *Error
		if errors.As(err, &e) {
			return e
		}
		return &Error{Reason: ReasonBadJSON, Msg: err.Error()}
	}
	return nil
}

// checkValue reads one JSON value from dec, the value of key ("" for an
// array's element).
func checkValue(dec *json.Decoder, key string) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch tok {
	case nil:
		if key != "" && !nullable[key] {
			return fieldErr(ReasonBadField, key, "null is not a value here: leave the field out or give a value")
		}
	case json.Delim('{'), json.Delim('['):
		seen := map[string]bool{}
		for dec.More() {
			elem := ""
			if tok == json.Delim('{') {
				k, err := dec.Token()
				if err != nil {
					return err
				}
				elem, _ = k.(string)
				if !snakeKey(elem) {
					return fieldErr(ReasonUnknownField, clip(elem), "unknown field (keys are lowercase, like \"seq\")")
				}
				if seen[elem] {
					return fieldErr(ReasonBadJSON, elem, "duplicate key: each field is given once")
				}
				seen[elem] = true
			}
			if err := checkValue(dec, elem); err != nil {
				return err
			}
		}
		_, err := dec.Token() // the closing delimiter
		return err
	}
	return nil
}

// snakeKey reports whether key is lowercase snake_case ASCII, as every
// key of the contract is.
func snakeKey(key string) bool {
	if key == "" {
		return false
	}
	for i := 0; i < len(key); i++ {
		if c := key[i]; !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

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
