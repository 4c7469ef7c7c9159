package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"pointage/hub/api"
	"pointage/hub/audit"
	"pointage/hub/auth"
	"pointage/hub/corrections"
	"pointage/hub/counts"
	"pointage/hub/days"
	"pointage/hub/db"
	"pointage/hub/export"
	"pointage/hub/ingest"
	"pointage/internal/civil"
	"pointage/internal/testenv"
	"pointage/internal/wire"
)

// The fakes below answer like the real services for known sites and
// people, and hold the API to its side of the contract: every parameter
// it passes on has been checked (a real day, a site id, a month, a limit
// in range). A parameter the API should have refused comes back as a
// plain error, which the API turns into a 500: the fuzz target fails.

var fzSites = map[string]bool{"jules-ferry": true, "pasteur": true}

var errUnchecked = errors.New("the API passed an unchecked parameter")

func fzDay(day civil.Date) error {
	if !day.Valid() {
		return fmt.Errorf("%w: day %v", errUnchecked, day)
	}
	return nil
}

func fzSite(site string) error {
	if site == "" {
		return nil
	}
	if !wire.ValidSiteOrDevice(site) {
		return fmt.Errorf("%w: site %q", errUnchecked, site)
	}
	if !fzSites[site] {
		return fmt.Errorf("%w: %q", days.ErrUnknownSite, site)
	}
	return nil
}

// fzDaySite checks what the API hands the read model, and answers a view
// of type T that says which day and site it was asked for.
func fzDaySite[T any](day civil.Date, site string, view func(day, site string) T) (T, error) {
	var zero T
	if err := fzDay(day); err != nil {
		return zero, err
	}
	if err := fzSite(site); err != nil {
		return zero, err
	}
	return view(day.String(), site), nil
}

type fzDays struct{}

func (fzDays) Counts(_ context.Context, day civil.Date, site string) (days.CountsView, error) {
	return fzDaySite(day, site, func(d, _ string) days.CountsView { return days.CountsView{Date: d, Sites: []counts.Result{}} })
}
func (fzDays) Events(_ context.Context, day civil.Date, site string, _ bool) (days.EventsView, error) {
	if site == "" {
		return days.EventsView{}, fmt.Errorf("%w: events without a site", errUnchecked)
	}
	return fzDaySite(day, site, func(d, s string) days.EventsView { return days.EventsView{Date: d, Site: s} })
}
func (fzDays) UnknownBadges(_ context.Context, day civil.Date, site string) (days.UnknownBadgesView, error) {
	return fzDaySite(day, site, func(d, _ string) days.UnknownBadgesView { return days.UnknownBadgesView{Date: d} })
}
func (fzDays) Today() civil.Date        { return civil.Date{Year: 2026, Month: time.November, Day: 28} }
func (fzDays) Changed() <-chan struct{} { return make(chan struct{}) }
func (fzDays) Export(_ context.Context, kind export.Kind, month, site string, _ func(done, total int)) (export.Export, error) {
	m, err := civil.ParseMonth(month)
	if err != nil {
		return export.Export{}, err // as days.Service.Export
	}
	if err := fzDay(m.First()); err != nil {
		return export.Export{}, err
	}
	if !kind.Valid() {
		return export.Export{}, fmt.Errorf("%w: kind %q", errUnchecked, kind)
	}
	if err := fzSite(site); err != nil {
		return export.Export{}, err
	}
	return export.Export{Kind: kind, Month: month, Site: site, Loc: time.UTC}, nil
}
func (fzDays) PersonHistory(_ context.Context, personID string, from, to civil.Date) (*days.PersonHistory, error) {
	if err := errors.Join(fzDay(from), fzDay(to)); err != nil {
		return nil, err
	}
	if to.Before(from) || from.AddDays(731).Before(to) {
		return nil, fmt.Errorf("%w: reversed or too long", days.ErrBadRange)
	}
	if personID != "E001" {
		return nil, fmt.Errorf("%w: %q", days.ErrUnknownPerson, personID)
	}
	return &days.PersonHistory{PersonID: personID}, nil
}

