package hub

import (
	"context"
	"log/slog"

	"pointage/hub/api"
	"pointage/hub/broker"
	"pointage/hub/devices"
)

// deviceAdmin is the device registry as the dashboard administers it
// (api.DeviceAdmin, docs/DESIGN.md §12). A change made here is applied at
// once, where the devices command's (another process) waits for the
// journal follower (RevokeEvery): the embedded broker closes a revoked
// device's session, and with --mosquitto-dir an external mosquitto's
// passwd and acl files are written again, as `broker-config mosquitto`
// writes them (mosquitto reads them on its reload: docs/DEPLOY.md).
type deviceAdmin struct {
	reg          *devices.Registry
	broker       *broker.Broker // nil with an external broker
	mosquittoDir string         // --mosquitto-dir; "" = none
	topicRoot    string
	log          *slog.Logger
	onRemoved    func(device string) // the fleet forgets its reader list
}

var _ api.DeviceAdmin = deviceAdmin{}

func (a deviceAdmin) List(ctx context.Context) ([]devices.Device, error) { return a.reg.List(ctx) }

func (a deviceAdmin) Enrol(ctx context.Context, site, device string) (devices.Credentials, string, error) {
	c, err := a.reg.Enrol(ctx, site, device, "")
	if err != nil {
		return c, "", err
	}
	return c, a.applied(ctx, ""), nil
}

func (a deviceAdmin) Renew(ctx context.Context, device string) (devices.Credentials, string, error) {
	c, err := a.reg.Renew(ctx, device, "")
	if err != nil {
		return c, "", err
	}
	return c, a.applied(ctx, device), nil
}

func (a deviceAdmin) Remove(ctx context.Context, device string) (devices.Device, string, error) {
	d, err := a.reg.Get(ctx, device)
	if err != nil {
		return d, "", err
	}
	if err := a.reg.Remove(ctx, device); err != nil {
		return d, "", err
	}
	if a.onRemoved != nil {
		a.onRemoved(device)
	}
	return d, a.applied(ctx, device), nil
}

// applied closes the sessions of a revoked device ("" = none) and writes
// the external mosquitto's files again; it returns what failed, for the
// answer (the change is saved: hub.db is the registry).
func (a deviceAdmin) applied(ctx context.Context, revoked string) string {
	if revoked != "" && a.broker != nil {
		if n := a.broker.Disconnect(revoked); n > 0 {
			a.log.Warn("device credentials revoked: session closed", "device", revoked, "sessions", n)
		}
	}
	if a.mosquittoDir == "" {
		return ""
	}
	if err := a.reg.WriteMosquittoConfigRoot(context.WithoutCancel(ctx), a.mosquittoDir, a.topicRoot); err != nil {
		a.log.Error("the change is saved in hub.db, but mosquitto's files could not be written (--mosquitto-dir): run broker-config mosquitto", "err", err)
		return "saved, but mosquitto's files could not be written (--mosquitto-dir): " + err.Error()
	}
	return ""
}
