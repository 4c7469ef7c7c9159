package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"pointage/agent/reader"
	"pointage/internal/atomicfile"
	"pointage/internal/wire"
)

// The hub's reader configuration (docs/DESIGN.md §14): the hub keeps each
// device's reader list and sends it as a config command; the agent checks
// it, applies it without a restart and keeps it in HubConfigName beside the
// outbox, so it survives restarts (also without the network). While that
// file exists its readers replace the local file's.

// HubConfigName is the file, in data_dir, of the hub's reader list.
const HubConfigName = "hub-readers.json"

// hubConfig is HubConfigName's content.
type hubConfig struct {
	Version int64               `json:"version"`
	Readers []wire.ReaderConfig `json:"readers"`
}

// HubConfigPath is where the agent keeps the hub's reader list.
func (c Config) HubConfigPath() string { return filepath.Join(c.DataDir, HubConfigName) }

// loadHubConfig reads the hub's reader list kept by an earlier run; ok
// false when there is none.
func loadHubConfig(path string) (hc hubConfig, ok bool, err error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return hubConfig{}, false, nil
	}
	if err != nil {
		return hubConfig{}, false, err
	}
	if err := json.Unmarshal(b, &hc); err != nil {
		return hubConfig{}, false, fmt.Errorf("%s: %w", path, err)
	}
	if err := wire.ValidateReaders(hc.Readers, nil); err != nil {
		return hubConfig{}, false, fmt.Errorf("%s: %w", path, err)
	}
	return hc, true, nil
}

