package hub_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"pointage/hub/backup"
)

// The scheduled backups through the API (docs/DESIGN.md §13): a backup
// into a share that is not mounted fails, is an office alert with what
// to do in French and in /metrics; taken again once the share is there,
// it is a backup restore accepts, and the alert is gone. School users
// neither see the alert nor reach the endpoints.
func TestBackupAPIAndAlert(t *testing.T) {
	cfg := config()
	cfg.DataDir = t.TempDir()
	share := filepath.Join(t.TempDir(), "partage")
	cfg.BackupDir = share
	h := startHub(t, cfg)
	ctx := context.Background()
	adminUsers(t, h)                                                                      // marie (office), ecole (school, jules-ferry)
	if _, _, err := h.Devices().Add(ctx, "jules-ferry", "jf-cantine-1", ""); err != nil { // the school's site is known
		t.Fatal(err)
	}
	status := func() backup.Status {
		t.Helper()
		code, body := rawCall(t, h, "GET", "/api/v1/backup", "marie", "password-marie", "")
		var st backup.Status
		if code != http.StatusOK || json.Unmarshal([]byte(body), &st) != nil {
			t.Fatalf("GET /api/v1/backup: %d %s", code, body)
		}
		return st
	}
	if st := status(); !st.Configured || st.Dir != share || st.Keep != backup.DefaultKeep || st.Last != nil {
		t.Fatalf("before any backup: %+v", st)
	}
	backupAlerts := func(user string) []string {
		t.Helper()
		code, body := rawCall(t, h, "GET", "/api/v1/alerts", user, "password-"+user, "")
		var v struct {
			Alerts []struct{ Kind, Detail string } `json:"alerts"`
		}
		if code != http.StatusOK || json.Unmarshal([]byte(body), &v) != nil {
			t.Fatalf("GET /api/v1/alerts as %s: %d %s", user, code, body)
		}
		var out []string
		for _, a := range v.Alerts {
			if a.Kind == "backup_failed" {
				out = append(out, a.Detail)
			}
		}
		return out
	}

	code, body := rawCall(t, h, "POST", "/api/v1/backup", "marie", "password-marie", "")
	if code != http.StatusInternalServerError || !strings.Contains(body, "introuvable") {
		t.Fatalf("a backup into a share not mounted: %d %s", code, body)
	}
	if a := backupAlerts("marie"); len(a) != 1 || !strings.Contains(a[0], "partage réseau") {
		t.Fatalf("the office's alerts after a failed backup: %q", a)
	}
	if a := backupAlerts("ecole"); len(a) != 0 {
		t.Fatalf("a school user sees the backup alert: %q", a)
	}
	if _, m := getAs(t, h, "marie", "password-marie", "/metrics"); !strings.Contains(m, "pointage_backup_last_failed 1") || !strings.Contains(m, "pointage_backup_failures_total 1") {
		t.Fatal("/metrics does not show the failed backup")
	}
	for _, req := range []struct{ method, path string }{{"GET", "/api/v1/backup"}, {"POST", "/api/v1/backup"}} {
		if code, _ := rawCall(t, h, req.method, req.path, "ecole", "password-ecole", ""); code != http.StatusForbidden {
			t.Fatalf("%s %s as a school user: %d, want 403", req.method, req.path, code)
		}
	}

	if err := os.Mkdir(share, 0o750); err != nil {
		t.Fatal(err)
	}
	code, body = rawCall(t, h, "POST", "/api/v1/backup", "marie", "password-marie", "")
	var res backup.Result
	if code != http.StatusOK || json.Unmarshal([]byte(body), &res) != nil || res.File == "" || res.Size == 0 {
		t.Fatalf("a backup once the share is mounted: %d %s", code, body)
	}
	if a := backupAlerts("marie"); len(a) != 0 {
		t.Fatalf("the alert stays after a backup that worked: %q", a)
	}
	st := status()
	if st.LastSuccess == nil || st.LastSuccess.File != res.File || st.Kept != 1 {
		t.Fatalf("status after the backup: %+v", st)
	}
	restored := t.TempDir()
	if _, err := backup.Restore(ctx, res.File, restored, false, backup.Options{}); err != nil {
		t.Fatalf("the dashboard's backup does not restore: %v", err)
	}
	if _, m := getAs(t, h, "marie", "password-marie", "/metrics"); !strings.Contains(m, "pointage_backup_last_failed 0") {
		t.Fatal("/metrics still shows the backup failed")
	}
	if code, body := rawCall(t, h, "GET", "/api/v1/audit", "marie", "password-marie", ""); code != http.StatusOK || !strings.Contains(body, "backup.take") || !strings.Contains(body, "backup.failed") {
		t.Fatalf("the backups are not in the audit log: %d %s", code, body)
	}
}
