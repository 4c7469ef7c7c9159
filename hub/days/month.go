package days

import (
	"context"
	"fmt"
	"sync"

	"pointage/hub/counts"
	"pointage/hub/export"
	"pointage/internal/civil"
	"pointage/internal/wire"
)

// Export computes every day of a month and returns its rows for the
// billing (meals, garderie) or payroll (staff) export. progress, if set,
// is called after each day with (days done, days in the month).
func (s *Views) Export(ctx context.Context, kind export.Kind, month, site string, progress func(done, total int)) (export.Export, error) {
	m, err := civil.ParseMonth(month)
	if err != nil {
		return export.Export{}, err
	}
	first := m.First()
	if !kind.Valid() {
		return export.Export{}, fmt.Errorf("export %q: want meals, garderie or staff", kind)
	}
	e := export.Export{Kind: kind, Month: month, Site: site, Loc: s.opts.Loc, GeneratedAt: s.opts.Now()}
	if s.opts.Names != nil {
		if e.Names, err = s.opts.Names(ctx); err != nil {
			return export.Export{}, fmt.Errorf("export: %w", err)
		}
	}
	if site != "" { // an unknown site is an error, not an empty export
		if _, err := s.comp.Compute(ctx, first, site); err != nil {
			return export.Export{}, err
		}
	}
	total := m.Days()
	// Past days come from the day cache when it holds (daycache.go); the
	// others are counted, two at a time. Each day keeps only the export's
	// kind and site, its text shared with the other days' (one copy of a
	// child's name for the month, not one a day): a citywide month of
	// meals is then its 200,000 rows and little more.
	days := make([]dayRows, total)
	errs := make([]error, total)
	next := make(chan int)
	var wg sync.WaitGroup
	var mu sync.Mutex
	in := interner{}
	done := 0
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				r, err := s.cache.rowsOfDay(ctx, first.AddDays(i))
				mu.Lock()
				if errs[i] = err; err == nil {
					days[i] = keepRows(r, kind, site, in)
				}
				done++
				if progress != nil {
					progress(done, total)
				}
				mu.Unlock()
			}
		}()
	}
	for i := range total {
		next <- i
	}
	close(next)
	wg.Wait()
	n := 0
	for i := range days {
		if errs[i] != nil {
			return export.Export{}, fmt.Errorf("%s: %w", first.AddDays(i), errs[i])
		}
		n += len(days[i].Meals) + len(days[i].Garderie) + len(days[i].Staff)
	}
	switch kind {
	case export.Meals:
		e.Meals = make([]export.MealRow, 0, n)
	case export.Garderie:
		e.Garderie = make([]export.GarderieRow, 0, n)
	case export.Staff:
		e.Staff = make([]export.StaffRow, 0, n)
	}
	for i := range days {
		e.Meals = append(e.Meals, days[i].Meals...)
		e.Garderie = append(e.Garderie, days[i].Garderie...)
		e.Staff = append(e.Staff, days[i].Staff...)
		days[i] = dayRows{}
	}
	return e, nil
}

// keepRows returns a day's rows of one kind (and one site, "" = all), their
// text interned.
func keepRows(r *dayRows, kind export.Kind, site string, in interner) dayRows {
	var out dayRows
	switch kind {
	case export.Meals:
		for _, x := range r.Meals {
			if site == "" || x.Site == site {
				x.Site, x.PersonID, x.LastName, x.FirstName = in.of(x.Site), in.of(x.PersonID), in.of(x.LastName), in.of(x.FirstName)
				x.FamilyID, x.Class, x.Regime, x.Status = in.of(x.FamilyID), in.of(x.Class), in.of(x.Regime), in.of(x.Status)
				out.Meals = append(out.Meals, x)
			}
		}
	case export.Garderie:
		for _, x := range r.Garderie {
			if site == "" || x.Site == site {
				x.Site, x.Session, x.PersonID, x.LastName, x.FirstName = in.of(x.Site), in.of(x.Session), in.of(x.PersonID), in.of(x.LastName), in.of(x.FirstName)
				x.FamilyID, x.Class = in.of(x.FamilyID), in.of(x.Class)
				out.Garderie = append(out.Garderie, x)
			}
		}
	case export.Staff:
		for _, x := range r.Staff {
			if site == "" || x.Site == site {
				x.Site, x.PersonID, x.LastName, x.FirstName = in.of(x.Site), in.of(x.PersonID), in.of(x.LastName), in.of(x.FirstName)
				out.Staff = append(out.Staff, x)
			}
		}
	}
	return out
}

