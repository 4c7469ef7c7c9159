package wire

import (
	"strings"
	"testing"
)

const validCheckIn = `{"v":1,"id":"01JDQ3ZC8M6X3W5R2Y7T9K4B1N","site":"jules-ferry","device":"jf-cantine-1",` +
	`"epoch":"01JDQ3Y0000000000000000000","reader":"entree","seq":42,"badge":"0A00BC614E",` +
	`"service":"canteen","dir":"auto","at":"2026-11-28T11:32:05.123+11:00"}`

func replace(old, new string) string { return strings.Replace(validCheckIn, old, new, 1) }

func TestDecodeCheckIn(t *testing.T) {
	tests := []struct {
		name    string
		payload string
		reason  string // "" = valid
		field   string
	}{
		{name: "contract example", payload: validCheckIn},
		{name: "epoch absent", payload: replace(`"epoch":"01JDQ3Y0000000000000000000",`, "")},
		{name: "utc time", payload: replace(`2026-11-28T11:32:05.123+11:00`, `2026-11-28T00:32:05Z`)},
		{name: "nanosecond time", payload: replace(`11:32:05.123+11:00`, `11:32:05.123456789+11:00`)},
		{name: "surrounding whitespace", payload: "\n " + validCheckIn + " \n"},
		{name: "empty", payload: "", reason: ReasonBadJSON},
		{name: "array", payload: "[1,2]", reason: ReasonBadJSON},
		{name: "not json", payload: "hello", reason: ReasonBadJSON},
		{name: "truncated", payload: validCheckIn[:50], reason: ReasonBadJSON},
		{name: "two objects", payload: validCheckIn + validCheckIn, reason: ReasonBadJSON},
		{name: "invalid utf8", payload: replace(`"entree"`, "\"entr\xff\""), reason: ReasonBadEncoding},
		{name: "too large", payload: replace(`"seq":42,`, `"seq":42,"pad":"`+strings.Repeat("x", MaxPayload)+`",`), reason: ReasonTooLarge},
		{name: "unknown field", payload: replace(`"seq":42,`, `"seq":42,"extra":1,`), reason: ReasonUnknownField, field: "extra"},
		{name: "version 2", payload: replace(`"v":1`, `"v":2`), reason: ReasonBadVersion, field: "v"},
		{name: "version missing", payload: replace(`"v":1,`, ``), reason: ReasonMissingField, field: "v"},
		{name: "version as string", payload: replace(`"v":1`, `"v":"1"`), reason: ReasonBadField, field: "v"},
		{name: "seq missing", payload: replace(`"seq":42,`, ``), reason: ReasonMissingField, field: "seq"},
		{name: "seq zero", payload: replace(`"seq":42`, `"seq":0`), reason: ReasonBadField, field: "seq"},
		{name: "seq negative", payload: replace(`"seq":42`, `"seq":-1`), reason: ReasonBadField, field: "seq"},
		{name: "seq fractional", payload: replace(`"seq":42`, `"seq":4.2`), reason: ReasonBadField, field: "seq"},
		{name: "seq string", payload: replace(`"seq":42`, `"seq":"42"`), reason: ReasonBadField, field: "seq"},
		{name: "seq overflow", payload: replace(`"seq":42`, `"seq":184467440737095516150`), reason: ReasonBadField, field: "seq"},
		{name: "site uppercase", payload: replace(`"site":"jules-ferry"`, `"site":"Jules-Ferry"`), reason: ReasonBadField, field: "site"},
		{name: "site wildcard", payload: replace(`"site":"jules-ferry"`, `"site":"+"`), reason: ReasonBadField, field: "site"},
		{name: "device too long", payload: replace(`"device":"jf-cantine-1"`, `"device":"`+strings.Repeat("a", 64)+`"`), reason: ReasonBadField, field: "device"},
		{name: "device leading dash", payload: replace(`"device":"jf-cantine-1"`, `"device":"-jf"`), reason: ReasonBadField, field: "device"},
		{name: "id empty", payload: replace(`"id":"01JDQ3ZC8M6X3W5R2Y7T9K4B1N"`, `"id":""`), reason: ReasonBadField, field: "id"},
		{name: "id with slash", payload: replace(`"id":"01JDQ3ZC8M6X3W5R2Y7T9K4B1N"`, `"id":"a/b"`), reason: ReasonBadField, field: "id"},
		{name: "epoch too long", payload: replace(`"epoch":"01JDQ3Y0000000000000000000"`, `"epoch":"`+strings.Repeat("E", 65)+`"`), reason: ReasonBadField, field: "epoch"},
		{name: "badge empty", payload: replace(`"badge":"0A00BC614E"`, `"badge":""`), reason: ReasonBadField, field: "badge"},
		{name: "badge with space", payload: replace(`"badge":"0A00BC614E"`, `"badge":"0A 00"`), reason: ReasonBadField, field: "badge"},
		{name: "badge number", payload: replace(`"badge":"0A00BC614E"`, `"badge":12`), reason: ReasonBadField, field: "badge"},
		{name: "unknown service", payload: replace(`"service":"canteen"`, `"service":"piscine"`), reason: ReasonBadField, field: "service"},
		{name: "seq above 2^53-1", payload: replace(`"seq":42`, `"seq":9007199254740992`), reason: ReasonBadField, field: "seq"},
		{name: "seq 42.5", payload: replace(`"seq":42`, `"seq":42.5`), reason: ReasonBadField, field: "seq"},
		{name: "seq 42.0", payload: replace(`"seq":42`, `"seq":42.0`), reason: ReasonBadField, field: "seq"},
		{name: "seq as a string", payload: replace(`"seq":42`, `"seq":"42"`), reason: ReasonBadField, field: "seq"},
		{name: "duplicate key", payload: replace(`"seq":42`, `"seq":1,"seq":2`), reason: ReasonBadJSON, field: "seq"},
		{name: "duplicate key, other case", payload: replace(`"seq":42`, `"seq":1,"Seq":2`), reason: ReasonUnknownField, field: "Seq"},
		{name: "key in another case", payload: replace(`"seq":42`, `"SEQ":42`), reason: ReasonUnknownField, field: "SEQ"},
		{name: "key with a long s (folds to s)", payload: replace(`"seq":42`, `"\u017feq":42`), reason: ReasonUnknownField},
		{name: "epoch null", payload: replace(`"epoch":"01JDQ3Y0000000000000000000"`, `"epoch":null`), reason: ReasonBadField, field: "epoch"},
		{name: "NUL byte in a value", payload: replace(`"reader":"entree"`, `"reader":"entr\u0000ee"`), reason: ReasonBadField, field: "reader"},
		{name: "raw NUL byte", payload: replace(`"reader":"entree"`, "\"reader\":\"entr\x00ee\""), reason: ReasonBadJSON},
		{name: "whitespace only", payload: " \t\r\n", reason: ReasonBadJSON},
		{name: "null", payload: `null`, reason: ReasonBadJSON},
		{name: "empty array", payload: `[]`, reason: ReasonBadJSON},
		{name: "service null", payload: replace(`"service":"canteen"`, `"service":null`), reason: ReasonBadField, field: "service"},
		{name: "bad dir", payload: replace(`"dir":"auto"`, `"dir":"sideways"`), reason: ReasonBadField, field: "dir"},
		{name: "time without offset", payload: replace(`2026-11-28T11:32:05.123+11:00`, `2026-11-28T11:32:05.123`), reason: ReasonBadField, field: "at"},
		{name: "time not a time", payload: replace(`2026-11-28T11:32:05.123+11:00`, `yesterday`), reason: ReasonBadField, field: "at"},
		{name: "reader empty", payload: replace(`"reader":"entree"`, `"reader":""`), reason: ReasonBadField, field: "reader"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := DecodeCheckIn([]byte(tt.payload))
			if tt.reason == "" {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				if c.Seq != 42 || c.Badge != "0A00BC614E" || c.Site != "jules-ferry" {
					t.Fatalf("decoded wrong values: %+v", c)
				}
				return
			}
			if err == nil {
				t.Fatalf("want %s, got valid %+v", tt.reason, c)
			}
			e, ok := err.(*Error)
			if !ok {
				t.Fatalf("error %v is %T, want *Error", err, err)
			}
			if e.Reason != tt.reason || (tt.field != "" && e.Field != tt.field) {
				t.Fatalf("got reason %q field %q (%v), want %q field %q", e.Reason, e.Field, err, tt.reason, tt.field)
			}
		})
	}
}

