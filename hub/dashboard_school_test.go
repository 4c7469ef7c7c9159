package hub_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"pointage/hub"
	"pointage/hub/auth"
	"pointage/hub/roster"
	"pointage/hub/users"
	"pointage/internal/civil"
	"pointage/internal/testenv"
	"pointage/internal/wire"
)

// startSchoolHub runs a hub whose clock starts at start (and runs on from
// there) until the test ends.
func startSchoolHub(t *testing.T, start time.Time) *hub.Hub {
	t.Helper()
	began := time.Now()
	return startHubWith(t, config(), hub.Options{Now: func() time.Time { return start.Add(time.Since(began)) }}, http.DefaultClient)
}

const schoolRosterCSV = "badge;person_id;role;last_name;first_name;site;class;regime;canteen_days;garderie\n" +
	"0A00000001;E001;child;Wamytan;Léa;jules-ferry;CP;standard;lu ma me je ve;soir\n" +
	"0A00000002;E002;child;Gowé;Noa;jules-ferry;CE1;sans-porc;lu ma me je ve;\n" +
	"0A00000003;E003;child;Martin;Jade;jules-ferry;CE1;standard;lu ma me je ve;\n" +
	"0A00000004;E004;child;Kaloi;Tom;jules-ferry;CE1;standard;lu ma me je ve;\n" +
	"0A00000009;S001;staff;Dupont;Paul;jules-ferry;;standard;lu ma me je ve;\n"

