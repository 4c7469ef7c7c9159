package counts

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"pointage/hub/roster"
)

func garderieRoster(tb testing.TB) *roster.Snapshot {
	both := roster.GarderieMatin | roster.GarderieSoir
	return snapshot(tb, testDay,
		kid("G1", "0D00000001", site, "standard", "lu ma je ve", both),
		kid("G2", "0D00000002", site, "standard", "lu ma je ve", both),
		kid("G3", "0D00000003", site, "standard", "lu ma je ve", roster.GarderieSoir),
		agent("S1", "0C00000001", site),
	)
}

// childWant is what a test expects of one child in one session.
type childWant struct {
	present, late, never, outWithoutIn bool
	in, out                            string // HH:MM[:SS], "" = nil
	duration                           time.Duration
}

func TestGarderie(t *testing.T) {
	snap := garderieRoster(t)
	const g1, g2, g3 = "0D00000001", "0D00000002", "0D00000003"
	soir := func(children, present, late int) SessionCounts {
		return SessionCounts{Children: children, Present: present, Late: ptr(late)}
	}
	none := SessionCounts{Late: ptr(0)}
	tests := []struct {
		name     string
		scans    []Scan
		now      time.Time // zero = a past day
		sessions []Session
		matin    SessionCounts
		soir     SessionCounts
		kinds    []Kind
		children map[string]map[string]childWant // session -> person -> want
	}{
		{
			name:  "dir auto alternates in, out, in",
			scans: []Scan{garderie(g1, "15:05"), garderie(g1, "16:00"), garderie(g1, "16:30")},
			now:   at("17:00"),
			soir:  soir(1, 1, 0),
			kinds: []Kind{KindIn, KindOut, KindIn},
			children: map[string]map[string]childWant{SessionSoir: {
				"G1": {present: true, in: "15:05", duration: 55*time.Minute + 30*time.Minute},
			}},
		},
		{
			name: "a scan within 2 minutes of the previous one is a duplicate, not a check-out",
			scans: []Scan{garderie(g1, "15:05"), garderie(g1, "15:06:30"), garderie(g1, "15:08:00"),
				garderie(g1, "15:10:01"), garderie(g1, "15:11")},
			now:   at("17:00"),
			soir:  soir(1, 0, 0),
			kinds: []Kind{KindIn, KindGarderieDuplicate, KindGarderieDuplicate, KindOut, KindGarderieDuplicate},
			children: map[string]map[string]childWant{SessionSoir: {
				"G1": {in: "15:05", out: "15:10:01", duration: 5*time.Minute + time.Second},
			}},
		},
		{
			name: "explicit in/out readers are respected, repeats are duplicates",
			scans: []Scan{
				garderieDir(g2, "in", "15:10"), garderieDir(g2, "in", "15:11"), // repeat: duplicate
				garderieDir(g2, "out", "15:11:30"),                             // other direction: respected though within 2 minutes
				garderieDir(g2, "out", "15:12"),                                // repeat: duplicate
				garderieDir(g2, "in", "15:40"), garderieDir(g2, "in", "16:00"), // in while in: stays in
			},
			now:   at("16:30"),
			soir:  soir(1, 1, 0),
			kinds: []Kind{KindIn, KindGarderieDuplicate, KindOut, KindGarderieDuplicate, KindIn, KindIn},
			children: map[string]map[string]childWant{SessionSoir: {
				"G2": {present: true, in: "15:10", duration: 90*time.Second + 50*time.Minute},
			}},
		},
		{
			name:  "auto_close morning: present before the end",
			scans: []Scan{garderie(g1, "06:10"), garderie(g2, "05:45"), garderie(g2, "06:20")},
			now:   at("07:00"),
			matin: SessionCounts{Children: 2, Present: 1},
			soir:  none,
			kinds: []Kind{KindIn, KindIn, KindOut},
			children: map[string]map[string]childWant{SessionMatin: {
				"G1": {present: true, in: "06:10", duration: 50 * time.Minute},
				"G2": {in: "05:45", out: "06:20", duration: 35 * time.Minute},
			}},
		},
		{
			name:  "auto_close morning: everyone checked out at the end once it has passed",
			scans: []Scan{garderie(g1, "06:10"), garderie(g2, "05:45"), garderie(g2, "06:20")},
			now:   at("07:31"),
			matin: SessionCounts{Children: 2, Present: 0},
			soir:  none,
			kinds: []Kind{KindIn, KindIn, KindOut},
			children: map[string]map[string]childWant{SessionMatin: {
				"G1": {in: "06:10", out: "07:30", duration: 80 * time.Minute},
				"G2": {in: "05:45", out: "06:20", duration: 35 * time.Minute},
			}},
		},
		{
			name:  "fail-safe: on a past day a child never checked out is still present",
			scans: []Scan{garderie(g1, "15:10"), garderie(g2, "15:20"), garderie(g2, "17:00"), garderie(g3, "16:00"), garderie(g3, "16:05"), garderie(g3, "16:50")},
			soir:  soir(3, 2, 0),
			kinds: []Kind{KindIn, KindIn, KindIn, KindOut, KindIn, KindOut},
			children: map[string]map[string]childWant{SessionSoir: {
				"G1": {present: true, never: true, in: "15:10"},
				"G2": {in: "15:20", out: "17:00", duration: 100 * time.Minute},
				"G3": {present: true, never: true, in: "16:00", duration: 5 * time.Minute},
			}},
		},
		{
			name:  "late: checked out after the evening session's end",
			scans: []Scan{garderie(g1, "15:10"), garderie(g2, "15:10"), garderie(g1, "17:50"), garderie(g2, "17:40"), garderie(g3, "16:00"), garderie(g3, "18:30")},
			now:   at("19:00"),
			soir:  soir(3, 0, 2),
			kinds: []Kind{KindIn, KindIn, KindIn, KindOut, KindOut, KindOut},
			children: map[string]map[string]childWant{SessionSoir: {
				"G1": {late: true, in: "15:10", out: "17:50", duration: 160 * time.Minute},
				"G2": {in: "15:10", out: "17:40", duration: 150 * time.Minute},
				"G3": {late: true, in: "16:00", out: "18:30", duration: 150 * time.Minute},
			}},
		},
		{
			name: "a scan belongs to the session whose window contains it, or to the one that ended",
			scans: []Scan{
				garderie(g1, "05:20"), // before the first window: the first session
				garderie(g2, "07:45"), // after matin's end: matin
				garderie(g3, "12:00"), // between sessions: matin
				garderie(g1, "14:35"), // soir's window (30 min margin)
				garderie(g2, "20:00"), // after soir's end: soir
			},
			now:   at("23:00"),
			matin: SessionCounts{Children: 3, Present: 0},
			soir:  soir(2, 2, 0),
			kinds: []Kind{KindIn, KindIn, KindIn, KindIn, KindIn},
			children: map[string]map[string]childWant{
				SessionMatin: {
					"G1": {in: "05:20", out: "07:30", duration: 130 * time.Minute},
					"G2": {in: "07:45", out: "07:45"},
					"G3": {in: "12:00", out: "12:00"},
				},
				SessionSoir: {
					"G1": {present: true, in: "14:35", duration: 8*time.Hour + 25*time.Minute},
					"G2": {present: true, in: "20:00", duration: 3 * time.Hour},
				},
			},
		},
		{
			name:  "a check-out without check-in",
			scans: []Scan{garderieDir(g1, "out", "17:00")},
			now:   at("17:30"),
			soir:  soir(1, 0, 0),
			kinds: []Kind{KindOut},
			children: map[string]map[string]childWant{SessionSoir: {
				"G1": {outWithoutIn: true, out: "17:00"},
			}},
		},
		{
			name: "a correction's check-out is never a duplicate; voided scans are not counted",
			scans: []Scan{garderie(g1, "15:05"), voided(garderie(g2, "15:05")),
				correction("c1", "G1", "garderie", "out", at("15:06"))},
			now:   at("16:00"),
			soir:  soir(1, 0, 0),
			kinds: []Kind{KindIn, KindVoided, KindOut},
			children: map[string]map[string]childWant{SessionSoir: {
				"G1": {in: "15:05", out: "15:06", duration: time.Minute},
			}},
		},
		{
			name:  "staff badges at the garderie and unknown badges are not children",
			scans: []Scan{garderie("0C00000001", "15:05"), garderie("FFFFFF0001", "15:06")},
			now:   at("16:00"),
			soir:  soir(0, 0, 0),
			kinds: []Kind{KindIgnored, KindUnknown},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := Compute(Input{Site: site, Day: testDay, Loc: noumea, Scans: tt.scans, Roster: snap,
				Sessions: tt.sessions, Now: tt.now})
			if got := kinds(res); !slices.Equal(got, tt.kinds) {
				t.Errorf("kinds\n got %v\nwant %v", got, tt.kinds)
			}
			if tt.sessions == nil {
				want := map[string]SessionCounts{SessionMatin: tt.matin, SessionSoir: tt.soir}
				if !reflect.DeepEqual(res.Garderie, want) {
					t.Errorf("garderie\n got %s\nwant %s", fmtCounts(res.Garderie), fmtCounts(want))
				}
			}
			for _, sd := range res.Detail.Garderie {
				wantChildren := tt.children[sd.Name]
				if len(sd.Children) != len(wantChildren) {
					t.Errorf("%s: %d children, want %d", sd.Name, len(sd.Children), len(wantChildren))
				}
				for _, ch := range sd.Children {
					w, ok := wantChildren[ch.PersonID]
					if !ok {
						continue
					}
					checkChild(t, sd.Name, ch, w)
					if slices.Contains(sd.Present, ch.PersonID) != ch.Present || slices.Contains(sd.Late, ch.PersonID) != ch.Late {
						t.Errorf("%s %s: present/late lists disagree with the child", sd.Name, ch.PersonID)
					}
				}
			}
		})
	}
}

