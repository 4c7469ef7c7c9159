package hub_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"pointage/hub"
	"pointage/hub/auth"
	"pointage/hub/roster"
	"pointage/hub/users"
	"pointage/internal/civil"
	"pointage/internal/testenv"
)

// The roster page (docs/DESIGN.md §12), in a real browser: the office
// chooses a workbook made by Excel's library; a file over 20 MB is refused
// before it is sent and a file that is no roster gets the hub's French
// message; the preview shows who is added, changed (before → after),
// removed and the rejected row with its French reason; applied from
// tomorrow, the result shows and the API's roll-call lists reflect it, today
// unchanged. A school user has no link and is sent away from the page.
func TestDashboardRosterInBrowser(t *testing.T) {
	testenv.Require(t, "chromium")
	h := startHub(t, config())
	ctx := browser(t)
	base := "http://" + h.HTTPAddr()
	bg := context.Background()
	users.FastBcryptForTest(h.Users())
	for _, u := range []struct {
		name string
		role auth.Role
		site string
	}{{"marie", auth.RoleOffice, ""}, {"ecole", auth.RoleSchool, "jules-ferry"}} {
		if _, err := h.Users().Add(bg, u.name, u.role, u.site, "password-"+u.name); err != nil {
			t.Fatal(err)
		}
	}
	parsed, err := roster.Parse(strings.NewReader(rosterCSV))
	if err != nil || len(parsed.Errors) > 0 {
		t.Fatalf("roster: %v %v", err, parsed.Errors)
	}
	if _, err := h.Roster().Import(bg, parsed.People, civil.MinDate.AddDays(1), nil); err != nil {
		t.Fatal(err)
	}

	// E002 moves up to CE2, E003 has left, E010 is new, and line 6 gives
	// E001's badge to someone else.
	dir := t.TempDir()
	workbook := filepath.Join(dir, "registre.xlsx")
	if err := os.WriteFile(workbook, workbookOf(t, "badge;person_id;role;last_name;first_name;site;class;regime;canteen_days;garderie\n"+
		"0A00000001;E001;child;Wamytan;Léa;jules-ferry;CP;standard;lu ma me je ve sa di;soir\n"+
		"0A00000002;E002;child;Gowé;Noa;jules-ferry;CE2;sans-porc;lu ma me je ve sa di;\n"+
		"0A00000009;S001;staff;Dupont;Paul;jules-ferry;;standard;lu ma me je ve;\n"+
		"0A00000010;E010;enfant;Kasarhérou;Mathis;jules-ferry;CP;Végétarien;lu ma je ve;matin\n"+
		"0A00000001;E011;child;Tein;Inès;jules-ferry;CP;standard;lu;\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "gros.csv")
	if err := os.WriteFile(big, bytes.Repeat([]byte("x;"), 21<<19), 0o600); err != nil { // 21 MB
		t.Fatal(err)
	}
	notRoster := filepath.Join(dir, "liste.csv")
	if err := os.WriteFile(notRoster, []byte("Nom;Prénom\nWamytan;Léa\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	today := h.Days().Today()
	tomorrow := today.AddDays(1)
	fr := func(d civil.Date) string { return d.Time().Format("02/01/2006") }

	login(t, ctx, base, "marie", "password-marie")
	run(t, ctx, "open the roster page from the menu",
		tap(`a[href="/registre"]`),
		chromedp.WaitVisible("#fichier", chromedp.ByID),
		chromedp.Evaluate(`window.confirm = function () { return true; }`, nil),
	)
	evalUntil(t, ctx, 2*time.Second, "the page's title", `document.title + " | " + document.querySelector("h1").textContent`, func(s string) bool {
		return strings.Contains(s, "Registre des inscrits")
	})

	run(t, ctx, "choose a 21 MB file", chromedp.SetUploadFiles("#fichier", []string{big}, chromedp.ByID))
	evalUntil(t, ctx, 5*time.Second, "the refusal before sending", text("erreur"), func(s string) bool {
		return strings.Contains(s, "Fichier trop gros (21,0 Mo) : 20 Mo au plus")
	})

	run(t, ctx, "choose a file that is no roster", chromedp.SetUploadFiles("#fichier", []string{notRoster}, chromedp.ByID))
	evalUntil(t, ctx, 5*time.Second, "the hub's French message", text("erreur"), func(s string) bool {
		return strings.Contains(s, "n'est pas une liste d'élèves et d'agents") && strings.Contains(s, "colonne(s) obligatoire(s) absente(s)")
	})

	run(t, ctx, "choose the workbook", chromedp.SetUploadFiles("#fichier", []string{workbook}, chromedp.ByID))
	evalUntil(t, ctx, 10*time.Second, "the preview at today's date", `document.getElementById("apercu").hidden + " " + `+text("apercu-titre")+` + " | " + document.getElementById("date-effet").value`,
		func(s string) bool {
			return strings.HasPrefix(s, "false") && strings.Contains(s, "Aperçu au "+fr(today)) && strings.HasSuffix(s, "| "+fr(today))
		})
	for _, c := range []struct{ id, want string }{
		{"chiffres", "1 à ajouter"},
		{"chiffres", "1 à modifier"},
		{"chiffres", "1 à retirer"},
		{"chiffres", "2 inchangés"},
		{"chiffres", "1 ligne rejetée"},
		{"ajoute-E010", "Mathis Kasarhérou"},
		{"modifie-E002", "Classe : CE1 → CE2"},
		{"retire-E003", "Jade Martin"},
		{"rejetee-6", "badge 0A00000001 déjà utilisé par E001 (ligne 2)"},
	} {
		evalUntil(t, ctx, 2*time.Second, c.id+" says "+c.want, text(c.id), func(s string) bool { return strings.Contains(s, c.want) })
	}
	if n := len(classesOn(t, h, today, "E003")); n != 1 {
		t.Fatal("the preview changed the roster")
	}

	run(t, ctx, "apply from tomorrow: the preview for that date first",
		chromedp.Evaluate(`document.getElementById("date-effet").value = ""`, nil),
		chromedp.SendKeys("#date-effet", fr(tomorrow)+kb.Tab, chromedp.ByID),
	)
	evalUntil(t, ctx, 10*time.Second, "the preview at tomorrow's date", text("apercu-titre"), func(s string) bool {
		return strings.Contains(s, "Aperçu au "+fr(tomorrow))
	})
	screenshot(t, ctx, "registre.png")
	run(t, ctx, "apply", tap("#appliquer-btn"))
	evalUntil(t, ctx, 10*time.Second, "the result", text("message")+` + " | " + `+text("apercu-titre"), func(s string) bool {
		return strings.Contains(s, "Registre mis à jour à partir du "+fr(tomorrow)+" : 1 ajout, 1 modification, 1 retrait, 1 ligne rejetée") &&
			strings.Contains(s, "Changements appliqués à partir du "+fr(tomorrow))
	})
	evalUntil(t, ctx, 2*time.Second, "the applied changes listed", text("modifie-E002")+` + " | " + `+text("chiffres"), func(s string) bool {
		return strings.Contains(s, "CE1 → CE2") && strings.Contains(s, "1 modifié")
	})

	// The roll-call lists of the API: tomorrow's roster is the file's, today's is as it was.
	for _, c := range []struct {
		day   civil.Date
		id    string
		class string // "" = not on the roster
	}{
		{today, "E002", "CE1"}, {today, "E003", "CE1"},
		{tomorrow, "E002", "CE2"}, {tomorrow, "E003", ""}, {tomorrow, "E010", "CP"},
	} {
		got := classesOn(t, h, c.day, c.id)
		if (c.class == "" && len(got) != 0) || (c.class != "" && (len(got) != 1 || got[0] != c.class)) {
			t.Errorf("%s on %s: classes %v, want %q", c.id, c.day, got, c.class)
		}
	}

	// A school user: no link, and /registre sends it to its landing page.
	run(t, ctx, "log out", chromedp.Click("#deconnexion", chromedp.ByID), chromedp.WaitVisible("#form-connexion", chromedp.ByID))
	run(t, ctx, "log in as the school",
		chromedp.SendKeys("#nom", "ecole", chromedp.ByID),
		chromedp.SendKeys("#motdepasse", "password-ecole", chromedp.ByID),
		chromedp.Click("#valider", chromedp.ByID),
		chromedp.WaitVisible("#ecoles", chromedp.ByID),
	)
	evalUntil(t, ctx, 2*time.Second, "the school's menu, without the roster", `String(document.querySelector('a[href="/registre"]') === null) + " " + String(document.querySelector('a[href="/ecole"]') !== null)`,
		func(s string) bool { return s == "true true" })
	run(t, ctx, "open /registre as the school", chromedp.Navigate(base+"/registre"), chromedp.WaitVisible("#ecoles", chromedp.ByID))
	evalUntil(t, ctx, 2*time.Second, "sent back to the overview", `location.pathname + " " + String(document.getElementById("fichier") === null)`,
		func(s string) bool { return s == "/ true" })
}

// classesOn returns the classes of the children with this id in GET /api/v1/people
// for jules-ferry on day (none: not on the roster that day).
func classesOn(t *testing.T, h *hub.Hub, day civil.Date, personID string) []string {
	t.Helper()
	var people struct {
		Children []struct {
			PersonID string `json:"person_id"`
			Class    string `json:"class"`
		} `json:"children"`
	}
	if code := hubtestGet(t, h, "marie", "/api/v1/people?site=jules-ferry&date="+day.String(), &people); code != 200 {
		t.Fatalf("people on %s: %d", day, code)
	}
	var classes []string
	for _, p := range people.Children {
		if p.PersonID == personID {
			classes = append(classes, p.Class)
		}
	}
	return classes
}
