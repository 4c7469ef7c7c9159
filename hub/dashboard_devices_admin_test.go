package hub_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"pointage/hub/audit"
	"pointage/hub/auth"
	"pointage/hub/roster"
	"pointage/hub/users"
	"pointage/internal/civil"
	"pointage/internal/testenv"
	"pointage/internal/wire"
)

// The devices' administration on the devices page (docs/DESIGN.md §12), in
// a real browser: the office registers a device (the school chosen among
// the known ones; a duplicate and a bad id refused in French), sees its
// password and enrolment code once (the password logs in), gives it a new
// password (the old session closed, the new password logs in) and removes
// it after a French confirmation; a school user sees no admin control.
func TestDashboardDevicesAdminInBrowser(t *testing.T) {
	testenv.Require(t, "chromium")
	h := startHub(t, config())
	base := "http://" + h.HTTPAddr()
	bg := context.Background()
	users.FastBcryptForTest(h.Users())
	parsed, err := roster.Parse(strings.NewReader(rosterCSV + "0B00000001;P001;child;Kasarhérou;Tom;pasteur;CP;standard;lu ma me je ve;\n"))
	if err != nil || len(parsed.Errors) > 0 {
		t.Fatalf("roster: %v %v", err, parsed.Errors)
	}
	if _, err := h.Roster().Import(bg, parsed.People, civil.MinDate.AddDays(1), nil); err != nil {
		t.Fatal(err)
	}
	for _, u := range []struct {
		name string
		role auth.Role
		site string
	}{{"marie", auth.RoleOffice, ""}, {"directrice", auth.RoleSchool, "jules-ferry"}} {
		if _, err := h.Users().Add(bg, u.name, u.role, u.site, "password-"+u.name); err != nil {
			t.Fatal(err)
		}
	}
	_, pw, err := h.Devices().Add(bg, "jules-ferry", "jf-cantine-1", "")
	if err != nil {
		t.Fatal(err)
	}
	newDevice(t, h.MQTTURL(), "jules-ferry", "jf-cantine-1", pw).publishDevicesStatus("online",
		[]wire.ReaderStatus{{Name: "entree", Port: "/dev/ttyUSB0", Profile: "rdm6300", Connected: true}}, 0)

	ctx := browser(t)
	var mu sync.Mutex
	var console []string
	chromedp.ListenTarget(ctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch e := ev.(type) {
		case *cdplog.EventEntryAdded:
			console = append(console, string(e.Entry.Level)+": "+e.Entry.Text+" "+e.Entry.URL)
		case *runtime.EventExceptionThrown:
			console = append(console, "exception: "+e.ExceptionDetails.Error())
		}
	})
	login(t, ctx, base, "marie", "password-marie")
	run(t, ctx, "devices page (office)", chromedp.Navigate(base+"/appareils"),
		chromedp.WaitVisible("#appareil-jf-cantine-1", chromedp.ByID),
		// every confirmation is answered yes, and kept
		chromedp.Evaluate(`window.__confirms = []; window.confirm = function (m) { window.__confirms.push(m); return true; }; true`, nil))
	evalUntil(t, ctx, 5*time.Second, "the heard device has its buttons", devicesCount("#appareil-jf-cantine-1 .admin-boutons button"), func(s string) bool { return s == "2" })

	// The form: the known schools to choose from.
	run(t, ctx, "open the form", chromedp.Click("#enregistrer-ouvrir", chromedp.ByID), chromedp.WaitVisible("#enregistrer-ecole", chromedp.ByID))
	evalUntil(t, ctx, 5*time.Second, "the known schools", `Array.prototype.map.call(document.querySelectorAll("#enregistrer-ecole option"), function(o){return o.value}).join(",")`,
		func(s string) bool { return s == ",jules-ferry,pasteur,*autre*" })
	formError := func(what, want string) {
		t.Helper()
		evalUntil(t, ctx, 5*time.Second, what, text("enregistrer-erreur"), func(s string) bool { return strings.HasPrefix(s, want) })
	}
	run(t, ctx, "no school chosen", chromedp.SendKeys("#enregistrer-appareil", "jf-cantine-2", chromedp.ByID), chromedp.Click("#enregistrer-valider", chromedp.ByID))
	formError("a school is required", "Choisissez une école.")
	run(t, ctx, "an existing device", chromedp.SetValue("#enregistrer-ecole", "pasteur", chromedp.ByID),
		chromedp.SetValue("#enregistrer-appareil", "jf-cantine-1", chromedp.ByID), chromedp.Click("#enregistrer-valider", chromedp.ByID))
	formError("409 in French", "Cet appareil existe déjà (école jules-ferry)")
	run(t, ctx, "a bad id", chromedp.SetValue("#enregistrer-appareil", "JF Cantine 2", chromedp.ByID), chromedp.Click("#enregistrer-valider", chromedp.ByID))
	formError("400 naming the field, in French", "Identifiant d'appareil refusé")
	run(t, ctx, "a new school's bad id", chromedp.SetValue("#enregistrer-ecole", "*autre*", chromedp.ByID),
		chromedp.Evaluate(`document.getElementById("enregistrer-ecole").dispatchEvent(new Event("change")); true`, nil),
		chromedp.WaitVisible("#enregistrer-autre", chromedp.ByID),
		chromedp.SendKeys("#enregistrer-autre", "École Pasteur", chromedp.ByID),
		chromedp.SetValue("#enregistrer-appareil", "jf-cantine-2", chromedp.ByID), chromedp.Click("#enregistrer-valider", chromedp.ByID))
	formError("the school's id refused", "Identifiant d'école refusé")
	if all, err := h.Devices().List(bg); err != nil || len(all) != 1 {
		t.Fatalf("registered after the refusals: %+v %v", all, err)
	}

	// Registered: the password and the code shown once.
	run(t, ctx, "register jf-cantine-2", chromedp.SetValue("#enregistrer-ecole", "jules-ferry", chromedp.ByID),
		chromedp.Evaluate(`document.getElementById("enregistrer-ecole").dispatchEvent(new Event("change")); true`, nil),
		chromedp.Click("#enregistrer-valider", chromedp.ByID), chromedp.WaitVisible("#identifiants", chromedp.ByID))
	password := evalUntil(t, ctx, 5*time.Second, "the password shown", text("identifiants-mdp"), func(s string) bool { return len(s) >= 20 })
	code := evalUntil(t, ctx, 2*time.Second, "the code shown", text("identifiants-code"), func(s string) bool { return s != "" })
	if !enrolmentCodeShape.MatchString(code) {
		t.Fatalf("enrolment code shown: %q", code)
	}
	panel := evalUntil(t, ctx, 2*time.Second, "the panel", text("identifiants"), func(s string) bool { return s != "" })
	for _, want := range []string{"jf-cantine-2 (école jules-ferry)", "Notez-les maintenant : ils ne seront plus affichés.", "il sert une seule fois, jusqu'au "} {
		if !strings.Contains(panel, want) {
			t.Errorf("panel %q: want %q", panel, want)
		}
	}
	if msg := evalUntil(t, ctx, 2*time.Second, "message", text("message"), func(s string) bool { return s != "" }); msg != "L'appareil jf-cantine-2 est enregistré pour l'école jules-ferry." {
		t.Errorf("message: %q", msg)
	}
	evalUntil(t, ctx, 5*time.Second, "the new device listed, with its buttons", devicesCount("#appareil-jf-cantine-2 .admin-boutons button"), func(s string) bool { return s == "2" })
	run(t, ctx, "copy the code", chromedp.Click("#copier-code", chromedp.ByID))
	evalUntil(t, ctx, 2*time.Second, "copied (or selected for Ctrl+C)", text("copier-code"), func(s string) bool { return s == "Copié" || strings.HasPrefix(s, "Sélectionné") })
	screenshot(t, ctx, "appareils-enregistrement.png")
	d := agentLink(t, h.MQTTURL(), "jf-cantine-2", password)
	waitFor(t, 10*time.Second, "the password shown logs in", d.Connected)
	run(t, ctx, "put the credentials away", chromedp.Click("#identifiants-fermer", chromedp.ByID))
	if got := evalUntil(t, ctx, 2*time.Second, "hidden", `document.getElementById("identifiants").hidden + " " + document.body.innerHTML`,
		func(s string) bool { return strings.HasPrefix(s, "true") }); strings.Contains(got, password) || strings.Contains(got, code) {
		t.Error("the password or the code is still in the page after it was put away")
	}

	// A new password: the session of the old one closed, the new one logs in.
	run(t, ctx, "new password", tap("#mdp-jf-cantine-2"), chromedp.WaitVisible("#identifiants", chromedp.ByID))
	second := evalUntil(t, ctx, 5*time.Second, "the new password shown", text("identifiants-mdp"), func(s string) bool { return len(s) >= 20 && s != password })
	if c := evalUntil(t, ctx, 2*time.Second, "the new code", text("identifiants-code"), func(s string) bool { return s != "" }); c == code {
		t.Error("the same enrolment code after a new password")
	}
	waitFor(t, 2*time.Second, "the old password's session closed", func() bool { return !d.Connected() })
	d.Close("", nil)
	waitFor(t, 10*time.Second, "the new password logs in", agentLink(t, h.MQTTURL(), "jf-cantine-2", second).Connected)

	// Removed, after a confirmation in French.
	run(t, ctx, "remove", tap("#retirer-jf-cantine-2"))
	evalUntil(t, ctx, 5*time.Second, "removed from the page", devicesCount("#appareil-jf-cantine-2"), func(s string) bool { return s == "0" })
	if msg := evalUntil(t, ctx, 2*time.Second, "message", text("message"), func(s string) bool { return strings.Contains(s, "retiré") }); msg != "L'appareil jf-cantine-2 est retiré : il ne peut plus se connecter." {
		t.Errorf("message: %q", msg)
	}
	confirms := evalUntil(t, ctx, time.Second, "the confirmations", `window.__confirms.join("\n")`, func(string) bool { return true })
	for _, want := range []string{"Donner un nouveau mot de passe à l'appareil jf-cantine-2 (école jules-ferry) ?",
		"Retirer l'appareil jf-cantine-2 de l'école jules-ferry ? Il est déconnecté tout de suite et ne pourra plus se connecter. Ses pointages sont conservés."} {
		if !strings.Contains(confirms, want) {
			t.Errorf("confirmations %q: want %q", confirms, want)
		}
	}
	if _, err := h.Devices().Get(bg, "jf-cantine-2"); err == nil {
		t.Error("jf-cantine-2 still registered")
	}
	entries, err := h.Audit().List(bg, audit.Filter{Target: "jf-cantine-2"})
	if err != nil || len(entries) != 3 || entries[0].Action != audit.DeviceRemoved || entries[0].User != "marie" {
		t.Errorf("audit: %+v %v", entries, err)
	}
	run(t, ctx, "log out", chromedp.Click("#deconnexion", chromedp.ByID), chromedp.WaitVisible("#form-connexion", chromedp.ByID))

	// A school user: its devices, no admin control.
	login(t, ctx, base, "directrice", "password-directrice")
	run(t, ctx, "devices page (school)", chromedp.Navigate(base+"/appareils"), chromedp.WaitVisible("#appareil-jf-cantine-1", chromedp.ByID))
	if n := evalUntil(t, ctx, 2*time.Second, "no admin control", devicesCount("#admin-appareils, #enregistrer-ouvrir, .admin-boutons, .appareil button"), func(string) bool { return true }); n != "0" {
		t.Errorf("a school user has %s admin controls", n)
	}

	mu.Lock()
	defer mu.Unlock()
	for _, line := range console {
		if strings.Contains(line, "Content Security Policy") || strings.HasPrefix(line, "exception") || strings.Contains(line, "/static/") {
			t.Errorf("browser console: %s", line)
		}
	}
}
