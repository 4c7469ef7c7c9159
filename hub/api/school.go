package api

import (
	"context"
	"net/http"
	"pointage/hub/auth"
	"pointage/hub/days"
	"pointage/internal/civil"
)

// registerSchool adds the routes the school and roll-call pages need:
//
//	GET /api/v1/school?site=S[&date=D]  one site's day with names (office, school)
//	GET /api/v1/people?site=S[&date=D]  the site's children and staff (office, school)
//
// Both follow dayQuery: a school user is limited to its site (403 for
// another), an office user must name one (400), an unknown site is a 404
// and a bad date a 400. The kitchen never sees names: 403.
func (a *API) registerSchool(mux *http.ServeMux) {
	s := a.opts.School
	if s == nil {
		return
	}
	mux.Handle("GET /api/v1/school", a.auth(dayQuery(a, true, func(ctx context.Context, day civil.Date, site string, _ User) (days.SchoolView, error) {
		return s.School(ctx, day, site)
	}), auth.RoleOffice, auth.RoleSchool))
	mux.Handle("GET /api/v1/people", a.auth(dayQuery(a, true, func(ctx context.Context, day civil.Date, site string, _ User) (days.PeopleView, error) {
		return s.People(ctx, day, site)
	}), auth.RoleOffice, auth.RoleSchool))
}

// SchoolDays gives the school and roll-call pages their data. Both return
// days.ErrUnknownSite (wrapped) for a site nobody knows.
type SchoolDays interface {
	// School returns one site's day in detail, names included: canteen
	// served, absent, unexpected, duplicates and unknown badges; garderie
	// sessions with each child's times; staff days.
	School(ctx context.Context, day civil.Date, site string) (days.SchoolView, error)
	// People returns the children (class, diet, canteen days, garderie
	// enrolment) and staff of a site as of the day.
	People(ctx context.Context, day civil.Date, site string) (days.PeopleView, error)
}
