package counts

import (
	"reflect"
	"testing"
	"time"

	"pointage/hub/roster"
	"pointage/internal/civil"
	"pointage/internal/wire"
)

// TestParisDST: a site in Europe/Paris on the days the clocks change
// (2026-03-29, 23 hours; 2026-10-25, 25 hours). Sessions stay at their
// local wall-clock times, the day's bounds follow the change, and
// durations are real elapsed time.
func TestParisDST(t *testing.T) {
	spring := civil.Date{Year: 2026, Month: time.March, Day: 29}
	autumn := civil.Date{Year: 2026, Month: time.October, Day: 25}
	utc := func(s string) time.Time {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			panic(err)
		}
		return t
	}
	type want struct {
		from, to     time.Time
		meals        int
		garderie     map[string]SessionCounts
		matinOut     time.Time // G1's auto-close
		soirDuration time.Duration
		worked       time.Duration
	}
	tests := []struct {
		name string
		day  civil.Date
		want want
	}{
		{"spring forward 2026-03-29", spring, want{
			from: utc("2026-03-28T23:00:00Z"), to: utc("2026-03-29T22:00:00Z"), meals: 2,
			garderie: map[string]SessionCounts{SessionMatin: {Children: 1}, SessionSoir: {Children: 2, Present: 0, Late: ptr(1)}},
			matinOut: utc("2026-03-29T05:30:00Z"), soirDuration: 2*time.Hour + 50*time.Minute, worked: 2 * time.Hour,
		}},
		{"fall back 2026-10-25", autumn, want{
			from: utc("2026-10-24T22:00:00Z"), to: utc("2026-10-25T23:00:00Z"), meals: 2,
			garderie: map[string]SessionCounts{SessionMatin: {Children: 1}, SessionSoir: {Children: 2, Present: 0, Late: ptr(1)}},
			matinOut: utc("2026-10-25T06:30:00Z"), soirDuration: 2*time.Hour + 50*time.Minute, worked: 4 * time.Hour,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			snap := snapshot(t, tt.day,
				kid("G1", "0D00000001", "paris-1", "standard", "di", roster.GarderieMatin|roster.GarderieSoir),
				kid("G2", "0D00000002", "paris-1", "standard", "di", roster.GarderieSoir),
				agent("S1", "0C00000001", "paris-1"))
			l := func(hhmm string) time.Time { return local(paris, tt.day, hhmm) }
			mk := func(id, service, badge string, at time.Time) Scan {
				return Scan{ID: id, Device: "d", Seq: 1, Badge: badge, Service: wire.Service(service), Dir: "auto", At: at}
			}
			scans := []Scan{
				mk("c0", "canteen", "0D00000002", tt.want.from.Add(30*time.Minute)),  // 00:30 local, the previous UTC day
				mk("c1", "canteen", "0D00000001", tt.want.to.Add(-30*time.Minute)),   // 23:30 local
				mk("c2", "canteen", "0D00000001", tt.want.to.Add(30*time.Minute)),    // 00:30 the next day: not this day
				mk("c3", "canteen", "0D00000002", tt.want.from.Add(-30*time.Minute)), // 23:30 the day before
				mk("g1", "garderie", "0D00000001", l("05:45")),                       // matin window
				mk("g2", "garderie", "0D00000001", l("15:00")),
				mk("g3", "garderie", "0D00000001", l("17:50")), // late (local 17:45 end)
				mk("g4", "garderie", "0D00000002", l("15:00")),
				mk("g5", "garderie", "0D00000002", l("17:40")), // not late
				mk("s1", "staff", "0C00000001", l("01:00")),
				mk("s2", "staff", "0C00000001", l("04:00")), // across the change: 2 h in spring, 4 h in autumn
			}
			from, to := DayBounds(tt.day, paris)
			if !from.Equal(tt.want.from) || !to.Equal(tt.want.to) {
				t.Errorf("DayBounds = %s .. %s, want %s .. %s", from.UTC(), to.UTC(), tt.want.from, tt.want.to)
			}
			res := Compute(Input{Site: "paris-1", Day: tt.day, Loc: paris, Scans: scans, Roster: snap, Now: to.Add(time.Hour)})
			if res.Canteen.Meals != tt.want.meals {
				t.Errorf("meals = %d, want %d (kinds %v)", res.Canteen.Meals, tt.want.meals, kinds(res))
			}
			if !reflect.DeepEqual(res.Garderie, tt.want.garderie) {
				t.Errorf("garderie = %s, want %s", fmtCounts(res.Garderie), fmtCounts(tt.want.garderie))
			}
			matin := res.Detail.Garderie[0]
			if len(matin.Children) != 1 || matin.Children[0].Out == nil || !matin.Children[0].Out.Equal(tt.want.matinOut) {
				t.Errorf("garderie-matin auto-close at %v, want %s", matin.Children, tt.want.matinOut)
			}
			soir := res.Detail.Garderie[1]
			if len(soir.Children) != 2 || soir.Children[0].Duration != tt.want.soirDuration || !soir.Children[0].Late || soir.Children[1].Late {
				t.Errorf("garderie-soir children %+v", soir.Children)
			}
			if len(res.Detail.Staff) != 1 || res.Detail.Staff[0].Worked != tt.want.worked {
				t.Errorf("staff %+v, want worked %s", res.Detail.Staff, tt.want.worked)
			}
		})
	}
}