// saveHubConfig writes the hub's reader list atomically.
func saveHubConfig(path string, hc hubConfig) error {
	b, err := json.MarshalIndent(hc, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(path, append(b, '\n'), 0o600)
}

// fromWire is a reader of the hub's list as the agent's configuration,
// with the file's defaults.
func fromWire(r wire.ReaderConfig) (ReaderConfig, error) {
	rc := ReaderConfig{Name: r.Name, Port: r.Port, Profile: r.Profile, Service: r.Service, Dir: r.Dir}
	if rc.Dir == "" {
		rc.Dir = wire.DirAuto
	}
	rc.Debounce = Duration(reader.DefaultDebounce)
	if r.Debounce != "" {
		d, err := time.ParseDuration(r.Debounce)
		if err != nil {
			return ReaderConfig{}, err
		}
		rc.Debounce = Duration(d)
	}
	return rc, nil
}

// toWire is a reader of the agent's configuration as the hub shows it.
func toWire(rc ReaderConfig) wire.ReaderConfig {
	return wire.ReaderConfig{Name: rc.Name, Port: rc.Port, Profile: rc.Profile, Service: rc.Service, Dir: rc.Dir,
		Debounce: time.Duration(rc.Debounce).String()}
}

// newUnit prepares a reader (not started).
func (a *Agent) newUnit(rc ReaderConfig) (*unit, error) {
	p, ok := a.profiles[rc.Profile]
	if !ok {
		return nil, fmt.Errorf("reader %q: unknown profile %q (pointage-agent profiles lists them)", rc.Name, rc.Profile)
	}
	r, err := reader.New(reader.Config{
		Name: rc.Name, Port: rc.Port, Profile: p, Debounce: time.Duration(rc.Debounce),
		BackoffMax: a.readerBackoffMax,
		OnChange:   a.statusChanged,
	}, a.log)
	if err != nil {
		return nil, fmt.Errorf("reader %q: %w", rc.Name, err)
	}
	return &unit{cfg: rc, profile: p, r: r}, nil
}

// start runs u until its stop: its scans go to scanLoop with u itself,
// so a scan read just before u is replaced or removed is still stored
// with the configuration it was read under.
func (a *Agent) start(ctx context.Context, u *unit) {
	uctx, cancel := context.WithCancel(ctx)
	u.stop = cancel
	u.done = make(chan struct{})
	scans := make(chan reader.Scan, 16)
	a.wg.Add(2)
	go func() {
		defer a.wg.Done()
		defer close(scans)
		if err := u.r.Run(uctx, scans); err != nil && !errors.Is(err, context.Canceled) {
			a.log.Error("reader stopped", "reader", u.cfg.Name, "err", err)
		}
	}()
	go func() {
		defer a.wg.Done()
		defer close(u.done)
		for s := range scans {
			select {
			case a.scans <- unitScan{u: u, s: s}:
			case <-ctx.Done(): // the agent stops: nothing reads a.scans any more
				return
			}
		}
	}()
}

// halt stops u and waits until its last scan has been handed over.
func (u *unit) halt() {
	if u.stop == nil {
		return
	}
	u.stop()
	<-u.done
}

// applyConfig applies the hub's config command (from messageLoop): the
// same version again is only reported; a list this agent cannot run (an
// unknown profile, a bad port) is refused and reported as config_error,
// the readers it has keep running; otherwise it is kept on disk, then the
// readers removed, or given another port, profile or debounce, are closed
// and the new ones opened. A reader whose service or direction alone
// changes keeps its port open (a badge presented meanwhile is not missed)
// and its next scan has the new ones; the others go on untouched. The
// outbox is not touched.
func (a *Agent) applyConfig(ctx context.Context, cc wire.ConfigCommand) {
	defer kick(a.kickStatus)
	a.rmu.Lock()
	current := a.configVersion
	a.rmu.Unlock()
	if cc.Version == current {
		a.log.Debug("hub configuration already applied", "config_version", cc.Version)
		return
	}
	refuse := func(err error) {
		a.log.Error("the hub's reader configuration is refused; the previous one goes on", "config_version", cc.Version, "err", err)
		a.rmu.Lock()
		a.configErr, a.configErrVersion = err.Error(), cc.Version
		a.rmu.Unlock()
	}
	if err := wire.ValidateReaders(cc.Readers, func(p string) bool { _, ok := a.profiles[p]; return ok }); err != nil {
		refuse(err)
		return
	}
	wanted := make([]ReaderConfig, 0, len(cc.Readers))
	for _, r := range cc.Readers {
		rc, err := fromWire(r)
		if err != nil {
			refuse(err)
			return
		}
		wanted = append(wanted, rc)
	}

	a.rmu.Lock()
	old := slices.Clone(a.readers)
	a.rmu.Unlock()
	byName := map[string]*unit{}
	for _, u := range old {
		byName[u.cfg.Name] = u
	}
	var next, started, stopped []*unit
	keep := map[*unit]bool{}
	retag := map[*unit]ReaderConfig{} // same port, profile and debounce: the service or direction changes in place
	for _, rc := range wanted {
		if u := byName[rc.Name]; u != nil && u.cfg.Port == rc.Port && u.cfg.Profile == rc.Profile && u.cfg.Debounce == rc.Debounce {
			next = append(next, u)
			keep[u] = true
			if u.cfg != rc {
				retag[u] = rc
			}
			continue
		}
		u, err := a.newUnit(rc)
		if err != nil {
			refuse(err)
			return
		}
		next, started = append(next, u), append(started, u)
	}
	for _, u := range old {
		if !keep[u] {
			stopped = append(stopped, u)
		}
	}
	if err := saveHubConfig(a.cfg.HubConfigPath(), hubConfig{Version: cc.Version, Readers: cc.Readers}); err != nil {
		refuse(fmt.Errorf("keep the configuration in %s: %w", a.cfg.HubConfigPath(), err))
		return
	}
	// Stopped first: a changed reader keeps its port, which only one may open.
	for _, u := range stopped {
		u.halt()
	}
	for _, u := range started {
		a.start(a.runCtx, u)
	}
	a.rmu.Lock()
	for u, rc := range retag {
		u.cfg.Service, u.cfg.Dir = rc.Service, rc.Dir // read under rmu by scanLoop: its next scan has them
	}
	a.readers = next
	a.configVersion, a.configErr, a.configErrVersion = cc.Version, "", 0
	a.rmu.Unlock()
	a.log.Info("hub reader configuration applied", "config_version", cc.Version, "readers", len(next),
		"opened", len(started), "closed", len(stopped), "changed_in_place", len(retag), "unchanged", len(next)-len(started)-len(retag))
	_ = ctx
}

// PortsEvery is how often the status lists the serial ports again: a
// status goes out after each scan, the ports list reads the system's USB
// tree.
const PortsEvery = 30 * time.Second

// ports lists the machine's serial ports for the status (none on error),
// again only when the last list is PortsEvery old.
func (a *Agent) ports() []wire.PortInfo {
	if a.listPorts == nil {
		return nil
	}
	a.portsMu.Lock()
	defer a.portsMu.Unlock()
	if !a.portsAt.IsZero() && time.Since(a.portsAt) < PortsEvery {
		return a.portsSeen
	}
	a.portsAt = time.Now()
	ps, err := a.listPorts()
	if err != nil {
		a.log.Debug("list serial ports", "err", err)
		a.portsSeen = nil
		return nil
	}
	out := make([]wire.PortInfo, 0, len(ps))
	for _, p := range ps {
		pi := wire.PortInfo{Name: p.Name, Serial: p.SerialNumber, Product: p.Product}
		if p.IsUSB {
			pi.USB = "usb:" + strings.ToLower(p.VID+":"+p.PID)
		}
		out = append(out, pi)
	}
	a.portsSeen = wire.ClipPorts(out)
	return a.portsSeen
}
