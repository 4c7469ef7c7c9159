package hub_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"pointage/hub"
	"pointage/hub/audit"
	"pointage/hub/auth"
	"pointage/hub/roster"
	"pointage/internal/civil"
)

// call makes a request with Basic credentials (user "" = none).
func call(t *testing.T, h *hub.Hub, method, path, user, password string, body any) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequestWithContext(context.Background(), method, "http://"+h.HTTPAddr()+path, rd)
	if user != "" {
		req.SetBasicAuth(user, password)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	if resp.Header.Get("X-Content-Type-Options") != "nosniff" || resp.Header.Get("X-Frame-Options") != "DENY" {
		t.Errorf("%s %s: security headers missing: %v", method, path, resp.Header)
	}
	var b []byte
	if strings.HasSuffix(path, "/stream") || strings.Contains(path, "/stream?") {
		b = make([]byte, 512) // the stream does not end: its first bytes say enough
		n, _ := io.ReadAtLeast(resp.Body, b, 1)
		b = b[:n]
	} else {
		b, _ = io.ReadAll(resp.Body)
	}
	return resp.StatusCode, string(b)
}

// privacyHub is a hub with a roster, a stored check-in and one user per
// role: office, a school at jules-ferry, a school elsewhere, the kitchen.
func privacyHub(t *testing.T) *hub.Hub {
	t.Helper()
	h := startHub(t, config())
	ctx := context.Background()
	parsed, err := roster.Parse(strings.NewReader(rosterCSV + "0B00000001;P001;child;Kasarhérou;Tom;pasteur;CP;standard;lu ma me je ve;\n"))
	if err != nil || len(parsed.Errors) > 0 {
		t.Fatal(err, parsed.Errors)
	}
	if _, err := h.Roster().Import(ctx, parsed.People, civil.MinDate.AddDays(1), nil); err != nil {
		t.Fatal(err)
	}
	for _, u := range []struct {
		name string
		role auth.Role
		site string
	}{
		{"marie", auth.RoleOffice, ""}, {"directrice", auth.RoleSchool, "jules-ferry"},
		{"pasteur-dir", auth.RoleSchool, "pasteur"}, {"cuisine", auth.RoleKitchen, ""},
	} {
		if _, err := h.Users().Add(ctx, u.name, u.role, u.site, "motdepasse-"+u.name); err != nil {
			t.Fatal(err)
		}
	}
	_, pw, _ := h.Devices().Add(ctx, "jules-ferry", "jf-cantine-1", "")
	d := newDevice(t, h.MQTTURL(), "jules-ferry", "jf-cantine-1", pw)
	c := d.checkIn("E1", 1, "")
	c.Badge = "0A00000001"
	d.publish(c)
	waitFor(t, 10*time.Second, "acked", func() bool { return d.ack("E1") == 1 })
	return h
}

// Every endpoint with personal data checks the role and the site: a test
// for each role and endpoint (issue: security).
func TestEveryEndpointChecksRoleAndSite(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	h := privacyHub(t)
	month := time.Now().Format("2006-01")
	corr := map[string]any{"kind": "absence", "site": "jules-ferry", "person_id": "E002", "reason": "malade"}
	// Expected status per caller: none, office, school of jules-ferry,
	// school of pasteur, kitchen. Every path names jules-ferry (or no site).
	const none, office, own, other, kitchen = 0, 1, 2, 3, 4
	tests := []struct {
		method, path string
		want         [5]int
	}{
		{"GET", "/api/v1/counts?site=jules-ferry", [5]int{401, 200, 200, 403, 200}},
		{"GET", "/api/v1/events?site=jules-ferry", [5]int{401, 200, 200, 403, 403}},
		{"GET", "/api/v1/unknown-badges?site=jules-ferry", [5]int{401, 200, 200, 403, 403}},
		{"GET", "/api/v1/devices?site=jules-ferry", [5]int{401, 200, 200, 403, 403}},
		{"GET", "/api/v1/rejected", [5]int{401, 200, 403, 403, 403}},
		{"GET", "/api/v1/corrections?site=jules-ferry", [5]int{401, 200, 200, 403, 403}},
		{"POST", "/api/v1/corrections", [5]int{401, 201, 201, 403, 403}},
		{"GET", "/api/v1/export?kind=meals&month=" + month + "&site=jules-ferry", [5]int{401, 200, 200, 403, 403}},
		{"GET", "/api/v1/stream?site=jules-ferry", [5]int{401, 200, 200, 403, 200}},
		{"GET", "/api/v1/school?site=jules-ferry", [5]int{401, 200, 200, 403, 403}},
		{"GET", "/api/v1/people?site=jules-ferry", [5]int{401, 200, 200, 403, 403}},
		{"GET", "/api/v1/alerts?site=jules-ferry", [5]int{401, 200, 200, 403, 403}},
		{"GET", "/api/v1/series/day?site=jules-ferry", [5]int{401, 200, 200, 403, 200}},
		{"GET", "/api/v1/series/month?site=jules-ferry&month=" + month, [5]int{401, 200, 200, 403, 200}},
		{"GET", "/api/v1/people/E001/history", [5]int{401, 200, 403, 403, 403}},
		{"GET", "/api/v1/audit", [5]int{401, 200, 403, 403, 403}},
		{"GET", "/api/v1/closed-days", [5]int{401, 200, 200, 200, 403}}, // a school sees the closures of its own site
		{"GET", "/api/v1/names", [5]int{401, 200, 200, 200, 200}},
		{"GET", "/api/v1/sites", [5]int{401, 200, 403, 403, 403}},
	}
	callers := []struct{ user, password string }{{"", ""}, {"marie", "motdepasse-marie"}, {"directrice", "motdepasse-directrice"},
		{"pasteur-dir", "motdepasse-pasteur-dir"}, {"cuisine", "motdepasse-cuisine"}}
	for _, tt := range tests {
		for who, c := range callers {
			t.Run(fmt.Sprintf("%s %s as %s", tt.method, tt.path, []string{"nobody", "office", "school", "other school", "kitchen"}[who]), func(t *testing.T) {
				var body any
				if tt.method == "POST" {
					body = corr
				}
				status, got := call(t, h, tt.method, tt.path, c.user, c.password, body)
				if status != tt.want[who] {
					t.Fatalf("status %d, want %d: %.300s", status, tt.want[who], got)
				}
				if status >= 400 && !strings.Contains(got, `"error"`) {
					t.Fatalf("error without a JSON message: %.300s", got)
				}
				if who == kitchen && status == 200 && (strings.Contains(got, "Wamytan") || strings.Contains(got, "Léa")) {
					t.Fatalf("the kitchen sees a name: %.300s", got)
				}
			})
		}
	}
	_ = none
	_ = office
	_ = own
	_ = other
}

