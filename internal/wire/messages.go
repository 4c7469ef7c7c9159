package wire

import (
	"encoding/json"
	"fmt"
	"time"
)

// CheckIn is one badge scan accepted by an agent (docs/DESIGN.md §3).
type CheckIn struct {
	V       int     `json:"v"`
	ID      string  `json:"id"`
	Site    string  `json:"site"`
	Device  string  `json:"device"`
	Epoch   string  `json:"epoch,omitempty"`
	Reader  string  `json:"reader"`
	Seq     uint64  `json:"seq"`
	Badge   string  `json:"badge"`
	Service Service `json:"service"`
	Dir     Dir     `json:"dir"`
	At      string  `json:"at"`
}

// checkInIn mirrors CheckIn with pointers, so a missing field is told apart
// from a zero value.
type checkInIn struct {
	V       *int     `json:"v"`
	ID      *string  `json:"id"`
	Site    *string  `json:"site"`
	Device  *string  `json:"device"`
	Epoch   *string  `json:"epoch"`
	Reader  *string  `json:"reader"`
	Seq     *uint64  `json:"seq"`
	Badge   *string  `json:"badge"`
	Service *Service `json:"service"`
	Dir     *Dir     `json:"dir"`
	At      *string  `json:"at"`
}

// DecodeCheckIn decodes and validates a CheckIn payload.
//
// Canonical payloads, as agents write them, take a fast hand-written scanner
// (scanCheckIn); any other input takes encoding/json. Both paths end in
// completeCheckIn, and the scanner gives up on anything encoding/json might
// read differently, so the result never depends on the path taken.
func DecodeCheckIn(payload []byte) (CheckIn, error) {
	c, seen, ok := scanCheckIn(payload)
	if !ok {
		var err error
		if c, seen, err = decodeCheckInJSON(payload); err != nil {
			return CheckIn{}, err
		}
	}
	return completeCheckIn(c, seen)
}

// decodeCheckInJSON is DecodeCheckIn's general path: a strict encoding/json
// decode into pointer fields, so that a missing field is told apart from a
// zero value.
func decodeCheckInJSON(payload []byte) (CheckIn, checkInFields, error) {
	var in checkInIn
	if err := decodeStrict(payload, &in); err != nil {
		return CheckIn{}, 0, err
	}
	var c CheckIn
	seen := take(&c.V, in.V, fieldV) | take(&c.ID, in.ID, fieldID) |
		take(&c.Site, in.Site, fieldSite) | take(&c.Device, in.Device, fieldDevice) |
		take(&c.Epoch, in.Epoch, fieldEpoch) | take(&c.Reader, in.Reader, fieldReader) |
		take(&c.Seq, in.Seq, fieldSeq) | take(&c.Badge, in.Badge, fieldBadge) |
		take(&c.Service, in.Service, fieldService) | take(&c.Dir, in.Dir, fieldDir) |
		take(&c.At, in.At, fieldAt)
	return c, seen, nil
}

// take copies *p to *dst and returns bit if p is set, and returns 0 if not.
func take[T any](dst, p *T, bit checkInFields) checkInFields {
	if p == nil {
		return 0
	}
	*dst = *p
	return bit
}

// requiredCheckInFields are the fields besides v a CheckIn must carry, in
// the order they are reported missing.
var requiredCheckInFields = [...]struct {
	name string
	bit  checkInFields
}{
	{"id", fieldID}, {"site", fieldSite}, {"device", fieldDevice}, {"reader", fieldReader},
	{"seq", fieldSeq}, {"badge", fieldBadge}, {"service", fieldService}, {"dir", fieldDir},
	{"at", fieldAt},
}

// completeCheckIn checks the version and the presence of the fields seen in
// a decoded payload, then validates c.
func completeCheckIn(c CheckIn, seen checkInFields) (CheckIn, error) {
	var v *int
	if seen&fieldV != 0 {
		v = &c.V
	}
	if err := checkVersion(v); err != nil {
		return CheckIn{}, err
	}
	for _, f := range requiredCheckInFields {
		if seen&f.bit == 0 {
			return CheckIn{}, fieldErr(ReasonMissingField, f.name, "required")
		}
	}
	return c, c.Validate()
}