func fmtCounts(m map[string]SessionCounts) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(m)) {
		c := m[k]
		late := "nil"
		if c.Late != nil {
			late = fmt.Sprint(*c.Late)
		}
		fmt.Fprintf(&b, "%s:{children %d present %d late %s} ", k, c.Children, c.Present, late)
	}
	return b.String()
}

func checkChild(t *testing.T, session string, ch Child, w childWant) {
	t.Helper()
	tm := func(p *time.Time) string {
		if p == nil {
			return ""
		}
		return p.In(noumea).Format("15:04:05")
	}
	norm := func(s string) string {
		if len(s) == 5 {
			return s + ":00"
		}
		return s
	}
	if ch.Present != w.present || ch.Late != w.late || ch.NeverCheckedOut != w.never || ch.OutWithoutIn != w.outWithoutIn {
		t.Errorf("%s %s: present %v late %v never checked out %v out without in %v; want %v %v %v %v", session, ch.PersonID,
			ch.Present, ch.Late, ch.NeverCheckedOut, ch.OutWithoutIn, w.present, w.late, w.never, w.outWithoutIn)
	}
	if tm(ch.In) != norm(w.in) || tm(ch.Out) != norm(w.out) {
		t.Errorf("%s %s: in %q out %q, want %q %q", session, ch.PersonID, tm(ch.In), tm(ch.Out), norm(w.in), norm(w.out))
	}
	if ch.Duration != w.duration {
		t.Errorf("%s %s: duration %s, want %s", session, ch.PersonID, ch.Duration, w.duration)
	}
}

