package api_test

import (
	"context"
	"encoding/json"
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
	"pointage/hub/store"
	"pointage/internal/civil"
	"pointage/internal/wire"
)

type schoolUsers map[string]api.User

func (u schoolUsers) Any(context.Context) bool { return true }
func (u schoolUsers) Check(_ context.Context, name, pass string) (api.User, bool) {
	x, ok := u[name]
	return x, ok && pass == "pw"
}

// schoolAPI serves the API over a real days.Service on Friday 27 November
// 2026 at 18:30 in Nouméa: at jules-ferry Léa ate (and is still at the
// evening garderie after its end), Noa did not; pasteur has Tui.
func schoolAPI(t *testing.T) *httptest.Server {
	t.Helper()
	ctx := context.Background()
	loc := time.FixedZone("Pacific/Noumea", 11*3600)
	now := time.Date(2026, 11, 27, 18, 30, 0, 0, loc)
	env := daystest.New(t, func() time.Time { return now })
	st, ros, corr := env.Store, env.Roster, env.Corrections
	env.Import(t, "badge;person_id;role;last_name;first_name;site;class;regime;canteen_days;garderie\n"+
		"0A00000001;E001;child;Wamytan;Léa;jules-ferry;CP;standard;lu ma me je ve;soir\n"+
		"0A00000002;E002;child;Gowé;Noa;jules-ferry;CE1;sans-porc;lu ma me je ve;\n"+
		"0B00000001;P001;child;Tein;Tui;pasteur;CP;standard;lu ma me je ve;\n", civil.MinDate.AddDays(1))
	ev := func(id, badge, service string, h, m int) store.Event {
		at := time.Date(2026, 11, 27, h, m, 0, 0, loc)
		return store.Event{ID: id, Site: "jules-ferry", Device: "d1", Epoch: "E", Reader: "r", Seq: uint64(len(id) + h*60 + m), Badge: badge,
			Service: wire.Service(service), Dir: "auto", At: at, ReceivedAt: at}
	}
	if err := st.Write(ctx, []store.Event{ev("A", "0A00000001", "canteen", 11, 30), ev("B", "0A00000001", "garderie", 15, 10)}); err != nil {
		t.Fatal(err)
	}
	svc := days.New(days.Options{Store: st, Roster: ros, Corrections: corr, Loc: loc, Now: func() time.Time { return now }})
	a := api.New(api.Options{
		Auth: auth.New(auth.Options{Users: schoolUsers{
			"bureau":  {Name: "bureau", Role: "office"},
			"ecole":   {Name: "ecole", Role: "school", Site: "jules-ferry"},
			"cuisine": {Name: "cuisine", Role: "kitchen"},
			"cuisjf":  {Name: "cuisjf", Role: "kitchen", Site: "jules-ferry"},
		}}),
		Corrections: corrections.NewRecorder(corrections.RecorderOptions{Store: corr, Today: svc.Today, Corrected: svc.Corrected}),
		Days:        svc, School: svc, Now: func() time.Time { return now },
	})
	mux := http.NewServeMux()
	a.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestSchoolEndpointsAccess(t *testing.T) {
	srv := schoolAPI(t)
	tests := []struct {
		name, user, path string
		want             int
	}{
		{"office", "bureau", "/api/v1/school?site=jules-ferry&date=2026-11-27", 200},
		{"office, today by default", "bureau", "/api/v1/school?site=jules-ferry", 200},
		{"office without a site", "bureau", "/api/v1/school?date=2026-11-27", 400},
		{"office, unknown site", "bureau", "/api/v1/school?site=nowhere&date=2026-11-27", 404},
		{"office, bad date", "bureau", "/api/v1/school?site=jules-ferry&date=27/11/2026", 400},
		{"office, bad site id", "bureau", "/api/v1/school?site=Pas%20un%20site", 400},
		{"school, own site", "ecole", "/api/v1/school?site=jules-ferry&date=2026-11-27", 200},
		{"school, own site by default", "ecole", "/api/v1/school?date=2026-11-27", 200},
		{"school, other site", "ecole", "/api/v1/school?site=pasteur&date=2026-11-27", 403},
		{"school, bad date", "ecole", "/api/v1/school?date=2026-13-01", 400},
		{"kitchen", "cuisine", "/api/v1/school?site=jules-ferry", 403},
		{"school kitchen, own site", "cuisjf", "/api/v1/school?site=jules-ferry", 403},
		{"no credentials", "", "/api/v1/school?site=jules-ferry", 401},
		{"people, office", "bureau", "/api/v1/people?site=pasteur", 200},
		{"people, office without a site", "bureau", "/api/v1/people", 400},
		{"people, office, unknown site", "bureau", "/api/v1/people?site=nowhere", 404},
		{"people, bad date", "bureau", "/api/v1/people?site=pasteur&date=hier", 400},
		{"people, school own", "ecole", "/api/v1/people", 200},
		{"people, school other", "ecole", "/api/v1/people?site=pasteur", 403},
		{"people, kitchen", "cuisine", "/api/v1/people?site=jules-ferry", 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := get(t, srv, tt.user, tt.path, nil)
			if code != tt.want {
				t.Fatalf("status %d, want %d: %s", code, tt.want, body)
			}
			if code != 200 && !strings.Contains(body, `"error"`) {
				t.Fatalf("error without a JSON message: %s", body)
			}
		})
	}
}

