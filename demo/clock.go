package demo

import (
	"pointage/internal/civil"
	"sync"
	"time"
)

// The demo's clock runs simulated school days, one after the other (weekends
// skipped), each played in DayLength of real time. A day is a chain of
// segments, each running at its own speed: the morning garderie and the
// staff clock-ins quickly, the class hours in a few seconds, the canteen
// rush slowly (3.5 minutes of real time at the default length), lunch break
// quickly, the evening garderie and the clock-outs slowly, and a short end
// of day. The clock is a pure function of the real time elapsed since the
// start, so it only moves forwards, and the hub and every agent share it
// (hub.Options.Now, agent.Options.Now): events are never flagged as clock
// skew and the hub's "today" is the simulated day.
type segment struct {
	end  time.Duration // the simulated time of day the segment ends at
	real time.Duration // its length in real time at the default day length
}

const dayStart = 5*time.Hour + 45*time.Minute

var daySegments = []segment{
	{7*time.Hour + 45*time.Minute, 24 * time.Second},   // morning garderie, clock-ins
	{10*time.Hour + 55*time.Minute, 6 * time.Second},   // class
	{12*time.Hour + 35*time.Minute, 210 * time.Second}, // canteen rush 11:00-12:30
	{14*time.Hour + 50*time.Minute, 10 * time.Second},  // afternoon class
	{18*time.Hour + 10*time.Minute, 340 * time.Second}, // evening garderie, clock-outs
	{18*time.Hour + 30*time.Minute, 15 * time.Second},  // end of the day
}

// dayEnd is the simulated time of day a day ends at.
var dayEnd = daySegments[len(daySegments)-1].end

// DefaultDayLength is the real time one simulated day lasts by default.
var DefaultDayLength = func() time.Duration {
	var d time.Duration
	for _, s := range daySegments {
		d += s.real
	}
	return d
}()

type simClock struct {
	mu    sync.Mutex
	start time.Time // real; zero until Start: the clock stays at the day's start
	scale float64   // DayLength / DefaultDayLength
	loc   *time.Location
	first civil.Date
	since func(time.Time) time.Duration
}

func newSimClock(dayLength time.Duration, loc *time.Location, first civil.Date) *simClock {
	return &simClock{scale: float64(dayLength) / float64(DefaultDayLength), loc: loc,
		first: nextSchoolDay(first), since: time.Since}
}

// Start starts the clock at real time t.
func (c *simClock) Start(t time.Time) {
	c.mu.Lock()
	c.start = t
	c.mu.Unlock()
}

// nextSchoolDay returns d, or the Monday after when d is a weekend day.
func nextSchoolDay(d civil.Date) civil.Date {
	for d.Weekday() == time.Saturday || d.Weekday() == time.Sunday {
		d = d.AddDays(1)
	}
	return d
}

// day returns the n-th school day (0 = the first).
func (c *simClock) day(n int) civil.Date {
	d := c.first
	for range n {
		d = nextSchoolDay(d.AddDays(1))
	}
	return d
}

func (c *simClock) dayLength() time.Duration {
	return time.Duration(float64(DefaultDayLength) * c.scale)
}

// scaled is a real duration of the default day scaled to DayLength.
func (c *simClock) scaled(d time.Duration) time.Duration { return time.Duration(float64(d) * c.scale) }

// Now is the simulated time.
func (c *simClock) Now() time.Time {
	n, tod := c.position()
	return c.day(n).In(c.loc).Add(tod)
}

// timeOfDay maps a real offset into a day to the simulated time of day.
func (c *simClock) timeOfDay(off time.Duration) time.Duration {
	prev := dayStart
	for _, s := range daySegments {
		r := c.scaled(s.real)
		if off < r {
			return prev + time.Duration(float64(s.end-prev)*float64(off)/float64(r))
		}
		off -= r
		prev = s.end
	}
	return prev
}

// realOffset maps a simulated time of day to the real offset into a day.
func (c *simClock) realOffset(tod time.Duration) time.Duration {
	prev, off := dayStart, time.Duration(0)
	for _, s := range daySegments {
		r := c.scaled(s.real)
		if tod < s.end {
			if tod < prev {
				return off
			}
			return off + time.Duration(float64(r)*float64(tod-prev)/float64(s.end-prev))
		}
		off += r
		prev = s.end
	}
	return off
}

// simAfter returns the simulated time of day real d after the simulated
// time of day tod (same day, at most the day's end).
func (c *simClock) simAfter(tod, d time.Duration) time.Duration {
	return c.timeOfDay(c.realOffset(tod) + d)
}

// position returns the index of the simulated day and the time of day.
func (c *simClock) position() (int, time.Duration) {
	c.mu.Lock()
	start := c.start
	c.mu.Unlock()
	if start.IsZero() {
		return 0, dayStart
	}
	el := c.since(start)
	n := int(el / c.dayLength())
	return n, c.timeOfDay(el - time.Duration(n)*c.dayLength())
}
