package auth_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"pointage/hub/audit"
	"pointage/hub/auth"
	"pointage/hub/users"
	"pointage/hub/users/userstest"
)

// testClock is a settable clock.
type testClock struct{ ns atomic.Int64 }

func (c *testClock) now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *testClock) advance(d time.Duration) { c.ns.Add(int64(d)) }

// counting is a real users.Store that counts the password checks made
// through it (Check, and Login's).
type counting struct {
	*users.Store
	checks atomic.Int64
}

func (c *counting) Check(ctx context.Context, name, password string) (auth.User, bool) {
	c.checks.Add(1)
	return c.Store.Check(ctx, name, password)
}

func (c *counting) Login(ctx context.Context, name, password string) (auth.Session, auth.User, error) {
	c.checks.Add(1)
	return c.Store.Login(ctx, name, password)
}

type env struct {
	auth  *auth.Auth
	store *counting
	audit *audit.Log
	clock *testClock
}

// newEnv opens a fresh hub.db with the users alice (office, password
// "correct horse"), bob (office, the same) and cuisine (kitchen,
// "password-cuisine"), and an Auth over it.
func newEnv(t *testing.T) env {
	t.Helper()
	ctx := context.Background()
	s, sqlDB := userstest.Open(t, userstest.User{Name: "alice", Role: auth.RoleOffice, Password: "correct horse"},
		userstest.User{Name: "bob", Role: auth.RoleOffice, Password: "correct horse"},
		userstest.User{Name: "cuisine", Role: auth.RoleKitchen, Password: "password-cuisine"})
	log, err := audit.New(ctx, sqlDB, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	clock := &testClock{}
	clock.ns.Store(time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC).UnixNano())
	store := &counting{Store: s}
	a := auth.New(auth.Options{Users: store, Sessions: store, Audit: log, Now: clock.now})
	return env{auth: a, store: store, audit: log, clock: clock}
}

func (e env) login(t *testing.T, name, password, ip string) (auth.Session, auth.User, error) {
	t.Helper()
	r := httptest.NewRequest("POST", "/connexion", nil)
	r.RemoteAddr = ip + ":40000"
	return e.auth.Login(r, name, password)
}

func TestLoginThrottle(t *testing.T) {
	e := newEnv(t)
	clock := e.clock
	const ip = "192.0.2.7"

	for i := 1; i <= auth.MaxLoginFailures; i++ {
		clock.advance(time.Second)
		if _, _, err := e.login(t, "alice", "wrong horse!", ip); !errors.Is(err, auth.ErrBadCredentials) {
			t.Fatalf("failure %d: %v, want ErrBadCredentials", i, err)
		}
	}
	before := e.store.checks.Load()
	tests := []struct {
		name, user, ip string
		want           error
	}{
		{"blocked even with the right password", "alice", ip, auth.ErrThrottled},
		{"name in another case is the same name", "ALICE", ip, auth.ErrThrottled},
		{"same name, other address", "alice", "192.0.2.8", nil},
		{"same address, other name", "bob", ip, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := e.login(t, tt.user, "correct horse", tt.ip); !errors.Is(err, tt.want) {
				t.Errorf("Login: %v, want %v", err, tt.want)
			}
		})
	}
	if n := e.store.checks.Load() - before; n != 2 {
		t.Errorf("%d bcrypt checks; a throttled login must not run any (want 2 for the others)", n)
	}

	clock.advance(auth.LoginWindow - time.Millisecond)
	if _, _, err := e.login(t, "alice", "correct horse", ip); !errors.Is(err, auth.ErrThrottled) {
		t.Fatalf("just before the minute: %v, want ErrThrottled", err)
	}
	clock.advance(time.Millisecond)
	if _, _, err := e.login(t, "alice", "correct horse", ip); err != nil {
		t.Fatalf("after the minute: %v", err)
	}

	// Failures spread over more than a minute do not block.
	for i := 0; i < 3*auth.MaxLoginFailures; i++ {
		clock.advance(7 * time.Second)
		if _, _, err := e.login(t, "bob", "wrong horse!", ip); !errors.Is(err, auth.ErrBadCredentials) {
			t.Fatalf("slow failure %d: %v, want ErrBadCredentials", i, err)
		}
	}
	// A success clears the count.
	if _, _, err := e.login(t, "bob", "correct horse", ip); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < auth.MaxLoginFailures-1; i++ {
		if _, _, err := e.login(t, "bob", "wrong horse!", ip); !errors.Is(err, auth.ErrBadCredentials) {
			t.Fatalf("failure %d after a success: %v", i, err)
		}
	}
	if _, _, err := e.login(t, "bob", "correct horse", ip); err != nil {
		t.Fatalf("9 failures then the right password: %v", err)
	}
}

