package web_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"pointage/hub/auth"
	"pointage/hub/users/userstest"
	"pointage/hub/web"
)

func newServer(t *testing.T) (*httptest.Server, *auth.Auth) {
	t.Helper()
	s, _ := userstest.Open(t, userstest.User{Name: "marie", Role: auth.RoleOffice, Password: "password-marie"},
		userstest.User{Name: "cuisine", Role: auth.RoleKitchen, Password: "password-cuisine"})
	a := auth.New(auth.Options{Users: s, Sessions: s})
	srv := httptest.NewServer(web.New(web.Options{Auth: a}))
	t.Cleanup(srv.Close)
	return srv, a
}

func client(t *testing.T) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar}
}

func get(t *testing.T, c *http.Client, u string) (*http.Response, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func loginAs(t *testing.T, c *http.Client, base, name string) (*http.Response, string) {
	t.Helper()
	_, form := get(t, c, base+"/connexion")
	m := csrfField.FindStringSubmatch(form)
	if m == nil {
		t.Fatalf("no CSRF field in the login form:\n%s", form)
	}
	resp, err := c.PostForm(base+"/connexion", url.Values{"csrf": {m[1]}, "nom": {name}, "motdepasse": {"password-" + name}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestPagesAndLogin(t *testing.T) {
	srv, a := newServer(t)
	c := client(t)
	// Not logged in: / goes to the login form, in French, with the headers.
	resp, body := get(t, c, srv.URL+"/")
	if resp.Request.URL.Path != "/connexion" || !strings.Contains(body, "Mot de passe") || !strings.Contains(body, `lang="fr"`) {
		t.Fatalf("/ without a session ended at %s:\n%s", resp.Request.URL, body)
	}
	for h, want := range map[string]string{"Content-Security-Policy": "default-src 'self'", "X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY"} {
		if !strings.Contains(resp.Header.Get(h), want) {
			t.Errorf("%s: %q", h, resp.Header.Get(h))
		}
	}
	if !strings.Contains(resp.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
		t.Errorf("CSP: %q", resp.Header.Get("Content-Security-Policy"))
	}
	// The embedded assets.
	for path, ctype := range map[string]string{"/static/app.css": "text/css", "/static/app.js": "javascript"} {
		r, b := get(t, c, srv.URL+path)
		if r.StatusCode != 200 || !strings.Contains(r.Header.Get("Content-Type"), ctype) || len(b) < 100 {
			t.Errorf("%s: %d %s", path, r.StatusCode, r.Header.Get("Content-Type"))
		}
	}
	if r, _ := get(t, c, srv.URL+"/nulle-part"); r.StatusCode != 404 {
		t.Errorf("unknown page: %d", r.StatusCode)
	}

	// A login POST without the double-submit cookie (a cross-site form) is refused.
	resp, err := http.PostForm(srv.URL+"/connexion", url.Values{"csrf": {"x"}, "nom": {"marie"}, "motdepasse": {"password-marie"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || len(resp.Cookies()) == 0 || resp.Cookies()[0].Name == auth.SessionCookie {
		t.Fatalf("login without the form cookie: %d %v", resp.StatusCode, resp.Cookies())
	}
	// A wrong password: 401, the form again, in French.
	_, form := get(t, c, srv.URL+"/connexion")
	tok := csrfField.FindStringSubmatch(form)[1]
	resp, err = c.PostForm(srv.URL+"/connexion", url.Values{"csrf": {tok}, "nom": {"marie"}, "motdepasse": {"faux-mot-de-passe"}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(string(b), "incorrect") {
		t.Fatalf("wrong password: %d\n%s", resp.StatusCode, b)
	}

	// The office logs in and lands on the overview; the cookie is safe.
	resp, body = loginAs(t, c, srv.URL, "marie")
	if resp.Request.URL.Path != "/" || !strings.Contains(body, "Vue d'ensemble") || !strings.Contains(body, "/static/app.js") {
		t.Fatalf("office landed on %s:\n%s", resp.Request.URL, body)
	}
	var session *http.Cookie
	for r := resp.Request.Response; r != nil; r = r.Request.Response {
		for _, ck := range r.Cookies() {
			if ck.Name == auth.SessionCookie {
				session = ck
			}
		}
	}
	if session == nil || !session.HttpOnly || session.SameSite != http.SameSiteStrictMode || session.Path != "/" || session.Secure {
		t.Fatalf("session cookie: %+v", session)
	}
	// The API's view of the cookie: reads yes; writes only with the CSRF token.
	req := httptest.NewRequest("GET", "/api/v1/counts", nil)
	req.AddCookie(session)
	if u, refusal := a.Authenticate(req); refusal != nil || u.Name != "marie" {
		t.Fatalf("Authenticate GET: %v %v", u, refusal)
	}
	csrf := csrfField.FindStringSubmatch(body)[1]
	req = httptest.NewRequest("POST", "/api/v1/corrections", nil)
	req.AddCookie(session)
	if _, refusal := a.Authenticate(req); refusal == nil {
		t.Fatal("a POST with the cookie alone was accepted")
	}
	req.Header.Set(auth.CSRFHeader, csrf)
	if _, refusal := a.Authenticate(req); refusal != nil {
		t.Fatal("a POST with the cookie and the CSRF token was refused")
	}
	// Logout needs the token.
	resp, err = c.PostForm(srv.URL+"/deconnexion", url.Values{"csrf": {"faux"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("logout without the token: %d", resp.StatusCode)
	}
	resp, err = c.PostForm(srv.URL+"/deconnexion", url.Values{"csrf": {csrf}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Request.URL.Path != "/connexion" {
		t.Fatalf("after logout: %s", resp.Request.URL)
	}
	req = httptest.NewRequest("GET", "/", nil)
	req.AddCookie(session)
	if _, refusal := a.Authenticate(req); refusal == nil {
		t.Fatal("the session survived the logout")
	}

	// The kitchen lands on /cuisine.
	resp, body = loginAs(t, client(t), srv.URL, "cuisine")
	if resp.Request.URL.Path != "/cuisine" || !strings.Contains(body, "repas par régime") {
		t.Fatalf("kitchen landed on %s", resp.Request.URL)
	}
}