func TestCheckInRoundTrip(t *testing.T) {
	c, err := DecodeCheckIn([]byte(validCheckIn))
	if err != nil {
		t.Fatal(err)
	}
	b, err := Encode(c)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != validCheckIn {
		t.Fatalf("round trip changed the payload:\n got %s\nwant %s", b, validCheckIn)
	}
	if got := c.Time().UTC().Format(AtLayout); got != "2026-11-28T00:32:05.123Z" {
		t.Fatalf("Time() = %s", got)
	}
}

func TestTopics(t *testing.T) {
	if got := DeviceTopic("", "jules-ferry", "jf-cantine-1", KindCheckIn); got != "pointage/v1/jules-ferry/jf-cantine-1/checkin" {
		t.Fatalf("DeviceTopic = %q", got)
	}
	if got := Filter("", KindStatus); got != "pointage/v1/+/+/status" {
		t.Fatalf("Filter = %q", got)
	}
	tests := []struct {
		name, root, topic string
		ok                bool
	}{
		{"checkin", "", "pointage/v1/jules-ferry/jf-cantine-1/checkin", true},
		{"status custom root", "city", "city/v1/a/b/status", true},
		{"wrong root", "", "other/v1/a/b/status", false},
		{"wrong version", "", "pointage/v2/a/b/status", false},
		{"too short", "", "pointage/v1/a/status", false},
		{"too long", "", "pointage/v1/a/b/c/status", false},
		{"unknown kind", "", "pointage/v1/a/b/hello", false},
		{"bad site", "", "pointage/v1/A/b/ack", false},
		{"empty device", "", "pointage/v1/a//ack", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tp, err := ParseTopic(tt.root, tt.topic)
			if (err == nil) != tt.ok {
				t.Fatalf("ParseTopic(%q) err = %v, want ok=%v", tt.topic, err, tt.ok)
			}
			if err == nil && tp.String() != tt.topic {
				t.Fatalf("String() = %q, want %q", tp.String(), tt.topic)
			}
			if err != nil && ReasonOf(err) != ReasonBadTopic {
				t.Fatalf("reason %q", ReasonOf(err))
			}
		})
	}
}

