package hub

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"pointage/hub/api"
	"pointage/hub/audit"
	"pointage/hub/auth"
	"pointage/hub/backup"
	"pointage/hub/broker"
	"pointage/hub/corrections"
	"pointage/hub/days"
	"pointage/hub/devices"
	"pointage/hub/ingest"
	"pointage/hub/roster"
	"pointage/hub/store"
	"pointage/hub/users"
	"pointage/hub/web"
	"pointage/internal/link"
	"pointage/internal/wire"
)

// Options are what New needs besides the configuration.
type Options struct {
	Logger *slog.Logger
	Now    func() time.Time
	// AllowAnyDevice lets any MQTT client use the embedded broker (demo).
	AllowAnyDevice bool
	Version        string
}

// Hub is a configured pointage-hub.
type Hub struct {
	cfg    Config
	opts   Options
	log    *slog.Logger
	state  *State         // hub.db, the store and what is built on them
	broker *broker.Broker // nil with an external broker
	link   *link.Link     // nil with the embedded broker
	ingest *ingest.Ingest
	auth   *auth.Auth
	api    *api.API
	reg    *prometheus.Registry
	httpLn net.Listener
	http   *http.Server
	unlock func()            // the data folder's run lock (hub/backup)
	backup *backup.Scheduler // nil without --backup-dir
	fleet  *fleet            // enrolment and reader lists

	closeOnce sync.Once
}

// New opens the hub's state (OpenState), and listens on the HTTP and
// embedded MQTT addresses; Run serves.
func New(ctx context.Context, cfg Config, opts Options) (h *Hub, err error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	h = &Hub{cfg: cfg, opts: opts, log: opts.Logger, reg: prometheus.NewRegistry()}
	self := h // "return nil, err" sets h to nil before this runs
	defer func() {
		if err != nil {
			self.Close()
		}
	}()
	h.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	// One hub per data folder, and no restore under it (docs/DESIGN.md §13).
	if err = os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("create the data folder: %w", err)
	}
	if h.unlock, err = backup.LockDataDir(cfg.DataDir); err != nil {
		return nil, err
	}
	if h.state, err = OpenState(ctx, cfg, StateOptions{Logger: h.log, Now: opts.Now}); err != nil {
		return nil, err
	}
	st := h.state

	var pub ingest.Publisher
	if cfg.MQTTURL == "" {
		bopts := broker.Options{Addr: cfg.MQTTListen, Logger: h.log, TopicRoot: cfg.TopicRoot,
			TLSAddr: cfg.MQTTTLSListen, TLSCertFile: cfg.MQTTTLSCert, TLSKeyFile: cfg.MQTTTLSKey,
			// A packet too large to read is still a message refused with its reason (docs/DESIGN.md §15).
			OnOversize: func(site, device, detail string) { h.ingest.Refuse(site, device, wire.ReasonTooLarge, detail) }}
		if opts.AllowAnyDevice {
			bopts.AllowAll = true
		} else {
			bopts.Auth = st.Devices
		}
		if h.broker, err = broker.New(bopts); err != nil {
			return nil, err
		}
		pub = h.broker
	} else {
		h.link, err = link.New(link.Options{
			URL: cfg.MQTTURL, ClientID: "pointage-hub", Username: cfg.MQTTUsername, Password: string(cfg.MQTTPassword),
			CAFile:    cfg.MQTTCAFile,
			Subscribe: []string{wire.Filter(cfg.TopicRoot, wire.KindCheckIn), wire.Filter(cfg.TopicRoot, wire.KindStatus)},
			// Straight into ingest (which copies the payload): messages
			// arrive only after Run has started it. Inline: when ingest's
			// queue is full, Handle blocks paho's reader and the broker
			// holds the rest, instead of a goroutine per waiting message.
			// Handle waits only for the pipeline, which never waits for
			// this connection (its Acks go out with Send, no PUBACK awaited).
			OnMessage: func(topic string, payload []byte) { h.ingest.Handle(topic, payload) },
			Inline:    true,
			Logger:    h.log,
		})
		if err != nil {
			return nil, err
		}
		pub = linkPublisher{h.link}
	}
	var registry ingest.Registry
	if cfg.RequireRegistration {
		registry = registered{st.Devices}
	}
	devs := deviceAdmin{reg: st.Devices, broker: h.broker, mosquittoDir: cfg.MosquittoDir, topicRoot: cfg.TopicRoot, log: h.log}
	if h.fleet, err = newFleet(ctx, st.Devices, devs, pub, cfg.TopicRoot, h.log, opts.Now); err != nil {
		return nil, err
	}
	devs.onRemoved = h.fleet.forget
	if h.ingest, err = ingest.New(ctx, ingest.Options{DB: st.DB, Store: st.Store, Publisher: pub, TopicRoot: cfg.TopicRoot,
		Logger: h.log, Now: opts.Now, Registry: registry, Metrics: h.reg,
		Changes:  st.Changes,       // the day service's live tally and the live stream
		OnStatus: h.fleet.onStatus, // reader lists sent again until applied
	}); err != nil {
		return nil, err
	}
	st.useLiveSequences(h.sequenceSites)
	recorder := corrections.NewRecorder(corrections.RecorderOptions{Store: st.Corrections, Sequences: h.ingest, Today: st.Days.Today,
		Corrected: st.Days.Corrected, Audit: st.Audit, Logger: h.log})
	h.auth = auth.New(auth.Options{Users: st.Users, Sessions: st.Users, Audit: st.Audit, Logger: h.log})
	var backups api.Backups
	if cfg.BackupDir != "" {
		if h.backup, err = backup.NewScheduler(backup.ScheduleOptions{DataDir: cfg.DataDir, Dir: cfg.BackupDir, Every: cfg.BackupEvery,
			Keep: cfg.BackupKeep, HubVersion: opts.Version, Loc: st.Loc, Logger: h.log, Metrics: h.reg,
			Now: opts.Now}); err != nil { // the hub's clock, which the demo accelerates
			return nil, err
		}
		backups = h.backup
	}
	h.api = api.New(api.Options{Auth: h.auth, Ingest: h.ingest, Corrections: recorder, Users: st.Users, Devices: devs, Roster: st.Roster, Names: st.Names, Loc: st.Loc,
		Days: st.Days, School: st.Days, Charts: st.Days, Audit: st.Audit, Logger: h.log, Now: opts.Now,
		ClosedDays: st.Calendar, Backups: backups, Fleet: h.fleet, Version: opts.Version,
		PublicMQTTURL: cfg.PublicMQTTURL, MQTTPort: portOf(cfg.MQTTListen), MQTTTLSPort: portOf(cfg.MQTTTLSListen)})

	tlsConf, err := cfg.httpTLSConfig(h.log)
	if err != nil {
		return nil, err
	}
	if h.httpLn, err = net.Listen("tcp", cfg.Listen); err != nil {
		return nil, fmt.Errorf("listen on %s (--listen): %w", cfg.Listen, err)
	}
	handler := h.routes()
	if cfg.BehindTLSProxy {
		handler = proxiedTLS(handler)
	}
	h.http = &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second, TLSConfig: tlsConf,
		// net/http's own messages (TLS handshake errors, recovered panics) go to the hub's log.
		ErrorLog: slog.NewLogLogger(h.log.With("component", "http").Handler(), slog.LevelWarn)}
	return h, nil
}

