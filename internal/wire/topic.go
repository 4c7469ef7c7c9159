package wire

import (
	"fmt"
	"strings"
)

// DefaultRoot is the default first topic level.
const DefaultRoot = "pointage"

// Topic kinds (the last topic level).
const (
	KindCheckIn = "checkin"
	KindStatus  = "status"
	KindAck     = "ack"
	KindCmd     = "cmd"
)

// Topic is a parsed pointage topic: {root}/v1/{site}/{device}/{kind}.
type Topic struct {
	Root, Site, Device, Kind string
}

// String builds the topic name.
func (t Topic) String() string {
	root := t.Root
	if root == "" {
		root = DefaultRoot
	}
	return root + "/v1/" + t.Site + "/" + t.Device + "/" + t.Kind
}

// DeviceTopic returns the topic of the given kind for one device under root
// ("" means DefaultRoot).
func DeviceTopic(root, site, device, kind string) string {
	return Topic{Root: root, Site: site, Device: device, Kind: kind}.String()
}

// Filter returns the subscription filter for one kind of every device,
// e.g. pointage/v1/+/+/checkin.
func Filter(root, kind string) string {
	if root == "" {
		root = DefaultRoot
	}
	return root + "/v1/+/+/" + kind
}

// ParseTopic parses and validates a topic under root ("" means DefaultRoot).
func ParseTopic(root, topic string) (Topic, error) {
	if root == "" {
		root = DefaultRoot
	}
	parts := strings.Split(topic, "/")
	if len(parts) != 5 || parts[0] != root || parts[1] != "v1" {
		return Topic{}, &Error{Reason: ReasonBadTopic, Msg: fmt.Sprintf("topic %q is not %s/v1/{site}/{device}/{kind}", topic, root)}
	}
	t := Topic{Root: root, Site: parts[2], Device: parts[3], Kind: parts[4]}
	if !ValidSiteOrDevice(t.Site) || !ValidSiteOrDevice(t.Device) {
		return Topic{}, &Error{Reason: ReasonBadTopic, Msg: fmt.Sprintf("topic %q: site and device must match %s", topic, siteDevicePattern)}
	}
	switch t.Kind {
	case KindCheckIn, KindStatus, KindAck, KindCmd:
	default:
		return Topic{}, &Error{Reason: ReasonBadTopic, Msg: fmt.Sprintf("topic %q: unknown kind %q", topic, t.Kind)}
	}
	return t, nil
}
