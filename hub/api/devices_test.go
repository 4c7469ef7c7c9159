package api

import (
	"strings"
	"testing"
	"time"

	"pointage/hub/devices"
	"pointage/hub/ingest"
	"pointage/internal/wire"
)

// GET /api/v1/devices lists what ingest heard of and what the registry
// holds: a device registered but never heard of is listed, state
// "unknown"; one heard of but not registered (removed) stays, registered
// false; a device id registered at another site than the one it was
// heard at is not the same device.
func TestWithRegistry(t *testing.T) {
	at := time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)
	heard := []ingest.DeviceView{
		{Site: "jules-ferry", Device: "jf-1", State: "online"},
		{Site: "jules-ferry", Device: "jf-removed", State: "offline"},
		{Site: "pasteur", Device: "moved", State: "offline"},
	}
	for i := range heard {
		heard[i].Missing, heard[i].Readers = []ingest.Range{}, []wire.ReaderStatus{}
	}
	registered := []devices.Device{
		{Site: "jules-ferry", ID: "jf-1", CreatedAt: at},
		{Site: "anse-vata", ID: "av-new", CreatedAt: at},
		{Site: "rivière", ID: "moved", CreatedAt: at},
	}
	var got []string
	for _, v := range withRegistry(heard, registered) {
		s := v.Site + "/" + v.Device + " " + v.State
		if v.Registered {
			s += " registered " + v.RegisteredAt.Format(time.RFC3339)
		}
		if v.Missing == nil || v.Readers == nil {
			s += " (null lists)" // JSON null where the page expects []
		}
		got = append(got, s)
	}
	want := []string{
		"anse-vata/av-new unknown registered 2026-11-24T08:00:00Z",
		"jules-ferry/jf-1 online registered 2026-11-24T08:00:00Z",
		"jules-ferry/jf-removed offline",
		"pasteur/moved offline",
		"rivière/moved unknown registered 2026-11-24T08:00:00Z",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("withRegistry:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