// The audit log records failed logins, corrections, exports and views of a
// child's history, with who and from where; API guessing is throttled; the
// chain verifies.
func TestAuditTrail(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	h := privacyHub(t)
	ctx := context.Background()
	if status, _ := call(t, h, "GET", "/api/v1/counts", "marie", "wrong", nil); status != 401 {
		t.Fatalf("wrong password: %d", status)
	}
	if status, body := call(t, h, "POST", "/api/v1/corrections", "directrice", "motdepasse-directrice",
		map[string]any{"kind": "absence", "site": "jules-ferry", "person_id": "E002", "reason": "malade"}); status != 201 {
		t.Fatalf("correction: %d %s", status, body)
	}
	if status, _ := call(t, h, "GET", "/api/v1/export?kind=meals&month="+time.Now().Format("2006-01"), "marie", "motdepasse-marie", nil); status != 200 {
		t.Fatalf("export: %d", status)
	}
	status, body := call(t, h, "GET", "/api/v1/people/E001/history", "marie", "motdepasse-marie", nil)
	if status != 200 || !strings.Contains(body, `"first_name":"Léa"`) || !strings.Contains(body, `"badge":"0A00000001"`) {
		t.Fatalf("history: %d %s", status, body)
	}
	for path, want := range map[string]int{
		"/api/v1/people/E404/history":                               404,
		"/api/v1/people/E001/history?from=2026-13-01":               400,
		"/api/v1/people/E001/history?from=2026-11-02&to=2026-11-01": 400,
		"/api/v1/people/E001/history?from=2020-01-01&to=2026-11-01": 400, // more than two years
		"/api/v1/audit?limit=0":                                     400,
	} {
		if status, body := call(t, h, "GET", path, "marie", "motdepasse-marie", nil); status != want {
			t.Errorf("GET %s: %d, want %d: %s", path, status, want, body)
		}
	}

	var got struct{ Entries []audit.Entry }
	_, body = call(t, h, "GET", "/api/v1/audit", "marie", "motdepasse-marie", nil)
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	seen := map[string]audit.Entry{}
	for _, e := range got.Entries {
		seen[e.Action] = e
	}
	for action, user := range map[string]string{audit.LoginFailed: "marie", audit.Correction: "directrice", audit.Export: "marie", audit.ViewChild: "marie"} {
		e, ok := seen[action]
		if !ok || e.User != user || e.Addr != "127.0.0.1" {
			t.Errorf("%s: want an entry by %s from 127.0.0.1, got %+v", action, user, e)
		}
	}
	if seen[audit.ViewChild].Target != "E001" || !strings.Contains(seen[audit.Correction].Detail, "malade") {
		t.Errorf("targets and details: %+v", seen)
	}
	if n, err := h.Audit().Verify(ctx); err != nil || n < 4 {
		t.Fatalf("verify: %d %v", n, err)
	}

	// Guessing a password through the API is throttled like the login form.
	last := 0
	for range auth.MaxLoginFailures + 1 {
		last, _ = call(t, h, "GET", "/api/v1/counts", "directrice", "guess", nil)
	}
	if last != 429 {
		t.Fatalf("after %d wrong passwords: %d, want 429", auth.MaxLoginFailures+1, last)
	}
	if status, _ := call(t, h, "GET", "/api/v1/counts", "directrice", "motdepasse-directrice", nil); status != 429 {
		t.Fatalf("the right password during the block: %d, want 429 (nothing checked)", status)
	}
}

// A device removed or given a new password (by the `devices` command, in
// another process: here the registry directly) loses its open session
// within seconds and cannot log in again with the old password.
func TestRevokedDeviceIsDisconnected(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	h := startHub(t, config())
	ctx := context.Background()
	for _, how := range []string{"remove", "set-password"} {
		t.Run(how, func(t *testing.T) {
			id := "jf-" + how
			_, pw, err := h.Devices().Add(ctx, "jules-ferry", id, "")
			if err != nil {
				t.Fatal(err)
			}
			d := newDevice(t, h.MQTTURL(), "jules-ferry", id, pw)
			d.send("E1", 1)
			waitFor(t, 10*time.Second, "acked", func() bool { return d.ack("E1") == 1 })
			if how == "remove" {
				err = h.Devices().Remove(ctx, id)
			} else {
				_, err = h.Devices().SetPassword(ctx, id, "")
			}
			if err != nil {
				t.Fatal(err)
			}
			waitFor(t, 10*time.Second, "the session closed", func() bool { return !d.l.Connected() })
			time.Sleep(3 * time.Second) // the link retries with the old password: refused
			if d.l.Connected() {
				t.Fatal("the device logged in again with revoked credentials")
			}
		})
	}
}
