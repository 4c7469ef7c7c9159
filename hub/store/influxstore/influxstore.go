package influxstore

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	influxdb2 "github.com/influxdata/influxdb-client-go/v2"
	"github.com/influxdata/influxdb-client-go/v2/api"
	influxhttp "github.com/influxdata/influxdb-client-go/v2/api/http"
	"github.com/influxdata/influxdb-client-go/v2/api/write"

	"pointage/hub/store"
	"pointage/internal/wire"
)

// Measurement is the measurement every check-in is written to.
const Measurement = "checkin"

// DefaultTimeout bounds a Write (and the /ping and CREATE DATABASE requests
// it may need) when Options.Timeout is zero.
const DefaultTimeout = 10 * time.Second

// Options configure a Store.
type Options struct {
	// URL of the server, "http://influxdb:8086".
	URL string
	// Org is the InfluxDB 2.x organisation; empty for 1.8.
	Org string
	// Bucket is the 2.x bucket, or "db/rp" for 1.8 ("pointage/autogen").
	Bucket string
	// Token is a 2.x API token, or "user:password" (or empty) for 1.8.
	Token string
	// Logger gets the store's own messages; nil discards them.
	Logger *slog.Logger
	// Timeout bounds each Write, all its requests included; 0 means
	// DefaultTimeout. Events is bounded by its context only.
	Timeout time.Duration
}

// LogValue keeps the token out of logs.
func (o Options) LogValue() slog.Value {
	return slog.GroupValue(slog.String("url", o.URL), slog.String("org", o.Org),
		slog.String("bucket", o.Bucket), slog.Bool("token_set", o.Token != ""),
		slog.Duration("timeout", o.Timeout))
}

// errClosed is returned by every method called after Close.
var errClosed = errors.New("check-in store is closed")

// Store writes check-ins to InfluxDB and reads them back with Flux. Its
// methods are safe for concurrent use.
type Store struct {
	opts   Options
	log    *slog.Logger
	http   *http.Client
	client influxdb2.Client
	writer api.WriteAPIBlocking
	reader api.QueryAPI

	// ensureMu serialises the ensure step (version check, CREATE DATABASE).
	ensureMu sync.Mutex

	mu      sync.Mutex
	closed  bool
	known   bool // the server's major version is known (v1 is meaningful)
	v1      bool // InfluxDB 1.x: the database must exist
	ensured bool // nothing left to do before writing
}

var (
	_ store.Store  = (*Store)(nil)
	_ store.Purger = (*Store)(nil)
)

// Open checks the options and connects to the server. It fails only on bad
// options: when the server cannot be reached, Open logs it and succeeds, and
// the first Write does what is left (finding the server's version and, on
// InfluxDB 1.x, creating the database), so a hub can start and queue events
// while InfluxDB is down.
func Open(ctx context.Context, opts Options) (*Store, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	u, err := url.Parse(opts.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("open influxdb store: url %q: want http(s)://host:port", opts.URL)
	}
	if opts.Bucket == "" || strings.HasPrefix(opts.Bucket, "/") {
		return nil, fmt.Errorf("open influxdb store: bucket %q: want a bucket, or db/rp on InfluxDB 1.8", opts.Bucket)
	}
	opts.URL = strings.TrimRight(opts.URL, "/")

	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = 8
	hc := &http.Client{Transport: transport}
	// WriteAPIBlocking never retries; MaxRetries 0 says so for every API.
	co := influxdb2.DefaultOptions().SetHTTPClient(hc).SetMaxRetries(0).SetLogLevel(0)
	client := influxdb2.NewClientWithOptions(opts.URL, opts.Token, co)
	s := &Store{
		opts:   opts,
		log:    opts.Logger.With("store", "influxdb", "url", opts.URL, "bucket", opts.Bucket),
		http:   hc,
		client: client,
		writer: client.WriteAPIBlocking(opts.Org, opts.Bucket),
		reader: client.QueryAPI(opts.Org),
	}
	if strings.Contains(opts.Bucket, "/") { // db/rp: InfluxDB 1.x
		s.known, s.v1 = true, true
	}
	ectx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	if err := s.ensure(ectx); err != nil {
		s.log.Warn("influxdb not ready, will retry on the next write", "err", err)
	} else {
		s.log.Info("influxdb store opened", "influxdb_v1", s.v1)
	}
	return s, nil
}