// The login form and HTTP Basic count failures together: guessing through
// one and then the other is no faster than through one.
func TestBasicAndLoginShareTheLimiter(t *testing.T) {
	e := newEnv(t)
	h := e.auth.Require(auth.RoleOffice)(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	basic := func(password, ip string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", "/api/v1/counts", nil)
		r.RemoteAddr = ip + ":5000"
		r.SetBasicAuth("alice", password)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	for i := 1; i < auth.MaxLoginFailures; i++ {
		if w := basic("wrong horse!", "192.0.2.7"); w.Code != 401 {
			t.Fatalf("Basic failure %d: %d, want 401", i, w.Code)
		}
	}
	if _, _, err := e.login(t, "alice", "wrong horse!", "192.0.2.7"); !errors.Is(err, auth.ErrBadCredentials) {
		t.Fatalf("the 10th failure, through the form: %v", err)
	}
	if _, _, err := e.login(t, "alice", "correct horse", "192.0.2.7"); !errors.Is(err, auth.ErrThrottled) {
		t.Fatalf("the form after 9 Basic failures and 1 of its own: %v, want ErrThrottled", err)
	}
	w := basic("correct horse", "192.0.2.7")
	if w.Code != 429 || w.Header().Get("Retry-After") != "60" || w.Header().Get("WWW-Authenticate") != "" {
		t.Fatalf("Basic during the block: %d %v, want 429 with Retry-After: 60 and no challenge", w.Code, w.Header())
	}
	if w := basic("correct horse", "192.0.2.8"); w.Code != 200 {
		t.Fatalf("the same user from another address: %d", w.Code)
	}
}

// The request rule of docs/DESIGN.md §9, with a real store and audit log.
func TestAuthenticate(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	sess, _, err := e.login(t, "alice", "correct horse", "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	type want struct {
		status    int
		user      string
		challenge bool
		error     string
	}
	tests := []struct {
		name    string
		method  string
		cookie  string
		csrf    string
		basic   []string
		xhr     bool
		roles   []auth.Role
		want    want
		audited bool // a login_failed entry
	}{
		{"session cookie, GET", "GET", sess.Token, "", nil, false, nil, want{200, "alice", false, ""}, false},
		{"session cookie, HEAD", "HEAD", sess.Token, "", nil, false, nil, want{200, "alice", false, ""}, false},
		{"session cookie, POST without the CSRF token", "POST", sess.Token, "", nil, false, nil, want{401, "", true, "authentication required"}, false},
		{"session cookie, POST from the dashboard's scripts without the token", "POST", sess.Token, "", nil, true, nil, want{401, "", false, "authentication required"}, false},
		{"session cookie, POST with a wrong CSRF token", "POST", sess.Token, sess.Token, nil, false, nil, want{401, "", true, "authentication required"}, false},
		{"session cookie, POST with the CSRF token", "POST", sess.Token, sess.CSRF, nil, false, nil, want{200, "alice", false, ""}, false},
		{"session cookie first, then Basic", "GET", sess.Token, "", []string{"cuisine", "password-cuisine"}, false, nil, want{200, "alice", false, ""}, false},
		{"unknown cookie, no Basic", "GET", "nope", "", nil, false, nil, want{401, "", true, "authentication required"}, false},
		{"unknown cookie, then Basic", "GET", "nope", "", []string{"cuisine", "password-cuisine"}, false, nil, want{200, "cuisine", false, ""}, false},
		{"Basic, right password", "POST", "", "", []string{"cuisine", "password-cuisine"}, false, nil, want{200, "cuisine", false, ""}, false},
		{"Basic, wrong password", "GET", "", "", []string{"cuisine", "wrong"}, false, nil, want{401, "", true, "wrong user name or password"}, true},
		{"Basic, wrong password, from the dashboard's scripts", "GET", "", "", []string{"cuisine", "wrong"}, true, nil, want{401, "", false, "wrong user name or password"}, true},
		{"Basic, a name that cannot exist", "GET", "", "", []string{"a b", "x"}, false, nil, want{401, "", true, "wrong user name or password"}, true},
		{"role without access", "GET", "", "", []string{"cuisine", "password-cuisine"}, false, []auth.Role{auth.RoleOffice, auth.RoleSchool}, want{403, "", false, "your role (kitchen) cannot use this endpoint"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, _ := e.audit.List(ctx, audit.Filter{Action: audit.LoginFailed})
			roles := tt.roles
			if roles == nil {
				roles = []auth.Role{auth.RoleOffice, auth.RoleKitchen}
			}
			var got auth.User
			h := e.auth.Require(roles...)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got, _ = auth.FromContext(r.Context())
			}))
			r := httptest.NewRequest(tt.method, "/api/v1/x", nil)
			r.RemoteAddr = "192.0.2.9:1234"
			if tt.cookie != "" {
				r.AddCookie(&http.Cookie{Name: auth.SessionCookie, Value: tt.cookie})
			}
			if tt.csrf != "" {
				r.Header.Set(auth.CSRFHeader, tt.csrf)
			}
			if tt.basic != nil {
				r.SetBasicAuth(tt.basic[0], tt.basic[1])
			}
			if tt.xhr {
				r.Header.Set("X-Requested-With", "fetch")
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tt.want.status || got.Name != tt.want.user {
				t.Fatalf("%d as %q, want %d as %q: %s", w.Code, got.Name, tt.want.status, tt.want.user, w.Body)
			}
			if c := w.Header().Get("WWW-Authenticate"); (c != "") != tt.want.challenge || (c != "" && c != `Basic realm="pointage"`) {
				t.Errorf("WWW-Authenticate %q, want a challenge: %v", c, tt.want.challenge)
			}
			if tt.want.error != "" {
				if body := w.Body.String(); body != `{"error":"`+tt.want.error+`"}`+"\n" || !strings.HasPrefix(w.Header().Get("Content-Type"), "application/json") {
					t.Errorf("body %q (%s), want the JSON error %q", body, w.Header().Get("Content-Type"), tt.want.error)
				}
			}
			after, _ := e.audit.List(ctx, audit.Filter{Action: audit.LoginFailed})
			if recorded := len(after) - len(before); recorded != map[bool]int{true: 1, false: 0}[tt.audited] {
				t.Fatalf("%d login_failed entries, want audited: %v", recorded, tt.audited)
			}
			if tt.audited {
				if a := after[0]; a.User != tt.basic[0] || a.Detail != "API (HTTP Basic): wrong user name or password" || a.Addr != "192.0.2.9" || a.Role != "" {
					t.Errorf("audit entry %+v", a)
				}
			}
		})
	}
}