// startSchoolHubWithRoster is startSchoolHub with schoolRosterCSV imported
// and the school user directrice (password password-directrice) of
// jules-ferry.
func startSchoolHubWithRoster(t *testing.T, start time.Time) *hub.Hub {
	t.Helper()
	h := startSchoolHub(t, start)
	bg := context.Background()
	users.FastBcryptForTest(h.Users())
	parsed, err := roster.Parse(strings.NewReader(schoolRosterCSV))
	if err != nil || len(parsed.Errors) > 0 {
		t.Fatalf("roster: %v %v", err, parsed.Errors)
	}
	if _, err := h.Roster().Import(bg, parsed.People, civil.MinDate.AddDays(1), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Users().Add(bg, "directrice", auth.RoleSchool, "jules-ferry", "password-directrice"); err != nil {
		t.Fatal(err)
	}
	return h
}

// The school page and the roll-call in a real browser, for a school user,
// on Friday 27 November 2026 at 18:30 in Nouméa (the hub's clock): Léa,
// served at the canteen, is still checked in at the evening garderie
// after its end (17:45), so the red alert names her; a correction entered
// in the form moves Noa from absent to served without a reload; a device
// scan moves Jade live (SSE); on /appel, a tap checks Tom in at the canteen
// and another checks Léa out of the garderie, both confirmed by the API.
func TestDashboardSchoolPages(t *testing.T) {
	testenv.Require(t, "chromium")
	loc, err := time.LoadLocation("Pacific/Noumea")
	if err != nil {
		t.Fatal(err)
	}
	h := startSchoolHubWithRoster(t, time.Date(2026, 11, 27, 18, 30, 0, 0, loc))
	ctx := browser(t)
	base := "http://" + h.HTTPAddr()
	bg := context.Background()
	_, pw, err := h.Devices().Add(bg, "jules-ferry", "jf-1", "")
	if err != nil {
		t.Fatal(err)
	}
	dev := newDevice(t, h.MQTTURL(), "jules-ferry", "jf-1", pw)
	scan := func(seq uint64, badge, service string, hour, min int) {
		c := dev.checkIn("E1", seq, "")
		c.Badge, c.Service = badge, wire.Service(service)
		c.At = time.Date(2026, 11, 27, hour, min, 0, 0, loc).Format(wire.AtLayout)
		dev.publish(c)
	}
	scan(1, "0A00000001", "canteen", 11, 30)  // Léa eats
	scan(2, "0A00000001", "garderie", 15, 10) // and stays at the evening garderie
	scan(3, "0A00000009", "staff", 7, 0)      // Paul clocks in
	waitFor(t, 10*time.Second, "scans stored", func() bool { return dev.ack("E1") >= 3 })

	login(t, ctx, base, "directrice", "password-directrice")
	run(t, ctx, "open /ecole", chromedp.Navigate(base+"/ecole"), chromedp.WaitVisible("#contenu", chromedp.ByID))
	evalUntil(t, ctx, 5*time.Second, "served child by name", text("servis"), func(s string) bool { return strings.Contains(s, "Léa Wamytan") && strings.Contains(s, "11:30") })
	evalUntil(t, ctx, 5*time.Second, "Noa absent", text("absents"), func(s string) bool { return strings.Contains(s, "Noa Gowé") })
	alert := evalUntil(t, ctx, 5*time.Second, "end-of-session alert", `(function(){var e=document.getElementById('alerte-fin');return e&&!e.hidden&&getComputedStyle(e).display!=='none'?e.textContent:""})()`,
		func(s string) bool { return s != "" })
	if !strings.Contains(alert, "Léa Wamytan") || !strings.Contains(alert, "17:45") {
		t.Fatalf("alert: %q", alert)
	}
	var bg2 string
	run(t, ctx, "alert colour", chromedp.Evaluate(`getComputedStyle(document.getElementById('alerte-fin')).backgroundColor`, &bg2))
	if bg2 != "rgb(179, 38, 30)" {
		t.Fatalf("the alert is not red: %s", bg2)
	}
	evalUntil(t, ctx, 2*time.Second, "staff listed", text("agents"), func(s string) bool { return strings.Contains(s, "Paul Dupont") && strings.Contains(s, "07:00") })
	day := evalUntil(t, ctx, 2*time.Second, "date shown", text("date-jour"), func(s string) bool { return s != "" && s != "…" })
	if day != "Journée du 27/11/2026" {
		t.Fatalf("date: %q", day)
	}
	var marked bool
	run(t, ctx, "mark the page", chromedp.Evaluate(`window.__pointageMark = 1; true`, &marked))

	// A correction round-trip: Noa forgot her badge.
	run(t, ctx, "fill the correction form",
		chromedp.SetValue("#corr-type", "add_scan", chromedp.ByID),
		chromedp.SetValue("#corr-enfant", "E002", chromedp.ByID),
		chromedp.SetValue("#corr-service", "canteen", chromedp.ByID),
		chromedp.SetValue("#corr-heure", "11:50", chromedp.ByID),
		chromedp.SendKeys("#corr-motif", "badge oublié", chromedp.ByID),
		chromedp.Click("#corr-valider", chromedp.ByID),
	)
	evalUntil(t, ctx, 5*time.Second, "Noa served", text("servis"), func(s string) bool { return strings.Contains(s, "Noa Gowé") && strings.Contains(s, "11:50") })
	evalUntil(t, ctx, 2*time.Second, "Noa no longer absent", text("absents"), func(s string) bool { return !strings.Contains(s, "Noa Gowé") })
	evalUntil(t, ctx, 2*time.Second, "correction listed", text("corrections"), func(s string) bool {
		return strings.Contains(s, "directrice") && strings.Contains(s, "badge oublié") && strings.Contains(s, "Noa Gowé")
	})
	if msg := evalUntil(t, ctx, time.Second, "confirmation", text("corr-message"), func(s string) bool { return s != "" }); msg != "Correction enregistrée." {
		t.Fatalf("form message: %q", msg)
	}

	// A refused correction shows the hub's reason in French words.
	run(t, ctx, "void without a scan chosen",
		chromedp.SetValue("#corr-type", "void_scan", chromedp.ByID),
		chromedp.SendKeys("#corr-motif", "erreur", chromedp.ByID),
		chromedp.Click("#corr-valider", chromedp.ByID),
	)
	evalUntil(t, ctx, 2*time.Second, "form error", text("corr-message"), func(s string) bool { return strings.Contains(s, "choisissez le passage à annuler") })
	run(t, ctx, "back to adding", chromedp.SetValue("#corr-type", "add_scan", chromedp.ByID))

	// Live: a device scan shows without a reload.
	scan(4, "0A00000003", "canteen", 18, 31)
	evalUntil(t, ctx, 10*time.Second, "Jade served live", text("servis"), func(s string) bool { return strings.Contains(s, "Jade Martin") })
	var same bool
	run(t, ctx, "no reload", chromedp.Evaluate(`window.__pointageMark === 1`, &same))
	if !same {
		t.Fatal("the page reloaded")
	}
	screenshot(t, ctx, "ecole.png")

	// The printed lists: the canteen's children with boxes, nav and forms hidden.
	run(t, ctx, "print media", emulation.SetEmulatedMedia().WithMedia("print"))
	var printed string
	run(t, ctx, "printed text", chromedp.Evaluate(`document.body.innerText`, &printed))
	if !strings.Contains(printed, "Cantine — liste d'appel") || !strings.Contains(printed, "KALOI Tom") || strings.Contains(printed, "Se déconnecter") || strings.Contains(printed, "Enregistrer la correction") {
		t.Fatalf("printed page:\n%s", printed)
	}
	screenshot(t, ctx, "ecole-impression.png")
	run(t, ctx, "screen media", emulation.SetEmulatedMedia().WithMedia(""))

	// The roll-call on a 768 px tablet.
	run(t, ctx, "open /appel",
		chromedp.EmulateViewport(768, 1024, chromedp.EmulateTouch),
		chromedp.Navigate(base+"/appel"),
		chromedp.WaitVisible(`button[data-groupe="classe:CE1"]`, chromedp.ByQuery),
	)
	// Classes in school order (CP before CE1), not alphabetically.
	evalUntil(t, ctx, 2*time.Second, "the classes' order", `Array.from(document.querySelectorAll('button[data-groupe^="classe:"]')).map(function (b) { return b.getAttribute("data-groupe"); }).join(",")`,
		func(s string) bool { return s == "classe:CP,classe:CE1" })
	run(t, ctx, "choose CE1",
		tap(`button[data-groupe="classe:CE1"]`),
		chromedp.WaitVisible("#enfant-E004", chromedp.ByID),
	)
	attr := func(id string) string {
		return `(function(){var e=document.getElementById('` + id + `');return e?e.getAttribute('data-etat')+'|'+e.textContent:""})()`
	}
	evalUntil(t, ctx, 2*time.Second, "Tom not yet checked in", attr("enfant-E004"), func(s string) bool { return strings.HasPrefix(s, "absent|Tom Kaloi") })
	evalUntil(t, ctx, 2*time.Second, "Noa already served", attr("enfant-E002"), func(s string) bool { return strings.HasPrefix(s, "present|") && strings.Contains(s, "Servi à 11:50") })
	run(t, ctx, "tap Tom", tap("#enfant-E004"))
	evalUntil(t, ctx, 5*time.Second, "Tom confirmed", attr("enfant-E004"), func(s string) bool { return strings.HasPrefix(s, "present|") && strings.Contains(s, "Servi") })
	evalUntil(t, ctx, 2*time.Second, "confirmation message", text("appel-message"), func(s string) bool { return strings.Contains(s, "Tom Kaloi") && strings.Contains(s, "enregistré") })
	screenshot(t, ctx, "appel.png")
	var height float64
	run(t, ctx, "button size", chromedp.Evaluate(`document.getElementById('enfant-E004').getBoundingClientRect().height`, &height))
	if height < 48 {
		t.Fatalf("the button is %.0f px high: too small to tap", height)
	}

	// The garderie: Léa is present, a tap checks her out.
	run(t, ctx, "garderie soir", tap(`button[data-groupe="session:garderie-soir"]`), chromedp.WaitVisible("#enfant-E001", chromedp.ByID))
	evalUntil(t, ctx, 2*time.Second, "Léa present", attr("enfant-E001"), func(s string) bool { return strings.HasPrefix(s, "present|") && strings.Contains(s, "15:10") })
	run(t, ctx, "tap Léa", tap("#enfant-E001"))
	evalUntil(t, ctx, 5*time.Second, "Léa checked out", attr("enfant-E001"), func(s string) bool { return strings.HasPrefix(s, "parti|") && strings.Contains(s, "Parti à 18:") })

	// The API recorded both taps as corrections of the logged-in user.
	req, _ := http.NewRequest("GET", base+"/api/v1/corrections", nil)
	req.SetBasicAuth("directrice", "password-directrice")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var list struct {
		Corrections []struct {
			Kind, Service, Dir, User, Reason string
			PersonID                         string `json:"person_id"`
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		t.Fatal(err)
	}
	var taps []string
	for _, c := range list.Corrections {
		if c.Reason == "appel sur tablette" {
			taps = append(taps, c.Kind+" "+c.PersonID+" "+c.Service+" "+c.Dir+" "+c.User)
		}
	}
	if strings.Join(taps, ",") != "add_scan E004 canteen in directrice,add_scan E001 garderie out directrice" {
		t.Fatalf("roll-call corrections: %q", taps)
	}

	// Back on /ecole, the alert is gone: Léa was picked up (late).
	run(t, ctx, "open /ecole again", chromedp.EmulateViewport(1280, 900), chromedp.Navigate(base+"/ecole"), chromedp.WaitVisible("#contenu", chromedp.ByID))
	evalUntil(t, ctx, 5*time.Second, "Léa left late", text("garderie-garderie-soir-E001"), func(s string) bool { return strings.Contains(s, "parti en retard") })
	var hidden bool
	run(t, ctx, "alert hidden", chromedp.Evaluate(`document.getElementById('alerte-fin').hidden`, &hidden))
	if !hidden {
		t.Fatal("the alert stays after Léa left")
	}

	// The day before, kept in the URL; dates typed the French way.
	run(t, ctx, "previous day", chromedp.Click("#jour-precedent", chromedp.ByID))
	evalUntil(t, ctx, 5*time.Second, "previous day shown", text("date-jour"), func(s string) bool { return s == "Journée du 26/11/2026" })
	evalUntil(t, ctx, 2*time.Second, "nobody served the day before", text("servis"), func(s string) bool { return s == "Aucun enfant servi." })
	var loc2 string
	run(t, ctx, "url", chromedp.Location(&loc2))
	if !strings.HasSuffix(loc2, "/ecole?date=2026-11-26") {
		t.Fatalf("url: %s", loc2)
	}
	var typed bool
	run(t, ctx, "type a date", chromedp.Evaluate(`var e=document.getElementById('choix-date');e.value='27/11/2026';e.dispatchEvent(new Event('change'));true`, &typed))
	evalUntil(t, ctx, 5*time.Second, "typed day shown", text("servis"), func(s string) bool { return strings.Contains(s, "Tom Kaloi") })

	// The office picks the school; the choice is kept in the URL.
	if _, err := h.Users().Add(bg, "bureau", auth.RoleOffice, "", "password-bureau"); err != nil {
		t.Fatal(err)
	}
	run(t, ctx, "log out", chromedp.Click("#deconnexion", chromedp.ByID), chromedp.WaitVisible("#form-connexion", chromedp.ByID))
	login(t, ctx, base, "bureau", "password-bureau")
	run(t, ctx, "office opens /ecole", chromedp.Navigate(base+"/ecole"), chromedp.WaitVisible("#choix-site", chromedp.ByID))
	evalUntil(t, ctx, 5*time.Second, "asked to choose", text("erreur-page"), func(s string) bool { return s == "Choisissez une école." })
	var picked bool
	run(t, ctx, "pick jules-ferry", chromedp.WaitReady(`#choix-site option[value="jules-ferry"]`, chromedp.ByQuery),
		chromedp.Evaluate(`var e=document.getElementById('choix-site');e.value='jules-ferry';e.dispatchEvent(new Event('change'));true`, &picked))
	evalUntil(t, ctx, 5*time.Second, "office sees the school", text("servis"), func(s string) bool { return strings.Contains(s, "Léa Wamytan") })
	run(t, ctx, "url", chromedp.Location(&loc2))
	if !strings.HasSuffix(loc2, "/ecole?site=jules-ferry") {
		t.Fatalf("url: %s", loc2)
	}
}

// The roll-call without the hub: taps made while the corrections API
// cannot be reached wait on the tablet (shown "en attente", kept across a
// reload), are sent once it answers again, in order, with the time of the
// tap, and are recorded once each.
func TestDashboardRollCallWaitsForTheHub(t *testing.T) {
	testenv.Require(t, "chromium")
	loc, err := time.LoadLocation("Pacific/Noumea")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 11, 27, 11, 40, 0, 0, loc)
	began := time.Now()
	h := startSchoolHubWithRoster(t, start)
	hubNow := func() time.Time { return start.Add(time.Since(began)) } // at or a little after the hub's clock
	ctx := browser(t)
	base := "http://" + h.HTTPAddr()
	type correction struct {
		PersonID string `json:"person_id"`
		Dir      string `json:"dir"`
		At       string `json:"at"`
		ClientID string `json:"client_id"`
		Reason   string `json:"reason"`
	}
	recorded := func() []correction {
		t.Helper()
		req, _ := http.NewRequest("GET", base+"/api/v1/corrections", nil)
		req.SetBasicAuth("directrice", "password-directrice")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var list struct{ Corrections []correction }
		if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
			t.Fatal(err)
		}
		return list.Corrections
	}
	attr := func(id string) string {
		return `(function(){var e=document.getElementById('` + id + `');return e?e.getAttribute('data-etat')+'|'+e.textContent:""})()`
	}

	login(t, ctx, base, "directrice", "password-directrice")
	run(t, ctx, "open /appel",
		chromedp.EmulateViewport(768, 1024, chromedp.EmulateTouch),
		chromedp.Navigate(base+"/appel"),
		chromedp.WaitVisible(`button[data-groupe="classe:CE1"]`, chromedp.ByQuery),
		tap(`button[data-groupe="classe:CE1"]`),
		chromedp.WaitVisible("#enfant-E004", chromedp.ByID),
	)
	// The hub stops answering the corrections API (the tablet's Wi-Fi drops
	// between it and the hub: requests fail as they would offline).
	run(t, ctx, "block the corrections API", network.Enable(), network.SetBlockedURLs([]string{"*/api/v1/corrections*"}))
	run(t, ctx, "tap Tom", tap("#enfant-E004"))
	evalUntil(t, ctx, 5*time.Second, "Tom waiting", attr("enfant-E004"), func(s string) bool {
		return strings.HasPrefix(s, "attente|") && strings.Contains(s, "En attente du réseau")
	})
	evalUntil(t, ctx, 2*time.Second, "the message says the tap is kept", text("appel-message"), func(s string) bool { return strings.Contains(s, "gardé") })
	run(t, ctx, "tap Noa", tap("#enfant-E002"))
	evalUntil(t, ctx, 5*time.Second, "Noa waiting", attr("enfant-E002"), func(s string) bool { return strings.HasPrefix(s, "attente|") })
	run(t, ctx, "tap Tom again", tap("#enfant-E004")) // already waiting: nothing more is queued
	tapped := hubNow()
	if got := recorded(); len(got) != 0 {
		t.Fatalf("recorded while the API was blocked: %+v", got)
	}

	// The page is reloaded while the hub is still away: the taps wait on
	// (and damaged entries in the tablet's storage are ignored).
	run(t, ctx, "damage the stored queue", chromedp.Evaluate(`(function(){var k="pointage-appel-attente";
		var q=JSON.parse(localStorage.getItem(k));q.push(null,{junk:1},{name:"x",body:{site:7}});localStorage.setItem(k,JSON.stringify(q));})()`, nil))
	run(t, ctx, "reload",
		chromedp.Navigate(base+"/appel?groupe=classe:CE1"),
		chromedp.WaitVisible("#enfant-E004", chromedp.ByID),
	)
	evalUntil(t, ctx, 5*time.Second, "Tom still waiting after the reload", attr("enfant-E004"), func(s string) bool { return strings.HasPrefix(s, "attente|") })
	evalUntil(t, ctx, 2*time.Second, "Noa still waiting after the reload", attr("enfant-E002"), func(s string) bool { return strings.HasPrefix(s, "attente|") })
	screenshot(t, ctx, "appel-attente.png")

	// The hub answers again, a few seconds later: the queue is sent
	// (within the 10 s retry), with the times of the taps.
	time.Sleep(3 * time.Second)
	run(t, ctx, "unblock", network.SetBlockedURLs([]string{}))
	evalUntil(t, ctx, 15*time.Second, "Tom recorded", attr("enfant-E004"), func(s string) bool { return strings.HasPrefix(s, "present|") })
	evalUntil(t, ctx, 5*time.Second, "Noa recorded", attr("enfant-E002"), func(s string) bool { return strings.HasPrefix(s, "present|") })
	got := recorded()
	if len(got) != 2 || got[0].PersonID != "E004" || got[1].PersonID != "E002" {
		t.Fatalf("recorded %+v, want Tom then Noa, once each", got)
	}
	for _, c := range got {
		at, err := time.Parse(time.RFC3339, c.At)
		if err != nil || at.Before(start) || at.After(tapped) || c.ClientID == "" || c.Reason != "appel sur tablette" {
			t.Fatalf("%+v: want the time of the tap (%s to %s), a client_id and the roll-call's reason", c, start.Format(time.RFC3339), tapped.Format(time.RFC3339))
		}
	}
	var left string
	run(t, ctx, "queue empty", chromedp.Evaluate(`window.localStorage.getItem("pointage-appel-attente")`, &left))
	if left != "[]" {
		t.Fatalf("the tablet's queue after sending: %s", left)
	}
}
