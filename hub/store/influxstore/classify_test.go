package influxstore_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"pointage/hub/store"
	"pointage/hub/store/influxstore"
)

// fakeInflux answers like InfluxDB would, as told: the version /ping gives,
// the status /api/v2/write answers (0 = hang until the client gives up).
type fakeInflux struct {
	*httptest.Server
	mu          sync.Mutex
	version     string
	writeStatus int
	writeBody   string
	queries     []string // /query statements
	queryAuth   []string // their Authorization headers
	writeAuth   string   // last /api/v2/write Authorization header
	writes      int
}

func newFake(t *testing.T, version string) *fakeInflux {
	f := &fakeInflux{version: version, writeStatus: http.StatusNoContent}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeInflux) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch r.URL.Path {
	case "/ping":
		w.Header().Set("X-Influxdb-Version", f.version)
		w.WriteHeader(http.StatusNoContent)
	case "/query":
		r.ParseForm()
		f.queries = append(f.queries, r.Form.Get("q"))
		f.queryAuth = append(f.queryAuth, r.Header.Get("Authorization"))
		io.WriteString(w, `{"results":[{"statement_id":0}]}`)
	case "/api/v2/write":
		io.Copy(io.Discard, r.Body)
		f.writes++
		f.writeAuth = r.Header.Get("Authorization")
		status, body := f.writeStatus, f.writeBody
		if status == 0 {
			f.mu.Unlock()
			<-r.Context().Done()
			f.mu.Lock()
			return
		}
		if body != "" {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("X-Influxdb-Error", body)
		}
		w.WriteHeader(status)
		if body != "" {
			json.NewEncoder(w).Encode(map[string]string{"error": body})
		}
	default:
		http.NotFound(w, r)
	}
}

func (f *fakeInflux) set(status int, body string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.writeStatus, f.writeBody = status, body
}

func (f *fakeInflux) queryCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.queries)
}

// seen returns the /query statements, their Authorization headers and the
// last write's.
func (f *fakeInflux) seen() (queries, queryAuth []string, writeAuth string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.queries...), append([]string(nil), f.queryAuth...), f.writeAuth
}

func TestClassify(t *testing.T) {
	f := newFake(t, "1.8.10")
	s := open(t, f.URL, "pointage/autogen")
	batch := events("jf-cantine-1", 1, 3)
	cases := []struct {
		status    int
		body      string
		permanent bool
	}{
		{http.StatusNoContent, "", false},
		{http.StatusBadRequest, "partial write: field type conflict", true},
		{http.StatusBadRequest, "unable to parse", true},
		{http.StatusRequestEntityTooLarge, "", true},
		{http.StatusUnprocessableEntity, "", true},
		{http.StatusUnauthorized, "authorization failed", false},
		{http.StatusForbidden, "", false},
		{http.StatusNotFound, "database not found: \"pointage\"", false},
		{http.StatusTooManyRequests, "", false},
		{http.StatusInternalServerError, "timeout", false},
		{http.StatusServiceUnavailable, "", false},
	}
	for _, c := range cases {
		f.set(c.status, c.body)
		err := s.Write(context.Background(), batch)
		switch {
		case c.status == http.StatusNoContent && err != nil:
			t.Errorf("%d: %v", c.status, err)
		case c.status != http.StatusNoContent && err == nil:
			t.Errorf("%d: no error", c.status)
		case store.IsPermanent(err) != c.permanent:
			t.Errorf("%d: %v: permanent %t, want %t", c.status, err, store.IsPermanent(err), c.permanent)
		case c.body != "" && !strings.Contains(err.Error(), c.body):
			t.Errorf("%d: %v: InfluxDB's reason is missing", c.status, err)
		}
	}
}

// A 404 (database dropped) makes the next Write create the database again.
func TestNotFoundEnsuresAgain(t *testing.T) {
	f := newFake(t, "1.8.10")
	s := open(t, f.URL, "pointage/autogen")
	if got := f.queryCount(); got != 1 {
		t.Fatalf("Open ran %d /query statements, want 1 (CREATE DATABASE)", got)
	}
	mustWrite(t, s, events("jf-cantine-1", 1, 1))
	f.set(http.StatusNotFound, `database not found: \"pointage\"`)
	if err := s.Write(context.Background(), events("jf-cantine-1", 2, 1)); err == nil || store.IsPermanent(err) {
		t.Fatalf("Write: %v, want a retryable error", err)
	}
	f.set(http.StatusNoContent, "")
	mustWrite(t, s, events("jf-cantine-1", 2, 1))
	mustWrite(t, s, events("jf-cantine-1", 3, 1))
	if got := f.queryCount(); got != 2 {
		t.Errorf("%d /query statements, want 2 (CREATE DATABASE again, once)", got)
	}
	if queries, _, _ := f.seen(); len(queries) > 1 && queries[1] != `CREATE DATABASE "pointage"` {
		t.Errorf("statement %q", queries[1])
	}
}

