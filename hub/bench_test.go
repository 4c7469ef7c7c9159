package hub_test

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"pointage/hub"
	"pointage/internal/testenv"
)

// BenchmarkPublishToAck measures, through the embedded broker and a real
// MQTT client, the time from publishing a check-in (QoS 1) to receiving the
// hub's Ack that covers it, one event at a time, and reports the median and
// p99 over 300 events per iteration.
func BenchmarkPublishToAck(b *testing.B) {
	for i := 0; i < b.N; i++ {
		p50, p99 := publishToAck(b, hub.Config{})
		b.ReportMetric(float64(p50.Microseconds())/1000, "p50_ms")
		b.ReportMetric(float64(p99.Microseconds())/1000, "p99_ms")
	}
}

// BenchmarkPublishToAckInflux is the same with InfluxDB 1.8 as the store.
func BenchmarkPublishToAckInflux(b *testing.B) {
	influx := testenv.Influxd(b, testenv.InfluxdWithoutFlux())
	for i := 0; i < b.N; i++ {
		p50, p99 := publishToAck(b, hub.Config{InfluxURL: influx.URL(), InfluxBucket: fmt.Sprintf("bench%d/autogen", i)})
		b.ReportMetric(float64(p50.Microseconds())/1000, "p50_ms")
		b.ReportMetric(float64(p99.Microseconds())/1000, "p99_ms")
	}
}

func publishToAck(b *testing.B, extra hub.Config) (p50, p99 time.Duration) {
	b.StopTimer()
	defer b.StartTimer()
	cfg := config()
	cfg.InfluxURL, cfg.InfluxBucket = extra.InfluxURL, extra.InfluxBucket
	h := startHub(b, cfg)
	_, pw, err := h.Devices().Add(context.Background(), "jules-ferry", "jf-cantine-1", "")
	if err != nil {
		b.Fatal(err)
	}
	d := newDevice(b, h.MQTTURL(), "jules-ferry", "jf-cantine-1", pw)
	const n = 300
	lat := make([]time.Duration, 0, n)
	for seq := uint64(1); seq <= n; seq++ {
		start := time.Now()
		d.publish(d.checkIn("E1", seq, ""))
		for d.ack("E1") < seq {
			if time.Since(start) > 10*time.Second {
				b.Fatalf("no ack for seq %d", seq)
			}
			time.Sleep(50 * time.Microsecond)
		}
		lat = append(lat, time.Since(start))
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	return lat[n/2], lat[n*99/100]
}
