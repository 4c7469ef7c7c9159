package agent

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"pointage/agent/outbox"
	"pointage/agent/reader"
	"pointage/internal/link"
	"pointage/internal/wire"
)

// Options are what New needs besides the configuration.
type Options struct {
	Logger  *slog.Logger
	Version string
	// Now is the agent's clock for event times and status times (the demo
	// shares an accelerated clock with the hub). Default time.Now.
	Now func() time.Time
	// ClockSynced reports whether the system clock is synchronised. Default:
	// the kernel's answer on Linux.
	ClockSynced func() bool
	// Profiles overrides the profiles loaded from the built-ins and
	// ProfilesDir (tests).
	Profiles map[string]*reader.Profile
	// ReconnectMin/Max bound the readers' reconnect backoff (tests).
	ReaderBackoffMax time.Duration
}

// Agent is one running pointage-agent.
type Agent struct {
	cfg         Config
	log         *slog.Logger
	now         func() time.Time
	clockSynced func() bool
	version     string

	ob   *outbox.Outbox
	link *link.Link

	profiles         map[string]*reader.Profile
	readerBackoffMax time.Duration
	listPorts        func() ([]reader.PortInfo, error) // the status's ports; nil: none reported
	profileNames     []string                          // sorted, for the status (at most 32)

	portsMu   sync.Mutex
	portsAt   time.Time // when ports was listed: at most every PortsEvery
	portsSeen []wire.PortInfo

	// rmu guards the readers and the hub configuration's state
	// (remote.go); never held across I/O.
	rmu              sync.Mutex
	readers          []*unit
	configVersion    int64 // the hub's reader list in use; 0: the file's
	configErr        string
	configErrVersion int64

	runCtx context.Context // Run's: readers started by a config command live in it
	wg     sync.WaitGroup  // every goroutine Run starts, readers' included

	scans      chan unitScan
	msgs       chan link.Message
	resends    chan wire.Command
	kickPub    chan struct{}
	kickStatus chan struct{}
	connGen    atomic.Uint64

	mu        sync.Mutex
	outboxErr string

	closeOnce sync.Once
}

type unit struct {
	cfg     ReaderConfig
	profile *reader.Profile
	r       *reader.Reader
	stop    context.CancelFunc // set by start
	done    chan struct{}      // closed once its last scan is handed over
	// lastScan is when the reader's last scan came, on the agent's clock
	// (Options.Now: the events' clock, which the demo accelerates); the
	// reader's own State times it on the real clock, for its debounce.
	lastScan atomic.Pointer[time.Time]
}

// unitScan is a scan with the reader it came from.
type unitScan struct {
	u *unit
	s reader.Scan
}

// New opens the outbox, loads the profiles and prepares readers and the MQTT
// link. It starts nothing; Run does.
func New(cfg Config, opts Options) (*Agent, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.ClockSynced == nil {
		opts.ClockSynced = clockSynced
	}
	log := opts.Logger.With("site", cfg.Site, "device", cfg.Device)
	a := &Agent{
		cfg: cfg, log: log, now: opts.Now, clockSynced: opts.ClockSynced, version: opts.Version,
		scans:            make(chan unitScan, 64),
		readerBackoffMax: opts.ReaderBackoffMax, listPorts: reader.ListPorts,
		msgs:       make(chan link.Message, 256),
		resends:    make(chan wire.Command, 64),
		kickPub:    make(chan struct{}, 1),
		kickStatus: make(chan struct{}, 1),
	}

	profiles := opts.Profiles
	if profiles == nil {
		var err error
		if profiles, err = reader.Load(cfg.ProfilesDir); err != nil {
			return nil, fmt.Errorf("profiles: %w", err)
		}
	}
	a.profiles = profiles
	for name := range profiles {
		a.profileNames = append(a.profileNames, name)
	}
	slices.Sort(a.profileNames)
	a.profileNames = a.profileNames[:min(len(a.profileNames), 32)]
	// The hub's reader list, kept by an earlier run, replaces the file's.
	if hc, ok, err := loadHubConfig(cfg.HubConfigPath()); err != nil {
		log.Error("the hub's reader list kept on disk is unreadable: the file's readers apply until the hub sends it again", "err", err)
	} else if ok {
		var readers []ReaderConfig
		for _, r := range hc.Readers {
			rc, err := fromWire(r)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", cfg.HubConfigPath(), err)
			}
			readers = append(readers, rc)
		}
		cfg.Readers, a.configVersion = readers, hc.Version
		a.cfg = cfg
		log.Info("readers from the hub's configuration", "config_version", hc.Version, "readers", len(readers))
	}
	for i, rc := range cfg.Readers {
		u, err := a.newUnit(rc)
		if err != nil {
			if a.configVersion == 0 {
				return nil, fmt.Errorf("readers[%d]: %w", i, err)
			}
			return nil, fmt.Errorf("the hub's reader list (%s): %w", cfg.HubConfigPath(), err)
		}
		a.readers = append(a.readers, u)
	}
	if len(a.readers) == 0 {
		log.Warn("no reader configured: waiting for the hub's reader list (devices page)")
	}

	password, err := cfg.ResolvePassword()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("data_dir: %w", err)
	}
	ob, err := outbox.Open(outbox.Options{Path: cfg.OutboxPath(), Logger: log, Now: opts.Now})
	if err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}
	a.ob = ob

	will, _ := wire.Encode(wire.Status{V: wire.Version, Site: cfg.Site, Device: cfg.Device, Epoch: ob.Epoch(),
		State: wire.StateOffline, At: wire.FormatTime(a.now()), Version: a.version, Readers: []wire.ReaderStatus{}})
	a.link, err = link.New(link.Options{
		URL: cfg.MQTT.URL, ClientID: cfg.MQTT.ClientID, Username: cfg.MQTT.Username,
		Password: string(password), CAFile: cfg.MQTT.CAFile,
		WillTopic: a.topic(wire.KindStatus), WillPayload: will,
		Subscribe: []string{a.topic(wire.KindAck), a.topic(wire.KindCmd)},
		OnConnect: func() {
			a.connGen.Add(1)
			kick(a.kickPub)
			kick(a.kickStatus)
		},
		Messages: a.msgs,
		Logger:   log,
	})
	if err != nil {
		ob.Close()
		return nil, err
	}
	return a, nil
}

