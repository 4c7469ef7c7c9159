package counts

import (
	"slices"
	"time"

	"pointage/hub/roster"
	"pointage/internal/civil"
	"pointage/internal/wire"
)

// City keeps the figures of one local day, every site, up to date scan by
// scan: the live counts of the API. Add does constant work per scan (a few
// map updates, and re-deriving the one person's garderie session or staff
// day, a handful of scans); Results reads the running figures. For the
// same scans, in any order of arrival, Results equals Compute on each
// site's Input followed by CrossSiteWarnings (TestCityEqualsCompute).
//
// A City is not safe for concurrent use.
type City struct {
	newSite func(site string) Input
	sites   map[string]*Tally
	// childSites holds the sites where a child has a counted canteen or
	// garderie scan; twoSites the children with more than one.
	childSites map[string][]string
	twoSites   map[string]bool
	day        civil.Date
}

// NewCity returns an empty City of one day. newSite returns the Input of a
// site (everything but Scans): it is called for each site given and for
// each new site a scan names.
func NewCity(day civil.Date, sites []string, newSite func(site string) Input) *City {
	c := &City{newSite: newSite, sites: map[string]*Tally{}, childSites: map[string][]string{}, twoSites: map[string]bool{}, day: day}
	for _, s := range sites {
		c.site(s)
	}
	return c
}

func (c *City) site(site string) *Tally {
	t := c.sites[site]
	if t == nil {
		in := c.newSite(site)
		in.Site = site
		t = NewTally(in)
		c.sites[site] = t
	}
	return t
}

// AddSite makes sure a site is counted, with or without scans.
func (c *City) AddSite(site string) { c.site(site) }

// Has reports whether the site is counted.
func (c *City) Has(site string) bool { return c.sites[site] != nil }

// Add counts one scan of a site. A scan ID already added is ignored.
func (c *City) Add(site string, s Scan) {
	t := c.site(site)
	if child, ok := t.Add(s); ok && child != "" && !slices.Contains(c.childSites[child], site) {
		c.childSites[child] = append(c.childSites[child], site)
		if len(c.childSites[child]) > 1 {
			c.twoSites[child] = true
		}
	}
}

// Sites returns the counted sites, sorted.
func (c *City) Sites() []string { return sortedKeys(c.sites) }

// Results returns every site's figures at now, by site, with the
// cross-site warnings: the JSON-visible part of what Compute returns
// (Detail is left empty).
func (c *City) Results(now time.Time) []Result {
	cross := map[string][]Warning{}
	for _, person := range sortedKeys(c.twoSites) {
		ss := slices.Sorted(slices.Values(c.childSites[person]))
		w := twoSitesWarning(c.day, person, ss)
		for _, s := range ss {
			cross[s] = append(cross[s], w)
		}
	}
	out := make([]Result, 0, len(c.sites))
	for _, site := range c.Sites() {
		r := c.sites[site].Result(now)
		r.Warnings = append(r.Warnings, cross[site]...)
		out = append(out, r)
	}
	return out
}

// Tally keeps one site's figures of one day up to date scan by scan.
type Tally struct {
	in               Input // Scans unused
	dayStart, dayEnd time.Time
	sessions         []daySession
	seen             map[string]bool

	enrolled         int
	expected         map[string]bool
	expectedByRegime map[string]int

	canteenChild   map[string]int // canteen scans per child
	meals          int
	duplicates     int
	servedExpected int
	unexpected     int
	byRegime       map[string]int
	staffMeals     map[string]bool
	unknownCanteen map[string]bool

	garderie []sessionTally
	staff    map[string]*personDay
	present  int // staff present
}

type sessionTally struct {
	children map[string]*personDay
	inside   int // children whose last counted scan is an in
	late     int
}

// personDay is one person's scans in one garderie session or at the staff
// reader, in counting order, and what they came to.
type personDay struct {
	scans         []ScanResult
	inside, late  bool
	staffPresence bool
}

// NewTally returns the figures of in (its Scans are not read) before any
// scan: expected, enrolled, nothing served.
func NewTally(in Input) *Tally {
	if in.Loc == nil {
		in.Loc = DefaultLocation
	}
	in.Scans = nil
	t := &Tally{in: in, seen: map[string]bool{}, expected: map[string]bool{}, expectedByRegime: map[string]int{},
		canteenChild: map[string]int{}, byRegime: map[string]int{}, staffMeals: map[string]bool{},
		unknownCanteen: map[string]bool{}, staff: map[string]*personDay{}}
	t.dayStart, t.dayEnd = DayBounds(in.Day, in.Loc)
	t.sessions = placeSessions(in.Sessions, in.Day, in.Loc)
	t.garderie = make([]sessionTally, len(t.sessions))
	for i := range t.garderie {
		t.garderie[i].children = map[string]*personDay{}
	}
	if snap := in.Roster; snap != nil {
		wd := in.Day.Weekday()
		people := snap.People()
		for i := range people {
			p := &people[i]
			if p.Role != roster.RoleChild || p.Site != in.Site || !p.CanteenDays.Has(wd) {
				continue
			}
			t.enrolled++
			if in.Closed || in.Absent[p.PersonID] {
				continue
			}
			t.expected[p.PersonID] = true
			t.expectedByRegime[p.Regime]++
		}
	}
	return t
}

