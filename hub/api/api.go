package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"pointage/hub/audit"
	"pointage/hub/auth"
	"pointage/hub/corrections"
	"pointage/hub/days"
	"pointage/hub/devices"
	"pointage/hub/export"
	"pointage/hub/ingest"
	"pointage/internal/civil"
	"pointage/internal/wire"
)

// User is who makes a request.
type User = auth.User

// Ingest is what the API reads of the ingest pipeline.
type Ingest interface {
	DeviceViews(ctx context.Context) ([]ingest.DeviceView, error)
	RecentRejected(ctx context.Context, limit int) ([]ingest.Rejected, error)
}

// Corrections records corrections (*corrections.Recorder: the rules,
// the record, the read model told, the audit log) and lists them.
type Corrections interface {
	Record(ctx context.Context, by corrections.Author, c corrections.Correction) (corrections.Correction, error)
	List(ctx context.Context, f corrections.Filter) ([]corrections.Correction, error)
}

// Days computes the figures of local days.
type Days interface {
	// Counts returns the counts of docs/DESIGN.md §9 for a day (site "" = every
	// known site); days.ErrUnknownSite when site is not known.
	Counts(ctx context.Context, day civil.Date, site string) (days.CountsView, error)
	// Events returns the events of docs/DESIGN.md §9 for a site and day.
	Events(ctx context.Context, day civil.Date, site string, withNames bool) (days.EventsView, error)
	// UnknownBadges lists badges not in the roster seen that day.
	UnknownBadges(ctx context.Context, day civil.Date, site string) (days.UnknownBadgesView, error)
	// Today is the current local day.
	Today() civil.Date
	// Changed returns a channel closed at the next change of figures.
	Changed() <-chan struct{}
	// Export computes a month's export rows.
	Export(ctx context.Context, kind export.Kind, month, site string, progress func(done, total int)) (export.Export, error)
	// PersonHistory returns what the hub holds about one person over the
	// days from..to: days.ErrUnknownPerson, days.ErrBadRange.
	PersonHistory(ctx context.Context, personID string, from, to civil.Date) (*days.PersonHistory, error)
}

// Options wire the API.
type Options struct {
	Auth        *auth.Auth // who makes each request (docs/DESIGN.md §9); nil: no user yet, loopback only
	Ingest      Ingest
	Corrections Corrections
	Users       UserAdmin      // nil: no users' administration (tests)
	Devices     DeviceAdmin    // nil: no devices' administration, GET /api/v1/devices from ingest only (tests)
	Roster      RosterImports  // nil: no roster import over HTTP (tests)
	ClosedDays  ClosedDays     // nil: no closed days' administration (tests)
	Names       Names          // nil: no display names (tests)
	Loc         *time.Location // the hub's time zone (--timezone); default UTC
	Days        Days
	School      SchoolDays // the school and roll-call pages' data (school.go)
	Charts      ChartDays  // the devices page, alerts and charts (charts.go)
	Audit       *audit.Log // nil: nothing recorded (tests)
	Backups     Backups    // nil: no scheduled backups (no --backup-dir)
	Fleet       Fleet      // nil: no enrolment nor remote reader lists (tests)
	Version     string     // the hub's release (devices behind it are marked)
	// PublicMQTTURL is the MQTT URL enrolled agents are given
	// (--public-mqtt-url); "" derives it from the host the agent reached
	// the API by and the embedded broker's MQTTPort (or MQTTTLSPort: ssl).
	PublicMQTTURL, MQTTPort, MQTTTLSPort string
	Logger                               *slog.Logger
	Now                                  func() time.Time
}

// API serves /api/v1.
type API struct {
	opts Options
	log  *slog.Logger
	// exporting allows one export at a time: a citywide XLSX month takes
	// about 600 MB while it is written (docs/BENCHMARKS.md).
	exporting chan struct{}
	// enrolLimiter bounds failed enrolments per address (fleet.go).
	enrolLimiter *auth.Limiter
}

// New returns the API handler set.
func New(opts Options) *API {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Loc == nil {
		opts.Loc = time.UTC
	}
	if opts.Auth == nil {
		opts.Auth = auth.New(auth.Options{Logger: opts.Logger})
	}
	return &API{opts: opts, log: opts.Logger, exporting: make(chan struct{}, 1), enrolLimiter: auth.NewLimiter(enrolLimit)}
}

