// Package demo runs simulated school days through the real pipeline for
// `make run` (pointage-hub demo): the hub (embedded broker, ingest, SQLite
// store), a generated roster of three Nouméa schools, one registered device
// per school with three pseudo-terminal badge readers fed by the scanner
// simulator, and one real agent per school that reads them through
// go.bug.st/serial, keeps the scans in its outbox and publishes them over
// MQTT with its device identity. Time is accelerated (see clock.go); every
// few seconds the demo prints each school's figures as the hub counts them.
package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	"gopkg.in/yaml.v3"

	"pointage/agent"
	"pointage/hub"
	"pointage/hub/devices"
	"pointage/internal/civil"
	"pointage/internal/scansim"
	"pointage/internal/wire"
)

// Options configure the demo.
type Options struct {
	MQTTListen string // default ":1883"; a free port when it is taken
	Listen     string // HTTP, default ":8080"; a free port when it is taken
	DataDir    string // default a temporary folder
	Out        io.Writer
	Logger     *slog.Logger
	// Pace is how often the simulator looks at the clock to present the
	// badges that are due (default 20 ms).
	Pace time.Duration
	// Report is how often the demo prints the figures (default 5 s).
	Report time.Duration
	// DayLength is the real time a simulated school day lasts
	// (default DefaultDayLength, about 10 minutes, with 3.5 minutes of
	// canteen rush). Everything of the day (debounce, the unplugged minute,
	// retries) scales with it.
	DayLength time.Duration
	// Children and Staff per school (defaults 120 and 6).
	Children, Staff int
	// Days is how many school days are played; 0 plays until ctx ends.
	// After the last one the clock runs on but nobody badges any more.
	Days int
	// OnStart, if set, is called once everything is running (tests).
	OnStart func(*Running)
}

// Running is the demo once started.
type Running struct {
	Hub    *hub.Hub
	Agents map[string]*agent.Agent // by site
	Sites  []string
	// FirstDay is the first simulated day; Now the demo clock.
	FirstDay civil.Date
	Now      func() time.Time
	// DayOver reports whether the first simulated day is over.
	DayOver func() bool
}

// writeSitesFile writes the hub's --sites file in dir: the schools'
// display names (docs/DESIGN.md §12), which the dashboard and the XLSX
// exports show instead of the ids.
func writeSitesFile(dir string, sc []*school) (string, error) {
	type site struct {
		Name string `yaml:"name"`
	}
	doc := struct {
		Sites map[string]site `yaml:"sites"`
	}{Sites: map[string]site{}}
	for _, s := range sc {
		doc.Sites[s.site] = site{Name: s.name}
	}
	b, err := yaml.Marshal(doc)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("demo: sites file: %w", err)
	}
	path := filepath.Join(dir, "sites.yaml")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return "", fmt.Errorf("demo: sites file: %w", err)
	}
	return path, nil
}

// freeOr returns addr when it can be listened on, else a free loopback port.
func freeOr(addr string) string {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "127.0.0.1:0"
	}
	ln.Close()
	return addr
}

