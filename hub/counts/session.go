package counts

import (
	"errors"
	"fmt"
	"pointage/internal/civil"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Clock is a local wall-clock time of day (HH:MM), in the site's timezone.
type Clock struct {
	Hour, Minute int
}

// ParseClock parses "HH:MM" (or "H:MM"), 00:00 to 23:59.
func ParseClock(s string) (Clock, error) {
	h, m, ok := strings.Cut(strings.TrimSpace(s), ":")
	hh, herr := strconv.Atoi(h)
	mm, merr := strconv.Atoi(m)
	if !ok || herr != nil || merr != nil || len(h) < 1 || len(h) > 2 || len(m) != 2 ||
		hh < 0 || hh > 23 || mm < 0 || mm > 59 {
		return Clock{}, fmt.Errorf("time of day %q: want HH:MM, 00:00 to 23:59", s)
	}
	return Clock{hh, mm}, nil
}

// String formats c as HH:MM.
func (c Clock) String() string { return fmt.Sprintf("%02d:%02d", c.Hour, c.Minute) }

// MarshalText formats c as HH:MM (JSON and YAML).
func (c Clock) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// UnmarshalText parses HH:MM (JSON and YAML).
func (c *Clock) UnmarshalText(b []byte) error {
	v, err := ParseClock(string(b))
	if err != nil {
		return err
	}
	*c = v
	return nil
}

// On returns the instant of c on day in loc. Wall-clock times stay right
// across daylight-saving changes (a time that does not exist that day is
// moved as time.Date does).
func (c Clock) On(day civil.Date, loc *time.Location) time.Time {
	return time.Date(day.Year, day.Month, day.Day, c.Hour, c.Minute, 0, 0, loc)
}

func (c Clock) minutes() int { return c.Hour*60 + c.Minute }

// DefaultMargin is how long before its start a session's window opens
// when Session.Margin is zero.
const DefaultMargin = 30 * time.Minute

// Session is a garderie session of a site (docs/DESIGN.md §5).
type Session struct {
	Name  string `yaml:"name" json:"name"`
	Start Clock  `yaml:"start" json:"start"` // local HH:MM
	End   Clock  `yaml:"end" json:"end"`     // local HH:MM, after Start
	// Margin is how long before Start the session's window opens: 0 means
	// DefaultMargin (30 min), a negative value no margin at all.
	Margin time.Duration `yaml:"margin" json:"margin"`
	// AutoClose checks every child out at End (the morning session, whose
	// children go to class). Other sessions never check anyone out by
	// themselves.
	AutoClose bool `yaml:"auto_close" json:"auto_close"`
}

// The default sessions' names (the roster's garderie column says matin
// and soir).
const (
	SessionMatin = "garderie-matin"
	SessionSoir  = "garderie-soir"
)

// DefaultSessions returns the sessions of docs/DESIGN.md §5: garderie-matin
// 06:00-07:30 (auto_close) and garderie-soir 15:00-17:45, both with the
// default 30-minute margin.
func DefaultSessions() []Session {
	return []Session{
		{Name: SessionMatin, Start: Clock{6, 0}, End: Clock{7, 30}, AutoClose: true},
		{Name: SessionSoir, Start: Clock{15, 0}, End: Clock{17, 45}},
	}
}

// ValidateSessions checks a site's sessions as configured: at least one,
// names unique and not empty, each starting before it ends, and no window
// (margin included) starting before the previous session ends. The error
// names the session and the field.
func ValidateSessions(sessions []Session) error {
	if len(sessions) == 0 {
		return errors.New("sessions: at least one garderie session is needed")
	}
	ss := slices.Clone(sessions)
	slices.SortStableFunc(ss, func(a, b Session) int { return a.Start.minutes() - b.Start.minutes() })
	names := map[string]bool{}
	for i, s := range ss {
		switch {
		case strings.TrimSpace(s.Name) == "":
			return fmt.Errorf("sessions: session %d: name is empty", i+1)
		case names[s.Name]:
			return fmt.Errorf("sessions: %s: name used twice", s.Name)
		case !validClock(s.Start):
			return fmt.Errorf("sessions: %s: start %s is not a time of day", s.Name, s.Start)
		case !validClock(s.End):
			return fmt.Errorf("sessions: %s: end %s is not a time of day", s.Name, s.End)
		case s.End.minutes() <= s.Start.minutes():
			return fmt.Errorf("sessions: %s: end %s is not after start %s", s.Name, s.End, s.Start)
		case s.Margin > 12*time.Hour:
			return fmt.Errorf("sessions: %s: margin %s is longer than 12h", s.Name, s.Margin)
		}
		names[s.Name] = true
		if i > 0 {
			prev := ss[i-1]
			opens := s.Start.minutes() - int(s.margin()/time.Minute)
			if opens < prev.End.minutes() {
				return fmt.Errorf("sessions: %s: its window opens at %02d:%02d (start minus margin), before %s ends at %s",
					s.Name, max(opens, 0)/60, max(opens, 0)%60, prev.Name, prev.End)
			}
		}
	}
	return nil
}

func validClock(c Clock) bool { return c.Hour >= 0 && c.Hour <= 23 && c.Minute >= 0 && c.Minute <= 59 }

func (s Session) margin() time.Duration {
	switch {
	case s.Margin == 0:
		return DefaultMargin
	case s.Margin < 0:
		return 0
	}
	return s.Margin
}

// daySession is a session placed on one day.
type daySession struct {
	Session
	opens, start, end time.Time
}

// placeSessions sorts the sessions by start and places them on day; no
// sessions means DefaultSessions.
func placeSessions(sessions []Session, day civil.Date, loc *time.Location) []daySession {
	if len(sessions) == 0 {
		sessions = DefaultSessions()
	}
	ss := slices.Clone(sessions)
	slices.SortStableFunc(ss, func(a, b Session) int { return a.Start.minutes() - b.Start.minutes() })
	out := make([]daySession, len(ss))
	for i, s := range ss {
		start := s.Start.On(day, loc)
		out[i] = daySession{Session: s, opens: start.Add(-s.margin()), start: start, end: s.End.On(day, loc)}
	}
	return out
}

// sessionOf returns the index of the session a garderie scan at t belongs
// to: the last session whose window (margin included) has opened by t (a
// scan after a session's end and before the next window belongs to the
// session that ended); a scan before the first window belongs to the first
// session.
func sessionOf(sessions []daySession, t time.Time) int {
	i := 0
	for j := range sessions {
		if !t.Before(sessions[j].opens) {
			i = j
		}
	}
	return i
}
