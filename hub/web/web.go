// Package web is the hub's dashboard (DESIGN §9): server-rendered French
// pages, a login form opening a users.Store session, and one small vanilla
// JS file that draws the figures from GET /api/v1/counts and keeps them live
// from the SSE stream /api/v1/stream. Every asset is embedded: the
// dashboard works offline, without a CDN.
//
// Sessions: the cookie pointage_session (HttpOnly, SameSite=Strict, Path=/,
// Secure over TLS) holds the session token. State-changing requests carry
// the session's CSRF token (form field "csrf" or header X-CSRF-Token). The
// login form, before any session exists, uses a double-submit cookie.
package web

import (
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"errors"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"time"

	"pointage/hub/audit"
	"pointage/hub/users"
)

// Cookie and header names.
const (
	SessionCookie = "pointage_session"
	loginCookie   = "pointage_login"
	CSRFHeader    = "X-CSRF-Token"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

var pages = template.Must(template.ParseFS(templateFS, "templates/*.html"))

// Options wire the dashboard.
type Options struct {
	Users  *users.Store
	Audit  *audit.Log // nil: logins are not recorded (tests)
	Logger *slog.Logger
}

type server struct {
	users *users.Store
	audit *audit.Log
	log   *slog.Logger
}

// New returns the dashboard's handler, to mount at "/".
func New(opts Options) http.Handler {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s := &server{users: opts.Users, audit: opts.Audit, log: opts.Logger}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.home)
	mux.HandleFunc("GET /connexion", s.loginForm)
	mux.HandleFunc("POST /connexion", s.login)
	mux.HandleFunc("POST /deconnexion", s.logout)
	mux.HandleFunc("GET /cuisine", s.kitchen)
	mux.HandleFunc("GET /ecole", s.rolePage("ecole.html", "École", users.RoleOffice, users.RoleSchool))
	mux.HandleFunc("GET /appel", s.rolePage("appel.html", "Appel", users.RoleOffice, users.RoleSchool))
	mux.HandleFunc("GET /appareils", s.rolePage("appareils.html", "Appareils", users.RoleOffice, users.RoleSchool))
	static, _ := fs.Sub(staticFS, "static")
	mux.Handle("GET /static/", http.StripPrefix("/static/", cacheStatic(http.FileServerFS(static))))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.render(w, http.StatusNotFound, "notfound.html", page{Title: "Page introuvable"})
	})
	return securityHeaders(mux)
}

// UserFromRequest returns the user of the request's session cookie. For a
// method other than GET, HEAD or OPTIONS, the session's CSRF token must also
// be in the X-CSRF-Token header: a cookie alone never changes anything.
func UserFromRequest(store *users.Store, r *http.Request) (users.User, bool) {
	u, sess, ok := sessionOf(store, r)
	if !ok {
		return users.User{}, false
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return u, true
	}
	return u, users.CheckCSRF(sess, r.Header.Get(CSRFHeader))
}

func sessionOf(store *users.Store, r *http.Request) (users.User, users.Session, bool) {
	if store == nil {
		return users.User{}, users.Session{}, false
	}
	c, err := r.Cookie(SessionCookie)
	if err != nil || c.Value == "" {
		return users.User{}, users.Session{}, false
	}
	return store.Session(r.Context(), c.Value)
}

func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; base-uri 'none'; form-action 'self'; object-src 'none'; frame-ancestors 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		next.ServeHTTP(w, r)
	})
}

func cacheStatic(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache") // revalidate: the hub may be upgraded
		next.ServeHTTP(w, r)
	})
}

// page is what the templates see.
type page struct {
	Title   string
	User    users.User
	CSRF    string // the session's token (logout, API writes) or the login form's
	Site    string // the site the API calls are limited to ("" = all)
	Error   string
	Name    string // login form: the name typed
	NoUsers bool
}

var roleLabels = map[string]string{users.RoleOffice: "bureau", users.RoleSchool: "école", users.RoleKitchen: "cuisine"}

// RoleLabel is the French name of a role.
func (p page) RoleLabel() string { return roleLabels[p.User.Role] }

func (s *server) render(w http.ResponseWriter, status int, name string, p page) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if err := pages.ExecuteTemplate(w, name, p); err != nil {
		s.log.Error("dashboard template", "page", name, "err", err)
	}
}

func (s *server) home(w http.ResponseWriter, r *http.Request) {
	u, sess, ok := sessionOf(s.users, r)
	if !ok {
		http.Redirect(w, r, "/connexion", http.StatusSeeOther)
		return
	}
	if u.Role == users.RoleKitchen {
		http.Redirect(w, r, "/cuisine", http.StatusSeeOther)
		return
	}
	s.render(w, http.StatusOK, "overview.html", s.pageFor(u, sess, "Vue d'ensemble"))
}

func (s *server) kitchen(w http.ResponseWriter, r *http.Request) {
	u, sess, ok := sessionOf(s.users, r)
	if !ok {
		http.Redirect(w, r, "/connexion", http.StatusSeeOther)
		return
	}
	s.render(w, http.StatusOK, "cuisine.html", s.pageFor(u, sess, "Cuisine"))
}

