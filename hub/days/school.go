package days

import (
	"context"
	"sort"
	"time"

	"pointage/hub/counts"
	"pointage/hub/roster"
	"pointage/internal/civil"
	"pointage/internal/wire"
)

// The bodies of GET /api/v1/school and GET /api/v1/people (docs/API.md):
// one site's day with names, for the school page and the roll-call.
// Times are in the hub's timezone (wire.AtLayout); durations in minutes.

// SchoolView is the body of GET /api/v1/school.
type SchoolView struct {
	Date     string `json:"date"`
	Timezone string `json:"timezone"`
	// Offset is the timezone's UTC offset at noon of the day ("+11:00"):
	// what a page adds to a local time it sends back.
	Offset string `json:"offset"`
	Site   string `json:"site"`
	// Now is the hub's time of the computation; Past: the day is over.
	Now    string `json:"now"`
	Past   bool   `json:"past"`
	Closed bool   `json:"closed"`
	// Counts is the site's element of GET /api/v1/counts.
	Counts   counts.Result       `json:"counts"`
	Canteen  CanteenView         `json:"canteen"`
	Garderie []SessionView       `json:"garderie"`
	Staff    []StaffDayView      `json:"staff"`
	Unknown  []UnknownBadgeShort `json:"unknown_badges"`
}