func TestConfiguredSessions(t *testing.T) {
	snap := garderieRoster(t)
	sessions := []Session{
		{Name: "apres-midi", Start: Clock{13, 0}, End: Clock{16, 0}, Margin: -1},
		{Name: "matin", Start: Clock{6, 30}, End: Clock{8, 0}, Margin: 10 * time.Minute, AutoClose: true},
	}
	scans := []Scan{garderie("0D00000001", "06:20"), garderie("0D00000002", "06:19"), garderie("0D00000003", "12:59"), garderie("0D00000003", "13:00")}
	res := Compute(Input{Site: site, Day: testDay, Loc: noumea, Scans: scans, Roster: snap, Sessions: sessions, Now: at("20:00")})
	want := map[string]SessionCounts{
		"matin":      {Children: 3, Present: 0},               // 06:19 is before the window: first session; 12:59 after matin's end
		"apres-midi": {Children: 1, Present: 1, Late: ptr(0)}, // no margin: opens at 13:00 sharp
	}
	if !reflect.DeepEqual(res.Garderie, want) {
		t.Errorf("garderie = %+v", res.Garderie)
	}
	if names := []string{res.Detail.Garderie[0].Name, res.Detail.Garderie[1].Name}; !slices.Equal(names, []string{"matin", "apres-midi"}) {
		t.Errorf("sessions in order %v, want by start", names)
	}
	if got := res.Detail.Scans[0].Session; got != "matin" {
		t.Errorf("session of the 06:20 scan = %q", got)
	}
	if got := res.Detail.Garderie[0].Opens; !got.Equal(at("06:20")) {
		t.Errorf("matin opens %s, want 06:20", got)
	}
}