func (a *Agent) topic(kind string) string {
	return wire.DeviceTopic(a.cfg.TopicRoot, a.cfg.Site, a.cfg.Device, kind)
}

// Epoch is the outbox's epoch.
func (a *Agent) Epoch() string { return a.ob.Epoch() }

func kick(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

func (a *Agent) statusChanged() { kick(a.kickStatus) }

// Run reads, stores and publishes until ctx ends, then publishes the offline
// status, disconnects and closes the outbox. It returns after every
// goroutine it started has stopped.
func (a *Agent) Run(ctx context.Context) error {
	defer a.Close()
	a.log.Info("agent starting", "epoch", a.ob.Epoch(), "outbox", a.cfg.OutboxPath(), "mqtt", a.cfg.MQTT.URL, "readers", len(a.readers),
		"config_version", a.configVersion)
	a.link.Start()

	a.runCtx = ctx
	a.rmu.Lock()
	for _, u := range a.readers {
		a.start(ctx, u)
	}
	a.rmu.Unlock()
	loops := []func(context.Context){a.scanLoop, a.publishLoop, a.messageLoop, a.statusLoop, a.pruneLoop}
	for _, loop := range loops {
		a.wg.Add(1)
		go func() { defer a.wg.Done(); loop(ctx) }()
	}
	<-ctx.Done()
	a.wg.Wait()
	return nil
}

// Close publishes the offline status, disconnects and closes the outbox.
// Twice is harmless; Run calls it on its way out.
func (a *Agent) Close() error {
	var err error
	a.closeOnce.Do(func() {
		if payload, e := a.statusPayload(context.Background(), wire.StateOffline); e == nil {
			a.link.Close(a.topic(wire.KindStatus), payload)
		} else {
			a.link.Close("", nil)
		}
		err = a.ob.Close()
		a.log.Info("agent stopped")
	})
	return err
}

// scanLoop commits every scan to the outbox before the reader's feedback.
func (a *Agent) scanLoop(ctx context.Context) {
	for {
		var us unitScan
		select {
		case <-ctx.Done():
			return
		case us = <-a.scans:
		}
		u, s := us.u, us.s
		at := a.now()
		u.lastScan.Store(&at)
		a.rmu.Lock()
		service, dir := u.cfg.Service, u.cfg.Dir // applyConfig may change them in place
		a.rmu.Unlock()
		ev, err := a.ob.Append(ctx, outbox.Scan{Reader: s.Reader, Badge: s.Badge, Service: service, Dir: dir, At: at})
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			a.log.Error("scan refused: the outbox cannot store it", "reader", s.Reader, "err", err)
			a.setOutboxErr(err.Error())
			a.feedback(ctx, u, false)
			continue
		}
		a.setOutboxErr("")
		a.feedback(ctx, u, true)
		a.log.Debug("scan stored", "reader", s.Reader, "seq", ev.Seq)
		kick(a.kickPub)
		kick(a.kickStatus)
	}
}

