package api_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"pointage/hub/api"
	"pointage/hub/auth"
	"pointage/hub/users/userstest"
)

// docs/DESIGN.md §12's users API: office only; a generated password is returned
// once and never again; a disabled user is refused at once by this hub;
// the last enabled office user cannot be disabled, given another role or
// removed (409).
func TestUsersAPI(t *testing.T) {
	store, _ := userstest.Open(t, userstest.User{Name: "marie", Role: auth.RoleOffice, Password: "mot-de-passe-marie"},
		userstest.User{Name: "ecole", Role: "school", Site: "jules-ferry", Password: "mot-de-passe-ecole"})
	a := api.New(api.Options{Auth: auth.New(auth.Options{Users: store, Sessions: store}), Users: store})
	mux := http.NewServeMux()
	a.Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	do := func(user, password, method, path, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		req.SetBasicAuth(user, password)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	marie := func(method, path, body string) (int, string) {
		t.Helper()
		return do("marie", "mot-de-passe-marie", method, path, body)
	}

	if code, _ := do("ecole", "mot-de-passe-ecole", "GET", "/api/v1/users", ""); code != 403 {
		t.Errorf("a school user lists users: %d, want 403", code)
	}
	code, body := marie("POST", "/api/v1/users", `{"name":"paul","role":"office"}`)
	var added api.UserAnswer
	if code != 201 || json.Unmarshal([]byte(body), &added) != nil || len(added.Password) < 20 || added.User.Name != "paul" {
		t.Fatalf("add paul: %d %s", code, body)
	}
	if code, _ := do("paul", added.Password, "GET", "/api/v1/users", ""); code != 200 {
		t.Errorf("paul with the generated password: %d, want 200", code)
	}
	code, body = marie("GET", "/api/v1/users", "")
	if code != 200 || strings.Contains(body, added.Password) || strings.Contains(body, "hash") || !strings.Contains(body, `"name":"paul"`) {
		t.Errorf("list: %d %s", code, body)
	}
	for _, c := range []struct {
		body string
		want int
	}{
		{`{"name":"paul","role":"office"}`, 409},
		{`{"name":"x","role":"admin"}`, 400},
		{`{"name":"y","role":"school"}`, 400},
		{`{"name":"z","role":"kitchen","password":"court"}`, 400},
		{`{"name":"z","role":"kitchen","name":"w"}`, 400},
	} {
		if code, body := marie("POST", "/api/v1/users", c.body); code != c.want {
			t.Errorf("POST %s: %d %s, want %d", c.body, code, body, c.want)
		}
	}

	if code, body := marie("PATCH", "/api/v1/users/paul", `{"disabled":true}`); code != 200 || !strings.Contains(body, `"disabled":true`) {
		t.Fatalf("disable paul: %d %s", code, body)
	}
	if code, _ := do("paul", added.Password, "GET", "/api/v1/users", ""); code != 401 {
		t.Errorf("disabled paul: %d, want 401", code)
	}
	code, body = marie("PATCH", "/api/v1/users/paul", `{"disabled":false,"generate_password":true}`)
	var reset api.UserAnswer
	if code != 200 || json.Unmarshal([]byte(body), &reset) != nil || reset.Password == "" || reset.Password == added.Password {
		t.Fatalf("enable paul with a new password: %d %s", code, body)
	}
	if code, _ := do("paul", added.Password, "GET", "/api/v1/users", ""); code != 401 {
		t.Errorf("paul's old password after a reset: %d, want 401", code)
	}
	if code, _ := do("paul", reset.Password, "GET", "/api/v1/users", ""); code != 200 {
		t.Errorf("paul's new password: %d, want 200", code)
	}
	if code, _ := marie("DELETE", "/api/v1/users/paul", ""); code != 204 {
		t.Errorf("remove paul: %d, want 204", code)
	}
	if code, _ := marie("DELETE", "/api/v1/users/paul", ""); code != 404 {
		t.Errorf("remove paul again: %d, want 404", code)
	}
	// marie is the last enabled office user.
	for _, c := range []struct{ method, body string }{
		{"PATCH", `{"disabled":true}`}, {"PATCH", `{"role":"kitchen"}`}, {"DELETE", ""},
	} {
		if code, body := marie(c.method, "/api/v1/users/marie", c.body); code != 409 || !strings.Contains(body, "last enabled office user") {
			t.Errorf("%s marie %s: %d %s, want 409", c.method, c.body, code, body)
		}
	}
	if code, _ := marie("GET", "/api/v1/users", ""); code != 200 {
		t.Errorf("marie after the refused changes: %d", code)
	}
}