// Validate checks every field of c against the contract.
func (c CheckIn) Validate() error {
	if c.V != Version {
		return fieldErr(ReasonBadVersion, "v", "version %d is not supported", c.V)
	}
	if !validToken(c.ID) {
		return fieldErr(ReasonBadField, "id", "must be 1 to 64 letters, digits, '-' or '_' (a ULID)")
	}
	if err := checkSiteDevice(c.Site, c.Device); err != nil {
		return err
	}
	if err := checkEpoch(c.Epoch); err != nil {
		return err
	}
	if !ValidReaderName(c.Reader) {
		return fieldErr(ReasonBadField, "reader", "must match %s", readerPattern)
	}
	if c.Seq == 0 || c.Seq > MaxSeq {
		return fieldErr(ReasonBadField, "seq", "must be from 1 to %d", uint64(MaxSeq))
	}
	if !ValidBadge(c.Badge) {
		return fieldErr(ReasonBadField, "badge", "must be 1 to 64 printable characters without spaces")
	}
	if !c.Service.Valid() {
		return fieldErr(ReasonBadField, "service", "must be canteen, garderie or staff, not %q", clip(string(c.Service)))
	}
	if !c.Dir.Valid() {
		return fieldErr(ReasonBadField, "dir", "must be in, out or auto, not %q", clip(string(c.Dir)))
	}
	if _, err := ParseTime(c.At); err != nil {
		return fieldErr(ReasonBadField, "at", "%v", err)
	}
	return nil
}

// Time returns the parsed `at` of a validated CheckIn.
func (c CheckIn) Time() time.Time {
	t, _ := ParseTime(c.At)
	return t
}

// Status is an agent's retained state (docs/DESIGN.md §3). Fields beyond the
// contract's are additions documented in docs/PROTOCOL.md.
type Status struct {
	V               int            `json:"v"`
	Site            string         `json:"site"`
	Device          string         `json:"device"`
	Epoch           string         `json:"epoch"`
	State           string         `json:"state"`
	At              string         `json:"at"`
	Version         string         `json:"version,omitempty"`
	ClockSynced     bool           `json:"clock_synced"`
	LastSeq         uint64         `json:"last_seq"`
	OutboxPending   int64          `json:"outbox_pending"`
	OldestPendingAt *string        `json:"oldest_pending_at"`
	Readers         []ReaderStatus `json:"readers"`
	// OutboxError (addition) says why the outbox refuses scans, if it does.
	OutboxError string `json:"outbox_error,omitempty"`
	// ConfigVersion (docs/DESIGN.md §14) is the version of the hub's reader
	// configuration the agent runs; 0 (absent): its file's readers.
	ConfigVersion int64 `json:"config_version,omitempty"`
	// ConfigError is why the agent refused the hub's configuration of
	// version ConfigErrorVersion (it keeps the previous one).
	ConfigError        string `json:"config_error,omitempty"`
	ConfigErrorVersion int64  `json:"config_error_version,omitempty"`
	// Ports (addition) are the serial ports the agent sees (ClipPorts), and
	// Profiles the scanner profiles it knows: what the devices page offers.
	Ports    []PortInfo `json:"ports,omitempty"`
	Profiles []string   `json:"profiles,omitempty"`
}

// ReaderStatus is one reader inside a Status.
type ReaderStatus struct {
	Name           string  `json:"name"`
	Port           string  `json:"port"`
	Profile        string  `json:"profile"`
	Connected      bool    `json:"connected"`
	LastScanAt     *string `json:"last_scan_at"`
	FramesRejected uint64  `json:"frames_rejected"`
	// LastError (addition) is the reader's last error, empty when none.
	LastError string `json:"last_error,omitempty"`
	// Service, Dir and Debounce (additions) complete the reader's
	// configuration, so the devices page can start from it.
	Service  Service `json:"service,omitempty"`
	Dir      Dir     `json:"dir,omitempty"`
	Debounce string  `json:"debounce,omitempty"`
}

// DecodeStatus decodes and validates a Status payload. Only v, site, device,
// state and at are required: the last will carries little more.
func DecodeStatus(payload []byte) (Status, error) {
	var s Status
	var probe struct {
		V      *int    `json:"v"`
		Site   *string `json:"site"`
		Device *string `json:"device"`
		State  *string `json:"state"`
		At     *string `json:"at"`
	}
	if err := decodeStrict(payload, &s); err != nil {
		return Status{}, err
	}
	// The strict decode already succeeded; this one only sees presence.
	_ = json.Unmarshal(payload, &probe)
	if err := checkVersion(probe.V); err != nil {
		return Status{}, err
	}
	for _, f := range []struct {
		name string
		ok   bool
	}{{"site", probe.Site != nil}, {"device", probe.Device != nil}, {"state", probe.State != nil}, {"at", probe.At != nil}} {
		if !f.ok {
			return Status{}, fieldErr(ReasonMissingField, f.name, "required")
		}
	}
	return s, s.Validate()
}

