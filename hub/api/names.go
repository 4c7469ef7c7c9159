package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"pointage/hub/audit"
	"pointage/hub/auth"
	"pointage/hub/names"
	"pointage/internal/wire"
)

// Names are the display names of sites and diets (*names.Store;
// docs/DESIGN.md §12).
type Names interface {
	SiteNames(ctx context.Context) (map[string]string, error)
	Site(ctx context.Context, id string) (names.Site, error)
	Sites(ctx context.Context) ([]names.Site, error)
	DietLabels() map[string]string
	Diets() []names.Diet
	SetSiteName(ctx context.Context, site, name string) (names.Site, error)
}

// NamesView is GET /api/v1/names: the name shown for each site id, the
// label shown for each diet code (a code not in it is shown as it is).
type NamesView struct {
	Sites map[string]string `json:"sites"`
	Diets map[string]string `json:"diets"`
}

// SitesView is GET /api/v1/sites (an addition, office only): each known
// site's names and where the shown one comes from, and the diets' labels
// with theirs; what the Écoles page shows.
type SitesView struct {
	Sites []names.Site `json:"sites"`
	Diets []names.Diet `json:"diets"`
}

// registerNames adds the display names:
//
//	GET /api/v1/names               every role (a user limited to a site gets that site's name only)
//	GET /api/v1/sites               office
//	PUT /api/v1/sites/{site}/name   office, {"name"}: "" goes back to the sites file's name, or the id
func (a *API) registerNames(mux *http.ServeMux) {
	if a.opts.Names == nil {
		return
	}
	mux.Handle("GET /api/v1/names", a.auth(a.names, auth.RoleOffice, auth.RoleSchool, auth.RoleKitchen))
	mux.Handle("GET /api/v1/sites", a.auth(a.listSites, auth.RoleOffice))
	mux.Handle("PUT /api/v1/sites/{site}/name", a.auth(a.setSiteName, auth.RoleOffice))
}

func (a *API) names(w http.ResponseWriter, r *http.Request, u User) {
	v := NamesView{Diets: a.opts.Names.DietLabels()}
	var err error
	if u.Site != "" { // like every other answer, a site's account reads its own site only
		var s names.Site
		s, err = a.opts.Names.Site(r.Context(), u.Site)
		v.Sites = map[string]string{u.Site: s.Name}
	} else {
		v.Sites, err = a.opts.Names.SiteNames(r.Context())
	}
	a.respond(w, r, v, err)
}

func (a *API) listSites(w http.ResponseWriter, r *http.Request, _ User) {
	sites, err := a.opts.Names.Sites(r.Context())
	a.respond(w, r, SitesView{Sites: sites, Diets: a.opts.Names.Diets()}, err)
}

func (a *API) setSiteName(w http.ResponseWriter, r *http.Request, u User) {
	site := r.PathValue("site")
	if !wire.ValidSiteOrDevice(site) {
		writeError(w, http.StatusBadRequest, "site: not a site id (lowercase letters, digits and dashes, like jules-ferry)")
		return
	}
	var in struct {
		Name *string `json:"name"`
	}
	if !readBody(w, r, &in) {
		return
	}
	if in.Name == nil {
		writeError(w, http.StatusBadRequest, `name: required ("" goes back to the sites file's name, or the id)`)
		return
	}
	v, err := a.opts.Names.SetSiteName(r.Context(), site, *in.Name)
	switch {
	case errors.Is(err, names.ErrInvalidName), errors.Is(err, names.ErrInvalidSite):
		writeError(w, http.StatusBadRequest, err.Error())
		return
	case err != nil:
		a.respond(w, r, nil, err)
		return
	}
	detail := fmt.Sprintf("name %q", v.DashboardName)
	if v.DashboardName == "" {
		detail = fmt.Sprintf("name removed: %q shown (%s)", v.Name, v.Source)
	}
	a.record(r, u, audit.SiteNamed, site, detail)
	writeJSON(w, http.StatusOK, v)
}