// A server that accepts the request and never answers: Write gives up after
// Timeout with a retryable error.
func TestHungServer(t *testing.T) {
	const timeout = 300 * time.Millisecond
	f := newFake(t, "1.8.10")
	s, err := influxstore.Open(context.Background(), influxstore.Options{URL: f.URL, Bucket: "pointage/autogen", Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	f.set(0, "")
	start := time.Now()
	err = s.Write(context.Background(), events("jf-cantine-1", 1, 1))
	elapsed := time.Since(start)
	if err == nil || store.IsPermanent(err) {
		t.Fatalf("Write: %v, want a retryable error", err)
	}
	if elapsed < timeout-100*time.Millisecond || elapsed > timeout+time.Second {
		t.Errorf("Write returned after %s, timeout %s", elapsed, timeout)
	}
	// The caller's deadline wins when it is shorter.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start = time.Now()
	if err := s.Write(ctx, events("jf-cantine-1", 1, 1)); err == nil || time.Since(start) > timeout-100*time.Millisecond {
		t.Errorf("Write with a 50 ms deadline: %v after %s", err, time.Since(start))
	}
}

func TestVersionAndCredentials(t *testing.T) {
	t.Run("1.x bucket db/rp, user:password", func(t *testing.T) {
		f := newFake(t, "1.8.10")
		s := openToken(t, f.URL, "", "school/autogen", "hub:s3cret")
		mustWrite(t, s, events("jf-cantine-1", 1, 1))
		queries, queryAuth, writeAuth := f.seen()
		if len(queries) != 1 || queries[0] != `CREATE DATABASE "school"` {
			t.Fatalf("statements %q", queries)
		}
		if req := (&http.Request{Header: http.Header{"Authorization": {queryAuth[0]}}}); !basic(req, "hub", "s3cret") {
			t.Errorf("/query Authorization %q, want Basic hub:s3cret", queryAuth[0])
		}
		if writeAuth != "Token hub:s3cret" {
			t.Errorf("write Authorization %q", writeAuth)
		}
	})
	t.Run("1.x found by /ping, bucket without rp", func(t *testing.T) {
		f := newFake(t, "1.8.10")
		s := openToken(t, f.URL, "", "school", "")
		mustWrite(t, s, events("jf-cantine-1", 1, 1))
		if queries, queryAuth, _ := f.seen(); len(queries) != 1 || queries[0] != `CREATE DATABASE "school"` || queryAuth[0] != "" {
			t.Errorf("statements %q, auth %q", queries, queryAuth)
		}
	})
	t.Run("2.x", func(t *testing.T) {
		f := newFake(t, "v2.7.10")
		s := openToken(t, f.URL, "caisse", "pointage", "tok3n")
		mustWrite(t, s, events("jf-cantine-1", 1, 1))
		queries, _, writeAuth := f.seen()
		if len(queries) != 0 {
			t.Errorf("InfluxDB 2.x got /query statements %q", queries)
		}
		if writeAuth != "Token tok3n" {
			t.Errorf("write Authorization %q", writeAuth)
		}
	})
}

func openToken(t *testing.T, url, org, bucket, token string) store.Store {
	t.Helper()
	s, err := influxstoreOpen(url, org, bucket, token)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func basic(r *http.Request, user, password string) bool {
	u, p, ok := r.BasicAuth()
	return ok && u == user && p == password
}

func TestOpenBadOptions(t *testing.T) {
	for _, c := range []struct{ url, bucket string }{
		{"", "pointage/autogen"},
		{"influxdb:8086", "pointage/autogen"},
		{"ftp://influxdb:8086", "pointage/autogen"},
		{"http://influxdb:8086", ""},
		{"http://influxdb:8086", "/autogen"},
	} {
		if s, err := influxstoreOpen(c.url, "", c.bucket, ""); err == nil {
			s.Close()
			t.Errorf("Open(url %q, bucket %q): no error", c.url, c.bucket)
		}
	}
}
