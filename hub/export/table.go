package export

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"golang.org/x/text/collate"
	"golang.org/x/text/language"

	"pointage/hub/roster"
)

// table is an export's rows seen through its kind: what both writers need
// from a row, whatever its type.
type table struct {
	e    *Export
	cols []column
	n    int
}

func newTable(e *Export) table {
	return table{e: e, cols: columnsOf(e.Kind), n: e.Len()}
}

// fill puts row i's cells in dst (len(dst) == len(t.cols)).
func (t table) fill(i int, dst []cell) {
	switch t.e.Kind {
	case Meals:
		fillMeal(&t.e.Meals[i], dst)
	case Garderie:
		fillGarderie(&t.e.Garderie[i], t.e.Loc, dst)
	case Staff:
		fillStaff(&t.e.Staff[i], t.e.Loc, dst)
	}
}

// rowKey is what rows are sorted on.
type rowKey struct {
	date                  roster.Date
	site, last, first, id string
	at                    time.Time // garderie: arrival; staff: first clock-in
	extra                 string    // garderie: session
}

func (t table) key(i int) rowKey {
	switch t.e.Kind {
	case Meals:
		r := &t.e.Meals[i]
		return rowKey{date: r.Date, site: r.Site, last: r.LastName, first: r.FirstName, id: r.PersonID}
	case Garderie:
		r := &t.e.Garderie[i]
		return rowKey{date: r.Date, site: r.Site, last: r.LastName, first: r.FirstName, id: r.PersonID, at: r.In, extra: r.Session}
	default:
		r := &t.e.Staff[i]
		k := rowKey{date: r.Date, site: r.Site, last: r.LastName, first: r.FirstName, id: r.PersonID}
		if len(r.Pairs) > 0 {
			k.at = r.Pairs[0].In
		}
		return k
	}
}

func (t table) site(i int) string {
	switch t.e.Kind {
	case Meals:
		return t.e.Meals[i].Site
	case Garderie:
		return t.e.Garderie[i].Site
	default:
		return t.e.Staff[i].Site
	}
}

// order returns the indices of t's rows in the order they are written: by
// day, site, name (siteFirst: by site, day, name, for one sheet per site).
// Names are compared with French collation (accents and case do not
// scatter "Élodie" away from "Emma"), then the person id, then the time.
// The rows themselves are not moved: the caller's slices stay untouched and
// the extra memory is two int32 per row, not a copy of the rows.
func (t table) order(siteFirst bool) []int32 {
	rank := nameRanks(t)
	idx := make([]int32, t.n)
	for i := range idx {
		idx[i] = int32(i)
	}
	slices.SortStableFunc(idx, func(a, b int32) int {
		ka, kb := t.key(int(a)), t.key(int(b))
		var c int
		if siteFirst {
			c = cmp.Or(strings.Compare(ka.site, kb.site), ka.date.Compare(kb.date))
		} else {
			c = cmp.Or(ka.date.Compare(kb.date), strings.Compare(ka.site, kb.site))
		}
		return cmp.Or(c,
			cmp.Compare(rank[a], rank[b]),
			strings.Compare(ka.id, kb.id),
			ka.at.Compare(kb.at),
			strings.Compare(ka.extra, kb.extra))
	})
	return idx
}

// nameRanks gives each row the rank of its (last name, first name) in
// French collation order. Ranking the distinct names (a few thousand
// people) keeps the collator out of the sort's inner loop.
func nameRanks(t table) []int32 {
	type name struct{ last, first string }
	ranks := make(map[name]int32)
	for i := range t.n {
		k := t.key(i)
		ranks[name{k.last, k.first}] = 0
	}
	names := make([]name, 0, len(ranks))
	for n := range ranks {
		names = append(names, n)
	}
	// Letters first (Dupont Élodie before dupont Emma), then accents and
	// case, then bytes, so the order never depends on the input's.
	loose, full := collate.New(language.French, collate.Loose), collate.New(language.French)
	slices.SortFunc(names, func(a, b name) int {
		return cmp.Or(loose.CompareString(a.last, b.last), loose.CompareString(a.first, b.first),
			full.CompareString(a.last, b.last), full.CompareString(a.first, b.first),
			strings.Compare(a.last, b.last), strings.Compare(a.first, b.first))
	})
	for r, n := range names {
		ranks[n] = int32(r)
	}
	out := make([]int32, t.n)
	for i := range out {
		k := t.key(i)
		out[i] = ranks[name{k.last, k.first}]
	}
	return out
}
