package days

import (
	"context"
	"fmt"
	"strings"

	"pointage/hub/corrections"
	"pointage/hub/roster"
	"pointage/hub/store"
	"pointage/internal/civil"
	"pointage/internal/wire"
)

// MaxHistoryDays bounds one person's history request (a family's access
// request covers the retention period, 18 months).
const MaxHistoryDays = 731

// PersonHistory is everything the hub holds about one person over a
// period: the roster versions, the check-ins of their badges, and the
// corrections naming them. It answers a family's access request
// (docs/PRIVACY.md) and the office's look at a child's history.
type PersonHistory struct {
	PersonID    string                   `json:"person_id"`
	From        string                   `json:"from"`
	To          string                   `json:"to"`
	Timezone    string                   `json:"timezone"`
	Roster      []RosterVersionView      `json:"roster"`
	Events      []HistoryEvent           `json:"events"`
	Corrections []corrections.Correction `json:"corrections"`
}

// RosterVersionView is one roster version of the person.
type RosterVersionView struct {
	ValidFrom   string `json:"valid_from"`
	ValidTo     string `json:"valid_to,omitempty"` // empty: current
	Role        string `json:"role"`
	LastName    string `json:"last_name"`
	FirstName   string `json:"first_name"`
	Site        string `json:"site"`
	Class       string `json:"class"`
	Regime      string `json:"regime"`
	CanteenDays string `json:"canteen_days"`
	Garderie    string `json:"garderie"`
	Badge       string `json:"badge"`
	CardNumber  string `json:"card_number,omitempty"`
	FamilyID    string `json:"family_id,omitempty"`
}

// HistoryEvent is one check-in of the person's badge.
type HistoryEvent struct {
	ID         string       `json:"id"`
	Site       string       `json:"site"`
	Device     string       `json:"device"`
	Reader     string       `json:"reader"`
	Badge      string       `json:"badge"`
	Service    wire.Service `json:"service"`
	Dir        wire.Dir     `json:"dir"`
	At         string       `json:"at"`
	ReceivedAt string       `json:"received_at"`
	Review     bool         `json:"review"`
}

// History returns one person's data from day from to day to (inclusive).

// PersonHistory returns what the hub holds about one person over the days
// from..to: ErrUnknownPerson, ErrBadRange.
func (s *Views) PersonHistory(ctx context.Context, personID string, from, to civil.Date) (*PersonHistory, error) {
	if to.Before(from) {
		return nil, fmt.Errorf("%w: to is before from", ErrBadRange)
	}
	if from.AddDays(MaxHistoryDays).Before(to) {
		return nil, fmt.Errorf("%w: at most %d days at once", ErrBadRange, MaxHistoryDays)
	}
	versions, err := s.opts.Roster.History(ctx, personID)
	if err != nil {
		return nil, err
	}
	if len(versions) == 0 {
		return nil, fmt.Errorf("%w: %q is not in the roster, now or before", ErrUnknownPerson, personID)
	}
	h := &PersonHistory{PersonID: personID, From: from.String(), To: to.String(), Timezone: s.opts.Loc.String(),
		Roster: []RosterVersionView{}, Events: []HistoryEvent{}}
	suffixes := map[string]bool{}
	for _, v := range versions {
		rv := RosterVersionView{ValidFrom: v.From.String(), Role: string(v.Role), LastName: v.LastName, FirstName: v.FirstName,
			Site: v.Site, Class: v.Class, Regime: v.Regime, CanteenDays: v.CanteenDays.String(), Garderie: v.Garderie.String(),
			Badge: v.Match.String(), CardNumber: v.CardNumber, FamilyID: v.FamilyID}
		if v.To != civil.MaxDate {
			rv.ValidTo = v.To.String()
		}
		if v.From == civil.MinDate {
			rv.ValidFrom = ""
		}
		h.Roster = append(h.Roster, rv)
		suffixes[badgeSuffix(v.Match.Badge)] = true
	}
	start, _ := s.comp.Bounds(from)
	_, end := s.comp.Bounds(to)
	q := store.Query{From: start, To: end}
	for x := range suffixes {
		q.BadgeSuffixes = append(q.BadgeSuffixes, x)
	}
	evs, err := s.opts.Store.Events(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("read the check-ins: %w", err)
	}
	for _, e := range evs {
		day := civil.DateOf(e.At.In(s.opts.Loc))
		if !matchesOn(versions, e.Badge, day) {
			continue // same low bits, another person's card
		}
		h.Events = append(h.Events, HistoryEvent{ID: e.ID, Site: e.Site, Device: e.Device, Reader: e.Reader, Badge: e.Badge,
			Service: e.Service, Dir: e.Dir, At: e.At.In(s.opts.Loc).Format(wire.AtLayout),
			ReceivedAt: e.ReceivedAt.In(s.opts.Loc).Format(wire.AtLayout), Review: e.Review})
	}
	if h.Corrections, err = s.opts.Corrections.List(ctx, corrections.Filter{From: from.String(), To: to.String(), PersonID: personID}); err != nil {
		return nil, err
	}
	if h.Corrections == nil {
		h.Corrections = []corrections.Correction{}
	}
	return h, nil
}

// badgeSuffix is what a store can filter a badge's scans on: its last 6
// hex digits (a scan matches on 24 bits at the least), or the whole badge
// when it is not hex (a barcode).
func badgeSuffix(badge string) string {
	b := strings.ToUpper(badge)
	if len(b) >= 6 && strings.Trim(b, "0123456789ABCDEF") == "" {
		return b[len(b)-6:]
	}
	return b
}

// matchesOn reports whether a scanned badge is the person's badge valid on
// day.
func matchesOn(versions []roster.Version, badge string, day civil.Date) bool {
	for _, v := range versions {
		if !day.Before(v.From) && !v.To.Before(day) && v.Match.Matches(badge) {
			return true
		}
	}
	return false
}
