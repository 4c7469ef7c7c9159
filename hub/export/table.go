package export

import (
	"bytes"
	"cmp"
	"maps"
	"pointage/internal/civil"
	"slices"
	"strings"
	"time"

	"golang.org/x/text/collate"
	"golang.org/x/text/language"
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
	date                  civil.Date
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
// the extra memory is 16 bytes a row, not a copy of the rows.
func (t table) order(siteFirst bool) []int32 {
	rank := nameRanks(t)
	// The day and the site, ranked, in one number: most comparisons end
	// there or at the name's rank, without looking at the rows again.
	sites := map[string]uint64{}
	for i := range t.n {
		sites[t.site(i)] = 0
	}
	for r, s := range slices.Sorted(maps.Keys(sites)) {
		sites[s] = uint64(r)
	}
	primary := make([]uint64, t.n)
	for i := range primary {
		d := t.key(i).date
		day := uint64(d.Year)<<9 | uint64(d.Month)<<5 | uint64(d.Day) // < 2^23
		if siteFirst {
			primary[i] = sites[t.site(i)]<<32 | day
		} else {
			primary[i] = day<<32 | sites[t.site(i)]
		}
	}
	idx := make([]int32, t.n)
	for i := range idx {
		idx[i] = int32(i)
	}
	slices.SortStableFunc(idx, func(a, b int32) int {
		if c := cmp.Or(cmp.Compare(primary[a], primary[b]), cmp.Compare(rank[a], rank[b])); c != 0 {
			return c
		}
		ka, kb := t.key(int(a)), t.key(int(b))
		return cmp.Or(strings.Compare(ka.id, kb.id), ka.at.Compare(kb.at), strings.Compare(ka.extra, kb.extra))
	})
	return idx
}

// nameRanks gives each row the rank of its (last name, first name) in
// French collation order: letters first (Dupont Élodie before dupont Emma),
// then accents and case, then bytes, so the order never depends on the
// input's. Only the distinct names (a few thousand people) are collated,
// each once, into sort keys.
func nameRanks(t table) []int32 {
	type name struct{ last, first string }
	ranks := make(map[name]int32)
	for i := range t.n {
		k := t.key(i)
		ranks[name{k.last, k.first}] = 0
	}
	loose, full := collate.New(language.French, collate.Loose), collate.New(language.French)
	type keyed struct {
		n    name
		keys [4][]byte
	}
	var buf collate.Buffer
	names := make([]keyed, 0, len(ranks))
	for n := range ranks {
		names = append(names, keyed{n, [4][]byte{
			slices.Clone(loose.KeyFromString(&buf, n.last)), slices.Clone(loose.KeyFromString(&buf, n.first)),
			slices.Clone(full.KeyFromString(&buf, n.last)), slices.Clone(full.KeyFromString(&buf, n.first)),
		}})
		buf.Reset()
	}
	slices.SortFunc(names, func(a, b keyed) int {
		return cmp.Or(bytes.Compare(a.keys[0], b.keys[0]), bytes.Compare(a.keys[1], b.keys[1]),
			bytes.Compare(a.keys[2], b.keys[2]), bytes.Compare(a.keys[3], b.keys[3]),
			strings.Compare(a.n.last, b.n.last), strings.Compare(a.n.first, b.n.first))
	})
	for r, n := range names {
		ranks[n.n] = int32(r)
	}
	out := make([]int32, t.n)
	for i := range out {
		k := t.key(i)
		out[i] = ranks[name{k.last, k.first}]
	}
	return out
}
