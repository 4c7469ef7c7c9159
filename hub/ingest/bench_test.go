package ingest

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"pointage/hub/db"
	"pointage/hub/store/influxstore"
	"pointage/internal/testenv"
)

// BenchmarkIngestSQLite measures check-ins per second through the whole
// pipeline (validate, queue in hub.db, write to the SQLite store, Ack) with
// 20 devices publishing 1,000 events each per iteration.
func BenchmarkIngestSQLite(b *testing.B) {
	benchIngest(b, func() *env { return newEnv(b, b.TempDir(), nil) })
}

// BenchmarkIngestInfluxDB is the same into a real influxd 1.8.10.
func BenchmarkIngestInfluxDB(b *testing.B) {
	influx := testenv.Influxd(b, testenv.InfluxdWithoutFlux())
	n := 0
	benchIngest(b, func() *env {
		n++
		sqlDB, err := db.OpenMigrated(context.Background(), filepath.Join(b.TempDir(), "hub.db"))
		if err != nil {
			b.Fatal(err)
		}
		st, err := influxstore.Open(context.Background(), influxstore.Options{URL: influx.URL(), Bucket: fmt.Sprintf("bench%d/autogen", n)})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { st.Close(); sqlDB.Close() })
		return newEnvWith(b, sqlDB, st, nil)
	})
}

func benchIngest(b *testing.B, newEnv func() *env) {
	const devices, perDevice = 20, 1000
	var total time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		e := newEnv()
		msgs := make([][2][]byte, 0, devices*perDevice)
		for s := uint64(1); s <= perDevice; s++ {
			for d := 0; d < devices; d++ {
				topic, payload := checkIn(fmt.Sprintf("d%d", d), "E1", s, fmt.Sprintf("0A%08X", s))
				msgs = append(msgs, [2][]byte{[]byte(topic), payload})
			}
		}
		b.StartTimer()
		start := time.Now()
		for _, m := range msgs {
			e.in.Handle(string(m[0]), m[1])
		}
		for d := 0; d < devices; d++ {
			for e.pub.lastAck(fmt.Sprintf("d%d", d), "E1") != perDevice {
				time.Sleep(time.Millisecond)
			}
		}
		total += time.Since(start)
		b.StopTimer()
		e.stop()
	}
	b.ReportMetric(float64(devices*perDevice*b.N)/total.Seconds(), "events/s")
}
