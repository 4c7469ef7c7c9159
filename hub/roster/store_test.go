package roster

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"pointage/hub/db"
	"pointage/internal/civil"
)

// openDB opens a roster on a new hub.db; another opens a second Roster on
// its own connection pool, as the `roster import` command does while the
// hub runs.
func openDB(t testing.TB) (r *Roster, another func() *Roster) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "hub.db")
	return openDBAt(t, path), func() *Roster { return openDBAt(t, path) }
}

// openDBAt opens a roster on the hub.db at path, closed when t ends.
func openDBAt(t testing.TB, path string) *Roster {
	t.Helper()
	ctx := context.Background()
	sqlDB, err := db.OpenMigrated(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sqlDB.Close() })
	r, err := New(ctx, sqlDB)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func day(t testing.TB, s string) civil.Date {
	t.Helper()
	d, err := civil.ParseDate(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func child(id, badge, regime string) Person {
	m, err := ParseBadge(badge)
	if err != nil {
		panic(err)
	}
	return Person{PersonID: id, Role: RoleChild, LastName: "Nom " + id, FirstName: "Prénom", Site: "jules-ferry",
		Class: "CP", Regime: regime, CanteenDays: 0b0111110 &^ (1 << time.Wednesday), Match: m}
}

func mustImport(t *testing.T, r *Roster, people []Person, from string) ImportResult {
	t.Helper()
	res, err := r.Import(context.Background(), people, day(t, from), nil)
	if err != nil {
		t.Fatalf("Import from %s: %v", from, err)
	}
	return res
}

// who returns the person valid on d, or nil.
func who(t *testing.T, r *Roster, d, personID string) *Person {
	t.Helper()
	s, err := r.AsOf(context.Background(), day(t, d))
	if err != nil {
		t.Fatal(err)
	}
	p, _ := s.Person(personID)
	return p
}

func regimeOn(t *testing.T, r *Roster, d, personID string) string {
	t.Helper()
	if p := who(t, r, d, personID); p != nil {
		return p.Regime
	}
	return "-"
}

func TestImportVersions(t *testing.T) {
	r, _ := openDB(t)
	a, b := child("E1", "13005D1DA5", "standard"), child("E2", "01026F6C3A", "standard")

	t.Run("a new person is known on past days", func(t *testing.T) {
		res := mustImport(t, r, []Person{a, b}, "2026-03-02")
		if res.Counts != (Counts{Added: 2}) {
			t.Fatalf("result %+v", res)
		}
		for _, d := range []string{"2020-01-01", "2026-03-01", "2026-03-02", "2030-12-31"} {
			if regimeOn(t, r, d, "E1") != "standard" {
				t.Errorf("E1 unknown on %s", d)
			}
		}
	})

	t.Run("a changed diet applies from the date", func(t *testing.T) {
		a2 := a
		a2.Regime = "sans-porc"
		res := mustImport(t, r, []Person{a2, b}, "2026-05-11")
		if res.Counts != (Counts{Changed: 1, Unchanged: 1}) {
			t.Fatalf("result %+v", res)
		}
		for d, want := range map[string]string{"2026-03-02": "standard", "2026-05-10": "standard", "2026-05-11": "sans-porc", "2027-01-01": "sans-porc"} {
			if got := regimeOn(t, r, d, "E1"); got != want {
				t.Errorf("E1 on %s: %s, want %s", d, got, want)
			}
		}
		h, _ := r.History(context.Background(), "E1")
		if len(h) != 2 || h[0].From != civil.MinDate || h[0].To != day(t, "2026-05-10") || h[1].From != day(t, "2026-05-11") || h[1].To != civil.MaxDate {
			t.Errorf("history %+v", h)
		}
		a = a2
	})

	t.Run("the same people again change nothing", func(t *testing.T) {
		before, _ := r.History(context.Background(), "E1")
		res := mustImport(t, r, []Person{b, a}, "2026-06-01")
		if res.Counts != (Counts{Unchanged: 2}) {
			t.Fatalf("result %+v", res)
		}
		after, _ := r.History(context.Background(), "E1")
		if !slices.Equal(before, after) {
			t.Errorf("history changed: %+v -> %+v", before, after)
		}
	})

	t.Run("a missing person stays known before the date", func(t *testing.T) {
		res := mustImport(t, r, []Person{a}, "2026-07-20")
		if res.Counts != (Counts{Unchanged: 1, Removed: 1}) {
			t.Fatalf("result %+v", res)
		}
		if who(t, r, "2026-07-19", "E2") == nil || who(t, r, "2025-01-01", "E2") == nil {
			t.Error("E2 unknown before leaving")
		}
		if who(t, r, "2026-07-20", "E2") != nil {
			t.Error("E2 still known after leaving")
		}
		s, _ := r.AsOf(context.Background(), day(t, "2026-08-01"))
		if _, ok := s.Lookup("01026F6C3A"); ok {
			t.Error("E2's badge still resolves after leaving")
		}
		s, _ = r.AsOf(context.Background(), day(t, "2026-07-01"))
		if p, ok := s.Lookup("01026F6C3A"); !ok || p.PersonID != "E2" {
			t.Error("E2's badge does not resolve before leaving")
		}
	})

	t.Run("a person back after leaving is known again from the date", func(t *testing.T) {
		res := mustImport(t, r, []Person{a, b}, "2026-09-01")
		if res.Counts != (Counts{Added: 1, Unchanged: 1}) {
			t.Fatalf("result %+v", res)
		}
		for d, known := range map[string]bool{"2026-07-19": true, "2026-07-20": false, "2026-08-31": false, "2026-09-01": true} {
			if (who(t, r, d, "E2") != nil) != known {
				t.Errorf("E2 known on %s: %v, want %v", d, !known, known)
			}
		}
	})

	t.Run("a date before a version's start is refused", func(t *testing.T) {
		a3 := a
		a3.Garderie = GarderieSoir
		before, _ := r.History(context.Background(), "E1")
		_, err := r.Import(context.Background(), []Person{a3}, day(t, "2026-08-15"), nil)
		if !errors.Is(err, ErrBackdated) {
			t.Fatalf("err = %v, want ErrBackdated", err)
		}
		for _, want := range []string{`"E2"`, "2026-09-01", "--from 2026-09-01 or later"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not say %s", err, want)
			}
		}
		after, _ := r.History(context.Background(), "E1")
		if !slices.Equal(before, after) || who(t, r, "2026-09-02", "E2") == nil {
			t.Error("a refused import changed the roster")
		}
	})
}

func TestImportSameDayCorrections(t *testing.T) {
	r, _ := openDB(t)
	a, b := child("E1", "13005D1DA5", "standard"), child("E2", "01026F6C3A", "standard")
	mustImport(t, r, []Person{a, b}, "2026-03-02")

	a2 := a
	a2.Regime = "pai"
	mustImport(t, r, []Person{a2, b}, "2026-04-01")
	a3 := a
	a3.Regime = "vegetarien"
	if res := mustImport(t, r, []Person{a3, b}, "2026-04-01"); res.Counts != (Counts{Changed: 1, Unchanged: 1}) {
		t.Fatalf("correction: %+v", res)
	}
	h, _ := r.History(context.Background(), "E1")
	if len(h) != 2 || h[1].Regime != "vegetarien" || h[1].From != day(t, "2026-04-01") {
		t.Fatalf("a second import the same day should replace the day's version: %+v", h)
	}
	if res := mustImport(t, r, []Person{a, b}, "2026-04-01"); res.Counts != (Counts{Changed: 1, Unchanged: 1}) {
		t.Fatalf("undo: %+v", res)
	}
	h, _ = r.History(context.Background(), "E1")
	if len(h) != 1 || h[0].From != civil.MinDate || h[0].To != civil.MaxDate || h[0].Regime != "standard" {
		t.Fatalf("undoing the day's change should leave one version: %+v", h)
	}

	// Removed by mistake, put back the same day: as if nothing happened.
	mustImport(t, r, []Person{a}, "2026-04-02")
	if res := mustImport(t, r, []Person{a, b}, "2026-04-02"); res.Counts != (Counts{Added: 1, Unchanged: 1}) {
		t.Fatalf("put back: %+v", res)
	}
	h, _ = r.History(context.Background(), "E2")
	if len(h) != 1 || h[0].To != civil.MaxDate {
		t.Fatalf("E2 history %+v", h)
	}
}

func TestImportFailureLeavesRosterIntact(t *testing.T) {
	ctx := context.Background()
	var people []Person
	for i := range 600 {
		people = append(people, child(fmt.Sprintf("E%04d", i), fmt.Sprintf("13%08X", i), "standard"))
	}
	changed := slices.Clone(people)
	for i := range changed {
		changed[i].Regime = "sans-porc"
	}
	changed = append(changed[:10], changed[20:]...) // some removed too
	changed = append(changed, child("NEW", "AABBCCDDEE", "standard"))

	check := func(t *testing.T, r *Roster) {
		t.Helper()
		s, err := r.AsOf(ctx, day(t, "2026-06-01"))
		if err != nil {
			t.Fatal(err)
		}
		if len(s.People()) != 600 {
			t.Fatalf("%d people after a failed import, want 600", len(s.People()))
		}
		for _, p := range s.People() {
			if p.Regime != "standard" {
				t.Fatalf("%s has regime %s after a failed import", p.PersonID, p.Regime)
			}
		}
		if _, ok := s.Person("NEW"); ok {
			t.Fatal("a person of the failed import is in the roster")
		}
	}

	t.Run("database error in the middle", func(t *testing.T) {
		r, _ := openDB(t)
		mustImport(t, r, people, "2026-03-02")
		check(t, r) // and cache the snapshot
		// A real error half-way through the writes.
		if _, err := r.db.ExecContext(ctx, `CREATE TRIGGER boom BEFORE INSERT ON roster_versions
			WHEN NEW.person_id = 'E0400' BEGIN SELECT RAISE(ABORT, 'disk on fire'); END`); err != nil {
			t.Fatal(err)
		}
		_, err := r.Import(ctx, changed, day(t, "2026-05-01"), nil)
		if err == nil || !strings.Contains(err.Error(), "disk on fire") || !strings.Contains(err.Error(), "E0400") {
			t.Fatalf("err = %v", err)
		}
		check(t, r)
		var imports int
		r.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM roster_imports`).Scan(&imports)
		if imports != 1 {
			t.Errorf("%d imports recorded, want 1", imports)
		}
	})

	t.Run("cancelled while writing", func(t *testing.T) {
		r, _ := openDB(t)
		mustImport(t, r, people, "2026-03-02")
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		_, err := r.Import(ctx, changed, day(t, "2026-05-01"), func(done, total int) {
			if done > total/2 {
				cancel()
			}
		})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
		check(t, r)
	})

	t.Run("invalid people", func(t *testing.T) {
		r, _ := openDB(t)
		mustImport(t, r, people, "2026-03-02")
		dupID := append(slices.Clone(changed), child("E0500", "FFFFFFFFFF", "standard"))
		dupCard := append(slices.Clone(changed), Person{PersonID: "X", Role: RoleStaff, LastName: "X", FirstName: "X",
			Site: "jules-ferry", Regime: "standard", Match: Match{"00000005", MatchLow32}}) // E0005's low 32 bits
		bad := append(slices.Clone(changed), Person{PersonID: "Y", Role: "parent", Site: "Jules Ferry"})
		for name, ps := range map[string][]Person{"duplicate id": dupID, "duplicate card": dupCard, "invalid": bad} {
			if _, err := r.Import(ctx, ps, day(t, "2026-05-01"), nil); !errors.Is(err, ErrInvalidPerson) {
				t.Errorf("%s: err = %v, want ErrInvalidPerson", name, err)
			}
		}
		check(t, r)
	})
}

func TestSnapshotBadgeGivenToANewChild(t *testing.T) {
	r, _ := openDB(t)
	mustImport(t, r, []Person{child("OLD", "13005D1DA5", "standard"), child("E2", "01026F6C3A", "standard")}, "2026-03-02")
	// OLD leaves; their card goes to NEW, who, as every new person, is
	// known on past days too.
	mustImport(t, r, []Person{child("NEW", "13005D1DA5", "pai"), child("E2", "01026F6C3A", "standard")}, "2026-06-01")
	for d, want := range map[string]string{"2026-04-01": "OLD", "2026-05-31": "OLD", "2026-06-01": "NEW"} {
		s, err := r.AsOf(context.Background(), day(t, d))
		if err != nil {
			t.Fatal(err)
		}
		if p, ok := s.Lookup("13005D1DA5"); !ok || p.PersonID != want {
			t.Errorf("on %s the badge is %v, want %s", d, p, want)
		}
	}
}

func TestSites(t *testing.T) {
	r, _ := openDB(t)
	a, b := child("E1", "13005D1DA5", "standard"), child("E2", "01026F6C3A", "standard")
	b.Site = "pierre-loti"
	mustImport(t, r, []Person{a, b}, "2026-03-02")
	a.Site = "anatole-france"
	mustImport(t, r, []Person{a}, "2026-06-01")
	sites, err := r.Sites(context.Background())
	if err != nil || !slices.Equal(sites, []string{"anatole-france", "jules-ferry", "pierre-loti"}) {
		t.Errorf("Sites = %v, %v", sites, err)
	}
	for d, want := range map[string][]string{"2026-05-01": {"jules-ferry", "pierre-loti"}, "2026-06-01": {"anatole-france"}} {
		s, _ := r.AsOf(context.Background(), day(t, d))
		if !slices.Equal(s.Sites(), want) {
			t.Errorf("sites on %s = %v, want %v", d, s.Sites(), want)
		}
	}
}

func TestAsOfCacheFollowsImports(t *testing.T) {
	ctx := context.Background()
	r, another := openDB(t)
	mustImport(t, r, []Person{child("E1", "13005D1DA5", "standard")}, "2026-03-02")
	today := day(t, "2026-06-01")
	s1, _ := r.AsOf(ctx, today)
	if s2, _ := r.AsOf(ctx, today); s2 != s1 {
		t.Error("the second AsOf of a day should come from the cache")
	}
	// Another process (the roster import command) imports.
	other := another()
	mustImport(t, other, []Person{child("E1", "13005D1DA5", "pai")}, "2026-05-01")
	if s, _ := r.AsOf(ctx, today); s != s1 {
		t.Error("within freshFor, AsOf should trust its cache")
	}
	r.mu.Lock()
	r.checkedAt = r.checkedAt.Add(-freshFor) // as if a second went by
	r.mu.Unlock()
	s3, err := r.AsOf(ctx, today)
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := s3.Person("E1"); p == nil || p.Regime != "pai" {
		t.Errorf("AsOf after another process's import: %+v", p)
	}
}

func TestConcurrentAsOfAndImport(t *testing.T) {
	ctx := context.Background()
	r, _ := openDB(t)
	var people []Person
	for i := range 50 {
		people = append(people, child(fmt.Sprintf("E%03d", i), fmt.Sprintf("13%08X", i), "standard"))
	}
	mustImport(t, r, people, "2026-03-02")
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				s, err := r.AsOf(ctx, day(t, "2026-06-01"))
				if err != nil {
					t.Error(err)
					return
				}
				// Every snapshot is one import's roster, never a mix.
				first := s.People()[0].Regime
				for _, p := range s.People() {
					if p.Regime != first {
						t.Errorf("snapshot mixes regimes %s and %s", first, p.Regime)
						return
					}
				}
			}
		}()
	}
	for i, regime := range []string{"pai", "sans-porc", "vegetarien", "standard"} {
		for j := range people {
			people[j].Regime = regime
		}
		mustImport(t, r, people, fmt.Sprintf("2026-0%d-01", 4+i))
	}
	close(stop)
	wg.Wait()
	s, _ := r.AsOf(ctx, day(t, "2026-08-01"))
	if s.People()[0].Regime != "standard" {
		t.Errorf("last import not visible: %s", s.People()[0].Regime)
	}
}
