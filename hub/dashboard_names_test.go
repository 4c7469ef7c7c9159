package hub_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"pointage/hub"
	"pointage/hub/roster"
	"pointage/hub/users"
	"pointage/internal/civil"
	"pointage/internal/testenv"
)

const namesRosterCSV = "badge;person_id;role;last_name;first_name;site;class;regime;canteen_days;garderie\n" +
	"0B00000001;R001;child;Wéa;Maïa;riviere-salee;CP;vegetarien;lu ma me je ve sa di;\n" +
	"0B00000002;R002;child;Tein;Kylian;riviere-salee;CP;pai;lu ma me je ve sa di;\n" +
	"0A00000001;E001;child;Wamytan;Léa;jules-ferry;CP;standard;lu ma me je ve sa di;\n"

// Display names in a real browser (docs/DESIGN.md §12): the overview and
// the school page with its printed list show "École de Rivière-Salée"
// (the sites file's name) and "Végétarien", "PAI" (built-in labels) where
// they showed the id and the codes; the office names jules-ferry on the
// Écoles page and the overview shows the new name; a school account has
// neither the page nor its menu entry.
func TestDashboardNamesInBrowser(t *testing.T) {
	testenv.Require(t, "chromium")
	h := namesHub(t, hub.Options{})
	ctx := browser(t)
	base := "http://" + h.HTTPAddr()
	parsed, err := roster.Parse(strings.NewReader(namesRosterCSV))
	if err != nil || len(parsed.Errors) > 0 {
		t.Fatalf("roster: %v %v", err, parsed.Errors)
	}
	if _, err := h.Roster().Import(context.Background(), parsed.People, civil.MinDate.AddDays(1), nil); err != nil {
		t.Fatal(err)
	}

	login(t, ctx, base, "marie", "password-marie")
	section := func(site string) string {
		return `(function(){var e=document.getElementById('ecole-` + site + `');return e?e.innerText:""})()`
	}
	got := evalUntil(t, ctx, 5*time.Second, "overview with names", section("riviere-salee"), func(s string) bool { return s != "" })
	if !strings.HasPrefix(got, "École de Rivière-Salée\n") || !strings.Contains(got, "dont Végétarien") || !strings.Contains(got, "dont PAI") ||
		strings.Contains(got, "vegetarien") || strings.Contains(got, "riviere-salee") {
		t.Errorf("overview's riviere-salee:\n%s", got)
	}
	if got := evalUntil(t, ctx, 2*time.Second, "a school without a name", section("jules-ferry"), func(s string) bool { return s != "" }); !strings.HasPrefix(got, "jules-ferry\n") {
		t.Errorf("overview's jules-ferry (no name: its id):\n%s", got)
	}

	// The school page: title, picker, lists and printed list.
	run(t, ctx, "open /ecole?site=riviere-salee", chromedp.Navigate(base+"/ecole?site=riviere-salee"), chromedp.WaitVisible("#contenu", chromedp.ByID))
	evalUntil(t, ctx, 5*time.Second, "the school's name in the title", text("titre-site"), func(s string) bool { return s == "— École de Rivière-Salée" })
	evalUntil(t, ctx, 5*time.Second, "diets by label", text("absents"), func(s string) bool {
		return strings.Contains(s, "Maïa Wéa") && strings.Contains(s, "Végétarien") && strings.Contains(s, "PAI") && !strings.Contains(s, "vegetarien")
	})
	picker := evalUntil(t, ctx, 2*time.Second, "the picker's options", `Array.from(document.querySelectorAll('#choix-site option')).map(function(o){return o.value+"="+o.textContent}).join(",")`,
		func(s string) bool { return strings.Contains(s, "riviere-salee") })
	if !strings.Contains(picker, "riviere-salee=École de Rivière-Salée") || !strings.Contains(picker, "jules-ferry=jules-ferry") {
		t.Errorf("picker: %s", picker)
	}
	run(t, ctx, "print media", emulation.SetEmulatedMedia().WithMedia("print"))
	var printed string
	run(t, ctx, "printed text", chromedp.Evaluate(`document.getElementById('impression').innerText`, &printed))
	if !strings.Contains(printed, "École de Rivière-Salée · ") || !strings.Contains(printed, "Végétarien") || strings.Contains(printed, "riviere-salee") {
		t.Errorf("printed list:\n%s", printed)
	}
	run(t, ctx, "screen media", emulation.SetEmulatedMedia().WithMedia(""))

	// The office names jules-ferry on the Écoles page.
	run(t, ctx, "open the schools' page from the menu",
		chromedp.Click(`a[href="/ecoles"]`, chromedp.ByQuery),
		chromedp.WaitVisible("#nom-jules-ferry", chromedp.ByID),
	)
	row := func(site string) string { return text("site-" + site) }
	if got := evalUntil(t, ctx, 2*time.Second, "riviere-salee's row", row("riviere-salee"), func(s string) bool { return s != "" }); !strings.Contains(got, "École de Rivière-Salée") || !strings.Contains(got, "fichier des sites") {
		t.Errorf("riviere-salee's row: %q", got)
	}
	evalUntil(t, ctx, 2*time.Second, "the diets, read only", text("regime-halal"), func(s string) bool { return strings.Contains(s, "Halal") && strings.Contains(s, "fichier des sites") })
	evalUntil(t, ctx, 2*time.Second, "a built-in label", text("regime-vegetarien"), func(s string) bool { return strings.Contains(s, "Végétarien") && strings.Contains(s, "intégré") })
	run(t, ctx, "type a name and save",
		chromedp.SendKeys("#nom-jules-ferry", "École Jules Ferry", chromedp.ByID),
		chromedp.Click("#enregistrer-jules-ferry", chromedp.ByID),
	)
	evalUntil(t, ctx, 5*time.Second, "saved", text("message"), func(s string) bool { return s == "Nom enregistré : « École Jules Ferry »." })
	evalUntil(t, ctx, 2*time.Second, "the row shows it", row("jules-ferry"), func(s string) bool {
		return strings.Contains(s, "École Jules Ferry") && strings.Contains(s, "saisi ici")
	})
	// A tab (pasted from a spreadsheet) is refused, in French.
	run(t, ctx, "a name with a tab",
		chromedp.Evaluate(`document.getElementById('nom-riviere-salee').value = "École\tde Rivière-Salée"; true`, nil),
		tap("#enregistrer-riviere-salee"),
	)
	evalUntil(t, ctx, 5*time.Second, "the French refusal", text("erreur"), func(s string) bool { return strings.Contains(s, "ni retour à la ligne ni tabulation") })
	run(t, ctx, "reload", chromedp.Reload(), chromedp.WaitVisible("#nom-jules-ferry", chromedp.ByID))
	evalUntil(t, ctx, 2*time.Second, "the list after a reload", row("jules-ferry"), func(s string) bool { return strings.Contains(s, "École Jules Ferry") })
	screenshot(t, ctx, "ecoles.png")

	// Another page shows the new name.
	run(t, ctx, "back to the overview", chromedp.Navigate(base+"/"), chromedp.WaitVisible("#ecoles", chromedp.ByID))
	evalUntil(t, ctx, 5*time.Second, "the overview with the new name", section("jules-ferry"), func(s string) bool { return strings.HasPrefix(s, "École Jules Ferry\n") })

	// The users page: the school is chosen by its name, and shown by it.
	run(t, ctx, "open the users page",
		chromedp.Navigate(base+"/utilisateurs"),
		chromedp.WaitReady(`#ajout-site option[value="riviere-salee"]`, chromedp.ByQuery),
	)
	evalUntil(t, ctx, 2*time.Second, "the schools by name", `Array.from(document.querySelectorAll('#ajout-site option')).map(function(o){return o.value+"="+o.textContent}).join(",")`,
		func(s string) bool {
			return strings.Contains(s, "jules-ferry=École Jules Ferry (jules-ferry)") && strings.Contains(s, "riviere-salee=École de Rivière-Salée (riviere-salee)")
		})
	run(t, ctx, "add a school account for riviere-salee",
		chromedp.SendKeys("#ajout-nom", "directeur-rs", chromedp.ByID),
		chromedp.SetValue("#ajout-role", "school", chromedp.ByID),
		chromedp.SetValue("#ajout-site", "riviere-salee", chromedp.ByID),
		chromedp.Click("#ajout-valider", chromedp.ByID),
		chromedp.WaitVisible("#utilisateur-directeur-rs", chromedp.ByID),
	)
	if u, err := h.Users().List(context.Background()); err != nil || !hasUser(u, "directeur-rs", "riviere-salee") {
		t.Fatalf("the account's site: %+v %v", u, err)
	}
	evalUntil(t, ctx, 2*time.Second, "the account's school by name", text("utilisateur-directeur-rs"), func(s string) bool {
		return strings.Contains(s, "École de Rivière-Salée") && !strings.Contains(s, "riviere-salee")
	})

	// A school account has no Écoles page, nor the menu entry.
	run(t, ctx, "log out", chromedp.Click("#deconnexion", chromedp.ByID), chromedp.WaitVisible("#form-connexion", chromedp.ByID))
	login(t, ctx, base, "ecole", "password-ecole")
	run(t, ctx, "try /ecoles", chromedp.Navigate(base+"/ecoles"), chromedp.WaitVisible("#ecoles", chromedp.ByID))
	evalUntil(t, ctx, 2*time.Second, "sent to the overview, without the entry",
		`location.pathname + " " + String(document.querySelector('a[href="/ecoles"]') === null) + " " + document.querySelector('.qui').textContent`,
		func(s string) bool { return s == "/ true ecole (école · École Jules Ferry)" })
}

func hasUser(list []users.User, name, site string) bool {
	for _, u := range list {
		if u.Name == name && u.Site == site {
			return true
		}
	}
	return false
}