// rolePage serves a page to the roles given; others are sent to their
// landing page.
func (s *server) rolePage(tmpl, title string, roles ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		u, sess, ok := sessionOf(s.users, r)
		if !ok {
			http.Redirect(w, r, "/connexion", http.StatusSeeOther)
			return
		}
		allowed := false
		for _, role := range roles {
			allowed = allowed || u.Role == role
		}
		if !allowed {
			http.Redirect(w, r, landing(u), http.StatusSeeOther)
			return
		}
		s.render(w, http.StatusOK, tmpl, s.pageFor(u, sess, title))
	}
}

func (s *server) pageFor(u users.User, sess users.Session, title string) page {
	p := page{Title: title, User: u, CSRF: sess.CSRF}
	if u.Role != users.RoleOffice {
		p.Site = u.Site
	}
	return p
}

func landing(u users.User) string {
	if u.Role == users.RoleKitchen {
		return "/cuisine"
	}
	return "/"
}

// loginForm shows the form with a fresh double-submit token.
func (s *server) loginForm(w http.ResponseWriter, r *http.Request) {
	if u, _, ok := sessionOf(s.users, r); ok {
		http.Redirect(w, r, landing(u), http.StatusSeeOther)
		return
	}
	s.showLogin(w, r, http.StatusOK, "", "")
}

func (s *server) showLogin(w http.ResponseWriter, r *http.Request, status int, name, msg string) {
	tok, err := randomToken()
	if err != nil {
		http.Error(w, "erreur interne", http.StatusInternalServerError)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: loginCookie, Value: tok, Path: "/connexion", MaxAge: 3600,
		HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
	p := page{Title: "Connexion", CSRF: tok, Error: msg, Name: name}
	p.NoUsers = s.users == nil || !s.users.Any(r.Context())
	s.render(w, status, "login.html", p)
}

func (s *server) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		s.showLogin(w, r, http.StatusBadRequest, "", "Formulaire illisible.")
		return
	}
	name := r.PostFormValue("nom")
	c, err := r.Cookie(loginCookie)
	got := r.PostFormValue("csrf")
	if err != nil || c.Value == "" || got == "" || subtle.ConstantTimeCompare([]byte(c.Value), []byte(got)) != 1 {
		s.showLogin(w, r, http.StatusForbidden, name, "Le formulaire a expiré : veuillez réessayer.")
		return
	}
	if s.users == nil {
		s.showLogin(w, r, http.StatusUnauthorized, name, "Nom d'utilisateur ou mot de passe incorrect.")
		return
	}
	ip, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		ip = r.RemoteAddr
	}
	sess, u, err := s.users.Login(r.Context(), name, r.PostFormValue("motdepasse"), ip)
	switch {
	case errors.Is(err, users.ErrThrottled):
		s.showLogin(w, r, http.StatusTooManyRequests, name, "Trop d'essais infructueux : réessayez dans une minute.")
		return
	case errors.Is(err, users.ErrBadCredentials):
		s.record(r, audit.Entry{User: name, Action: audit.LoginFailed, Detail: "dashboard: wrong user name or password"})
		s.showLogin(w, r, http.StatusUnauthorized, name, "Nom d'utilisateur ou mot de passe incorrect.")
		return
	case err != nil:
		s.log.Error("dashboard login", "err", err)
		s.showLogin(w, r, http.StatusInternalServerError, name, "Erreur interne : le journal du hub en dit plus.")
		return
	}
	s.log.Info("dashboard login", "user", u.Name, "role", u.Role, "addr", ip)
	s.record(r, audit.Entry{User: u.Name, Role: u.Role, Action: audit.Login, Detail: "dashboard"})
	http.SetCookie(w, &http.Cookie{Name: loginCookie, Value: "", Path: "/connexion", MaxAge: -1,
		HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: sess.Token, Path: "/", Expires: sess.Expires,
		MaxAge: int(time.Until(sess.Expires).Seconds()), HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, landing(u), http.StatusSeeOther)
}

func (s *server) logout(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	u, sess, ok := sessionOf(s.users, r)
	if !ok {
		http.Redirect(w, r, "/connexion", http.StatusSeeOther)
		return
	}
	if !users.CheckCSRF(sess, r.PostFormValue("csrf")) {
		http.Error(w, "Jeton de sécurité invalide : rechargez la page.", http.StatusForbidden)
		return
	}
	if err := s.users.Logout(r.Context(), sess.Token); err != nil {
		s.log.Error("dashboard logout", "err", err)
	}
	s.record(r, audit.Entry{User: u.Name, Role: u.Role, Action: audit.Logout, Detail: "dashboard"})
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/connexion", http.StatusSeeOther)
}

// record appends to the audit log (a failure is logged, not shown).
func (s *server) record(r *http.Request, e audit.Entry) {
	if s.audit == nil {
		return
	}
	e.Addr = audit.Addr(r.RemoteAddr)
	if _, err := s.audit.Record(r.Context(), e); err != nil {
		s.log.Error("could not write the audit log", "action", e.Action, "user", e.User, "err", err)
	}
}

func randomToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}
