package auth

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"pointage/hub/audit"
)

// Cookie and header names.
const (
	SessionCookie = "pointage_session" // the dashboard's session token
	CSRFHeader    = "X-CSRF-Token"     // the session's CSRF token, on every state-changing API request
)

// The limits of the dashboard's login form and the API's HTTP Basic
// (docs/PRIVACY.md): MaxLoginFailures failures for one name from one
// address within LoginWindow, and that name is refused from that address,
// unchecked, for LoginWindow.
const (
	MaxLoginFailures = 10
	LoginWindow      = time.Minute
)

// userLimit is the limiter of the dashboard and HTTP Basic. There is no
// limit per address: behind a TLS proxy on the same machine every client
// has the proxy's address (docs/DEPLOY.md), and 100 failures from anyone
// would lock the whole city out.
var userLimit = LoginLimit{PerUser: MaxLoginFailures, PerIP: -1, Window: LoginWindow, MaxKeys: 10000}

// Errors callers act on.
var (
	// ErrBadCredentials: an unknown name or a wrong password.
	ErrBadCredentials = errors.New("wrong user name or password")
	// ErrThrottled: refused without checking, after MaxLoginFailures
	// failures from the same address for the same name within LoginWindow.
	ErrThrottled = errors.New("too many failed logins, try again in a minute")
)

// Users checks passwords. *users.Store is one.
type Users interface {
	// Any reports whether at least one user exists.
	Any(ctx context.Context) bool
	// Check verifies a name and password.
	Check(ctx context.Context, name, password string) (User, bool)
}

// Session is a dashboard session. Token goes in the session cookie, CSRF in
// the page (and back in a header or form field of every state-changing
// request).
type Session struct {
	Token   string
	CSRF    string
	Expires time.Time
}

// Sessions keeps the dashboard's sessions. *users.Store is one.
type Sessions interface {
	// Login checks name and password and opens a session; wrong
	// credentials give an error wrapping ErrBadCredentials.
	Login(ctx context.Context, name, password string) (Session, User, error)
	// Session returns the user and session of a token, false if it is
	// unknown, ended or expired.
	Session(ctx context.Context, token string) (User, Session, bool)
	// Logout ends a session.
	Logout(ctx context.Context, token string) error
}

// Options wire Auth.
type Options struct {
	Users    Users      // nil: no user yet (loopback only)
	Sessions Sessions   // nil: no dashboard sessions
	Audit    *audit.Log // nil: nothing recorded (tests)
	Logger   *slog.Logger
	Now      func() time.Time // the login limiter's clock; default time.Now
}

// Auth authenticates the hub's HTTP requests. Its methods are safe for
// concurrent use.
type Auth struct {
	users    Users
	sessions Sessions
	audit    *audit.Log
	log      *slog.Logger
	now      func() time.Time
	limiter  *Limiter
}

// New returns an Auth.
func New(opts Options) *Auth {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Auth{users: opts.Users, sessions: opts.Sessions, audit: opts.Audit, log: opts.Logger.With("component", "auth"),
		now: opts.Now, limiter: NewLimiter(userLimit)}
}

// Any reports whether at least one user exists.
func (a *Auth) Any(ctx context.Context) bool { return a.users != nil && a.users.Any(ctx) }

// Refusal is why Authenticate refused a request, as the API answers it.
type Refusal struct {
	Status    int    // 401, 403 or 429
	Message   string // the API's JSON error
	challenge bool   // 401: ask for HTTP Basic credentials
}

func (r *Refusal) Error() string { return r.Message }

// write answers the refusal: a JSON error; a Basic challenge with a 401
// unless the dashboard's scripts asked (X-Requested-With set: a browser
// would pop up its password dialog instead of letting the page go back to
// its login form); Retry-After with a 429.
func (r *Refusal) write(w http.ResponseWriter, req *http.Request) {
	if r.challenge && req.Header.Get("X-Requested-With") == "" {
		w.Header().Set("WWW-Authenticate", `Basic realm="pointage"`)
	}
	if r.Status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", "60")
	}
	writeError(w, r.Status, r.Message)
}