// Run runs the demo until ctx ends.
func Run(ctx context.Context, opts Options) (err error) {
	if opts.Out == nil {
		opts.Out = os.Stdout
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	if opts.MQTTListen == "" {
		opts.MQTTListen = ":1883"
	}
	if opts.Listen == "" {
		opts.Listen = ":8080"
	}
	if opts.Pace <= 0 {
		opts.Pace = 20 * time.Millisecond
	}
	if opts.Report <= 0 {
		opts.Report = 5 * time.Second
	}
	if opts.DayLength <= 0 {
		opts.DayLength = DefaultDayLength
	}
	if opts.Children <= 0 {
		opts.Children = 120
	}
	if opts.Staff <= 0 {
		opts.Staff = 6
	}
	if opts.DataDir == "" {
		dir, err := os.MkdirTemp("", "pointage-demo-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		opts.DataDir = dir
	}

	cfg := hub.Defaults()
	cfg.DataDir = filepath.Join(opts.DataDir, "hub")
	sc := schools()
	if cfg.Sites, err = writeSitesFile(opts.DataDir, sc); err != nil {
		return err
	}
	cfg.MQTTListen = freeOr(opts.MQTTListen)
	cfg.Listen = freeOr(opts.Listen)
	loc, err := time.LoadLocation(cfg.Timezone)
	if err != nil {
		return err
	}
	clock := newSimClock(opts.DayLength, loc, civil.DateOf(time.Now().In(loc)))
	h, err := hub.New(ctx, cfg, hub.Options{Logger: opts.Logger, Version: "demo", Now: clock.Now})
	if err != nil {
		return err
	}
	defer h.Close()
	// The demo login (demo / demo) exists only in demo mode.
	if err := h.Users().AddDemo(ctx); err != nil {
		return fmt.Errorf("demo: login: %w", err)
	}
	people := makeRoster(sc, opts.Children, opts.Staff)
	if _, err := h.Roster().Import(ctx, people, clock.first, nil); err != nil {
		return fmt.Errorf("demo: roster: %w", err)
	}
	// The agents reach the broker through a relay each, so the demo can
	// cut one school's network link.
	u, err := url.Parse(h.MQTTURL())
	if err != nil {
		return err
	}
	target := u.Host
	if host, port, err := net.SplitHostPort(target); err == nil && (host == "" || host == "::" || host == "0.0.0.0") {
		target = net.JoinHostPort("127.0.0.1", port)
	}
	devDir := filepath.Join(opts.DataDir, "dev", "serial", "by-id")
	os.RemoveAll(devDir)
	if err := os.MkdirAll(devDir, 0o755); err != nil {
		return err
	}

	debounce := min(3*time.Second, max(50*time.Millisecond, clock.scaled(3*time.Second)))
	var players []*player
	agents := map[string]*agent.Agent{}
	var cutters []*cutter
	defer func() {
		for _, a := range agents {
			a.Close()
		}
		for _, c := range cutters {
			c.close()
		}
		for _, p := range players {
			for _, l := range p.links {
				if l != nil {
					l.Close()
				}
			}
		}
	}()
	logf := func(format string, args ...any) {
		fmt.Fprintf(opts.Out, "%s  %s\n", clock.Now().Format("15:04"), fmt.Sprintf(format, args...))
	}
	// Register the devices (a password hash each: concurrently).
	passwords := make([]string, len(sc))
	regErrs := make([]error, len(sc))
	var reg sync.WaitGroup
	for si, s := range sc {
		reg.Go(func() {
			_, pw, err := h.Devices().Add(ctx, s.site, s.device, "")
			if errors.Is(err, devices.ErrExists) {
				pw, err = h.Devices().SetPassword(ctx, s.device, "")
			}
			passwords[si], regErrs[si] = pw, err
		})
	}
	reg.Wait()
	if err := errors.Join(regErrs...); err != nil {
		return err
	}
	for si, s := range sc {
		password := passwords[si]
		p := &player{s: s, si: si, days: opts.Days, clock: clock, debounce: debounce, step: opts.Pace, logf: logf}
		players = append(players, p)
		for ri := range nReaders {
			if p.links[ri], err = scansim.NewSymlink(filepath.Join(devDir, fmt.Sprintf("usb-%s-%s", s.device, readerNames[ri]))); err != nil {
				return fmt.Errorf("demo: pseudo-terminal: %w", err)
			}
		}
		c, err := newCutter(target)
		if err != nil {
			return err
		}
		cutters = append(cutters, c)
		if si == cutSchool {
			p.cut = c
		}
		acfg := agent.Defaults()
		acfg.Site, acfg.Device = s.site, s.device
		acfg.DataDir = filepath.Join(opts.DataDir, "agent-"+s.device)
		acfg.MQTT.URL = c.URL()
		acfg.MQTT.Username = s.device
		acfg.MQTT.Password = agent.Secret(password)
		acfg.MQTT.ClientID = "pointage-agent-" + s.device
		acfg.RepublishAfter = agent.Duration(max(time.Second, clock.scaled(30*time.Second)))
		acfg.StatusInterval = agent.Duration(min(60*time.Second, max(time.Second, clock.scaled(20*time.Second))))
		d := agent.Duration(debounce)
		acfg.Readers = []agent.ReaderConfig{
			{Name: readerNames[readerCanteen], Port: p.links[readerCanteen].Path(), Profile: "rdm6300", Service: wire.ServiceCanteen, Dir: wire.DirAuto, Debounce: d},
			{Name: readerNames[readerGarderie], Port: p.links[readerGarderie].Path(), Profile: "line-hex", Service: wire.ServiceGarderie, Dir: wire.DirAuto, Debounce: d},
			{Name: readerNames[readerStaff], Port: p.links[readerStaff].Path(), Profile: s.staffProfile, Service: wire.ServiceStaff, Dir: wire.DirAuto, Debounce: d},
		}
		a, err := agent.New(acfg, agent.Options{Logger: opts.Logger, Version: "demo", Now: clock.Now,
			ClockSynced: func() bool { return true }, ReaderBackoffMax: max(100*time.Millisecond, clock.scaled(2*time.Second))})
		if err != nil {
			return err
		}
		p.agent = a
		agents[s.site] = a
	}
	printBanner(opts.Out, h, cfg, clock, sc, players)

	var wg sync.WaitGroup
	errc := make(chan error, 1+len(agents))
	runCtx, cancel := context.WithCancel(ctx)
	defer func() { cancel(); wg.Wait() }()
	wg.Add(1)
	go func() { defer wg.Done(); errc <- h.Run(runCtx) }()
	// The agents start once the broker answers, so their first connection
	// works (a failed one is retried only after 2 s).
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline) && runCtx.Err() == nil; time.Sleep(10 * time.Millisecond) {
		if c, err := net.Dial("tcp", target); err == nil {
			c.Close()
			break
		}
	}
	for _, a := range agents {
		wg.Add(1)
		go func() { defer wg.Done(); errc <- a.Run(runCtx) }()
	}
	// The day starts once every reader is open and every device online
	// (or after a few seconds anyway).
	waitReady(runCtx, h, agents, 15*time.Second)
	if runCtx.Err() != nil {
		return nil
	}
	clock.Start(time.Now())
	for _, p := range players {
		wg.Add(1)
		go func() { defer wg.Done(); p.run(runCtx) }()
	}
	wg.Add(1)
	go func() { defer wg.Done(); report(runCtx, opts.Out, opts.Report, h, clock, sc, agents) }()

	if opts.OnStart != nil {
		sites := make([]string, len(sc))
		for i, s := range sc {
			sites[i] = s.site
		}
		opts.OnStart(&Running{Hub: h, Agents: agents, Sites: sites, FirstDay: clock.first, Now: clock.Now,
			DayOver: func() bool { n, _ := clock.position(); return n > 0 }})
	}
	select {
	case <-ctx.Done():
		return nil
	case err := <-errc:
		return err
	}
}

// waitReady waits until every agent has its readers open and the hub has
// each device online, or until timeout.
func waitReady(ctx context.Context, h *hub.Hub, agents map[string]*agent.Agent, timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	ready := func() bool {
		online := map[string]bool{}
		sts, err := h.Ingest().DeviceStatuses(ctx)
		if err != nil {
			return false
		}
		for _, s := range sts {
			online[s.Site] = s.State == wire.StateOnline
		}
		for site, a := range agents {
			st, err := a.Status(ctx, "")
			if err != nil || !online[site] {
				return false
			}
			for _, r := range st.Readers {
				if !r.Connected {
					return false
				}
			}
		}
		return true
	}
	for !ready() && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(20 * time.Millisecond)
	}
}

