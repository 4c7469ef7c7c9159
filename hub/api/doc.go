// Package api is the hub's HTTP API under /api/v1 (docs/DESIGN.md §9): JSON in and
// out, errors as {"error": "..."} with a 4xx status for a bad request, the
// roles each route admits (the authentication rule is pointage/hub/auth's),
// and the server-sent event stream. It depends on the rest of the hub
// through small interfaces declared here.
package api
