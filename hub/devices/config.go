package devices

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"pointage/hub/db"
	"pointage/internal/wire"
)

// schemaV4 is what remote configuration (docs/DESIGN.md §14) adds to
// hub.db: each device's reader list as the office set it on the devices
// page, with its version. Removing the device removes it.
const schemaV4 = `
CREATE TABLE device_configs (
	device     TEXT PRIMARY KEY REFERENCES devices (device) ON DELETE CASCADE,
	version    INTEGER NOT NULL,  -- what the agent reports as config_version once applied
	readers    TEXT NOT NULL,     -- JSON list of wire.ReaderConfig
	updated_at TEXT NOT NULL,     -- RFC 3339, UTC
	updated_by TEXT NOT NULL DEFAULT ''
) STRICT;
`

// Config is a device's reader list kept by the hub.
type Config struct {
	Device    string              `json:"device"`
	Version   int64               `json:"version"`
	Readers   []wire.ReaderConfig `json:"readers"`
	UpdatedAt time.Time           `json:"updated_at"`
	UpdatedBy string              `json:"updated_by,omitempty"`
}

// Config returns the device's reader list; ok false when the hub has none
// for it (the agent's file applies).
func (r *Registry) Config(ctx context.Context, device string) (c Config, ok bool, err error) {
	c, err = scanConfig(r.db.QueryRowContext(ctx, `SELECT device, version, readers, updated_at, updated_by FROM device_configs WHERE device = ?`, device))
	if errors.Is(err, sql.ErrNoRows) {
		return Config{}, false, nil
	}
	if err != nil {
		return Config{}, false, fmt.Errorf("reader list of device %q: %w", device, err)
	}
	return c, true, nil
}

// Configs returns every device's reader list, by device.
func (r *Registry) Configs(ctx context.Context) (map[string]Config, error) {
	rows, err := r.db.QueryContext(ctx, `SELECT device, version, readers, updated_at, updated_by FROM device_configs`)
	if err != nil {
		return nil, fmt.Errorf("reader lists: %w", err)
	}
	defer rows.Close()
	out := map[string]Config{}
	for rows.Next() {
		c, err := scanConfig(rows)
		if err != nil {
			return nil, fmt.Errorf("reader lists: %w", err)
		}
		out[c.Device] = c
	}
	return out, rows.Err()
}

// SetConfig replaces the device's reader list (checked by the caller with
// wire.ValidateReaders) and gives it a new version: at least the previous
// one plus one, and at least the time in seconds, so that a hub.db
// restored from an older backup never hands out again a version an agent
// already ran with other readers. ErrNotFound for an unknown device.
func (r *Registry) SetConfig(ctx context.Context, device string, readers []wire.ReaderConfig, by string) (Config, error) {
	if readers == nil {
		readers = []wire.ReaderConfig{}
	}
	raw, err := json.Marshal(readers)
	if err != nil {
		return Config{}, err
	}
	now := r.now().UTC().Truncate(time.Second)
	var c Config
	err = db.WithTx(ctx, r.db, func(tx *sql.Tx) error {
		var exists int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM devices WHERE device = ?`, device).Scan(&exists); err != nil {
			return err
		}
		if exists == 0 {
			return ErrNotFound
		}
		var prev int64
		if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM device_configs WHERE device = ?`, device).Scan(&prev); err != nil {
			return err
		}
		version := max(prev+1, now.Unix())
		if _, err := tx.ExecContext(ctx, `INSERT INTO device_configs (device, version, readers, updated_at, updated_by) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (device) DO UPDATE SET version = excluded.version, readers = excluded.readers,
			updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
			device, version, string(raw), now.Format(time.RFC3339), by); err != nil {
			return err
		}
		c = Config{Device: device, Version: version, Readers: readers, UpdatedAt: now, UpdatedBy: by}
		return nil
	})
	if err != nil {
		return Config{}, fmt.Errorf("set the reader list of device %q: %w", device, err)
	}
	r.log.Info("device reader list set", "device", device, "config_version", c.Version, "readers", len(readers), "by", by)
	return c, nil
}

func scanConfig(row interface{ Scan(...any) error }) (Config, error) {
	var c Config
	var raw, updated string
	if err := row.Scan(&c.Device, &c.Version, &raw, &updated, &c.UpdatedBy); err != nil {
		return Config{}, err
	}
	if err := json.Unmarshal([]byte(raw), &c.Readers); err != nil {
		return Config{}, fmt.Errorf("device %q: readers: %w", c.Device, err)
	}
	c.UpdatedAt, _ = time.Parse(time.RFC3339, updated)
	return c, nil
}