// Authenticate applies docs/DESIGN.md §9 to r and returns who makes it: the user
// of its session cookie (for a method other than GET, HEAD or OPTIONS,
// only with the session's CSRF token in the X-CSRF-Token header: a cookie
// alone never changes anything), else of its HTTP Basic credentials
// (throttled; a failure is recorded in the audit log); until the first
// user exists, a loopback client is the office, anyone else is refused.
func (a *Auth) Authenticate(r *http.Request) (User, *Refusal) {
	ctx := r.Context()
	if !a.Any(ctx) {
		if !isLoopback(r.RemoteAddr) {
			return User{}, &Refusal{Status: http.StatusForbidden,
				Message: "no user exists yet: the API answers only local requests (create a user with pointage-hub users add)"}
		}
		return User{Name: "local", Role: RoleOffice}, nil
	}
	if u, sess, ok := a.Session(r); ok && (safeMethod(r.Method) || CheckCSRF(sess, r.Header.Get(CSRFHeader))) {
		return u, nil
	}
	name, pass, ok := r.BasicAuth()
	if !ok {
		return User{}, &Refusal{Status: http.StatusUnauthorized, Message: "authentication required", challenge: true}
	}
	u, err := a.check(ctx, name, pass, clientIP(r))
	switch {
	case errors.Is(err, ErrThrottled): // throttled attempts check nothing: not recorded
		return User{}, &Refusal{Status: http.StatusTooManyRequests,
			Message: "too many failed attempts for this user from your address: try again in a minute"}
	case err != nil:
		a.record(r, audit.Entry{User: name, Action: audit.LoginFailed, Detail: "API (HTTP Basic): " + err.Error()})
		return User{}, &Refusal{Status: http.StatusUnauthorized, Message: "wrong user name or password", challenge: true}
	}
	return u, nil
}

// Require is the API's middleware: a request Authenticate accepts, from a
// user with one of roles, goes on to next with the user in its context
// (FromContext); the others get a JSON error (401, 403 or 429).
func (a *Auth) Require(roles ...Role) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			u, refusal := a.Authenticate(r)
			if refusal != nil {
				refusal.write(w, r)
				return
			}
			if !slices.Contains(roles, u.Role) {
				writeError(w, http.StatusForbidden, "your role ("+string(u.Role)+") cannot use this endpoint")
				return
			}
			next.ServeHTTP(w, r.WithContext(withIdentity(r.Context(), identity{user: u})))
		})
	}
}

// Pages is the dashboard's middleware: the session cookie only (a page is
// for someone who logged in: no HTTP Basic, no loopback office, and no
// CSRF check, which is the form's). A request with a live session goes on
// to next with its user and session in its context (FromContext,
// SessionFromContext); the others go to refuse.
func (a *Auth) Pages(refuse http.Handler) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			u, sess, ok := a.Session(r)
			if !ok {
				refuse.ServeHTTP(w, r)
				return
			}
			next.ServeHTTP(w, r.WithContext(withIdentity(r.Context(), identity{user: u, session: sess, hasSession: true})))
		})
	}
}

// Session returns the user and session of r's session cookie, without
// checking any CSRF token.
func (a *Auth) Session(r *http.Request) (User, Session, bool) {
	if a.sessions == nil {
		return User{}, Session{}, false
	}
	c, err := r.Cookie(SessionCookie)
	if err != nil || c.Value == "" {
		return User{}, Session{}, false
	}
	return a.sessions.Session(r.Context(), c.Value)
}

// Login checks the login form's name and password, throttled like HTTP
// Basic (ErrThrottled, unchecked and not recorded), and opens a session.
// Wrong credentials give ErrBadCredentials and a login_failed entry in the
// audit log; a success a login entry.
func (a *Auth) Login(r *http.Request, name, password string) (Session, User, error) {
	ip := clientIP(r)
	sess, u, err := a.login(r.Context(), name, password, ip)
	switch {
	case errors.Is(err, ErrThrottled):
		return Session{}, User{}, err
	case errors.Is(err, ErrBadCredentials):
		a.record(r, audit.Entry{User: name, Action: audit.LoginFailed, Detail: "dashboard: wrong user name or password"})
		return Session{}, User{}, ErrBadCredentials
	case err != nil:
		return Session{}, User{}, err
	}
	a.log.Info("dashboard login", "user", u.Name, "role", u.Role, "addr", ip)
	a.record(r, audit.Entry{User: u.Name, Role: string(u.Role), Action: audit.Login, Detail: "dashboard"})
	return sess, u, nil
}