func TestDecodeStatus(t *testing.T) {
	full := `{"v":1,"site":"jules-ferry","device":"jf-cantine-1","epoch":"01JDQ3Y0000000000000000000","state":"online",` +
		`"at":"2026-11-28T11:32:05.123+11:00","version":"0.1.0","clock_synced":true,"last_seq":42,"outbox_pending":2,` +
		`"oldest_pending_at":"2026-11-28T11:30:00.000+11:00","readers":[{"name":"entree","port":"/dev/ttyUSB0",` +
		`"profile":"rdm6300","connected":true,"last_scan_at":null,"frames_rejected":3,"last_error":""}]}`
	will := `{"v":1,"site":"jules-ferry","device":"jf-cantine-1","epoch":"E1","state":"offline","at":"2026-11-28T11:32:05.123+11:00"}`
	tests := []struct {
		name, payload, reason string
	}{
		{"full", full, ""},
		{"last will", will, ""},
		{"bad state", strings.Replace(will, "offline", "asleep", 1), ReasonBadField},
		{"no state", strings.Replace(will, `"state":"offline",`, "", 1), ReasonMissingField},
		{"reader unknown field", strings.Replace(full, `"frames_rejected":3`, `"frames_rejected":3,"x":1`, 1), ReasonUnknownField},
		{"negative pending", strings.Replace(full, `"outbox_pending":2`, `"outbox_pending":-2`, 1), ReasonBadField},
		{"bad oldest", strings.Replace(full, `"oldest_pending_at":"2026-11-28T11:30:00.000+11:00"`, `"oldest_pending_at":"x"`, 1), ReasonBadField},
		{"bad reader name", strings.Replace(full, `"name":"entree"`, `"name":"a b"`, 1), ReasonBadField},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := DecodeStatus([]byte(tt.payload))
			if tt.reason == "" {
				if err != nil {
					t.Fatalf("want valid: %v", err)
				}
				if s.Device != "jf-cantine-1" {
					t.Fatalf("device %q", s.Device)
				}
				return
			}
			if ReasonOf(err) != tt.reason {
				t.Fatalf("got %v, want reason %s", err, tt.reason)
			}
		})
	}
}

