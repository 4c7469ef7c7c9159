package hub_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"pointage/hub"
	"pointage/hub/audit"
	"pointage/hub/auth"
	"pointage/hub/export"
	"pointage/hub/roster"
	"pointage/hub/users"
	"pointage/internal/civil"
	"pointage/internal/wire"
)

// closedDaysHub is a hub whose calendar file closes every site ten days
// ago, with a roster at jules-ferry (3 children expected every day) and
// pasteur (1), a canteen check-in at jules-ferry today and three days ago,
// and users: marie (office), directrice (school, jules-ferry), pasteur-dir
// (school, pasteur), cuisine (kitchen).
func closedDaysHub(t *testing.T) (h *hub.Hub, cfg hub.Config, today, past, fileDay civil.Date) {
	t.Helper()
	loc, err := time.LoadLocation("Pacific/Noumea")
	if err != nil {
		t.Fatal(err)
	}
	today = civil.DateOf(time.Now().In(loc))
	past, fileDay = today.AddDays(-3), today.AddDays(-10)
	cfg = config()
	cfg.DataDir = t.TempDir()
	cfg.Calendar = filepath.Join(t.TempDir(), "calendar.yaml")
	yaml := "closed:\n  - {date: " + fileDay.String() + ", reason: \"Fête (fichier)\"}\n"
	if err := os.WriteFile(cfg.Calendar, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	h = startHub(t, cfg)
	ctx := context.Background()
	parsed, err := roster.Parse(strings.NewReader(rosterCSV + "0B00000001;P001;child;Kasarhérou;Tom;pasteur;CP;standard;lu ma me je ve sa di;\n"))
	if err != nil || len(parsed.Errors) > 0 {
		t.Fatal(err, parsed.Errors)
	}
	if _, err := h.Roster().Import(ctx, parsed.People, civil.MinDate.AddDays(1), nil); err != nil {
		t.Fatal(err)
	}
	users.FastBcryptForTest(h.Users())
	for _, u := range []struct {
		name string
		role auth.Role
		site string
	}{{"marie", auth.RoleOffice, ""}, {"directrice", auth.RoleSchool, "jules-ferry"}, {"pasteur-dir", auth.RoleSchool, "pasteur"}, {"cuisine", auth.RoleKitchen, ""}} {
		if _, err := h.Users().Add(ctx, u.name, u.role, u.site, "motdepasse-"+u.name); err != nil {
			t.Fatal(err)
		}
	}
	_, pw, _ := h.Devices().Add(ctx, "jules-ferry", "jf-cantine-1", "")
	d := newDevice(t, h.MQTTURL(), "jules-ferry", "jf-cantine-1", pw)
	for i, day := range []civil.Date{past, today} {
		c := d.checkIn("E1", uint64(i+1), "") // now
		c.Badge = "0A00000001"                // Léa
		if day == past {
			c.At = day.In(loc).Add(11*time.Hour + 30*time.Minute).Format(wire.AtLayout)
		}
		d.publish(c)
	}
	waitFor(t, 10*time.Second, "check-ins acked", func() bool { return d.ack("E1") == 2 })
	return h, cfg, today, past, fileDay
}

// expected is "site:expected" for each site of GET /api/v1/counts of a
// day, as marie, with the warnings' codes: "jules-ferry:3 pasteur:1".
func expected(t *testing.T, h *hub.Hub, day civil.Date) string {
	t.Helper()
	status, body := call(t, h, "GET", "/api/v1/counts?date="+day.String(), "marie", "motdepasse-marie", nil)
	var v struct {
		Sites []struct {
			Site    string `json:"site"`
			Canteen struct {
				Expected int `json:"expected"`
				Meals    int `json:"meals"`
			} `json:"canteen"`
			Warnings []struct {
				Code string `json:"code"`
			} `json:"warnings"`
		} `json:"sites"`
	}
	if status != 200 || json.Unmarshal([]byte(body), &v) != nil {
		t.Fatalf("counts of %s: %d %s", day, status, body)
	}
	var out []string
	for _, s := range v.Sites {
		x := s.Site + ":" + strconv.Itoa(s.Canteen.Expected)
		for _, w := range s.Warnings {
			x += "!" + w.Code
		}
		out = append(out, x)
	}
	return strings.Join(out, " ")
}

// Closed days entered through the API (docs/DESIGN.md §12) apply at once to
// the expected counts, of today (the running figures, and the live stream)
// and of a past day already cached in hub.db; removed, the figures are back
// as before. One site or the whole city; the calendar file's entry still
// closes its day and cannot be removed; office only; audited.
func TestClosedDaysAPI(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	h, cfg, today, past, fileDay := closedDaysHub(t)
	const (
		open        = "jules-ferry:3 pasteur:1"
		jfClosed    = "jules-ferry:0!scans_on_closed_day pasteur:1"
		cityClosed  = "jules-ferry:0!scans_on_closed_day pasteur:0"
		fileClosed  = "jules-ferry:0 pasteur:0"
		marie, mpw  = "marie", "motdepasse-marie"
		directrice  = "directrice"
		pasteurDir  = "pasteur-dir"
		closedDays  = "/api/v1/closed-days"
		wantCreated = 201
	)
	if got := expected(t, h, fileDay); got != fileClosed {
		t.Fatalf("the calendar file's day: %s, want %s", got, fileClosed)
	}
	if got := expected(t, h, past); got != open {
		t.Fatalf("%s before any closed day: %s, want %s", past, got, open)
	}
	var cached int
	if err := h.State().DB.QueryRow(`SELECT count(*) FROM day_counts WHERE day = ?`, past.String()).Scan(&cached); err != nil || cached != 1 {
		t.Fatalf("the past day's counts are not cached in hub.db (%d, %v): the test would prove nothing", cached, err)
	}
	if got := expected(t, h, today); got != open {
		t.Fatalf("today before any closed day: %s, want %s", got, open)
	}

	// An open live stream hears of a closed day today.
	stream := counts(t, h, marie, mpw)

	add := func(user string, body any, want int) map[string]any {
		t.Helper()
		status, got := call(t, h, "POST", closedDays, user, "motdepasse-"+user, body)
		if status != want {
			t.Fatalf("POST %v as %s: %d, want %d: %s", body, user, status, want, got)
		}
		out := map[string]any{}
		json.Unmarshal([]byte(got), &out)
		return out
	}
	strike := add(marie, map[string]any{"from": past.String(), "sites": []string{"jules-ferry"}, "reason": "Grève"}, wantCreated)
	if strike["source"] != "dashboard" || strike["from"] != past.String() || strike["to"] != past.String() || strike["created_by"] != marie {
		t.Fatalf("added: %v", strike)
	}
	if got := expected(t, h, past); got != jfClosed {
		t.Errorf("%s with a strike at jules-ferry: %s, want %s", past, got, jfClosed)
	}
	if got := expected(t, h, today); got != open {
		t.Errorf("today, the strike being on %s: %s, want %s", past, got, open)
	}
	// A command beside the running hub (an offline export) sees it too.
	st, err := hub.OpenState(context.Background(), cfg, hub.StateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	e, err := st.Days.Export(context.Background(), export.Meals, past.String()[:7], "jules-ferry", nil)
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	var rows []string
	for _, r := range e.Meals {
		if r.Date == past {
			rows = append(rows, r.PersonID+" "+r.Status)
		}
	}
	if got := strings.Join(rows, ","); got != "E001 "+export.StatusOccasional {
		t.Errorf("the export command's meals of %s at jules-ferry: %q, want Léa's, not expected (the school was closed)", past, got)
	}
	city := add(marie, map[string]any{"from": today.String(), "to": today.AddDays(1).String(), "reason": "Grève générale"}, wantCreated)
	if got := expected(t, h, today); got != cityClosed {
		t.Errorf("today, closed city-wide: %s, want %s", got, cityClosed)
	}
	for deadline, last := time.After(5*time.Second), ""; ; {
		select {
		case last = <-stream:
			if !strings.Contains(last, `"expected":0`) || strings.Contains(last, `"expected":3`) {
				continue // the strike of another day's signal
			}
		case <-deadline:
			t.Errorf("the live stream did not send today's closure within 5 s; last: %.300s", last)
		}
		break
	}

	// Who sees what.
	list := func(user string) (int, []map[string]any) {
		t.Helper()
		status, body := call(t, h, "GET", closedDays+"?from="+fileDay.String()+"&to="+today.AddDays(30).String(), user, "motdepasse-"+user, nil)
		var v struct {
			ClosedDays []map[string]any `json:"closed_days"`
		}
		json.Unmarshal([]byte(body), &v)
		return status, v.ClosedDays
	}
	describe := func(es []map[string]any) string {
		var out []string
		for _, e := range es {
			out = append(out, e["source"].(string)+" "+e["from"].(string)+" "+e["reason"].(string))
		}
		return strings.Join(out, ", ")
	}
	_, all := list(marie)
	want := "config " + fileDay.String() + " Fête (fichier), dashboard " + past.String() + " Grève, dashboard " + today.String() + " Grève générale"
	if got := describe(all); got != want {
		t.Errorf("the office's list: %s\nwant %s", got, want)
	}
	if all[0]["id"] != "config-1" || all[0]["line"] != float64(2) || all[1]["id"] != strike["id"] {
		t.Errorf("ids and lines: %v", all)
	}
	if _, mine := list(directrice); describe(mine) != want {
		t.Errorf("jules-ferry's list: %s, want %s", describe(mine), want)
	}
	wantPasteur := "config " + fileDay.String() + " Fête (fichier), dashboard " + today.String() + " Grève générale"
	if _, theirs := list(pasteurDir); describe(theirs) != wantPasteur {
		t.Errorf("pasteur's list: %s, want %s (not jules-ferry's strike)", describe(theirs), wantPasteur)
	}
	if status, _ := list("cuisine"); status != 403 {
		t.Errorf("the kitchen's list: %d, want 403", status)
	}

	// Schools read, never write.
	body := map[string]any{"from": today.AddDays(7).String(), "sites": []string{"jules-ferry"}, "reason": "Sortie"}
	if status, got := call(t, h, "POST", closedDays, directrice, "motdepasse-directrice", body); status != 403 || !strings.Contains(got, `"error"`) {
		t.Errorf("a school adds a closed day: %d %s, want 403", status, got)
	}
	if status, _ := call(t, h, "DELETE", closedDays+"/"+strike["id"].(string), directrice, "motdepasse-directrice", nil); status != 403 {
		t.Errorf("a school removes a closed day: %d, want 403", status)
	}
	if got := expected(t, h, past); got != jfClosed {
		t.Errorf("after the school's refused removal: %s, want %s", got, jfClosed)
	}

	// The calendar file's entry cannot be removed here.
	status, got := call(t, h, "DELETE", closedDays+"/config-1", marie, mpw, nil)
	if status != 409 || !strings.Contains(got, "edit the calendar file") || !strings.Contains(got, "line 2") {
		t.Errorf("DELETE config-1: %d %s, want 409 saying to edit the file", status, got)
	}
	if got := expected(t, h, fileDay); got != fileClosed {
		t.Errorf("the file's day after the refused removal: %s", got)
	}

	// Removed: back as before, at once.
	for _, e := range []map[string]any{strike, city} {
		if status, got := call(t, h, "DELETE", closedDays+"/"+e["id"].(string), marie, mpw, nil); status != 204 {
			t.Fatalf("DELETE %v: %d %s", e["id"], status, got)
		}
	}
	if got := expected(t, h, past); got != open {
		t.Errorf("%s after the strike was removed: %s, want %s", past, got, open)
	}
	if got := expected(t, h, today); got != open {
		t.Errorf("today after the closure was removed: %s, want %s", got, open)
	}
	if status, got := call(t, h, "DELETE", closedDays+"/"+strike["id"].(string), marie, mpw, nil); status != 404 {
		t.Errorf("DELETE twice: %d %s, want 404", status, got)
	}
	if _, left := list(marie); describe(left) != "config "+fileDay.String()+" Fête (fichier)" {
		t.Errorf("the list after the removals: %s", describe(left))
	}

	// Audited: who, what, when.
	var log struct{ Entries []audit.Entry }
	_, raw := call(t, h, "GET", "/api/v1/audit?user=marie", marie, mpw, nil)
	if err := json.Unmarshal([]byte(raw), &log); err != nil {
		t.Fatal(err)
	}
	var seen []string
	for _, e := range log.Entries {
		if e.Action == audit.ClosedDayAdded || e.Action == audit.ClosedDayRemoved {
			if e.At.IsZero() || e.Addr != "127.0.0.1" {
				t.Errorf("audit entry without time or address: %+v", e)
			}
			seen = append(seen, e.Action+" "+e.Target+" "+e.Detail)
		}
	}
	wantAudit := []string{
		audit.ClosedDayRemoved + " " + city["id"].(string) + " " + today.String() + " to " + today.AddDays(1).String() + " every site: Grève générale",
		audit.ClosedDayRemoved + " " + strike["id"].(string) + " " + past.String() + " jules-ferry: Grève",
		audit.ClosedDayAdded + " " + city["id"].(string) + " " + today.String() + " to " + today.AddDays(1).String() + " every site: Grève générale",
		audit.ClosedDayAdded + " " + strike["id"].(string) + " " + past.String() + " jules-ferry: Grève",
	}
	if strings.Join(seen, "\n") != strings.Join(wantAudit, "\n") {
		t.Errorf("audit log (newest first):\n%s\nwant\n%s", strings.Join(seen, "\n"), strings.Join(wantAudit, "\n"))
	}
}

// counts opens GET /api/v1/stream and returns a channel of the counts
// events after the first one (read here).
func counts(t *testing.T, h *hub.Hub, user, password string) <-chan string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+h.HTTPAddr()+"/api/v1/stream", nil)
	req.SetBasicAuth(user, password)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("stream: %v %v", resp, err)
	}
	events := make(chan string, 16)
	first := make(chan struct{})
	go func() {
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		n := 0
		for sc.Scan() {
			if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				if n++; n == 1 {
					close(first)
					continue
				}
				events <- data
			}
		}
	}()
	select {
	case <-first:
	case <-time.After(5 * time.Second):
		t.Fatal("no first counts event on the stream")
	}
	return events
}