// database is the 1.x database named by the bucket ("db" of "db/rp").
func (s *Store) database() string {
	db, _, _ := strings.Cut(s.opts.Bucket, "/")
	return db
}

// ensure does what must be done once before writing: find the server's major
// version and, on 1.x, create the database if it is missing.
func (s *Store) ensure(ctx context.Context) error {
	s.mu.Lock()
	done := s.ensured
	s.mu.Unlock()
	if done {
		return nil
	}
	s.ensureMu.Lock()
	defer s.ensureMu.Unlock()
	s.mu.Lock()
	done, known, v1 := s.ensured, s.known, s.v1
	s.mu.Unlock()
	if done {
		return nil
	}
	if !known {
		version, err := s.ping(ctx)
		if err != nil {
			return err
		}
		v1 = strings.HasPrefix(strings.TrimPrefix(version, "v"), "1.")
		s.mu.Lock()
		s.known, s.v1 = true, v1
		s.mu.Unlock()
	}
	if v1 {
		if err := s.createDatabase(ctx); err != nil {
			return err
		}
	}
	s.mu.Lock()
	s.ensured = true
	s.mu.Unlock()
	return nil
}

// ping asks /ping for the server's version (X-Influxdb-Version).
func (s *Store) ping(ctx context.Context) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.opts.URL+"/ping", nil)
	if err != nil {
		return "", fmt.Errorf("ping influxdb: %w", err)
	}
	resp, err := s.http.Do(req)
	if err != nil {
		return "", fmt.Errorf("ping influxdb: %w", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return "", fmt.Errorf("ping influxdb: %s", resp.Status)
	}
	return resp.Header.Get("X-Influxdb-Version"), nil
}

// createDatabase runs CREATE DATABASE (a no-op when it exists) through the
// 1.x /query endpoint, which the v2 client cannot reach.
func (s *Store) createDatabase(ctx context.Context) error {
	db := s.database()
	status, body, err := s.influxQL(ctx, `CREATE DATABASE `+influxQLName(db), "")
	switch {
	case err != nil:
		return fmt.Errorf("create database %q: %w", db, err)
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		// A user with write access only may not create databases: the
		// database may well exist. If it does not, writes answer 404 and
		// this runs again.
		s.log.Warn("cannot create the database, assuming it exists", "database", db,
			"status", status, "answer", body)
		return nil
	case status != http.StatusOK:
		return fmt.Errorf("create database %q: %d: %s", db, status, body)
	case strings.Contains(body, `"error"`):
		return fmt.Errorf("create database %q: %s", db, body)
	}
	s.log.Info("database ensured", "database", db)
	return nil
}

// influxQLName quotes an InfluxQL identifier.
func influxQLName(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// influxQL runs an InfluxQL statement through the 1.x /query endpoint (db
// "" for none) and returns the status and the start of the answer.
func (s *Store) influxQL(ctx context.Context, q, db string) (int, string, error) {
	form := url.Values{"q": {q}}
	if db != "" {
		form.Set("db", db)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.opts.URL+"/query", strings.NewReader(form.Encode()))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if user, password, ok := strings.Cut(s.opts.Token, ":"); ok {
		req.SetBasicAuth(user, password)
	} else if s.opts.Token != "" {
		req.Header.Set("Authorization", "Token "+s.opts.Token)
	}
	resp, err := s.http.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return resp.StatusCode, strings.TrimSpace(string(body)), nil
}

// Oldest returns the time of the oldest check-in: the first point of each
// series, then the earliest of those.
func (s *Store) Oldest(ctx context.Context) (time.Time, bool, error) {
	flux := `from(bucket: ` + fluxString(s.opts.Bucket) + `)
  |> range(start: 1970-01-01T00:00:00Z)
  |> filter(fn: (r) => r._measurement == ` + fluxString(Measurement) + ` and r._field == "seq")
  |> first()
  |> group()
  |> min(column: "_time")`
	res, err := s.reader.Query(ctx, flux)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("read check-ins: %w", err)
	}
	defer res.Close()
	var oldest time.Time
	found := false
	for res.Next() {
		if t := res.Record().Time(); !found || t.Before(oldest) {
			oldest, found = t, true
		}
	}
	if err := res.Err(); err != nil {
		return time.Time{}, false, fmt.Errorf("read check-ins: %w", err)
	}
	return oldest.Truncate(time.Millisecond).UTC(), found, nil // a point is At plus less than a millisecond
}