// Until the first user exists, loopback clients are the office and
// everyone else is refused (docs/DESIGN.md §9).
func TestNoUserYet(t *testing.T) {
	a := auth.New(auth.Options{})
	for _, tt := range []struct {
		remote string
		want   int
	}{{"127.0.0.1:5000", 200}, {"[::1]:5000", 200}, {"192.0.2.7:5000", 403}} {
		var got auth.User
		h := a.Require(auth.RoleOffice)(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
			got, _ = auth.FromContext(r.Context())
		}))
		r := httptest.NewRequest("GET", "/api/v1/x", nil)
		r.RemoteAddr = tt.remote
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != tt.want || (tt.want == 200 && got != auth.User{Name: "local", Role: auth.RoleOffice}) {
			t.Errorf("%s: %d as %+v, want %d", tt.remote, w.Code, got, tt.want)
		}
	}
}

// The dashboard's pages see the session cookie only, never Basic.
func TestPages(t *testing.T) {
	e := newEnv(t)
	sess, _, err := e.login(t, "alice", "correct horse", "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	h := e.auth.Pages(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusSeeOther) }))(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			u, _ := auth.FromContext(r.Context())
			s, ok := auth.SessionFromContext(r.Context())
			if !ok || s.CSRF != sess.CSRF {
				t.Errorf("session in the context: %+v, %v", s, ok)
			}
			w.Write([]byte(u.Name))
		}))
	for _, tt := range []struct {
		name   string
		cookie string
		basic  bool
		want   int
	}{{"session", sess.Token, false, 200}, {"no session", "", false, 303}, {"Basic only", "", true, 303}, {"unknown token", "x", false, 303}} {
		r := httptest.NewRequest("POST", "/deconnexion", nil) // no CSRF check: the form's
		if tt.cookie != "" {
			r.AddCookie(&http.Cookie{Name: auth.SessionCookie, Value: tt.cookie})
		}
		if tt.basic {
			r.SetBasicAuth("alice", "correct horse")
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != tt.want || (tt.want == 200 && w.Body.String() != "alice") {
			t.Errorf("%s: %d %q, want %d", tt.name, w.Code, w.Body, tt.want)
		}
	}
}

func TestCheckCSRF(t *testing.T) {
	sess := auth.Session{Token: "tok", CSRF: "Zm9vYmFyYmF6cXV4"}
	tests := []struct {
		name string
		sess auth.Session
		got  string
		want bool
	}{
		{"match", sess, "Zm9vYmFyYmF6cXV4", true},
		{"empty", sess, "", false},
		{"the session token", sess, "tok", false},
		{"one character off", sess, "Zm9vYmFyYmF6cXV5", false},
		{"prefix", sess, "Zm9vYmFyYmF6cXV", false},
		{"longer", sess, "Zm9vYmFyYmF6cXV4x", false},
		{"no session CSRF", auth.Session{}, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := auth.CheckCSRF(tt.sess, tt.got); got != tt.want {
				t.Errorf("CheckCSRF = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestParseRole(t *testing.T) {
	for _, s := range []string{"office", "school", "kitchen"} {
		if r, err := auth.ParseRole(s); err != nil || string(r) != s {
			t.Errorf("ParseRole(%q) = %q, %v", s, r, err)
		}
	}
	for _, s := range []string{"", "admin", "Office", "office "} {
		if _, err := auth.ParseRole(s); !errors.Is(err, auth.ErrInvalidRole) {
			t.Errorf("ParseRole(%q): %v, want ErrInvalidRole", s, err)
		}
	}
}
