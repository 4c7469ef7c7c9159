package hub_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"pointage/hub/auth"
	"pointage/hub/roster"
	"pointage/hub/users"
	"pointage/internal/civil"
	"pointage/internal/testenv"
	"pointage/internal/wire"
)

// devicesNoonZone returns an Etc/GMT zone where it is now between 12:00 and
// 12:59, inside the canteen's service window (10:30-13:30): the alert of
// the overview does not depend on when the test runs.
func devicesNoonZone(now time.Time) string {
	off := 12 - now.UTC().Hour() // -11 .. +12
	switch {
	case off == 0:
		return "Etc/GMT"
	case off > 0:
		return fmt.Sprintf("Etc/GMT-%d", off) // POSIX sign: Etc/GMT-5 is UTC+5
	default:
		return fmt.Sprintf("Etc/GMT+%d", -off)
	}
}

// publishDevicesStatus publishes the device's retained status.
func (d *device) publishDevicesStatus(state string, readers []wire.ReaderStatus, pending int64) {
	d.t.Helper()
	now := time.Now().Format(wire.AtLayout)
	st := wire.Status{V: 1, Site: d.site, Device: d.id, Epoch: "E1", State: state, At: now, Version: "test",
		ClockSynced: true, LastSeq: 5, OutboxPending: pending, Readers: readers}
	if pending > 0 {
		st.OldestPendingAt = &now
	}
	b, err := wire.Encode(st)
	if err != nil {
		d.t.Fatal(err)
	}
	if err := d.l.Publish(context.Background(), wire.DeviceTopic("", d.site, d.id, wire.KindStatus), b, true); err != nil {
		d.t.Fatal(err)
	}
}

func devicesCount(selector string) string {
	return `String(document.querySelectorAll(` + strconv.Quote(selector) + `).length)`
}