func TestDecodeAckAndCommand(t *testing.T) {
	a, err := DecodeAck([]byte(`{"v":1,"epoch":"E1","stored_through":7}`))
	if err != nil || a.StoredThrough != 7 || a.Epoch != "E1" {
		t.Fatalf("ack: %+v %v", a, err)
	}
	for _, bad := range []string{`{"v":1,"epoch":"E1"}`, `{"v":1,"epoch":"E1","stored_through":-1}`, `{"v":3,"stored_through":1}`, `{}`} {
		if _, err := DecodeAck([]byte(bad)); err == nil {
			t.Errorf("ack %s accepted", bad)
		}
	}
	c, err := DecodeCommand([]byte(`{"v":1,"cmd":"resend","epoch":"E1","from_seq":3,"to_seq":9}`))
	if err != nil || c.FromSeq != 3 || c.ToSeq != 9 {
		t.Fatalf("command: %+v %v", c, err)
	}
	for _, bad := range []string{
		`{"v":1,"cmd":"reboot","epoch":"E1","from_seq":3,"to_seq":9}`,
		`{"v":1,"cmd":"resend","epoch":"E1","from_seq":9,"to_seq":3}`,
		`{"v":1,"cmd":"resend","epoch":"E1","from_seq":0,"to_seq":3}`,
		`{"v":1,"cmd":"resend","epoch":"E1","from_seq":1}`,
	} {
		if _, err := DecodeCommand([]byte(bad)); err == nil {
			t.Errorf("command %s accepted", bad)
		}
	}
}

func FuzzDecodeCheckIn(f *testing.F) {
	f.Add([]byte(validCheckIn))
	f.Add([]byte(replace(`"epoch":"01JDQ3Y0000000000000000000",`, "")))
	f.Add([]byte(`{"v":1}`))
	f.Add([]byte(`{"v":1,"seq":1e3}`))
	f.Add([]byte("\xff"))
	f.Fuzz(func(t *testing.T, payload []byte) {
		c, err := DecodeCheckIn(payload)
		if err != nil {
			if ReasonOf(err) == "invalid" {
				t.Fatalf("error without a reason: %v", err)
			}
			return
		}
		if len(payload) > MaxPayload || c.Seq == 0 || !ValidSiteOrDevice(c.Site) || !ValidBadge(c.Badge) || !c.Service.Valid() {
			t.Fatalf("accepted an invalid check-in: %q", payload)
		}
		b, err := Encode(c)
		if err != nil {
			t.Fatal(err)
		}
		c2, err := DecodeCheckIn(b)
		if err != nil || c2 != c {
			t.Fatalf("re-encoding changed the check-in: %v\n%+v\n%+v", err, c, c2)
		}
	})
}

func FuzzDecodeStatus(f *testing.F) {
	f.Add([]byte(`{"v":1,"site":"a","device":"b","epoch":"E","state":"offline","at":"2026-11-28T11:32:05.123+11:00"}`))
	f.Add([]byte(`{"v":1,"readers":[{"name":"x"}]}`))
	f.Fuzz(func(t *testing.T, payload []byte) {
		s, err := DecodeStatus(payload)
		if err == nil && (!ValidSiteOrDevice(s.Site) || (s.State != StateOnline && s.State != StateOffline)) {
			t.Fatalf("accepted an invalid status: %q", payload)
		}
	})
}