// Bad requests to the closed days' endpoints: 400 naming the field, with
// a JSON message; nothing recorded.
func TestClosedDaysBadRequests(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	h := privacyHub(t)
	tests := []struct {
		name, method, path string
		body               any // string: sent as is
		want               int
		msg                string
	}{
		{"no from", "POST", "", map[string]any{"to": "2026-11-27", "reason": "Grève"}, 400, "from: required"},
		{"French date", "POST", "", map[string]any{"from": "27/11/2026", "reason": "Grève"}, 400, `from \"27/11/2026\"`},
		{"no such day", "POST", "", map[string]any{"from": "2026-02-29", "reason": "Grève"}, 400, "from"},
		{"to before from", "POST", "", map[string]any{"from": "2026-11-27", "to": "2026-11-20", "reason": "Grève"}, 400, "to: 2026-11-20 is before from"},
		{"over a year", "POST", "", map[string]any{"from": "2026-01-01", "to": "2027-03-01", "reason": "Grève"}, 400, "to: 2026-01-01 to 2027-03-01 is more than a year"},
		{"year 0026", "POST", "", map[string]any{"from": "0026-11-27", "reason": "Grève"}, 400, "from: 0026-11-27 is not a day of this century"},
		{"site not an id", "POST", "", map[string]any{"from": "2026-11-27", "sites": []string{"Jules Ferry"}, "reason": "Grève"}, 400, `sites: \"Jules Ferry\" is not a site id`},
		{"empty site list", "POST", "", map[string]any{"from": "2026-11-27", "sites": []string{}, "reason": "Grève"}, 400, "sites: empty list"},
		{"sites not a list", "POST", "", map[string]any{"from": "2026-11-27", "sites": "jules-ferry", "reason": "Grève"}, 400, "sites"},
		{"no reason", "POST", "", map[string]any{"from": "2026-11-27"}, 400, "reason: required"},
		{"blank reason", "POST", "", map[string]any{"from": "2026-11-27", "reason": "   "}, 400, "reason: required"},
		{"reason on two lines", "POST", "", map[string]any{"from": "2026-11-27", "reason": "Grève\nsuite"}, 400, "reason: at most 200 characters"},
		{"reason too long", "POST", "", map[string]any{"from": "2026-11-27", "reason": strings.Repeat("x", 201)}, 400, "reason: at most 200 characters"},
		{"unknown field", "POST", "", map[string]any{"date": "2026-11-27", "reason": "Grève"}, 400, "date"},
		{"null", "POST", "", `{"from":null,"reason":"Grève"}`, 400, "from"},
		{"duplicate key", "POST", "", `{"from":"2026-11-27","from":"2026-11-28","reason":"Grève"}`, 400, "from"},
		{"not JSON", "POST", "", "grève demain", 400, "body"},
		{"empty body", "POST", "", "", 400, "body"},
		{"bad id", "DELETE", "/abc", nil, 400, "id: "},
		{"unknown id", "DELETE", "/4242", nil, 404, "no such closed day"},
		{"unknown config id", "DELETE", "/config-1", nil, 404, "no such closed day"}, // this hub has no calendar file
		{"bad from", "GET", "?from=2026-13-01", nil, 400, "from: want YYYY-MM-DD"},
		{"bad to", "GET", "?to=demain", nil, 400, "to: want YYYY-MM-DD"},
		{"to before from", "GET", "?from=2026-11-27&to=2026-11-01", nil, 400, "to: 2026-11-01 is before from"},
		{"too long a period", "GET", "?from=2020-01-01&to=2026-01-01", nil, 400, "to: at most"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var status int
			var got string
			if s, ok := tt.body.(string); ok {
				status, got = officeCall(t, h, tt.method, "/api/v1/closed-days"+tt.path, s)
			} else {
				status, got = call(t, h, tt.method, "/api/v1/closed-days"+tt.path, "marie", "motdepasse-marie", tt.body)
			}
			if status != tt.want || !strings.Contains(got, `"error":`) || !strings.Contains(got, tt.msg) {
				t.Errorf("%d %s, want %d with %q", status, got, tt.want, tt.msg)
			}
		})
	}
	if c, _ := h.State().Calendar.Closed("jules-ferry", civil.Date{Year: 2026, Month: time.November, Day: 27}); c {
		t.Error("a refused request closed a day")
	}
}

// rawCall posts body as it is, as marie.
// officeCall is rawCall as the office user marie.
func officeCall(t *testing.T, h *hub.Hub, method, path, body string) (int, string) {
	t.Helper()
	return rawCall(t, h, method, path, "marie", "motdepasse-marie", body)
}
