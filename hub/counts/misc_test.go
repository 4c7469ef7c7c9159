package counts

import (
	"reflect"
	"testing"
	"time"

	"pointage/hub/store"
)

func TestScanFromEvent(t *testing.T) {
	e := store.Event{ID: "01J", Site: site, Device: "jf-1", Epoch: "ep", Reader: "entree", Seq: 42, Badge: "0A00000001",
		Service: "canteen", Dir: "auto", At: at("11:32"), ReceivedAt: at("11:33"), Review: true}
	want := Scan{ID: "01J", Device: "jf-1", Epoch: "ep", Reader: "entree", Seq: 42, Badge: "0A00000001",
		Service: "canteen", Dir: "auto", At: at("11:32"), ReceivedAt: at("11:33"), Review: true}
	if got := ScanFromEvent(e); !reflect.DeepEqual(got, want) {
		t.Errorf("ScanFromEvent = %+v", got)
	}
}

func TestEdgeInputs(t *testing.T) {
	snap := canteenRoster(t)
	t.Run("a correction for a person not in the roster is unknown, not an unknown badge", func(t *testing.T) {
		res := Compute(Input{Site: site, Day: testDay, Loc: noumea, Roster: snap,
			Scans: []Scan{correction("c1", "NOBODY", "canteen", "auto", at("11:30"))}})
		if k := res.Detail.Scans[0]; k.Kind != KindUnknown || k.Note == "" {
			t.Errorf("scan = %+v", k)
		}
		if res.Canteen.UnknownBadges != 0 || len(res.Detail.Unknown) != 0 {
			t.Errorf("unknown badges %d %v", res.Canteen.UnknownBadges, res.Detail.Unknown)
		}
	})
	t.Run("an unknown service is ignored", func(t *testing.T) {
		res := Compute(Input{Site: site, Day: testDay, Loc: noumea, Roster: snap,
			Scans: []Scan{sc("bibliotheque", "0A00000001", "auto", "10:00")}})
		if k := res.Detail.Scans[0]; k.Kind != KindIgnored || k.Note == "" {
			t.Errorf("scan = %+v", k)
		}
	})
	t.Run("empty sessions mean the default ones", func(t *testing.T) {
		res := Compute(Input{Site: site, Day: testDay, Loc: noumea, Sessions: []Session{}})
		if len(res.Garderie) != 2 || res.Garderie[SessionSoir].Late == nil || res.Garderie[SessionMatin].Late != nil {
			t.Errorf("garderie = %+v", res.Garderie)
		}
	})
	t.Run("a closed clock-out for someone who never clocked in is listed as unused", func(t *testing.T) {
		res := Compute(Input{Site: site, Day: testDay, Loc: noumea, Roster: snap,
			ClosedClockOuts: map[string]time.Time{"S2": at("16:00")}})
		if len(res.Detail.Staff) != 1 || res.Detail.Staff[0].Person == nil ||
			!reflect.DeepEqual(res.Detail.Staff[0].Flags, []string{FlagClockOutUnused}) || res.Staff.Present != 0 {
			t.Errorf("staff = %+v", res.Detail.Staff)
		}
	})
	t.Run("scans given out of order are ordered by At then Seq", func(t *testing.T) {
		a := sc("garderie", "0A00000001", "auto", "15:10")
		b := sc("garderie", "0A00000001", "auto", "15:10") // same instant, higher seq
		c := sc("garderie", "0A00000001", "auto", "16:00")
		res := Compute(Input{Site: site, Day: testDay, Loc: noumea, Roster: snap, Scans: []Scan{c, b, a}, Now: at("16:30")})
		got := []string{res.Detail.Scans[0].ID, res.Detail.Scans[1].ID, res.Detail.Scans[2].ID}
		if !reflect.DeepEqual(got, []string{a.ID, b.ID, c.ID}) {
			t.Errorf("order %v", got)
		}
		if k := kinds(res); !reflect.DeepEqual(k, []Kind{KindIn, KindGarderieDuplicate, KindOut}) {
			t.Errorf("kinds %v", k)
		}
	})
	t.Run("a future day: nothing ended, nobody auto-closed", func(t *testing.T) {
		res := Compute(Input{Site: site, Day: testDay, Loc: noumea, Roster: snap, Now: at("00:00").Add(-time.Hour)})
		if res.Detail.Past || res.Detail.Garderie[0].Ended || !res.Detail.Now.Equal(at("00:00")) {
			t.Errorf("detail past %v ended %v now %s", res.Detail.Past, res.Detail.Garderie[0].Ended, res.Detail.Now)
		}
	})
}
