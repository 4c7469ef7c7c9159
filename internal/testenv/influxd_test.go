package testenv_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"pointage/internal/testenv"
)

// A check-in point as the hub writes it (docs/DESIGN.md §6): 2026-11-28T11:32:05.123+11:00 with
// seq 42 in the sub-millisecond nanoseconds.
const point = `checkin,site=jules-ferry,device=jf-cantine-1,reader=entree,service=canteen ` +
	`badge="0A00BC614E",seq=42i,epoch="",id="01JDQ3ZC8M6X3W5R2Y7T9K4B1N",dir="auto" 1795825925123000042`

func httpDo(t *testing.T, req *http.Request) (int, string) {
	t.Helper()
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

// selectBadge reads the point back with a plain GET /query.
func selectBadge(t *testing.T, d *testenv.InfluxdServer) string {
	t.Helper()
	q := url.Values{"db": {"pointage"}, "q": {`SELECT badge, seq FROM checkin WHERE site = 'jules-ferry'`}}
	req, _ := http.NewRequest(http.MethodGet, d.URL()+"/query?"+q.Encode(), nil)
	status, body := httpDo(t, req)
	if status != http.StatusOK {
		t.Fatalf("GET /query: %d %s", status, body)
	}
	return body
}

func wantPoint(t *testing.T, d *testenv.InfluxdServer, when string) {
	t.Helper()
	body := selectBadge(t, d)
	if !strings.Contains(body, `"2026-11-28T00:32:05.123000042Z","0A00BC614E",42`) {
		t.Fatalf("%s: the point is not there: %s", when, body)
	}
}

func createAndWrite(t *testing.T, d *testenv.InfluxdServer) {
	t.Helper()
	if _, err := d.Query(`CREATE DATABASE "pointage"`); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, d.URL()+"/write?db=pointage", strings.NewReader(point))
	if status, body := httpDo(t, req); status != http.StatusNoContent {
		t.Fatalf("POST /write: %d %s", status, body)
	}
}

func TestInfluxdWriteQueryStopKillStart(t *testing.T) {
	t.Parallel()
	d := testenv.Influxd(t, testenv.InfluxdWithoutFlux())
	t.Logf("influxd (without Flux) started in %s", d.StartupTime())
	createAndWrite(t, d)
	wantPoint(t, d, "after the write")

	d.Stop()
	req, _ := http.NewRequest(http.MethodGet, d.URL()+"/ping", nil)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatal("influxd still answers after Stop")
	}
	d.Stop() // harmless
	d.Start()
	t.Logf("influxd (without Flux) restarted in %s", d.StartupTime())
	wantPoint(t, d, "after Stop and Start")

	d.Kill()
	d.Start()
	wantPoint(t, d, "after Kill and Start")
}

// The default server answers Flux (the store's client queries with it); 1.8's bucket is
// "db/rp". This start takes several seconds: see InfluxdWithoutFlux.
func TestInfluxdFlux(t *testing.T) {
	t.Parallel()
	d := testenv.Influxd(t)
	t.Logf("influxd (with Flux) started in %s", d.StartupTime())
	createAndWrite(t, d)
	flux := `from(bucket: "pointage/autogen") |> range(start: 2026-11-27T13:00:00Z, stop: 2026-11-28T13:00:00Z)
		|> filter(fn: (r) => r._measurement == "checkin" and r._field == "seq") |> count()`
	req, _ := http.NewRequest(http.MethodPost, d.URL()+"/api/v2/query", strings.NewReader(flux))
	req.Header.Set("Content-Type", "application/vnd.flux")
	req.Header.Set("Accept", "application/csv")
	status, body := httpDo(t, req)
	if status != http.StatusOK || !strings.Contains(body, ",1\r\n") {
		t.Fatalf("Flux count: %d %q", status, body)
	}
}

func TestInfluxdHelpersReportErrors(t *testing.T) {
	t.Parallel()
	d := testenv.Influxd(t, testenv.InfluxdWithoutFlux())
	t.Logf("influxd without Flux started in %s", d.StartupTime())
	if _, err := d.Query(`SELECT * FROM "nodb"."autogen"."checkin"`); err == nil || !strings.Contains(err.Error(), "database not found") {
		t.Errorf("query on a missing database: err = %v", err)
	}
	if _, err := d.Query(`THIS IS NOT INFLUXQL`); err == nil {
		t.Error("a bad statement gave no error")
	}
	if err := d.Write("nodb", point); err == nil || !strings.Contains(err.Error(), "database not found") {
		t.Errorf("write to a missing database: err = %v", err)
	}
	if _, err := d.Query(`CREATE DATABASE "pointage"`); err != nil {
		t.Fatal(err)
	}
	if err := d.Write("pointage", point); err != nil {
		t.Fatal(err)
	}
	out, err := d.QueryDB("pointage", `SELECT count(seq) FROM checkin`)
	if err != nil || !strings.Contains(out, `"count"`) || !strings.Contains(out, `,1]`) {
		t.Errorf("QueryDB count = %s, %v", out, err)
	}
}
