// Package badinput_test is one table of bad inputs across the whole system
// (issue 6): reader bytes through the agent's pure Decoder and debouncer,
// MQTT payloads through a real hub with its embedded broker, roster CSV files
// through roster.Parse, and HTTP API requests to the same hub. Each row says
// what a user would notice, and the test asserts exactly that.
package badinput_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"pointage/agent/reader"
	"pointage/hub"
	"pointage/hub/hubtest"
	"pointage/hub/roster"
	"pointage/internal/civil"
	"pointage/internal/link"
	"pointage/internal/testenv"
	"pointage/internal/wire"
)

const stx, etx = "\x02", "\x03"

// step is one moment at a reader: bytes received at t0+at, or (tick) only
// the clock moving on.
type step struct {
	at   time.Duration
	in   string
	tick bool
}

// readerIn is a reader row's input: a built-in profile and what the port
// delivers, and when.
type readerIn struct {
	profile string
	steps   []step
}

// mqttIn is an MQTT row's input: a registered device of its own site
// publishes these raw payloads on its checkin topic, in order.
type mqttIn struct {
	site     string
	payloads []string
	// status: published on the device's status topic, retained, instead
	// of its checkin topic.
	status bool
}

// apiIn is an API row's input: a GET of path, or a POST of body.
type apiIn struct{ path, body string }

type outcome struct {
	// reader: what the agent sees, step after step: "scan:BADGE" (a new
	// scan), "repeat:BADGE" (the debouncer says it is the same scan),
	// "reject:REASON" (a refused frame; REASON is the whole reason or its
	// category before ':').
	frames []string

	// mqtt, refused: the reason code in /api/v1/rejected and in
	// pointage_ingest_rejected_total; nothing stored, nothing acked.
	rejected string
	// mqtt, refused and the connection closed by the broker (a packet too
	// large to read); the device reconnects and its next check-in is acked.
	disconnected bool
	// mqtt, accepted: the Ack the device receives for epoch E1, the events
	// the office sees on day (default: today) with their kind and review
	// flag, and the day's canteen figures.
	acked         uint64
	day           string
	kinds         []string // kind of each event, by seq
	review        bool
	meals         int
	unknownBadges int
	unknownListed []string // /api/v1/unknown-badges

	// csv: the file is refused with an error containing csvErr, or parsed
	// into people (person ids) and row errors ("line N: ..." substrings).
	csvErr  string
	people  []string
	rowErrs []string

	// api: status and a JSON {"error": ...} containing errHas (4xx), or
	// a 200 whose body contains errHas.
	status int
	errHas string
}

type badInput struct {
	name  string
	layer string // reader | mqtt | csv | api
	input any    // readerIn | mqttIn | string (csv) | apiIn
	want  outcome
}

const rosterHead = "badge;person_id;role;last_name;first_name;site;class;regime;canteen_days;garderie\n"

// The hub's roster: one child per site the MQTT rows count at.
const hubRoster = rosterHead +
	"0B00000001;P1970;child;Un;Alix;bi-1970;CP;standard;lu ma me je ve sa di;\n" +
	"0B00000002;PFUT;child;Deux;Bao;bi-future;CP;standard;lu ma me je ve sa di;\n" +
	"0B00000003;PDUP;child;Trois;Cali;bi-dup;CP;standard;lu ma me je ve sa di;\n" +
	"0B00000004;POOO1;child;Quatre;Dan;bi-ooo;CP;standard;lu ma me je ve sa di;\n" +
	"0B00000005;POOO2;child;Cinq;Eli;bi-ooo;CP;sans-porc;lu ma me je ve sa di;\n" +
	"0B00000006;POOO3;child;Six;Fei;bi-ooo;CE1;standard;lu ma me je ve sa di;\n" +
	"0B00000007;PUNK;child;Sept;Gus;bi-unknown;CP;standard;lu ma me je ve sa di;\n"

// checkIn is a valid check-in payload of site's device (site-1), with
// fields to vary through fmt verbs the caller fills.
func checkIn(site string, seq int, badge, at string) string {
	return fmt.Sprintf(`{"v":1,"id":"ID-%s-%d","site":%q,"device":%q,"epoch":"E1","reader":"entree","seq":%d,"badge":%q,"service":"canteen","dir":"auto","at":%q}`,
		site, seq, site, site+"-1", seq, badge, at)
}

