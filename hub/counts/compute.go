package counts

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"pointage/hub/roster"
	"pointage/internal/wire"
)

// Compute counts one site's day (docs/DESIGN.md §5). It is a pure function of in:
// no I/O, no clock but in.Now, no time.Local.
func Compute(in Input) Result {
	loc := in.Loc
	if loc == nil {
		loc = DefaultLocation
	}
	dayStart, dayEnd := DayBounds(in.Day, loc)
	now := in.Now
	if now.IsZero() || now.After(dayEnd) {
		now = dayEnd
	}
	if now.Before(dayStart) {
		now = dayStart
	}
	c := &computation{
		in:       in,
		dayStart: dayStart,
		dayEnd:   dayEnd,
		now:      now,
		past:     !now.Before(dayEnd),
		sessions: placeSessions(in.Sessions, in.Day, loc),
	}
	c.classify()
	res := Result{
		Site:     in.Site,
		Garderie: make(map[string]SessionCounts, len(c.sessions)),
		Warnings: []Warning{},
		Detail: Detail{
			Day: in.Day, Loc: loc, Now: now, Past: c.past, Closed: in.Closed,
			Scans: c.scans, Review: c.review, Unknown: c.unknownList(),
		},
	}
	c.canteen(&res)
	c.garderie(&res)
	c.staff(&res)
	c.warnings(&res)
	return res
}

// computation holds the state of one Compute.
type computation struct {
	in       Input
	dayStart time.Time
	dayEnd   time.Time
	now      time.Time
	past     bool
	sessions []daySession

	scans  []ScanResult
	review int

	// Indices into scans, per person, in scan order.
	canteenChild map[string][]int
	canteenStaff map[string][]int
	garderieBy   []map[string][]int // per session
	staffBy      map[string][]int
	unknown      map[unknownKey]*UnknownBadge
}

func compareScans(a, b *Scan) int {
	if c := a.At.Compare(b.At); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Seq, b.Seq); c != 0 {
		return c
	}
	if c := strings.Compare(a.Device, b.Device); c != 0 {
		return c
	}
	return strings.Compare(a.ID, b.ID)
}

// classify orders the scans, resolves people and sorts the scans into
// services; the kinds that need a person's whole day are set later.
func (c *computation) classify() {
	// Sort small keys, not the (large) scans: a stable order by At, Seq,
	// Device, ID, then input position.
	scans := c.in.Scans
	type key struct {
		at  int64 // At as Unix nanoseconds (every time from 1678 to 2262)
		seq uint64
		i   int
	}
	keys := make([]key, len(scans))
	for i := range scans {
		keys[i] = key{scans[i].At.UnixNano(), scans[i].Seq, i}
	}
	slices.SortFunc(keys, func(a, b key) int {
		if a.at != b.at {
			return cmp.Compare(a.at, b.at)
		}
		if a.seq != b.seq {
			return cmp.Compare(a.seq, b.seq)
		}
		return cmp.Or(compareScans(&scans[a.i], &scans[b.i]), cmp.Compare(a.i, b.i))
	})
	c.scans = make([]ScanResult, len(scans))
	for i, k := range keys {
		c.scans[i] = ScanResult{Scan: scans[k.i]}
	}
	hint := len(scans)/2 + 1
	c.canteenChild = make(map[string][]int, hint)
	c.canteenStaff = map[string][]int{}
	c.staffBy = map[string][]int{}
	c.unknown = map[unknownKey]*UnknownBadge{}
	c.garderieBy = make([]map[string][]int, len(c.sessions))
	for i := range c.garderieBy {
		c.garderieBy[i] = make(map[string][]int, hint/len(c.sessions))
	}
	snap := c.in.Roster
	for i := range c.scans {
		r := &c.scans[i]
		if snap != nil {
			if r.PersonID != "" {
				r.Person, _ = snap.Person(r.PersonID)
			} else {
				r.Person, _ = snap.Lookup(r.Badge)
			}
		}
		if r.Service == wire.ServiceGarderie {
			r.Session = c.sessions[sessionOf(c.sessions, r.At)].Name
		}
		switch {
		case r.Voided:
			r.Kind = KindVoided
			continue
		case r.At.Before(c.dayStart) || !r.At.Before(c.dayEnd):
			r.Kind = KindOtherDay
			continue
		}
		if r.Review {
			c.review++
		}
		p := r.Person
		switch r.Service {
		case wire.ServiceCanteen, wire.ServiceGarderie, wire.ServiceStaff:
		default:
			r.Kind, r.Note = KindIgnored, fmt.Sprintf("unknown service %q", r.Service)
			continue
		}
		if p == nil {
			r.Kind = KindUnknown
			if r.Badge != "" {
				c.addUnknown(r)
			} else {
				r.Note = fmt.Sprintf("person %q is not in the roster that day", r.PersonID)
			}
			continue
		}
		switch {
		case r.Service == wire.ServiceCanteen && p.Role == roster.RoleChild:
			c.canteenChild[p.PersonID] = append(c.canteenChild[p.PersonID], i)
		case r.Service == wire.ServiceCanteen && p.Role == roster.RoleStaff:
			c.canteenStaff[p.PersonID] = append(c.canteenStaff[p.PersonID], i)
		case r.Service == wire.ServiceGarderie && p.Role == roster.RoleChild:
			m := c.garderieBy[sessionOf(c.sessions, r.At)]
			m[p.PersonID] = append(m[p.PersonID], i)
		case r.Service == wire.ServiceStaff && p.Role == roster.RoleStaff:
			c.staffBy[p.PersonID] = append(c.staffBy[p.PersonID], i)
		case r.Service == wire.ServiceGarderie:
			r.Kind, r.Note = KindIgnored, "staff badge at the garderie: only children are counted"
		case r.Service == wire.ServiceStaff:
			r.Kind, r.Note = KindIgnored, "child badge at a staff reader: only staff clock in"
		default:
			r.Kind, r.Note = KindIgnored, fmt.Sprintf("role %q is not counted", p.Role)
		}
	}
}