// Purge deletes the check-ins before the instant: InfluxQL DELETE on 1.x,
// the delete API on 2.x. The count is not known (-1).
func (s *Store) Purge(ctx context.Context, before time.Time) (int64, error) {
	ectx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	err := s.ensure(ectx)
	cancel()
	if err != nil {
		return 0, fmt.Errorf("purge check-ins: %w", err)
	}
	s.mu.Lock()
	v1 := s.v1
	s.mu.Unlock()
	stop := clamp(before).UTC()
	if v1 {
		q := `DELETE FROM ` + influxQLName(Measurement) + ` WHERE time < '` + stop.Format(time.RFC3339Nano) + `'`
		status, body, err := s.influxQL(ctx, q, s.database())
		switch {
		case err != nil:
			return 0, fmt.Errorf("purge check-ins: %w", err)
		case status != http.StatusOK || strings.Contains(body, `"error"`):
			return 0, fmt.Errorf("purge check-ins: %d: %s", status, body)
		}
		return -1, nil
	}
	start := time.Unix(0, 0).UTC()
	if err := s.client.DeleteAPI().DeleteWithName(ctx, s.opts.Org, s.opts.Bucket, start, stop, `_measurement="`+Measurement+`"`); err != nil {
		return 0, fmt.Errorf("purge check-ins: %w", err)
	}
	return -1, nil
}

// Write writes events as points; it returns once InfluxDB has accepted them.
// Errors: store.ErrPermanent for a 4xx answer about the data (400, 413,
// 422, …); a plain error otherwise (network, timeout, 5xx, 429, and 401,
// 403 and 404, which say the configuration or the server is wrong, not the
// data). Events whose At InfluxDB cannot store (before 1677 or after 2262)
// are refused with store.ErrPermanent before anything is sent.
func (s *Store) Write(ctx context.Context, events []store.Event) error {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return fmt.Errorf("write %d check-ins: %w", len(events), errClosed)
	}
	if len(events) == 0 {
		return nil
	}
	points := make([]*write.Point, len(events))
	for i := range events {
		p, err := toPoint(&events[i])
		if err != nil {
			return fmt.Errorf("write %d check-ins: %w: %w", len(events), store.ErrPermanent, err)
		}
		points[i] = p
	}
	ctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	if err := s.ensure(ctx); err != nil {
		return fmt.Errorf("write %d check-ins: %w", len(events), err)
	}
	if err := s.writer.WritePoint(ctx, points...); err != nil {
		return fmt.Errorf("write %d check-ins: %w", len(events), s.classify(err))
	}
	return nil
}

// classify wraps store.ErrPermanent around the errors that say the data
// itself was refused.
func (s *Store) classify(err error) error {
	var he *influxhttp.Error
	if !errors.As(err, &he) || he.StatusCode == 0 {
		return err // network error, timeout, cancelled
	}
	code := he.StatusCode
	if !strings.HasPrefix(he.Error(), strconv.Itoa(code)) {
		err = fmt.Errorf("%d %w", code, err)
	}
	switch {
	case code == http.StatusNotFound:
		// 1.x: "database not found" (dropped since it was ensured); 2.x:
		// bucket not found. Ensure again before the next write.
		s.mu.Lock()
		s.ensured = false
		s.mu.Unlock()
		return fmt.Errorf("influxdb: %w", err)
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		return fmt.Errorf("influxdb refused the credentials: %w", err)
	case code >= 400 && code < 500 && code != http.StatusTooManyRequests:
		return fmt.Errorf("influxdb refused the points: %w: %w", err, store.ErrPermanent)
	}
	return fmt.Errorf("influxdb: %w", err)
}

