package days

import (
	"context"
	"fmt"

	"pointage/hub/counts"
	"pointage/internal/civil"
)

// MonthFigures computes a month's figures per child (meals, occasional
// meals, garderie sessions, late pick-ups) and per staff member (days,
// hours, missing clock-outs) from the store, every site: what the
// retention keeps once the month's raw check-ins are purged.
func (s *Views) MonthFigures(ctx context.Context, first civil.Date) ([]counts.ChildMonthRow, []counts.StaffMonthRow, error) {
	if first.Day != 1 {
		return nil, nil, fmt.Errorf("month figures: %s is not the first day of a month", first)
	}
	var results []counts.Result
	for d := first; d.Month == first.Month; d = d.AddDays(1) {
		day, err := s.comp.compute(ctx, d, true)
		if err != nil {
			return nil, nil, fmt.Errorf("month figures of %s: %w", counts.Month(first), err)
		}
		for _, x := range day.Sites {
			r := day.Results[x]
			r.Detail.Scans = nil // the month's sums need the lists, not every scan
			results = append(results, r)
		}
	}
	return counts.ChildrenMonth(results), counts.StaffMonth(results), nil
}
