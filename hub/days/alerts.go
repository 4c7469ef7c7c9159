package days

import (
	"context"
	"sort"
	"time"

	"pointage/hub/counts"
	"pointage/hub/ingest"
	"pointage/internal/civil"
)

// The canteen's service window, local time of the site, used by the alerts
// of the overview: a device or reader down between these times is a red
// alert. Canteen figures themselves take every scan of the day (docs/DESIGN.md §5);
// this window only says when a failure matters right now.
var (
	CanteenStart = counts.Clock{Hour: 10, Minute: 30}
	CanteenEnd   = counts.Clock{Hour: 13, Minute: 30}
)

// Alert kinds.
const (
	AlertDeviceOffline      = "device_offline"
	AlertReaderDisconnected = "reader_disconnected"
	// AlertBackupFailed is the last scheduled backup failing (office, every
	// site; Since is when it was tried, Detail what the office reads).
	AlertBackupFailed = "backup_failed"
)

// Alert is a device offline or a reader unplugged while a session of its
// site is open (the canteen service or a garderie session).
type Alert struct {
	Kind   string `json:"kind"` // device_offline | reader_disconnected | backup_failed
	Site   string `json:"site"`
	Device string `json:"device"`
	Reader string `json:"reader,omitempty"` // reader_disconnected only
	// Since is when the hub last heard from the device (device_offline)
	// or received the status showing the reader unplugged.
	Since *time.Time `json:"since,omitempty"`
	// Session is "canteen" or the garderie session's name; Start and End
	// its window today (local times, HH:MM; Start includes the garderie's
	// margin before the session).
	Session string `json:"session"`
	Start   string `json:"start"`
	End     string `json:"end"`
	// Detail is the reader's last error, when it gave one.
	Detail string `json:"detail,omitempty"`
}

// OpenSession is a session window of a site.
type OpenSession struct {
	Name       string // "canteen" or a garderie session's name
	Start, End counts.Clock
	Opens      time.Time
	Ends       time.Time
}

// SessionsOpen returns the windows of a site's day that contain now: the
// canteen service (CanteenStart-CanteenEnd) and the garderie sessions
// (from their margin before Start to End). sessions empty means
// counts.DefaultSessions(). A closed day has none.
func SessionsOpen(now time.Time, loc *time.Location, sessions []counts.Session, closed bool) []OpenSession {
	if closed {
		return nil
	}
	if loc == nil {
		loc = counts.DefaultLocation
	}
	if len(sessions) == 0 {
		sessions = counts.DefaultSessions()
	}
	day := civil.DateOf(now.In(loc))
	var out []OpenSession
	add := func(name string, start, end counts.Clock, margin time.Duration) {
		opens, ends := start.On(day, loc).Add(-margin), end.On(day, loc)
		if !now.Before(opens) && now.Before(ends) {
			out = append(out, OpenSession{Name: name, Start: start, End: end, Opens: opens, Ends: ends})
		}
	}
	add("canteen", CanteenStart, CanteenEnd, 0)
	for _, s := range sessions {
		m := s.Margin
		switch {
		case m == 0:
			m = counts.DefaultMargin
		case m < 0:
			m = 0
		}
		add(s.Name, s.Start, s.End, m)
	}
	return out
}

// ComputeAlerts returns the alerts at now: for each device of a site with
// a session open, one alert if it is offline, else one per reader
// disconnected. Devices that never sent a status (state unknown) raise
// none. sessions and closed give a site's garderie sessions and whether it
// is closed that day (either may be nil). Sorted by site, device, reader.
func ComputeAlerts(now time.Time, loc *time.Location, devices []ingest.DeviceView,
	sessions func(site string) []counts.Session, closed func(site string, day civil.Date) bool) []Alert {
	if loc == nil {
		loc = counts.DefaultLocation
	}
	day := civil.DateOf(now.In(loc))
	open := map[string][]OpenSession{}
	out := []Alert{}
	for _, d := range devices {
		if d.State != "online" && d.State != "offline" {
			continue
		}
		ss, ok := open[d.Site]
		if !ok {
			var list []counts.Session
			if sessions != nil {
				list = sessions(d.Site)
			}
			ss = SessionsOpen(now, loc, list, closed != nil && closed(d.Site, day))
			open[d.Site] = ss
		}
		if len(ss) == 0 {
			continue
		}
		// The session that matters: the one that ends last (the canteen
		// and a garderie session rarely overlap).
		s := ss[0]
		for _, x := range ss[1:] {
			if x.Ends.After(s.Ends) {
				s = x
			}
		}
		a := Alert{Site: d.Site, Device: d.Device, Session: s.Name, Start: s.Opens.In(loc).Format("15:04"), End: s.End.String()}
		if d.State == "offline" {
			a.Kind, a.Since = AlertDeviceOffline, d.LastSeen
			out = append(out, a)
			continue
		}
		for _, r := range d.Readers {
			if r.Connected {
				continue
			}
			b := a
			b.Kind, b.Reader, b.Since, b.Detail = AlertReaderDisconnected, r.Name, d.LastSeen, r.LastError
			out = append(out, b)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Site != out[j].Site {
			return out[i].Site < out[j].Site
		}
		if out[i].Device != out[j].Device {
			return out[i].Device < out[j].Device
		}
		return out[i].Reader < out[j].Reader
	})
	return out
}

// AlertsView is GET /api/v1/alerts.
type AlertsView struct {
	At       time.Time `json:"at"`
	Timezone string    `json:"timezone"`
	Alerts   []Alert   `json:"alerts"`
}

// Alerts returns the alerts of every site (site "") or of one, from the
// devices' views the caller read; ErrUnknownSite for a site nobody knows.
func (s *Views) Alerts(ctx context.Context, devices []ingest.DeviceView, site string) (AlertsView, error) {
	if site != "" {
		known := false
		for _, d := range devices {
			known = known || d.Site == site
		}
		if !known {
			if _, err := s.comp.Compute(ctx, s.comp.Today(), site); err != nil {
				return AlertsView{}, err
			}
		}
		mine := []ingest.DeviceView{}
		for _, d := range devices {
			if d.Site == site {
				mine = append(mine, d)
			}
		}
		devices = mine
	}
	closed := func(x string, day civil.Date) bool {
		c, _ := s.opts.Calendar.Closed(x, day)
		return c
	}
	now := s.opts.Now()
	return AlertsView{At: now.In(s.opts.Loc), Timezone: s.opts.Loc.String(), Alerts: ComputeAlerts(now, s.opts.Loc, devices, s.opts.Sessions, closed)}, nil
}
