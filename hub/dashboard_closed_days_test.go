package hub_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"pointage/hub/auth"
	"pointage/hub/roster"
	"pointage/hub/users"
	"pointage/internal/civil"
	"pointage/internal/testenv"
)

// The closed days page (docs/DESIGN.md §12), in a real browser: the office
// sees the calendar file's entry (read-only), adds a strike day for one
// school (nobody is expected there that day, at once), is told in French
// what is wrong with a bad entry, and removes the strike; a school user
// has no menu entry and is sent away from the page.
func TestDashboardClosedDaysInBrowser(t *testing.T) {
	testenv.Require(t, "chromium")
	loc, err := time.LoadLocation("Pacific/Noumea")
	if err != nil {
		t.Fatal(err)
	}
	today := civil.DateOf(time.Now().In(loc))
	strikeDay, fileDay := today.AddDays(2), today.AddDays(20)
	cfg := config()
	cfg.Calendar = filepath.Join(t.TempDir(), "calendar.yaml")
	if err := os.WriteFile(cfg.Calendar, []byte("closed:\n  - {date: "+fileDay.String()+", reason: \"Fête (fichier)\"}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	h := startHub(t, cfg)
	ctx := browser(t)
	base := "http://" + h.HTTPAddr()
	bg := context.Background()
	parsed, err := roster.Parse(strings.NewReader(rosterCSV + "0B00000001;P001;child;Kasarhérou;Tom;pasteur;CP;standard;lu ma me je ve sa di;\n"))
	if err != nil || len(parsed.Errors) > 0 {
		t.Fatal(err, parsed.Errors)
	}
	if _, err := h.Roster().Import(bg, parsed.People, civil.MinDate.AddDays(1), nil); err != nil {
		t.Fatal(err)
	}
	users.FastBcryptForTest(h.Users())
	for _, u := range []struct {
		name string
		role auth.Role
		site string
	}{{"marie", auth.RoleOffice, ""}, {"directrice", auth.RoleSchool, "jules-ferry"}} {
		if _, err := h.Users().Add(bg, u.name, u.role, u.site, "motdepasse-"+u.name); err != nil {
			t.Fatal(err)
		}
	}
	// The page reads the schools' display names.
	if code, body := officeCall(t, h, "PUT", "/api/v1/sites/jules-ferry/name", `{"name":"École Jules Ferry"}`); code != 200 {
		t.Fatalf("name jules-ferry: %d %s", code, body)
	}
	fr := func(d civil.Date) string { return d.In(time.UTC).Format("02/01/2006") }
	weekday := func(d civil.Date) string {
		return []string{"dimanche", "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi"}[d.Weekday()]
	}

	login(t, ctx, base, "marie", "motdepasse-marie")
	run(t, ctx, "open the closed days page from the menu",
		tap(`a[href="/jours-fermes"]`), // again if the overview was still loading (its node replaced)
		chromedp.WaitVisible("#jour-config-1", chromedp.ByID),
		chromedp.WaitVisible("#ecole-jules-ferry", chromedp.ByID),
		chromedp.Evaluate(`window.confirm = function () { return true; }`, nil), // the page's confirmations are answered yes
	)
	evalUntil(t, ctx, 5*time.Second, "the calendar file's entry, read-only", text("jour-config-1"), func(s string) bool {
		return strings.Contains(s, weekday(fileDay)+" "+fr(fileDay)) && strings.Contains(s, "toute la ville") &&
			strings.Contains(s, "Fête (fichier)") && strings.Contains(s, "fichier de calendrier (ligne 2)") && !strings.Contains(s, "Retirer")
	})

	run(t, ctx, "a bad entry: the end before the start",
		chromedp.SendKeys("#ajout-du", fr(strikeDay), chromedp.ByID),
		chromedp.SendKeys("#ajout-au", fr(today), chromedp.ByID),
		chromedp.SendKeys("#ajout-motif", "Grève des agents", chromedp.ByID),
		chromedp.Click("#ajout-valider", chromedp.ByID),
	)
	evalUntil(t, ctx, 5*time.Second, "the French refusal", text("erreur"), func(s string) bool {
		return strings.Contains(s, "la date de fin est avant la date de début")
	})

	run(t, ctx, "add a strike day at jules-ferry",
		chromedp.Evaluate(`document.getElementById("ajout-au").value = ""`, nil), // one day: no end
		chromedp.Click("#portee-ecoles", chromedp.ByID),
		chromedp.Click("#ecole-jules-ferry", chromedp.ByID),
		chromedp.Click("#ajout-valider", chromedp.ByID),
	)
	evalUntil(t, ctx, 5*time.Second, "the strike listed", `document.getElementById("liste").textContent + " | " + document.getElementById("message").textContent`,
		func(s string) bool {
			return strings.Contains(s, weekday(strikeDay)+" "+fr(strikeDay)+"École Jules FerryGrève des agentstableau de bord (marie") &&
				strings.Contains(s, "| Jour fermé ajouté")
		})
	if got, want := expected(t, h, strikeDay), "jules-ferry:0 pasteur:1"; got != want {
		t.Errorf("expected on the strike day: %s, want %s", got, want)
	}
	screenshot(t, ctx, "jours-fermes.png")

	id := evalUntil(t, ctx, 2*time.Second, "the strike's button", `(function(){var b=document.querySelector('#liste button[id^="retirer-"]');return b?b.id:""})()`,
		func(s string) bool { return s != "" })
	run(t, ctx, "remove the strike", tap("#"+id))
	evalUntil(t, ctx, 5*time.Second, "the strike gone", `String(document.getElementById("`+id+`") === null) + " " + document.getElementById("message").textContent`,
		func(s string) bool { return strings.HasPrefix(s, "true") && strings.Contains(s, "Jour fermé retiré") })
	if got, want := expected(t, h, strikeDay), "jules-ferry:3 pasteur:1"; got != want {
		t.Errorf("expected on the strike day after its removal: %s, want %s", got, want)
	}

	// A school has no closed days page, nor the menu entry.
	run(t, ctx, "log out", chromedp.Click("#deconnexion", chromedp.ByID), chromedp.WaitVisible("#form-connexion", chromedp.ByID))
	login(t, ctx, base, "directrice", "motdepasse-directrice")
	run(t, ctx, "the school opens the page's address", chromedp.Navigate(base+"/jours-fermes"), chromedp.WaitVisible("#ecoles", chromedp.ByID))
	evalUntil(t, ctx, 2*time.Second, "the school's landing page, without the closed days entry",
		`location.pathname + " " + String(document.querySelector('a[href="/jours-fermes"]') === null)`,
		func(s string) bool { return s == "/ true" })
}