// SchoolDays and ChartDays.
func (fzDays) School(_ context.Context, day civil.Date, site string) (days.SchoolView, error) {
	return fzDaySite(day, site, func(d, s string) days.SchoolView { return days.SchoolView{Date: d, Site: s} })
}
func (fzDays) People(_ context.Context, day civil.Date, site string) (days.PeopleView, error) {
	return fzDaySite(day, site, func(d, s string) days.PeopleView { return days.PeopleView{Date: d, Site: s} })
}
func (fzDays) Alerts(_ context.Context, _ []ingest.DeviceView, site string) (days.AlertsView, error) {
	return fzDaySite(civil.Date{Year: 2026, Month: time.November, Day: 28}, site, func(string, string) days.AlertsView { return days.AlertsView{} })
}
func (fzDays) DaySeries(_ context.Context, day civil.Date, site string, _ bool) (days.DaySeriesView, error) {
	return fzDaySite(day, site, func(d, s string) days.DaySeriesView { return days.DaySeriesView{Date: d, Site: s} })
}
func (fzDays) MonthSeries(_ context.Context, first civil.Date, site string) (days.MonthSeriesView, error) {
	if first.Day != 1 {
		return days.MonthSeriesView{}, fmt.Errorf("%w: month starting %v", errUnchecked, first)
	}
	return fzDaySite(first, site, func(_, s string) days.MonthSeriesView { return days.MonthSeriesView{Site: s} })
}

type fzIngest struct{}

func (fzIngest) Sequences() []ingest.SequenceState                        { return nil }
func (fzIngest) DeviceViews(context.Context) ([]ingest.DeviceView, error) { return nil, nil }
func (fzIngest) RecentRejected(_ context.Context, limit int) ([]ingest.Rejected, error) {
	if limit < 1 || limit > 1000 {
		return nil, fmt.Errorf("%w: limit %d", errUnchecked, limit)
	}
	return nil, nil
}
func (fzIngest) DeclareLost(context.Context, string, string, string, uint64, uint64, string) error {
	return errors.New("not in this test")
}

type fzCorrections struct{}

func (fzCorrections) Record(_ context.Context, _ corrections.Author, c corrections.Correction) (corrections.Correction, error) {
	return c, nil
}
func (fzCorrections) List(_ context.Context, f corrections.Filter) ([]corrections.Correction, error) {
	for _, d := range []string{f.From, f.To} {
		if d == "" {
			continue
		}
		if _, err := civil.ParseDate(d); err != nil {
			return nil, fmt.Errorf("%w: %v", errUnchecked, err)
		}
	}
	return []corrections.Correction{}, fzSite(f.Site)
}

// fzUsers: the password is the user name.
type fzUsers map[string]api.User

func (u fzUsers) Any(context.Context) bool { return true }
func (u fzUsers) Check(_ context.Context, name, pass string) (api.User, bool) {
	x, ok := u[name]
	return x, ok && pass == name
}

var fzRoles = []string{"bureau", "ecole", "cuisine", "cuisjf"}

// fzEndpoints are the API's GET endpoints (and the correction POST, which
// gets no body here), for the seeds.
var fzEndpoints = []string{
	"/api/v1/counts", "/api/v1/events", "/api/v1/unknown-badges", "/api/v1/devices", "/api/v1/rejected",
	"/api/v1/corrections", "/api/v1/export", "/api/v1/stream", "/api/v1/school", "/api/v1/people",
	"/api/v1/alerts", "/api/v1/series/day", "/api/v1/series/month", "/api/v1/people/E001/history", "/api/v1/audit",
}