func (a *Agent) feedback(ctx context.Context, u *unit, accepted bool) {
	if err := u.r.Feedback(ctx, accepted); err != nil {
		a.log.Debug("reader feedback not sent", "reader", u.cfg.Name, "err", err)
	}
}

func (a *Agent) setOutboxErr(msg string) {
	a.mu.Lock()
	changed := a.outboxErr != msg
	a.outboxErr = msg
	a.mu.Unlock()
	if changed {
		kick(a.kickStatus)
	}
}

// publishLoop publishes pending events in seq order: everything pending after
// each (re)connect, new events as they are stored, events whose last
// publication got no Ack within RepublishAfter, and resend ranges.
func (a *Agent) publishLoop(ctx context.Context) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var cursor, gen uint64
	for {
		var resend *wire.Command
		select {
		case <-ctx.Done():
			return
		case <-a.kickPub:
		case <-tick.C:
		case c := <-a.resends:
			resend = &c
		}
		if !a.link.Connected() {
			continue
		}
		if g := a.connGen.Load(); g != gen {
			gen, cursor = g, 0 // a new connection: everything pending goes again
		}
		if resend != nil {
			evs, err := a.ob.Range(ctx, resend.Epoch, resend.FromSeq, resend.ToSeq)
			if err == nil {
				a.log.Info("resending on the hub's request", "from_seq", resend.FromSeq, "to_seq", resend.ToSeq, "held", len(evs))
				err = a.publish(ctx, evs)
			}
			if err != nil {
				a.log.Warn("resend failed", "err", err)
			}
		}
		for ctx.Err() == nil {
			evs, err := a.ob.Pending(ctx, cursor, 500)
			if err != nil || len(evs) == 0 {
				if err != nil {
					a.log.Warn("read pending events", "err", err)
				}
				break
			}
			if err := a.publish(ctx, evs); err != nil {
				a.log.Warn("publish failed; will retry", "err", err)
				break
			}
			cursor = evs[len(evs)-1].Seq
		}
		due, err := a.ob.DuePending(ctx, time.Now().Add(-time.Duration(a.cfg.RepublishAfter)), 500)
		if err == nil && len(due) > 0 {
			a.log.Info("republishing events without an Ack", "count", len(due), "from_seq", due[0].Seq)
			if err := a.publish(ctx, due); err != nil {
				a.log.Warn("republish failed; will retry", "err", err)
			}
		}
	}
}

func (a *Agent) publish(ctx context.Context, evs []outbox.Event) error {
	if len(evs) == 0 {
		return nil
	}
	topic := a.topic(wire.KindCheckIn)
	msgs := make([]link.Outgoing, 0, len(evs))
	seqs := make([]uint64, 0, len(evs))
	for _, ev := range evs {
		payload, err := wire.Encode(a.checkIn(ev))
		if err != nil {
			return err
		}
		msgs = append(msgs, link.Outgoing{Topic: topic, Payload: payload})
		seqs = append(seqs, ev.Seq)
	}
	if err := a.link.PublishAll(ctx, msgs); err != nil {
		return err
	}
	return a.ob.MarkPublished(ctx, seqs, time.Now())
}

func (a *Agent) checkIn(ev outbox.Event) wire.CheckIn {
	return wire.CheckIn{V: wire.Version, ID: ev.ID, Site: a.cfg.Site, Device: a.cfg.Device, Epoch: ev.Epoch,
		Reader: ev.Reader, Seq: ev.Seq, Badge: ev.Badge, Service: ev.Service, Dir: ev.Dir, At: wire.FormatTime(ev.At)}
}

