package days

import (
	"context"
	"fmt"
	"sync"

	"pointage/hub/roster"
	"pointage/hub/store"
)

// live holds today's events in memory, kept up to date as events are
// stored (constant work per event: a map check and an append), and loaded
// from the store at start-up and when the day changes. Today's figures are
// then computed from memory, without reading the store.
type live struct {
	mu     sync.Mutex
	day    roster.Date
	loaded bool
	events []store.Event
	seen   map[eventKey]bool
}

type eventKey struct {
	device, epoch string
	seq           uint64
}

// Warm loads today's events from the store. The hub calls it before ingest
// starts, so no stored event is missed; Add ignores duplicates anyway.
func (s *Service) Warm(ctx context.Context) error {
	_, err := s.liveEvents(ctx, s.Today())
	return err
}

// Stored takes events just stored (ingest's OnStored): today's join the
// live set; any event invalidates the cached days.
func (s *Service) Stored(evs []store.Event) {
	today := s.Today()
	s.live.mu.Lock()
	if s.live.loaded && s.live.day == today {
		from, to := s.Bounds(today)
		for _, e := range evs {
			if e.At.Before(from) || !e.At.Before(to) {
				continue
			}
			k := eventKey{e.Device, e.Epoch, e.Seq}
			if !s.live.seen[k] {
				s.live.seen[k] = true
				s.live.events = append(s.live.events, e)
			}
		}
	}
	s.live.mu.Unlock()
}

// liveEvents returns a copy of the events of day if day is today, loading
// them from the store the first time of the day; ok is false for other days.
func (s *Service) liveEvents(ctx context.Context, day roster.Date) ([]store.Event, error) {
	s.live.mu.Lock()
	defer s.live.mu.Unlock()
	if !s.live.loaded || s.live.day != day {
		from, to := s.Bounds(day)
		evs, err := s.opts.Store.Events(ctx, store.Query{From: from, To: to})
		if err != nil {
			return nil, fmt.Errorf("load today's events: %w", err)
		}
		s.live.day, s.live.loaded, s.live.events = day, true, evs
		s.live.seen = make(map[eventKey]bool, len(evs))
		for _, e := range evs {
			s.live.seen[eventKey{e.Device, e.Epoch, e.Seq}] = true
		}
	}
	return append([]store.Event(nil), s.live.events...), nil
}
