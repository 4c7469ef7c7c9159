package api

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"pointage/hub/audit"
	"pointage/hub/auth"
	"pointage/hub/calendar"
	"pointage/internal/civil"
)

// ClosedDays is the effective calendar as the office administers it
// (*calendar.Store: the configuration's file, read-only, and hub.db's
// entries; docs/DESIGN.md §12). Add and Remove apply at once.
type ClosedDays interface {
	List(from, to civil.Date) []calendar.Entry
	Add(ctx context.Context, a calendar.Addition, by string) (calendar.Entry, error)
	Remove(ctx context.Context, id, by string) (calendar.Entry, error)
}

// ClosedDayView is one closed-day entry as the API shows it.
type ClosedDayView struct {
	ID     string          `json:"id"`     // "12" (dashboard) or "config-3" (the file's 3rd entry)
	Source calendar.Source `json:"source"` // "config" (read-only) or "dashboard"
	From   string          `json:"from"`
	To     string          `json:"to"`
	Sites  []string        `json:"sites"` // [] = every site (city-wide)
	Reason string          `json:"reason"`
	// Line is the entry's line in the calendar file (config).
	Line int `json:"line,omitempty"`
	// CreatedBy and CreatedAt say who added a dashboard entry, and when.
	CreatedBy string     `json:"created_by,omitempty"`
	CreatedAt *time.Time `json:"created_at,omitempty"`
}

// ClosedDaysView is GET /api/v1/closed-days.
type ClosedDaysView struct {
	From       string          `json:"from"`
	To         string          `json:"to"`
	Timezone   string          `json:"timezone"`
	ClosedDays []ClosedDayView `json:"closed_days"`
}

func closedDayView(e calendar.Entry) ClosedDayView {
	v := ClosedDayView{ID: e.ID, Source: e.Source, From: e.From.String(), To: e.To.String(), Sites: slices.Clone(e.Sites),
		Reason: e.Reason, CreatedBy: e.CreatedBy}
	if v.Sites == nil {
		v.Sites = []string{}
	}
	if e.Source == calendar.FromConfig {
		v.Line = e.Line
	}
	if !e.CreatedAt.IsZero() {
		t := e.CreatedAt
		v.CreatedAt = &t
	}
	return v
}

// describeClosedDay is an entry for the audit log: "2026-11-27 jules-ferry: Grève".
func describeClosedDay(e calendar.Entry) string {
	days := e.From.String()
	if e.To != e.From {
		days += " to " + e.To.String()
	}
	return fmt.Sprintf("%s %s: %s", days, cmpOr(strings.Join(e.Sites, ","), "every site"), e.Reason)
}

// registerClosedDays adds the closed days' administration:
//
//	GET    /api/v1/closed-days?from=&to=   office and school (a school sees what concerns its site)
//	POST   /api/v1/closed-days            {"from","to"?,"sites"?,"reason"}   office only
//	DELETE /api/v1/closed-days/{id}       office only; an entry of the calendar file is a 409
func (a *API) registerClosedDays(mux *http.ServeMux) {
	if a.opts.ClosedDays == nil {
		return
	}
	mux.Handle("GET /api/v1/closed-days", a.auth(a.listClosedDays, auth.RoleOffice, auth.RoleSchool))
	mux.Handle("POST /api/v1/closed-days", a.auth(a.addClosedDay, auth.RoleOffice))
	mux.Handle("DELETE /api/v1/closed-days/{id}", a.auth(a.removeClosedDay, auth.RoleOffice))
}

// The period GET /api/v1/closed-days lists by default, around today, and
// the longest one it lists.
const (
	closedDaysBefore = 62  // days before today
	closedDaysAfter  = 366 // days after today
	closedDaysMax    = 3 * 366
)

func (a *API) listClosedDays(w http.ResponseWriter, r *http.Request, u User) {
	q := r.URL.Query()
	today := a.opts.Days.Today()
	from, to := today.AddDays(-closedDaysBefore), today.AddDays(closedDaysAfter)
	for _, p := range []struct {
		name string
		day  *civil.Date
	}{{"from", &from}, {"to", &to}} {
		if s := q.Get(p.name); s != "" {
			d, err := civil.ParseDate(s)
			if err != nil || !d.Valid() {
				writeError(w, http.StatusBadRequest, p.name+": want YYYY-MM-DD, like 2026-11-28")
				return
			}
			*p.day = d
		}
	}
	if to.Before(from) {
		writeError(w, http.StatusBadRequest, "to: "+to.String()+" is before from "+from.String())
		return
	}
	if from.AddDays(closedDaysMax).Before(to) {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("to: at most %d days after from", closedDaysMax))
		return
	}
	v := ClosedDaysView{From: from.String(), To: to.String(), Timezone: a.opts.Loc.String(), ClosedDays: []ClosedDayView{}}
	for _, e := range a.opts.ClosedDays.List(from, to) {
		if u.Role != auth.RoleOffice && len(e.Sites) > 0 && !slices.Contains(e.Sites, u.Site) {
			continue // another school's closure
		}
		v.ClosedDays = append(v.ClosedDays, closedDayView(e))
	}
	writeJSON(w, http.StatusOK, v)
}

func (a *API) addClosedDay(w http.ResponseWriter, r *http.Request, u User) {
	var in calendar.Addition
	if !readBody(w, r, &in) {
		return
	}
	e, err := a.opts.ClosedDays.Add(r.Context(), in, u.Name)
	if err != nil {
		a.closedDayError(w, r, err)
		return
	}
	a.log.Info("closed day added", "id", e.ID, "from", e.From.String(), "to", e.To.String(), "sites", strings.Join(e.Sites, ","), "user", u.Name)
	a.record(r, u, audit.ClosedDayAdded, e.ID, describeClosedDay(e))
	writeJSON(w, http.StatusCreated, closedDayView(e))
}

func (a *API) removeClosedDay(w http.ResponseWriter, r *http.Request, u User) {
	e, err := a.opts.ClosedDays.Remove(r.Context(), r.PathValue("id"), u.Name)
	if err != nil {
		a.closedDayError(w, r, err)
		return
	}
	a.log.Info("closed day removed", "id", e.ID, "user", u.Name)
	a.record(r, u, audit.ClosedDayRemoved, e.ID, describeClosedDay(e))
	w.WriteHeader(http.StatusNoContent)
}

// closedDayError maps the calendar's errors to statuses: 400 invalid, 404
// unknown, 409 an entry of the calendar file.
func (a *API) closedDayError(w http.ResponseWriter, r *http.Request, err error) {
	a.fail(w, r, err, errStatus{calendar.ErrInvalid, http.StatusBadRequest},
		errStatus{calendar.ErrNotFound, http.StatusNotFound}, errStatus{calendar.ErrReadOnly, http.StatusConflict})
}
