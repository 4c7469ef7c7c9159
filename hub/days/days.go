// Package days computes the figures of a local day for the API, the
// dashboard and the exports: it reads the day's events from the store
// (explicit UTC bounds of the site's local day), the roster valid that day,
// the corrections and the calendar, and hands them to the pure counting
// rules of package counts.
package days

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"pointage/hub/calendar"
	"pointage/hub/changes"
	"pointage/hub/corrections"
	"pointage/hub/counts"
	"pointage/hub/export"
	"pointage/hub/roster"
	"pointage/hub/store"
	"pointage/internal/civil"
)

// Options wire a Service.
type Options struct {
	Store       store.Store
	Roster      *roster.Roster
	Corrections *corrections.Store
	Calendar    Calendar // nil: no closed day
	Loc         *time.Location
	Now         func() time.Time
	// Sessions returns a site's garderie sessions (nil: the defaults).
	Sessions func(site string) []counts.Session
	// KnownSites lists the sites of registered devices and sequences.
	KnownSites func(ctx context.Context) ([]string, error)
	// Changes is the hub's change feed: the service takes the stored events
	// from it (Stored) and tells it of corrections (nil: a feed of its own).
	Changes *changes.Feed
	Logger  *slog.Logger
	// DB is hub.db, for the day cache of export rows (daycache.go); nil:
	// no cache, every export counts its days.
	DB *sql.DB
	// Names, if set, gives the display names an export shows beside the
	// ids (export.Names; docs/DESIGN.md §12).
	Names func(ctx context.Context) (*export.Names, error)
	// ConfigKey changes when the configuration the figures depend on
	// changes (time zone, calendar, sites): cached days are then recounted.
	ConfigKey string
}

// Calendar is the closed days the figures follow (*calendar.Store: the
// configuration's file and the dashboard's entries).
type Calendar interface {
	Closed(site string, day civil.Date) (bool, string)
	// Stamp changes when what closes day changes while the hub runs (a
	// closed day added or removed in the dashboard): figures of day
	// computed under another stamp are stale, in memory and in hub.db.
	Stamp(day civil.Date) string
}

// Service is the read model, assembled from three parts with one job
// each (their methods are the Service's):
//   - Computer: a local day's figures (Compute), today's kept up to date
//     event by event (the live tally: live.go), recent days in memory;
//   - Cache: past days' counts and export rows kept in hub.db (daycache.go);
//   - Views: what the API, the dashboard, the exports and retention read
//     (views.go: counts, events, unknown badges; school.go; series.go;
//     alerts.go; history.go; month.go: exports; aggregate.go: retention).
type Service struct {
	*Computer
	*Cache
	*Views
}

// Computer computes local days' figures.
type Computer struct {
	opts *Options
	log  *slog.Logger

	corrGen atomic.Uint64 // counts the corrections recorded

	cacheMu sync.Mutex
	cache   map[civil.Date]*cached

	live live
}

// Cache keeps past days' figures in hub.db.
type Cache struct {
	opts *Options
	log  *slog.Logger
	comp *Computer
	dc   dayCache
}

// Views builds the read model's views from the Computer and the Cache.
type Views struct {
	opts  *Options
	comp  *Computer
	cache *Cache
	past  pastDays // the month series' past days (series.go)
}

// cached is a computed day (every site), valid until the next change of
// figures, and for today at most todayTTL (presence moves with the clock).
type cached struct {
	day     *Day
	changed <-chan struct{}
	at      time.Time
	stamp   string // the calendar's Stamp of the day
}

const (
	todayTTL   = 5 * time.Second
	cacheLimit = 8
)

