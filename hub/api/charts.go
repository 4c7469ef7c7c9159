package api

import (
	"context"
	"errors"
	"net/http"

	"pointage/hub/auth"
	"pointage/hub/days"
	"pointage/hub/ingest"
	"pointage/internal/civil"
)

// registerCharts adds the routes the devices page, the overview's alerts
// and the charts need:
//
//	GET /api/v1/alerts[?site=S]                       office, school (own site)
//	GET /api/v1/series/day?date=D[&site=S]            office, school, kitchen (canteen only)
//	GET /api/v1/series/month?month=YYYY-MM[&site=S]   office, school, kitchen
func (a *API) registerCharts(mux *http.ServeMux) {
	mux.Handle("GET /api/v1/alerts", a.auth(a.alerts, auth.RoleOffice, auth.RoleSchool))
	mux.Handle("GET /api/v1/series/day", a.auth(dayQuery(a, false, func(ctx context.Context, day civil.Date, site string, u User) (days.DaySeriesView, error) {
		return a.opts.Charts.DaySeries(ctx, day, site, u.Role == auth.RoleKitchen)
	}), auth.RoleOffice, auth.RoleSchool, auth.RoleKitchen))
	mux.Handle("GET /api/v1/series/month", a.auth(a.monthSeries, auth.RoleOffice, auth.RoleSchool, auth.RoleKitchen))
}

// ChartDays gives the devices page, the overview's alerts and the charts
// their data.
type ChartDays interface {
	// Alerts returns the alerts of the devices given (every site, or
	// site's only); days.ErrUnknownSite when site is not known.
	Alerts(ctx context.Context, devices []ingest.DeviceView, site string) (days.AlertsView, error)
	// DaySeries returns the day's check-ins per quarter hour and service
	// (canteenOnly: the canteen's only).
	DaySeries(ctx context.Context, day civil.Date, site string, canteenOnly bool) (days.DaySeriesView, error)
	// MonthSeries returns the meals per day of the month that starts on
	// first.
	MonthSeries(ctx context.Context, first civil.Date, site string) (days.MonthSeriesView, error)
}

func (a *API) alerts(w http.ResponseWriter, r *http.Request, u User) {
	site, status, msg := siteParam(r, u, false)
	if status != 0 {
		writeError(w, status, msg)
		return
	}
	views, err := a.opts.Ingest.DeviceViews(r.Context())
	if err != nil {
		a.respond(w, r, nil, err)
		return
	}
	v, err := a.opts.Charts.Alerts(r.Context(), views, site)
	if b := a.backupAlert(u, site); err == nil && b != nil {
		v.Alerts = append(v.Alerts, *b)
	}
	a.respond(w, r, v, err)
}

// month reads ?month=YYYY-MM (default the current month).
func (a *API) month(r *http.Request) (civil.Date, error) {
	s := r.URL.Query().Get("month")
	if s == "" {
		t := a.opts.Days.Today()
		return civil.Date{Year: t.Year, Month: t.Month, Day: 1}, nil
	}
	m, err := civil.ParseMonth(s)
	if err != nil || m.Year < 2000 {
		return civil.Date{}, errors.New("month: want YYYY-MM, like 2026-11")
	}
	return m.First(), nil
}

func (a *API) monthSeries(w http.ResponseWriter, r *http.Request, u User) {
	first, err := a.month(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	site, status, msg := siteParam(r, u, false)
	if status != 0 {
		writeError(w, status, msg)
		return
	}
	v, err := a.opts.Charts.MonthSeries(r.Context(), first, site)
	a.respond(w, r, v, err)
}
