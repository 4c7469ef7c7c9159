package wire

import (
	"errors"
	"strings"
	"testing"
)

// sampleCheckIns are valid check-ins; Encode of each is a canonical payload.
var sampleCheckIns = []CheckIn{
	{V: 1, ID: "01JDQ3ZC8M6X3W5R2Y7T9K4B1N", Site: "jules-ferry", Device: "jf-cantine-1",
		Epoch: "01JDQ3Y0000000000000000000", Reader: "entree", Seq: 42, Badge: "0A00BC614E",
		Service: ServiceCanteen, Dir: DirAuto, At: "2026-11-28T11:32:05.123+11:00"},
	{V: 1, ID: "e1", Site: "a", Device: "b", Reader: "R.1_x-y", Seq: 1, Badge: "ELEVE-000123!",
		Service: ServiceGarderie, Dir: DirIn, At: "2026-11-28T00:32:05Z"},
	{V: 1, ID: strings.Repeat("Z", 64), Site: strings.Repeat("s", 63), Device: "0-0", Epoch: "_",
		Reader: strings.Repeat("r", 64), Seq: MaxSeq, Badge: "~{a}|'",
		Service: ServiceStaff, Dir: DirOut, At: "2026-11-28T11:32:05.123456789-03:30"},
}

// checkInPayloadCases are inputs on which DecodeCheckIn must agree with
// decodeCheckInReference. fast says whether the fast path must take them.
var checkInPayloadCases = []struct {
	name    string
	payload string
	fast    bool
}{
	{"canonical", validCheckIn, true},
	{"epoch absent", replace(`"epoch":"01JDQ3Y0000000000000000000",`, ""), true},
	{"epoch empty", replace(`"epoch":"01JDQ3Y0000000000000000000"`, `"epoch":""`), true},
	{"epoch null", replace(`"epoch":"01JDQ3Y0000000000000000000"`, `"epoch":null`), false},
	{"whitespace everywhere", " \t\r\n{ \"v\" :\t1 ,\n\"id\": \"01JDQ3ZC8M6X3W5R2Y7T9K4B1N\" , \"site\" : \"jules-ferry\"," +
		"\"device\":\"jf-cantine-1\",\"reader\":\"entree\",\"seq\" : 42 ,\"badge\":\"0A00BC614E\"," +
		"\"service\":\"canteen\",\"dir\":\"auto\",\"at\":\"2026-11-28T11:32:05.123+11:00\"\r\n}\n\t ", true},
	{"unicode space around", "\v" + validCheckIn + "\u00a0", false},
	{"fields reordered", `{"at":"2026-11-28T11:32:05.123+11:00","dir":"in","service":"staff","badge":"B","seq":7,` +
		`"reader":"r","epoch":"E","device":"d","site":"s","id":"i","v":1}`, true},
	{"empty object", `{}`, true},
	{"empty object spaced", ` { } `, true},
	{"only version", `{"v":1}`, true},
	{"version 0", replace(`"v":1`, `"v":0`), true},
	{"version 2", replace(`"v":1`, `"v":2`), true},
	{"version huge", replace(`"v":1`, `"v":9223372036854775807`), true},
	{"version overflows int", replace(`"v":1`, `"v":9223372036854775808`), false},
	{"version negative", replace(`"v":1`, `"v":-1`), false},
	{"version as string", replace(`"v":1`, `"v":"1"`), false},
	{"version null", replace(`"v":1`, `"v":null`), false},
	{"version true", replace(`"v":1`, `"v":true`), false},
	{"seq 0", replace(`"seq":42`, `"seq":0`), true},
	{"seq max", replace(`"seq":42`, `"seq":18446744073709551615`), true},
	{"seq max plus one", replace(`"seq":42`, `"seq":18446744073709551616`), false},
	{"seq far too big", replace(`"seq":42`, `"seq":99999999999999999999999`), false},
	{"seq -1", replace(`"seq":42`, `"seq":-1`), false},
	{"seq -0", replace(`"seq":42`, `"seq":-0`), false},
	{"seq 1.0", replace(`"seq":42`, `"seq":1.0`), false},
	{"seq 1e3", replace(`"seq":42`, `"seq":1e3`), false},
	{"seq 1E3", replace(`"seq":42`, `"seq":1E3`), false},
	{"seq 01", replace(`"seq":42`, `"seq":01`), false},
	{"seq 00", replace(`"seq":42`, `"seq":00`), false},
	{"seq string", replace(`"seq":42`, `"seq":"42"`), false},
	{"seq null", replace(`"seq":42`, `"seq":null`), false},
	{"seq array", replace(`"seq":42`, `"seq":[42]`), false},
	{"seq object", replace(`"seq":42`, `"seq":{"n":42}`), false},
	{"seq missing", replace(`"seq":42,`, ``), true},
	{"seq last without comma", `{"v":1,"seq":5}`, true},
	{"escaped string", replace(`"entree"`, `"entr\u00e9e"`), false},
	{"escaped slash", replace(`"entree"`, `"ent\/ree"`), false},
	{"escaped quote in badge", replace(`"0A00BC614E"`, `"0A\"B"`), false},
	{"escaped key", replace(`"seq"`, `"s\u0065q"`), false},
	{"uppercase key", replace(`"seq"`, `"SEQ"`), false},
	{"mixed case key", replace(`"badge"`, `"Badge"`), false},
	{"kelvin sign key", replace(`"badge"`, "\"bad\u212ae\""), false},
	{"duplicate key", replace(`"seq":42`, `"seq":42,"seq":43`), false},
	{"duplicate key by case", replace(`"seq":42`, `"seq":42,"Seq":43`), false},
	{"duplicate then null", replace(`"seq":42`, `"seq":42,"seq":null`), false},
	{"service null", replace(`"service":"canteen"`, `"service":null`), false},
	{"service unknown", replace(`"service":"canteen"`, `"service":"piscine"`), true},
	{"service with del", replace(`"service":"canteen"`, "\"service\":\"cant\x7feen\""), false},
	{"dir sideways", replace(`"dir":"auto"`, `"dir":"sideways"`), true},
	{"badge number", replace(`"badge":"0A00BC614E"`, `"badge":12`), false},
	{"badge false", replace(`"badge":"0A00BC614E"`, `"badge":false`), false},
	{"badge with space", replace(`"badge":"0A00BC614E"`, `"badge":"0A 00"`), true},
	{"badge needing escapes", replace(`"badge":"0A00BC614E"`, `"badge":"\u003ca\u0026b\u003e\"\\"`), false},
	{"badge with tab", replace(`"badge":"0A00BC614E"`, "\"badge\":\"0A\t00\""), false},
	{"badge non-ASCII", replace(`"badge":"0A00BC614E"`, `"badge":"0A00BC614É"`), false},
	{"site uppercase", replace(`"site":"jules-ferry"`, `"site":"Jules-Ferry"`), true},
	{"time without offset", replace(`+11:00"`, `"`), true},
	{"missing fields", `{"v":1,"id":"x","site":"a"}`, true},
	{"unknown field", replace(`"seq":42,`, `"seq":42,"extra":1,`), false},
	{"unknown field last", replace(`}`, `,"extra":"x"}`), false},
	{"trailing garbage", validCheckIn + "x", false},
	{"trailing comma", replace(`}`, `,}`), false},
	{"leading comma", replace(`{"v"`, `{,"v"`), false},
	{"missing colon", replace(`"seq":42`, `"seq" 42`), false},
	{"missing comma", replace(`"seq":42,`, `"seq":42 `), false},
	{"two objects", validCheckIn + validCheckIn, false},
	{"two objects spaced", validCheckIn + " " + validCheckIn, false},
	{"unterminated", validCheckIn[:len(validCheckIn)-1], false},
	{"unterminated string", `{"v":1,"id":"abc`, false},
	{"truncated", validCheckIn[:50], false},
	{"empty", ``, false},
	{"only spaces", "  \n", false},
	{"array", `[1,2]`, false},
	{"null", `null`, false},
	{"invalid utf8 in value", replace(`"entree"`, "\"entr\xff\""), false},
	{"invalid utf8 outside", validCheckIn + "\xff", false},
	{"BOM", "\ufeff" + validCheckIn, false},
	{"4096 bytes", padTo(MaxPayload), true},
	{"4097 bytes", padTo(MaxPayload + 1), false},
}

