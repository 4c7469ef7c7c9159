package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"pointage/hub/api"
	"pointage/hub/auth"
	"pointage/hub/corrections"
	"pointage/hub/days"
	"pointage/hub/days/daystest"
	"pointage/hub/ingest"
	"pointage/hub/store"
	"pointage/internal/civil"
	"pointage/internal/wire"
)

type chartUsers map[string]api.User // by name; the password is the name

func (u chartUsers) Any(context.Context) bool { return true }
func (u chartUsers) Check(_ context.Context, name, pass string) (api.User, bool) {
	x, ok := u[name]
	return x, ok && pass == name
}

type chartIngest struct {
	statuses []ingest.DeviceStatus
	seqs     []ingest.SequenceState
}

func (c chartIngest) Sequences() []ingest.SequenceState { return c.seqs }
func (c chartIngest) DeviceViews(context.Context) ([]ingest.DeviceView, error) {
	return ingest.Views(c.statuses, c.seqs), nil
}
func (chartIngest) RecentRejected(context.Context, int) ([]ingest.Rejected, error) {
	return nil, nil
}
func (c chartIngest) CanDeclareLost(device, epoch string, from, to uint64) error {
	return ingest.CheckLost(c.seqs, device, epoch, from, to)
}
func (chartIngest) DeclareLost(context.Context, string, string, string, uint64, uint64, string) error {
	return nil
}

// chartAPI serves the API over a real days.Service (SQLite store) holding
// known events of Wednesday 4 November 2026, at 16:00 in Nouméa (the
// evening garderie is open).
func chartAPI(t *testing.T) http.Handler {
	t.Helper()
	ctx := context.Background()
	env := daystest.New(t, nil)
	st, ros, corr := env.Store, env.Roster, env.Corrections
	env.Import(t, "badge;person_id;role;last_name;first_name;site;class;regime;canteen_days;garderie;family_id\n"+
		"0A00000001;E001;child;Wamytan;Léa;jules-ferry;CP;standard;lu ma me je ve;soir;F12\n"+
		"0A00000002;E002;child;Gowé;Noa;jules-ferry;CE1;sans-porc;lu ma me je ve;;F13\n"+
		"0A00000003;E003;child;Martin;Jade;pasteur;CP;standard;lu ma me je ve;;F14\n"+
		"0A00000009;S001;staff;Dupont;Marc;jules-ferry;;standard;;;\n", civil.MinDate.AddDays(1))
	loc := time.FixedZone("Pacific/Noumea", 11*3600)
	now := time.Date(2026, 11, 4, 16, 0, 0, 0, loc)
	at := func(day, h, m int) time.Time { return time.Date(2026, 11, day, h, m, 0, 0, loc) }
	seq := uint64(0)
	ev := func(site, badge, service string, t time.Time) store.Event {
		seq++
		return store.Event{ID: "ID" + string(rune('A'+seq)), Site: site, Device: site + "-1", Epoch: "E", Reader: "r", Seq: seq,
			Badge: badge, Service: wire.Service(service), Dir: "auto", At: t, ReceivedAt: t}
	}
	if err := st.Write(ctx, []store.Event{
		ev("jules-ferry", "0A00000001", "canteen", at(2, 10, 59)),
		ev("jules-ferry", "0A00000002", "canteen", at(2, 11, 5)),
		ev("pasteur", "0A00000003", "canteen", at(2, 11, 7)),
		ev("jules-ferry", "0A00000001", "canteen", at(4, 11, 20)),
		ev("jules-ferry", "0A00000001", "garderie", at(4, 15, 10)),
		ev("jules-ferry", "0A00000009", "staff", at(4, 7, 2)),
	}); err != nil {
		t.Fatal(err)
	}
	svc := days.New(days.Options{Store: st, Roster: ros, Corrections: corr, Loc: loc, Now: func() time.Time { return now }})
	if err := svc.Warm(ctx); err != nil {
		t.Fatal(err)
	}
	seen := now.Add(-20 * time.Minute)
	devices := []ingest.DeviceStatus{
		{Site: "jules-ferry", Device: "jf-garderie", Epoch: "E", State: "offline", ReceivedAt: seen,
			Status: wire.Status{Readers: []wire.ReaderStatus{{Name: "porte", Connected: true}}}},
		{Site: "pasteur", Device: "pa-cantine", Epoch: "E", State: "online", ReceivedAt: now,
			Status: wire.Status{Readers: []wire.ReaderStatus{{Name: "entree", Connected: false}}}},
	}
	users := chartUsers{
		"bureau":  {Name: "bureau", Role: "office"},
		"ecole":   {Name: "ecole", Role: "school", Site: "jules-ferry"},
		"cuisine": {Name: "cuisine", Role: "kitchen"},
	}
	a := api.New(api.Options{Auth: auth.New(auth.Options{Users: users}), Ingest: chartIngest{statuses: devices}, Days: svc, Charts: svc, Now: func() time.Time { return now }})
	mux := http.NewServeMux()
	a.Register(mux)
	return mux
}

