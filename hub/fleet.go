package hub

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"pointage/hub/api"
	"pointage/hub/devices"
	"pointage/hub/ingest"
	"pointage/internal/wire"
)

// fleet is enrolment and the devices' reader lists (api.Fleet,
// docs/DESIGN.md §14). It keeps the lists in memory (loaded at start,
// written through on each change) so that the agents' statuses, which
// tell whether a list is applied, are answered without reading hub.db
// from ingest's pipeline.
type fleet struct {
	reg       *devices.Registry
	admin     deviceAdmin // applies a new password (sessions, mosquitto's files)
	pub       ingest.Publisher
	topicRoot string
	log       *slog.Logger
	now       func() time.Time

	mu      sync.Mutex
	configs map[string]devices.Config // by device
}

var _ api.Fleet = (*fleet)(nil)

func newFleet(ctx context.Context, reg *devices.Registry, admin deviceAdmin, pub ingest.Publisher, topicRoot string, log *slog.Logger, now func() time.Time) (*fleet, error) {
	configs, err := reg.Configs(ctx)
	if err != nil {
		return nil, err
	}
	return &fleet{reg: reg, admin: admin, pub: pub, topicRoot: topicRoot, log: log.With("component", "fleet"), now: now,
		configs: configs}, nil
}

func (f *fleet) Config(ctx context.Context, device string) (devices.Config, bool, error) {
	if _, err := f.reg.Get(ctx, device); err != nil {
		return devices.Config{}, false, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.configs[device]
	return c, ok, nil
}

func (f *fleet) SetConfig(ctx context.Context, device string, readers []wire.ReaderConfig, by string) (devices.Config, error) {
	d, err := f.reg.Get(ctx, device)
	if err != nil {
		return devices.Config{}, err
	}
	c, err := f.reg.SetConfig(ctx, device, readers, by)
	if err != nil {
		return devices.Config{}, err
	}
	f.mu.Lock()
	f.configs[device] = c
	f.mu.Unlock()
	f.send(d.Site, c)
	return c, nil
}

// send publishes the config command (the agent answers with its status).
func (f *fleet) send(site string, c devices.Config) {
	payload, err := wire.Encode(wire.ConfigCommand{V: wire.Version, Cmd: wire.CmdConfig, Version: c.Version, Readers: c.Readers})
	if err != nil {
		f.log.Error("encode a config command", "device", c.Device, "err", err)
		return
	}
	if err := f.pub.Publish(wire.DeviceTopic(f.topicRoot, site, c.Device, wire.KindCmd), payload, false); err != nil {
		f.log.Warn("config command not sent: again on the device's next status", "device", c.Device, "err", err)
		return
	}
	f.log.Info("reader list sent", "site", site, "device", c.Device, "config_version", c.Version, "readers", len(c.Readers))
}

// onStatus sends a device its reader list again on each online status
// that says it runs another one: the first status after a (re)connect or
// a restart, or the next one after a lost command. An agent sends at most
// a status a second, and one that has applied the list says so at once;
// a list the agent refused is not sent again (its config_error is on the
// devices page until the office changes the list).
func (f *fleet) onStatus(s wire.Status) {
	f.mu.Lock()
	c, ok := f.configs[s.Device]
	f.mu.Unlock()
	if !ok || s.ConfigVersion == c.Version || s.ConfigErrorVersion == c.Version {
		return
	}
	f.send(s.Site, c)
}

func (f *fleet) Versions() map[string]int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make(map[string]int64, len(f.configs))
	for d, c := range f.configs {
		out[d] = c.Version
	}
	return out
}

// forget drops a removed device's list (hub.db removes it with the device).
func (f *fleet) forget(device string) {
	f.mu.Lock()
	delete(f.configs, device)
	f.mu.Unlock()
}

func (f *fleet) Enrol(ctx context.Context, code string) (api.Enrolled, error) {
	d, err := f.reg.Redeem(ctx, code, f.now())
	if err != nil {
		return api.Enrolled{}, err
	}
	pw, err := f.reg.SetPassword(ctx, d.ID, "")
	if err != nil {
		return api.Enrolled{}, fmt.Errorf("enrol %s: a new password: %w", d.ID, err)
	}
	if warning := f.admin.applied(ctx, d.ID); warning != "" {
		f.log.Warn("device enrolled", "device", d.ID, "warning", warning)
	}
	e := api.Enrolled{Site: d.Site, Device: d.ID, Password: pw, TopicRoot: f.topicRoot, Readers: []wire.ReaderConfig{}}
	f.mu.Lock()
	if c, ok := f.configs[d.ID]; ok {
		e.Readers, e.ConfigVersion = c.Readers, c.Version
	}
	f.mu.Unlock()
	f.log.Info("device enrolled", "site", d.Site, "device", d.ID, "config_version", e.ConfigVersion)
	return e, nil
}
