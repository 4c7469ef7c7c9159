package influxstore

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"pointage/hub/store"
	"pointage/internal/testenv"
	"pointage/internal/wire"
)

// BenchmarkDayFloor is what reading a city day (60 schools, ~17,500 check-ins) costs
// on a real influxd 1.8, part by part: the store's Events (Flux, pivot, the hub
// rebuilding the events), the same Flux query's answer alone (influxd's work and
// the annotated CSV, read and dropped), the query without its pivot, and the
// day's points through InfluxQL (/query, JSON). The difference between the first
// two is the hub's share; the others say what the query language costs.
func BenchmarkDayFloor(b *testing.B) {
	srv := testenv.Influxd(b)
	ctx := context.Background()
	s, err := Open(ctx, Options{URL: srv.URL(), Bucket: "floor/autogen", Timeout: time.Minute, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	loc := time.FixedZone("Pacific/Noumea", 11*3600)
	day := time.Date(2026, 11, 24, 0, 0, 0, 0, loc)
	var evs []store.Event
	for site := range 60 {
		seq := uint64(0)
		add := func(badge string, service wire.Service, at time.Time) {
			seq++
			evs = append(evs, store.Event{ID: fmt.Sprintf("01FLOOR%02d%017d", site, seq), Site: fmt.Sprintf("ecole-%02d", site),
				Device: fmt.Sprintf("dev-%02d", site), Epoch: "E1", Reader: "entree", Seq: seq, Badge: badge, Service: service,
				Dir: wire.DirAuto, At: at, ReceivedAt: at})
		}
		for i := range 160 {
			badge := fmt.Sprintf("0A%02X%06X", site, i)
			add(badge, wire.ServiceCanteen, day.Add(11*time.Hour+time.Duration(i)*4*time.Second))
			if i%3 == 0 {
				add(badge, wire.ServiceGarderie, day.Add(15*time.Hour+time.Duration(i)*time.Second))
				add(badge, wire.ServiceGarderie, day.Add(17*time.Hour+time.Duration(i)*time.Second))
			}
		}
		for i := 160; i < 166; i++ {
			for _, h := range []time.Duration{7, 11, 12, 16} {
				add(fmt.Sprintf("0A%02X%06X", site, i), wire.ServiceStaff, day.Add(h*time.Hour+time.Duration(i)*time.Second))
			}
		}
	}
	for i := 0; i < len(evs); i += 5000 {
		if err := s.Write(ctx, evs[i:min(i+5000, len(evs))]); err != nil {
			b.Fatal(err)
		}
	}
	from, to := day, day.Add(24*time.Hour)
	post := func(b *testing.B, path, contentType, body string) int64 {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL()+path, strings.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		req.Header.Set("Content-Type", contentType)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		n, err := io.Copy(io.Discard, resp.Body)
		if err != nil || resp.StatusCode != http.StatusOK {
			b.Fatalf("%s: %d, %v", path, resp.StatusCode, err)
		}
		return n
	}
	flux := func(q string) string {
		body, _ := json.Marshal(map[string]any{"query": q, "type": "flux",
			"dialect": map[string]any{"annotations": []string{"datatype", "group", "default"}}})
		return string(body)
	}
	b.Run("Events", func(b *testing.B) {
		for range b.N {
			got, err := s.Events(ctx, store.Query{From: from, To: to})
			if err != nil || len(got) != len(evs) {
				b.Fatalf("%d events, %v; want %d", len(got), err, len(evs))
			}
		}
		b.ReportMetric(float64(len(evs)), "events")
	})
	b.Run("FluxAnswer", func(b *testing.B) {
		q := flux(fluxQuery(s.opts.Bucket, from, to, "", nil))
		for range b.N {
			b.ReportMetric(float64(post(b, "/api/v2/query", "application/json", q))/1e6, "MB")
		}
	})
	b.Run("FluxWithoutPivot", func(b *testing.B) {
		q := fluxQuery(s.opts.Bucket, from, to, "", nil)
		q = q[:strings.Index(q, "  |> pivot(")]
		for range b.N {
			b.ReportMetric(float64(post(b, "/api/v2/query", "application/json", flux(q)))/1e6, "MB")
		}
	})
	b.Run("InfluxQL", func(b *testing.B) {
		form := url.Values{"db": {"floor"}, "q": {fmt.Sprintf(`SELECT * FROM %q WHERE time >= '%s' AND time < '%s'`,
			Measurement, from.UTC().Format(time.RFC3339Nano), to.UTC().Format(time.RFC3339Nano))}}
		for range b.N {
			b.ReportMetric(float64(post(b, "/query", "application/x-www-form-urlencoded", form.Encode()))/1e6, "MB")
		}
	})
}
