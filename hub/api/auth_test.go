package api

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"pointage/hub/auth"
)

type fakeUsers struct{ list map[string]User }

func (u fakeUsers) Any(context.Context) bool { return len(u.list) > 0 }
func (u fakeUsers) Check(_ context.Context, name, pass string) (User, bool) {
	x, ok := u.list[name+":"+pass]
	return x, ok
}

// The authentication rule of docs/DESIGN.md §9, on the handler itself.
func TestAuthRule(t *testing.T) {
	ok := func(w http.ResponseWriter, _ *http.Request, u User) { writeJSON(w, 200, u) }
	tests := []struct {
		name   string
		users  auth.Users
		remote string
		basic  [2]string
		roles  []auth.Role
		want   int
	}{
		{"no user yet, loopback", nil, "127.0.0.1:5000", [2]string{}, []auth.Role{"office"}, 200},
		{"no user yet, ipv6 loopback", nil, "[::1]:5000", [2]string{}, []auth.Role{"office"}, 200},
		{"no user yet, from the network", nil, "192.0.2.7:5000", [2]string{}, []auth.Role{"office"}, 403},
		{"users exist, no credentials", fakeUsers{map[string]User{"a:b": {Name: "a", Role: "office"}}}, "127.0.0.1:1", [2]string{}, []auth.Role{"office"}, 401},
		{"users exist, wrong password", fakeUsers{map[string]User{"a:b": {Name: "a", Role: "office"}}}, "192.0.2.7:1", [2]string{"a", "x"}, []auth.Role{"office"}, 401},
		{"users exist, right password", fakeUsers{map[string]User{"a:b": {Name: "a", Role: "office"}}}, "192.0.2.7:1", [2]string{"a", "b"}, []auth.Role{"office"}, 200},
		{"role without access", fakeUsers{map[string]User{"k:p": {Name: "k", Role: "kitchen"}}}, "192.0.2.7:1", [2]string{"k", "p"}, []auth.Role{"office", "school"}, 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := New(Options{Auth: auth.New(auth.Options{Users: tt.users})})
			req := httptest.NewRequest("GET", "/api/v1/x", nil)
			req.RemoteAddr = tt.remote
			if tt.basic[0] != "" {
				req.SetBasicAuth(tt.basic[0], tt.basic[1])
			}
			rec := httptest.NewRecorder()
			a.auth(ok, tt.roles...).ServeHTTP(rec, req)
			if rec.Code != tt.want {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.want, rec.Body)
			}
			if rec.Code != 200 && !strings.Contains(rec.Body.String(), `"error"`) {
				t.Fatalf("error without a JSON message: %s", rec.Body)
			}
		})
	}
}

// A user bound to a site sees only that site; others choose.
func TestSiteParam(t *testing.T) {
	tests := []struct {
		name   string
		u      User
		query  string
		site   string
		status int
	}{
		{"office any", User{Role: "office"}, "?site=pasteur", "pasteur", 0},
		{"office all", User{Role: "office"}, "", "", 0},
		{"school own by default", User{Role: "school", Site: "jules-ferry"}, "", "jules-ferry", 0},
		{"school other", User{Role: "school", Site: "jules-ferry"}, "?site=pasteur", "", 403},
		{"city kitchen any", User{Role: "kitchen"}, "?site=pasteur", "pasteur", 0},
		{"school kitchen own by default", User{Role: "kitchen", Site: "jules-ferry"}, "", "jules-ferry", 0},
		{"school kitchen other", User{Role: "kitchen", Site: "jules-ferry"}, "?site=pasteur", "", 403},
		{"bad site", User{Role: "office"}, "?site=Bad%20Site", "", 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			site, status, _ := siteParam(httptest.NewRequest("GET", "/api/v1/counts"+tt.query, nil), tt.u, false)
			if site != tt.site || status != tt.status {
				t.Fatalf("got %q %d, want %q %d", site, status, tt.site, tt.status)
			}
		})
	}
}
