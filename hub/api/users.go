package api

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"pointage/hub/audit"
	"pointage/hub/auth"
	"pointage/hub/users"
	"pointage/internal/strictjson"
)

// UserAdmin is the user store as the office administers it (docs/DESIGN.md §12).
type UserAdmin interface {
	List(ctx context.Context) ([]users.User, error)
	Add(ctx context.Context, name string, role auth.Role, site, password string) (users.User, error)
	Update(ctx context.Context, name string, ch users.Change) (users.User, error)
	Remove(ctx context.Context, name string) error
}

// UserView is one user as the API shows it: never a stored password.
type UserView struct {
	Name      string     `json:"name"`
	Role      auth.Role  `json:"role"`
	Site      string     `json:"site,omitempty"`
	Disabled  bool       `json:"disabled"`
	CreatedAt time.Time  `json:"created_at"`
	LastLogin *time.Time `json:"last_login"`
}

// UsersView is GET /api/v1/users; Timezone (an addition) is the hub's,
// in which the page shows the last logins.
type UsersView struct {
	Timezone string     `json:"timezone"`
	Users    []UserView `json:"users"`
}

// UserAnswer is the answer of POST and PATCH /api/v1/users: the user, and
// the password the hub generated, shown this once.
type UserAnswer struct {
	User     UserView `json:"user"`
	Password string   `json:"password,omitempty"`
}

func userView(u users.User) UserView {
	v := UserView{Name: u.Name, Role: u.Role, Site: u.Site, Disabled: u.Disabled, CreatedAt: u.CreatedAt}
	if !u.LastLogin.IsZero() {
		t := u.LastLogin
		v.LastLogin = &t
	}
	return v
}

// registerUsers adds the users' administration, office only:
//
//	GET    /api/v1/users
//	POST   /api/v1/users          {"name","role","site"?,"password"?}  (no password: one is generated, returned once)
//	PATCH  /api/v1/users/{name}   any of {"password","generate_password","disabled","role","site"}
//	DELETE /api/v1/users/{name}
func (a *API) registerUsers(mux *http.ServeMux) {
	if a.opts.Users == nil {
		return
	}
	mux.Handle("GET /api/v1/users", a.auth(a.listUsers, auth.RoleOffice))
	mux.Handle("POST /api/v1/users", a.auth(a.addUser, auth.RoleOffice))
	mux.Handle("PATCH /api/v1/users/{name}", a.auth(a.changeUser, auth.RoleOffice))
	mux.Handle("DELETE /api/v1/users/{name}", a.auth(a.removeUser, auth.RoleOffice))
}

func (a *API) listUsers(w http.ResponseWriter, r *http.Request, _ User) {
	all, err := a.opts.Users.List(r.Context())
	v := UsersView{Timezone: a.opts.Loc.String(), Users: []UserView{}}
	for _, u := range all {
		v.Users = append(v.Users, userView(u))
	}
	a.respond(w, r, v, err)
}

// maxBody bounds a JSON body (a correction's longest field, its reason,
// is 500 characters).
const maxBody = 16 << 10

// readBody decodes a JSON object body strictly, as MQTT payloads are
// (docs/DESIGN.md §15: no duplicate key, no key in another case, no null,
// nothing after the object); it writes the error and returns false when
// it cannot.
func readBody(w http.ResponseWriter, r *http.Request, dst any) bool {
	body, ok := readRaw(w, r)
	if !ok {
		return false
	}
	if err := strictjson.Decode(body, dst, nil); err != nil {
		writeError(w, http.StatusBadRequest, "body: "+err.Error())
		return false
	}
	return true
}

// readRaw reads a body of at most maxBody bytes, and writes the 413
// otherwise.
func readRaw(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body: at most %d bytes", maxBody))
		return nil, false
	}
	return body, true
}

func (a *API) addUser(w http.ResponseWriter, r *http.Request, u User) {
	var in struct {
		Name     string    `json:"name"`
		Role     auth.Role `json:"role"`
		Site     string    `json:"site"`
		Password string    `json:"password"`
	}
	if !readBody(w, r, &in) {
		return
	}
	generated := ""
	if in.Password == "" {
		generated = users.GeneratePassword()
		in.Password = generated
	}
	added, err := a.opts.Users.Add(r.Context(), in.Name, in.Role, in.Site, in.Password)
	if err != nil {
		a.userError(w, r, err)
		return
	}
	a.record(r, u, audit.UserAdded, added.Name, "role "+string(added.Role)+", site "+cmpOr(added.Site, "-"))
	writeJSON(w, http.StatusCreated, UserAnswer{User: userView(added), Password: generated})
}

func (a *API) changeUser(w http.ResponseWriter, r *http.Request, u User) {
	var in struct {
		Password         *string    `json:"password"`
		GeneratePassword bool       `json:"generate_password"`
		Disabled         *bool      `json:"disabled"`
		Role             *auth.Role `json:"role"`
		Site             *string    `json:"site"`
	}
	if !readBody(w, r, &in) {
		return
	}
	if in.Password != nil && in.GeneratePassword {
		writeError(w, http.StatusBadRequest, "password and generate_password: give one of them")
		return
	}
	ch := users.Change{Password: in.Password, Disabled: in.Disabled, Role: in.Role, Site: in.Site}
	generated := ""
	if in.GeneratePassword {
		generated = users.GeneratePassword()
		ch.Password = &generated
	}
	name := r.PathValue("name")
	if c, err := r.Cookie(auth.SessionCookie); err == nil && strings.EqualFold(name, u.Name) {
		ch.KeepSession = c.Value // a user changing its own password stays logged in here
	}
	changed, err := a.opts.Users.Update(r.Context(), name, ch)
	if err != nil {
		a.userError(w, r, err)
		return
	}
	a.record(r, u, audit.UserChanged, changed.Name, ch.Describe())
	writeJSON(w, http.StatusOK, UserAnswer{User: userView(changed), Password: generated})
}

func (a *API) removeUser(w http.ResponseWriter, r *http.Request, u User) {
	name := r.PathValue("name")
	if err := a.opts.Users.Remove(r.Context(), name); err != nil {
		a.userError(w, r, err)
		return
	}
	a.record(r, u, audit.UserRemoved, name, "")
	w.WriteHeader(http.StatusNoContent)
}

// userError maps the user store's errors to statuses: 404 unknown, 409
// taken or the last office user, 400 invalid.
func (a *API) userError(w http.ResponseWriter, r *http.Request, err error) {
	a.fail(w, r, err, errStatus{users.ErrNotFound, http.StatusNotFound},
		errStatus{users.ErrLastOffice, http.StatusConflict}, errStatus{users.ErrExists, http.StatusConflict},
		errStatus{users.ErrInvalidName, http.StatusBadRequest}, errStatus{users.ErrInvalidRole, http.StatusBadRequest},
		errStatus{users.ErrInvalidSite, http.StatusBadRequest}, errStatus{users.ErrBadPassword, http.StatusBadRequest})
}
