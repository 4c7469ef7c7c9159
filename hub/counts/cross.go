package counts

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"pointage/hub/roster"
	"pointage/internal/civil"
)

// childScanned reports whether a scan of this kind means a child was at
// the site (a canteen or garderie scan that counted).
func childScanned(k Kind) bool {
	switch k {
	case KindMeal, KindDuplicate, KindIn, KindOut, KindGarderieDuplicate:
		return true
	}
	return false
}

// CrossSiteWarnings finds the children scanned (canteen or garderie) at
// two sites or more on the same day, among the results of one or several
// days, and returns the warnings to add to each site's result, by site.
// The caller appends them to Result.Warnings:
//
//	for i, r := range results {
//		results[i].Warnings = append(r.Warnings, ws[r.Site]...)
//	}
func CrossSiteWarnings(results []Result) map[string][]Warning {
	type key struct {
		day    civil.Date
		person string
	}
	sites := map[key][]string{}
	for _, r := range results {
		seen := map[string]bool{}
		for _, s := range r.Detail.Scans {
			if !childScanned(s.Kind) || s.Person == nil || seen[s.Person.PersonID] {
				continue
			}
			seen[s.Person.PersonID] = true
			k := key{r.Detail.Day, s.Person.PersonID}
			if !slices.Contains(sites[k], r.Site) {
				sites[k] = append(sites[k], r.Site)
			}
		}
	}
	keys := make([]key, 0, len(sites))
	for k, ss := range sites {
		if len(ss) > 1 {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(a, b key) int {
		return cmp.Or(a.day.Compare(b.day), strings.Compare(a.person, b.person))
	})
	out := map[string][]Warning{}
	for _, k := range keys {
		ss := slices.Sorted(slices.Values(sites[k]))
		w := twoSitesWarning(k.day, k.person, ss)
		for _, s := range ss {
			out[s] = append(out[s], w)
		}
	}
	return out
}

// twoSitesWarning is the warning of a child scanned at the sites ss
// (sorted) on day.
func twoSitesWarning(day civil.Date, person string, ss []string) Warning {
	return Warning{Code: WarnTwoSites, PersonID: person,
		Message: fmt.Sprintf("child %s was scanned at %d sites on %s: %s", person, len(ss), day, strings.Join(ss, ", "))}
}

// Month returns "YYYY-MM" of a day.
func Month(d civil.Date) string { return fmt.Sprintf("%04d-%02d", d.Year, int(d.Month)) }

// StaffMonthRow is one staff member's month, for the payroll export.
type StaffMonthRow struct {
	Month    string // YYYY-MM
	PersonID string
	Person   *roster.Person // as on the latest day of the month with a scan
	Sites    []string       // where they clocked in, sorted
	Days     int            // days with at least one shift
	Worked   time.Duration  // sum of the shifts with both ends
	// MissingClockOuts counts the days flagged missing_clock_out (never
	// guessed: those hours are not in Worked).
	MissingClockOuts int
}

// StaffMonth sums the staff days of the results (any sites, any days) by
// month and person, ordered by month then person id.
func StaffMonth(days []Result) []StaffMonthRow {
	type key struct{ month, person string }
	rows := map[key]*StaffMonthRow{}
	type dayKey struct {
		day    civil.Date
		person string
	}
	counted := map[dayKey]bool{}
	missing := map[dayKey]bool{}
	latest := map[key]civil.Date{}
	for _, r := range days {
		d := r.Detail.Day
		for _, sd := range r.Detail.Staff {
			k := key{Month(d), sd.PersonID}
			row := rows[k]
			if row == nil {
				row = &StaffMonthRow{Month: k.month, PersonID: sd.PersonID}
				rows[k] = row
			}
			if !d.Before(latest[k]) {
				latest[k], row.Person = d, sd.Person
			}
			if !slices.Contains(row.Sites, r.Site) {
				row.Sites = append(row.Sites, r.Site)
			}
			dk := dayKey{d, sd.PersonID}
			if len(sd.Shifts) > 0 && !counted[dk] {
				counted[dk] = true
				row.Days++
			}
			if slices.Contains(sd.Flags, FlagMissingClockOut) && !missing[dk] {
				missing[dk] = true
				row.MissingClockOuts++
			}
			row.Worked += sd.Worked
		}
	}
	out := make([]StaffMonthRow, 0, len(rows))
	for _, row := range rows {
		slices.Sort(row.Sites)
		out = append(out, *row)
	}
	slices.SortFunc(out, func(a, b StaffMonthRow) int {
		return cmp.Or(strings.Compare(a.Month, b.Month), strings.Compare(a.PersonID, b.PersonID))
	})
	return out
}

// ChildMonthRow is one child's month, for the billing exports.
type ChildMonthRow struct {
	Month    string // YYYY-MM
	PersonID string
	Person   *roster.Person // as on the latest day of the month with a scan
	// Meals counts the days with a meal; Occasional those of them the
	// child was not expected (billed as an occasional meal).
	Meals, Occasional int
	// Sessions counts, per garderie session name, the days the child was
	// in it; Late the days they were picked up late.
	Sessions map[string]int
	Late     map[string]int
}

// ChildrenMonth sums the children's meals and garderie sessions of the
// results by month and person, ordered by month then person id.
func ChildrenMonth(days []Result) []ChildMonthRow {
	type key struct{ month, person string }
	rows := map[key]*ChildMonthRow{}
	latest := map[key]civil.Date{}
	row := func(d civil.Date, id string, p *roster.Person) *ChildMonthRow {
		k := key{Month(d), id}
		r := rows[k]
		if r == nil {
			r = &ChildMonthRow{Month: k.month, PersonID: id, Sessions: map[string]int{}, Late: map[string]int{}}
			rows[k] = r
		}
		if !d.Before(latest[k]) {
			latest[k], r.Person = d, p
		}
		return r
	}
	for _, r := range days {
		d := r.Detail.Day
		for _, s := range r.Detail.Canteen.Served {
			cr := row(d, s.PersonID, s.Person)
			cr.Meals++
			if !s.Expected {
				cr.Occasional++
			}
		}
		for _, sd := range r.Detail.Garderie {
			for _, ch := range sd.Children {
				cr := row(d, ch.PersonID, ch.Person)
				cr.Sessions[sd.Name]++
				if ch.Late {
					cr.Late[sd.Name]++
				}
			}
		}
	}
	out := make([]ChildMonthRow, 0, len(rows))
	for _, r := range rows {
		out = append(out, *r)
	}
	slices.SortFunc(out, func(a, b ChildMonthRow) int {
		return cmp.Or(strings.Compare(a.Month, b.Month), strings.Compare(a.PersonID, b.PersonID))
	})
	return out
}
