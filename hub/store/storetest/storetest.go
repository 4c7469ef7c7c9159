package storetest

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"pointage/hub/store"
)

// noumea is Pacific/Noumea: UTC+11 all year.
var noumea = time.FixedZone("Pacific/Noumea", 11*3600)

// day is the Nouméa day 2026-11-24 as the hub computes it.
var day = store.Query{
	From: time.Date(2026, 11, 24, 0, 0, 0, 0, noumea),
	To:   time.Date(2026, 11, 25, 0, 0, 0, 0, noumea),
}

// Run runs the conformance suite. open must return a fresh, empty store for
// each subtest and close it when the subtest ends (Close twice is harmless).
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	t.Helper()
	cases := []struct {
		name string
		run  func(t *testing.T, s store.Store)
	}{
		{"RoundTrip", testRoundTrip},
		{"Rewrite", testRewrite},
		{"SameInstant", testSameInstant},
		{"RangeBounds", testRangeBounds},
		{"LocalDay", testLocalDay},
		{"SiteFilter", testSiteFilter},
		{"BadgeFilter", testBadgeFilter},
		{"Purge", testPurge},
		{"Order", testOrder},
		{"Empty", testEmpty},
		{"LargeBatch", testLargeBatch},
		{"ConcurrentWrites", testConcurrentWrites},
		{"Close", testClose},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.run(t, open(t)) })
	}
}

// at is a time in Nouméa.
func at(day, hour, min, sec, ms int) time.Time {
	return time.Date(2026, 11, day, hour, min, sec, ms*int(time.Millisecond), noumea)
}

// event is a canteen check-in of device d with sequence seq at t.
func event(site, device string, seq uint64, t time.Time) store.Event {
	return store.Event{
		ID:         fmt.Sprintf("01JDQ3ZC8M%s%06d", strings.ToUpper(strings.ReplaceAll(device, "-", "")), seq),
		Site:       site,
		Device:     device,
		Epoch:      "01JDQ3Y0000000000000000000",
		Reader:     "entree",
		Seq:        seq,
		Badge:      fmt.Sprintf("0A00%06X", seq),
		Service:    "canteen",
		Dir:        "auto",
		At:         t,
		ReceivedAt: t.Add(1500 * time.Millisecond).UTC(),
	}
}

func write(t *testing.T, s store.Store, events []store.Event) {
	t.Helper()
	if err := s.Write(context.Background(), events); err != nil {
		t.Fatalf("Write %d events: %v", len(events), err)
	}
}

func read(t *testing.T, s store.Store, q store.Query) []store.Event {
	t.Helper()
	got, err := s.Events(context.Background(), q)
	if err != nil {
		t.Fatalf("Events(%s .. %s, site %q): %v", q.From.UTC().Format(time.RFC3339Nano),
			q.To.UTC().Format(time.RFC3339Nano), q.Site, err)
	}
	return got
}

// same reports whether two events are equal: instants compared with Equal
// (a backend may return At in another time zone), everything else exactly.
func same(a, b store.Event) bool {
	return a.ID == b.ID && a.Site == b.Site && a.Device == b.Device && a.Epoch == b.Epoch &&
		a.Reader == b.Reader && a.Seq == b.Seq && a.Badge == b.Badge && a.Service == b.Service &&
		a.Dir == b.Dir && a.At.Equal(b.At) && a.ReceivedAt.Equal(b.ReceivedAt) && a.Review == b.Review
}

func show(e store.Event) string {
	return fmt.Sprintf("{id %s site %s device %s epoch %q reader %q seq %d badge %s service %s dir %s at %s received %s review %t}",
		e.ID, e.Site, e.Device, e.Epoch, e.Reader, e.Seq, e.Badge, e.Service, e.Dir,
		e.At.UTC().Format(time.RFC3339Nano), e.ReceivedAt.UTC().Format(time.RFC3339Nano), e.Review)
}

// wantEvents checks got against want, in order.
func wantEvents(t *testing.T, got, want []store.Event) {
	t.Helper()
	if len(got) != len(want) {
		var b strings.Builder
		for _, e := range got {
			b.WriteString("\n  " + show(e))
		}
		t.Fatalf("got %d events, want %d:%s", len(got), len(want), b.String())
	}
	for i := range want {
		if !same(got[i], want[i]) {
			t.Errorf("event %d:\n  got  %s\n  want %s", i, show(got[i]), show(want[i]))
		}
	}
}