// portOf is the port of a listen address (":1883"), "" without one.
func portOf(addr string) string {
	if _, port, err := net.SplitHostPort(addr); err == nil {
		return port
	}
	return ""
}

// registered adapts the device registry to ingest.Registry.
type registered struct{ r *devices.Registry }

func (r registered) Registered(ctx context.Context, site, device string) bool {
	d, err := r.r.Get(ctx, device)
	return err == nil && d.Site == site
}

// sequenceSites lists the sites of the sequences ingest keeps (State's
// KnownSites while the hub runs).
func (h *Hub) sequenceSites() []string {
	var out []string
	for _, s := range h.ingest.Sequences() {
		out = append(out, s.Site)
	}
	return out
}

// linkPublisher adapts link.Link to ingest.Publisher.
type linkPublisher struct{ l *link.Link }

// Publish sends without waiting for the broker's PUBACK: ingest publishes
// Acks and resend commands from its writer, which a round trip per device
// and batch through a busy broker held up for two thirds of its time (a
// lost Ack or command is repeated: the agent republishes, the gap watcher
// asks again).
func (p linkPublisher) Publish(topic string, payload []byte, retained bool) error {
	return p.l.Send(topic, payload, retained)
}

// HTTPAddr is the address the HTTP server listens on.
func (h *Hub) HTTPAddr() string { return h.httpLn.Addr().String() }

