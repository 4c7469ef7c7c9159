//go:build unix

// The city benchmark reports CPU time through getrusage (unix only).

package sqlitestore_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"pointage/hub/store"
	"pointage/hub/store/sqlitestore"
)

// A month of a city: cityDevices scanners on cityDevices/devicesPerSite
// sites, cityRows events spread evenly over 30 days.
const (
	cityRows       = 500_000
	cityDevices    = 200
	devicesPerSite = 5
	cityBatch      = 1000 // the hub's largest write
	batchDevices   = 20   // devices interleaved in one batch
)

var monthStart = time.Date(2026, 10, 29, 0, 0, 0, 0, noumea)

// cityEvent is the i-th event of the city: device i%cityDevices, its
// sequence numbers consecutive, one event every ~5 s across the city.
func cityEvent(i int, at time.Time) store.Event {
	device := i % cityDevices
	seq := uint64(i/cityDevices + 1)
	return store.Event{
		ID:         fmt.Sprintf("01JDQ3ZC8M%016X", i),
		Site:       fmt.Sprintf("site-%02d", device/devicesPerSite),
		Device:     fmt.Sprintf("site-%02d-cantine-%d", device/devicesPerSite, device%devicesPerSite),
		Epoch:      "01JDQ3Y0000000000000000000",
		Reader:     "entree",
		Seq:        seq,
		Badge:      fmt.Sprintf("0A%08X", uint32(i)*2654435761), // scattered badges
		Service:    "canteen",
		Dir:        "auto",
		At:         at,
		ReceivedAt: at.Add(1500 * time.Millisecond).UTC(),
	}
}

// cityTemplate is a closed store file holding the month, built once per
// test binary (slow: ~cityRows writes) and copied for each benchmark run.
var cityTemplate = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "sqlitestore-bench-")
	if err != nil {
		return "", err
	}
	benchDirs = append(benchDirs, dir)
	path := filepath.Join(dir, "checkins.db")
	ctx := context.Background()
	s, err := sqlitestore.Open(ctx, path, nil)
	if err != nil {
		return "", err
	}
	defer s.Close()
	step := 30 * 24 * time.Hour / cityRows
	batch := make([]store.Event, 0, 10_000)
	for i := range cityRows {
		batch = append(batch, cityEvent(i, monthStart.Add(time.Duration(i)*step)))
		if len(batch) == cap(batch) || i == cityRows-1 {
			if err := s.Write(ctx, batch); err != nil {
				return "", err
			}
			batch = batch[:0]
		}
	}
	return path, s.Close() // checkpoints the WAL into the file
})

// benchDirs are removed by TestMain once the benchmarks have run.
var benchDirs []string

func TestMain(m *testing.M) {
	code := m.Run()
	for _, dir := range benchDirs {
		os.RemoveAll(dir)
	}
	os.Exit(code)
}

// cpuTime is the CPU time (user and system) the process has used so far:
// on a shared machine it varies less than the wall clock, and the hub's
// budget is two cores.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// copyFile copies the closed database file src to dst.
func copyFile(dst, src string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// BenchmarkWriteCity is the hub's production write: batches of 1,000 new
// events from 20 devices, interleaved as they arrive, into a store that
// already holds a month of a city (500,000 events).
func BenchmarkWriteCity(b *testing.B) {
	template, err := cityTemplate()
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(b.TempDir(), "checkins.db")
	if err := copyFile(path, template); err != nil {
		b.Fatal(err)
	}
	s := open(b, path)
	ctx := context.Background()
	// The batch's devices (0..19, four sites) carry on after their last
	// event of the month; each loop moves them on by one batch. Only Seq
	// and the times change, so building a batch costs next to nothing.
	events := make([]store.Event, cityBatch)
	when := monthStart.Add(30 * 24 * time.Hour)
	for j := range events {
		i := (cityRows/cityDevices+j/batchDevices)*cityDevices + j%batchDevices
		events[j] = cityEvent(i, when.Add(time.Duration(j)*50*time.Millisecond))
	}
	const perDevice = cityBatch / batchDevices
	b.ResetTimer()
	cpu := cpuTime(b)
	for b.Loop() {
		if err := s.Write(ctx, events); err != nil {
			b.Fatal(err)
		}
		for j := range events {
			e := &events[j]
			e.Seq += perDevice
			e.At = e.At.Add(cityBatch * 50 * time.Millisecond)
			e.ReceivedAt = e.ReceivedAt.Add(cityBatch * 50 * time.Millisecond)
		}
	}
	n := float64(b.N * cityBatch)
	b.ReportMetric(n/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(b.Elapsed().Microseconds())/n, "µs/event")
	b.ReportMetric(float64((cpuTime(b)-cpu).Microseconds())/n, "cpu-µs/event")
}
