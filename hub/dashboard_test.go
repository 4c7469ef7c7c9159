package hub_test

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"pointage/hub/auth"
	"pointage/hub/roster"
	"pointage/hub/users"
	"pointage/internal/civil"
	"pointage/internal/testenv"
)

// browser starts a headless Chromium for the test; it is stopped (and its
// profile folder removed) when the test ends.
func browser(t *testing.T) context.Context {
	t.Helper()
	chromium := testenv.Require(t, "chromium") // fails under CI=true when missing
	// Chromium sometimes exits at start on a loaded machine (seen once in a
	// make test run: "chrome failed to start" after crashpad's warnings); a
	// browser that does not start is not what the test checks, so it is
	// started again, twice at most.
	var err error
	for attempt := 1; attempt <= 3; attempt++ {
		var ctx context.Context
		if ctx, err = startChromium(t, chromium); err == nil {
			return ctx
		}
		t.Logf("start chromium (attempt %d of 3): %v", attempt, err)
		time.Sleep(time.Second)
	}
	t.Fatalf("start chromium: %v", err)
	return nil
}

// startChromium starts one headless Chromium with its own profile folder.
func startChromium(t *testing.T, chromium string) (context.Context, error) {
	// Not t.TempDir: Chromium's helper processes may still write in the
	// profile for a moment after the browser exits, and t.TempDir's
	// cleanup fails the test on "directory not empty". Removed (retried)
	// after Chromium has exited: this cleanup is registered first.
	profile, err := os.MkdirTemp("", "pointage-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for i := 0; i < 50 && os.RemoveAll(profile) != nil; i++ {
			time.Sleep(100 * time.Millisecond)
		}
	})
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.NoSandbox, // CI runs as root
		chromedp.Headless,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1280, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 40*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	if err := chromedp.Run(ctx); err != nil { // start it now, so its start-up is not charged to a step
		cancelTimeout()
		cancelCtx()
		cancelAlloc()
		return nil, err
	}
	return ctx, nil
}

