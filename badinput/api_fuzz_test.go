package badinput_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"pointage/hub/auth"
	"pointage/hub/users"
)

// The users FuzzAPI authenticates as, by its role argument (the last one
// sends no credentials).
var fzapiUsers = []struct{ name, role, site string }{
	{"fz-office", "office", ""},
	{"fz-school", "school", "jules-ferry"},
	{"fz-kitchen", "kitchen", ""},
	{"", "", ""},
}

const fzapiPassword = "fuzz-password-1234"

const fzapiRoster = rosterHead +
	"0C00000001;E001;child;Wamytan;Léa;jules-ferry;CP;standard;lu ma me je ve sa di;soir\n" +
	"0C00000002;E002;child;Kaloi;Marc;pasteur;CE1;sans-porc;lu ma je ve;\n" +
	"0C00000003;S001;staff;Gope;Ana;jules-ferry;;standard;lu ma me je ve;\n"

// fzapiEndpoints are the API's GET endpoints (as in hub/api's FuzzAPIQuery)
// and the others the hub serves.
var fzapiEndpoints = []string{
	"/api/v1/counts", "/api/v1/events", "/api/v1/unknown-badges", "/api/v1/devices", "/api/v1/rejected",
	"/api/v1/corrections", "/api/v1/export", "/api/v1/stream", "/api/v1/school", "/api/v1/people",
	"/api/v1/alerts", "/api/v1/series/day", "/api/v1/series/month", "/api/v1/people/E001/history", "/api/v1/audit",
	"/api/v1/names", "/api/v1/sites", "/api/v1/backup", "/api/v1/devices/jules-ferry-1/config",
	"/healthz", "/metrics", "/", "/connexion", "/api/v1/nowhere",
}

const fzapiCorrections = "/api/v1/corrections"