// The devices page and the overview's alerts and charts in a real browser:
// a school user sees its own site's devices, with the gap but no
// declare-lost button; the office sees every device online with its
// readers, declares a gap lost with a reason and the gap disappears; with
// a device offline during the canteen service, the overview shows the red
// alert naming the school and the device, and two charts drawn from the
// day's and the month's figures, under the CSP (no violation logged).
func TestDashboardDevicesInBrowser(t *testing.T) {
	testenv.Require(t, "chromium")
	t0 := time.Now()
	step := func(what string) { t.Logf("%s at %s", what, time.Since(t0).Round(time.Millisecond)) }
	cfg := config()
	cfg.Timezone = devicesNoonZone(time.Now())
	h := startHub(t, cfg)
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
		site string
	}{{"marie", auth.RoleOffice, ""}, {"directrice", auth.RoleSchool, "jules-ferry"}} {
		if _, err := h.Users().Add(bg, u.name, u.role, u.site, "password-"+u.name); err != nil {
			t.Fatal(err)
		}
	}
	step("hub started")
	devs := map[string]*device{}
	for _, x := range [][2]string{{"jules-ferry", "jf-cantine-1"}, {"jules-ferry", "jf-garderie-1"}, {"pasteur", "pa-cantine-1"}} {
		_, pw, err := h.Devices().Add(bg, x[0], x[1], "")
		if err != nil {
			t.Fatal(err)
		}
		devs[x[1]] = newDevice(t, h.MQTTURL(), x[0], x[1], pw)
	}
	scan := time.Now().Format(wire.AtLayout)
	devs["jf-cantine-1"].publishDevicesStatus("online", []wire.ReaderStatus{
		{Name: "entree", Port: "/dev/ttyUSB0", Profile: "rdm6300", Connected: true, LastScanAt: &scan},
		{Name: "sortie", Port: "/dev/ttyUSB1", Profile: "rdm6300", Connected: true},
	}, 2)
	devs["jf-garderie-1"].publishDevicesStatus("online", []wire.ReaderStatus{{Name: "porte", Port: "/dev/ttyUSB0", Profile: "line-hex", Connected: true}}, 0)
	devs["pa-cantine-1"].publishDevicesStatus("online", []wire.ReaderStatus{{Name: "entree", Port: "COM3", Profile: "rdm6300", Connected: true}}, 0)
	devs["jf-cantine-1"].send("E1", 1, 2, 5) // 3-4 missing: a gap
	waitFor(t, 10*time.Second, "events stored", func() bool { return storedCount(t, h) == 3 })

	step("devices connected, events stored")
	// Started now: registering devices (bcrypt and the mosquitto hash)
	// is slow under -race, and the browser's context has a deadline.
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
	// A school user: its own site's devices, the gap, no declare-lost button.
	login(t, ctx, base, "directrice", "password-directrice")
	run(t, ctx, "devices page (school)", chromedp.Navigate(base+"/appareils"))
	evalUntil(t, ctx, 10*time.Second, "school sees its gap", devicesCount("#trous-jf-cantine-1 .trou"), func(s string) bool { return s == "1" })
	evalUntil(t, ctx, 2*time.Second, "school sees its two devices only", devicesCount(".appareil"), func(s string) bool { return s == "2" })
	if n := evalUntil(t, ctx, time.Second, "no declare button", devicesCount("button.declarer"), func(string) bool { return true }); n != "0" {
		t.Fatalf("a school user has %s declare-lost buttons", n)
	}
	run(t, ctx, "log out", chromedp.Click("#deconnexion", chromedp.ByID), chromedp.WaitVisible("#form-connexion", chromedp.ByID))

	step("school part done")
	// The office: every device, online, with its readers.
	login(t, ctx, base, "marie", "password-marie")
	run(t, ctx, "devices page (office)", chromedp.Navigate(base+"/appareils"))
	state := evalUntil(t, ctx, 10*time.Second, "device online", text("etat-jf-cantine-1"), func(s string) bool { return strings.HasPrefix(s, "En ligne") })
	if !strings.Contains(state, "dernier état reçu à ") {
		t.Fatalf("state: %q", state)
	}
	readers := evalUntil(t, ctx, 2*time.Second, "readers", text("lecteurs-jf-cantine-1"), func(s string) bool { return s != "" })
	if !strings.Contains(readers, "entree : connecté, dernier badge ") || !strings.Contains(readers, "sortie : connecté") {
		t.Fatalf("readers: %q", readers)
	}
	if got := evalUntil(t, ctx, 2*time.Second, "pending", text("attente-jf-cantine-1"), func(s string) bool { return s != "" }); !strings.HasPrefix(got, "2 (le plus ancien ") {
		t.Fatalf("pending: %q", got)
	}
	evalUntil(t, ctx, 2*time.Second, "every site's devices", devicesCount(".appareil"), func(s string) bool { return s == "3" })
	// pa-cantine-1's status says it holds seqs 1-5 as acknowledged, and the
	// hub has none of them (docs/DESIGN.md §13): recovering, 5 missing (so
	// is jf-garderie-1). jf-cantine-1 holds 1-3 (last 5, 2 pending) and the
	// hub lacks 3.
	reprise := evalUntil(t, ctx, 5*time.Second, "pa-cantine-1 recovering", text("reprise-pa-cantine-1"), func(s string) bool { return s != "" })
	if !strings.HasPrefix(reprise, "En reprise : 5 pointage(s) déjà envoyés par l'appareil sont redemandés") {
		t.Fatalf("recovery: %q", reprise)
	}
	if got := evalUntil(t, ctx, 2*time.Second, "jf-cantine-1 recovering", text("reprise-jf-cantine-1"), func(s string) bool { return s != "" }); !strings.HasPrefix(got, "En reprise : 1 pointage(s)") {
		t.Fatalf("recovery of jf-cantine-1: %q", got)
	}
	if n := evalUntil(t, ctx, time.Second, "recovering devices", devicesCount(".appareil p.reprise"), func(string) bool { return true }); n != "3" {
		t.Fatalf("%s devices shown recovering, want 3 (each status holds 5 seqs as acknowledged)", n)
	}
	gap := evalUntil(t, ctx, 5*time.Second, "the gap", text("trous-jf-cantine-1"), func(s string) bool { return strings.Contains(s, "n° 3 à 4") })
	if !strings.Contains(gap, "(2 pointages)") {
		t.Fatalf("gap: %q", gap)
	}
	screenshot(t, ctx, "appareils.png")

	step("office devices page checked")
	// Declare it lost: a reason is required, then it is gone.
	run(t, ctx, "open the form", tap(`#trous-jf-cantine-1 button.declarer`),
		chromedp.WaitVisible(`#motif-jf-cantine-1-3`, chromedp.ByQuery),
		tap(`#trous-jf-cantine-1 button.confirmer`))
	evalUntil(t, ctx, 2*time.Second, "reason required", `document.querySelector("#trous-jf-cantine-1 .declarer-perdu .erreur").textContent`,
		func(s string) bool { return s == "Indiquez un motif." })
	run(t, ctx, "confirm", chromedp.SendKeys(`#motif-jf-cantine-1-3`, "carte SD remplacée", chromedp.ByQuery),
		tap(`#trous-jf-cantine-1 button.confirmer`))
	evalUntil(t, ctx, 10*time.Second, "the gap disappears", devicesCount("#trous-jf-cantine-1 .trou"), func(s string) bool { return s == "0" })
	evalUntil(t, ctx, 5*time.Second, "jf-cantine-1's recovery complete", devicesCount("#reprise-jf-cantine-1"), func(s string) bool { return s == "0" })
	if msg := evalUntil(t, ctx, 2*time.Second, "message", text("message"), func(s string) bool { return s != "" }); msg != "Pointages n° 3 à 4 de jf-cantine-1 déclarés perdus." {
		t.Fatalf("message: %q", msg)
	}
	code, body := getAs(t, h, "marie", "password-marie", "/api/v1/corrections?site=jules-ferry")
	if code != 200 || !strings.Contains(body, `"kind":"declare_lost"`) || !strings.Contains(body, `"reason":"carte SD remplacée"`) || !strings.Contains(body, `"user":"marie"`) {
		t.Fatalf("corrections: %d %s", code, body)
	}

	step("gap declared lost")
	// A device going offline shows live, without a reload, with the
	// alert (the canteen service is open).
	var marked bool
	run(t, ctx, "mark the page", chromedp.Evaluate(`window.__devicesMark = 1; true`, &marked))
	devs["jf-garderie-1"].publishDevicesStatus("offline", nil, 0)
	evalUntil(t, ctx, 12*time.Second, "offline shown live", text("etat-jf-garderie-1"), func(s string) bool { return strings.HasPrefix(s, "Hors ligne depuis ") })
	evalUntil(t, ctx, 5*time.Second, "alert on the devices page", devicesCount("#alertes .alerte-rouge"), func(s string) bool { return s == "1" })
	run(t, ctx, "no reload", chromedp.Evaluate(`window.__devicesMark === 1`, &marked))
	if !marked {
		t.Fatal("the devices page reloaded")
	}

	// On the overview: the red alert, the day's and the month's charts
	// drawn with data.
	run(t, ctx, "overview", chromedp.Navigate(base+"/"))
	alert := evalUntil(t, ctx, 15*time.Second, "the red alert", `(function(){var e=document.querySelector("#alertes .alerte-rouge");return e?e.textContent:""})()`,
		func(s string) bool { return s != "" })
	if !strings.HasPrefix(alert, "École jules-ferry : l'appareil jf-garderie-1 est hors ligne depuis ") || !strings.Contains(alert, "pendant le service de cantine (10:30–13:30)") {
		t.Fatalf("alert: %q", alert)
	}
	if n := evalUntil(t, ctx, time.Second, "one alert", devicesCount("#alertes .alerte-rouge"), func(string) bool { return true }); n != "1" {
		t.Fatalf("%s alerts", n)
	}
	evalUntil(t, ctx, 10*time.Second, "day chart drawn", `document.getElementById("graphique-jour").getAttribute("data-total")||""`,
		func(s string) bool { return s == "3" })
	evalUntil(t, ctx, 10*time.Second, "month chart drawn", `document.getElementById("graphique-mois").getAttribute("data-total")||""`,
		func(s string) bool { return s != "" })
	step("charts drawn")
	// The canvas holds pixels, drawn by Chart.js (not an empty canvas).
	painted := `(function(){var c=document.getElementById("graphique-jour");if(!window.Chart||!Chart.getChart(c))return "0";` +
		`var d=c.getContext("2d").getImageData(0,0,c.width,c.height).data,n=0;for(var i=3;i<d.length;i+=4){if(d[i]>0)n++}return String(n)})()`
	evalUntil(t, ctx, 5*time.Second, "day chart painted", painted, func(s string) bool { n, _ := strconv.Atoi(s); return n > 2000 })
	month := evalUntil(t, ctx, 2*time.Second, "month field", `document.getElementById("mois").value`, func(s string) bool { return s != "" })
	if month != time.Now().In(devicesZone(t, cfg.Timezone)).Format("2006-01") {
		t.Fatalf("month shown: %q", month)
	}
	screenshot(t, ctx, "overview-charts.png")

	step("overview checked")
	// Another month, chosen in French.
	prev := time.Now().In(devicesZone(t, cfg.Timezone)).AddDate(0, 0, -time.Now().In(devicesZone(t, cfg.Timezone)).Day()) // last day of the previous month
	frMonths := []string{"janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"}
	want := frMonths[prev.Month()-1] + " " + strconv.Itoa(prev.Year())
	var label string
	run(t, ctx, "choose the previous month", chromedp.Evaluate(`(function(){var s=document.getElementById("mois");s.selectedIndex=1;`+
		`s.dispatchEvent(new Event("change"));return s.options[1].textContent})()`, &label))
	if label != want {
		t.Fatalf("month option %q, want %q", label, want)
	}
	evalUntil(t, ctx, 10*time.Second, "previous month drawn", `document.getElementById("graphique-mois").getAttribute("aria-label")`,
		func(s string) bool { return s == "Repas servis par jour, "+want+" : 0 en tout" })

	step("browser part done")
	mu.Lock()
	defer mu.Unlock()
	for _, line := range console {
		// A CSP refusal, a script error or a missing asset (the favicon
		// aside, and the 401 of a refresh racing the log-out).
		if strings.Contains(line, "Content Security Policy") || strings.HasPrefix(line, "exception") || strings.Contains(line, "/static/") {
			t.Errorf("browser console: %s", line)
		}
	}
}

func devicesZone(t *testing.T, name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}