func testRoundTrip(t *testing.T, s store.Store) {
	e1 := event("jules-ferry", "jf-cantine-1", 42, at(24, 11, 32, 5, 123))
	e2 := store.Event{ // every field different, empty epoch, review set, UTC time
		ID: "01JDQ3ZC8M6X3W5R2Y7T9K4B1N", Site: "jules-ferry", Device: "jf-garderie",
		Epoch: "", Reader: "porte-garderie", Seq: 1, Badge: "13005D1DA5", Service: "garderie",
		Dir:        "in",
		At:         time.Date(2026, 11, 24, 4, 30, 0, 999*int(time.Millisecond), time.UTC),
		ReceivedAt: time.Date(2026, 11, 24, 4, 31, 2, 7*int(time.Millisecond), time.UTC),
		Review:     true,
	}
	e3 := event("jules-ferry", "jf-staff", 7, at(24, 6, 0, 0, 1))
	e3.Service, e3.Dir, e3.Reader = "staff", "out", ""
	write(t, s, []store.Event{e1, e2, e3})
	wantEvents(t, read(t, s, day), []store.Event{e3, e1, e2})
}

func testRewrite(t *testing.T, s store.Store) {
	var batch []store.Event
	for i := range 10 {
		batch = append(batch, event("jules-ferry", "jf-cantine-1", uint64(i+1), at(24, 11, 30, i, 0)))
	}
	for range 3 {
		write(t, s, batch)
	}
	// A redelivery of part of the batch, in another order, with more events.
	more := []store.Event{batch[7], batch[2], event("jules-ferry", "jf-cantine-1", 11, at(24, 11, 31, 0, 0))}
	write(t, s, more)
	wantEvents(t, read(t, s, day), append(batch, more[2]))
}

func testSameInstant(t *testing.T, s store.Store) {
	when := at(24, 11, 45, 0, 500)
	events := []store.Event{
		event("jules-ferry", "jf-cantine-1", 5, when),
		event("jules-ferry", "jf-cantine-1", 6, when), // same device, same millisecond
		event("jules-ferry", "jf-cantine-2", 5, when), // another device, same seq
		event("jules-ferry", "jf-cantine-2", 9, when),
	}
	events[2].ID, events[3].ID = "other-device-5", "other-device-9"
	write(t, s, []store.Event{events[3], events[1], events[2], events[0]})
	wantEvents(t, read(t, s, day), events)
}

func testRangeBounds(t *testing.T, s store.Store) {
	from := time.Date(2026, 11, 24, 1, 0, 0, 0, time.UTC)
	to := from.Add(time.Hour)
	ms := time.Millisecond
	// The sub-millisecond part of a point's InfluxDB timestamp is seq mod 1e6:
	// large sequence numbers put it just below the next millisecond.
	before := event("jules-ferry", "jf-cantine-1", 999_999, from.Add(-ms))
	first := event("jules-ferry", "jf-cantine-1", 1_000_000, from)
	last := event("jules-ferry", "jf-cantine-1", 1_999_999, to.Add(-ms))
	after := event("jules-ferry", "jf-cantine-1", 2_000_000, to)
	write(t, s, []store.Event{after, last, first, before})

	wantEvents(t, read(t, s, store.Query{From: from, To: to}), []store.Event{first, last})
	wantEvents(t, read(t, s, store.Query{From: from.Add(-ms), To: to.Add(ms)}),
		[]store.Event{before, first, last, after})
	wantEvents(t, read(t, s, store.Query{From: from.Add(ms), To: to.Add(-ms)}), nil)
	// Bounds between two milliseconds: At >= From and At < To still hold exactly.
	half := ms / 2
	wantEvents(t, read(t, s, store.Query{From: from.Add(-half), To: to.Add(-half)}), []store.Event{first, last})
	wantEvents(t, read(t, s, store.Query{From: from.Add(-ms - half), To: to.Add(half)}),
		[]store.Event{before, first, last, after})
	// Bounds in another time zone are the same instants.
	wantEvents(t, read(t, s, store.Query{From: from.In(noumea), To: to.In(noumea)}), []store.Event{first, last})
}

