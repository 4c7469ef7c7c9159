package influxstore_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"pointage/hub/store"
	"pointage/hub/store/influxstore"
	"pointage/hub/store/storetest"
	"pointage/internal/testenv"
)

const timeout = 2 * time.Second

func open(t testing.TB, url, bucket string) *influxstore.Store {
	t.Helper()
	s, err := influxstore.Open(context.Background(), influxstore.Options{
		URL: url, Bucket: bucket, Timeout: timeout, Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestConformance runs the suite against one influxd (Flux on), one database
// per subtest.
func TestConformance(t *testing.T) {
	srv := testenv.Influxd(t)
	var n atomic.Int64
	storetest.Run(t, func(t *testing.T) store.Store {
		return open(t, srv.URL(), fmt.Sprintf("suite%d/autogen", n.Add(1)))
	})
}

var noumea = time.FixedZone("", 11*3600)

func events(device string, from, n int) []store.Event {
	out := make([]store.Event, n)
	for i := range out {
		seq := uint64(from + i)
		out[i] = store.Event{
			ID: fmt.Sprintf("%s-%06d", device, seq), Site: "jules-ferry", Device: device,
			Epoch: "01JDQ3Y0000000000000000000", Reader: "entree", Seq: seq,
			Badge: fmt.Sprintf("0A00%06X", seq), Service: "canteen", Dir: "auto",
			At:         time.Date(2026, 11, 28, 11, 0, 0, 0, noumea).Add(time.Duration(seq) * 250 * time.Millisecond),
			ReceivedAt: time.Date(2026, 11, 28, 0, 30, 0, 0, time.UTC),
		}
	}
	return out
}

// count is SELECT count(badge) FROM checkin, through InfluxQL.
func count(t *testing.T, srv *testenv.InfluxdServer, db string) int {
	t.Helper()
	body, err := srv.QueryDB(db, `SELECT count(badge) FROM checkin`)
	if err != nil {
		t.Fatal(err)
	}
	var answer struct {
		Results []struct {
			Series []struct {
				Values [][]any `json:"values"`
			} `json:"series"`
		} `json:"results"`
	}
	if err := json.Unmarshal([]byte(body), &answer); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	if len(answer.Results) == 0 || len(answer.Results[0].Series) == 0 {
		return 0
	}
	return int(answer.Results[0].Series[0].Values[0][1].(float64))
}

func mustWrite(t *testing.T, s store.Store, batch []store.Event) {
	t.Helper()
	if err := s.Write(context.Background(), batch); err != nil {
		t.Fatalf("Write: %v", err)
	}
}

// A field type conflict (seq written as a string before) is refused for good.
func TestPermanentError(t *testing.T) {
	srv := testenv.Influxd(t, testenv.InfluxdWithoutFlux())
	if _, err := srv.Query(`CREATE DATABASE "conflict"`); err != nil {
		t.Fatal(err)
	}
	// Field types are per shard in 1.x: the conflicting point is dated like the events.
	at := events("jf-cantine-1", 1, 1)[0].At
	if err := srv.Write("conflict", fmt.Sprintf(`checkin,site=jules-ferry,device=jf-cantine-1 seq="one",badge="x" %d`, at.UnixNano())); err != nil {
		t.Fatal(err)
	}
	s := open(t, srv.URL(), "conflict/autogen")
	err := s.Write(context.Background(), events("jf-cantine-1", 1, 3))
	if err == nil {
		t.Fatal("Write: no error, want a field type conflict")
	}
	if !store.IsPermanent(err) {
		t.Errorf("Write: %v: not permanent", err)
	}
	if !strings.Contains(err.Error(), "field type conflict") {
		t.Errorf("Write: %v: the reason is missing", err)
	}
	t.Logf("permanent error: %v", err)

	// An event InfluxDB cannot date is refused before anything is sent.
	bad := events("jf-cantine-1", 1, 1)
	bad[0].At = time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := s.Write(context.Background(), bad); !store.IsPermanent(err) {
		t.Errorf("Write of an event dated 1600: %v, want a permanent error", err)
	}
}

// influxd down: Write fails fast with a retryable error; once it is back,
// Write succeeds, and redeliveries leave one point per event.
func TestServerDown(t *testing.T) {
	srv := testenv.Influxd(t, testenv.InfluxdWithoutFlux())
	s := open(t, srv.URL(), "pointage/autogen")
	a, b := events("jf-cantine-1", 1, 50), events("jf-cantine-1", 51, 50)
	mustWrite(t, s, a)

	srv.Stop()
	start := time.Now()
	err := s.Write(context.Background(), b)
	elapsed := time.Since(start)
	if err == nil {
		t.Fatal("Write with influxd stopped: no error")
	}
	if store.IsPermanent(err) {
		t.Fatalf("Write with influxd stopped: %v is permanent, want retryable", err)
	}
	if elapsed > timeout+time.Second {
		t.Errorf("Write with influxd stopped took %s, timeout is %s", elapsed, timeout)
	}
	t.Logf("retryable error after %s: %v", elapsed.Round(time.Millisecond), err)

	srv.Start()
	mustWrite(t, s, b)
	mustWrite(t, s, a) // redeliveries
	mustWrite(t, s, append(b, a...))
	if got, want := count(t, srv, "pointage"), len(a)+len(b); got != want {
		t.Errorf("count(badge) = %d, want %d", got, want)
	}
}

// Open succeeds while influxd is down; the first Write after it is back
// creates the database.
func TestOpenWhileDown(t *testing.T) {
	srv := testenv.Influxd(t, testenv.InfluxdWithoutFlux())
	srv.Stop()
	start := time.Now()
	s := open(t, srv.URL(), "pointage/autogen")
	if elapsed := time.Since(start); elapsed > timeout+time.Second {
		t.Errorf("Open took %s", elapsed)
	}
	if err := s.Write(context.Background(), events("jf-cantine-1", 1, 5)); err == nil || store.IsPermanent(err) {
		t.Errorf("Write while down: %v, want a retryable error", err)
	}
	srv.Start()
	mustWrite(t, s, events("jf-cantine-1", 1, 5))
	if got := count(t, srv, "pointage"); got != 5 {
		t.Errorf("count(badge) = %d, want 5", got)
	}
}

// A database dropped behind the store's back: one retryable error, then the
// store creates it again.
func TestDatabaseDropped(t *testing.T) {
	srv := testenv.Influxd(t, testenv.InfluxdWithoutFlux())
	s := open(t, srv.URL(), "pointage/autogen")
	mustWrite(t, s, events("jf-cantine-1", 1, 5))
	if _, err := srv.Query(`DROP DATABASE "pointage"`); err != nil {
		t.Fatal(err)
	}
	err := s.Write(context.Background(), events("jf-cantine-1", 6, 5))
	if err == nil || store.IsPermanent(err) {
		t.Fatalf("Write to a dropped database: %v, want a retryable error", err)
	}
	t.Logf("retryable error: %v", err)
	mustWrite(t, s, events("jf-cantine-1", 6, 5))
	if got := count(t, srv, "pointage"); got != 5 {
		t.Errorf("count(badge) = %d, want 5", got)
	}
}

// BenchmarkWrite writes batches of 1000 new events into influxd 1.8.
func BenchmarkWrite(b *testing.B) {
	const batch = 1000
	srv := testenv.Influxd(b, testenv.InfluxdWithoutFlux())
	s := open(b, srv.URL(), "bench/autogen")
	ctx := context.Background()
	seq := 0
	b.ResetTimer()
	for b.Loop() {
		evs := events("jf-cantine-1", seq+1, batch)
		seq += batch
		if err := s.Write(ctx, evs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "events/s")
}

func influxstoreOpen(url, org, bucket, token string) (*influxstore.Store, error) {
	return influxstore.Open(context.Background(), influxstore.Options{
		URL: url, Org: org, Bucket: bucket, Token: token, Timeout: timeout,
		Logger: slog.New(slog.DiscardHandler),
	})
}
