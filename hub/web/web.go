// Package web is the hub's dashboard (docs/DESIGN.md §9): server-rendered French
// pages, a login form opening a session (pointage/hub/auth), and one small
// vanilla JS file that draws the figures from GET /api/v1/counts and keeps
// them live from the SSE stream /api/v1/stream. Every asset is embedded:
// the dashboard works offline, without a CDN.
//
// Sessions (pointage/hub/auth): the cookie pointage_session (HttpOnly,
// SameSite=Strict, Path=/, Secure over TLS) holds the session token; a
// page without a live session redirects to the login form. State-changing
// requests carry the session's CSRF token (form field "csrf" or header
// X-CSRF-Token). The login form, before any session exists, uses a
// double-submit cookie; logins are throttled and audited by auth.
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
	"net/http"
	"slices"

	"pointage/hub/auth"
)

// loginCookie holds the login form's double-submit token (the session
// cookie is auth.SessionCookie).
const loginCookie = "pointage_login"

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

var pages = template.Must(template.ParseFS(templateFS, "templates/*.html"))

// Options wire the dashboard.
type Options struct {
	Auth   *auth.Auth // sessions, logins (throttled, audited); nil: nobody logs in (tests)
	Logger *slog.Logger
	// SiteName is a site's display name (docs/DESIGN.md §12), for the
	// header; nil: the id. The pages' scripts read the names from
	// GET /api/v1/names (static/names.js).
	SiteName func(site string) string
}

type server struct {
	auth     *auth.Auth
	log      *slog.Logger
	siteName func(site string) string
}

// New returns the dashboard's handler, to mount at "/".
func New(opts Options) http.Handler {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.Auth == nil {
		opts.Auth = auth.New(auth.Options{Logger: opts.Logger})
	}
	if opts.SiteName == nil {
		opts.SiteName = func(site string) string { return site }
	}
	s := &server{auth: opts.Auth, log: opts.Logger, siteName: opts.SiteName}
	// A page without a session goes to the login form.
	session := opts.Auth.Pages(http.RedirectHandler("/connexion", http.StatusSeeOther))
	mux := http.NewServeMux()
	mux.Handle("GET /{$}", session(http.HandlerFunc(s.home)))
	mux.HandleFunc("GET /connexion", s.loginForm)
	mux.HandleFunc("POST /connexion", s.login)
	mux.Handle("POST /deconnexion", session(http.HandlerFunc(s.logout)))
	mux.Handle("GET /cuisine", session(s.rolePage("cuisine.html", "Cuisine", auth.RoleOffice, auth.RoleSchool, auth.RoleKitchen)))
	mux.Handle("GET /ecole", session(s.rolePage("ecole.html", "École", auth.RoleOffice, auth.RoleSchool)))
	mux.Handle("GET /appel", session(s.rolePage("appel.html", "Appel", auth.RoleOffice, auth.RoleSchool)))
	mux.Handle("GET /appareils", session(s.rolePage("appareils.html", "Appareils", auth.RoleOffice, auth.RoleSchool)))
	mux.Handle("GET /utilisateurs", session(s.rolePage("utilisateurs.html", "Utilisateurs", auth.RoleOffice)))
	mux.Handle("GET /registre", session(s.rolePage("registre.html", "Registre des inscrits", auth.RoleOffice)))
	mux.Handle("GET /jours-fermes", session(s.rolePage("jours-fermes.html", "Jours fermés", auth.RoleOffice)))
	mux.Handle("GET /ecoles", session(s.rolePage("ecoles.html", "Écoles", auth.RoleOffice)))
	static, _ := fs.Sub(staticFS, "static")
	mux.Handle("GET /static/", http.StripPrefix("/static/", cacheStatic(http.FileServerFS(static))))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.render(w, http.StatusNotFound, "notfound.html", page{Title: "Page introuvable"})
	})
	return securityHeaders(mux)
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
	User    auth.User
	CSRF    string // the session's token (logout, API writes) or the login form's
	Site    string // the site the API calls are limited to ("" = all)
	School  string // the display name of the user's site (render fills it)
	Error   string
	Name    string // login form: the name typed
	NoUsers bool
}

