package hub_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"pointage/hub"
	"pointage/hub/auth"
	"pointage/hub/roster"
	"pointage/hub/users"
	"pointage/internal/civil"
	"pointage/internal/testenv"
	"pointage/internal/wire"
)

const rosterCSV = "badge;person_id;role;last_name;first_name;site;class;regime;canteen_days;garderie\n" +
	"0A00000001;E001;child;Wamytan;Léa;jules-ferry;CP;standard;lu ma me je ve sa di;soir\n" +
	"0A00000002;E002;child;Gowé;Noa;jules-ferry;CE1;sans-porc;lu ma me je ve sa di;\n" +
	"0A00000003;E003;child;Martin;Jade;jules-ferry;CE1;standard;lu ma me je ve sa di;\n" +
	"0A00000009;S001;staff;Dupont;Paul;jules-ferry;;standard;lu ma me je ve;\n"

func getJSON(t *testing.T, h *hub.Hub, path string, wantStatus int, into any) string {
	t.Helper()
	resp, err := http.Get("http://" + h.HTTPAddr() + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != wantStatus {
		t.Fatalf("GET %s: %d, want %d: %s", path, resp.StatusCode, wantStatus, body)
	}
	if into != nil {
		if err := json.Unmarshal(body, into); err != nil {
			t.Fatalf("GET %s: %v: %s", path, err, body)
		}
	}
	return string(body)
}

func postJSON(t *testing.T, h *hub.Hub, path string, body any, wantStatus int) map[string]any {
	t.Helper()
	b, _ := json.Marshal(body)
	resp, err := http.Post("http://"+h.HTTPAddr()+path, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out := map[string]any{}
	raw, _ := io.ReadAll(resp.Body)
	json.Unmarshal(raw, &out)
	if resp.StatusCode != wantStatus {
		t.Fatalf("POST %s: %d, want %d: %s", path, resp.StatusCode, wantStatus, raw)
	}
	return out
}

type countsBody struct {
	Date     string `json:"date"`
	Timezone string `json:"timezone"`
	Sites    []struct {
		Site    string `json:"site"`
		Canteen struct {
			Meals         int            `json:"meals"`
			StaffMeals    int            `json:"staff_meals"`
			Expected      int            `json:"expected"`
			Absent        int            `json:"absent"`
			Unexpected    int            `json:"unexpected"`
			UnknownBadges int            `json:"unknown_badges"`
			Duplicates    int            `json:"duplicates"`
			ByRegime      map[string]int `json:"by_regime"`
		} `json:"canteen"`
		Warnings []any `json:"warnings"`
	} `json:"sites"`
}

// The counts and events API on both stores: check-ins published over MQTT,
// counted through the roster, corrected through the API.
func TestCountsAPIOnBothStores(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	influx := testenv.Influxd(t) // Flux: the InfluxDB store reads with it
	for _, backend := range []string{"sqlite", "influxdb"} {
		t.Run(backend, func(t *testing.T) {
			cfg := config()
			if backend == "influxdb" {
				cfg.InfluxURL, cfg.InfluxBucket = influx.URL(), "counts/autogen"
			}
			h := startHub(t, cfg)
			ctx := context.Background()
			parsed, err := roster.Parse(strings.NewReader(rosterCSV))
			if err != nil || len(parsed.Errors) > 0 {
				t.Fatalf("roster: %v %v", err, parsed.Errors)
			}
			if _, err := h.Roster().Import(ctx, parsed.People, civil.MinDate.AddDays(1), nil); err != nil {
				t.Fatal(err)
			}
			_, pw, _ := h.Devices().Add(ctx, "jules-ferry", "jf-cantine-1", "")
			d := newDevice(t, h.MQTTURL(), "jules-ferry", "jf-cantine-1", pw)
			badges := []string{"0A00000001", "0A00000002", "0A00000001", "0A00000009", "0AFFFFFFFF"} // Léa twice, Noa, staff Paul, an unknown card
			for i, b := range badges {
				c := d.checkIn("E1", uint64(i+1), "")
				c.Badge = b
				d.publish(c)
			}
			waitFor(t, 10*time.Second, "all acked", func() bool { return d.ack("E1") == uint64(len(badges)) })

			var body countsBody
			getJSON(t, h, "/api/v1/counts?site=jules-ferry", 200, &body)
			if body.Timezone != "Pacific/Noumea" || len(body.Sites) != 1 {
				t.Fatalf("counts: %+v", body)
			}
			c := body.Sites[0].Canteen
			if c.Meals != 2 || c.Duplicates != 1 || c.StaffMeals != 1 || c.UnknownBadges != 1 || c.Expected != 3 || c.Absent != 1 ||
				c.ByRegime["standard"] != 1 || c.ByRegime["sans-porc"] != 1 {
				t.Fatalf("canteen figures: %+v\nevents: %s", c, getJSON(t, h, "/api/v1/events?site=jules-ferry", 200, nil))
			}
			// The events say what each scan counted as.
			var ev struct {
				Events []struct {
					Badge     string `json:"badge"`
					Kind      string `json:"kind"`
					FirstName string `json:"first_name"`
				} `json:"events"`
			}
			getJSON(t, h, "/api/v1/events?site=jules-ferry", 200, &ev)
			kinds := []string{}
			for _, e := range ev.Events {
				kinds = append(kinds, e.Kind)
			}
			if strings.Join(kinds, ",") != "meal,meal,duplicate,staff_meal,unknown" || ev.Events[0].FirstName != "Léa" {
				t.Fatalf("event kinds %v (%+v)", kinds, ev.Events)
			}
			// A forgotten badge added, Noa's scan voided: Jade served, Noa not.
			now := time.Now()
			postJSON(t, h, "/api/v1/corrections", map[string]any{"kind": "add_scan", "site": "jules-ferry", "person_id": "E003",
				"service": "canteen", "dir": "auto", "at": now.Format(wire.AtLayout), "reason": "badge oublié"}, 201)
			var evFull struct {
				Events []struct{ ID, Badge string } `json:"events"`
			}
			getJSON(t, h, "/api/v1/events?site=jules-ferry", 200, &evFull)
			for _, e := range evFull.Events {
				if e.Badge == "0A00000002" {
					postJSON(t, h, "/api/v1/corrections", map[string]any{"kind": "void_scan", "site": "jules-ferry", "event_id": e.ID, "reason": "badge prêté"}, 201)
				}
			}
			body = countsBody{} // a fresh map: Unmarshal would merge into the old one
			getJSON(t, h, "/api/v1/counts?site=jules-ferry", 200, &body)
			if c := body.Sites[0].Canteen; c.Meals != 2 || c.Absent != 1 || c.ByRegime["sans-porc"] != 0 {
				t.Fatalf("after corrections: %+v\n%s\n%s", c, getJSON(t, h, "/api/v1/corrections", 200, nil), getJSON(t, h, "/api/v1/events?site=jules-ferry", 200, nil))
			}
			var corr struct {
				Corrections []struct{ User, Kind, Reason string } `json:"corrections"`
			}
			getJSON(t, h, "/api/v1/corrections?site=jules-ferry", 200, &corr)
			if len(corr.Corrections) != 2 || corr.Corrections[0].User != "local" {
				t.Fatalf("corrections list: %+v", corr)
			}
			// Today's counts come from the running figures updated as events
			// were stored; recomputed from the store (what a restart does) they
			// are the same, and so are the day's details from the live events.
			stored, err := h.Days().ComputeFromStore(ctx, h.Days().Today())
			if err != nil {
				t.Fatal(err)
			}
			var apiAll struct {
				Sites []json.RawMessage `json:"sites"`
			}
			getJSON(t, h, "/api/v1/counts", 200, &apiAll)
			var storedSites []json.RawMessage
			for _, x := range stored.Sites {
				b, _ := json.Marshal(stored.Results[x])
				storedSites = append(storedSites, b)
			}
			aj, _ := json.Marshal(apiAll.Sites)
			sj, _ := json.Marshal(storedSites)
			if string(aj) != string(sj) {
				t.Fatalf("running and stored figures differ:\nrunning %s\nstored  %s", aj, sj)
			}
			live, err := h.Days().Compute(ctx, h.Days().Today(), "")
			if err != nil {
				t.Fatal(err)
			}
			if len(live.Results["jules-ferry"].Detail.Scans) != len(stored.Results["jules-ferry"].Detail.Scans) {
				t.Fatalf("live events %d, stored %d", len(live.Results["jules-ferry"].Detail.Scans), len(stored.Results["jules-ferry"].Detail.Scans))
			}
			// The month's meal export, for French Excel: Léa and Jade billed,
			// Noa's voided scan not.
			month := body.Date[:7]
			csv := getJSON(t, h, "/api/v1/export?kind=meals&month="+month, 200, nil)
			if !strings.HasPrefix(csv, "\ufeffDate;Site;") || !strings.Contains(csv, "Wamytan;Léa") || !strings.Contains(csv, "Martin;Jade") ||
				strings.Contains(csv, "Gowé") || !strings.Contains(csv, "\r\n") {
				t.Fatalf("meals CSV:\n%s", csv)
			}
			xlsx := getJSON(t, h, "/api/v1/export?kind=staff&month="+month+"&format=xlsx", 200, nil)
			if !strings.HasPrefix(xlsx, "PK") {
				t.Fatalf("xlsx export is not a zip file: %q", xlsx[:min(20, len(xlsx))])
			}
		})
	}
}

// Bad requests get a 4xx with a JSON message, never a 500.
func TestAPIBadRequests(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	h := startHub(t, config())
	for _, tc := range []struct {
		path   string
		status int
	}{
		{"/api/v1/counts?date=2026-13-01", 400},
		{"/api/v1/counts?date=28/11/2026", 400},
		{"/api/v1/counts?site=nowhere", 404},
		{"/api/v1/counts?site=Bad%20Site", 400},
		{"/api/v1/events", 400},
		{"/api/v1/events?site=nowhere", 404},
		{"/api/v1/corrections?from=2026-11-30&to=2026-11-01", 400},
		{"/api/v1/rejected?limit=0", 400},
		{"/api/v1/nothing", 404},
		{"/api/v1/export?kind=meals&month=2026-13", 400},
		{"/api/v1/export?kind=lunch&month=2026-11", 400},
		{"/api/v1/export?kind=meals&month=2026-11&format=pdf", 400},
		{"/api/v1/export?kind=meals&month=2026-11&site=nowhere", 404},
	} {
		body := getJSON(t, h, tc.path, tc.status, nil)
		if !strings.Contains(body, `"error"`) {
			t.Errorf("%s: no JSON error: %s", tc.path, body)
		}
	}
	postJSON(t, h, "/api/v1/corrections", map[string]any{"kind": "absence", "site": "jules-ferry"}, 400)                   // no person, no reason
	postJSON(t, h, "/api/v1/corrections", map[string]any{"kind": "absence", "site": "a", "bogus": 1}, 400)                 // unknown field
	postJSON(t, h, "/api/v1/corrections", map[string]any{"kind": "declare_lost", "site": "a", "device": "d", "epoch": "E", // unknown device
		"from_seq": 1, "to_seq": 2, "reason": "r"}, 400)
	var counts countsBody
	getJSON(t, h, "/api/v1/counts", 200, &counts)
	if counts.Sites == nil {
		t.Fatal("sites must be [] not null")
	}
}

// Declaring a gap lost through the API moves the device's Ack past it and
// the devices endpoint stops listing it.
func TestDeclareLostThroughAPI(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	h := startHub(t, config())
	_, pw, _ := h.Devices().Add(context.Background(), "jules-ferry", "jf-cantine-1", "")
	d := newDevice(t, h.MQTTURL(), "jules-ferry", "jf-cantine-1", pw)
	d.send("E1", 1, 2, 5)
	waitFor(t, 10*time.Second, "ack 2", func() bool { return d.ack("E1") == 2 })
	var devs struct {
		Devices []struct {
			Device  string
			Missing []struct{ From, To uint64 } `json:"missing"`
		} `json:"devices"`
	}
	waitFor(t, 10*time.Second, "the gap listed", func() bool {
		getJSON(t, h, "/api/v1/devices", 200, &devs)
		return len(devs.Devices) == 1 && len(devs.Devices[0].Missing) == 1 && devs.Devices[0].Missing[0].From == 3
	})
	postJSON(t, h, "/api/v1/corrections", map[string]any{"kind": "declare_lost", "site": "jules-ferry", "device": "jf-cantine-1",
		"epoch": "E1", "from_seq": 3, "to_seq": 4, "reason": "carte SD remplacée"}, 201)
	waitFor(t, 10*time.Second, "ack 5", func() bool { return d.ack("E1") == 5 })
	getJSON(t, h, "/api/v1/devices", 200, &devs)
	if len(devs.Devices[0].Missing) != 0 {
		t.Fatalf("still missing: %+v", devs)
	}
}

func getAs(t *testing.T, h *hub.Hub, user, pass, path string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", "http://"+h.HTTPAddr()+path, nil)
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// Once a user exists, every API request needs credentials (HTTP Basic), and
// each role sees what docs/DESIGN.md §9 gives it: office everything, school its own
// site, kitchen counts without names.
func TestRolesThroughBasicAuth(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	h := startHub(t, config())
	ctx := context.Background()
	users.FastBcryptForTest(h.Users())
	parsed, _ := roster.Parse(strings.NewReader(rosterCSV + "0B00000001;P001;child;Kaloi;Tui;pasteur;CP;standard;lu ma me je ve sa di;\n"))
	if _, err := h.Roster().Import(ctx, parsed.People, civil.MinDate.AddDays(1), nil); err != nil {
		t.Fatal(err)
	}
	if code, _ := getAs(t, h, "", "", "/api/v1/counts"); code != 200 {
		t.Fatalf("before any user, loopback gets %d", code)
	}
	for _, u := range []struct{ name, role, site string }{{"marie", "office", ""}, {"ecole-jf", "school", "jules-ferry"}, {"cuisine", "kitchen", ""}} {
		if _, err := h.Users().Add(ctx, u.name, auth.Role(u.role), u.site, "password-"+u.name); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(1100 * time.Millisecond) // Any() re-reads within a second
	cases := []struct {
		user, path string
		want       int
	}{
		{"", "/api/v1/counts", 401},
		{"marie:wrong", "/api/v1/counts", 401},
		{"marie", "/api/v1/counts", 200},
		{"marie", "/api/v1/rejected", 200},
		{"marie", "/api/v1/events?site=pasteur", 200},
		{"ecole-jf", "/api/v1/counts", 200},
		{"ecole-jf", "/api/v1/events?site=jules-ferry", 200},
		{"ecole-jf", "/api/v1/events?site=pasteur", 403},
		{"ecole-jf", "/api/v1/counts?site=pasteur", 403},
		{"ecole-jf", "/api/v1/rejected", 403},
		{"cuisine", "/api/v1/counts", 200},
		{"cuisine", "/api/v1/events?site=jules-ferry", 403},
		{"cuisine", "/api/v1/export?kind=meals&month=2026-11", 403},
		{"cuisine", "/api/v1/devices", 403},
	}
	for _, c := range cases {
		name, pass := c.user, ""
		if name != "" {
			pass = "password-" + name
			if i := strings.Index(name, ":"); i >= 0 {
				name, pass = name[:i], name[i+1:]
			}
		}
		if code, body := getAs(t, h, name, pass, c.path); code != c.want {
			t.Errorf("%s %s: %d, want %d: %s", c.user, c.path, code, c.want, body)
		}
	}
	// A school user sees its own site only, without asking for it.
	_, body := getAs(t, h, "ecole-jf", "password-ecole-jf", "/api/v1/counts")
	if !strings.Contains(body, `"jules-ferry"`) || strings.Contains(body, `"pasteur"`) {
		t.Fatalf("school counts: %s", body)
	}
	// The kitchen's counts carry diets, never names.
	_, body = getAs(t, h, "cuisine", "password-cuisine", "/api/v1/counts")
	if strings.Contains(body, "Wamytan") || !strings.Contains(body, "expected_by_regime") {
		t.Fatalf("kitchen counts: %s", body)
	}
}
