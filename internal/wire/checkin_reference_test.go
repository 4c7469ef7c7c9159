package wire

import (
	"regexp"
)

// This file keeps DecodeCheckIn as it was before the fast path and the
// byte-loop validators: encoding/json and regular expressions, then the
// rules of docs/DESIGN.md §15 that encoding/json does not apply (checkObject:
// duplicate and case-folded keys, null) and the seq bound. The tests
// hold the current implementation to it, result for result.

var (
	refSiteDeviceRe = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)
	refTokenRe      = regexp.MustCompile(`^[0-9A-Za-z_-]{1,64}$`)
	refReaderRe     = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)
	refBadgeRe      = regexp.MustCompile(`^[\x21-\x7e]{1,64}$`)
)

type refCheckInIn struct {
	V       *int    `json:"v"`
	ID      *string `json:"id"`
	Site    *string `json:"site"`
	Device  *string `json:"device"`
	Epoch   *string `json:"epoch"`
	Reader  *string `json:"reader"`
	Seq     *uint64 `json:"seq"`
	Badge   *string `json:"badge"`
	Service *string `json:"service"`
	Dir     *string `json:"dir"`
	At      *string `json:"at"`
}

func decodeCheckInReference(payload []byte) (CheckIn, error) {
	var in refCheckInIn
	if err := refDecodeStrict(payload, &in); err != nil {
		return CheckIn{}, err
	}
	if err := refCheckVersion(in.V); err != nil {
		return CheckIn{}, err
	}
	for _, f := range []struct {
		name string
		ok   bool
	}{
		{"id", in.ID != nil}, {"site", in.Site != nil}, {"device", in.Device != nil},
		{"reader", in.Reader != nil}, {"seq", in.Seq != nil}, {"badge", in.Badge != nil},
		{"service", in.Service != nil}, {"dir", in.Dir != nil}, {"at", in.At != nil},
	} {
		if !f.ok {
			return CheckIn{}, fieldErr(ReasonMissingField, f.name, "required")
		}
	}
	c := CheckIn{V: *in.V, ID: *in.ID, Site: *in.Site, Device: *in.Device, Reader: *in.Reader,
		Seq: *in.Seq, Badge: *in.Badge, Service: Service(*in.Service), Dir: Dir(*in.Dir), At: *in.At}
	if in.Epoch != nil {
		c.Epoch = *in.Epoch
	}
	return c, refValidateCheckIn(c)
}

func refValidateCheckIn(c CheckIn) error {
	if c.V != Version {
		return fieldErr(ReasonBadVersion, "v", "version %d is not supported", c.V)
	}
	if !refTokenRe.MatchString(c.ID) {
		return fieldErr(ReasonBadField, "id", "must be 1 to 64 letters, digits, '-' or '_' (a ULID)")
	}
	if !refSiteDeviceRe.MatchString(c.Site) {
		return fieldErr(ReasonBadField, "site", "must match %s", refSiteDeviceRe)
	}
	if !refSiteDeviceRe.MatchString(c.Device) {
		return fieldErr(ReasonBadField, "device", "must match %s", refSiteDeviceRe)
	}
	if c.Epoch != "" && !refTokenRe.MatchString(c.Epoch) {
		return fieldErr(ReasonBadField, "epoch", "must be at most 64 letters, digits, '-' or '_'")
	}
	if !refReaderRe.MatchString(c.Reader) {
		return fieldErr(ReasonBadField, "reader", "must match %s", refReaderRe)
	}
	if c.Seq == 0 || c.Seq > 1<<53-1 {
		return fieldErr(ReasonBadField, "seq", "must be from 1 to %d", uint64(1<<53-1))
	}
	if !refBadgeRe.MatchString(c.Badge) {
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

func refCheckVersion(v *int) error {
	if v == nil {
		return fieldErr(ReasonMissingField, "v", "required")
	}
	if *v != Version {
		return fieldErr(ReasonBadVersion, "v", "version %d is not supported (this hub speaks %d)", *v, Version)
	}
	return nil
}

// refDecodeStrict is the encoding/json path the fast scanner must agree
// with: the one the hub uses for every other message.
func refDecodeStrict(payload []byte, dst any) error { return decodeStrict(payload, dst) }