func get(t *testing.T, srv *httptest.Server, user, path string, into any) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", srv.URL+path, nil)
	if user != "" {
		req.SetBasicAuth(user, "pw")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var raw json.RawMessage
	if err := json.NewDecoder(resp.Body).Decode(&raw); err != nil {
		t.Fatalf("%s: not JSON: %v", path, err)
	}
	if into != nil && resp.StatusCode == 200 {
		if err := json.Unmarshal(raw, into); err != nil {
			t.Fatal(err)
		}
	}
	return resp.StatusCode, string(raw)
}

type person struct {
	PersonID  string `json:"person_id"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	Class     string `json:"class"`
}

// The school's day as a page reads it, and how a roll-call correction
// moves a child from absent to served.
func TestSchoolEndpointContent(t *testing.T) {
	srv := schoolAPI(t)
	type school struct {
		Date    string `json:"date"`
		Site    string `json:"site"`
		Offset  string `json:"offset"`
		Now     string `json:"now"`
		Canteen struct {
			Served []struct {
				person
				First    string `json:"first"`
				Expected bool   `json:"expected"`
			} `json:"served"`
			Absent []person `json:"absent"`
		} `json:"canteen"`
		Garderie []struct {
			Name         string   `json:"name"`
			Ended        bool     `json:"ended"`
			AutoClose    bool     `json:"auto_close"`
			StillPresent []person `json:"still_present"`
			Children     []struct {
				person
				In      string `json:"in"`
				Present bool   `json:"present"`
			} `json:"children"`
		} `json:"garderie"`
	}
	var v school
	if code, body := get(t, srv, "ecole", "/api/v1/school", &v); code != 200 {
		t.Fatalf("%d %s", code, body)
	}
	if v.Date != "2026-11-27" || v.Site != "jules-ferry" || v.Offset != "+11:00" || v.Now != "2026-11-27T18:30:00.000+11:00" {
		t.Fatalf("header: %+v", v)
	}
	if len(v.Canteen.Served) != 1 || v.Canteen.Served[0].FirstName != "Léa" || v.Canteen.Served[0].Class != "CP" ||
		v.Canteen.Served[0].First != "2026-11-27T11:30:00.000+11:00" || !v.Canteen.Served[0].Expected {
		t.Fatalf("served: %+v", v.Canteen.Served)
	}
	if len(v.Canteen.Absent) != 1 || v.Canteen.Absent[0].PersonID != "E002" || v.Canteen.Absent[0].LastName != "Gowé" {
		t.Fatalf("absent: %+v", v.Canteen.Absent)
	}
	if len(v.Garderie) != 2 {
		t.Fatalf("garderie: %+v", v.Garderie)
	}
	soir := v.Garderie[1]
	if soir.Name != "garderie-soir" || !soir.Ended || soir.AutoClose || len(soir.StillPresent) != 1 || soir.StillPresent[0].FirstName != "Léa" ||
		len(soir.Children) != 1 || !soir.Children[0].Present || soir.Children[0].In != "2026-11-27T15:10:00.000+11:00" {
		t.Fatalf("evening garderie: %+v", soir)
	}

	// The roll-call's correction: Noa checked in at the canteen.
	body := `{"kind":"add_scan","site":"jules-ferry","person_id":"E002","service":"canteen","dir":"in","at":"2026-11-27T11:50:00+11:00","reason":"appel sur tablette"}`
	req, _ := http.NewRequest("POST", srv.URL+"/api/v1/corrections", strings.NewReader(body))
	req.SetBasicAuth("ecole", "pw")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 201 {
		t.Fatalf("correction: %d", resp.StatusCode)
	}
	v = school{}
	get(t, srv, "ecole", "/api/v1/school?date=2026-11-27", &v)
	if len(v.Canteen.Served) != 2 || v.Canteen.Served[1].FirstName != "Noa" || len(v.Canteen.Absent) != 0 {
		t.Fatalf("after the correction: served %+v absent %+v", v.Canteen.Served, v.Canteen.Absent)
	}

	var p struct {
		Site     string   `json:"site"`
		Sessions []string `json:"sessions"`
		Children []struct {
			person
			CanteenToday bool     `json:"canteen_today"`
			Garderie     []string `json:"garderie"`
		} `json:"children"`
		Staff []person `json:"staff"`
	}
	if code, body := get(t, srv, "ecole", "/api/v1/people", &p); code != 200 {
		t.Fatalf("%d %s", code, body)
	}
	// Classes in school order: Léa (CP) before Noa (CE1).
	if p.Site != "jules-ferry" || len(p.Children) != 2 || p.Children[0].FirstName != "Léa" || p.Children[1].FirstName != "Noa" ||
		strings.Join(p.Children[0].Garderie, ",") != "garderie-soir" || !p.Children[1].CanteenToday || len(p.Staff) != 0 {
		t.Fatalf("people: %+v", p)
	}
	for _, c := range p.Children {
		if c.PersonID == "P001" {
			t.Fatal("a child of another site is listed")
		}
	}
}

// A roll-call tap sent again with its client_id (the tablet did not get
// the answer, or was offline) is answered 200 with the first record and
// counted once; the same key for another tap is a 409.
func TestCorrectionClientIDReplay(t *testing.T) {
	srv := schoolAPI(t)
	post := func(body string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest("POST", srv.URL+"/api/v1/corrections", strings.NewReader(body))
		req.SetBasicAuth("ecole", "pw")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var v map[string]any
		json.NewDecoder(resp.Body).Decode(&v)
		return resp.StatusCode, v
	}
	tap := `{"kind":"add_scan","site":"jules-ferry","person_id":"E002","service":"canteen","dir":"in","at":"2026-11-27T11:50:00+11:00","reason":"appel sur tablette","client_id":"appel-9c1e"}`
	code, first := post(tap)
	if code != 201 || first["replay"] != nil {
		t.Fatalf("first: %d %v", code, first)
	}
	code, again := post(tap)
	if code != 200 || again["replay"] != true || again["id"] != first["id"] {
		t.Fatalf("again: %d %v, want 200 with the first record (%v)", code, again, first["id"])
	}
	code, other := post(strings.Replace(tap, `"dir":"in"`, `"dir":"out"`, 1))
	if code != 409 {
		t.Fatalf("the same key for another tap: %d %v, want 409", code, other)
	}
	var list struct {
		Corrections []struct {
			ID       string `json:"id"`
			ClientID string `json:"client_id"`
		} `json:"corrections"`
	}
	if code, body := get(t, srv, "ecole", "/api/v1/corrections?site=jules-ferry", &list); code != 200 {
		t.Fatalf("%d %s", code, body)
	}
	if len(list.Corrections) != 1 || list.Corrections[0].ClientID != "appel-9c1e" {
		t.Fatalf("corrections recorded: %+v, want the tap once", list.Corrections)
	}
}
