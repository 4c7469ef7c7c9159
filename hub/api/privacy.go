package api

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"pointage/hub/audit"
	"pointage/hub/auth"
	"pointage/hub/days"
	"pointage/internal/civil"
)

// record appends to the audit log; a failure is logged loudly but does not
// refuse what was done (it is done).
func (a *API) record(r *http.Request, u User, action, target, detail string) {
	if a.opts.Audit == nil {
		return
	}
	if _, err := a.opts.Audit.Record(context.WithoutCancel(r.Context()), audit.Entry{User: u.Name, Role: string(u.Role), Action: action,
		Target: target, Detail: detail, Addr: audit.Addr(r.RemoteAddr)}); err != nil {
		a.log.Error("could not write the audit log", "action", action, "user", u.Name, "err", err)
	}
}

func cmpOr(s, alt string) string {
	if s == "" {
		return alt
	}
	return s
}

// registerPrivacy adds the routes about one person's data and the audit
// log: office only.
func (a *API) registerPrivacy(mux *http.ServeMux) {
	mux.Handle("GET /api/v1/people/{person_id}/history", a.auth(a.history, auth.RoleOffice))
	mux.Handle("GET /api/v1/audit", a.auth(a.auditLog, auth.RoleOffice))
}

// history serves ?from=YYYY-MM-DD&to=YYYY-MM-DD (default: the last 30
// days) of one person's data, and records the view in the audit log.
func (a *API) history(w http.ResponseWriter, r *http.Request, u User) {
	id := r.PathValue("person_id")
	if id == "" || len(id) > 64 || strings.ContainsAny(id, "\x00\r\n") {
		writeError(w, http.StatusBadRequest, "person_id: not a roster person id")
		return
	}
	to := a.opts.Days.Today()
	from := to.AddDays(-30)
	for _, p := range []struct {
		name string
		d    *civil.Date
	}{{"from", &from}, {"to", &to}} {
		if v := r.URL.Query().Get(p.name); v != "" {
			d, err := civil.ParseDate(v)
			if err != nil {
				writeError(w, http.StatusBadRequest, p.name+": want YYYY-MM-DD, like 2026-11-28")
				return
			}
			*p.d = d
		}
	}
	v, err := a.opts.Days.PersonHistory(r.Context(), id, from, to)
	switch {
	case errors.Is(err, days.ErrUnknownPerson):
		writeError(w, http.StatusNotFound, err.Error())
		return
	case errors.Is(err, days.ErrBadRange):
		writeError(w, http.StatusBadRequest, err.Error())
		return
	case err != nil:
		a.respond(w, r, nil, err)
		return
	}
	a.record(r, u, audit.ViewChild, id, from.String()+" to "+to.String())
	writeJSON(w, http.StatusOK, v)
}

// auditLog lists the audit log, newest first: ?from=&to= (YYYY-MM-DD, UTC
// days), ?user=, ?action=, ?target=, ?limit= (1-1000, default 200).
func (a *API) auditLog(w http.ResponseWriter, r *http.Request, _ User) {
	if a.opts.Audit == nil {
		writeError(w, http.StatusNotFound, "no audit log on this hub")
		return
	}
	q := r.URL.Query()
	f := audit.Filter{User: q.Get("user"), Action: q.Get("action"), Target: q.Get("target"), Limit: 200}
	for _, p := range []struct {
		name string
		t    *time.Time
		add  int
	}{{"from", &f.From, 0}, {"to", &f.To, 1}} {
		if v := q.Get(p.name); v != "" {
			d, err := civil.ParseDate(v)
			if err != nil {
				writeError(w, http.StatusBadRequest, p.name+": want YYYY-MM-DD, like 2026-11-28")
				return
			}
			*p.t = d.AddDays(p.add).In(time.UTC)
		}
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			writeError(w, http.StatusBadRequest, "limit: a number from 1 to 1000")
			return
		}
		f.Limit = n
	}
	if !f.From.IsZero() && !f.To.IsZero() && f.To.Before(f.From) {
		writeError(w, http.StatusBadRequest, "to is before from")
		return
	}
	entries, err := a.opts.Audit.List(r.Context(), f)
	if err != nil {
		a.respond(w, r, nil, err)
		return
	}
	writeJSON(w, http.StatusOK, AuditView{Entries: entries})
}