// fzapiClient talks to the hub: a short timeout, redirects not followed
// (a POST redirected would come back as a GET).
var fzapiClient = &http.Client{
	Timeout:       2 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

type fzapiResponse struct {
	status int
	ctype  string
	body   []byte
	stream bool // text/event-stream: closed after the headers
}

// fzapiDo sends one request to the hub; user "" sends no credentials.
func fzapiDo(ctx context.Context, base, method, path, rawQuery string, body []byte, user string) (fzapiResponse, error) {
	u, err := url.Parse(base)
	if err != nil {
		return fzapiResponse{}, err
	}
	u.Path, u.RawQuery = path, rawQuery
	var rd io.Reader
	if len(body) > 0 {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return fzapiResponse{}, err
	}
	req.URL = u // as given: u.String() and back would normalize it
	if user != "" {
		req.SetBasicAuth(user, fzapiPassword)
	}
	if len(body) > 0 {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := fzapiClient.Do(req)
	if err != nil {
		return fzapiResponse{}, err
	}
	defer resp.Body.Close()
	r := fzapiResponse{status: resp.StatusCode, ctype: resp.Header.Get("Content-Type")}
	if strings.HasPrefix(r.ctype, "text/event-stream") {
		r.stream = true // the stream goes on: its headers are enough
		return r, nil
	}
	r.body, err = io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	return r, err
}

// fzapiCount returns how many corrections the office sees.
func fzapiCount(t *testing.T, base string) int {
	t.Helper()
	r, err := fzapiDo(context.Background(), base, "GET", fzapiCorrections, "from=0001-01-01&to=9999-12-31", nil, fzapiUsers[0].name)
	if err != nil || r.status != 200 {
		t.Fatalf("list corrections: %v %d %s", err, r.status, r.body)
	}
	var list struct {
		Corrections []json.RawMessage `json:"corrections"`
	}
	if err := json.Unmarshal(r.body, &list); err != nil {
		t.Fatalf("list corrections: %v: %s", err, r.body)
	}
	return len(list.Corrections)
}

// fzapiQuery makes a fuzzed query sendable: bytes a request line cannot
// carry (controls, spaces, non-ASCII) are percent-encoded, the rest is
// sent as is.
func fzapiQuery(q string) string {
	var b strings.Builder
	for i := 0; i < len(q); i++ {
		if c := q[i]; c <= ' ' || c >= 0x7f || c == '#' {
			fmt.Fprintf(&b, "%%%02X", c)
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}

// FuzzAPI sends any method, path, query and body, as any role or none, over
// real HTTP to one real in-process hub (a real hub.db, roster and users):
// never a 5xx; every 4xx under /api/v1/ is a JSON {"error": "..."}; the hub
// stays healthy; a refused write records nothing, and an accepted
// correction is recorded exactly once (none when it is a client_id replay).
func FuzzAPI(f *testing.F) {
	today := time.Now().Format("2006-01-02")
	at := time.Now().Format(time.RFC3339)
	add := func(method, path, query, body string, role uint8) { f.Add(method, path, query, []byte(body), role) }

	queries := []string{"", "date=" + today, "date=0000-01-01", "date=2026-02-30", "site=jules-ferry", "site=nowhere",
		"site=Bad%20Site", "date=9999-12-31&site=pasteur", "limit=100000", "limit=-1", "from=2000-01-01&to=2026-11-28",
		"from=2026-11-30&to=2026-11-01", "kind=meals&month=0000-01", "kind=staff&month=2026-11&format=xlsx", "month=1999-12",
		"date=%zz", "site=jules-ferry&site=pasteur", "from=0001-01-01&to=9999-12-31&limit=1000"}
	for i, p := range fzapiEndpoints {
		for j, q := range queries {
			if (i+j)%13 == 0 {
				add("GET", p, q, "", uint8(i+j))
			}
		}
	}
	add("GET", "/api/v1/export", "kind=meals&month=0000-01", "", 0)
	add("GET", "/api/v1/counts", "date=0000-01-01", "", 0)
	add("GET", "/api/v1/people/%00/history", "", "", 0)
	add("GET", "/api/v1/../counts", "date="+today, "", 1)
	add("GET", "/api/v1/stream", "site=jules-ferry", "", 0)
	add("HEAD", "/api/v1/counts", "date=x", "", 0)
	add("DELETE", fzapiCorrections, "", "", 0)
	add("PUT", fzapiCorrections, "", `{}`, 0)

	// Corrections, valid, as office and as school.
	scan := `{"kind":"add_scan","site":"jules-ferry","day":"` + today + `","person_id":"E001","service":"canteen","dir":"in","at":"` + at + `","reason":"badge forgotten"}`
	void := `{"kind":"void_scan","site":"jules-ferry","day":"` + today + `","event_id":"01JDXYZ","reason":"wrong child"}`
	absence := `{"kind":"absence","site":"pasteur","day":"` + today + `","person_id":"E002","reason":"ill"}`
	clockOut := `{"kind":"close_clockout","site":"jules-ferry","day":"` + today + `","person_id":"S001","at":"` + at + `","reason":"forgot to badge out"}`
	withID := `{"kind":"absence","site":"jules-ferry","day":"` + today + `","person_id":"E001","reason":"ill","client_id":"tablet-1_42"}`
	lost := `{"kind":"declare_lost","site":"jules-ferry","device":"jules-ferry-1","epoch":"E1","from_seq":1,"to_seq":3,"reason":"agent lost it"}`
	for role, body := range []string{scan, void, absence, clockOut, withID, lost} {
		add("POST", fzapiCorrections, "", body, 0)
		add("POST", fzapiCorrections, "", body, uint8(1+role%3))
	}
	add("POST", fzapiCorrections, "", strings.Replace(scan, `"day":"`+today+`",`, "", 1), 0) // day: today
	// Bodies that are not corrections.
	for _, body := range []string{
		"", "null", "[]", "{}", `""`, "0", "{", `{"kind":"absence"}{"kind":"absence"}`,
		strings.Replace(absence, `"person_id":"E002"`, `"person_id":"E002","person_id":"E001"`, 1), // duplicate key
		strings.Replace(absence, `"kind":`, `"KIND":`, 1),
		strings.Replace(absence, `{`, `{"colour":"red",`, 1), // unknown field
		strings.Replace(lost, `"to_seq":3`, `"to_seq":18446744073709551616`, 1),
		strings.Replace(lost, `"from_seq":1`, `"from_seq":1e400`, 1),
		strings.Replace(lost, `"from_seq":1,"to_seq":3`, `"from_seq":1,"to_seq":18446744073709551615`, 1),
		strings.Replace(lost, `"from_seq":1`, `"from_seq":-1`, 1),
		strings.Replace(scan, `"at":"`+at+`"`, `"at":"99999-01-01T00:00:00Z"`, 1),
		strings.Replace(scan, `"at":"`+at+`"`, `"at":1e400`, 1),
		strings.Replace(absence, "ill", "ill \xff\xfe", 1), // invalid UTF-8
		strings.Replace(absence, "ill", `ill \ud800`, 1),   // lone surrogate
		strings.Replace(absence, "ill", "ill \x00", 1),     // raw NUL
		strings.Replace(absence, "E002", `E\u0000002`, 1),  // escaped NUL
		strings.Replace(absence, "ill", strings.Repeat("x", 501), 1),
		strings.Replace(absence, `"reason":"ill"`, `"reason":`+strings.Repeat("[", 5000)+strings.Repeat("]", 5000), 1), // deep nesting
		strings.Replace(absence, "ill", strings.Repeat("x", 20<<10), 1),                                                // 20 KiB
		strings.Replace(absence, `"day":"`+today+`"`, `"day":"0000-01-01"`, 1),
		strings.Replace(absence, `"day":"`+today+`"`, `"day":"9999-12-31"`, 1),
		strings.Replace(withID, "tablet-1_42", strings.Repeat("a", 65), 1),
		strings.Replace(withID, "ill", "another reason", 1), // same client_id, another correction
	} {
		add("POST", fzapiCorrections, "", body, 0)
	}
	add("POST", fzapiCorrections, "", withID, 0)  // the same again: a replay
	add("POST", fzapiCorrections, "", absence, 1) // school for another site
	add("POST", fzapiCorrections, "", absence, 2) // kitchen
	add("POST", fzapiCorrections, "", absence, 3) // no credentials
	// Display names (docs/DESIGN.md §12).
	for _, body := range []string{`{"name":"École Jules Ferry"}`, `{"name":""}`, `{}`, `{"name":null}`, `{"name":"a\tb"}`,
		`{"name":"` + strings.Repeat("é", 101) + `"}`, `{"name":"x","Name":"y"}`, `{"name":"\ud800"}`, "[]"} {
		add("PUT", "/api/v1/sites/jules-ferry/name", "", body, 0)
	}
	add("PUT", "/api/v1/sites/Bad%20Site/name", "", `{"name":"x"}`, 0)
	add("PUT", "/api/v1/sites/jules-ferry/name", "", `{"name":"x"}`, 1) // school
	add("POST", "/api/v1/counts", "", absence, 0)
	add("POST", "/api/v1/corrections/", "", absence, 0)
	add("POST", "/api/v1//corrections", "", absence, 0)
	// Enrolment (no user) and reader lists (docs/DESIGN.md §14): refused, never a 5xx.
	for _, body := range []string{"", "{}", `{"code":""}`, `{"code":"ZZZZ-ZZZZ-ZZZZ"}`, `{"code":"` + strings.Repeat("A", 5000) + `"}`,
		`{"code":1}`, `{"code":"a","code":"b"}`, `{"code":"\u0000"}`, "[]", "null"} {
		add("POST", "/api/v1/enrol", "", body, 3)
	}
	for _, body := range []string{`{"readers":[]}`, `{"readers":null}`, `{"readers":[{"name":"a"}]}`, `{"readers":[{"name":"e","port":"COM3","profile":"rdm6300","service":"canteen","debounce":"1e400s"}]}`,
		`{"readers":` + strings.Repeat("[", 3000) + strings.Repeat("]", 3000) + `}`} {
		add("PUT", "/api/v1/devices/jules-ferry-1/config", "", body, 0)
		add("PUT", "/api/v1/devices/nowhere/config", "", body, 0)
	}
	add("POST", "/api/v1/backup", "", "", 0)
	add("POST", "/connexion", "", "name=fz-office&password=x", 3)
	add("POST", "/deconnexion", "", "", 0)

	h := startHub(f, "", nil, fzapiRoster)
	// bcrypt's real cost takes ~2 s a check under the race detector on 2
	// busy cores: the first request of each user would hit the client's
	// timeout, which is there to catch a stalled hub, not a slow hash.
	users.FastBcryptForTest(h.Users())
	ctx := context.Background()
	for _, u := range fzapiUsers {
		if u.name == "" {
			continue
		}
		if _, err := h.Users().Add(ctx, u.name, auth.Role(u.role), u.site, fzapiPassword); err != nil {
			f.Fatal(err)
		}
	}
	base := h.HTTPURL()

	f.Fuzz(func(t *testing.T, method, path, rawQuery string, body []byte, role uint8) {
		if _, err := http.NewRequest(method, "http://x/", nil); err != nil || method == "" || len(method) > 16 || method == "CONNECT" {
			method = "GET"
		}
		if !strings.HasPrefix(path, "/") {
			path = "/" + path
		}
		rawQuery = fzapiQuery(rawQuery)
		user := fzapiUsers[int(role)%len(fzapiUsers)].name
		// Only writes are checked against the corrections list.
		write := method != "GET" && method != "HEAD"
		before := 0
		if write {
			before = fzapiCount(t, base)
		}
		what := fmt.Sprintf("%s %s?%s as %q, body %q", method, path, rawQuery, user, fzapiTrim(body))

		rctx, cancel := context.WithCancel(context.Background())
		r, err := fzapiDo(rctx, base, method, path, rawQuery, body, user)
		cancel()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if r.status >= 500 {
			t.Fatalf("%s: %d %s", what, r.status, r.body)
		}
		if r.status >= 400 && strings.HasPrefix(path, "/api/v1/") {
			if !strings.HasPrefix(r.ctype, "application/json") {
				t.Fatalf("%s: %d with Content-Type %q: %q", what, r.status, r.ctype, r.body)
			}
			var e struct {
				Error string `json:"error"`
			}
			if method != "HEAD" { // a HEAD answer has no body
				if err := json.Unmarshal(r.body, &e); err != nil || e.Error == "" {
					t.Fatalf("%s: %d without a JSON error: %q", what, r.status, r.body)
				}
			}
		}
		hr, err := fzapiDo(context.Background(), base, "GET", "/healthz", "", nil, "")
		if err != nil || hr.status != 200 {
			t.Fatalf("after %s: /healthz: %v %d %s", what, err, hr.status, hr.body)
		}
		if !write {
			return
		}
		want := before
		if r.status >= 200 && r.status < 300 && method == "POST" && path == fzapiCorrections {
			var saved struct {
				ID     string `json:"id"`
				Replay bool   `json:"replay"`
			}
			if err := json.Unmarshal(r.body, &saved); err != nil || saved.ID == "" {
				t.Fatalf("%s: %d, not a correction: %q", what, r.status, r.body)
			}
			if !saved.Replay {
				want++
			}
		}
		if after := fzapiCount(t, base); after != want {
			t.Fatalf("%s: %d %s: %d corrections before, %d after, want %d", what, r.status, r.body, before, after, want)
		}
	})
}

// fzapiTrim shortens a body for a message.
func fzapiTrim(b []byte) string {
	if len(b) > 200 {
		return string(b[:200]) + fmt.Sprintf("... (%d bytes)", len(b))
	}
	return string(b)
}