func testLocalDay(t *testing.T, s store.Store) {
	events := []store.Event{
		event("jules-ferry", "jf-cantine-1", 1, at(23, 23, 59, 59, 999)), // the day before
		event("jules-ferry", "jf-cantine-1", 2, at(24, 0, 0, 0, 0)),      // first instant
		event("jules-ferry", "jf-cantine-1", 3, at(24, 10, 59, 0, 0)),    // 2026-11-23T23:59Z
		event("jules-ferry", "jf-cantine-1", 4, at(24, 11, 0, 0, 0)),     // UTC midnight
		event("jules-ferry", "jf-cantine-1", 5, at(24, 12, 15, 0, 0)),
		event("jules-ferry", "jf-cantine-1", 6, at(24, 23, 59, 59, 999)), // last millisecond
		event("jules-ferry", "jf-cantine-1", 7, at(25, 0, 0, 0, 0)),      // the day after
	}
	if got := events[2].At.UTC().Format(time.RFC3339); got != "2026-11-23T23:59:00Z" {
		t.Fatalf("fixture: 10:59 Nouméa is %s", got)
	}
	write(t, s, events)
	nouméaDay := store.Query{
		From: time.Date(2026, 11, 23, 13, 0, 0, 0, time.UTC),
		To:   time.Date(2026, 11, 24, 13, 0, 0, 0, time.UTC),
	}
	wantEvents(t, read(t, s, nouméaDay), events[1:6])
	// The UTC day 2026-11-24 is another thing: it starts at 11:00 in Nouméa.
	utcDay := store.Query{
		From: time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC),
		To:   time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC),
	}
	wantEvents(t, read(t, s, utcDay), events[3:7])
}

func testSiteFilter(t *testing.T, s store.Store) {
	jf := event("jules-ferry", "jf-cantine-1", 1, at(24, 11, 30, 0, 0))
	jf2 := event("jules-ferry", "jf-cantine-1", 2, at(24, 11, 32, 0, 0))
	rv := event("riviere-salee", "rs-cantine-1", 1, at(24, 11, 31, 0, 0))
	rv.ID = "riviere-salee-1"
	write(t, s, []store.Event{jf, rv, jf2})
	wantEvents(t, read(t, s, store.Query{From: day.From, To: day.To, Site: "jules-ferry"}), []store.Event{jf, jf2})
	wantEvents(t, read(t, s, store.Query{From: day.From, To: day.To, Site: "riviere-salee"}), []store.Event{rv})
	wantEvents(t, read(t, s, store.Query{From: day.From, To: day.To, Site: "nowhere"}), nil)
	wantEvents(t, read(t, s, day), []store.Event{jf, rv, jf2})
}

// One person's events: the badge-suffix filter keeps the badges ending
// with a suffix (with the site filter too), nothing else.
func testBadgeFilter(t *testing.T, s store.Store) {
	a := event("jules-ferry", "jf-cantine-1", 1, at(24, 11, 30, 0, 0))
	a.Badge = "0A00ABCDEF"
	b := event("jules-ferry", "jf-cantine-1", 2, at(24, 11, 31, 0, 0))
	b.Badge = "ABCDEF" // a Wiegand 26 reader: the low 24 bits
	c := event("riviere-salee", "rs-cantine-1", 3, at(24, 11, 32, 0, 0))
	c.Badge = "0B00ABCDEF"
	d := event("jules-ferry", "jf-cantine-1", 4, at(24, 11, 33, 0, 0))
	d.Badge = "0A00ABCDE0"
	write(t, s, []store.Event{a, b, c, d})
	wantEvents(t, read(t, s, store.Query{From: day.From, To: day.To, BadgeSuffixes: []string{"ABCDEF"}}), []store.Event{a, b, c})
	wantEvents(t, read(t, s, store.Query{From: day.From, To: day.To, Site: "jules-ferry", BadgeSuffixes: []string{"ABCDEF"}}), []store.Event{a, b})
	wantEvents(t, read(t, s, store.Query{From: day.From, To: day.To, BadgeSuffixes: []string{"0A00ABCDE0", "0B00ABCDEF"}}), []store.Event{c, d})
	wantEvents(t, read(t, s, store.Query{From: day.From, To: day.To, BadgeSuffixes: []string{"\"with quotes'"}}), nil)
}

