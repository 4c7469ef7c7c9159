// Package strictjson decodes one JSON object the way every input of the
// hub is read (docs/DESIGN.md §15): with encoding/json, refusing unknown fields,
// wrong types and trailing data, and then refusing what two JSON parsers
// could read differently: a duplicate key (encoding/json keeps the last,
// others the first), a key that is not lowercase snake_case (encoding/json
// matches keys without regard to case, so "SEQ" and "ſeq" would be read as
// seq), and null where a value is required (encoding/json leaves the field
// as it was). MQTT payloads (internal/wire) and API bodies (hub/api) share
// it, so a rule added here holds on both paths.
package strictjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"unicode/utf8"
)

// Reasons an object is refused; internal/wire uses the same codes.
const (
	ReasonBadEncoding  = "bad_encoding"
	ReasonBadJSON      = "bad_json"
	ReasonUnknownField = "unknown_field"
	ReasonBadField     = "bad_field"
)

// Error is a refused object.
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

func fieldErr(reason, field, format string, args ...any) *Error {
	return &Error{Reason: reason, Field: field, Msg: fmt.Sprintf(format, args...)}
}

// Decode decodes data, one JSON object (surrounding white space allowed),
// into dst. Only the keys in nullable may be null. The error is an *Error.
func Decode(data []byte, dst any, nullable map[string]bool) error {
	if !utf8.Valid(data) {
		return &Error{Reason: ReasonBadEncoding, Msg: "not valid UTF-8"}
	}
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return &Error{Reason: ReasonBadJSON, Msg: "not a JSON object"}
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		var typeErr *json.UnmarshalTypeError
		switch {
		case errors.As(err, &typeErr):
			return fieldErr(ReasonBadField, typeErr.Field, "wrong type: got JSON %s, want %s", typeErr.Value, jsonType(typeErr.Type))
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
	return checkObject(trimmed, nullable)
}

// checkObject walks an object that encoding/json has decoded. The walk
// goes no deeper than dst's type does: encoding/json has already refused
// anything else as a wrong type.
func checkObject(data []byte, nullable map[string]bool) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber() // numbers are not parsed: encoding/json has checked them
	if err := checkValue(dec, "", nullable); err != nil {
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
func checkValue(dec *json.Decoder, key string, nullable map[string]bool) error {
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
			if err := checkValue(dec, elem, nullable); err != nil {
				return err
			}
		}
		_, err := dec.Token() // the closing delimiter
		return err
	}
	return nil
}

// snakeKey reports whether key is lowercase snake_case ASCII, as every
// key of the contracts is.
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

func clip(s string) string {
	if len(s) > 32 {
		return s[:32] + "…"
	}
	return s
}

// jsonType names what a Go type reads from JSON, for a message read by the
// sender: "string" for wire.Dir as for string, not the Go type's name.
func jsonType(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "integer"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Slice, reflect.Array:
		return "array"
	case reflect.Map, reflect.Struct:
		return "object"
	case reflect.Pointer:
		return jsonType(t.Elem())
	}
	return t.String()
}