// interner keeps one copy of each string it is given.
type interner map[string]string

func (in interner) of(s string) string {
	if v, ok := in[s]; ok {
		return v
	}
	in[s] = s
	return s
}

// flagsByPerson returns, per person id, whether a counted scan of the
// service needs review and whether one was added by a correction.
func flagsByPerson(r counts.Result, service wire.Service) (review, corrected map[string]bool) {
	review, corrected = map[string]bool{}, map[string]bool{}
	for _, sr := range r.Detail.Scans {
		if sr.Person == nil || sr.Service != service || sr.Kind == counts.KindVoided || sr.Kind == counts.KindOtherDay {
			continue
		}
		review[sr.Person.PersonID] = review[sr.Person.PersonID] || sr.Review
		corrected[sr.Person.PersonID] = corrected[sr.Person.PersonID] || sr.Correction != ""
	}
	return review, corrected
}

func mealRows(day civil.Date, r counts.Result) []export.MealRow {
	review, corrected := flagsByPerson(r, "canteen")
	var out []export.MealRow
	for _, sv := range r.Detail.Canteen.Served {
		p := sv.Person
		if p == nil {
			continue
		}
		status := export.StatusOccasional
		if sv.Expected {
			status = export.StatusExpected
		}
		out = append(out, export.MealRow{Date: day, Site: r.Site, PersonID: p.PersonID, LastName: p.LastName, FirstName: p.FirstName,
			FamilyID: p.FamilyID, Class: p.Class, Regime: p.Regime, Status: status, Review: review[p.PersonID], Corrected: corrected[p.PersonID]})
	}
	return out
}

func garderieRows(day civil.Date, r counts.Result) []export.GarderieRow {
	review, _ := flagsByPerson(r, "garderie")
	var out []export.GarderieRow
	for _, sd := range r.Detail.Garderie {
		for _, c := range sd.Children {
			p := c.Person
			if p == nil || c.In == nil {
				continue
			}
			row := export.GarderieRow{Date: day, Site: r.Site, Session: sd.Name, PersonID: p.PersonID, LastName: p.LastName,
				FirstName: p.FirstName, FamilyID: p.FamilyID, Class: p.Class, In: *c.In, Out: c.Out, Late: c.Late,
				StillPresent: c.Present || c.NeverCheckedOut, Review: review[p.PersonID]}
			if c.Out != nil {
				row.Duration = c.Duration
			}
			out = append(out, row)
		}
	}
	return out
}

func staffRows(day civil.Date, r counts.Result) []export.StaffRow {
	review, corrected := flagsByPerson(r, "staff")
	var out []export.StaffRow
	for _, sd := range r.Detail.Staff {
		p := sd.Person
		if p == nil {
			continue
		}
		row := export.StaffRow{Date: day, Site: r.Site, PersonID: p.PersonID, LastName: p.LastName, FirstName: p.FirstName, Hours: sd.Worked}
		fromCorrection := false
		for _, sh := range sd.Shifts {
			fromCorrection = fromCorrection || sh.OutCorrection
			if sh.In == nil {
				continue // a clock-out without clock-in: flagged below
			}
			row.Pairs = append(row.Pairs, export.Pair{In: *sh.In, Out: sh.Out})
		}
		row.Flags = append(row.Flags, sd.Flags...)
		if review[p.PersonID] {
			row.Flags = append(row.Flags, export.FlagReview)
		}
		if corrected[p.PersonID] || fromCorrection {
			row.Flags = append(row.Flags, export.FlagCorrected)
		}
		out = append(out, row)
	}
	return out
}