// unknownKey is an unknown badge's service and badge.
type unknownKey struct {
	service wire.Service
	badge   string
}

func (c *computation) addUnknown(r *ScanResult) {
	k := unknownKey{r.Service, r.Badge}
	u := c.unknown[k]
	if u == nil {
		u = &UnknownBadge{Service: r.Service, Badge: r.Badge, First: r.At}
		c.unknown[k] = u
	}
	u.Scans++
	u.Last = r.At
}

func (c *computation) unknownList() []UnknownBadge {
	out := make([]UnknownBadge, 0, len(c.unknown))
	for _, u := range c.unknown {
		out = append(out, *u)
	}
	slices.SortFunc(out, func(a, b UnknownBadge) int {
		return cmp.Or(cmp.Compare(a.Service, b.Service), strings.Compare(a.Badge, b.Badge))
	})
	return out
}

// sortedKeys returns a map's keys, sorted.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func (c *computation) canteen(res *Result) {
	cc := &res.Canteen
	cd := &res.Detail.Canteen
	cc.ByRegime = map[string]int{}
	cc.ExpectedByRegime = map[string]int{}
	cd.DeclaredAbsent = []string{}
	for _, id := range sortedKeys(c.in.Absent) {
		if c.in.Absent[id] {
			cd.DeclaredAbsent = append(cd.DeclaredAbsent, id)
		}
	}

	// Served: one meal per child, the later scans are duplicates.
	served := make(map[string]bool, len(c.canteenChild))
	for id, idxs := range c.canteenChild {
		served[id] = true
		c.scans[idxs[0]].Kind = KindMeal
		for _, i := range idxs[1:] {
			c.scans[i].Kind = KindDuplicate
		}
		cc.Duplicates += len(idxs) - 1
	}
	for _, idxs := range c.canteenStaff {
		c.scans[idxs[0]].Kind = KindStaffMeal
		for _, i := range idxs[1:] {
			c.scans[i].Kind = KindStaffMealDuplicate
		}
	}
	// In scan order, so by first scan.
	cd.Served = make([]Served, 0, len(c.canteenChild))
	for i := range c.scans {
		r := &c.scans[i]
		switch r.Kind {
		case KindMeal:
			cc.ByRegime[r.Person.Regime]++
			cd.Served = append(cd.Served, Served{PersonID: r.Person.PersonID, Person: r.Person, First: r.At, Scans: len(c.canteenChild[r.Person.PersonID])})
		case KindStaffMeal:
			cd.StaffMeals = append(cd.StaffMeals, Served{PersonID: r.Person.PersonID, Person: r.Person, First: r.At, Scans: len(c.canteenStaff[r.Person.PersonID])})
		}
	}
	cc.Meals = len(cd.Served)
	cc.StaffMeals = len(cd.StaffMeals)

	// Expected: the site's children enrolled on the weekday, minus the
	// declared absences; nobody on a closed day.
	expected := map[string]bool{}
	if snap := c.in.Roster; snap != nil {
		wd := c.in.Day.Weekday()
		people := snap.People()
		for i := range people {
			p := &people[i]
			if p.Role != roster.RoleChild || p.Site != c.in.Site || !p.CanteenDays.Has(wd) {
				continue
			}
			cd.Enrolled++
			if c.in.Closed || c.in.Absent[p.PersonID] {
				continue
			}
			expected[p.PersonID] = true
			cc.ExpectedByRegime[p.Regime]++
			if !served[p.PersonID] {
				cd.Absent = append(cd.Absent, p)
			}
		}
	}
	cc.Expected = len(expected)
	slices.SortFunc(cd.Absent, func(a, b *roster.Person) int { return strings.Compare(a.PersonID, b.PersonID) })
	cc.Absent = len(cd.Absent)

	for i := range cd.Served {
		s := &cd.Served[i]
		s.Expected = expected[s.PersonID]
		if !s.Expected {
			cd.Unexpected = append(cd.Unexpected, *s)
		}
	}
	cc.Unexpected = len(cd.Unexpected)

	cd.UnknownBadges = []string{}
	for _, u := range res.Detail.Unknown {
		if u.Service == wire.ServiceCanteen {
			cd.UnknownBadges = append(cd.UnknownBadges, u.Badge)
		}
	}
	cc.UnknownBadges = len(cd.UnknownBadges)
}

