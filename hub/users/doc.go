// Package users owns the hub's users and dashboard sessions (docs/DESIGN.md §7
// "users add", §9 "Authentication"): who may read the API and the
// dashboard, with which role, and how they prove it.
//
// Tables users and sessions live in the hub's SQLite database (hub.db,
// opened by pointage/hub/db) and are created by New.
//
// A user has a name (1 to 64 ASCII letters, digits or . _ - @, unique
// whatever its ASCII case, which login ignores too), a role and maybe a
// site: office sees everything and has no site; school sees its own site,
// names included, and needs one; kitchen sees counts and diets, never
// names, of one site or (no site) of all. Sites match
// ^[a-z0-9][a-z0-9-]{0,62}$. Passwords are kept only as bcrypt hashes
// (cost 10); Add wants at least 8 characters, at most 72 bytes, no line
// break. AddDemo is the one exception: it creates or resets the office
// user demo with password demo, for "pointage-hub demo" only.
//
// Any tells the API whether the loopback-only, no-authentication mode is
// over; it is cached (true for good, false for a second). Check serves
// HTTP Basic: a successful check is remembered for five minutes (at most
// one entry per user, 1000 entries) under an HMAC-SHA-256 of name and
// password keyed by a random per-process key, compared in constant time,
// so a polling client does not pay a bcrypt (50-100 ms) per request;
// failures are never remembered and an unknown name pays a bcrypt too.
// Check returns an auth.User (name, role, site); Add and List return User,
// which adds when the user was added.
//
// Login opens a dashboard session (12 hours, not sliding): a random token
// for the cookie and a random CSRF token, 32 bytes each in base64url. Only
// the SHA-256 of the token is stored, so a copied database opens no
// session; sessions survive a hub restart. *Store implements auth.Users
// and auth.Sessions: pointage/hub/auth throttles failed logins, reads the
// session cookie and checks CSRF tokens; this package imports auth (for
// Role, User and Session), never the other way round.
package users