// The retention deletes the events before an instant, and only those.
func testPurge(t *testing.T, s store.Store) {
	p, ok := s.(store.Purger)
	if !ok {
		t.Fatalf("%T cannot purge", s)
	}
	old := event("jules-ferry", "jf-cantine-1", 1, at(23, 11, 30, 0, 0))
	edge := event("jules-ferry", "jf-cantine-1", 2, at(24, 0, 0, 0, 0))
	kept := event("jules-ferry", "jf-cantine-1", 3, at(24, 11, 30, 0, 0))
	if _, ok, err := p.Oldest(context.Background()); ok || err != nil {
		t.Fatalf("an empty store has an oldest event (%v)", err)
	}
	write(t, s, []store.Event{kept, old, edge})
	if oldest, ok, err := p.Oldest(context.Background()); !ok || err != nil || !oldest.Equal(old.At.Truncate(time.Millisecond)) {
		t.Fatalf("oldest: %v %v %v, want %v", oldest, ok, err, old.At)
	}
	n, err := p.Purge(context.Background(), at(24, 0, 0, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 && n != -1 {
		t.Fatalf("purged %d events, want 1 (or -1: unknown)", n)
	}
	all := store.Query{From: at(1, 0, 0, 0, 0), To: at(30, 0, 0, 0, 0)}
	wantEvents(t, read(t, s, all), []store.Event{edge, kept})
	if oldest, _, _ := p.Oldest(context.Background()); !oldest.Equal(edge.At) {
		t.Fatalf("oldest after the purge: %v, want %v", oldest, edge.At)
	}
	if _, err := p.Purge(context.Background(), at(1, 0, 0, 0, 0)); err != nil { // nothing that old
		t.Fatal(err)
	}
	wantEvents(t, read(t, s, all), []store.Event{edge, kept})
}

func testOrder(t *testing.T, s store.Store) {
	var want []store.Event
	for i := range 60 {
		when := at(24, 11, 30, i/6, 0) // six events per second
		device := fmt.Sprintf("dev-%d", i%3)
		e := event("jules-ferry", device, uint64(1000-i), when) // seq against the time order
		e.ID = fmt.Sprintf("order-%d", i)
		want = append(want, e)
	}
	sortEvents(want)
	shuffled := append([]store.Event(nil), want...)
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(shuffled), func(i, j int) {
		shuffled[i], shuffled[j] = shuffled[j], shuffled[i]
	})
	write(t, s, shuffled)
	wantEvents(t, read(t, s, day), want)
}

func testEmpty(t *testing.T, s store.Store) {
	wantEvents(t, read(t, s, day), nil)
	if err := s.Write(context.Background(), nil); err != nil {
		t.Fatalf("Write(nil): %v", err)
	}
	write(t, s, []store.Event{event("jules-ferry", "jf-cantine-1", 1, at(24, 11, 30, 0, 0))})
	wantEvents(t, read(t, s, store.Query{From: day.To, To: day.To.Add(24 * time.Hour)}), nil)
	wantEvents(t, read(t, s, store.Query{From: day.To, To: day.From}), nil) // To before From
	wantEvents(t, read(t, s, store.Query{From: day.From, To: day.From}), nil)
}

func testLargeBatch(t *testing.T, s store.Store) {
	const n = 5000
	events := make([]store.Event, n)
	for i := range events {
		// 25 devices, 200 scans each, spread over the lunch hours.
		device := fmt.Sprintf("cantine-%02d", i%25)
		when := at(24, 11, 0, 0, 0).Add(time.Duration(i) * 1357 * time.Millisecond)
		events[i] = event(fmt.Sprintf("site-%d", i%5), device, uint64(i/25+1), when)
		events[i].ID = fmt.Sprintf("large-%05d", i)
	}
	write(t, s, events)
	got := read(t, s, day)
	sortEvents(events)
	wantEvents(t, got, events)
	if got := read(t, s, store.Query{From: day.From, To: day.To, Site: "site-3"}); len(got) != n/5 {
		t.Errorf("site-3: %d events, want %d", len(got), n/5)
	}
}

func testConcurrentWrites(t *testing.T, s store.Store) {
	const writers, batches, size = 4, 5, 20
	var wg sync.WaitGroup
	errs := make(chan error, writers*batches)
	for w := range writers {
		wg.Go(func() {
			for b := range batches {
				batch := make([]store.Event, size)
				for i := range batch {
					seq := uint64(b*size + i + 1)
					batch[i] = event("jules-ferry", fmt.Sprintf("dev-%d", w), seq,
						at(24, 11, 0, 0, 0).Add(time.Duration(seq)*time.Second))
				}
				if err := s.Write(context.Background(), batch); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := read(t, s, day); len(got) != writers*batches*size {
		t.Errorf("%d events, want %d", len(got), writers*batches*size)
	}
}

func testClose(t *testing.T, s store.Store) {
	write(t, s, []store.Event{event("jules-ferry", "jf-cantine-1", 1, at(24, 11, 30, 0, 0))})
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close again: %v", err)
	}
	err := s.Write(context.Background(), []store.Event{event("jules-ferry", "jf-cantine-1", 2, at(24, 11, 31, 0, 0))})
	if err == nil {
		t.Fatal("Write after Close: no error")
	}
	if store.IsPermanent(err) {
		t.Errorf("Write after Close: %v is permanent; a closing hub must keep the events queued", err)
	}
	if _, err := s.Events(context.Background(), day); err == nil {
		t.Error("Events after Close: no error")
	}
}

// sortEvents sorts by At, Device, Seq: the order Events returns.
func sortEvents(events []store.Event) {
	slices.SortFunc(events, func(a, b store.Event) int {
		return cmp.Or(a.At.Compare(b.At), strings.Compare(a.Device, b.Device), cmp.Compare(a.Seq, b.Seq))
	})
}