// InfluxDB stores timestamps as int64 nanoseconds since 1970.
var (
	minTime = time.Unix(0, math.MinInt64+2) // 1.8's smallest valid timestamp
	maxTime = time.Unix(0, math.MaxInt64-1)
)

// timestamp is a point's timestamp: At truncated to the millisecond, plus
// seq mod 1e6 nanoseconds, so two events of a device never share one and a
// redelivery overwrites its own point.
func timestamp(e *store.Event) time.Time {
	return e.At.Truncate(time.Millisecond).Add(time.Duration(e.Seq % 1_000_000))
}

func toPoint(e *store.Event) (*write.Point, error) {
	ts := timestamp(e)
	if e.At.IsZero() || ts.Before(minTime.Add(time.Millisecond)) || ts.After(maxTime.Add(-time.Millisecond)) {
		return nil, fmt.Errorf("device %s seq %d: time %s out of InfluxDB's range",
			e.Device, e.Seq, e.At.Format(time.RFC3339Nano))
	}
	if e.Seq > math.MaxInt64 {
		return nil, fmt.Errorf("device %s: seq %d beyond an InfluxDB integer", e.Device, e.Seq)
	}
	// Tags in key order (InfluxDB's own order); empty tags are left out.
	p := write.NewPointWithMeasurement(Measurement).
		AddTag("device", e.Device).
		AddTag("reader", e.Reader).
		AddTag("service", string(e.Service)).
		AddTag("site", e.Site).
		AddField("badge", e.Badge).
		AddField("dir", e.Dir).
		AddField("epoch", e.Epoch).
		AddField("id", e.ID).
		AddField("received_at", e.ReceivedAt.UnixMilli()).
		AddField("review", e.Review).
		AddField("seq", int64(e.Seq)).
		SetTime(ts)
	return p, nil
}

// Events runs a Flux query over [q.From, q.To) and rebuilds the events. At
// comes back in UTC (InfluxDB keeps no offset).
func (s *Store) Events(ctx context.Context, q store.Query) ([]store.Event, error) {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return nil, fmt.Errorf("read check-ins: %w", errClosed)
	}
	// At is a whole millisecond, so At >= From exactly when At >= From
	// rounded up to the millisecond, and a point's timestamp (At plus less
	// than a millisecond) is then in the same range.
	from, to := clamp(ceilMilli(q.From)), clamp(ceilMilli(q.To))
	if !from.Before(to) {
		return nil, nil
	}
	ectx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	err := s.ensure(ectx)
	cancel()
	if err != nil {
		return nil, fmt.Errorf("read check-ins: %w", err)
	}
	s.mu.Lock()
	v1 := s.v1
	s.mu.Unlock()
	var events []store.Event
	skipped := 0
	if v1 && len(q.BadgeSuffixes) == 0 { // InfluxQL: a quarter of Flux's time on 1.x (influxql.go)
		if events, skipped, err = s.eventsInfluxQL(ctx, from, to, q.Site); err != nil {
			return nil, fmt.Errorf("read check-ins: %w", err)
		}
	} else {
		flux := fluxQuery(s.opts.Bucket, from, to, q.Site, q.BadgeSuffixes)
		res, err := s.reader.Query(ctx, flux)
		if err != nil {
			return nil, fmt.Errorf("read check-ins: %w", err)
		}
		defer res.Close()
		for res.Next() {
			e, ok := fromRecord(res.Record().Values())
			if !ok {
				skipped++
				continue
			}
			events = append(events, e)
		}
		if err := res.Err(); err != nil {
			return nil, fmt.Errorf("read check-ins: %w", err)
		}
	}
	if skipped > 0 {
		s.log.Warn("points without the check-in fields skipped", "count", skipped,
			"from", from.Format(time.RFC3339Nano), "to", to.Format(time.RFC3339Nano))
	}
	slices.SortFunc(events, func(a, b store.Event) int {
		return cmp.Or(a.At.Compare(b.At), strings.Compare(a.Device, b.Device),
			cmp.Compare(a.Seq, b.Seq), strings.Compare(a.Epoch, b.Epoch))
	})
	return events, nil
}