func fzHandler(f *testing.F) http.Handler {
	ctx := context.Background()
	// The audit log fsyncs each entry: on tmpfs that costs nothing and the
	// fuzzer runs ten times faster.
	dir := testenv.FastDir(f)
	sqlDB, err := db.OpenMigrated(ctx, filepath.Join(dir, "hub.db"))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { sqlDB.Close() })
	log, err := audit.New(ctx, sqlDB, time.Now)
	if err != nil {
		f.Fatal(err)
	}
	a := api.New(api.Options{
		Auth: auth.New(auth.Options{Audit: log, Users: fzUsers{
			"bureau":  {Name: "bureau", Role: "office"},
			"ecole":   {Name: "ecole", Role: "school", Site: "jules-ferry"},
			"cuisine": {Name: "cuisine", Role: "kitchen"},
			"cuisjf":  {Name: "cuisjf", Role: "kitchen", Site: "jules-ferry"},
		}}),
		Ingest: fzIngest{}, Corrections: fzCorrections{}, Days: fzDays{},
		School: fzDays{}, Charts: fzDays{}, Audit: log, Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})),
	})
	mux := http.NewServeMux()
	a.Register(mux)
	return mux
}

// flushCancels ends the request at its first flush: /stream returns after
// its first event instead of streaming on.
type flushCancels struct {
	*httptest.ResponseRecorder
	cancel func()
}

func (w flushCancels) Flush() { w.ResponseRecorder.Flush(); w.cancel() }

// FuzzAPIQuery sends any method, path and query to the API as any of its
// roles: never a 5xx, never a panic, and every 4xx is a JSON
// {"error": "..."} saying what is wrong.
func FuzzAPIQuery(f *testing.F) {
	queries := []string{"", "date=2026-11-28", "date=0000-01-01", "date=2026-02-30", "site=jules-ferry", "site=nowhere",
		"site=Bad%20Site", "date=9999-12-31&site=pasteur", "limit=100000", "limit=-1", "from=2000-01-01&to=2026-11-28",
		"from=2026-11-30&to=2026-11-01", "kind=meals&month=0000-01", "kind=staff&month=2026-11&format=xlsx", "month=1999-12",
		"date=%zz", "site=jules-ferry&site=pasteur", "from=0001-01-01&to=9999-12-31&limit=1000"}
	for i, p := range fzEndpoints {
		for j, q := range queries {
			if (i+j)%7 == 0 {
				f.Add("GET", p, q, uint8(i+j))
			}
		}
	}
	f.Add("GET", "/api/v1/export", "kind=meals&month=0000-01", uint8(0)) // was a 500
	f.Add("GET", "/api/v1/counts", "date=0000-01-01", uint8(0))          // was a 500
	f.Add("POST", "/api/v1/counts", "", uint8(0))
	f.Add("GET", "/api/v1/people/%00/history", "", uint8(0))
	f.Add("GET", "/api/v1/../counts", "date=2026-11-28", uint8(1))
	h := fzHandler(f)
	f.Fuzz(func(t *testing.T, method, path, rawQuery string, role uint8) {
		if method == "" || strings.ContainsAny(method, " \t\r\n/") || len(method) > 16 {
			method = "GET"
		}
		if !strings.HasPrefix(path, "/") {
			path = "/" + path
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		req := httptest.NewRequest("GET", "/", nil).WithContext(ctx)
		req.Method = method
		req.URL = &url.URL{Path: path, RawQuery: rawQuery}
		req.RequestURI = req.URL.RequestURI()
		user := fzRoles[int(role)%len(fzRoles)]
		req.SetBasicAuth(user, user)
		rec := httptest.NewRecorder()
		h.ServeHTTP(flushCancels{rec, cancel}, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %s?%s as %s: %d %s", method, path, rawQuery, user, rec.Code, rec.Body)
		}
		if rec.Code >= 400 && strings.HasPrefix(path, "/api/v1/") {
			var body struct {
				Error string `json:"error"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Error == "" {
				t.Fatalf("%s %s?%s as %s: %d without a JSON error: %q", method, path, rawQuery, user, rec.Code, rec.Body)
			}
			if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Fatalf("%s %s?%s: error with Content-Type %q", method, path, rawQuery, ct)
			}
		}
	})
}