func chartGet(t *testing.T, h http.Handler, user, path string) (int, map[string]any) {
	t.Helper()
	req := httptest.NewRequest("GET", path, nil)
	req.SetBasicAuth(user, user)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var body map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("%s %s: not JSON: %s", user, path, rec.Body)
	}
	if rec.Code != 200 && body["error"] == nil {
		t.Fatalf("%s %s: %d without an error message", user, path, rec.Code)
	}
	return rec.Code, body
}

func TestChartEndpointsAccess(t *testing.T) {
	h := chartAPI(t)
	tests := []struct {
		user, path string
		want       int
	}{
		{"bureau", "/api/v1/alerts", 200},
		{"ecole", "/api/v1/alerts", 200},
		{"ecole", "/api/v1/alerts?site=jules-ferry", 200},
		{"ecole", "/api/v1/alerts?site=pasteur", 403},
		{"cuisine", "/api/v1/alerts", 403},
		{"bureau", "/api/v1/alerts?site=nowhere", 404},
		{"bureau", "/api/v1/alerts?site=Bad%20Site", 400},

		{"bureau", "/api/v1/series/day?date=2026-11-02", 200},
		{"bureau", "/api/v1/series/day", 200},
		{"ecole", "/api/v1/series/day?date=2026-11-02", 200},
		{"ecole", "/api/v1/series/day?date=2026-11-02&site=pasteur", 403},
		{"cuisine", "/api/v1/series/day?date=2026-11-02", 200},
		{"bureau", "/api/v1/series/day?date=2026-11-31", 400},
		{"bureau", "/api/v1/series/day?date=02/11/2026", 400},
		{"bureau", "/api/v1/series/day?date=2026-11-02&site=nowhere", 404},

		{"bureau", "/api/v1/series/month?month=2026-11", 200},
		{"bureau", "/api/v1/series/month", 200},
		{"ecole", "/api/v1/series/month?month=2026-11", 200},
		{"ecole", "/api/v1/series/month?month=2026-11&site=pasteur", 403},
		{"cuisine", "/api/v1/series/month?month=2026-11&site=pasteur", 200},
		{"bureau", "/api/v1/series/month?month=2026-13", 400},
		{"bureau", "/api/v1/series/month?month=novembre", 400},
		{"bureau", "/api/v1/series/month?month=2026-11&site=nowhere", 404},
		{"inconnu", "/api/v1/series/month", 401},
	}
	for _, tt := range tests {
		t.Run(tt.user+" "+tt.path, func(t *testing.T) {
			if code, body := chartGet(t, h, tt.user, tt.path); code != tt.want {
				t.Fatalf("status %d, want %d: %v", code, tt.want, body)
			}
		})
	}
}

func TestChartEndpointsContent(t *testing.T) {
	h := chartAPI(t)

	// Alerts at 16:00: the garderie device is offline during the evening
	// session; pasteur's unplugged reader too. A school sees its own.
	_, body := chartGet(t, h, "bureau", "/api/v1/alerts")
	b, _ := json.Marshal(body["alerts"])
	want := `[{"device":"jf-garderie","end":"17:45","kind":"device_offline","session":"garderie-soir","since":"2026-11-04T15:40:00+11:00","site":"jules-ferry","start":"14:30"},` +
		`{"device":"pa-cantine","end":"17:45","kind":"reader_disconnected","reader":"entree","session":"garderie-soir","since":"2026-11-04T16:00:00+11:00","site":"pasteur","start":"14:30"}]`
	if string(b) != want {
		t.Fatalf("alerts:\n%s\nwant\n%s", b, want)
	}
	if body["timezone"] != "Pacific/Noumea" {
		t.Fatalf("timezone: %v", body["timezone"])
	}
	_, body = chartGet(t, h, "ecole", "/api/v1/alerts")
	if list := body["alerts"].([]any); len(list) != 1 || list[0].(map[string]any)["device"] != "jf-garderie" {
		t.Fatalf("school alerts: %v", list)
	}

	// The day's series: 10:59 and 11:05 at jules-ferry on 2 November.
	_, body = chartGet(t, h, "ecole", "/api/v1/series/day?date=2026-11-02")
	canteen := body["series"].(map[string]any)["canteen"].([]any)
	if canteen[43] != 1.0 || canteen[44] != 1.0 || body["totals"].(map[string]any)["canteen"] != 2.0 || body["site"] != "jules-ferry" {
		t.Fatalf("day series: %v %v", canteen[40:46], body["totals"])
	}
	_, body = chartGet(t, h, "bureau", "/api/v1/series/day")
	if tot := body["totals"].(map[string]any); body["date"] != "2026-11-04" || tot["canteen"] != 1.0 || tot["garderie"] != 1.0 || tot["staff"] != 1.0 {
		t.Fatalf("today's series: %v %v", body["date"], tot)
	}
	// The kitchen: canteen numbers only.
	_, body = chartGet(t, h, "cuisine", "/api/v1/series/day")
	if s := body["series"].(map[string]any); len(s) != 1 || s["canteen"] == nil {
		t.Fatalf("kitchen series: %v", body["totals"])
	}

	// The month's meals per day, up to today.
	_, body = chartGet(t, h, "bureau", "/api/v1/series/month")
	b, _ = json.Marshal(body["days"])
	want = `[{"closed":false,"date":"2026-11-01","expected":0,"meals":0,"staff_meals":0},` +
		`{"closed":false,"date":"2026-11-02","expected":3,"meals":3,"staff_meals":0},` +
		`{"closed":false,"date":"2026-11-03","expected":3,"meals":0,"staff_meals":0},` +
		`{"closed":false,"date":"2026-11-04","expected":3,"meals":1,"staff_meals":0}]`
	if body["month"] != "2026-11" || string(b) != want {
		t.Fatalf("month %v:\n%s\nwant\n%s", body["month"], b, want)
	}
	_, body = chartGet(t, h, "ecole", "/api/v1/series/month?month=2026-11")
	if d := body["days"].([]any); len(d) != 4 || d[1].(map[string]any)["meals"] != 2.0 {
		t.Fatalf("school month: %v", d)
	}
	_, body = chartGet(t, h, "bureau", "/api/v1/series/month?month=2026-10")
	if d := body["days"].([]any); len(d) != 31 {
		t.Fatalf("October: %d days", len(d))
	}
}

