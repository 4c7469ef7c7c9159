package hub_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"pointage/hub"
	"pointage/internal/testenv"
	"pointage/internal/wire"
)

// The fleet on the devices page (docs/DESIGN.md §14), in a real browser:
// a device registered shows the enrolment command and its QR code; an
// agent behind the hub's version is marked; the office edits a device's
// readers starting from what the device runs (the ports it reported
// offered), a bad list is refused in French, a good one is sent to the
// device and shown as waiting until its status reports it, then applied;
// a refused one shows the agent's reason. A school user has no editor.
func TestDashboardFleetInBrowser(t *testing.T) {
	testenv.Require(t, "chromium")
	h := startHubWith(t, config(), hub.Options{Version: "v1.4.0"}, nil)
	base := "http://" + h.HTTPAddr()
	bg := context.Background()
	adminUsers(t, h) // marie (office), ecole (school, jules-ferry)
	_, pw, err := h.Devices().Add(bg, "jules-ferry", "jf-cantine-1", "")
	if err != nil {
		t.Fatal(err)
	}
	dev := listenConfig(t, h, "jules-ferry", "jf-cantine-1", pw)
	status := func(configVersion, errVersion int64, readers []wire.ReaderStatus) {
		t.Helper()
		st := wire.Status{V: 1, Site: "jules-ferry", Device: "jf-cantine-1", Epoch: "E1", State: wire.StateOnline,
			At: time.Now().Format(wire.AtLayout), Version: "v1.3.2", ClockSynced: true, Readers: readers,
			ConfigVersion: configVersion, ConfigErrorVersion: errVersion,
			Ports:    []wire.PortInfo{{Name: "/dev/ttyUSB0", USB: "usb:0403:6001", Serial: "A10K", Product: "FT232R"}, {Name: "/dev/ttyUSB1", USB: "usb:10c4:ea60", Product: "CP2102"}},
			Profiles: []string{"barcode", "line-hex", "rdm6300"}}
		if errVersion != 0 {
			st.ConfigError = `reader "entree": unknown profile "maison"`
		}
		b, _ := wire.Encode(st)
		if err := dev.l.Publish(bg, wire.DeviceTopic("", "jules-ferry", "jf-cantine-1", wire.KindStatus), b, true); err != nil {
			t.Fatal(err)
		}
	}
	fileReaders := []wire.ReaderStatus{{Name: "entree", Port: "/dev/ttyUSB0", Profile: "rdm6300", Connected: true, Service: wire.ServiceCanteen, Dir: wire.DirAuto, Debounce: "3s"}}
	status(0, 0, fileReaders)

	ctx := browser(t)
	login(t, ctx, base, "marie", "password-marie")
	run(t, ctx, "devices page", chromedp.Navigate(base+"/appareils"), chromedp.WaitVisible("#appareil-jf-cantine-1", chromedp.ByID),
		chromedp.Evaluate(`window.confirm = function () { return true; }; true`, nil))
	evalUntil(t, ctx, 5*time.Second, "the agent behind the hub's version", text("version-jf-cantine-1"), func(s string) bool {
		return strings.Contains(s, "v1.3.2 — à mettre à jour (le hub est en v1.4.0)")
	})
	evalUntil(t, ctx, 5*time.Second, "the file's readers", text("config-jf-cantine-1"), func(s string) bool {
		return strings.Contains(s, "lecteurs du fichier de l'appareil")
	})

	// Registration: the enrolment command and its QR code.
	run(t, ctx, "register a second device",
		chromedp.Click("#enregistrer-ouvrir", chromedp.ByID), chromedp.WaitVisible("#enregistrer-ecole", chromedp.ByID))
	evalUntil(t, ctx, 5*time.Second, "the schools listed", `String(document.querySelectorAll("#enregistrer-ecole option[value='jules-ferry']").length)`, func(s string) bool { return s == "1" })
	run(t, ctx, "fill the form",
		chromedp.SetValue("#enregistrer-ecole", "jules-ferry", chromedp.ByID),
		chromedp.SendKeys("#enregistrer-appareil", "jf-garderie-1", chromedp.ByID),
		chromedp.Click("#enregistrer-valider", chromedp.ByID))
	evalUntil(t, ctx, 5*time.Second, "the enrolment command", text("identifiants-commande"), func(s string) bool {
		return strings.HasPrefix(s, "pointage-agent enrol --hub "+base+" --code ") && len(s) > len("pointage-agent enrol --hub "+base+" --code ")+12
	})
	evalUntil(t, ctx, 5*time.Second, "its QR code drawn", `(function(){var p=document.querySelector("#identifiants-qr svg path");return p?String(p.getAttribute("d").length):"0"})()`,
		func(s string) bool { return len(s) >= 4 }) // hundreds of dark modules
	screenshot(t, ctx, "appareils-enrolement.png")
	run(t, ctx, "close the credentials", chromedp.Click("#identifiants-fermer", chromedp.ByID))

	// The reader editor, from what the device runs.
	run(t, ctx, "open the reader editor", chromedp.Click("#lecteurs-modifier-jf-cantine-1", chromedp.ByID),
		chromedp.WaitVisible("#editeur-jf-cantine-1", chromedp.ByID))
	evalUntil(t, ctx, 5*time.Second, "the file's reader to start from, the reported ports offered",
		`document.getElementById("lecteur-jf-cantine-1-0-nom").value+"|"+document.getElementById("lecteur-jf-cantine-1-0-rebond").value+"|"+
		 Array.prototype.map.call(document.querySelectorAll("#ports-jf-cantine-1 option"),function(o){return o.value}).join(",")`,
		func(s string) bool {
			return s == "entree|3|usb:0403:6001:A10K,/dev/ttyUSB0,usb:10c4:ea60,/dev/ttyUSB1"
		})
	run(t, ctx, "add a garderie reader with the name of the first",
		chromedp.Click("#lecteur-ajouter-jf-cantine-1", chromedp.ByID),
		chromedp.SendKeys("#lecteur-jf-cantine-1-1-nom", "entree", chromedp.ByID),
		chromedp.SendKeys("#lecteur-jf-cantine-1-1-port", "usb:10c4:ea60", chromedp.ByID),
		chromedp.SetValue("#lecteur-jf-cantine-1-1-profil", "line-hex", chromedp.ByID),
		chromedp.SetValue("#lecteur-jf-cantine-1-1-service", "garderie", chromedp.ByID),
		chromedp.SetValue("#lecteur-jf-cantine-1-1-sens", "in", chromedp.ByID),
		chromedp.Click("#lecteurs-enregistrer-jf-cantine-1", chromedp.ByID))
	evalUntil(t, ctx, 5*time.Second, "the French refusal", text("lecteurs-erreur-jf-cantine-1"), func(s string) bool {
		return s == "Lecteur 2 : ce nom est déjà celui d'un autre lecteur."
	})
	screenshot(t, ctx, "appareils-lecteurs.png")
	run(t, ctx, "rename it and save",
		chromedp.SetValue("#lecteur-jf-cantine-1-1-nom", "porte-garderie", chromedp.ByID),
		chromedp.Click("#lecteurs-enregistrer-jf-cantine-1", chromedp.ByID))
	waitFor(t, 5*time.Second, "the list sent to the device", func() bool { return dev.count() == 1 })
	sent := dev.last()
	if len(sent.Readers) != 2 || sent.Readers[1] != (wire.ReaderConfig{Name: "porte-garderie", Port: "usb:10c4:ea60", Profile: "line-hex", Service: wire.ServiceGarderie, Dir: wire.DirIn}) ||
		sent.Readers[0].Debounce != "3s" {
		t.Fatalf("the page sent %+v", sent.Readers)
	}
	evalUntil(t, ctx, 10*time.Second, "waiting for the device", text("config-jf-cantine-1"), func(s string) bool {
		return strings.Contains(s, "en attente de l'appareil")
	})
	status(sent.Version, 0, fileReaders)
	evalUntil(t, ctx, 15*time.Second, "applied", text("config-jf-cantine-1"), func(s string) bool { return s == "liste du hub appliquée" })
	status(sent.Version-1, sent.Version, fileReaders)
	evalUntil(t, ctx, 15*time.Second, "refused, with the agent's reason", text("config-jf-cantine-1"), func(s string) bool {
		return strings.Contains(s, "refusée par l'appareil : reader \"entree\": unknown profile \"maison\" (il garde la précédente)")
	})

	// A school user: no editor.
	ctx2 := browser(t)
	login(t, ctx2, base, "ecole", "password-ecole")
	run(t, ctx2, "the school's devices page", chromedp.Navigate(base+"/appareils"), chromedp.WaitVisible("#appareil-jf-cantine-1", chromedp.ByID))
	var n int
	run(t, ctx2, "no editor", chromedp.Evaluate(`document.querySelectorAll("[id^=lecteurs-modifier-]").length`, &n))
	if n != 0 {
		t.Fatal("a school user can edit readers")
	}
}