// Validate checks a Status against the contract.
func (s Status) Validate() error {
	if s.V != Version {
		return fieldErr(ReasonBadVersion, "v", "version %d is not supported", s.V)
	}
	if err := checkSiteDevice(s.Site, s.Device); err != nil {
		return err
	}
	if err := checkEpoch(s.Epoch); err != nil {
		return err
	}
	if s.State != StateOnline && s.State != StateOffline {
		return fieldErr(ReasonBadField, "state", "must be online or offline")
	}
	if _, err := ParseTime(s.At); err != nil {
		return fieldErr(ReasonBadField, "at", "%v", err)
	}
	if s.LastSeq > MaxSeq {
		return fieldErr(ReasonBadField, "last_seq", "must be at most %d", uint64(MaxSeq))
	}
	if s.OutboxPending < 0 || s.OutboxPending > MaxSeq {
		return fieldErr(ReasonBadField, "outbox_pending", "must be from 0 to %d", uint64(MaxSeq))
	}
	if s.OldestPendingAt != nil {
		if _, err := ParseTime(*s.OldestPendingAt); err != nil {
			return fieldErr(ReasonBadField, "oldest_pending_at", "%v", err)
		}
	}
	if len(s.Readers) > 32 {
		return fieldErr(ReasonBadField, "readers", "at most 32 readers")
	}
	for i, r := range s.Readers {
		field := fmt.Sprintf("readers[%d]", i)
		if !ValidReaderName(r.Name) {
			return fieldErr(ReasonBadField, field+".name", "must match %s", readerPattern)
		}
		if r.LastScanAt != nil {
			if _, err := ParseTime(*r.LastScanAt); err != nil {
				return fieldErr(ReasonBadField, field+".last_scan_at", "%v", err)
			}
		}
	}
	return nil
}

// Ack tells an agent that every event of its epoch with seq <= StoredThrough
// has been handled by the hub (docs/DESIGN.md §3).
type Ack struct {
	V             int    `json:"v"`
	Epoch         string `json:"epoch"`
	StoredThrough uint64 `json:"stored_through"`
}

// DecodeAck decodes and validates an Ack payload.
func DecodeAck(payload []byte) (Ack, error) {
	var in struct {
		V             *int    `json:"v"`
		Epoch         *string `json:"epoch"`
		StoredThrough *uint64 `json:"stored_through"`
	}
	if err := decodeStrict(payload, &in); err != nil {
		return Ack{}, err
	}
	if err := checkVersion(in.V); err != nil {
		return Ack{}, err
	}
	if in.StoredThrough == nil {
		return Ack{}, fieldErr(ReasonMissingField, "stored_through", "required")
	}
	a := Ack{V: *in.V, StoredThrough: *in.StoredThrough}
	if in.Epoch != nil {
		a.Epoch = *in.Epoch
	}
	return a, checkEpoch(a.Epoch)
}

// Command is a hub-to-agent request (docs/DESIGN.md §3).
type Command struct {
	V       int    `json:"v"`
	Cmd     string `json:"cmd"`
	Epoch   string `json:"epoch"`
	FromSeq uint64 `json:"from_seq"`
	ToSeq   uint64 `json:"to_seq"`
}

// DecodeCommand decodes and validates a Command payload.
func DecodeCommand(payload []byte) (Command, error) {
	var in struct {
		V       *int    `json:"v"`
		Cmd     *string `json:"cmd"`
		Epoch   *string `json:"epoch"`
		FromSeq *uint64 `json:"from_seq"`
		ToSeq   *uint64 `json:"to_seq"`
	}
	if err := decodeStrict(payload, &in); err != nil {
		return Command{}, err
	}
	if err := checkVersion(in.V); err != nil {
		return Command{}, err
	}
	if in.Cmd == nil {
		return Command{}, fieldErr(ReasonMissingField, "cmd", "required")
	}
	if *in.Cmd != CmdResend {
		return Command{}, fieldErr(ReasonBadField, "cmd", "unknown command %q", clip(*in.Cmd))
	}
	if in.FromSeq == nil || in.ToSeq == nil {
		return Command{}, fieldErr(ReasonMissingField, "from_seq", "resend needs from_seq and to_seq")
	}
	c := Command{V: *in.V, Cmd: *in.Cmd, FromSeq: *in.FromSeq, ToSeq: *in.ToSeq}
	if in.Epoch != nil {
		c.Epoch = *in.Epoch
	}
	if err := checkEpoch(c.Epoch); err != nil {
		return Command{}, err
	}
	if c.FromSeq == 0 || c.ToSeq < c.FromSeq {
		return Command{}, fieldErr(ReasonBadField, "to_seq", "need 1 <= from_seq <= to_seq, got %d..%d", c.FromSeq, c.ToSeq)
	}
	return c, nil
}

// Encode writes any message as single-line JSON.
func Encode(msg any) ([]byte, error) {
	b, err := json.Marshal(msg)
	if err != nil {
		return nil, fmt.Errorf("encode %T: %w", msg, err)
	}
	return b, nil
}

func clip(s string) string {
	if len(s) > 32 {
		return s[:32] + "…"
	}
	return s
}
