package export

import (
	"fmt"
	"io"
	"runtime"
	"sync"
	"testing"
	"time"
)

// benchMeals is a citywide month of meals: 60 sites, 20 school days,
// 20,000 meals a day, 400,000 rows, with the roster's strings shared
// between a child's rows as the hub's rows would share them.
func benchMeals(tb testing.TB) Export {
	const sites, children, days = 60, 20000, 20
	type child struct{ site, id, last, first, family, class, regime string }
	lasts := []string{"Dupont", "Émery", "Wamytan", "Nguyen", "Martin", "Kaloi", "Gorodey", "Tjibaou", "Leroy", "Petit"}
	firsts := []string{"Léa", "Zoé", "Émile", "Kenzo", "Manon", "Teva", "Inès", "Noa", "Hugo", "Maïa"}
	regimes := []string{"standard", "standard", "standard", "sans-porc", "vegetarien", "pai"}
	kids := make([]child, children)
	for i := range kids {
		kids[i] = child{
			site:   fmt.Sprintf("ecole-%02d", i%sites),
			id:     fmt.Sprintf("E%05d", i),
			last:   fmt.Sprintf("%s-%d", lasts[i%len(lasts)], i/len(lasts)),
			first:  firsts[(i/7)%len(firsts)],
			family: fmt.Sprintf("F%05d", i/2),
			class:  []string{"PS", "MS", "GS", "CP", "CE1", "CE2", "CM1", "CM2"}[i%8],
			regime: regimes[i%len(regimes)],
		}
	}
	e := Export{Kind: Meals, Month: "2026-11", Loc: noumea(tb), GeneratedAt: generated}
	e.Meals = make([]MealRow, 0, days*children)
	for d, n := day(2), 0; n < days; d = d.AddDays(1) {
		if d.Weekday() == time.Saturday || d.Weekday() == time.Sunday {
			continue
		}
		n++
		for i, k := range kids {
			status := StatusExpected
			if i%25 == 0 {
				status = StatusOccasional
			}
			e.Meals = append(e.Meals, MealRow{Date: d, Site: k.site, PersonID: k.id, LastName: k.last, FirstName: k.first,
				FamilyID: k.family, Class: k.class, Regime: k.regime, Status: status, Review: i%500 == 0})
		}
	}
	return e
}

func BenchmarkMeals400kCSV(b *testing.B)  { benchWrite(b, benchMeals(b), WriteCSV) }
func BenchmarkMeals400kXLSX(b *testing.B) { benchWrite(b, benchMeals(b), WriteXLSX) }

// The same rows on one sheet: excelize spills a sheet's XML to a temporary
// file past 16 MB, so one big sheet costs less memory than 60 small ones,
// which it keeps in memory whole (see doc.go).
func BenchmarkMeals400kXLSXOneSheet(b *testing.B) {
	e := benchMeals(b)
	for i := range e.Meals {
		e.Meals[i].Site = "ecole-00"
	}
	benchWrite(b, e, WriteXLSX)
}

// benchWrite reports, beside time and allocations, the peak heap in use
// while writing (HeapInuse sampled every 10 ms), the heap the rows
// themselves hold before writing, and the output's size.
func benchWrite(b *testing.B, e Export, write func(io.Writer, Export, func(int, int)) error) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse

	var (
		mu   sync.Mutex
		peak uint64
		stop = make(chan struct{})
		done = make(chan struct{})
	)
	go func() {
		defer close(done)
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		var m runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				runtime.ReadMemStats(&m)
				mu.Lock()
				peak = max(peak, m.HeapInuse)
				mu.Unlock()
			}
		}
	}()

	var out countingWriter
	out.w = io.Discard
	b.ReportAllocs()
	for b.Loop() {
		out.n = 0
		if err := write(&out, e, nil); err != nil {
			b.Fatal(err)
		}
	}
	close(stop)
	<-done
	mu.Lock()
	defer mu.Unlock()
	b.ReportMetric(float64(base)/1e6, "rows-heap-MB")
	b.ReportMetric(float64(peak)/1e6, "peak-heap-MB")
	b.ReportMetric(float64(peak-min(peak, base))/1e6, "extra-heap-MB")
	b.ReportMetric(float64(out.n)/1e6, "out-MB")
	runtime.KeepAlive(e)
}