// PersonRef names a person.
type PersonRef struct {
	PersonID  string `json:"person_id"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	Class     string `json:"class"`
	Regime    string `json:"regime"`
}

// ServedView is one person served at the canteen.
type ServedView struct {
	PersonRef
	First    string `json:"first"`
	Scans    int    `json:"scans"`
	Expected bool   `json:"expected"`
}

// CanteenView lists who the canteen figures count.
type CanteenView struct {
	Enrolled       int          `json:"enrolled"`
	Served         []ServedView `json:"served"`
	Absent         []PersonRef  `json:"absent"`
	DeclaredAbsent []PersonRef  `json:"declared_absent"`
	Unexpected     []ServedView `json:"unexpected"`
	// Duplicates lists the children served more than once (Scans > 1).
	Duplicates    []ServedView `json:"duplicates"`
	StaffMeals    []ServedView `json:"staff_meals"`
	UnknownBadges []string     `json:"unknown_badges"`
}

// SessionView is one garderie session of the day.
type SessionView struct {
	Name      string      `json:"name"`
	Start     string      `json:"start"` // HH:MM
	End       string      `json:"end"`   // HH:MM
	AutoClose bool        `json:"auto_close"`
	EndAt     string      `json:"end_at"`
	Ended     bool        `json:"ended"`
	Children  []ChildView `json:"children"`
	Present   int         `json:"present"`
	Late      int         `json:"late"`
	// StillPresent lists the children present after the end of a session
	// that is not auto_close: the page's red alert.
	StillPresent []PersonRef `json:"still_present"`
}

// ChildView is one child's time in a session.
type ChildView struct {
	PersonRef
	In              string `json:"in,omitempty"`
	Out             string `json:"out,omitempty"`
	Present         bool   `json:"present"`
	Late            bool   `json:"late"`
	DurationMinutes int    `json:"duration_minutes"`
	NeverCheckedOut bool   `json:"never_checked_out,omitempty"`
	OutWithoutIn    bool   `json:"out_without_in,omitempty"`
}

// StaffDayView is one staff member's day.
type StaffDayView struct {
	PersonRef
	Shifts        []ShiftView `json:"shifts"`
	WorkedMinutes int         `json:"worked_minutes"`
	Present       bool        `json:"present"`
	Flags         []string    `json:"flags"`
}

// ShiftView is one clock-in/clock-out pair.
type ShiftView struct {
	In            string `json:"in,omitempty"`
	Out           string `json:"out,omitempty"`
	OutCorrection bool   `json:"out_correction,omitempty"`
}

// UnknownBadgeShort is a badge not in the roster, at one service.
type UnknownBadgeShort struct {
	Service wire.Service `json:"service"`
	Badge   string       `json:"badge"`
	Scans   int          `json:"scans"`
	First   string       `json:"first"`
	Last    string       `json:"last"`
}

func ref(id string, p *roster.Person) PersonRef {
	r := PersonRef{PersonID: id}
	if p != nil {
		r.PersonID, r.FirstName, r.LastName, r.Class, r.Regime = p.PersonID, p.FirstName, p.LastName, p.Class, p.Regime
	}
	return r
}

// School returns one site's day in detail, names included.
func (s *Views) School(ctx context.Context, day civil.Date, site string) (SchoolView, error) {
	d, err := s.comp.Compute(ctx, day, site)
	if err != nil {
		return SchoolView{}, err
	}
	r := d.Results[site]
	det := r.Detail
	at := func(t time.Time) string { return t.In(s.opts.Loc).Format(wire.AtLayout) }
	atp := func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return at(*t)
	}
	person := func(id string) PersonRef {
		p, _ := d.Snapshot.Person(id)
		return ref(id, p)
	}
	served := func(list []counts.Served) []ServedView {
		out := make([]ServedView, 0, len(list))
		for _, x := range list {
			out = append(out, ServedView{PersonRef: ref(x.PersonID, x.Person), First: at(x.First), Scans: x.Scans, Expected: x.Expected})
		}
		return out
	}
	v := SchoolView{Date: day.String(), Timezone: s.opts.Loc.String(),
		Offset: time.Date(day.Year, day.Month, day.Day, 12, 0, 0, 0, s.opts.Loc).Format("-07:00"),
		Site:   site, Now: at(det.Now), Past: det.Past, Closed: det.Closed, Counts: r,
		Garderie: []SessionView{}, Staff: []StaffDayView{}, Unknown: []UnknownBadgeShort{}}
	if det.Now.IsZero() {
		v.Now = at(s.opts.Now())
	}
	c := det.Canteen
	v.Canteen = CanteenView{Enrolled: c.Enrolled, Served: served(c.Served), Absent: []PersonRef{}, DeclaredAbsent: []PersonRef{},
		Unexpected: served(c.Unexpected), Duplicates: []ServedView{}, StaffMeals: served(c.StaffMeals),
		UnknownBadges: append([]string{}, c.UnknownBadges...)}
	for _, p := range c.Absent {
		v.Canteen.Absent = append(v.Canteen.Absent, ref(p.PersonID, p))
	}
	for _, id := range c.DeclaredAbsent {
		v.Canteen.DeclaredAbsent = append(v.Canteen.DeclaredAbsent, person(id))
	}
	for _, x := range v.Canteen.Served {
		if x.Scans > 1 {
			v.Canteen.Duplicates = append(v.Canteen.Duplicates, x)
		}
	}
	for _, sd := range det.Garderie {
		sv := SessionView{Name: sd.Name, Start: sd.Session.Start.String(), End: sd.Session.End.String(), AutoClose: sd.AutoClose,
			EndAt: at(sd.End), Ended: sd.Ended, Children: []ChildView{}, Present: len(sd.Present), Late: len(sd.Late),
			StillPresent: []PersonRef{}}
		for _, ch := range sd.Children {
			cv := ChildView{PersonRef: ref(ch.PersonID, ch.Person), In: atp(ch.In), Out: atp(ch.Out), Present: ch.Present, Late: ch.Late,
				DurationMinutes: int(ch.Duration / time.Minute), NeverCheckedOut: ch.NeverCheckedOut, OutWithoutIn: ch.OutWithoutIn}
			sv.Children = append(sv.Children, cv)
			if ch.Present && sd.Ended && !sd.AutoClose {
				sv.StillPresent = append(sv.StillPresent, cv.PersonRef)
			}
		}
		v.Garderie = append(v.Garderie, sv)
	}
	for _, st := range det.Staff {
		sv := StaffDayView{PersonRef: ref(st.PersonID, st.Person), Shifts: []ShiftView{}, WorkedMinutes: int(st.Worked / time.Minute),
			Present: st.Present, Flags: append([]string{}, st.Flags...)}
		for _, sh := range st.Shifts {
			sv.Shifts = append(sv.Shifts, ShiftView{In: atp(sh.In), Out: atp(sh.Out), OutCorrection: sh.OutCorrection})
		}
		v.Staff = append(v.Staff, sv)
	}
	for _, u := range det.Unknown {
		v.Unknown = append(v.Unknown, UnknownBadgeShort{Service: u.Service, Badge: u.Badge, Scans: u.Scans, First: at(u.First), Last: at(u.Last)})
	}
	return v, nil
}

// PeopleView is the body of GET /api/v1/people.
type PeopleView struct {
	Date string `json:"date"`
	Site string `json:"site"`
	// Sessions are the site's garderie session names, in order.
	Sessions []string         `json:"sessions"`
	Children []ChildEnrolment `json:"children"`
	Staff    []PersonRef      `json:"staff"`
}

// ChildEnrolment is one child of the site.
type ChildEnrolment struct {
	PersonRef
	// CanteenDays are the roster's weekdays ("lu ma me je ve");
	// CanteenToday: enrolled at the canteen on the day's weekday.
	CanteenDays  string `json:"canteen_days"`
	CanteenToday bool   `json:"canteen_today"`
	// Garderie lists the sessions the child is enrolled in, by name
	// (the roster's matin and soir are garderie-matin and garderie-soir).
	Garderie []string `json:"garderie"`
}

// People returns the children and staff of a site as of the day, by
// class then last name then first name (staff by name).
func (s *Views) People(ctx context.Context, day civil.Date, site string) (PeopleView, error) {
	d, err := s.comp.Compute(ctx, day, site)
	if err != nil {
		return PeopleView{}, err
	}
	v := PeopleView{Date: day.String(), Site: site, Sessions: []string{}, Children: []ChildEnrolment{}, Staff: []PersonRef{}}
	for _, sd := range d.Results[site].Detail.Garderie {
		v.Sessions = append(v.Sessions, sd.Name)
	}
	for i := range d.Snapshot.People() {
		p := &d.Snapshot.People()[i]
		if p.Site != site {
			continue
		}
		if p.Role == roster.RoleStaff {
			v.Staff = append(v.Staff, ref(p.PersonID, p))
			continue
		}
		c := ChildEnrolment{PersonRef: ref(p.PersonID, p), CanteenDays: p.CanteenDays.String(),
			CanteenToday: p.CanteenDays.Has(day.Weekday()), Garderie: []string{}}
		if p.Garderie.Has(roster.GarderieMatin) {
			c.Garderie = append(c.Garderie, counts.SessionMatin)
		}
		if p.Garderie.Has(roster.GarderieSoir) {
			c.Garderie = append(c.Garderie, counts.SessionSoir)
		}
		v.Children = append(v.Children, c)
	}
	sort.SliceStable(v.Children, func(i, j int) bool {
		a, b := v.Children[i], v.Children[j]
		if c := roster.CompareClasses(a.Class, b.Class); c != 0 {
			return c < 0 // school order: PS, MS, GS, CP, CE1... (the roll-call lists classes in this order)
		}
		if a.LastName != b.LastName {
			return a.LastName < b.LastName
		}
		return a.FirstName < b.FirstName
	})
	sort.SliceStable(v.Staff, func(i, j int) bool {
		if v.Staff[i].LastName != v.Staff[j].LastName {
			return v.Staff[i].LastName < v.Staff[j].LastName
		}
		return v.Staff[i].FirstName < v.Staff[j].FirstName
	})
	return v, nil
}