// Register adds the API's routes to mux.
func (a *API) Register(mux *http.ServeMux) {
	d := a.opts.Days
	mux.Handle("GET /api/v1/counts", a.auth(dayQuery(a, false, func(ctx context.Context, day civil.Date, site string, _ User) (days.CountsView, error) {
		return d.Counts(ctx, day, site)
	}), auth.RoleOffice, auth.RoleSchool, auth.RoleKitchen))
	mux.Handle("GET /api/v1/events", a.auth(dayQuery(a, true, func(ctx context.Context, day civil.Date, site string, u User) (days.EventsView, error) {
		return d.Events(ctx, day, site, u.Role != auth.RoleKitchen)
	}), auth.RoleOffice, auth.RoleSchool))
	mux.Handle("GET /api/v1/unknown-badges", a.auth(dayQuery(a, false, func(ctx context.Context, day civil.Date, site string, _ User) (days.UnknownBadgesView, error) {
		return d.UnknownBadges(ctx, day, site)
	}), auth.RoleOffice, auth.RoleSchool))
	mux.Handle("GET /api/v1/devices", a.auth(a.devices, auth.RoleOffice, auth.RoleSchool))
	mux.Handle("GET /api/v1/rejected", a.auth(a.rejected, auth.RoleOffice))
	mux.Handle("GET /api/v1/corrections", a.auth(a.listCorrections, auth.RoleOffice, auth.RoleSchool))
	mux.Handle("POST /api/v1/corrections", a.auth(a.addCorrection, auth.RoleOffice, auth.RoleSchool))
	mux.Handle("GET /api/v1/export", a.auth(a.export, auth.RoleOffice, auth.RoleSchool))
	mux.Handle("GET /api/v1/stream", a.auth(a.stream, auth.RoleOffice, auth.RoleSchool, auth.RoleKitchen))
	a.registerSchool(mux)
	a.registerCharts(mux)
	a.registerPrivacy(mux)
	a.registerUsers(mux)
	a.registerDevices(mux)
	a.registerRoster(mux)
	a.registerClosedDays(mux)
	a.registerNames(mux)
	a.registerBackup(mux)
	a.registerFleet(mux)
	mux.Handle("/api/v1/", a.auth(func(w http.ResponseWriter, r *http.Request, _ User) {
		writeError(w, http.StatusNotFound, "no such API endpoint: "+r.Method+" "+r.URL.Path)
	}, auth.RoleOffice, auth.RoleSchool, auth.RoleKitchen))
}

type handler func(w http.ResponseWriter, r *http.Request, u User)

// auth applies docs/DESIGN.md §9 (auth.Auth.Require) and lets the roles given
// use h.
func (a *API) auth(h handler, roles ...auth.Role) http.Handler {
	return a.opts.Auth.Require(roles...)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _ := auth.FromContext(r.Context())
		h(w, r, u)
	}))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

// day reads ?date=YYYY-MM-DD (default today).
func (a *API) day(r *http.Request) (civil.Date, error) {
	s := r.URL.Query().Get("date")
	if s == "" {
		return a.opts.Days.Today(), nil
	}
	d, err := civil.ParseDate(s)
	if err != nil {
		return civil.Date{}, errors.New("date: want YYYY-MM-DD, like 2026-11-28")
	}
	return d, nil
}

// siteParam reads ?site= and applies the user's own site: a school user
// always has one, a kitchen user may (a school's own kitchen).
func siteParam(r *http.Request, u User, required bool) (string, int, string) {
	site := r.URL.Query().Get("site")
	if site != "" && !wire.ValidSiteOrDevice(site) {
		return "", http.StatusBadRequest, "site: not a site id"
	}
	if u.Role == auth.RoleSchool || (u.Role == auth.RoleKitchen && u.Site != "") {
		if site == "" {
			site = u.Site
		}
		if site != u.Site {
			return "", http.StatusForbidden, "your account is limited to site " + u.Site
		}
	}
	if required && site == "" {
		return "", http.StatusBadRequest, "site: required (like ?site=jules-ferry)"
	}
	return site, 0, ""
}

// dayQuery is a GET of one local day's figures: ?date= and ?site= are
// checked, then f answers with the view T.
func dayQuery[T any](a *API, siteRequired bool, f func(ctx context.Context, day civil.Date, site string, u User) (T, error)) handler {
	return func(w http.ResponseWriter, r *http.Request, u User) {
		day, err := a.day(r)
		if err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		site, status, msg := siteParam(r, u, siteRequired)
		if status != 0 {
			writeError(w, status, msg)
			return
		}
		v, err := f(r.Context(), day, site, u)
		a.respond(w, r, v, err)
	}
}

