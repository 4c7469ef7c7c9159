package days

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"pointage/hub/counts"
	"pointage/internal/civil"
	"pointage/internal/wire"
)

// CountsView is the body of GET /api/v1/counts (docs/DESIGN.md §9, contract).
type CountsView struct {
	Date     string `json:"date"`
	Timezone string `json:"timezone"`
	// Now is the hub's time when the figures were read (an addition to
	// docs/DESIGN.md §9): the pages show it as "mis à jour à", on the hub's
	// clock (which the demo accelerates), not the browser's.
	Now   string          `json:"now"`
	Sites []counts.Result `json:"sites"`
}

// Counts returns the counts of a day (site "" = every known site).
func (s *Views) Counts(ctx context.Context, day civil.Date, site string) (CountsView, error) {
	v, err := s.counts(ctx, day, site)
	if err == nil {
		v.Now = s.opts.Now().In(s.opts.Loc).Format(wire.AtLayout)
	}
	return v, err
}

func (s *Views) counts(ctx context.Context, day civil.Date, site string) (CountsView, error) {
	if day == s.comp.Today() { // from the running figures
		all, err := s.comp.liveResults(ctx, day)
		if err != nil {
			return CountsView{}, err
		}
		v := CountsView{Date: day.String(), Timezone: s.opts.Loc.String(), Sites: []counts.Result{}}
		for _, r := range all {
			if site == "" || r.Site == site {
				v.Sites = append(v.Sites, r)
			}
		}
		if site != "" && len(v.Sites) == 0 {
			return CountsView{}, fmt.Errorf("%w: %q (no roster entry, device or event)", ErrUnknownSite, site)
		}
		return v, nil
	}
	// A past day: from the day cache when it holds.
	sites, key, ok := s.cache.cachedCounts(ctx, day)
	if ok {
		v := CountsView{Date: day.String(), Timezone: s.opts.Loc.String(), Sites: []counts.Result{}}
		for _, raw := range sites {
			var r counts.Result // the cache holds the JSON of a Result: it decodes to the same JSON
			if err := json.Unmarshal(raw, &r); err != nil {
				return CountsView{}, fmt.Errorf("day cache of %s: %w", day, err)
			}
			if site == "" || r.Site == site {
				v.Sites = append(v.Sites, r)
			}
		}
		if site == "" || len(v.Sites) > 0 {
			return v, nil
		}
		// A site known since (a device registered): counted below.
	}
	if key != "" && !ok { // a past day not cached yet: keep every site's counts
		all, err := s.comp.Compute(ctx, day, "")
		if err != nil {
			return CountsView{}, err
		}
		s.cache.keepCounts(ctx, day, key, all)
	}
	d, err := s.comp.Compute(ctx, day, site)
	if err != nil {
		return CountsView{}, err
	}
	v := CountsView{Date: day.String(), Timezone: s.opts.Loc.String(), Sites: []counts.Result{}}
	for _, x := range d.Sites {
		v.Sites = append(v.Sites, d.Results[x])
	}
	return v, nil
}

// EventView is one event of GET /api/v1/events (docs/DESIGN.md §9). Session and
// Correction are additions.
type EventView struct {
	ID         string       `json:"id"`
	Device     string       `json:"device"`
	Epoch      string       `json:"epoch"`
	Reader     string       `json:"reader"`
	Seq        uint64       `json:"seq"`
	Badge      string       `json:"badge"`
	Service    wire.Service `json:"service"`
	Dir        wire.Dir     `json:"dir"`
	At         string       `json:"at"`
	ReceivedAt string       `json:"received_at"`
	PersonID   string       `json:"person_id"`
	Role       string       `json:"role"`
	FirstName  string       `json:"first_name"`
	LastName   string       `json:"last_name"`
	Class      string       `json:"class"`
	Regime     string       `json:"regime"`
	Kind       string       `json:"kind"`
	Review     bool         `json:"review"`
	Session    string       `json:"session,omitempty"`
	Correction string       `json:"correction,omitempty"`
}

// EventsView is the body of GET /api/v1/events.
type EventsView struct {
	Date   string      `json:"date"`
	Site   string      `json:"site"`
	Events []EventView `json:"events"`
}

// Events lists a site's events of a day with what each counted as.
func (s *Views) Events(ctx context.Context, day civil.Date, site string, withNames bool) (EventsView, error) {
	d, err := s.comp.Compute(ctx, day, site)
	if err != nil {
		return EventsView{}, err
	}
	r := d.Results[site]
	v := EventsView{Date: day.String(), Site: site, Events: []EventView{}}
	for _, sr := range r.Detail.Scans {
		e := EventView{ID: sr.ID, Device: sr.Device, Epoch: sr.Epoch, Reader: sr.Reader, Seq: sr.Seq, Badge: sr.Badge,
			Service: sr.Service, Dir: sr.Dir, At: sr.At.In(s.opts.Loc).Format(wire.AtLayout),
			ReceivedAt: sr.ReceivedAt.In(s.opts.Loc).Format(wire.AtLayout), Kind: string(sr.Kind), Review: sr.Review,
			Session: sr.Session, Correction: sr.Correction}
		if p := sr.Person; p != nil {
			e.PersonID, e.Role, e.Regime = p.PersonID, string(p.Role), p.Regime
			if withNames {
				e.FirstName, e.LastName, e.Class = p.FirstName, p.LastName, p.Class
			}
		}
		v.Events = append(v.Events, e)
	}
	return v, nil
}

// UnknownBadgeView is one badge not in the roster.
type UnknownBadgeView struct {
	Site    string       `json:"site"`
	Service wire.Service `json:"service"`
	Badge   string       `json:"badge"`
	Scans   int          `json:"scans"`
	First   time.Time    `json:"first"`
	Last    time.Time    `json:"last"`
}

// UnknownBadgesView is the body of GET /api/v1/unknown-badges.
type UnknownBadgesView struct {
	Date          string             `json:"date"`
	UnknownBadges []UnknownBadgeView `json:"unknown_badges"`
}

// UnknownBadges lists the badges not in the roster seen on a day.
func (s *Views) UnknownBadges(ctx context.Context, day civil.Date, site string) (UnknownBadgesView, error) {
	d, err := s.comp.Compute(ctx, day, site)
	if err != nil {
		return UnknownBadgesView{}, err
	}
	out := []UnknownBadgeView{}
	for _, x := range d.Sites {
		for _, u := range d.Results[x].Detail.Unknown {
			out = append(out, UnknownBadgeView{Site: x, Service: u.Service, Badge: u.Badge, Scans: u.Scans,
				First: u.First.In(s.opts.Loc), Last: u.Last.In(s.opts.Loc)})
		}
	}
	return UnknownBadgesView{Date: day.String(), UnknownBadges: out}, nil
}
