package days

import (
	"testing"
	"time"

	"pointage/hub/counts"
	"pointage/hub/ingest"
	"pointage/internal/civil"
	"pointage/internal/wire"
)

func TestComputeAlerts(t *testing.T) {
	loc := time.FixedZone("Pacific/Noumea", 11*3600)
	at := func(h, m int) time.Time { return time.Date(2026, 11, 24, h, m, 0, 0, loc) } // a Tuesday
	seen := at(15, 10)
	offline := ingest.DeviceView{Site: "jules-ferry", Device: "jf-garderie", State: "offline", LastSeen: &seen,
		Readers: []wire.ReaderStatus{{Name: "porte", Connected: true}}}
	online := ingest.DeviceView{Site: "jules-ferry", Device: "jf-cantine-1", State: "online", LastSeen: &seen,
		Readers: []wire.ReaderStatus{{Name: "entree", Connected: true}}}
	unplugged := ingest.DeviceView{Site: "pasteur", Device: "pa-cantine", State: "online", LastSeen: &seen,
		Readers: []wire.ReaderStatus{{Name: "entree", Connected: false, LastError: "port missing"}, {Name: "sortie", Connected: true}}}
	never := ingest.DeviceView{Site: "pasteur", Device: "pa-neuf", State: "unknown"}
	late := []counts.Session{{Name: "garderie-tard", Start: counts.Clock{Hour: 18}, End: counts.Clock{Hour: 19}, Margin: -1}}
	sessions := func(site string) []counts.Session {
		if site == "riviere" {
			return late
		}
		return nil // defaults: garderie-matin 06:00-07:30, garderie-soir 15:00-17:45
	}
	closedPasteur := func(site string, _ civil.Date) bool { return site == "pasteur" }
	riv := ingest.DeviceView{Site: "riviere", Device: "ri-1", State: "offline", LastSeen: &seen}

	tests := []struct {
		name    string
		now     time.Time
		devices []ingest.DeviceView
		closed  func(string, civil.Date) bool
		want    []string // kind site device reader session start-end
	}{
		{"device offline during the evening garderie", at(16, 0), []ingest.DeviceView{offline, online},
			nil, []string{"device_offline jules-ferry jf-garderie  garderie-soir 14:30-17:45"}},
		{"within the margin before the session", at(14, 40), []ingest.DeviceView{offline}, nil,
			[]string{"device_offline jules-ferry jf-garderie  garderie-soir 14:30-17:45"}},
		{"outside any session", at(14, 0), []ingest.DeviceView{offline, unplugged}, nil, nil},
		{"after the evening session", at(17, 45), []ingest.DeviceView{offline}, nil, nil},
		{"at night", at(2, 0), []ingest.DeviceView{offline}, nil, nil},
		{"reader unplugged during the canteen", at(11, 15), []ingest.DeviceView{unplugged, online}, nil,
			[]string{"reader_disconnected pasteur pa-cantine entree canteen 10:30-13:30"}},
		{"canteen ends at 13:30", at(13, 30), []ingest.DeviceView{unplugged}, nil, nil},
		{"a closed school raises nothing", at(11, 15), []ingest.DeviceView{unplugged, offline}, closedPasteur,
			[]string{"device_offline jules-ferry jf-garderie  canteen 10:30-13:30"}},
		{"a device never heard raises nothing", at(11, 15), []ingest.DeviceView{never}, nil, nil},
		{"the site's own sessions", at(18, 30), []ingest.DeviceView{riv, offline}, nil,
			[]string{"device_offline riviere ri-1  garderie-tard 18:00-19:00"}},
		{"the site's own sessions replace the defaults", at(16, 0), []ingest.DeviceView{riv}, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ComputeAlerts(tt.now.UTC(), loc, tt.devices, sessions, tt.closed)
			var lines []string
			for _, a := range got {
				lines = append(lines, a.Kind+" "+a.Site+" "+a.Device+" "+a.Reader+" "+a.Session+" "+a.Start+"-"+a.End)
				if a.Since == nil || !a.Since.Equal(seen) {
					t.Errorf("since: %v", a.Since)
				}
			}
			if len(lines) != len(tt.want) {
				t.Fatalf("alerts:\n got %q\nwant %q", lines, tt.want)
			}
			for i := range lines {
				if lines[i] != tt.want[i] {
					t.Fatalf("alerts:\n got %q\nwant %q", lines, tt.want)
				}
			}
		})
	}
}
