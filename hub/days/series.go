package days

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"pointage/hub/corrections"
	"pointage/hub/counts"
	"pointage/internal/civil"
)

// QuarterHour is the width of a bucket of the day's series.
const QuarterHour = 15 * time.Minute

// bucketsPerDay is the number of quarter hours of a local day by the wall
// clock (a daylight-saving day folds or skips an hour there).
const bucketsPerDay = 24 * 4

// seriesServices are the services the day's series count, in order.
var seriesServices = []string{"canteen", "garderie", "staff"}

// DaySeriesView is GET /api/v1/series/day: the day's check-ins per quarter
// hour of the site's local wall clock, per service.
type DaySeriesView struct {
	Date            string `json:"date"`
	Site            string `json:"site,omitempty"` // "" = every site added up
	Timezone        string `json:"timezone"`
	IntervalMinutes int    `json:"interval_minutes"`
	// Buckets are the local start times (HH:MM) of the 96 quarter hours.
	Buckets []string `json:"buckets"`
	// Series has, per service (canteen, garderie, staff), one count per
	// bucket.
	Series map[string][]int `json:"series"`
	Totals map[string]int   `json:"totals"`
}

// QuarterHours counts the scans of a day per service and quarter hour of
// the local wall clock in loc: every scan of the day is a check-in, except
// voided scans and scans of another day. Duplicates, unknown badges and
// ignored scans are counted: they are badges passed at a reader.
func QuarterHours(scans []counts.ScanResult, loc *time.Location) map[string][]int {
	if loc == nil {
		loc = counts.DefaultLocation
	}
	out := map[string][]int{}
	for _, s := range seriesServices {
		out[s] = make([]int, bucketsPerDay)
	}
	for _, s := range scans {
		if s.Kind == counts.KindVoided || s.Kind == counts.KindOtherDay {
			continue
		}
		b, ok := out[string(s.Service)]
		if !ok {
			continue
		}
		t := s.At.In(loc)
		b[t.Hour()*4+t.Minute()/15]++
	}
	return out
}

func bucketLabels() []string {
	out := make([]string, bucketsPerDay)
	for i := range out {
		out[i] = fmt.Sprintf("%02d:%02d", i/4, i%4*15)
	}
	return out
}

// DaySeries returns the day's check-ins per quarter hour for a site (""
// = every site added up); canteenOnly leaves the garderie and staff
// series out (the kitchen's view). ErrUnknownSite for a site nobody knows.
func (s *Views) DaySeries(ctx context.Context, day civil.Date, site string, canteenOnly bool) (DaySeriesView, error) {
	d, err := s.comp.Compute(ctx, day, site)
	if err != nil {
		return DaySeriesView{}, err
	}
	v := DaySeriesView{Date: day.String(), Site: site, Timezone: s.opts.Loc.String(), IntervalMinutes: int(QuarterHour / time.Minute),
		Buckets: bucketLabels(), Series: map[string][]int{}, Totals: map[string]int{}}
	for _, svc := range seriesServices {
		if canteenOnly && svc != "canteen" {
			continue
		}
		v.Series[svc] = make([]int, bucketsPerDay)
		v.Totals[svc] = 0
	}
	for _, x := range d.Sites {
		for svc, counts := range QuarterHours(d.Results[x].Detail.Scans, s.opts.Loc) {
			sum, ok := v.Series[svc]
			if !ok {
				continue
			}
			for i, n := range counts {
				sum[i] += n
				v.Totals[svc] += n
			}
		}
	}
	return v, nil
}

// MonthDay is one day of GET /api/v1/series/month.
type MonthDay struct {
	Date       string `json:"date"`
	Meals      int    `json:"meals"`
	StaffMeals int    `json:"staff_meals"`
	Expected   int    `json:"expected"`
	Closed     bool   `json:"closed"` // closed for every site counted
}

// MonthSeriesView is GET /api/v1/series/month: meals per day.
type MonthSeriesView struct {
	Month    string     `json:"month"`
	Site     string     `json:"site,omitempty"` // "" = every site added up
	Timezone string     `json:"timezone"`
	Days     []MonthDay `json:"days"` // from the 1st to today (days to come are left out)
}

// pastDayTTL is how long a past day's meals are served without being
// computed again. A correction of that day drops them at once (corrections
// are never edited or deleted, so their number per day tells), so does a
// closed day added or removed (Calendar.Stamp); events
// arriving late for a past day (a device back after days offline) do not
// signal it: a day older than this is recomputed, staleRefreshes per
// request, the others served as they were meanwhile.
const pastDayTTL = 10 * time.Minute

const (
	monthWorkers   = 4 // past days computed at once for a month not cached
	staleRefreshes = 2 // stale past days recomputed per request
	pastDaysLimit  = 400
)

// pastDays caches the meal figures of past days per site (Service.past).
type pastDays struct {
	mu   sync.Mutex
	days map[civil.Date]pastDay
}

type pastDay struct {
	sites       map[string]MonthDay
	corrections int    // the day's corrections when computed
	stamp       string // the calendar's Stamp of the day when computed
	at          time.Time
}

func (s *Views) pastDays() *pastDays { return &s.past }