// want returns the direction a scan asks for: its explicit dir, or the
// opposite of the current state with auto.
func want(dir wire.Dir, inside bool) (in bool, explicit bool) {
	switch dir {
	case wire.DirIn:
		return true, true
	case wire.DirOut:
		return false, true
	}
	return !inside, false
}

// isDuplicate applies the 2-minute rule: a device scan within
// DuplicateWindow of the person's previous scan (counted or not, so a card
// badged again and again stays one scan) is a duplicate, unless it comes
// from an explicit reader asking for the other direction (respected). A
// scan added by a correction is deliberate, never a duplicate.
func isDuplicate(r *ScanResult, prev *ScanResult, inside, wantIn, explicit bool) bool {
	if r.Correction != "" || prev == nil || r.At.Sub(prev.At) >= DuplicateWindow {
		return false
	}
	return !explicit || wantIn == inside
}

func tp(t time.Time) *time.Time { return &t }

func (c *computation) garderie(res *Result) {
	res.Detail.Garderie = make([]SessionDetail, len(c.sessions))
	for si, s := range c.sessions {
		ended := c.now.After(s.end)
		sd := SessionDetail{Session: s.Session, Opens: s.opens, Start: s.start, End: s.end, Ended: ended,
			Present: []string{}, Late: []string{}}
		byChild := c.garderieBy[si]
		sd.Children = make([]Child, 0, len(byChild))
		for _, id := range sortedKeys(byChild) {
			ch := c.child(s, id, byChild[id])
			if ch.Present {
				sd.Present = append(sd.Present, id)
			}
			if ch.Late {
				sd.Late = append(sd.Late, id)
			}
			sd.Children = append(sd.Children, ch)
		}
		counts := SessionCounts{Children: len(sd.Children), Present: len(sd.Present)}
		if !s.AutoClose {
			late := len(sd.Late)
			counts.Late = &late
		}
		res.Garderie[s.Name] = counts
		res.Detail.Garderie[si] = sd
	}
}

// child follows one child through one session: scans alternate in/out
// (dir auto) or follow their reader (in, out); 2-minute repeats are
// duplicates.
func (c *computation) child(s daySession, id string, idxs []int) Child {
	ch := Child{PersonID: id, Person: c.scans[idxs[0]].Person}
	inside := false
	var prev *ScanResult
	for _, i := range idxs {
		r := &c.scans[i]
		wantIn, explicit := want(r.Dir, inside)
		dup := isDuplicate(r, prev, inside, wantIn, explicit)
		prev = r
		if dup {
			r.Kind = KindGarderieDuplicate
			continue
		}
		at := r.At
		if wantIn {
			r.Kind = KindIn
			if !inside {
				ch.Stays = append(ch.Stays, Stay{In: tp(at)})
				inside = true
			}
			continue
		}
		r.Kind = KindOut
		if inside {
			ch.Stays[len(ch.Stays)-1].Out = tp(at)
			inside = false
		} else {
			ch.Stays = append(ch.Stays, Stay{Out: tp(at)})
			ch.OutWithoutIn = true
		}
		if !s.AutoClose && at.After(s.end) {
			ch.Late = true
		}
	}
	if inside && s.AutoClose && c.now.After(s.end) {
		st := &ch.Stays[len(ch.Stays)-1]
		end := s.end
		if st.In.After(end) {
			end = *st.In
		}
		st.Out, st.AutoClosed = tp(end), true
		inside = false
	}
	ch.Present = inside
	for _, st := range ch.Stays {
		switch {
		case st.In == nil:
		case st.Out != nil:
			ch.Duration += st.Out.Sub(*st.In)
		case c.past:
			ch.NeverCheckedOut = true
		case c.now.After(*st.In):
			ch.Duration += c.now.Sub(*st.In)
		}
		if ch.In == nil && st.In != nil {
			ch.In = st.In
		}
	}
	if !inside && len(ch.Stays) > 0 {
		ch.Out = ch.Stays[len(ch.Stays)-1].Out
	}
	return ch
}

