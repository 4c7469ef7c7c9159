package counts

import (
	"reflect"
	"slices"
	"testing"
	"time"
)

func TestStaff(t *testing.T) {
	snap := snapshot(t, testDay,
		agent("S1", "0C00000001", site), agent("S2", "0C00000002", site),
		kid("E1", "0A00000001", site, "standard", "lu ma je ve", 0))
	const s1, s2 = "0C00000001", "0C00000002"
	dir := func(badge, d, hhmm string) Scan { return sc("staff", badge, d, hhmm) }
	type shift struct{ in, out string }
	tests := []struct {
		name     string
		scans    []Scan
		now      time.Time // zero: a past day
		closed   map[string]time.Time
		present  int
		kinds    []Kind
		shifts   []shift // S1's
		worked   time.Duration
		flags    []string
		isThere  bool // S1 present
		byCorrIx int  // index of the shift closed by a correction, -1 none
	}{
		{
			name:     "two shifts",
			scans:    []Scan{clock(s1, "07:00"), clock(s1, "11:00"), clock(s1, "12:00"), clock(s1, "16:00")},
			kinds:    []Kind{KindClockIn, KindClockOut, KindClockIn, KindClockOut},
			shifts:   []shift{{"07:00", "11:00"}, {"12:00", "16:00"}},
			worked:   8 * time.Hour,
			byCorrIx: -1,
		},
		{
			name:     "a scan within 2 minutes is a duplicate, not a clock-out",
			scans:    []Scan{clock(s1, "07:00"), clock(s1, "07:01"), clock(s1, "15:00")},
			kinds:    []Kind{KindClockIn, KindClockDuplicate, KindClockOut},
			shifts:   []shift{{"07:00", "15:00"}},
			worked:   8 * time.Hour,
			byCorrIx: -1,
		},
		{
			name:     "missing clock-out on a past day: flagged, never guessed",
			scans:    []Scan{clock(s1, "07:00"), clock(s2, "07:05"), clock(s2, "15:05")},
			kinds:    []Kind{KindClockIn, KindClockIn, KindClockOut},
			present:  1,
			shifts:   []shift{{"07:00", ""}},
			flags:    []string{FlagMissingClockOut},
			isThere:  true,
			byCorrIx: -1,
		},
		{
			name:     "today, still at work: present, not flagged",
			scans:    []Scan{clock(s1, "07:00"), clock(s2, "07:05"), clock(s2, "09:05")},
			now:      at("10:00"),
			kinds:    []Kind{KindClockIn, KindClockIn, KindClockOut},
			present:  1,
			shifts:   []shift{{"07:00", ""}},
			isThere:  true,
			byCorrIx: -1,
		},
		{
			name:     "a correction closes the forgotten clock-out",
			scans:    []Scan{clock(s1, "07:00"), clock(s1, "11:00"), clock(s1, "12:00")},
			closed:   map[string]time.Time{"S1": at("15:30")},
			kinds:    []Kind{KindClockIn, KindClockOut, KindClockIn},
			shifts:   []shift{{"07:00", "11:00"}, {"12:00", "15:30"}},
			worked:   7*time.Hour + 30*time.Minute,
			byCorrIx: 1,
		},
		{
			name:     "a correction before the open shift's clock-in is not applied",
			scans:    []Scan{clock(s1, "12:00")},
			closed:   map[string]time.Time{"S1": at("11:00")},
			kinds:    []Kind{KindClockIn},
			present:  1,
			shifts:   []shift{{"12:00", ""}},
			flags:    []string{FlagClockOutUnused, FlagMissingClockOut},
			isThere:  true,
			byCorrIx: -1,
		},
		{
			name:     "explicit readers: clock-in twice leaves the first shift open",
			scans:    []Scan{dir(s1, "in", "07:00"), dir(s1, "in", "12:00"), dir(s1, "out", "16:00"), dir(s1, "out", "16:01")},
			kinds:    []Kind{KindClockIn, KindClockIn, KindClockOut, KindClockDuplicate},
			shifts:   []shift{{"07:00", ""}, {"12:00", "16:00"}},
			worked:   4 * time.Hour,
			flags:    []string{FlagMissingClockOut},
			byCorrIx: -1,
		},
		{
			name:     "explicit clock-out without clock-in",
			scans:    []Scan{dir(s1, "out", "16:00")},
			kinds:    []Kind{KindClockOut},
			shifts:   []shift{{"", "16:00"}},
			flags:    []string{FlagMissingClockIn},
			byCorrIx: -1,
		},
		{
			name:     "a child at a staff reader is ignored",
			scans:    []Scan{clock("0A00000001", "07:00"), clock("FFFFFFFF01", "07:01")},
			kinds:    []Kind{KindIgnored, KindUnknown},
			byCorrIx: -1,
		},
		{
			name:     "a clock-out added by a correction within 2 minutes is respected",
			scans:    []Scan{clock(s1, "07:00"), correction("c1", "S1", "staff", "auto", at("07:01"))},
			kinds:    []Kind{KindClockIn, KindClockOut},
			shifts:   []shift{{"07:00", "07:01"}},
			worked:   time.Minute,
			byCorrIx: -1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := Compute(Input{Site: site, Day: testDay, Loc: noumea, Scans: tt.scans, Roster: snap,
				ClosedClockOuts: tt.closed, Now: tt.now})
			if got := kinds(res); !slices.Equal(got, tt.kinds) {
				t.Errorf("kinds\n got %v\nwant %v", got, tt.kinds)
			}
			if res.Staff.Present != tt.present {
				t.Errorf("staff.present = %d, want %d", res.Staff.Present, tt.present)
			}
			var s1day *StaffDay
			for i := range res.Detail.Staff {
				if res.Detail.Staff[i].PersonID == "S1" {
					s1day = &res.Detail.Staff[i]
				}
			}
			if s1day == nil {
				if tt.shifts != nil {
					t.Fatal("S1 has no staff day")
				}
				return
			}
			hm := func(p *time.Time) string {
				if p == nil {
					return ""
				}
				return p.In(noumea).Format("15:04")
			}
			var shifts []shift
			for i, sh := range s1day.Shifts {
				shifts = append(shifts, shift{hm(sh.In), hm(sh.Out)})
				if sh.OutCorrection != (i == tt.byCorrIx) {
					t.Errorf("shift %d: OutCorrection = %v", i, sh.OutCorrection)
				}
			}
			if !reflect.DeepEqual(shifts, tt.shifts) {
				t.Errorf("shifts %v, want %v", shifts, tt.shifts)
			}
			if s1day.Worked != tt.worked {
				t.Errorf("worked %s, want %s", s1day.Worked, tt.worked)
			}
			if !slices.Equal(s1day.Flags, tt.flags) && (len(s1day.Flags)+len(tt.flags) > 0) {
				t.Errorf("flags %v, want %v", s1day.Flags, tt.flags)
			}
			if s1day.Present != tt.isThere {
				t.Errorf("S1 present = %v, want %v", s1day.Present, tt.isThere)
			}
		})
	}
}
