package hub_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"pointage/hub/auth"
	"pointage/hub/hubtest"
	"pointage/hub/users"
	"pointage/internal/testenv"
)

// The users page (docs/DESIGN.md §12), in a real browser: the office adds a
// colleague (the generated password shown once works), disables and
// removes it, and is told in French that the last office account cannot
// be disabled; the kitchen is sent away from the page.
func TestDashboardUsersInBrowser(t *testing.T) {
	testenv.Require(t, "chromium")
	h := startHub(t, config())
	ctx := browser(t)
	base := "http://" + h.HTTPAddr()
	bg := context.Background()
	users.FastBcryptForTest(h.Users())
	for _, u := range []struct {
		name string
		role auth.Role
	}{{"marie", auth.RoleOffice}, {"cuisine", auth.RoleKitchen}} {
		if _, err := h.Users().Add(bg, u.name, u.role, "", "password-"+u.name); err != nil {
			t.Fatal(err)
		}
	}
	basic := func(user, password string) int {
		t.Helper()
		return hubtest.BasicStatus(t, h, user, password, "/api/v1/counts")
	}

	login(t, ctx, base, "marie", "password-marie")
	run(t, ctx, "open the users page from the menu",
		chromedp.Click(`a[href="/utilisateurs"]`, chromedp.ByQuery),
		chromedp.WaitVisible("#utilisateur-marie", chromedp.ByID),
		// the page's confirmations are answered yes
		chromedp.Evaluate(`window.confirm = function () { return true; }`, nil),
	)
	// The last login in the hub's time zone (Nouméa), whatever the browser's (UTC here).
	noumea, err := time.LoadLocation("Pacific/Noumea")
	if err != nil {
		t.Fatal(err)
	}
	evalUntil(t, ctx, 5*time.Second, "marie's row, her login in Nouméa time", text("utilisateur-marie"), func(s string) bool {
		now := time.Now().In(noumea)
		inNoumea := strings.Contains(s, now.Format("02/01/2006 15:")) || strings.Contains(s, now.Add(-time.Minute).Format("02/01/2006 15:"))
		return strings.Contains(s, "marie (vous)") && strings.Contains(s, "Bureau") && strings.Contains(s, "actif") && inNoumea
	})

	run(t, ctx, "add paul, kitchen, with a generated password",
		chromedp.SendKeys("#ajout-nom", "paul", chromedp.ByID),
		chromedp.SetValue("#ajout-role", "kitchen", chromedp.ByID),
		chromedp.Click("#ajout-valider", chromedp.ByID),
		chromedp.WaitVisible("#mot-de-passe", chromedp.ByID),
		chromedp.WaitVisible("#utilisateur-paul", chromedp.ByID),
	)
	password := evalUntil(t, ctx, 5*time.Second, "the password shown once", text("mdp"), func(s string) bool { return len(s) >= 20 })
	if got := basic("paul", password); got != 200 {
		t.Fatalf("paul with the password the page showed: %d, want 200", got)
	}
	run(t, ctx, "the password is put away", chromedp.Click("#mdp-fermer", chromedp.ByID))
	if got := evalUntil(t, ctx, 2*time.Second, "the password hidden", `document.getElementById("mot-de-passe").hidden + " " + document.getElementById("mdp").textContent`,
		func(s string) bool { return strings.HasPrefix(s, "true") }); strings.Contains(got, password) {
		t.Error("the password is still in the page after it was put away")
	}

	run(t, ctx, "disable paul", tap("#desactiver-paul"))
	evalUntil(t, ctx, 5*time.Second, "paul disabled", text("utilisateur-paul"), func(s string) bool { return strings.Contains(s, "désactivé") })
	if got := basic("paul", password); got != 401 {
		t.Errorf("disabled paul: %d, want 401", got)
	}

	run(t, ctx, "try to disable marie, the last office account", tap("#desactiver-marie"))
	evalUntil(t, ctx, 5*time.Second, "the French refusal", text("erreur"), func(s string) bool {
		return strings.Contains(s, "dernier compte du bureau actif")
	})
	if got := basic("marie", "password-marie"); got != 200 {
		t.Errorf("marie after the refused change: %d, want 200", got)
	}

	run(t, ctx, "remove paul", tap("#supprimer-paul"))
	evalUntil(t, ctx, 5*time.Second, "paul gone", `String(document.getElementById("utilisateur-paul") === null) + " " + document.getElementById("message").textContent`,
		func(s string) bool { return strings.HasPrefix(s, "true") && strings.Contains(s, "supprimé") })
	screenshot(t, ctx, "users.png")

	// The kitchen has no users page, nor the menu entry.
	run(t, ctx, "log out", chromedp.Click("#deconnexion", chromedp.ByID), chromedp.WaitVisible("#form-connexion", chromedp.ByID))
	run(t, ctx, "log in as the kitchen",
		chromedp.SendKeys("#nom", "cuisine", chromedp.ByID),
		chromedp.SendKeys("#motdepasse", "password-cuisine", chromedp.ByID),
		chromedp.Click("#valider", chromedp.ByID),
		chromedp.WaitVisible("#ecoles", chromedp.ByID),
		chromedp.Navigate(base+"/utilisateurs"),
		chromedp.WaitVisible("#ecoles", chromedp.ByID),
	)
	evalUntil(t, ctx, 2*time.Second, "the kitchen's page, without the users entry",
		`location.pathname + " " + String(document.querySelector('a[href="/utilisateurs"]') === null)`,
		func(s string) bool { return s == "/cuisine true" })
}