func TestDefaultSessions(t *testing.T) {
	ss := DefaultSessions()
	if err := ValidateSessions(ss); err != nil {
		t.Fatal(err)
	}
	want := []Session{
		{Name: "garderie-matin", Start: Clock{6, 0}, End: Clock{7, 30}, AutoClose: true},
		{Name: "garderie-soir", Start: Clock{15, 0}, End: Clock{17, 45}},
	}
	if !reflect.DeepEqual(ss, want) {
		t.Errorf("DefaultSessions() = %+v", ss)
	}
	res := Compute(Input{Site: site, Day: testDay, Loc: noumea})
	if sd := res.Detail.Garderie[0]; !sd.Opens.Equal(at("05:30")) || !sd.End.Equal(at("07:30")) || !sd.Ended {
		t.Errorf("garderie-matin placed at %s-%s ended %v", sd.Opens, sd.End, sd.Ended)
	}
}

func TestValidateSessions(t *testing.T) {
	tests := []struct {
		name     string
		sessions []Session
		wantErr  string
	}{
		{"defaults", DefaultSessions(), ""},
		{"none", nil, "at least one"},
		{"no name", []Session{{Start: Clock{6, 0}, End: Clock{7, 0}}}, "name is empty"},
		{"same name", []Session{{Name: "a", Start: Clock{6, 0}, End: Clock{7, 0}}, {Name: "a", Start: Clock{15, 0}, End: Clock{16, 0}}}, "a: name used twice"},
		{"end before start", []Session{{Name: "a", Start: Clock{16, 0}, End: Clock{15, 0}}}, "a: end 15:00 is not after start 16:00"},
		{"bad clock", []Session{{Name: "a", Start: Clock{6, 0}, End: Clock{24, 0}}}, "a: end 24:00"},
		{"window overlaps the previous session", []Session{{Name: "a", Start: Clock{6, 0}, End: Clock{7, 30}}, {Name: "b", Start: Clock{7, 45}, End: Clock{9, 0}}}, "b: its window opens at 07:15"},
		{"no margin, back to back", []Session{{Name: "a", Start: Clock{6, 0}, End: Clock{7, 30}}, {Name: "b", Start: Clock{7, 30}, End: Clock{9, 0}, Margin: -1}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateSessions(tt.sessions)
			if (err == nil) != (tt.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("ValidateSessions = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func containsStr(s, sub string) bool {
	return len(sub) == 0 || (len(s) >= len(sub) && (s[:len(sub)] == sub || containsStr(s[1:], sub)))
}

func TestParseClock(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want Clock
		ok   bool
	}{
		{"06:00", Clock{6, 0}, true}, {"6:05", Clock{6, 5}, true}, {"17:45", Clock{17, 45}, true}, {" 23:59 ", Clock{23, 59}, true},
		{"24:00", Clock{}, false}, {"12:60", Clock{}, false}, {"12h30", Clock{}, false}, {"12:3", Clock{}, false}, {"", Clock{}, false}, {"-1:00", Clock{}, false},
	} {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseClock(tt.in)
			if (err == nil) != tt.ok || got != tt.want {
				t.Errorf("ParseClock(%q) = %v, %v", tt.in, got, err)
			}
			if tt.ok {
				var c Clock
				b, _ := got.MarshalText()
				if err := c.UnmarshalText(b); err != nil || c != got {
					t.Errorf("round trip %q -> %v, %v", b, c, err)
				}
			}
		})
	}
}
