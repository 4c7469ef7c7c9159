package ingest

import (
	"context"
	"encoding/json"
	"sort"
	"time"

	"pointage/internal/wire"
)

// DeviceStatus is a device's last status as the hub received it.
type DeviceStatus struct {
	Site        string
	Device      string
	Epoch       string
	State       string
	Status      wire.Status
	ReceivedAt  time.Time
	ClockSkew   time.Duration
	ClockSynced bool
}

// DeviceStatuses returns every device's last status.
func (in *Ingest) DeviceStatuses(ctx context.Context) ([]DeviceStatus, error) {
	rows, err := in.db.QueryContext(ctx, `SELECT device, site, epoch, state, status, received_at, clock_skew_ms, clock_synced FROM device_status`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []DeviceStatus
	for rows.Next() {
		var d DeviceStatus
		var payload string
		var recv, skew int64
		if err := rows.Scan(&d.Device, &d.Site, &d.Epoch, &d.State, &payload, &recv, &skew, &d.ClockSynced); err != nil {
			return nil, err
		}
		_ = json.Unmarshal([]byte(payload), &d.Status) // validated when received
		d.ReceivedAt, d.ClockSkew = time.UnixMilli(recv), time.Duration(skew)*time.Millisecond
		out = append(out, d)
	}
	return out, rows.Err()
}

// DeviceView is one device in GET /api/v1/devices (docs/DESIGN.md §9).
type DeviceView struct {
	Site            string              `json:"site"`
	Device          string              `json:"device"`
	State           string              `json:"state"` // online | offline | unknown (no status yet)
	LastSeen        *time.Time          `json:"last_seen"`
	Epoch           string              `json:"epoch"`
	LastSeq         uint64              `json:"last_seq"`
	StoredThrough   uint64              `json:"stored_through"`
	Missing         []Range             `json:"missing"`
	OutboxPending   int64               `json:"outbox_pending"`
	OldestPendingAt *string             `json:"oldest_pending_at"`
	OutboxError     string              `json:"outbox_error,omitempty"`
	Readers         []wire.ReaderStatus `json:"readers"`
	ClockSkewMS     int64               `json:"clock_skew_ms"`
	ClockSynced     bool                `json:"clock_synced"`
	Version         string              `json:"version,omitempty"`
	OtherEpochs     []SequenceState     `json:"other_epochs,omitempty"` // earlier epochs with gaps still open
	// Recovering: the device holds acknowledged events the hub has not
	// received (a hub restored from a backup), RecoveryMissing of them;
	// the hub has asked for them (docs/DESIGN.md §13).
	Recovering      bool   `json:"recovering"`
	RecoveryMissing uint64 `json:"recovery_missing"`
	// The reader configuration the agent runs (docs/DESIGN.md §14): the
	// hub's list's version (0: its file's), or why it refused one; the
	// serial ports it sees and the profiles it knows.
	ConfigVersion      int64           `json:"config_version"`
	ConfigError        string          `json:"config_error,omitempty"`
	ConfigErrorVersion int64           `json:"config_error_version,omitempty"`
	Ports              []wire.PortInfo `json:"ports"`
	Profiles           []string        `json:"profiles"`
}

// DeviceViews is every device's last status joined with its sequence
// accounting: one view per device, by site and device.
func (in *Ingest) DeviceViews(ctx context.Context) ([]DeviceView, error) {
	statuses, err := in.DeviceStatuses(ctx)
	if err != nil {
		return nil, err
	}
	return Views(statuses, in.Sequences()), nil
}

// Views joins statuses and sequence accounting into one view per device.
func Views(statuses []DeviceStatus, seqs []SequenceState) []DeviceView {
	byDevice := map[string]*DeviceView{}
	get := func(site, device string) *DeviceView {
		v := byDevice[device]
		if v == nil {
			v = &DeviceView{Site: site, Device: device, State: "unknown", Missing: []Range{}, Readers: []wire.ReaderStatus{},
				Ports: []wire.PortInfo{}, Profiles: []string{}}
			byDevice[device] = v
		}
		return v
	}
	for _, s := range statuses {
		v := get(s.Site, s.Device)
		t := s.ReceivedAt
		v.State, v.LastSeen, v.Epoch = s.State, &t, s.Epoch
		v.LastSeq, v.OutboxPending, v.OldestPendingAt = s.Status.LastSeq, s.Status.OutboxPending, s.Status.OldestPendingAt
		v.OutboxError, v.Version = s.Status.OutboxError, s.Status.Version
		if s.Status.Readers != nil {
			v.Readers = s.Status.Readers
		}
		v.ClockSkewMS, v.ClockSynced = s.ClockSkew.Milliseconds(), s.ClockSynced
		v.ConfigVersion, v.ConfigError, v.ConfigErrorVersion = s.Status.ConfigVersion, s.Status.ConfigError, s.Status.ConfigErrorVersion
		if s.Status.Ports != nil {
			v.Ports = s.Status.Ports
		}
		if s.Status.Profiles != nil {
			v.Profiles = s.Status.Profiles
		}
	}
	for _, q := range seqs {
		v := get(q.Site, q.Device)
		if v.Epoch == "" {
			v.Epoch = q.Epoch
		}
		if q.Epoch == v.Epoch {
			v.StoredThrough = q.StoredThrough
			if q.Missing != nil {
				v.Missing = q.Missing
			}
			v.LastSeq = max(v.LastSeq, q.MaxSeq)
			v.RecoveryMissing, v.Recovering = q.RecoveryMissing, q.RecoveryMissing > 0
		} else if len(q.Missing) > 0 {
			v.OtherEpochs = append(v.OtherEpochs, q)
		}
	}
	out := make([]DeviceView, 0, len(byDevice))
	for _, v := range byDevice {
		out = append(out, *v)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Site != out[j].Site {
			return out[i].Site < out[j].Site
		}
		return out[i].Device < out[j].Device
	})
	return out
}