func printBanner(out io.Writer, h *hub.Hub, cfg hub.Config, clock *simClock, sc []*school, players []*player) {
	fmt.Fprintf(out, "pointage — démo\n")
	addr := h.HTTPAddr()
	if host, port, err := net.SplitHostPort(addr); err == nil && (host == "" || host == "::" || host == "0.0.0.0") {
		addr = net.JoinHostPort("localhost", port)
	}
	fmt.Fprintf(out, "  tableau de bord : http://%s/  (utilisateur demo, mot de passe demo)\n", addr)
	fmt.Fprintf(out, "  hub : API http://%s/api/v1/counts, MQTT %s, données %s\n", addr, h.MQTTURL(), cfg.DataDir)
	for i, s := range sc {
		fmt.Fprintf(out, "  %s (%s) : %d enfants, %d agents ; boîtier %s, lecteurs entree (rdm6300), porte-garderie (line-hex), pointeuse (%s) sous %s\n",
			s.name, s.site, len(s.children), len(s.staff), s.device, s.staffProfile, filepath.Dir(players[i].links[0].Path()))
	}
	fmt.Fprintf(out, "  temps accéléré : une journée d'école (05:45-18:30) dure %s, dont le service de cantine 11:00-12:30 en %s ; week-ends sautés.\n",
		clock.dayLength().Round(time.Second), (clock.realOffset(hm(12, 30)) - clock.realOffset(hm(11, 0))).Round(time.Second))
	fmt.Fprintf(out, "  chaque jour : lecteur porte-garderie de %s débranché une minute vers 16:10 ; boîtier de %s sans réseau de 11:20 à 12:20.\n",
		sc[unplugSchool].site, sc[cutSchool].site)
	fmt.Fprintf(out, "  Ctrl-C arrête.\n\n")
}