// messageLoop handles Acks and commands from the hub.
func (a *Agent) messageLoop(ctx context.Context) {
	ackTopic, cmdTopic := a.topic(wire.KindAck), a.topic(wire.KindCmd)
	for {
		var m link.Message
		select {
		case <-ctx.Done():
			return
		case m = <-a.msgs:
		}
		switch m.Topic {
		case ackTopic:
			ack, err := wire.DecodeAck(m.Payload)
			if err != nil {
				a.log.Warn("ignoring a bad ack", "err", err)
				continue
			}
			n, err := a.ob.Ack(ctx, ack.Epoch, ack.StoredThrough)
			if err != nil {
				a.log.Error("record ack", "err", err)
				continue
			}
			if n > 0 {
				a.log.Debug("ack", "stored_through", ack.StoredThrough, "newly_acked", n)
				kick(a.kickStatus)
			}
		case cmdTopic:
			if wire.CommandKind(m.Payload) == wire.CmdConfig {
				cc, err := wire.DecodeConfigCommand(m.Payload)
				if err != nil {
					a.log.Warn("ignoring a bad config command", "err", err)
					continue
				}
				a.applyConfig(ctx, cc)
				continue
			}
			cmd, err := wire.DecodeCommand(m.Payload)
			if err != nil {
				a.log.Warn("ignoring a bad command", "err", err)
				continue
			}
			if cmd.Epoch != a.ob.Epoch() {
				a.log.Warn("resend for another epoch: this outbox cannot answer it", "epoch", cmd.Epoch, "from_seq", cmd.FromSeq, "to_seq", cmd.ToSeq)
				continue
			}
			select {
			case a.resends <- cmd:
			case <-ctx.Done():
				return
			}
		}
	}
}

// statusLoop publishes the retained status on change (at most once a
// second) and at least every StatusInterval.
func (a *Agent) statusLoop(ctx context.Context) {
	interval := time.Duration(a.cfg.StatusInterval)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	var last time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-a.kickStatus:
			if wait := time.Second - time.Since(last); wait > 0 {
				select {
				case <-ctx.Done():
					return
				case <-time.After(wait):
				}
			}
		}
		if !a.link.Connected() {
			continue
		}
		payload, err := a.statusPayload(ctx, wire.StateOnline)
		if err != nil {
			a.log.Warn("build status", "err", err)
			continue
		}
		if err := a.link.Publish(ctx, a.topic(wire.KindStatus), payload, true); err != nil {
			a.log.Debug("status not published", "err", err)
			continue
		}
		last = time.Now()
		tick.Reset(interval)
	}
}

// Status builds the device's current status.
func (a *Agent) Status(ctx context.Context, state string) (wire.Status, error) {
	st, err := a.ob.Stats(ctx)
	if err != nil {
		return wire.Status{}, err
	}
	s := wire.Status{V: wire.Version, Site: a.cfg.Site, Device: a.cfg.Device, Epoch: a.ob.Epoch(), State: state,
		At: wire.FormatTime(a.now()), Version: a.version, ClockSynced: a.clockSynced(),
		LastSeq: st.LastSeq, OutboxPending: int64(st.Pending), Readers: []wire.ReaderStatus{}}
	if st.OldestPendingAt != nil {
		v := wire.FormatTime(*st.OldestPendingAt)
		s.OldestPendingAt = &v
	}
	a.mu.Lock()
	s.OutboxError = a.outboxErr
	a.mu.Unlock()
	a.rmu.Lock()
	readers := slices.Clone(a.readers)
	cfgs := make([]ReaderConfig, len(readers))
	for i, u := range readers {
		cfgs[i] = u.cfg
	}
	s.ConfigVersion, s.ConfigError, s.ConfigErrorVersion = a.configVersion, a.configErr, a.configErrVersion
	a.rmu.Unlock()
	if state == wire.StateOnline {
		s.Ports, s.Profiles = a.ports(), a.profileNames
	}
	for i, u := range readers {
		rs := u.r.State()
		w := toWire(cfgs[i])
		r := wire.ReaderStatus{Name: w.Name, Port: w.Port, Profile: w.Profile, Connected: rs.Connected,
			FramesRejected: rs.FramesRejected, LastError: rs.LastError, Service: w.Service, Dir: w.Dir, Debounce: w.Debounce}
		if at := u.lastScan.Load(); at != nil {
			v := wire.FormatTime(*at)
			r.LastScanAt = &v
		}
		s.Readers = append(s.Readers, r)
	}
	return s, nil
}

func (a *Agent) statusPayload(ctx context.Context, state string) ([]byte, error) {
	s, err := a.Status(ctx, state)
	if err != nil {
		return nil, err
	}
	return wire.Encode(s)
}

// pruneLoop deletes acknowledged events older than the retention, hourly.
func (a *Agent) pruneLoop(ctx context.Context) {
	prune := func() {
		n, err := a.ob.Prune(ctx, a.now().Add(-time.Duration(a.cfg.Retention)))
		if err != nil && ctx.Err() == nil {
			a.log.Warn("prune outbox", "err", err)
		} else if n > 0 {
			a.log.Info("pruned acknowledged events past the retention", "count", n)
		}
	}
	prune()
	tick := time.NewTicker(time.Hour)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			prune()
		}
	}
}
