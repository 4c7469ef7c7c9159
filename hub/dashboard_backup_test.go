package hub_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"pointage/internal/testenv"
)

// The overview's backups line (docs/DESIGN.md §13), in a real browser:
// the office reads that no backup has worked yet; "Sauvegarder maintenant"
// into a share that is not mounted fails, in French, with a red alert on
// the overview; once the share is there the next one works, the line
// gives its time and size and the alert is gone. A school user sees
// neither. A hub without --backup-dir says that backups are not set up.
func TestDashboardBackupInBrowser(t *testing.T) {
	testenv.Require(t, "chromium")
	cfg := config()
	cfg.DataDir = t.TempDir()
	share := filepath.Join(t.TempDir(), "partage")
	cfg.BackupDir = share
	h := startHub(t, cfg)
	bg := context.Background()
	adminUsers(t, h) // marie (office), ecole (school, jules-ferry)
	if _, _, err := h.Devices().Add(bg, "jules-ferry", "jf-cantine-1", ""); err != nil {
		t.Fatal(err)
	}
	ctx := browser(t)
	base := "http://" + h.HTTPAddr()
	alerts := `(function(){return Array.from(document.querySelectorAll("#alertes p")).map(function(p){return p.textContent}).join(" | ")})()`

	login(t, ctx, base, "marie", "password-marie")
	evalUntil(t, ctx, 5*time.Second, "no backup yet", text("sauvegarde-etat"), func(s string) bool {
		return strings.Contains(s, "Aucune sauvegarde réussie pour l'instant") && strings.Contains(s, "Prochaine aujourd'hui à ")
	})
	run(t, ctx, "back up now, into the share not mounted", chromedp.Click("#sauvegarder", chromedp.ByID))
	evalUntil(t, ctx, 10*time.Second, "the failure on the backups line", text("sauvegarde-etat"), func(s string) bool {
		return strings.Contains(s, "a échoué") && strings.Contains(s, "introuvable") && strings.Contains(s, "partage réseau est bien monté")
	})
	evalUntil(t, ctx, 5*time.Second, "the red alert", alerts, func(s string) bool {
		return strings.Contains(s, "La sauvegarde de ") && strings.Contains(s, "a échoué : le dossier des sauvegardes "+share+" est introuvable")
	})

	if err := os.Mkdir(share, 0o750); err != nil {
		t.Fatal(err)
	}
	run(t, ctx, "back up now, the share mounted", chromedp.Click("#sauvegarder", chromedp.ByID))
	evalUntil(t, ctx, 10*time.Second, "the backup on the line", text("sauvegarde-etat"), func(s string) bool {
		return strings.HasPrefix(s, "Dernière sauvegarde : aujourd'hui à ") && strings.Contains(s, " ko (1 gardée sur 14)") && !strings.Contains(s, "échoué")
	})
	// The next scheduled one moved to a day after the one just taken.
	loc, err := time.LoadLocation("Pacific/Noumea")
	if err != nil {
		t.Fatal(err)
	}
	tomorrow := time.Now().In(loc).Add(24 * time.Hour).Format("02/01/2006")
	evalUntil(t, ctx, 5*time.Second, "the next backup a day later", text("sauvegarde-etat"), func(s string) bool {
		return strings.Contains(s, "Prochaine le "+tomorrow+" à ")
	})
	evalUntil(t, ctx, 5*time.Second, "the alert gone", alerts, func(s string) bool { return !strings.Contains(s, "sauvegarde") })
	if files, _ := filepath.Glob(filepath.Join(share, "pointage-backup-*.tar.gz")); len(files) != 1 {
		t.Fatalf("the share holds %v", files)
	}
	screenshot(t, ctx, "sauvegarde.png")

	// A school user: no backups line.
	ctx2 := browser(t)
	login(t, ctx2, base, "ecole", "password-ecole")
	var n int
	run(t, ctx2, "the school's overview", chromedp.Evaluate(`document.querySelectorAll("#sauvegarde, #sauvegarder").length`, &n))
	if n != 0 {
		t.Fatal("a school user sees the backups line")
	}

	// A hub without --backup-dir says so.
	plain := startHub(t, config())
	adminUsers(t, plain)
	ctx3 := browser(t)
	login(t, ctx3, "http://"+plain.HTTPAddr(), "marie", "password-marie")
	evalUntil(t, ctx3, 5*time.Second, "backups not set up", text("sauvegarde-etat"), func(s string) bool {
		return strings.Contains(s, "Sauvegardes automatiques non configurées") && strings.Contains(s, "--backup-dir")
	})
}