func run(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action) {
	t.Helper()
	if err := chromedp.Run(ctx, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// evalUntil evaluates a JS expression until it returns want (or the
// deadline passes), without reloading the page.
func evalUntil(t *testing.T, ctx context.Context, d time.Duration, what, expr string, ok func(string) bool) string {
	t.Helper()
	var got string
	deadline := time.Now().Add(d)
	for {
		err := chromedp.Run(ctx, chromedp.Evaluate(expr, &got))
		if err == nil && ok(got) {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still %q after %s (err %v)", what, got, d, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func login(t *testing.T, ctx context.Context, base, name, password string) {
	t.Helper()
	run(t, ctx, "log in as "+name,
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible("#form-connexion", chromedp.ByID),
		chromedp.SendKeys("#nom", name, chromedp.ByID),
		chromedp.SendKeys("#motdepasse", password, chromedp.ByID),
		chromedp.Click("#valider", chromedp.ByID),
		chromedp.WaitVisible("#ecoles", chromedp.ByID),
	)
}

func text(id string) string {
	return `(function(){var e=document.getElementById(` + "'" + id + "'" + `);return e?e.textContent:""})()`
}

// The dashboard in a real browser: an office user logs in through the
// French form and sees the city overview; a check-in from a device changes
// the meal count live, without a reload; the session cookie authenticates
// the API (reads only: a write needs the CSRF token); a kitchen user lands
// on /cuisine and sees diets, never names.
func TestDashboardInBrowser(t *testing.T) {
	testenv.Require(t, "chromium") // before starting anything
	h := startHub(t, config())
	t0 := time.Now()
	ctx := browser(t) // after startHub: its cleanup closes Chromium's live streams before the hub stops
	t.Logf("chromium started in %s", time.Since(t0).Round(time.Millisecond))
	base := "http://" + h.HTTPAddr()
	bg := context.Background()
	users.FastBcryptForTest(h.Users())
	parsed, err := roster.Parse(strings.NewReader(rosterCSV))
	if err != nil || len(parsed.Errors) > 0 {
		t.Fatalf("roster: %v %v", err, parsed.Errors)
	}
	if _, err := h.Roster().Import(bg, parsed.People, civil.MinDate.AddDays(1), nil); err != nil {
		t.Fatal(err)
	}
	for _, u := range []struct {
		name string
		role auth.Role
	}{{"marie", auth.RoleOffice}, {"cuisine", auth.RoleKitchen}} {
		if _, err := h.Users().Add(bg, u.name, u.role, "", "password-"+u.name); err != nil {
			t.Fatal(err)
		}
	}
	_, pw, err := h.Devices().Add(bg, "jules-ferry", "jf-cantine-1", "")
	if err != nil {
		t.Fatal(err)
	}
	dev := newDevice(t, h.MQTTURL(), "jules-ferry", "jf-cantine-1", pw)

	// Security headers on every page.
	resp, err := http.Get(base + "/connexion")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") ||
		resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("security headers: %v", resp.Header)
	}

	start := time.Now()
	login(t, ctx, base, "marie", "password-marie")
	meals := evalUntil(t, ctx, 5*time.Second, "overview drawn", text("repas-jules-ferry"), func(s string) bool { return s != "" })
	if meals != "0 / 3" {
		t.Fatalf("meals before any check-in: %q", meals)
	}
	day := evalUntil(t, ctx, 2*time.Second, "date shown", text("date-jour"), func(s string) bool { return s != "" })
	if !regexp.MustCompile(`^Journée du \d{2}/\d{2}/\d{4}$`).MatchString(day) {
		t.Fatalf("date: %q, want dd/mm/yyyy", day)
	}
	evalUntil(t, ctx, 5*time.Second, "live stream connected", text("etat-direct"), func(s string) bool { return s == "en direct" })
	var marked bool
	run(t, ctx, "mark the page", chromedp.Evaluate(`window.__pointageMark = 1; true`, &marked))

	dev.send("E1", 1) // badge 0A00000001: Léa, standard
	evalUntil(t, ctx, 10*time.Second, "meal count updated live", text("repas-jules-ferry"), func(s string) bool { return s == "1 / 3" })
	var same bool
	run(t, ctx, "no reload", chromedp.Evaluate(`window.__pointageMark === 1`, &same))
	if !same {
		t.Fatal("the page reloaded to show the new count")
	}

	screenshot(t, ctx, "dashboard-overview.png")

	// The session cookie authenticates the API, for reads; a write without
	// the CSRF token is refused.
	var cookies []*network.Cookie
	run(t, ctx, "read cookies", chromedp.ActionFunc(func(ctx context.Context) error {
		var err error
		cookies, err = network.GetCookies().WithURLs([]string{base}).Do(ctx)
		return err
	}))
	var session *network.Cookie
	for _, c := range cookies {
		if c.Name == "pointage_session" {
			session = c
		}
	}
	if session == nil || !session.HTTPOnly || session.SameSite != network.CookieSameSiteStrict || session.Path != "/" {
		t.Fatalf("session cookie: %+v", session)
	}
	waitFor(t, 3*time.Second, "API needs credentials", func() bool { code, _ := getAs(t, h, "", "", "/api/v1/counts"); return code == 401 })
	apiWithCookie := func(method, path string) int {
		req, _ := http.NewRequest(method, base+path, strings.NewReader(url.Values{}.Encode()))
		req.AddCookie(&http.Cookie{Name: session.Name, Value: session.Value})
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := apiWithCookie("GET", "/api/v1/events?site=jules-ferry"); code != 200 {
		t.Fatalf("GET events with the session cookie: %d", code)
	}
	if code := apiWithCookie("POST", "/api/v1/corrections"); code != 401 {
		t.Fatalf("POST corrections with the cookie but no CSRF token: %d, want 401", code)
	}

	// Logging out ends the session.
	run(t, ctx, "log out", chromedp.Click("#deconnexion", chromedp.ByID), chromedp.WaitVisible("#form-connexion", chromedp.ByID))
	if code := apiWithCookie("GET", "/api/v1/counts"); code != 401 {
		t.Fatalf("GET counts with the ended session: %d", code)
	}

	// The kitchen lands on /cuisine: diets, never names.
	login(t, ctx, base, "cuisine", "password-cuisine")
	evalUntil(t, ctx, 5*time.Second, "kitchen page drawn", text("cuisine-servis-jules-ferry"), func(s string) bool { return s == "1" })
	var loc, body string
	run(t, ctx, "kitchen page", chromedp.Location(&loc), chromedp.Evaluate(`document.body.innerText`, &body))
	// The diets by their labels (names.BuiltInDiets), not their codes.
	if !strings.HasSuffix(loc, "/cuisine") || !strings.Contains(body, "Standard\t1\t2") || !strings.Contains(body, "Sans porc\t0\t1") {
		t.Fatalf("kitchen at %s sees:\n%s", loc, body)
	}
	for _, name := range []string{"Wamytan", "Léa", "Gowé", "Noa", "Martin", "Jade", "Dupont"} {
		if strings.Contains(body, name) {
			t.Fatalf("the kitchen page shows the name %q:\n%s", name, body)
		}
	}
	t.Logf("browser part: %s", time.Since(start).Round(time.Millisecond))
}

// tap clicks the element matching the CSS selector, again if the page
// re-rendered it between finding and clicking it (live pages redraw on
// every update: chromedp then reports "Could not find node with given id").
func tap(sel string) chromedp.Action {
	return chromedp.ActionFunc(func(ctx context.Context) error {
		var err error
		for range 10 {
			if err = chromedp.Click(sel, chromedp.ByQuery).Do(ctx); err == nil || !strings.Contains(err.Error(), "Could not find node") {
				return err
			}
			time.Sleep(100 * time.Millisecond)
		}
		return err
	})
}

// screenshot saves the whole page as name under $POINTAGE_SCREENSHOTS (a
// temporary folder when unset).
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	var shot []byte
	run(t, ctx, "screenshot "+name, chromedp.FullScreenshot(&shot, 100))
	dir := os.Getenv("POINTAGE_SCREENSHOTS")
	if dir == "" {
		dir = t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}