func (a *Auth) login(ctx context.Context, name, password, ip string) (Session, User, error) {
	if a.sessions == nil || !ValidName(name) { // nothing to throttle: no such user can exist
		return Session{}, User{}, ErrBadCredentials
	}
	key := strings.ToLower(name)
	if !a.limiter.Allowed(ip, key, a.now()) {
		return Session{}, User{}, ErrThrottled
	}
	sess, u, err := a.sessions.Login(ctx, name, password)
	if errors.Is(err, ErrBadCredentials) {
		a.failed(ip, key)
	} else if err == nil {
		a.limiter.Succeeded(ip, key)
	}
	return sess, u, err
}

// Logout ends the session Pages put in r's context and records it in the
// audit log (also when ending it failed: the cookie goes anyway).
func (a *Auth) Logout(r *http.Request) error {
	id, ok := r.Context().Value(ctxKey{}).(identity)
	if !ok || !id.hasSession {
		return errors.New("logout: no session")
	}
	err := a.sessions.Logout(r.Context(), id.session.Token)
	a.record(r, audit.Entry{User: id.user.Name, Role: string(id.user.Role), Action: audit.Logout, Detail: "dashboard"})
	return err
}

// check is the throttled password check of HTTP Basic.
func (a *Auth) check(ctx context.Context, name, password, ip string) (User, error) {
	if !ValidName(name) { // nothing to throttle: no such user can exist
		return User{}, ErrBadCredentials
	}
	key := strings.ToLower(name) // the name in another case is the same user
	if !a.limiter.Allowed(ip, key, a.now()) {
		return User{}, ErrThrottled
	}
	u, ok := a.users.Check(ctx, name, password)
	if !ok {
		a.failed(ip, key)
		return User{}, ErrBadCredentials
	}
	a.limiter.Succeeded(ip, key)
	return u, nil
}

func (a *Auth) failed(ip, name string) {
	if a.limiter.Fail(ip, name, a.now()) {
		a.log.Warn("login blocked for a minute: too many failures", "user", name, "remote_ip", ip)
	}
}

// record appends to the audit log; a failure is logged loudly but does not
// refuse what was done.
func (a *Auth) record(r *http.Request, e audit.Entry) {
	if a.audit == nil {
		return
	}
	e.Addr = audit.Addr(r.RemoteAddr)
	if _, err := a.audit.Record(context.WithoutCancel(r.Context()), e); err != nil {
		a.log.Error("could not write the audit log", "action", e.Action, "user", e.User, "err", err)
	}
}

// CheckCSRF reports, in constant time, whether got is the session's CSRF
// token. An empty token never matches.
func CheckCSRF(sess Session, got string) bool {
	if sess.CSRF == "" || got == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(sess.CSRF), []byte(got)) == 1
}

// SetSessionCookie gives the client the session's cookie: HttpOnly,
// SameSite=Strict, Path=/, Secure over TLS, until the session expires.
func SetSessionCookie(w http.ResponseWriter, r *http.Request, sess Session) {
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: sess.Token, Path: "/", Expires: sess.Expires,
		MaxAge: int(time.Until(sess.Expires).Seconds()), HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
}

// ClearSessionCookie removes the session cookie.
func ClearSessionCookie(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
}

type ctxKey struct{}

type identity struct {
	user       User
	session    Session
	hasSession bool
}

func withIdentity(ctx context.Context, id identity) context.Context {
	return context.WithValue(ctx, ctxKey{}, id)
}

// FromContext returns the user Require or Pages put in ctx.
func FromContext(ctx context.Context) (User, bool) {
	id, ok := ctx.Value(ctxKey{}).(identity)
	return id.user, ok
}

// SessionFromContext returns the session Pages put in ctx.
func SessionFromContext(ctx context.Context) (Session, bool) {
	id, ok := ctx.Value(ctxKey{}).(identity)
	return id.session, ok && id.hasSession
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// clientIP is the address failed logins are counted by.
func clientIP(r *http.Request) string {
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}

func isLoopback(remote string) bool {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// writeError writes the API's JSON error, {"error": msg}.
func writeError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(map[string]string{"error": msg})
}