// respond writes v, or err mapped to a status: days.ErrUnknownSite is a
// 404, an unknown error a 500 (logged).
func (a *API) respond(w http.ResponseWriter, r *http.Request, v any, err error) {
	switch {
	case errors.Is(err, days.ErrUnknownSite):
		writeError(w, http.StatusNotFound, err.Error())
	case err != nil:
		a.log.Error("api request failed", "path", r.URL.Path, "err", err)
		writeError(w, http.StatusInternalServerError, "internal error; the hub's log says more")
	default:
		writeJSON(w, http.StatusOK, v)
	}
}

// errStatus is the status of the errors that wrap one sentinel.
type errStatus struct {
	target error
	status int
}

// fail writes err with the status of the first of known it wraps, its
// message as the JSON error; any other error goes to respond (404 for an
// unknown site, else 500 and the log).
func (a *API) fail(w http.ResponseWriter, r *http.Request, err error, known ...errStatus) {
	for _, k := range known {
		if errors.Is(err, k.target) {
			writeError(w, k.status, err.Error())
			return
		}
	}
	a.respond(w, r, nil, err)
}

// The bodies of the endpoints whose data is not the read model's.
type (
	// DevicesView is GET /api/v1/devices.
	DevicesView struct {
		// Now is the hub's time of the answer (an addition): the page shows
		// it, and tells today's times from older ones, on the hub's clock.
		Now     string       `json:"now"`
		Devices []DeviceView `json:"devices"`
		// HubVersion (an addition) is the hub's release: a device whose
		// agent runs an older one is marked version_behind.
		HubVersion string `json:"hub_version"`
	}
	// RejectedView is GET /api/v1/rejected.
	RejectedView struct {
		Rejected []ingest.Rejected `json:"rejected"`
	}
	// CorrectionsView is GET /api/v1/corrections.
	CorrectionsView struct {
		Corrections []corrections.Correction `json:"corrections"`
	}
	// AuditView is GET /api/v1/audit.
	AuditView struct {
		Entries []audit.Entry `json:"entries"`
	}
)

func (a *API) devices(w http.ResponseWriter, r *http.Request, u User) {
	site, status, msg := siteParam(r, u, false)
	if status != 0 {
		writeError(w, status, msg)
		return
	}
	views, err := a.opts.Ingest.DeviceViews(r.Context())
	if err != nil {
		a.respond(w, r, nil, err)
		return
	}
	var registered []devices.Device
	if a.opts.Devices != nil {
		if registered, err = a.opts.Devices.List(r.Context()); err != nil {
			a.respond(w, r, nil, err)
			return
		}
	}
	out := DevicesView{Now: a.opts.Now().In(a.opts.Loc).Format(wire.AtLayout), Devices: []DeviceView{}, HubVersion: a.opts.Version}
	var versions map[string]int64
	if a.opts.Fleet != nil {
		versions = a.opts.Fleet.Versions()
	}
	for _, v := range withRegistry(views, registered) {
		v.VersionBehind = VersionBehind(v.Version, a.opts.Version)
		v.HubConfigVersion = versions[v.Device]
		if site == "" || v.Site == site {
			out.Devices = append(out.Devices, v)
		}
	}
	a.respond(w, r, out, nil)
}

func (a *API) rejected(w http.ResponseWriter, r *http.Request, _ User) {
	limit := 100
	if s := r.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1000 {
			writeError(w, http.StatusBadRequest, "limit: a number from 1 to 1000")
			return
		}
		limit = n
	}
	rej, err := a.opts.Ingest.RecentRejected(r.Context(), limit)
	if rej == nil {
		rej = []ingest.Rejected{}
	}
	a.respond(w, r, RejectedView{Rejected: rej}, err)
}

func (a *API) listCorrections(w http.ResponseWriter, r *http.Request, u User) {
	site, status, msg := siteParam(r, u, false)
	if status != 0 {
		writeError(w, status, msg)
		return
	}
	q := r.URL.Query()
	for _, k := range []string{"from", "to"} {
		if v := q.Get(k); v != "" {
			if _, err := civil.ParseDate(v); err != nil {
				writeError(w, http.StatusBadRequest, k+": want YYYY-MM-DD")
				return
			}
		}
	}
	if f, t := q.Get("from"), q.Get("to"); f != "" && t != "" && t < f {
		writeError(w, http.StatusBadRequest, "to is before from")
		return
	}
	list, err := a.opts.Corrections.List(r.Context(), corrections.Filter{Site: site, From: q.Get("from"), To: q.Get("to")})
	a.respond(w, r, CorrectionsView{Corrections: list}, err)
}