// HTTPURL is the base URL of the API and dashboard: https:// with
// --tls-cert, with a loopback host when listening on every interface.
func (h *Hub) HTTPURL() string {
	scheme, host, port := "http", "127.0.0.1", "0"
	if h.cfg.TLSCert != "" {
		scheme = "https"
	}
	if a, ok := h.httpLn.Addr().(*net.TCPAddr); ok {
		port = fmt.Sprint(a.Port)
		if !a.IP.IsUnspecified() {
			host = a.IP.String()
		}
	}
	return scheme + "://" + net.JoinHostPort(host, port)
}

// MQTTTLSAddr is the embedded broker's TLS listener, "" without one.
func (h *Hub) MQTTTLSAddr() string {
	if h.broker == nil {
		return ""
	}
	return h.broker.TLSAddr()
}

// MQTTURL is the broker agents connect to.
func (h *Hub) MQTTURL() string {
	if h.broker != nil {
		return h.broker.URL()
	}
	return h.cfg.MQTTURL
}

// MQTTConnected reports whether check-ins can reach the hub: the embedded
// broker serves, or the connection to the external broker is up with its
// subscriptions in place.
func (h *Hub) MQTTConnected() bool {
	if h.link != nil {
		return h.link.Connected()
	}
	return h.broker != nil
}

// State is the hub's state: hub.db, the store and what is built on them.
func (h *Hub) State() *State { return h.state }

// Devices is the device registry.
func (h *Hub) Devices() *devices.Registry { return h.state.Devices }

// Ingest is the ingest pipeline.
func (h *Hub) Ingest() *ingest.Ingest { return h.ingest }

// Roster is the roster.
func (h *Hub) Roster() *roster.Roster { return h.state.Roster }

// Users is the user store.
func (h *Hub) Users() *users.Store { return h.state.Users }

// Days computes the figures of local days.
func (h *Hub) Days() *days.Service { return h.state.Days }

// Audit is the audit log.
func (h *Hub) Audit() *audit.Log { return h.state.Audit }

// Store is the time-series store.
func (h *Hub) Store() store.Store { return h.state.Store }

func (h *Hub) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		mqtt := "connected"
		if !h.MQTTConnected() {
			mqtt = "disconnected"
		}
		io.WriteString(w, `{"status":"ok","mqtt":"`+mqtt+`"}`+"\n")
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(h.reg, promhttp.HandlerOpts{}))
	h.api.Register(mux)
	mux.Handle("/", web.New(web.Options{Auth: h.auth, Logger: h.log, SiteName: h.siteName})) // the dashboard
	return apiHeaders(mux)
}

// siteName is a site's display name, for the dashboard's header (the id
// when hub.db cannot say).
func (h *Hub) siteName(site string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	v, err := h.state.Names.Site(ctx, site)
	if err != nil {
		h.log.Warn("could not read a site's display name", "site", site, "err", err)
	}
	return v.Name
}

// journal is a table of hub.db that names what changed, by id: the
// devices and users commands (other processes) write to it, and the
// running hub follows it (follow).
type journal[T any] struct {
	what   string // for the log: "device revocations", "user changes"
	every  time.Duration
	latest func(context.Context) (int64, error)
	since  func(context.Context, int64) ([]T, int64, error)
	apply  func([]T)
}

// follow applies what j gains, every j.every, until ctx ends.
func follow[T any](ctx context.Context, h *Hub, j journal[T]) {
	last, err := j.latest(ctx)
	if err != nil {
		h.log.Error(j.what+" unreadable at start: changes made before are not applied until the next one", "err", err)
	}
	t := time.NewTicker(j.every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		names, next, err := j.since(ctx, last)
		if err != nil {
			if ctx.Err() == nil {
				h.log.Warn("could not read "+j.what, "err", err)
			}
			continue
		}
		last = next
		if len(names) > 0 {
			j.apply(names)
		}
	}
}

// revokeSessions closes the embedded broker's sessions of devices whose
// credentials changed (password set, device removed), by this process or
// by the devices command: those that logged in before the change (the
// dashboard's changes closed them at once already; a device that logged
// in since, with its new credentials, stays).
func (h *Hub) revokeSessions(revs []devices.Revocation) {
	for _, r := range revs {
		d := r.Device
		if n := h.broker.DisconnectBefore(d, r.At); n > 0 {
			h.log.Warn("device credentials revoked: session closed", "device", d, "sessions", n)
		}
	}
}

// RevokeEvery is how often the hub looks for revoked device credentials.
const RevokeEvery = 2 * time.Second

// UserChangesEvery is how often the hub looks for users changed by the
// users command (docs/DESIGN.md §12: applied within 2 s; the query reads an index).
const UserChangesEvery = time.Second