// lostIngest knows one device and epoch; its DeclareLost fails the first
// time (a hub.db write that fails) and records the calls.
type lostIngest struct {
	chartIngest
	calls []string // correction ids
}

func (l *lostIngest) DeclareLost(_ context.Context, _, _, _ string, _, _ uint64, id string) error {
	l.calls = append(l.calls, id)
	if len(l.calls) == 1 {
		return errors.New("declare lost: database is locked")
	}
	return nil
}

// A declare_lost that cannot apply (a device the hub has no sequence of)
// is refused without being recorded; one whose application failed is
// finished by a retry with the same client_id, answered as a replay.
func TestDeclareLostRecordedOnlyWhenItApplies(t *testing.T) {
	env := daystest.New(t, nil)
	ing := &lostIngest{chartIngest: chartIngest{seqs: []ingest.SequenceState{{Site: "jules-ferry", Device: "jf-1", Epoch: "E1"}}}}
	rec := corrections.NewRecorder(corrections.RecorderOptions{Store: env.Corrections, Sequences: ing, Today: func() civil.Date { return civil.Date{Year: 2026, Month: 11, Day: 27} }})
	a := api.New(api.Options{Auth: auth.New(auth.Options{Users: chartUsers{"bureau": {Name: "bureau", Role: "office"}}}), Corrections: rec, Ingest: ing})
	mux := http.NewServeMux()
	a.Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	post := func(body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("POST", srv.URL+"/api/v1/corrections", strings.NewReader(body))
		req.SetBasicAuth("bureau", "bureau")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	recorded := func() int {
		t.Helper()
		list, err := env.Corrections.List(context.Background(), corrections.Filter{Kind: corrections.DeclareLost})
		if err != nil {
			t.Fatal(err)
		}
		return len(list)
	}
	lost := `{"kind":"declare_lost","site":"jules-ferry","day":"2026-11-27","device":"%s","epoch":"E1","from_seq":3,"to_seq":%d,"reason":"carte SD remplacée","client_id":"lost-1"}`
	if code, body := post(fmt.Sprintf(lost, "unknown-dev", 4)); code != 400 || recorded() != 0 {
		t.Fatalf("unknown device: %d %s, %d recorded; want 400 and nothing recorded", code, body, recorded())
	}
	if code, body := post(fmt.Sprintf(lost, "jf-1", 3+ingest.MaxLostRange)); code != 400 || recorded() != 0 {
		t.Fatalf("too long a range: %d %s, %d recorded; want 400 and nothing recorded", code, body, recorded())
	}
	if code, body := post(fmt.Sprintf(lost, "jf-1", 4)); code != 400 || !strings.Contains(body, "database is locked") {
		t.Fatalf("first try: %d %s, want the application's error", code, body)
	}
	code, body := post(fmt.Sprintf(lost, "jf-1", 4))
	if code != 200 || !strings.Contains(body, `"replay":true`) {
		t.Fatalf("retry: %d %s, want 200 replay", code, body)
	}
	if len(ing.calls) != 2 || ing.calls[0] != ing.calls[1] || recorded() != 1 {
		t.Fatalf("DeclareLost calls %v, %d recorded: want the same correction applied twice, recorded once", ing.calls, recorded())
	}
}