// Add counts one scan, classified as Compute classifies it. It returns the
// person id when the scan is a counted canteen or garderie scan of a child
// (for the cross-site check), and false when the scan ID was already added.
func (t *Tally) Add(s Scan) (child string, added bool) {
	if t.seen[s.ID] {
		return "", false
	}
	t.seen[s.ID] = true
	if s.Voided || s.At.Before(t.dayStart) || !s.At.Before(t.dayEnd) {
		return "", true
	}
	switch s.Service {
	case wire.ServiceCanteen, wire.ServiceGarderie, wire.ServiceStaff:
	default:
		return "", true
	}
	var p *roster.Person
	if snap := t.in.Roster; snap != nil {
		if s.PersonID != "" {
			p, _ = snap.Person(s.PersonID)
		} else {
			p, _ = snap.Lookup(s.Badge)
		}
	}
	if p == nil {
		if s.Service == wire.ServiceCanteen && s.Badge != "" {
			t.unknownCanteen[s.Badge] = true
		}
		return "", true
	}
	id := p.PersonID
	switch {
	case s.Service == wire.ServiceCanteen && p.Role == roster.RoleChild:
		n := t.canteenChild[id]
		t.canteenChild[id] = n + 1
		if n > 0 {
			t.duplicates++
			return id, true
		}
		t.meals++
		t.byRegime[p.Regime]++
		if t.expected[id] {
			t.servedExpected++
		} else {
			t.unexpected++
		}
		return id, true
	case s.Service == wire.ServiceCanteen && p.Role == roster.RoleStaff:
		t.staffMeals[id] = true
	case s.Service == wire.ServiceGarderie && p.Role == roster.RoleChild:
		si := sessionOf(t.sessions, s.At)
		g := &t.garderie[si]
		pd := g.children[id]
		if pd == nil {
			pd = &personDay{}
			g.children[id] = pd
		}
		if pd.inside {
			g.inside--
		}
		if pd.late {
			g.late--
		}
		pd.insert(s, p)
		ch := t.computation(pd).child(t.sessions[si], id, pd.indices())
		pd.inside, pd.late = ch.Present, ch.Late
		if pd.inside {
			g.inside++
		}
		if pd.late {
			g.late++
		}
		return id, true
	case s.Service == wire.ServiceStaff && p.Role == roster.RoleStaff:
		pd := t.staff[id]
		if pd == nil {
			pd = &personDay{}
			t.staff[id] = pd
		}
		if pd.staffPresence {
			t.present--
		}
		pd.insert(s, p)
		pd.staffPresence = t.computation(pd).staffDay(id, pd.indices()).Present
		if pd.staffPresence {
			t.present++
		}
	}
	return "", true
}

// computation is a Compute of one person's scans at the start of the day:
// what child and staffDay need to follow that person. Presence is what the
// scans say; the end of an auto_close session is applied by Result.
func (t *Tally) computation(pd *personDay) *computation {
	return &computation{in: t.in, dayStart: t.dayStart, dayEnd: t.dayEnd, now: t.dayStart, sessions: t.sessions, scans: pd.scans}
}

// insert puts s in counting order (Compute's order: At, Seq, Device, ID).
func (pd *personDay) insert(s Scan, p *roster.Person) {
	r := ScanResult{Scan: s, Person: p}
	i, _ := slices.BinarySearchFunc(pd.scans, &r, func(a ScanResult, b *ScanResult) int {
		return compareScans(&a.Scan, &b.Scan)
	})
	pd.scans = slices.Insert(pd.scans, i, r)
}

func (pd *personDay) indices() []int {
	// child and staffDay take indices into computation.scans; the person's
	// own scans stand in for them.
	idx := make([]int, len(pd.scans))
	for i := range idx {
		idx[i] = i
	}
	return idx
}

// Result returns the site's figures at now (clamped to the day, as
// Compute does): the JSON-visible part of Compute's Result, Detail empty.
func (t *Tally) Result(now time.Time) Result {
	if now.IsZero() || now.After(t.dayEnd) {
		now = t.dayEnd
	}
	if now.Before(t.dayStart) {
		now = t.dayStart
	}
	res := Result{Site: t.in.Site, Garderie: make(map[string]SessionCounts, len(t.sessions)), Warnings: []Warning{}}
	cc := &res.Canteen
	cc.Meals, cc.Duplicates, cc.Unexpected = t.meals, t.duplicates, t.unexpected
	cc.StaffMeals = len(t.staffMeals)
	cc.ByRegime = make(map[string]int, len(t.byRegime))
	for k, v := range t.byRegime {
		cc.ByRegime[k] = v
	}
	cc.ExpectedByRegime = make(map[string]int, len(t.expectedByRegime))
	for k, v := range t.expectedByRegime {
		cc.ExpectedByRegime[k] = v
	}
	cc.Expected = len(t.expected)
	cc.Absent = cc.Expected - t.servedExpected
	cc.UnknownBadges = len(t.unknownCanteen)
	children := 0
	for i, s := range t.sessions {
		g := t.garderie[i]
		sc := SessionCounts{Children: len(g.children), Present: g.inside}
		if s.AutoClose && now.After(s.end) {
			sc.Present = 0 // checked out at the end: the children went to class
		}
		if !s.AutoClose {
			late := g.late
			sc.Late = &late
		}
		res.Garderie[s.Name] = sc
		children += sc.Children
	}
	res.Staff.Present = t.present
	res.Warnings = siteWarnings(t.in, cc.Meals, cc.StaffMeals, t.enrolled, children)
	return res
}
