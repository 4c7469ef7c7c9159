// Package civil is the hub's vocabulary of calendar days and months, with
// no time and no zone: the "day" of docs/DESIGN.md §5, which the caller computes
// in the site's timezone (DateOf(t.In(loc))). It is a leaf: the roster, the
// counting rules, the read model, the calendar, the corrections, the
// exports and the API share it without depending on one another.
//
// cloud.google.com/go/civil has the same Date, but it comes with the whole
// google-cloud root module; these 150 lines are the part the hub needs.
package civil

import (
	"fmt"
	"strconv"
	"time"
)

// Date is a civil calendar day. The zero Date is not a valid day.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// The first and last representable days. A version valid from MinDate is
// known for every past day ("the beginning of time"); one valid to MaxDate
// is still current.
var (
	MinDate = Date{1, time.January, 1}
	MaxDate = Date{9999, time.December, 31}
)

// DateOf returns the calendar day of t in t's own location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{y, m, d}
}

// ParseDate parses YYYY-MM-DD.
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return Date{}, fmt.Errorf("date %q: want YYYY-MM-DD", s)
	}
	d := DateOf(t)
	if !d.Valid() { // year 0000 parses, but no day before MinDate exists here
		return Date{}, fmt.Errorf("date %q: want a day from %s to %s", s, MinDate, MaxDate)
	}
	return d, nil
}

// String formats d as YYYY-MM-DD.
func (d Date) String() string {
	return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day)
}

// Time returns midnight UTC at the start of d.
func (d Date) Time() time.Time {
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC)
}

// In returns midnight in loc at the start of d.
func (d Date) In(loc *time.Location) time.Time {
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, loc)
}

// Valid reports whether d is a real calendar day between MinDate and MaxDate.
func (d Date) Valid() bool {
	return d.Year >= 1 && d.Year <= 9999 && DateOf(d.Time()) == d
}

// AddDays returns d moved by n days.
func (d Date) AddDays(n int) Date { return DateOf(d.Time().AddDate(0, 0, n)) }

// Weekday returns d's day of the week.
func (d Date) Weekday() time.Weekday { return d.Time().Weekday() }

// Compare returns -1, 0 or +1 as d is before, equal to or after e.
func (d Date) Compare(e Date) int {
	switch {
	case d.Year != e.Year:
		return cmpInt(d.Year, e.Year)
	case d.Month != e.Month:
		return cmpInt(int(d.Month), int(e.Month))
	default:
		return cmpInt(d.Day, e.Day)
	}
}

// Before reports whether d is before e.
func (d Date) Before(e Date) bool { return d.Compare(e) < 0 }

// After reports whether d is after e.
func (d Date) After(e Date) bool { return d.Compare(e) > 0 }

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Month is a calendar month.
type Month struct {
	Year  int
	Month time.Month
}

// ParseMonth parses YYYY-MM, of a year from 1 to 9999.
func ParseMonth(s string) (Month, error) {
	t, err := time.Parse("2006-01", s)
	if err != nil || t.Year() < 1 {
		return Month{}, fmt.Errorf("month %q: want YYYY-MM, like 2026-11", s)
	}
	return Month{t.Year(), t.Month()}, nil
}

// MonthOf returns the month of d.
func MonthOf(d Date) Month { return Month{d.Year, d.Month} }

// String formats m as YYYY-MM.
func (m Month) String() string { return fmt.Sprintf("%04d-%02d", m.Year, int(m.Month)) }

// First returns the first day of m.
func (m Month) First() Date { return Date{m.Year, m.Month, 1} }

// Days returns the number of days of m.
func (m Month) Days() int { return time.Date(m.Year, m.Month+1, 0, 0, 0, 0, 0, time.UTC).Day() }

// French names m in French: "novembre 2026".
func (m Month) French() string {
	return monthNames[m.Month-1] + " " + strconv.Itoa(m.Year)
}

var monthNames = [...]string{"janvier", "février", "mars", "avril", "mai", "juin",
	"juillet", "août", "septembre", "octobre", "novembre", "décembre"}
