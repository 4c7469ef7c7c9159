package api

import "net/http"

// registerSchool adds the routes the school and roll-call pages need.
func (a *API) registerSchool(mux *http.ServeMux) {}

// SchoolDays gives the school and roll-call pages their data.
type SchoolDays interface{}
