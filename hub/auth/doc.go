// Package auth is the hub's one home for authentication (docs/DESIGN.md §9): who
// makes a request, with which role, and how they prove it.
//
//   - Role and User: the typed roles office, school and kitchen, and the
//     user a request is made by (name, role, site).
//   - Limiter: the failed-login limiter shared by the MQTT broker, the
//     dashboard's login form and the API's HTTP Basic: failures counted per
//     (address, user name) and per address in fixed windows; a key that
//     reaches its limit is refused, unchecked, for a window.
//   - Auth: the request rule. A session cookie first (for a state-changing
//     method, only with the session's CSRF token in X-CSRF-Token), then
//     HTTP Basic (throttled: 10 failures for one name from one address in a
//     minute get 429 for a minute; each failure is audited), and before the
//     first user exists, loopback clients only, as the office. Require is
//     the API's middleware, Pages the dashboard's (session cookie only);
//     both put the User in the request's context (FromContext).
//
// The users and their sessions are stored by pointage/hub/users, which
// imports this package for Role, User and Session; auth reads them
// through the small interfaces Users and Sessions, which *users.Store
// implements, so the arrow points one way: users -> auth.
package auth