// padTo returns validCheckIn with trailing spaces up to n bytes.
func padTo(n int) string { return validCheckIn + strings.Repeat(" ", n-len(validCheckIn)) }

// sameDecode fails t unless DecodeCheckIn and the reference agree on payload.
func sameDecode(t *testing.T, payload []byte) {
	t.Helper()
	got, gotErr := DecodeCheckIn(payload)
	want, wantErr := decodeCheckInReference(payload)
	if got != want {
		t.Fatalf("DecodeCheckIn(%q) = %+v, reference %+v", payload, got, want)
	}
	if (gotErr == nil) != (wantErr == nil) {
		t.Fatalf("DecodeCheckIn(%q) error %v, reference %v", payload, gotErr, wantErr)
	}
	if gotErr == nil {
		return
	}
	var g, w *Error
	if !errors.As(gotErr, &g) || !errors.As(wantErr, &w) || *g != *w {
		t.Fatalf("DecodeCheckIn(%q) error %#v, reference %#v", payload, gotErr, wantErr)
	}
}

func TestDecodeCheckInMatchesReference(t *testing.T) {
	for _, tt := range checkInPayloadCases {
		t.Run(tt.name, func(t *testing.T) {
			sameDecode(t, []byte(tt.payload))
			if _, _, fast := scanCheckIn([]byte(tt.payload)); fast != tt.fast {
				t.Errorf("fast path taken = %v, want %v", fast, tt.fast)
			}
		})
	}
}