// configKey is a fingerprint of the configuration the figures depend on
// (time zone, calendar, sites): cached export rows of past days are
// recounted when it changes.
func configKey(cfg Config) string {
	h := sha256.New()
	io.WriteString(h, cfg.Timezone+"\x00")
	for _, f := range []string{cfg.Calendar, cfg.Sites} {
		if f != "" {
			b, err := os.ReadFile(f)
			if err != nil {
				b = []byte("unreadable " + f)
			}
			h.Write(b)
		}
		io.WriteString(h, "\x00")
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}

// apiHeaders sets the headers every answer carries (the dashboard adds its
// Content-Security-Policy): no MIME sniffing, no framing, no referrer
// leaving the hub.
func apiHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		next.ServeHTTP(w, r)
	})
}

// Run serves until ctx ends, then stops everything and returns after every
// goroutine it started has stopped.
func (h *Hub) Run(ctx context.Context) error {
	defer h.Close()
	started := time.Now()
	if err := h.state.Days.Warm(ctx); err != nil {
		h.log.Warn("could not load today's events for the live counts; the first request will retry", "err", err)
	} else {
		h.log.Info("live counts loaded from the store", "took", time.Since(started).Round(time.Millisecond))
	}
	if !h.state.Users.Any(ctx) {
		h.log.Warn("no users yet: the API answers local (loopback) requests without authentication and refuses all others; create one with pointage-hub users add")
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errc := make(chan error, 2)
	wg.Add(1)
	go func() { defer wg.Done(); h.ingest.Run(runCtx) }()
	wg.Add(1)
	go func() { defer wg.Done(); h.state.Retention.Loop(runCtx) }() // raw check-ins older than --retention-months
	if h.broker != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			follow(runCtx, h, journal[devices.Revocation]{what: "device revocations", every: RevokeEvery, latest: h.state.Devices.LatestRevocation,
				since: h.state.Devices.Revocations, apply: h.revokeSessions})
		}()
	}
	wg.Add(1) // users changed by the users command: their cached credentials are forgotten within 2 s
	go func() {
		defer wg.Done()
		follow(runCtx, h, journal[string]{what: "user changes", every: UserChangesEvery, latest: h.state.Users.LatestChange,
			since: h.state.Users.Changes, apply: func(names []string) { h.state.Users.Forget(names...) }})
	}()
	if h.backup != nil {
		wg.Add(1)
		go func() { defer wg.Done(); h.backup.Loop(runCtx) }() // --backup-dir
	}
	if err := h.state.Days.NewCacheEpoch(ctx); err != nil {
		h.log.Warn("could not reset the export rows cache; exports will count every day", "err", err)
	} else {
		wg.Add(1)
		go func() { defer wg.Done(); h.state.Days.FillCache(runCtx) }() // past days' export rows, in the background
	}

	if h.broker != nil {
		for i, kind := range []string{wire.KindCheckIn, wire.KindStatus} {
			if err := h.broker.Subscribe(wire.Filter(h.cfg.TopicRoot, kind), i+1, h.ingest.Handle); err != nil {
				return fmt.Errorf("subscribe to %s: %w", kind, err)
			}
		}
		if err := h.broker.Serve(); err != nil {
			return err
		}
		h.log.Info("embedded MQTT broker listening", "addr", h.broker.Addr())
	} else {
		h.link.Start()
		h.log.Info("using the external MQTT broker", "url", h.cfg.MQTTURL)
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		h.log.Info("HTTP listening", "addr", h.HTTPAddr(), "url", h.HTTPURL(), "behind_tls_proxy", h.cfg.BehindTLSProxy)
		serve := h.http.Serve
		if h.cfg.TLSCert != "" {
			serve = func(ln net.Listener) error { return h.http.ServeTLS(ln, "", "") }
		}
		if err := serve(h.httpLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("http: %w", err)
		}
	}()
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	shutdown, cancelShutdown := context.WithTimeout(context.Background(), 5*time.Second)
	h.http.Shutdown(shutdown)
	cancelShutdown()
	cancel()
	wg.Wait()
	return err
}

// Close releases everything. Twice is harmless.
func (h *Hub) Close() error {
	h.closeOnce.Do(func() {
		if h.broker != nil {
			h.broker.Close()
		}
		if h.link != nil {
			h.link.Close("", nil)
		}
		if h.httpLn != nil {
			h.httpLn.Close()
		}
		if h.state != nil {
			h.state.Close()
		}
		if h.unlock != nil {
			h.unlock()
		}
	})
	return nil
}