// fluxQuery selects the check-ins of [from, to) (UTC: 1.8's Flux has no
// time zones), one row per point.
func fluxQuery(bucket string, from, to time.Time, site string, badgeSuffixes []string) string {
	filter := `r._measurement == ` + fluxString(Measurement)
	if site != "" {
		filter += ` and r.site == ` + fluxString(site)
	}
	start, stop := from.UTC().Format(time.RFC3339Nano), to.UTC().Format(time.RFC3339Nano)
	// InfluxDB 1.8 returns points at exactly stop (its storage reads the
	// range inclusively): the second filter makes stop exclusive everywhere.
	imports := ""
	if len(badgeSuffixes) > 0 {
		imports = "import \"strings\"\n"
	}
	return imports + `from(bucket: ` + fluxString(bucket) + `)
  |> range(start: ` + start + `, stop: ` + stop + `)
  |> filter(fn: (r) => ` + filter + `)
  |> filter(fn: (r) => r._time < ` + stop + `)
  |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")
  |> drop(columns: ["_start", "_stop", "_measurement"])` + badgeFilter(badgeSuffixes)
}

// badgeFilter keeps the rows whose badge ends with one of the suffixes.
func badgeFilter(suffixes []string) string {
	if len(suffixes) == 0 {
		return ""
	}
	var or []string
	for _, x := range suffixes {
		or = append(or, `strings.hasSuffix(v: r.badge, suffix: `+fluxString(x)+`)`)
	}
	return "\n  |> filter(fn: (r) => exists r.badge and (" + strings.Join(or, " or ") + "))"
}

// fluxString quotes s as a Flux string literal (no ${} interpolation).
func fluxString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, `${`, `\${`, "\n", `\n`, "\r", `\r`, "\t", `\t`).Replace(s) + `"`
}

// fromRecord rebuilds an event from a pivoted row; ok is false for a row
// that is not a check-in (seq or _time missing).
func fromRecord(v map[string]any) (e store.Event, ok bool) {
	ts, ok1 := v["_time"].(time.Time)
	seq, ok2 := v["seq"].(int64)
	if !ok1 || !ok2 || seq < 0 {
		return store.Event{}, false
	}
	str := func(k string) string { s, _ := v[k].(string); return s }
	receivedAt, _ := v["received_at"].(int64)
	review, _ := v["review"].(bool)
	e = store.Event{
		ID: str("id"), Site: str("site"), Device: str("device"), Epoch: str("epoch"),
		Reader: str("reader"), Seq: uint64(seq), Badge: str("badge"), Service: wire.Service(str("service")),
		Dir:        wire.Dir(str("dir")),
		At:         ts.Add(-time.Duration(uint64(seq) % 1_000_000)).UTC(),
		ReceivedAt: time.UnixMilli(receivedAt).UTC(),
		Review:     review,
	}
	return e, true
}

// Close releases the client. Twice is harmless.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	s.client.Close()
	s.http.CloseIdleConnections()
	return nil
}

// ceilMilli rounds t up to a whole millisecond.
func ceilMilli(t time.Time) time.Time {
	if r := t.Truncate(time.Millisecond); !r.Equal(t) {
		return r.Add(time.Millisecond)
	}
	return t
}

func clamp(t time.Time) time.Time {
	switch {
	case t.Before(minTime):
		return minTime
	case t.After(maxTime):
		return maxTime
	}
	return t
}