func (c *computation) staff(res *Result) {
	// A closed clock-out for someone with no staff scan that day is listed
	// too (flagged unused): the office sees the correction did nothing.
	for id := range c.in.ClosedClockOuts {
		if _, ok := c.staffBy[id]; !ok {
			c.staffBy[id] = nil
		}
	}
	ids := sortedKeys(c.staffBy)
	res.Detail.Staff = make([]StaffDay, 0, len(ids))
	for _, id := range ids {
		sd := c.staffDay(id, c.staffBy[id])
		if sd.Present {
			res.Staff.Present++
		}
		res.Detail.Staff = append(res.Detail.Staff, sd)
	}
}

// staffDay pairs one staff member's clock-ins and clock-outs. A missing
// clock-out is flagged, never guessed; a closed clock-out correction
// closes the latest open shift that started before it.
func (c *computation) staffDay(id string, idxs []int) StaffDay {
	sd := StaffDay{PersonID: id}
	if len(idxs) > 0 {
		sd.Person = c.scans[idxs[0]].Person
	} else if c.in.Roster != nil {
		sd.Person, _ = c.in.Roster.Person(id)
	}
	flags := map[string]bool{}
	inside := false
	var prev *ScanResult
	for _, i := range idxs {
		r := &c.scans[i]
		wantIn, explicit := want(r.Dir, inside)
		dup := isDuplicate(r, prev, inside, wantIn, explicit)
		prev = r
		if dup {
			r.Kind = KindClockDuplicate
			continue
		}
		if wantIn {
			r.Kind = KindClockIn
			if inside { // clocked in again without clocking out
				flags[FlagMissingClockOut] = true
			}
			sd.Shifts = append(sd.Shifts, Shift{In: tp(r.At)})
			inside = true
			continue
		}
		r.Kind = KindClockOut
		if inside {
			sd.Shifts[len(sd.Shifts)-1].Out = tp(r.At)
			inside = false
		} else {
			sd.Shifts = append(sd.Shifts, Shift{Out: tp(r.At)})
			flags[FlagMissingClockIn] = true
		}
	}
	if out, ok := c.in.ClosedClockOuts[id]; ok {
		applied := false
		for j := len(sd.Shifts) - 1; j >= 0; j-- {
			sh := &sd.Shifts[j]
			if sh.In != nil && sh.Out == nil && !sh.In.After(out) {
				sh.Out, sh.OutCorrection = tp(out), true
				applied = true
				break
			}
		}
		if !applied {
			flags[FlagClockOutUnused] = true
		}
	}
	// Re-derive the open shifts after the correction.
	delete(flags, FlagMissingClockOut)
	for j, sh := range sd.Shifts {
		if sh.In != nil && sh.Out == nil && (j < len(sd.Shifts)-1 || c.past) {
			flags[FlagMissingClockOut] = true
		}
		if sh.In != nil && sh.Out != nil {
			sd.Worked += sh.Out.Sub(*sh.In)
		}
	}
	if n := len(sd.Shifts); n > 0 {
		lastShift := sd.Shifts[n-1]
		sd.Present = lastShift.In != nil && lastShift.Out == nil
	}
	sd.Flags = sortedKeys(flags)
	return sd
}

func (c *computation) warnings(res *Result) {
	children := 0
	for _, s := range res.Garderie {
		children += s.Children
	}
	res.Warnings = append(res.Warnings, siteWarnings(c.in, res.Canteen.Meals, res.Canteen.StaffMeals, res.Detail.Canteen.Enrolled, children)...)
}

// siteWarnings are the edit checks of one site's day: more meals than
// children enrolled, scans on a closed day.
func siteWarnings(in Input, meals, staffMeals, enrolled, children int) []Warning {
	ws := []Warning{}
	if meals > enrolled {
		ws = append(ws, Warning{Code: WarnServedMoreThanEnrolled,
			Message: fmt.Sprintf("%d meals served at %s, more than the %d children enrolled at the canteen on %s",
				meals, in.Site, enrolled, in.Day.Weekday())})
	}
	if in.Closed && (meals > 0 || staffMeals > 0 || children > 0) {
		ws = append(ws, Warning{Code: WarnScansOnClosedDay,
			Message: fmt.Sprintf("%s is closed on %s, yet %d meals, %d staff meals and %d garderie children were scanned",
				in.Site, in.Day, meals, staffMeals, children)})
	}
	return ws
}