// New returns a Service.
func New(opts Options) *Service {
	if opts.Loc == nil {
		opts.Loc = time.UTC
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.Changes == nil {
		opts.Changes = changes.New()
	}
	if opts.Calendar == nil {
		opts.Calendar = (*calendar.Store)(nil) // closes nothing
	}
	o := &opts
	comp := &Computer{opts: o, log: opts.Logger, cache: map[civil.Date]*cached{}}
	cache := &Cache{opts: o, log: opts.Logger, comp: comp}
	views := &Views{opts: o, comp: comp, cache: cache, past: pastDays{days: map[civil.Date]pastDay{}}}
	s := &Service{Computer: comp, Cache: cache, Views: views}
	opts.Changes.OnStored(s.Stored)
	return s
}

// Stored takes events just stored (from the change feed): past days'
// cached rows they change are made stale, and today's are counted.
func (s *Service) Stored(evs []store.Event) {
	s.Cache.stored(evs)
	s.Computer.Stored(evs)
}

// Today is the current local day.
func (s *Computer) Today() civil.Date { return civil.DateOf(s.opts.Now().In(s.opts.Loc)) }

// Bounds returns the UTC instants [from, to) of a local day.
func (s *Computer) Bounds(day civil.Date) (time.Time, time.Time) {
	return day.In(s.opts.Loc).UTC(), day.AddDays(1).In(s.opts.Loc).UTC()
}

// Changed returns a channel closed at the next change of figures (an event
// stored, a status, a correction).
func (s *Computer) Changed() <-chan struct{} { return s.opts.Changes.Changed() }

// Corrected tells the service a correction was recorded.
func (s *Computer) Corrected() {
	s.corrGen.Add(1)
	s.opts.Changes.Notify()
}

// sites returns every known site: roster, devices, sequences, and the
// events and corrections of the day.
func (s *Computer) sites(ctx context.Context, evs []store.Event, corrs []corrections.Correction) ([]string, error) {
	set := map[string]bool{}
	all, err := s.opts.Roster.Sites(ctx)
	if err != nil {
		return nil, err
	}
	for _, x := range all {
		set[x] = true
	}
	if s.opts.KnownSites != nil {
		more, err := s.opts.KnownSites(ctx)
		if err != nil {
			return nil, err
		}
		for _, x := range more {
			set[x] = true
		}
	}
	for _, e := range evs {
		set[e.Site] = true
	}
	for _, c := range corrs {
		set[c.Site] = true
	}
	out := make([]string, 0, len(set))
	for x := range set {
		out = append(out, x)
	}
	sort.Strings(out)
	return out, nil
}

// Day is the computed figures of every requested site for one day.
type Day struct {
	Date     civil.Date
	Sites    []string
	Results  map[string]counts.Result
	Snapshot *roster.Snapshot
}

// Compute computes a day for one site ("" = every known site). Every site
// is computed (the cross-site checks need them all) and kept until the
// figures change, so repeated requests (dashboards, the live stream) cost
// little.
func (s *Computer) Compute(ctx context.Context, day civil.Date, site string) (*Day, error) {
	all, err := s.computeAll(ctx, day)
	if err != nil {
		return nil, err
	}
	if site == "" {
		return all, nil
	}
	if _, ok := all.Results[site]; !ok {
		// Known since the day was cached (a device registered)? Count again.
		known, err := s.sites(ctx, nil, nil)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(known, site) {
			return nil, fmt.Errorf("%w: %q (no roster entry, device or event)", ErrUnknownSite, site)
		}
		s.cacheMu.Lock()
		delete(s.cache, day)
		s.cacheMu.Unlock()
		if all, err = s.computeAll(ctx, day); err != nil {
			return nil, err
		}
		if _, ok := all.Results[site]; !ok {
			return nil, fmt.Errorf("%w: %q (no roster entry, device or event)", ErrUnknownSite, site)
		}
	}
	return &Day{Date: all.Date, Sites: []string{site}, Results: map[string]counts.Result{site: all.Results[site]}, Snapshot: all.Snapshot}, nil
}

func (s *Computer) computeAll(ctx context.Context, day civil.Date) (*Day, error) {
	now := s.opts.Now()
	s.cacheMu.Lock()
	c := s.cache[day]
	s.cacheMu.Unlock()
	stamp := s.opts.Calendar.Stamp(day) // before reading, like changed
	if c != nil && c.stamp == stamp {
		select {
		case <-c.changed:
		default:
			if day != s.Today() || now.Sub(c.at) < todayTTL {
				return c.day, nil
			}
		}
	}
	changed := s.Changed() // taken before reading: a change meanwhile invalidates
	d, err := s.compute(ctx, day, false)
	if err != nil {
		return nil, err
	}
	s.cacheMu.Lock()
	if len(s.cache) >= cacheLimit {
		clear(s.cache)
	}
	s.cache[day] = &cached{day: d, changed: changed, at: now, stamp: stamp}
	s.cacheMu.Unlock()
	return d, nil
}

// ComputeFromStore computes every site of a day from the store, bypassing
// the live events and the cache: what a restart would compute. Tests use
// it to prove the live figures equal the stored ones.
func (s *Computer) ComputeFromStore(ctx context.Context, day civil.Date) (*Day, error) {
	return s.compute(ctx, day, true)
}

// compute computes every known site of a day, today from the live events
// unless fromStore.
func (s *Computer) compute(ctx context.Context, day civil.Date, fromStore bool) (*Day, error) {
	// Every site is read, even for one: the cross-site checks need them all.
	var evs []store.Event
	var err error
	if day == s.Today() && !fromStore {
		evs, err = s.liveEvents(ctx, day)
	} else {
		from, to := s.Bounds(day)
		evs, err = s.opts.Store.Events(ctx, store.Query{From: from, To: to})
	}
	if err != nil {
		return nil, fmt.Errorf("read the day's events: %w", err)
	}
	b, err := s.newBuilder(ctx, day)
	if err != nil {
		return nil, err
	}
	sites, err := s.sites(ctx, evs, b.corrs)
	if err != nil {
		return nil, err
	}
	inputs := make(map[string]*counts.Input, len(sites))
	for _, x := range sites {
		in := b.input(x)
		inputs[x] = &in
	}
	for _, e := range evs {
		if in := inputs[e.Site]; in != nil {
			in.Scans = append(in.Scans, b.scan(e))
		}
	}
	for _, a := range b.added {
		if in := inputs[a.site]; in != nil {
			in.Scans = append(in.Scans, a.scan)
		}
	}
	all := make([]counts.Result, 0, len(sites))
	for _, x := range sites {
		all = append(all, counts.Compute(*inputs[x]))
	}
	cross := counts.CrossSiteWarnings(all)
	out := &Day{Date: day, Results: map[string]counts.Result{}, Snapshot: b.snap}
	for _, r := range all {
		r.Warnings = append(r.Warnings, cross[r.Site]...)
		out.Sites = append(out.Sites, r.Site)
		out.Results[r.Site] = r
	}
	return out, nil
}

// builder turns a day's roster and corrections into the counting inputs
// of its sites: Compute's and the live City's.
type builder struct {
	s      *Computer
	day    civil.Date
	snap   *roster.Snapshot
	corrs  []corrections.Correction
	absent map[string]map[string]bool      // site -> person ids declared absent
	outs   map[string]map[string]time.Time // site -> person id -> closed clock-out
	voided map[string]bool                 // scan ids voided
	added  []siteScan                      // scans added by corrections
}

type siteScan struct {
	site string
	scan counts.Scan
}

// newBuilder reads the day's roster and corrections.
func (s *Computer) newBuilder(ctx context.Context, day civil.Date) (*builder, error) {
	snap, err := s.opts.Roster.AsOf(ctx, day)
	if err != nil {
		return nil, err
	}
	corrs, err := s.opts.Corrections.List(ctx, corrections.Filter{From: day.String(), To: day.String()})
	if err != nil {
		return nil, err
	}
	b := &builder{s: s, day: day, snap: snap, corrs: corrs, absent: map[string]map[string]bool{},
		outs: map[string]map[string]time.Time{}, voided: map[string]bool{}}
	for _, c := range corrs {
		if (c.Kind == corrections.AddScan || c.Kind == corrections.CloseClockOut) && c.At == nil {
			s.log.Error("correction without a time ignored", "id", c.ID, "kind", c.Kind)
			continue
		}
		switch c.Kind {
		case corrections.AddScan:
			badge := ""
			if p, ok := snap.Person(c.PersonID); ok {
				badge = p.Match.Badge
			}
			b.added = append(b.added, siteScan{c.Site, counts.Scan{ID: "corr-" + c.ID, Device: "correction", Reader: "correction", Badge: badge,
				Service: c.Service, Dir: c.Dir, At: *c.At, ReceivedAt: c.CreatedAt, Correction: c.ID, PersonID: c.PersonID}})
		case corrections.VoidScan:
			b.voided[c.EventID] = true
		case corrections.Absence:
			if b.absent[c.Site] == nil {
				b.absent[c.Site] = map[string]bool{}
			}
			b.absent[c.Site][c.PersonID] = true
		case corrections.CloseClockOut:
			if b.outs[c.Site] == nil {
				b.outs[c.Site] = map[string]time.Time{}
			}
			b.outs[c.Site][c.PersonID] = *c.At
		}
	}
	for i := range b.added {
		b.added[i].scan.Voided = b.voided[b.added[i].scan.ID]
	}
	return b, nil
}

// input returns a site's Input, without scans.
func (b *builder) input(site string) counts.Input {
	closed, _ := b.s.opts.Calendar.Closed(site, b.day)
	in := counts.Input{Site: site, Day: b.day, Loc: b.s.opts.Loc, Roster: b.snap, Closed: closed,
		Absent: map[string]bool{}, ClosedClockOuts: map[string]time.Time{}, Now: b.s.opts.Now()}
	for id := range b.absent[site] {
		in.Absent[id] = true
	}
	for id, t := range b.outs[site] {
		in.ClosedClockOuts[id] = t
	}
	if b.s.opts.Sessions != nil {
		in.Sessions = b.s.opts.Sessions(site)
	}
	return in
}

// scan returns a stored event as counted (voided or not).
func (b *builder) scan(e store.Event) counts.Scan {
	sc := counts.ScanFromEvent(e)
	sc.Voided = b.voided[e.ID]
	return sc
}