func (a *API) addCorrection(w http.ResponseWriter, r *http.Request, u User) {
	var c corrections.Correction
	if !readBody(w, r, &c) {
		return
	}
	by := corrections.Author{User: u, Addr: audit.Addr(r.RemoteAddr)}
	saved, err := a.opts.Corrections.Record(r.Context(), by, c)
	var refusal *corrections.Refusal
	switch {
	case errors.As(err, &refusal):
		writeError(w, refusalStatus[refusal.Kind], refusal.Msg)
	case err != nil:
		a.respond(w, r, nil, err)
	case saved.Replay: // sent again (a lost answer, a tablet back online): recorded once
		writeJSON(w, http.StatusOK, saved)
	default:
		writeJSON(w, http.StatusCreated, saved)
	}
}

var refusalStatus = map[corrections.RefusalKind]int{
	corrections.Forbidden:      http.StatusForbidden,
	corrections.Invalid:        http.StatusBadRequest,
	corrections.ClientIDReused: http.StatusConflict,
}

// stream sends the day's counts now and at every change, as server-sent
// events (event: counts), with a comment every 15 s to keep proxies open.
func (a *API) stream(w http.ResponseWriter, r *http.Request, u User) {
	site, status, msg := siteParam(r, u, false)
	if status != 0 {
		writeError(w, status, msg)
		return
	}
	flusher, ok := w.(http.Flusher)
	if !ok {
		writeError(w, http.StatusInternalServerError, "streaming unsupported")
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	keep := time.NewTicker(15 * time.Second)
	defer keep.Stop()
	for {
		changed := a.opts.Days.Changed()
		v, err := a.opts.Days.Counts(r.Context(), a.opts.Days.Today(), site)
		if err != nil {
			return
		}
		b, _ := json.Marshal(v)
		if _, err := io.WriteString(w, "event: counts\ndata: "+string(b)+"\n\n"); err != nil {
			return
		}
		flusher.Flush()
	wait:
		for {
			select {
			case <-r.Context().Done():
				return
			case <-keep.C:
				io.WriteString(w, ": keep-alive\n\n")
				flusher.Flush()
			case <-changed:
				break wait
			}
		}
		// Coalesce bursts: at most one update a second.
		select {
		case <-r.Context().Done():
			return
		case <-time.After(time.Second):
		}
	}
}

// export serves a month's export: ?kind=meals|garderie|staff&month=YYYY-MM
// [&site=S][&format=csv|xlsx] (csv by default).
func (a *API) export(w http.ResponseWriter, r *http.Request, u User) {
	q := r.URL.Query()
	kind := export.Kind(q.Get("kind"))
	if !kind.Valid() {
		writeError(w, http.StatusBadRequest, "kind: want meals, garderie or staff")
		return
	}
	if _, err := a.month(r); err != nil || q.Get("month") == "" { // year 0000 parses, and no day of it exists
		writeError(w, http.StatusBadRequest, "month: want YYYY-MM, like 2026-11")
		return
	}
	format := q.Get("format")
	if format == "" {
		format = export.FormatCSV
	}
	if !export.ValidFormat(format) {
		writeError(w, http.StatusBadRequest, "format: want csv or xlsx")
		return
	}
	site, status, msg := siteParam(r, u, false)
	if status != 0 {
		writeError(w, status, msg)
		return
	}
	select {
	case a.exporting <- struct{}{}:
		defer func() { <-a.exporting }()
	default:
		w.Header().Set("Retry-After", "30")
		writeError(w, http.StatusTooManyRequests, "another export is being written; try again in a minute (or use pointage-hub export on the server)")
		return
	}
	defer duringExport()()
	e, err := a.opts.Days.Export(r.Context(), kind, q.Get("month"), site, nil)
	if err != nil {
		if errors.Is(err, days.ErrUnknownSite) {
			writeError(w, http.StatusNotFound, err.Error())
			return
		}
		if strings.Contains(err.Error(), "want YYYY-MM") {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		a.respond(w, r, nil, err)
		return
	}
	w.Header().Set("Content-Type", export.ContentType(format))
	w.Header().Set("Content-Disposition", `attachment; filename="`+export.FileName(e, format)+`"`)
	a.log.Info("export", "kind", kind, "month", e.Month, "site", site, "rows", e.Len(), "user", u.Name)
	a.record(r, u, audit.Export, string(kind)+" "+e.Month+" "+cmpOr(site, "all sites"), fmt.Sprintf("%s, %d rows", format, e.Len()))
	defer func() { go releaseMemory() }()
	if err := export.WriteTo(w, format, e, nil); err != nil {
		a.log.Error("export failed while writing", "err", err)
	}
}
