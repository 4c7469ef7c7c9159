package ingest

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkIngestSQLite measures check-ins per second through the whole
// pipeline (validate, queue in hub.db, write to the SQLite store, Ack) with
// 20 devices publishing 1,000 events each per iteration.
func BenchmarkIngestSQLite(b *testing.B) {
	const devices, perDevice = 20, 1000
	var total time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		e := newEnv(b, b.TempDir(), nil)
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
