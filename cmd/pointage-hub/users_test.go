package main

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"pointage/hub"
	"pointage/hub/auth"
	"pointage/hub/hubtest"
)

// docs/DESIGN.md §12: the users command changes a user while the hub runs, and the
// hub applies it within 2 s to HTTP Basic credentials and to the user's
// dashboard sessions; the last enabled office user is never disabled or
// removed.
func TestUsersAdministeredWhileTheHubRuns(t *testing.T) {
	dir := t.TempDir()
	for _, u := range []string{"marie", "paul"} {
		if _, err := run(t, "mot-de-passe-"+u+"\n", "users", "add", "--data-dir", dir, u, "--role", "office", "--password-stdin"); err != nil {
			t.Fatal(err)
		}
	}
	cfg := hub.Defaults()
	cfg.DataDir = dir
	h := hubtest.Start(t, cfg, hub.Options{}, nil)
	base := "http://" + h.HTTPAddr()
	basic := func(user, password string) int {
		t.Helper()
		return hubtest.BasicStatus(t, h, user, password, "/api/v1/counts")
	}
	// paul is logged in on the dashboard too.
	sess, _, err := h.Users().Login(context.Background(), "paul", "mot-de-passe-paul")
	if err != nil {
		t.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	u, _ := url.Parse(base)
	jar.SetCookies(u, []*http.Cookie{{Name: auth.SessionCookie, Value: sess.Token}})
	browser := &http.Client{Jar: jar}
	session := func() int {
		t.Helper()
		resp, err := browser.Get(base + "/api/v1/counts")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if basic("paul", "mot-de-passe-paul") != 200 || session() != 200 {
		t.Fatalf("paul is not let in before any change: Basic %d, session %d", basic("paul", "mot-de-passe-paul"), session())
	}
	// within reports how long until refused() held, polling every 300 ms
	// (a faster poll of wrong passwords would trip the login limiter).
	within := func(what string, refused func() bool) {
		t.Helper()
		start := time.Now()
		for !refused() {
			if time.Since(start) > 3*time.Second { // 2 s (docs/DESIGN.md §12), and the 300 ms poll
				t.Fatalf("%s: still let in after %s", what, time.Since(start))
			}
			time.Sleep(300 * time.Millisecond)
		}
		t.Logf("%s: refused after %s", what, time.Since(start).Round(10*time.Millisecond))
	}

	if _, err := run(t, "un-nouveau-mot-de-passe\n", "users", "set-password", "--data-dir", dir, "paul", "--password-stdin"); err != nil {
		t.Fatal(err)
	}
	within("the old password", func() bool { return basic("paul", "mot-de-passe-paul") != 200 })
	if got := session(); got != 401 {
		t.Errorf("paul's session after a new password: %d, want 401", got)
	}
	if got := basic("paul", "un-nouveau-mot-de-passe"); got != 200 {
		t.Errorf("the new password: %d, want 200", got)
	}

	if _, err := run(t, "", "users", "disable", "--data-dir", dir, "paul"); err != nil {
		t.Fatal(err)
	}
	within("a disabled user", func() bool { return basic("paul", "un-nouveau-mot-de-passe") != 200 })
	if _, err := run(t, "", "users", "enable", "--data-dir", dir, "paul"); err != nil {
		t.Fatal(err)
	}
	if got := basic("paul", "un-nouveau-mot-de-passe"); got != 200 {
		t.Errorf("enabled again: %d, want 200", got)
	}
	if _, err := run(t, "", "users", "remove", "--data-dir", dir, "paul"); err != nil {
		t.Fatal(err)
	}
	within("a removed user", func() bool { return basic("paul", "un-nouveau-mot-de-passe") != 200 })

	// marie is now the last enabled office user.
	for _, args := range [][]string{{"disable", "marie"}, {"remove", "marie"}} {
		out, err := run(t, "", append([]string{"users", args[0], "--data-dir", dir}, args[1:]...)...)
		if err == nil || !strings.Contains(err.Error(), "last enabled office user") {
			t.Errorf("users %s marie, the last office user: %v\n%s", args[0], err, out)
		}
	}
	if got := basic("marie", "mot-de-passe-marie"); got != 200 {
		t.Errorf("marie after the refused changes: %d, want 200", got)
	}
	out, err := run(t, "", "users", "list", "--data-dir", dir)
	if err != nil || strings.Contains(out, "paul") || !strings.Contains(out, "marie") || !strings.Contains(out, "enabled") {
		t.Errorf("users list: %v\n%s", err, out)
	}
	if _, err := run(t, "", "users", "disable", "--data-dir", dir, "nobody"); err == nil || !strings.Contains(err.Error(), "users list") {
		t.Errorf("an unknown user: %v", err)
	}
}