func rows(now time.Time) []badInput {
	at := now.Format(wire.AtLayout)
	future := now.Add(2 * time.Hour).Format(wire.AtLayout)
	frame := func(s string) string { return stx + s + etx }
	big := func(site string, n int) string { // a valid check-in padded to n bytes through its id
		p := checkIn(site, 1, "0B000000FF", at)
		id := "ID-" + site + "-1"
		return strings.Replace(p, `"`+id+`"`, `"`+strings.Repeat("X", n-len(p)+len(id))+`"`, 1)
	}
	return []badInput{
		// ---- reader: agent/reader's Decoder (100 ms partial timeout) and Debouncer (3 s) ----
		{"noise before STX", "reader", readerIn{"rdm6300", []step{{0, "garbage" + frame("13005D1DA5F6"), false}}},
			outcome{frames: []string{"reject:noise: 7 bytes outside frames", "scan:13005D1DA5"}}},
		{"partial frame then silence", "reader", readerIn{"rdm6300", []step{
			{0, stx + "13005D", false},
			{99 * time.Millisecond, "", true},  // still waiting
			{100 * time.Millisecond, "", true}, // dropped, and said so
			{150 * time.Millisecond, frame("01026F6C3A3A"), false},
		}}, outcome{frames: []string{"reject:partial frame: no byte for 100 ms", "scan:01026F6C3A"}}},
		{"partial frame completed within 100 ms", "reader", readerIn{"rdm6300", []step{
			{0, stx + "13005D", false},
			{99 * time.Millisecond, "1DA5F6" + etx, false},
		}}, outcome{frames: []string{"scan:13005D1DA5"}}},
		{"bad checksum", "reader", readerIn{"rdm6300", []step{{0, frame("13005D1DA5F7"), false}}},
			outcome{frames: []string{"reject:bad checksum"}}},
		{"bad checksum, gwiot binary frame", "reader", readerIn{"gwiot7941e", []step{{0, "\x02\x0A\x02\x2E\x00\xB6\xD7\xB5\xF3\x03", false}}},
			outcome{frames: []string{"reject:bad checksum"}}},
		{"non-hex digits", "reader", readerIn{"rdm6300", []step{{0, frame("13005D1DX5F6"), false}}},
			outcome{frames: []string{"reject:not hex"}}},
		{"non-hex digits, hex line", "reader", readerIn{"line-hex", []step{{0, "DEADBEXF\r\n", false}}},
			outcome{frames: []string{"reject:not hex"}}},
		{"second STX inside a frame", "reader", readerIn{"rdm6300", []step{{0, stx + "13005D" + frame("01026F6C3A3A"), false}}},
			outcome{frames: []string{"reject:partial frame: cut by a new start byte", "scan:01026F6C3A"}}},
		{"re-scan within the debounce window", "reader", readerIn{"rdm6300", []step{
			{0, frame("13005D1DA5F6"), false},
			{200 * time.Millisecond, frame("13005D1DA5F6"), false},  // card held: the reader repeats
			{3100 * time.Millisecond, frame("13005D1DA5F6"), false}, // 2.9 s after the last repeat
			{3150 * time.Millisecond, frame("01026F6C3A3A"), false}, // another card: its own scan
			{6200 * time.Millisecond, frame("13005D1DA5F6"), false}, // 3.1 s after the last frame
		}}, outcome{frames: []string{"scan:13005D1DA5", "repeat:13005D1DA5", "repeat:13005D1DA5", "scan:01026F6C3A", "scan:13005D1DA5"}}},

		// ---- mqtt: a real hub, embedded broker, registered devices ----
		{"malformed JSON", "mqtt", mqttIn{site: "bi-json", payloads: []string{`{"v":1,"id":"A","site":"bi-json"`}}, outcome{rejected: wire.ReasonBadJSON}},
		{"not UTF-8", "mqtt", mqttIn{site: "bi-utf8", payloads: []string{strings.Replace(checkIn("bi-utf8", 1, "0B00000009", at), "entree", "entr\xe9e", 1)}}, outcome{rejected: wire.ReasonBadEncoding}},
		{"wrong types", "mqtt", mqttIn{site: "bi-types", payloads: []string{strings.Replace(checkIn("bi-types", 1, "0B00000009", at), `"seq":1`, `"seq":"1"`, 1)}}, outcome{rejected: wire.ReasonBadField}},
		{"unknown fields", "mqtt", mqttIn{site: "bi-fields", payloads: []string{strings.Replace(checkIn("bi-fields", 1, "0B00000009", at), `{"v":1,`, `{"v":1,"colour":"red",`, 1)}}, outcome{rejected: wire.ReasonUnknownField}},
		{"missing field", "mqtt", mqttIn{site: "bi-missing", payloads: []string{strings.Replace(checkIn("bi-missing", 1, "0B00000009", at), `"badge":"0B00000009",`, ``, 1)}}, outcome{rejected: wire.ReasonMissingField}},
		{"wrong version", "mqtt", mqttIn{site: "bi-version", payloads: []string{strings.Replace(checkIn("bi-version", 1, "0B00000009", at), `{"v":1,`, `{"v":2,`, 1)}}, outcome{rejected: wire.ReasonBadVersion}},
		{"topic/payload mismatch", "mqtt", mqttIn{site: "bi-mismatch", payloads: []string{strings.Replace(checkIn("bi-mismatch", 1, "0B00000009", at), `"device":"bi-mismatch-1"`, `"device":"bi-other-1"`, 1)}}, outcome{rejected: wire.ReasonTopicMismatch}},
		// docs/DESIGN.md §15 (issue 12): each of these is one row in the rejected
		// table. A zero-length payload was a NULL that hub.db refused,
		// losing the record of its whole batch; a duplicate key was
		// stored with the last value.
		{"zero-length payload", "mqtt", mqttIn{site: "bi-empty", payloads: []string{""}}, outcome{rejected: wire.ReasonBadJSON}},
		{"whitespace only", "mqtt", mqttIn{site: "bi-space", payloads: []string{" \t\r\n "}}, outcome{rejected: wire.ReasonBadJSON}},
		{"null", "mqtt", mqttIn{site: "bi-null", payloads: []string{"null"}}, outcome{rejected: wire.ReasonBadJSON}},
		{"an empty array", "mqtt", mqttIn{site: "bi-array", payloads: []string{"[]"}}, outcome{rejected: wire.ReasonBadJSON}},
		{"a NUL byte in a value", "mqtt", mqttIn{site: "bi-nul", payloads: []string{strings.Replace(checkIn("bi-nul", 1, "0B00000009", at), `"entree"`, "\"entr\x00ee\"", 1)}}, outcome{rejected: wire.ReasonBadJSON}},
		{"an escaped NUL in the badge", "mqtt", mqttIn{site: "bi-nul2", payloads: []string{strings.Replace(checkIn("bi-nul2", 1, "0B00000009", at), `"0B00000009"`, `"0B\u000000009"`, 1)}}, outcome{rejected: wire.ReasonBadField}},
		{"a duplicate key (was stored with the last value)", "mqtt", mqttIn{site: "bi-dupkey", payloads: []string{strings.Replace(checkIn("bi-dupkey", 1, "0B00000009", at), `"seq":1`, `"seq":1,"seq":2`, 1)}}, outcome{rejected: wire.ReasonBadJSON}},
		{"a key in capitals (encoding/json matched it to seq)", "mqtt", mqttIn{site: "bi-case", payloads: []string{strings.Replace(checkIn("bi-case", 1, "0B00000009", at), `"seq":1`, `"SEQ":1`, 1)}}, outcome{rejected: wire.ReasonUnknownField}},
		{"null for the epoch (was read as no epoch)", "mqtt", mqttIn{site: "bi-nullf", payloads: []string{strings.Replace(checkIn("bi-nullf", 1, "0B00000009", at), `"E1"`, `null`, 1)}}, outcome{rejected: wire.ReasonBadField}},
		{"a fractional seq", "mqtt", mqttIn{site: "bi-frac", payloads: []string{strings.Replace(checkIn("bi-frac", 1, "0B00000009", at), `"seq":1`, `"seq":1.5`, 1)}}, outcome{rejected: wire.ReasonBadField}},
		{"seq 1.0", "mqtt", mqttIn{site: "bi-frac1", payloads: []string{strings.Replace(checkIn("bi-frac1", 1, "0B00000009", at), `"seq":1`, `"seq":1.0`, 1)}}, outcome{rejected: wire.ReasonBadField}},
		{"seq beyond 2^53-1 (a double cannot hold it)", "mqtt", mqttIn{site: "bi-range", payloads: []string{strings.Replace(checkIn("bi-range", 1, "0B00000009", at), `"seq":1`, `"seq":9007199254740993`, 1)}}, outcome{rejected: wire.ReasonBadField}},
		{"seq beyond 2^64", "mqtt", mqttIn{site: "bi-range2", payloads: []string{strings.Replace(checkIn("bi-range2", 1, "0B00000009", at), `"seq":1`, `"seq":18446744073709551616`, 1)}}, outcome{rejected: wire.ReasonBadField}},
		{"a negative seq", "mqtt", mqttIn{site: "bi-neg", payloads: []string{strings.Replace(checkIn("bi-neg", 1, "0B00000009", at), `"seq":1`, `"seq":-1`, 1)}}, outcome{rejected: wire.ReasonBadField}},
		{"a number as a string (the version)", "mqtt", mqttIn{site: "bi-vstr", payloads: []string{strings.Replace(checkIn("bi-vstr", 1, "0B00000009", at), `"v":1`, `"v":"1"`, 1)}}, outcome{rejected: wire.ReasonBadField}},
		{"deep nesting (500 levels)", "mqtt", mqttIn{site: "bi-deep", payloads: []string{strings.Replace(checkIn("bi-deep", 1, "0B00000009", at), `"0B00000009"`, strings.Repeat("[", 500)+strings.Repeat("]", 500), 1)}}, outcome{rejected: wire.ReasonBadField}},
		{"an event id with a space", "mqtt", mqttIn{site: "bi-id", payloads: []string{strings.Replace(checkIn("bi-id", 1, "0B00000009", at), `"ID-bi-id-1"`, `"ID 1"`, 1)}}, outcome{rejected: wire.ReasonBadField}},
		{"a zero-length retained status (clears the retained one)", "mqtt", mqttIn{site: "bi-status", payloads: []string{""}, status: true}, outcome{rejected: wire.ReasonBadJSON}},
		{"a status with a duplicate key", "mqtt", mqttIn{site: "bi-status2", status: true, payloads: []string{
			`{"v":1,"site":"bi-status2","device":"bi-status2-1","epoch":"E1","state":"online","state":"offline","at":"` + at + `"}`}}, outcome{rejected: wire.ReasonBadJSON}},
		{"oversized payload (4.5 KiB): PUBACK, rejected with its first 4 KiB", "mqtt", mqttIn{site: "bi-big", payloads: []string{big("bi-big", 4608)}},
			outcome{rejected: wire.ReasonTooLarge}},
		{"oversized retained status (4.5 KiB): rejected (the broker does not retain it)", "mqtt", mqttIn{site: "bi-bigst", status: true, payloads: []string{big("bi-bigst", 4608)}},
			outcome{rejected: wire.ReasonTooLarge}},
		{"oversized packet (8 KiB): connection closed unread, rejected", "mqtt", mqttIn{site: "bi-huge", payloads: []string{big("bi-huge", 8192)}},
			outcome{rejected: wire.ReasonTooLarge, disconnected: true, kinds: []string{"unknown"}, unknownBadges: 1}},
		{"a 1970 clock: stored on its day, flagged review", "mqtt", mqttIn{site: "bi-1970", payloads: []string{checkIn("bi-1970", 1, "0B00000001", "1970-01-01T00:00:05.000Z")}},
			outcome{acked: 1, day: "1970-01-01", kinds: []string{"meal"}, review: true, meals: 1}},
		{"a future time: stored, counted, flagged review", "mqtt", mqttIn{site: "bi-future", payloads: []string{checkIn("bi-future", 1, "0B00000002", future)}},
			outcome{acked: 1, day: future, kinds: []string{"meal"}, review: true, meals: 1}},
		{"an unknown badge: stored, listed, not a meal", "mqtt", mqttIn{site: "bi-unknown", payloads: []string{checkIn("bi-unknown", 1, "0BFFFFFFFF", at)}},
			outcome{acked: 1, kinds: []string{"unknown"}, meals: 0, unknownBadges: 1, unknownListed: []string{"0BFFFFFFFF"}}},
		{"a duplicate delivery: stored once, acked", "mqtt", mqttIn{site: "bi-dup", payloads: []string{checkIn("bi-dup", 1, "0B00000003", at), checkIn("bi-dup", 1, "0B00000003", at)}},
			outcome{acked: 1, kinds: []string{"meal"}, meals: 1}},
		{"out-of-order delivery: all stored, counts right", "mqtt", mqttIn{site: "bi-ooo", payloads: []string{
			checkIn("bi-ooo", 3, "0B00000006", at), checkIn("bi-ooo", 1, "0B00000004", at), checkIn("bi-ooo", 2, "0B00000005", at)}},
			outcome{acked: 3, kinds: []string{"meal", "meal", "meal"}, meals: 3}},

		// ---- csv: hub/roster.Parse ----
		{"CSV with bad rows", "csv", rosterHead +
			"0A00000001;E001;child;Wamytan;Léa;jules-ferry;CP;standard;lu ma me je ve;soir\n" +
			"0A00000002;E002;parent;Gowé;Noa;jules-ferry;CE1;standard;lu;\n" +
			"zz;E003;child;Martin;Jade;Jules Ferry;CE1;standard;jamais;nuit\n" +
			"0A00000004;E004;staff;Dupont;Paul;jules-ferry;;standard;lu ma;\n",
			outcome{people: []string{"E001", "E004"}, rowErrs: []string{"line 3: ", "line 4: "}}},
		{"CSV in Latin-1", "csv", rosterHead + "0A00000001;E001;child;Wamytan;L\xe9a;jules-ferry;CP;standard;lu;\n",
			outcome{csvErr: "la ligne 2 n'est pas du texte UTF-8 : enregistrez le fichier au format « CSV UTF-8 »"}},
		{"CSV without a required column", "csv", "badge;person_id;role;last_name;first_name;site;class;regime;canteen_days\n0A00000001;E001;child;W;L;jules-ferry;CP;standard;lu\n",
			outcome{csvErr: "colonne(s) obligatoire(s) absente(s) : garderie"}},
		{"CSV with an unclosed quote", "csv", rosterHead + "0A00000001;E001;child;\"Wamytan;Léa;jules-ferry;CP;standard;lu;\n0A00000002;E002;child;Gowé;Noa;jules-ferry;CE1;standard;lu;\n",
			outcome{csvErr: "un guillemet ouvert ligne 2 n'est sans doute pas refermé"}},

		// ---- api: the same hub, from loopback (no user yet: office) ----
		{"date not a day", "api", apiIn{path: "/api/v1/counts?date=2026-02-30"}, outcome{status: 400, errHas: "date: want YYYY-MM-DD"}},
		{"date in French order", "api", apiIn{path: "/api/v1/counts?date=28/11/2026"}, outcome{status: 400, errHas: "date: want YYYY-MM-DD"}},
		{"date year 0 (was a 500)", "api", apiIn{path: "/api/v1/counts?date=0000-01-01"}, outcome{status: 400, errHas: "date: want YYYY-MM-DD"}},
		{"history from year 0", "api", apiIn{path: "/api/v1/people/PDUP/history?from=0000-01-01&to=0000-12-31"}, outcome{status: 400, errHas: "from: want YYYY-MM-DD"}},
		{"date far future", "api", apiIn{path: "/api/v1/counts?date=9999-12-31&site=bi-dup"}, outcome{status: 200, errHas: `"date":"9999-12-31"`}},
		{"unknown site, counts", "api", apiIn{path: "/api/v1/counts?site=nowhere"}, outcome{status: 404, errHas: "unknown site"}},
		{"unknown site, events", "api", apiIn{path: "/api/v1/events?site=nowhere"}, outcome{status: 404, errHas: "unknown site"}},
		{"unknown site, school page", "api", apiIn{path: "/api/v1/school?site=nowhere"}, outcome{status: 404, errHas: "unknown site"}},
		{"not a site id", "api", apiIn{path: "/api/v1/unknown-badges?site=..%2Fetc"}, outcome{status: 400, errHas: "site: not a site id"}},
		{"history over two years", "api", apiIn{path: "/api/v1/people/PDUP/history?from=2000-01-01&to=2026-11-28"}, outcome{status: 400, errHas: "at most 731 days"}},
		{"history reversed", "api", apiIn{path: "/api/v1/people/PDUP/history?from=2026-11-28&to=2026-11-01"}, outcome{status: 400, errHas: "to is before from"}},
		{"history bad date", "api", apiIn{path: "/api/v1/people/PDUP/history?from=2026-11-31"}, outcome{status: 400, errHas: "from: want YYYY-MM-DD"}},
		{"history of nobody", "api", apiIn{path: "/api/v1/people/NOBODY/history"}, outcome{status: 404, errHas: "not in the roster"}},
		{"corrections reversed", "api", apiIn{path: "/api/v1/corrections?from=2026-11-30&to=2026-11-01"}, outcome{status: 400, errHas: "to is before from"}},
		{"corrections over all time: a list, bounded by what exists", "api", apiIn{path: "/api/v1/corrections?from=0001-01-01&to=9999-12-31"}, outcome{status: 200, errHas: `"corrections":[]`}},
		{"audit limit 100000", "api", apiIn{path: "/api/v1/audit?limit=100000"}, outcome{status: 400, errHas: "limit: a number from 1 to 1000"}},
		{"audit over all time: a list (200 entries at most by default)", "api", apiIn{path: "/api/v1/audit?from=0001-01-01&to=9999-12-31"}, outcome{status: 200, errHas: `"entries":`}},
		{"audit bad date", "api", apiIn{path: "/api/v1/audit?from=yesterday"}, outcome{status: 400, errHas: "from: want YYYY-MM-DD"}},
		{"rejected limit 100000", "api", apiIn{path: "/api/v1/rejected?limit=100000"}, outcome{status: 400, errHas: "limit: a number from 1 to 1000"}},
		{"month series before 2000", "api", apiIn{path: "/api/v1/series/month?month=1999-12"}, outcome{status: 400, errHas: "month: want YYYY-MM"}},
		{"export month 13", "api", apiIn{path: "/api/v1/export?kind=meals&month=2026-13"}, outcome{status: 400, errHas: "YYYY-MM"}},
		{"export of year 0", "api", apiIn{path: "/api/v1/export?kind=meals&month=0000-01"}, outcome{status: 400, errHas: "month: want YYYY-MM"}},
		{"day series of year 0", "api", apiIn{path: "/api/v1/series/day?date=0000-01-01"}, outcome{status: 400, errHas: "date: want YYYY-MM-DD"}},
		{"export unknown site", "api", apiIn{path: "/api/v1/export?kind=meals&month=2026-11&site=nowhere"}, outcome{status: 404, errHas: "unknown site"}},
		// ---- corrections: the body is read as MQTT payloads are (docs/DESIGN.md §15) ----
		{"correction: a good one (the control)", "api", apiIn{path: corrections, body: correction(`"person_id":"P1"`)}, outcome{status: 201, errHas: `"kind":"absence"`}},
		{"correction: duplicate key (was: the last one won)", "api", apiIn{path: corrections, body: correction(`"person_id":"P1","person_id":"P2"`)},
			outcome{status: 400, errHas: "duplicate key"}},
		{"correction: KIND for kind (was: read as kind)", "api", apiIn{path: corrections, body: strings.Replace(correction(`"person_id":"P1"`), `"kind"`, `"KIND"`, 1)},
			outcome{status: 400, errHas: "unknown field"}},
		{"correction: invalid UTF-8 (was: stored as U+FFFD)", "api", apiIn{path: corrections, body: correction(`"person_id":"P1"`, "malade \xe9")},
			outcome{status: 400, errHas: "not valid UTF-8"}},
		{"correction: escaped NUL in person_id (was: stored)", "api", apiIn{path: corrections, body: correction(`"person_id":"P\u00001"`)},
			outcome{status: 400, errHas: "person_id: contains a line break or control character"}},
		{"correction: day 9999-12-31 (was: stored)", "api", apiIn{path: corrections, body: strings.Replace(correction(`"person_id":"P1"`), "2026-12-01", "9999-12-31", 1)},
			outcome{status: 400, errHas: "day: 9999-12-31 is not a school day"}},
		{"correction: null person_id", "api", apiIn{path: corrections, body: correction(`"person_id":null`)}, outcome{status: 400, errHas: "null is not a value here"}},
		{"correction: two objects (was: the first one stored)", "api", apiIn{path: corrections, body: correction(`"person_id":"P1"`) + correction(`"person_id":"P2"`)},
			outcome{status: 400, errHas: "trailing data"}},
		{"correction: an array", "api", apiIn{path: corrections, body: "[" + correction(`"person_id":"P1"`) + "]"}, outcome{status: 400, errHas: "not a JSON object"}},
		{"correction: whitespace only", "api", apiIn{path: corrections, body: " \n"}, outcome{status: 400, errHas: "not a JSON object"}},
		{"correction: over 16 KiB", "api", apiIn{path: corrections, body: correction(`"person_id":"P1"`, strings.Repeat("x", 17<<10))},
			outcome{status: 413, errHas: "at most 16384 bytes"}},
	}
}

