package days

import (
	"context"
	"fmt"
	"sync"

	"pointage/hub/counts"
	"pointage/hub/store"
	"pointage/internal/civil"
)

// live holds today in memory: its events, and the running figures of every
// site (a counts.City) kept up to date as events are stored — constant
// work per event. Both are loaded from the store at start-up (Warm) and
// when the day changes; the figures are rebuilt from the events in memory
// when a correction is recorded, the roster changes or a closed day is
// added or removed.
type live struct {
	mu     sync.Mutex
	day    civil.Date
	loaded bool
	events eventLog
	seen   map[eventKey]bool

	city      *counts.City // nil until built for the day
	builder   *builder     // what city was built from
	cityGen   uint64       // Service.corrGen when it was built
	rosterGen int64        // the roster's generation when it was built
	calStamp  string       // the calendar's Stamp of the day when it was built
	rebuilds  int          // how many times city was built (tests)
}

// logBlock is how many events one block of an eventLog holds.
const logBlock = 4096

// eventLog holds today's events in blocks: adding one never copies those
// already there. (A slice grown by append copied the whole day at each
// doubling, with the collector's write barriers, on ingest's writer: a
// growing share of every stored check-in's cost as the day went on.)
type eventLog struct {
	blocks [][]store.Event
	n      int
}

// newEventLog makes a log of evs (kept, not copied).
func newEventLog(evs []store.Event) eventLog {
	if len(evs) == 0 {
		return eventLog{}
	}
	return eventLog{blocks: [][]store.Event{evs[:len(evs):len(evs)]}, n: len(evs)}
}

func (l *eventLog) add(e store.Event) {
	if k := len(l.blocks); k == 0 || len(l.blocks[k-1]) == cap(l.blocks[k-1]) {
		l.blocks = append(l.blocks, make([]store.Event, 0, logBlock))
	}
	k := len(l.blocks) - 1
	l.blocks[k] = append(l.blocks[k], e)
	l.n++
}

// all returns a copy of the events, in the order they were added.
func (l *eventLog) all() []store.Event {
	out := make([]store.Event, 0, l.n)
	for _, b := range l.blocks {
		out = append(out, b...)
	}
	return out
}

type eventKey struct {
	device, epoch string
	seq           uint64
}

// Warm loads today's events from the store and builds the running
// figures. The hub calls it before ingest starts, so no stored event is
// missed; Stored ignores duplicates anyway.
func (s *Computer) Warm(ctx context.Context) error {
	_, err := s.liveResults(ctx, s.Today())
	return err
}

// Stored takes events just stored (from the change feed): today's join
// the live events and are counted at once.
func (s *Computer) Stored(evs []store.Event) {
	today := s.Today()
	s.live.mu.Lock()
	defer s.live.mu.Unlock()
	if !s.live.loaded || s.live.day != today {
		return // loaded from the store on the next request
	}
	from, to := s.Bounds(today)
	for _, e := range evs {
		if e.At.Before(from) || !e.At.Before(to) {
			continue
		}
		k := eventKey{e.Device, e.Epoch, e.Seq}
		if s.live.seen[k] {
			continue
		}
		s.live.seen[k] = true
		s.live.events.add(e)
		if s.live.city != nil {
			s.live.city.Add(e.Site, s.live.builder.scan(e))
		}
	}
}

// load reads day's events from the store unless they are in memory.
// Called with live.mu held.
func (s *Computer) load(ctx context.Context, day civil.Date) error {
	if s.live.loaded && s.live.day == day {
		return nil
	}
	from, to := s.Bounds(day)
	evs, err := s.opts.Store.Events(ctx, store.Query{From: from, To: to})
	if err != nil {
		return fmt.Errorf("load today's events: %w", err)
	}
	s.live.day, s.live.loaded, s.live.events, s.live.city = day, true, newEventLog(evs), nil
	s.live.seen = make(map[eventKey]bool, len(evs))
	for _, e := range evs {
		s.live.seen[eventKey{e.Device, e.Epoch, e.Seq}] = true
	}
	return nil
}

// liveEvents returns a copy of the events of day (today), loading them
// from the store the first time of the day.
func (s *Computer) liveEvents(ctx context.Context, day civil.Date) ([]store.Event, error) {
	s.live.mu.Lock()
	defer s.live.mu.Unlock()
	if err := s.load(ctx, day); err != nil {
		return nil, err
	}
	return s.live.events.all(), nil
}

// liveResults returns today's figures of every known site from the
// running figures, building them first if the day, the roster or the
// corrections changed since.
func (s *Computer) liveResults(ctx context.Context, day civil.Date) ([]counts.Result, error) {
	for {
		gen := s.corrGen.Load() // before reading: a correction meanwhile rebuilds next time
		// The roster's generation, not its snapshot's identity: AsOf's small
		// cache may load today's snapshot again (a month looked at meanwhile)
		// without anything having changed.
		rosterGen, err := s.opts.Roster.Generation(ctx)
		if err != nil {
			return nil, err
		}
		stamp := s.opts.Calendar.Stamp(day)
		known, err := s.sites(ctx, nil, nil)
		if err != nil {
			return nil, err
		}
		s.live.mu.Lock()
		stale := !s.live.loaded || s.live.day != day || s.live.city == nil ||
			s.live.rosterGen != rosterGen || s.live.cityGen != gen || s.live.calStamp != stamp
		s.live.mu.Unlock()
		var b *builder
		if stale {
			if b, err = s.newBuilder(ctx, day); err != nil {
				return nil, err
			}
		}
		if res, ok, err := s.liveFigures(ctx, day, liveGens{gen, rosterGen, stamp}, b, known); ok || err != nil {
			return res, err
		}
		// The day's events were reloaded meanwhile: build again.
	}
}

// liveGens is what the running figures were built from: the
// corrections' and the roster's generations, the calendar's stamp.
type liveGens struct {
	corrections uint64
	roster      int64
	calendar    string
}

// liveFigures builds the running figures from b (if not nil) and reads
// them; ok is false when there are none to read.
func (s *Computer) liveFigures(ctx context.Context, day civil.Date, g liveGens, b *builder, known []string) ([]counts.Result, bool, error) {
	s.live.mu.Lock()
	defer s.live.mu.Unlock()
	if err := s.load(ctx, day); err != nil {
		return nil, false, err
	}
	if b != nil {
		sites := make([]string, 0, len(b.corrs))
		for _, c := range b.corrs {
			sites = append(sites, c.Site)
		}
		city := counts.NewCity(day, sites, b.input)
		for _, blk := range s.live.events.blocks {
			for _, e := range blk {
				city.Add(e.Site, b.scan(e))
			}
		}
		for _, a := range b.added {
			city.Add(a.site, a.scan)
		}
		s.live.city, s.live.builder = city, b
		s.live.cityGen, s.live.rosterGen, s.live.calStamp = g.corrections, g.roster, g.calendar
		s.live.rebuilds++
	}
	if s.live.city == nil {
		return nil, false, nil
	}
	for _, x := range known {
		s.live.city.AddSite(x)
	}
	return s.live.city.Results(s.opts.Now()), true, nil
}
