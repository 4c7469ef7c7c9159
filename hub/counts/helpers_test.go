package counts

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	_ "time/tzdata"

	"pointage/hub/db"
	"pointage/hub/roster"
	"pointage/internal/civil"
	"pointage/internal/wire"
)

// The test day: Thursday 26 November 2026 in Nouméa.
var (
	noumea  = mustLoc("Pacific/Noumea")
	paris   = mustLoc("Europe/Paris")
	testDay = civil.Date{Year: 2026, Month: time.November, Day: 26}
)

func mustLoc(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// snapshot stores people in a real roster database and returns the
// snapshot valid on day, as the hub gets it.
func snapshot(tb testing.TB, day civil.Date, people ...roster.Person) *roster.Snapshot {
	tb.Helper()
	ctx := context.Background()
	sqlDB, err := db.OpenMigrated(ctx, filepath.Join(tb.TempDir(), "hub.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { sqlDB.Close() })
	r, err := roster.New(ctx, sqlDB)
	if err != nil {
		tb.Fatal(err)
	}
	if len(people) > 0 {
		if _, err := r.Import(ctx, people, day, nil); err != nil {
			tb.Fatal(err)
		}
	}
	snap, err := r.AsOf(ctx, day)
	if err != nil {
		tb.Fatal(err)
	}
	return snap
}

// kid is a child of site enrolled at the canteen on days (French short
// names) and in the garderie g.
func kid(id, badge, site, regime, days string, g roster.Garderie) roster.Person {
	m, err := roster.ParseBadge(badge)
	if err != nil {
		panic(err)
	}
	wd, err := roster.ParseWeekdays(days)
	if err != nil {
		panic(err)
	}
	return roster.Person{PersonID: id, Role: roster.RoleChild, LastName: "Nom" + id, FirstName: "Prénom" + id,
		Site: site, Class: "CP", Regime: regime, CanteenDays: wd, Garderie: g, Match: m}
}

// kidByCard is a child known by the number printed on the card only.
func kidByCard(id, card, site string) roster.Person {
	m, err := roster.ParseCardNumber(card)
	if err != nil {
		panic(err)
	}
	p := kid(id, "00000000", site, "standard", "lu ma me je ve", 0)
	p.Match, p.CardNumber = m, card
	return p
}

// agent is a member of staff.
func agent(id, badge, site string) roster.Person {
	m, err := roster.ParseBadge(badge)
	if err != nil {
		panic(err)
	}
	return roster.Person{PersonID: id, Role: roster.RoleStaff, LastName: "Agent" + id, FirstName: "A",
		Site: site, Regime: "standard", Match: m}
}

// local returns HH:MM[:SS] on day in loc.
func local(loc *time.Location, day civil.Date, hhmm string) time.Time {
	var h, m, s int
	if _, err := fmt.Sscanf(hhmm, "%d:%d:%d", &h, &m, &s); err != nil {
		if _, err := fmt.Sscanf(hhmm, "%d:%d", &h, &m); err != nil {
			panic(hhmm)
		}
	}
	return time.Date(day.Year, day.Month, day.Day, h, m, s, 0, loc)
}

// at is HH:MM[:SS] on the test day in Nouméa.
func at(hhmm string) time.Time { return local(noumea, testDay, hhmm) }

var seqs uint64

// sc is a device scan at the test site.
func sc(service, badge, dir, hhmm string) Scan {
	seqs++
	return Scan{ID: fmt.Sprintf("ev%05d", seqs), Device: "jf-" + service, Reader: "entree", Seq: seqs,
		Badge: badge, Service: wire.Service(service), Dir: wire.Dir(dir), At: at(hhmm), ReceivedAt: at(hhmm).Add(time.Second)}
}

func canteen(badge, hhmm string) Scan          { return sc("canteen", badge, "auto", hhmm) }
func garderie(badge, hhmm string) Scan         { return sc("garderie", badge, "auto", hhmm) }
func garderieDir(badge, dir, hhmm string) Scan { return sc("garderie", badge, dir, hhmm) }
func clock(badge, hhmm string) Scan            { return sc("staff", badge, "auto", hhmm) }

func voided(s Scan) Scan { s.Voided = true; return s }

func review(s Scan) Scan { s.Review = true; return s }

// correction is a scan added by a correction for a person id.
func correction(id, personID, service, dir string, t time.Time) Scan {
	return Scan{ID: id, Correction: id, PersonID: personID, Service: wire.Service(service), Dir: wire.Dir(dir), At: t}
}

// kinds returns the kinds of the detail's scans, in order.
func kinds(r Result) []Kind {
	out := make([]Kind, len(r.Detail.Scans))
	for i, s := range r.Detail.Scans {
		out[i] = s.Kind
	}
	return out
}

func ptr[T any](v T) *T { return &v }