func TestBadInput(t *testing.T) {
	now := time.Now()
	var env *hubEnv
	if !testing.Short() {
		env = startEnv(t)
	}
	for _, tt := range rows(now) {
		t.Run(tt.layer+"/"+tt.name, func(t *testing.T) {
			switch in := tt.input.(type) {
			case readerIn:
				checkReader(t, in, tt.want)
			case string:
				checkCSV(t, in, tt.want)
			case mqttIn:
				if env == nil {
					t.Skip("integration test")
				}
				env.checkMQTT(t, in, tt.want)
			case apiIn:
				if env == nil {
					t.Skip("integration test")
				}
				env.checkAPI(t, in, tt.want)
			default:
				t.Fatalf("row %q: input %T", tt.name, tt.input)
			}
		})
	}
}

// ---- reader ----

var t0 = time.Date(2026, 11, 28, 7, 30, 0, 0, time.UTC)

func checkReader(t *testing.T, in readerIn, want outcome) {
	all, err := reader.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	p, ok := all[in.profile]
	if !ok {
		t.Fatalf("no profile %q", in.profile)
	}
	dec, err := reader.NewDecoder(p)
	if err != nil {
		t.Fatal(err)
	}
	deb := reader.NewDebouncer(reader.DefaultDebounce)
	var got []string
	for i, s := range in.steps {
		now := t0.Add(s.at)
		var frames []reader.Frame
		if s.tick {
			frames = dec.Tick(now)
		} else {
			frames = dec.Feed([]byte(s.in), now)
		}
		if s.tick && i+1 < len(in.steps) && len(frames) == 0 && !dec.Pending() {
			t.Errorf("step %d: nothing pending and nothing reported", i)
		}
		for _, f := range frames {
			switch {
			case f.Rejected():
				got = append(got, "reject:"+f.Reject)
			case deb.Accept(f.Badge, now):
				got = append(got, "scan:"+f.Badge)
			default:
				got = append(got, "repeat:"+f.Badge)
			}
		}
	}
	got = append(got, rejects(dec.Tick(t0.Add(time.Hour)))...) // nothing may be left hanging
	if len(got) != len(want.frames) {
		t.Fatalf("got %q, want %q", got, want.frames)
	}
	for i := range got {
		if got[i] != want.frames[i] && !strings.HasPrefix(got[i], want.frames[i]+":") { // a reason, or its category
			t.Fatalf("frame %d: got %q, want %q (all: %q)", i, got[i], want.frames[i], got)
		}
	}
}

