package hub_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"pointage/hub"
	"pointage/hub/auth"
	"pointage/hub/users"
	"pointage/internal/testenv"
	"pointage/internal/wire"
)

// Every time a page shows is on the hub's clock (the demo accelerates
// it), not the browser's: with a hub whose clock is 4 h 37 min behind the
// real one, the devices page's "mis à jour à", its "dernier état reçu à"
// and the overview's "mis à jour à" all read the hub's time.
func TestDashboardTimesOnHubClock(t *testing.T) {
	testenv.Require(t, "chromium")
	const behind = 4*time.Hour + 37*time.Minute
	hubNow := func() time.Time { return time.Now().Add(-behind) }
	cfg := config()
	cfg.Timezone = "Pacific/Noumea"
	loc, err := time.LoadLocation(cfg.Timezone)
	if err != nil {
		t.Fatal(err)
	}
	h := startHubWith(t, cfg, hub.Options{Now: hubNow}, nil)
	bg := context.Background()
	users.FastBcryptForTest(h.Users())
	if _, err := h.Users().Add(bg, "marie", auth.RoleOffice, "", "password-marie"); err != nil {
		t.Fatal(err)
	}
	_, pw, err := h.Devices().Add(bg, "jules-ferry", "jf-cantine-1", "")
	if err != nil {
		t.Fatal(err)
	}
	d := newDevice(t, h.MQTTURL(), "jules-ferry", "jf-cantine-1", pw)
	d.publishDevicesStatus("online", []wire.ReaderStatus{{Name: "entree", Port: "/dev/ttyUSB0", Profile: "rdm6300", Connected: true}}, 0)

	base := "http://" + h.HTTPAddr()
	ctx := browser(t)
	login(t, ctx, base, "marie", "password-marie")
	// Either of two minutes: the page may be read across a minute's turn.
	hubHM := func() []string {
		n := hubNow().In(loc)
		return []string{n.Add(-time.Minute).Format("15:04"), n.Format("15:04")}
	}
	onHubClock := func(s string) bool {
		for _, hm := range hubHM() {
			if strings.Contains(s, " à "+hm) {
				return true
			}
		}
		return false
	}

	run(t, ctx, "devices page", chromedp.Navigate(base+"/appareils"))
	evalUntil(t, ctx, 10*time.Second, "devices page's update time on the hub's clock", text("maj"), onHubClock)
	evalUntil(t, ctx, 10*time.Second, "status received on the hub's clock", text("etat-jf-cantine-1"), onHubClock)

	run(t, ctx, "overview", chromedp.Navigate(base+"/"))
	evalUntil(t, ctx, 10*time.Second, "overview's update time on the hub's clock", text("maj"), onHubClock)
}