// TestCanonicalPayloadsTakeFastPath guards the speed-up: what agents send
// must not fall back to encoding/json.
func TestCanonicalPayloadsTakeFastPath(t *testing.T) {
	for _, c := range sampleCheckIns {
		p, err := Encode(c)
		if err != nil {
			t.Fatal(err)
		}
		got, seen, ok := scanCheckIn(p)
		if !ok {
			t.Fatalf("scanCheckIn(%s) fell back", p)
		}
		if got != c {
			t.Fatalf("scanCheckIn(%s) = %+v, want %+v", p, got, c)
		}
		if c.Epoch == "" && seen&fieldEpoch != 0 || c.Epoch != "" && seen&fieldEpoch == 0 {
			t.Fatalf("scanCheckIn(%s): epoch seen = %v", p, seen&fieldEpoch != 0)
		}
		if _, err := DecodeCheckIn(p); err != nil {
			t.Fatalf("DecodeCheckIn(%s): %v", p, err)
		}
	}
}

func FuzzDecodeCheckInMatchesReference(f *testing.F) {
	for _, c := range sampleCheckIns {
		p, err := Encode(c)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(p)
	}
	for _, tt := range checkInPayloadCases {
		f.Add([]byte(tt.payload))
	}
	f.Fuzz(sameDecode)
}

func TestPatternsMatchReference(t *testing.T) {
	for _, tt := range []struct{ pattern, ref string }{
		{siteDevicePattern, refSiteDeviceRe.String()},
		{tokenPattern, refTokenRe.String()},
		{readerPattern, refReaderRe.String()},
		{badgePattern, refBadgeRe.String()},
	} {
		if tt.pattern != tt.ref {
			t.Errorf("pattern %s, reference regexp %s", tt.pattern, tt.ref)
		}
	}
}

// sameValidation fails t unless every byte-loop validator agrees with its
// reference regexp on s.
func sameValidation(t *testing.T, s string) {
	t.Helper()
	for _, v := range []struct {
		name      string
		got, want bool
	}{
		{"ValidSiteOrDevice", ValidSiteOrDevice(s), refSiteDeviceRe.MatchString(s)},
		{"validToken", validToken(s), refTokenRe.MatchString(s)},
		{"ValidReaderName", ValidReaderName(s), refReaderRe.MatchString(s)},
		{"ValidBadge", ValidBadge(s), refBadgeRe.MatchString(s)},
	} {
		if v.got != v.want {
			t.Errorf("%s(%q) = %v, regexp says %v", v.name, s, v.got, v.want)
		}
	}
}

func TestValidatorsMatchRegexps(t *testing.T) {
	for _, s := range validatorCases {
		sameValidation(t, s)
	}
}

var validatorCases = []string{
	"", "a", "A", "0", "-", "_", ".", "a-", "-a", "_a", ".a", "a.b", "a_b", "a-b", "aB",
	"jules-ferry", "jf-cantine-1", "01JDQ3ZC8M6X3W5R2Y7T9K4B1N", "0A00BC614E", "ELEVE-000123",
	strings.Repeat("a", 63), strings.Repeat("a", 64), strings.Repeat("a", 65),
	strings.Repeat("A", 64), strings.Repeat("A", 65), "a" + strings.Repeat(".", 63),
	"a b", "a\n", "\na", "a\x00", "!", "~", "\x7f", "\x20", "\x21", "é", "\xff", "a\xff",
	"+", "#", "/", "a/b", "Ａ",
}

func FuzzValidatorsMatchRegexps(f *testing.F) {
	for _, s := range validatorCases {
		f.Add(s)
	}
	f.Fuzz(sameValidation)
}

// TestDecodeCheckInAllocs guards the fast path's cost: one allocation per
// string field of a canonical payload (service and dir are constants).
func TestDecodeCheckInAllocs(t *testing.T) {
	p := []byte(validCheckIn)
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := DecodeCheckIn(p); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 7 {
		t.Fatalf("DecodeCheckIn allocates %v times per canonical payload, want at most 7", allocs)
	}
}