var roleLabels = map[auth.Role]string{auth.RoleOffice: "bureau", auth.RoleSchool: "école", auth.RoleKitchen: "cuisine"}

// RoleLabel is the French name of a role.
func (p page) RoleLabel() string { return roleLabels[p.User.Role] }

func (s *server) render(w http.ResponseWriter, status int, name string, p page) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if p.User.Site != "" {
		p.School = s.siteName(p.User.Site)
	}
	if err := pages.ExecuteTemplate(w, name, p); err != nil {
		s.log.Error("dashboard template", "page", name, "err", err)
	}
}

// home is the overview; the kitchen has its own page.
func (s *server) home(w http.ResponseWriter, r *http.Request) {
	u, _ := auth.FromContext(r.Context())
	if u.Role == auth.RoleKitchen {
		http.Redirect(w, r, "/cuisine", http.StatusSeeOther)
		return
	}
	s.render(w, http.StatusOK, "overview.html", pageFor(r, "Vue d'ensemble"))
}

// rolePage serves a page to the roles given; others are sent to their
// landing page.
func (s *server) rolePage(tmpl, title string, roles ...auth.Role) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _ := auth.FromContext(r.Context())
		if !slices.Contains(roles, u.Role) {
			http.Redirect(w, r, landing(u), http.StatusSeeOther)
			return
		}
		s.render(w, http.StatusOK, tmpl, pageFor(r, title))
	})
}

// pageFor is the page of the session auth.Pages put in r's context.
func pageFor(r *http.Request, title string) page {
	u, _ := auth.FromContext(r.Context())
	sess, _ := auth.SessionFromContext(r.Context())
	p := page{Title: title, User: u, CSRF: sess.CSRF}
	if u.Role != auth.RoleOffice {
		p.Site = u.Site
	}
	return p
}

func landing(u auth.User) string {
	if u.Role == auth.RoleKitchen {
		return "/cuisine"
	}
	return "/"
}

// loginForm shows the form with a fresh double-submit token.
func (s *server) loginForm(w http.ResponseWriter, r *http.Request) {
	if u, _, ok := s.auth.Session(r); ok {
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
	p.NoUsers = !s.auth.Any(r.Context())
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
	sess, u, err := s.auth.Login(r, name, r.PostFormValue("motdepasse"))
	switch {
	case errors.Is(err, auth.ErrThrottled):
		s.showLogin(w, r, http.StatusTooManyRequests, name, "Trop d'essais infructueux : réessayez dans une minute.")
		return
	case errors.Is(err, auth.ErrBadCredentials):
		s.showLogin(w, r, http.StatusUnauthorized, name, "Nom d'utilisateur ou mot de passe incorrect.")
		return
	case err != nil:
		s.log.Error("dashboard login", "err", err)
		s.showLogin(w, r, http.StatusInternalServerError, name, "Erreur interne : le journal du hub en dit plus.")
		return
	}
	http.SetCookie(w, &http.Cookie{Name: loginCookie, Value: "", Path: "/connexion", MaxAge: -1,
		HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
	auth.SetSessionCookie(w, r, sess)
	http.Redirect(w, r, landing(u), http.StatusSeeOther)
}

func (s *server) logout(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	sess, _ := auth.SessionFromContext(r.Context())
	if !auth.CheckCSRF(sess, r.PostFormValue("csrf")) {
		http.Error(w, "Jeton de sécurité invalide : rechargez la page.", http.StatusForbidden)
		return
	}
	if err := s.auth.Logout(r); err != nil {
		s.log.Error("dashboard logout", "err", err)
	}
	auth.ClearSessionCookie(w, r)
	http.Redirect(w, r, "/connexion", http.StatusSeeOther)
}

func randomToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}