func rejects(frames []reader.Frame) []string {
	var out []string
	for _, f := range frames {
		out = append(out, "reject:"+f.Reject)
	}
	return out
}

// ---- csv ----

func checkCSV(t *testing.T, in string, want outcome) {
	res, err := roster.Parse(strings.NewReader(in))
	if want.csvErr != "" {
		if err == nil || !strings.Contains(err.Error(), want.csvErr) {
			t.Fatalf("error %v, want one containing %q", err, want.csvErr)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, p := range res.People {
		ids = append(ids, p.PersonID)
	}
	if strings.Join(ids, ",") != strings.Join(want.people, ",") {
		t.Errorf("people %v, want %v (good rows kept)", ids, want.people)
	}
	if len(res.Errors) != len(want.rowErrs) {
		t.Fatalf("row errors %v, want %q", res.Errors, want.rowErrs)
	}
	for i, e := range res.Errors {
		if s := e.String(); !strings.HasPrefix(s, want.rowErrs[i]) || len(e.Reason) < 10 {
			t.Errorf("row error %q, want %q and a reason", s, want.rowErrs[i])
		}
	}
}

// ---- the hub: mqtt and api ----

type hubEnv struct {
	h        *hub.Hub
	rejected map[string]int // reason -> rejections expected so far
}

func startEnv(t *testing.T) *hubEnv {
	return &hubEnv{h: startHub(t, "", nil, hubRoster), rejected: map[string]int{}}
}

// startHub runs an in-process hub (embedded broker, SQLite) on dataDir ("":
// a fresh folder) until t ends, logging errors to log (nil: standard
// error), with rosterCSV ("": none) imported for every day.
func startHub(t testing.TB, dataDir string, log *slog.Logger, rosterCSV string) *hub.Hub {
	t.Helper()
	if log == nil {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	}
	cfg := hub.Defaults()
	cfg.DataDir = dataDir
	h := hubtest.Start(t, cfg, hub.Options{Logger: log}, nil)
	if rosterCSV == "" {
		return h
	}
	parsed, err := roster.Parse(strings.NewReader(rosterCSV))
	if err != nil || len(parsed.Errors) > 0 {
		t.Fatalf("roster: %v %v", err, parsed.Errors)
	}
	if _, err := h.Roster().Import(context.Background(), parsed.People, civil.MinDate.AddDays(1), nil); err != nil {
		t.Fatal(err)
	}
	return h
}

// device is a real MQTT client standing in for an agent.
type device struct {
	l             *link.Link
	mu            sync.Mutex
	acks          map[string]uint64
	connects      atomic.Int32
	disconnects   atomic.Int32
	site, id      string
	url, password string
}

// dial connects the device with a new link (a new paho client: nothing
// of an earlier link's in-flight messages is sent again).
func (d *device) dial(t *testing.T) {
	t.Helper()
	msgs := make(chan link.Message, 64)
	connects := d.connects.Load()
	l, err := link.New(link.Options{URL: d.url, ClientID: "agent-" + d.id, Username: d.id, Password: d.password,
		Subscribe:    []string{wire.DeviceTopic("", d.site, d.id, wire.KindAck)},
		OnConnect:    func() { d.connects.Add(1) },
		OnDisconnect: func(error) { d.disconnects.Add(1) },
		Messages:     msgs})
	if err != nil {
		t.Fatal(err)
	}
	d.l = l
	l.Start()
	testenv.WaitFor(t, 10*time.Second, "device connected", func() bool { return d.connects.Load() > connects })
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for m := range msgs {
			if a, err := wire.DecodeAck(m.Payload); err == nil {
				d.mu.Lock()
				d.acks[a.Epoch] = max(d.acks[a.Epoch], a.StoredThrough)
				d.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() { l.Close("", nil); close(msgs); wg.Wait() })
}

func (e *hubEnv) newDevice(t *testing.T, site string) *device {
	id := site + "-1"
	_, pw, err := e.h.Devices().Add(context.Background(), site, id, "")
	if err != nil {
		t.Fatal(err)
	}
	d := &device{acks: map[string]uint64{}, site: site, id: id, url: e.h.MQTTURL(), password: pw}
	d.dial(t)
	l := d.l
	// Like an agent, it says it is online, its clock synchronised: only
	// the check-ins' own times may flag them for review.
	status, _ := wire.Encode(wire.Status{V: 1, Site: site, Device: id, Epoch: "E1", State: "online",
		At: time.Now().Format(wire.AtLayout), ClockSynced: true, Readers: []wire.ReaderStatus{}})
	if err := l.Publish(context.Background(), wire.DeviceTopic("", site, id, wire.KindStatus), status, true); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, 10*time.Second, "device online in /api/v1/devices", func() bool {
		var body struct {
			Devices []struct{ Device, State string } `json:"devices"`
		}
		e.getJSON(t, "/api/v1/devices?site="+site, &body)
		return len(body.Devices) == 1 && body.Devices[0].State == "online"
	})
	return d
}

func (d *device) ack(epoch string) uint64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.acks[epoch]
}

func (d *device) publish(t *testing.T, payload string) { d.publishOn(t, wire.KindCheckIn, payload) }

// publishOn publishes payload on the device's topic of kind (a status is
// retained, as agents publish it).
func (d *device) publishOn(t *testing.T, kind, payload string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := d.l.Publish(ctx, wire.DeviceTopic("", d.site, d.id, kind), []byte(payload), kind == wire.KindStatus); err != nil {
		t.Logf("publish: %v", err) // the oversized packet's connection is closed under it
	}
}

func (e *hubEnv) get(t *testing.T, path string) (int, string) {
	t.Helper()
	resp, err := http.Get("http://" + e.h.HTTPAddr() + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func (e *hubEnv) getJSON(t *testing.T, path string, into any) {
	t.Helper()
	status, body := e.get(t, path)
	if status != 200 {
		t.Fatalf("GET %s: %d %s", path, status, body)
	}
	if err := json.Unmarshal([]byte(body), into); err != nil {
		t.Fatalf("GET %s: %v: %s", path, err, body)
	}
}

type rejectedBody struct {
	Rejected []struct {
		Site, Device, Reason, Detail, Topic string
	} `json:"rejected"`
}

func (e *hubEnv) rejectionsOf(t *testing.T, device string) []string {
	var body rejectedBody
	e.getJSON(t, "/api/v1/rejected?limit=1000", &body)
	var out []string
	for _, r := range body.Rejected {
		if r.Device == device {
			out = append(out, r.Reason)
		}
	}
	return out
}

type eventsBody struct {
	Events []struct {
		Seq    uint64 `json:"seq"`
		Badge  string `json:"badge"`
		Kind   string `json:"kind"`
		Review bool   `json:"review"`
	} `json:"events"`
}

type countsBody struct {
	Sites []struct {
		Site    string `json:"site"`
		Canteen struct {
			Meals         int `json:"meals"`
			UnknownBadges int `json:"unknown_badges"`
		} `json:"canteen"`
	} `json:"sites"`
}

var metricRe = regexp.MustCompile(`(?m)^pointage_ingest_rejected_total\{reason="([a-z_]+)"\} (\d+)$`)

func (e *hubEnv) rejectedMetrics(t *testing.T) map[string]int {
	_, body := e.get(t, "/metrics")
	out := map[string]int{}
	for _, m := range metricRe.FindAllStringSubmatch(body, -1) {
		n, _ := strconv.Atoi(m[2])
		out[m[1]] = n
	}
	return out
}

// localDay is the hub's local day (Pacific/Noumea) of an RFC 3339 time or
// of now.
func localDay(t *testing.T, s string) string {
	loc, err := time.LoadLocation("Pacific/Noumea")
	if err != nil {
		t.Fatal(err)
	}
	at := time.Now()
	if s != "" {
		if len(s) == len("2006-01-02") {
			return s
		}
		if at, err = time.Parse(time.RFC3339, s); err != nil {
			t.Fatal(err)
		}
	}
	return at.In(loc).Format(time.DateOnly)
}

func (e *hubEnv) checkMQTT(t *testing.T, in mqttIn, want outcome) {
	d := e.newDevice(t, in.site)
	disconnectsBefore := d.disconnects.Load()
	for _, p := range in.payloads {
		if in.status {
			d.publishOn(t, wire.KindStatus, p)
		} else {
			d.publish(t, p)
		}
	}
	day := localDay(t, want.day)
	if want.rejected == "" {
		testenv.WaitFor(t, 10*time.Second, fmt.Sprintf("ack %d", want.acked), func() bool { return d.ack("E1") == want.acked })
	} else {
		e.rejected[want.rejected]++
		testenv.WaitFor(t, 10*time.Second, "rejected "+want.rejected, func() bool {
			r := e.rejectionsOf(t, d.id)
			return len(r) == 1 && r[0] == want.rejected
		})
		testenv.WaitFor(t, 5*time.Second, "counted in /metrics", func() bool {
			return e.rejectedMetrics(t)[want.rejected] == e.rejected[want.rejected]
		})
	}
	if want.disconnected {
		testenv.WaitFor(t, 10*time.Second, "the broker closes the connection", func() bool { return d.disconnects.Load() > disconnectsBefore })
		// The device connects again with a new client: paho would send the
		// oversized packet again on its own reconnection (it is still in
		// its in-flight store), and be closed again. An agent never has
		// such a packet: its outbox, not paho, decides what is sent.
		d.l.Close("", nil)
		d.dial(t)
		// The connection carries a valid check-in again (epoch E2).
		// Published again until acked, as the agent's outbox does.
		next := strings.Replace(checkIn(in.site, 1, "0B000000FE", time.Now().Format(wire.AtLayout)), `"epoch":"E1"`, `"epoch":"E2"`, 1)
		testenv.WaitFor(t, 20*time.Second, "the next check-in acked", func() bool {
			if d.ack("E2") == 1 {
				return true
			}
			d.publish(t, next)
			deadline := time.Now().Add(2 * time.Second)
			for d.ack("E2") != 1 && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			return d.ack("E2") == 1
		})
	} else if d.disconnects.Load() != disconnectsBefore {
		t.Errorf("the connection was closed for a message the broker could read")
	}
	time.Sleep(100 * time.Millisecond) // an extra (wrong) Ack would have arrived by now
	if want.rejected != "" {
		if a := d.ack("E1"); a != 0 {
			t.Errorf("acked %d for a refused message", a)
		}
		if r := e.rejectionsOf(t, d.id); len(r) != 1 {
			t.Errorf("rejections %v, want one %s", r, want.rejected)
		}
	} else if a := d.ack("E1"); a != want.acked {
		t.Errorf("ack %d, want %d", a, want.acked)
	}

	var ev eventsBody
	e.getJSON(t, "/api/v1/events?site="+in.site+"&date="+day, &ev)
	var kinds []string
	for i, x := range ev.Events {
		kinds = append(kinds, x.Kind)
		if x.Review != want.review {
			t.Errorf("event %d (seq %d, %s): review %v, want %v", i, x.Seq, x.Badge, x.Review, want.review)
		}
	}
	if strings.Join(kinds, ",") != strings.Join(want.kinds, ",") {
		t.Errorf("events of %s on %s: kinds %v, want %v: %+v", in.site, day, kinds, want.kinds, ev.Events)
	}
	if len(ev.Events) > 0 && want.acked > 0 {
		seqs := map[uint64]bool{}
		for _, x := range ev.Events {
			seqs[x.Seq] = true
		}
		if len(seqs) != int(want.acked) {
			t.Errorf("seqs stored %v, want 1..%d once each", seqs, want.acked)
		}
	}
	var c countsBody
	e.getJSON(t, "/api/v1/counts?site="+in.site+"&date="+day, &c)
	if len(c.Sites) != 1 || c.Sites[0].Site != in.site {
		t.Fatalf("counts: %+v", c)
	}
	if got := c.Sites[0].Canteen; got.Meals != want.meals || got.UnknownBadges != want.unknownBadges {
		t.Errorf("canteen of %s on %s: meals %d unknown_badges %d, want %d and %d", in.site, day, got.Meals, got.UnknownBadges, want.meals, want.unknownBadges)
	}
	if want.unknownListed != nil {
		var ub struct {
			Unknown []struct {
				Site, Badge string
				Scans       int
			} `json:"unknown_badges"`
		}
		e.getJSON(t, "/api/v1/unknown-badges?site="+in.site+"&date="+day, &ub)
		var got []string
		for _, u := range ub.Unknown {
			got = append(got, u.Badge)
		}
		if strings.Join(got, ",") != strings.Join(want.unknownListed, ",") {
			t.Errorf("unknown badges %v, want %v", got, want.unknownListed)
		}
	}
}

// corrections is the API path of corrections; correction is an absence
// correction's body with fields added (and the reason, if given).
const corrections = "/api/v1/corrections"

func correction(fields string, reason ...string) string {
	why := "malade"
	if len(reason) > 0 {
		why = reason[0]
	}
	return `{"kind":"absence","site":"bi-corr","day":"2026-12-01",` + fields + `,"reason":"` + why + `"}`
}

func (e *hubEnv) checkAPI(t *testing.T, in apiIn, want outcome) {
	if in.body != "" {
		e.checkPost(t, in, want)
		return
	}
	status, body := e.get(t, in.path)
	if status != want.status {
		t.Fatalf("GET %s: %d, want %d: %s", in.path, status, want.status, body)
	}
	if status >= 400 {
		var msg struct {
			Error string `json:"error"`
		}
		if err := json.Unmarshal([]byte(body), &msg); err != nil || msg.Error == "" {
			t.Fatalf("GET %s: not a JSON error: %s", in.path, body)
		}
		if !strings.Contains(msg.Error, want.errHas) {
			t.Fatalf("GET %s: error %q, want it to say %q", in.path, msg.Error, want.errHas)
		}
		return
	}
	if !strings.Contains(body, want.errHas) {
		t.Fatalf("GET %s: body lacks %s: %.300s", in.path, want.errHas, body)
	}
}

// checkPost posts in.body to in.path: the answer is want.status with
// want.errHas in its body (in the JSON error for a refusal), and exactly
// one correction more is listed if and only if it was accepted.
func (e *hubEnv) checkPost(t *testing.T, in apiIn, want outcome) {
	var before, after struct {
		Corrections []json.RawMessage `json:"corrections"`
	}
	e.getJSON(t, corrections, &before)
	resp, err := http.Post("http://"+e.h.HTTPAddr()+in.path, "application/json", strings.NewReader(in.body))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != want.status {
		t.Fatalf("POST %s: %d, want %d: %s", in.path, resp.StatusCode, want.status, body)
	}
	if resp.StatusCode >= 400 {
		var msg struct {
			Error string `json:"error"`
		}
		if err := json.Unmarshal(body, &msg); err != nil || !strings.Contains(msg.Error, want.errHas) {
			t.Fatalf("POST %s: error %s, want a JSON error that says %q", in.path, body, want.errHas)
		}
	} else if !strings.Contains(string(body), want.errHas) {
		t.Fatalf("POST %s: body lacks %s: %.300s", in.path, want.errHas, body)
	}
	e.getJSON(t, corrections, &after)
	added := len(after.Corrections) - len(before.Corrections)
	if accepted := resp.StatusCode < 300; accepted && added != 1 || !accepted && added != 0 {
		t.Errorf("%d corrections added by a POST answered %d", added, resp.StatusCode)
	}
}