func mealsOf(d *Day) map[string]MonthDay {
	out := make(map[string]MonthDay, len(d.Sites))
	for _, x := range d.Sites {
		r := d.Results[x]
		out[x] = MonthDay{Date: d.Date.String(), Meals: r.Canteen.Meals, StaffMeals: r.Canteen.StaffMeals,
			Expected: r.Canteen.Expected, Closed: r.Detail.Closed}
	}
	return out
}

// mealsOfCounts is mealsOf for a day's cached counts (the JSON of
// GET /api/v1/counts' sites).
func (s *Views) mealsOfCounts(d civil.Date, sites []json.RawMessage) map[string]MonthDay {
	out := make(map[string]MonthDay, len(sites))
	for _, raw := range sites {
		var r struct {
			Site    string `json:"site"`
			Canteen struct {
				Meals      int `json:"meals"`
				StaffMeals int `json:"staff_meals"`
				Expected   int `json:"expected"`
			} `json:"canteen"`
		}
		if json.Unmarshal(raw, &r) != nil {
			continue
		}
		closed, _ := s.opts.Calendar.Closed(r.Site, d)
		out[r.Site] = MonthDay{Date: d.String(), Meals: r.Canteen.Meals, StaffMeals: r.Canteen.StaffMeals,
			Expected: r.Canteen.Expected, Closed: closed}
	}
	return out
}

// MonthSeries returns the meals of each day of the month starting at
// first, up to today, for a site ("" = every site added up). Past days are
// computed once (four at a time) and cached (see pastDayTTL); today comes
// from the live figures. ErrUnknownSite for a site nobody knows.
func (s *Views) MonthSeries(ctx context.Context, first civil.Date, site string) (MonthSeriesView, error) {
	first = civil.Date{Year: first.Year, Month: first.Month, Day: 1}
	today := s.comp.Today()
	var days []civil.Date
	for d := first; d.Month == first.Month && !today.Before(d); d = d.AddDays(1) {
		days = append(days, d)
	}
	figures := make([]map[string]MonthDay, len(days))
	nCorr := map[string]int{}
	if len(days) > 0 {
		corrs, err := s.opts.Corrections.List(ctx, corrections.Filter{From: days[0].String(), To: days[len(days)-1].String()})
		if err != nil {
			return MonthSeriesView{}, err
		}
		for _, c := range corrs {
			nCorr[c.Day]++
		}
	}
	cache := s.pastDays()
	now := s.opts.Now()
	var todo []int
	refreshes := 0
	cache.mu.Lock()
	for i, d := range days {
		c, ok := cache.days[d]
		switch {
		case d == today || !ok || c.corrections != nCorr[d.String()] || c.stamp != s.opts.Calendar.Stamp(d):
			todo = append(todo, i)
		case now.Sub(c.at) >= pastDayTTL && refreshes < staleRefreshes:
			refreshes++
			todo = append(todo, i)
		default:
			figures[i] = c.sites
		}
	}
	cache.mu.Unlock()

	var wg sync.WaitGroup
	errs := make([]error, len(days))
	next := make(chan int)
	for w := 0; w < min(monthWorkers, len(todo)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				d := days[i]
				stamp := s.opts.Calendar.Stamp(d) // before computing: a change meanwhile recomputes
				if d == today {
					all, err := s.comp.Compute(ctx, d, "") // cached by Compute
					if err != nil {
						errs[i] = err
						continue
					}
					figures[i] = mealsOf(all)
					continue
				}
				// The day cache's counts (filled in the background) first;
				// else compute, not Compute: a month would evict today from
				// Compute's small cache.
				sites, key, ok := s.cache.cachedCounts(ctx, d)
				if ok {
					figures[i] = s.mealsOfCounts(d, sites)
				} else {
					all, err := s.comp.compute(ctx, d, false)
					if err != nil {
						errs[i] = fmt.Errorf("%s: %w", d, err)
						continue
					}
					figures[i] = mealsOf(all)
					s.cache.keepCounts(ctx, d, key, all)
				}
				cache.mu.Lock()
				if len(cache.days) >= pastDaysLimit {
					clear(cache.days)
				}
				cache.days[d] = pastDay{sites: figures[i], corrections: nCorr[d.String()], stamp: stamp, at: now}
				cache.mu.Unlock()
			}
		}()
	}
	for _, i := range todo {
		next <- i
	}
	close(next)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return MonthSeriesView{}, err
		}
	}

	v := MonthSeriesView{Month: fmt.Sprintf("%04d-%02d", first.Year, int(first.Month)), Site: site, Timezone: s.opts.Loc.String(), Days: []MonthDay{}}
	known := site == ""
	for i, d := range days {
		m := MonthDay{Date: d.String(), Closed: true}
		n := 0
		for x, f := range figures[i] {
			if site != "" && x != site {
				continue
			}
			known = true
			n++
			m.Meals += f.Meals
			m.StaffMeals += f.StaffMeals
			m.Expected += f.Expected
			m.Closed = m.Closed && f.Closed
		}
		m.Closed = m.Closed && n > 0
		v.Days = append(v.Days, m)
	}
	if !known {
		if _, err := s.comp.Compute(ctx, today, site); err != nil {
			return MonthSeriesView{}, err
		}
	}
	return v, nil
}
