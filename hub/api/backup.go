package api

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"pointage/hub/auth"
	"pointage/hub/backup"
	"pointage/hub/days"
)

// Backups is the hub's scheduled backups (hub/backup.Scheduler).
type Backups interface {
	Status() backup.Status
	// TakeNow takes a backup now and says how it went.
	TakeNow(ctx context.Context) backup.Result
}

// registerBackup adds the backups' routes: office only.
func (a *API) registerBackup(mux *http.ServeMux) {
	mux.Handle("GET /api/v1/backup", a.auth(a.backupStatus, auth.RoleOffice))
	mux.Handle("POST /api/v1/backup", a.auth(a.backupNow, auth.RoleOffice))
}

// backupView is GET /api/v1/backup: the schedule's status, with the
// hub's time and time zone to show its times in.
type backupView struct {
	backup.Status
	At       time.Time `json:"at"`
	Timezone string    `json:"timezone"`
}

// backupStatus is the last scheduled backup, the next one and the
// settings; "configured": false without --backup-dir.
func (a *API) backupStatus(w http.ResponseWriter, r *http.Request, _ User) {
	v := backupView{At: a.opts.Now().In(a.opts.Loc), Timezone: a.opts.Loc.String()}
	if a.opts.Backups != nil {
		v.Status = a.opts.Backups.Status()
	}
	writeJSON(w, http.StatusOK, v)
}

// backupNow takes a backup into --backup-dir now (the overview's
// "Sauvegarder maintenant"), whether or not the browser waits for it.
func (a *API) backupNow(w http.ResponseWriter, r *http.Request, u User) {
	if a.opts.Backups == nil {
		writeError(w, http.StatusConflict, "backups are not configured: run the hub with --backup-dir DIR")
		return
	}
	res := a.opts.Backups.TakeNow(context.WithoutCancel(r.Context()))
	if res.Failed() {
		a.record(r, u, "backup.failed", "", res.Error)
		writeJSON(w, http.StatusInternalServerError, map[string]any{"error": res.Error, "error_fr": res.ErrorFR, "backup": res})
		return
	}
	a.record(r, u, "backup.take", res.File, fmt.Sprintf("%d bytes, %d databases", res.Size, res.Databases))
	writeJSON(w, http.StatusOK, res)
}

// backupAlert is the overview's alert of a failed backup (office, every
// site), nil when the last one worked.
func (a *API) backupAlert(u User, site string) *days.Alert {
	if a.opts.Backups == nil || u.Role != auth.RoleOffice || site != "" {
		return nil
	}
	st := a.opts.Backups.Status()
	if st.Last == nil || !st.Last.Failed() {
		return nil
	}
	at := st.Last.At
	return &days.Alert{Kind: days.AlertBackupFailed, Since: &at, Detail: st.Last.ErrorFR}
}
