package broker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"pointage/hub/auth"
	"pointage/internal/wire"
)

// Authenticator checks a device's MQTT credentials: the user name is the
// device id, and the answer is the site the device belongs to.
// (*devices.Registry).Authenticate is one.
type Authenticator interface {
	Authenticate(ctx context.Context, username, password string) (site string, ok bool)
}

// Stats counts what the broker refused, since it started.
type Stats struct {
	LoginsRefused   int64 // bad or missing credentials, bad client ids, wills elsewhere, client ids held by another user
	LoginsThrottled int64 // refused by LoginLimit, password unchecked
	WritesDenied    int64 // publishes outside the device's own checkin and status
	ReadsDenied     int64 // subscriptions (and deliveries) outside the device's own ack and cmd
	// Publishes with a payload over MaxPayload, within the packet limit:
	// passed on unretained, for the hub to record as too_large.
	OversizePayloads int64
	// Packets over the packet limit: the connection is closed unread.
	OversizePackets int64
}

type counters struct {
	loginsRefused, loginsThrottled, writesDenied, readsDenied, oversizePayloads, oversizePackets atomic.Int64
}

// authHook is the mochi hook that enforces docs/DESIGN.md §3's device identity.
type authHook struct {
	mqtt.HookBase
	srv        *mqtt.Server
	log        *slog.Logger
	ctx        context.Context // ends when the broker closes
	allowAll   bool
	auth       Authenticator
	root       string
	maxPayload int
	onOversize func(site, device, detail string)
	limiter    *auth.Limiter
	now        func() time.Time
	stats      counters

	mu    sync.RWMutex
	sites map[string]string // device (user name) -> site, for authenticated devices
	// Bounded by the number of devices the Authenticator accepts.

	takenOver sync.Map // *mqtt.Client whose session another connection took over -> struct{}
	loggedIn  sync.Map // *mqtt.Client -> time.Time (wall clock) it authenticated: DisconnectBefore

	logMu    sync.Mutex
	loggedAt map[string]time.Time // device -> last denial logged, at most one a minute
}

func (h *authHook) ID() string { return "pointage-device-identity" }

func (h *authHook) Provides(b byte) bool {
	return bytes.Contains([]byte{mqtt.OnConnectAuthenticate, mqtt.OnACLCheck, mqtt.OnPublish, mqtt.OnWill, mqtt.OnDisconnect}, []byte{b})
}

// OnConnectAuthenticate decides whether a client may connect.
func (h *authHook) OnConnectAuthenticate(cl *mqtt.Client, pk packets.Packet) bool {
	c := pk.Connect
	user := string(c.Username)
	log := h.log.With("client", cl.ID, "remote", cl.Net.Remote, "username", user)
	refuse := func(reason string, attrs ...any) bool {
		h.stats.loginsRefused.Add(1)
		log.Warn("mqtt login refused", append([]any{"reason", reason}, attrs...)...)
		return false
	}
	if strings.ContainsAny(cl.ID, "+#") {
		return refuse("client id contains + or #")
	}
	if cl.ID == mqtt.InlineClientId {
		return refuse("client id is reserved for the hub")
	}
	if c.WillFlag && len(c.WillPayload) > h.maxPayload {
		return refuse("last will payload is larger than the maximum payload", "bytes", len(c.WillPayload))
	}
	if h.allowAll {
		h.takeOver(cl.ID)
		return true
	}

	ip := remoteIP(cl.Net.Remote)
	if !h.limiter.Allowed(ip, user, h.now()) {
		h.stats.loginsThrottled.Add(1)
		log.Debug("mqtt login refused: too many failed logins")
		return false
	}
	site, ok := "", false
	if user != "" && c.PasswordFlag {
		ctx, cancel := context.WithTimeout(h.ctx, 10*time.Second)
		site, ok = h.auth.Authenticate(ctx, user, string(c.Password))
		cancel()
	}
	if !ok || !wire.ValidSiteOrDevice(user) || !wire.ValidSiteOrDevice(site) {
		if h.limiter.Fail(ip, user, h.now()) {
			log.Warn("too many failed mqtt logins: refusing for a while without checking passwords",
				"ip", ip, "per_user", h.limiter.PerUser, "per_ip", h.limiter.PerIP, "window", h.limiter.Window)
		}
		if user == "" || !c.PasswordFlag {
			return refuse("no user name or password")
		}
		return refuse("bad user name or password")
	}
	log = log.With("site", site, "device", user)
	if c.WillFlag && !h.mayWrite(site, user, c.WillTopic) {
		return refuse("last will outside the device's own checkin and status", "will_topic", c.WillTopic)
	}
	if old, ok := h.srv.Clients.Get(cl.ID); ok && string(old.Properties.Username) != user {
		return refuse("client id is held by another user", "holder", string(old.Properties.Username))
	}
	h.takeOver(cl.ID)
	h.loggedIn.Store(cl, time.Now())
	h.mu.Lock()
	h.sites[user] = site
	h.mu.Unlock()
	log.Debug("device authenticated")
	return true
}

// takeOver runs when a client logs in with the client id of a session that
// is still there: the same device reconnecting before the broker noticed its
// old connection had died. mochi closes the old connection next and would
// send its will, an "offline" status arriving after the new connection's
// "online"; the old will is dropped instead.
func (h *authHook) takeOver(clientID string) {
	if old, ok := h.srv.Clients.Get(clientID); ok && !old.Net.Inline {
		// Marked, not changed: mochi writes the old client's will without
		// atomics as its connection ends, so clearing the flag from here
		// raced with it. OnWill drops the will of a marked client.
		h.takenOver.Store(old, struct{}{})
	}
}

// droppedWillTopic is where the will of a taken-over session goes: a
// topic no wildcard matches ($-topics) and no device may subscribe to.
const droppedWillTopic = "$pointage/dropped-will"

// OnWill drops the will of a session another connection of the same
// device took over (takeOver): mochi's hook cannot cancel a will, so it
// is sent nowhere and not retained.
func (h *authHook) OnWill(cl *mqtt.Client, will mqtt.Will) (mqtt.Will, error) {
	if _, ok := h.takenOver.Load(cl); ok {
		will.TopicName, will.Retain = droppedWillTopic, false
	}
	return will, nil
}

// OnACLCheck allows a device to write its own checkin and status, and to
// read its own ack and cmd (exact topics: no wildcard filter is equal to
// them). mochi asks it for publishes, for subscriptions and again for each
// delivery; never for the hub's inline client, which it lets through.
func (h *authHook) OnACLCheck(cl *mqtt.Client, topic string, write bool) bool {
	if cl.Net.Inline || h.allowAll {
		return true
	}
	user := string(cl.Properties.Username)
	h.mu.RLock()
	site, ok := h.sites[user]
	h.mu.RUnlock()
	if ok && (write && h.mayWrite(site, user, topic) || !write && h.mayRead(site, user, topic)) {
		return true
	}
	what := "subscribe"
	if write {
		h.stats.writesDenied.Add(1)
		what = "publish"
	} else {
		h.stats.readsDenied.Add(1)
	}
	if h.logNow(user) {
		h.log.Warn("mqtt "+what+" denied (logged at most once a minute per device)",
			"site", site, "device", user, "client", cl.ID, "topic", topic)
	}
	return false
}

// OnPublish lets a payload larger than maxPayload (within the packet
// limit) through to the hub, which records it as a too_large rejection
// (docs/DESIGN.md §15: every message is used or rejected with its reason), but
// never retains it. Larger packets make mochi close the connection before
// reading them (Capabilities.MaximumPacketSize): see OnDisconnect.
func (h *authHook) OnPublish(cl *mqtt.Client, pk packets.Packet) (packets.Packet, error) {
	if cl.Net.Inline || len(pk.Payload) <= h.maxPayload {
		return pk, nil
	}
	h.stats.oversizePayloads.Add(1)
	user := string(cl.Properties.Username)
	if h.logNow("size\x00" + user) {
		h.log.Warn("mqtt message too large: passed to the hub to be rejected, not retained (logged at most once a minute per device)",
			"device", user, "client", cl.ID, "topic", pk.TopicName, "bytes", len(pk.Payload), "max_bytes", h.maxPayload)
	}
	pk.FixedHeader.Retain = false
	return pk, nil
}

// OnDisconnect reports a connection mochi closed for a packet over the
// packet limit: the packet was not read, so its topic and payload are
// unknown, but the device is, and the hub records the refusal.
func (h *authHook) OnDisconnect(cl *mqtt.Client, err error, _ bool) {
	h.takenOver.Delete(cl) // its will, if any, is sent (or dropped) by now
	h.loggedIn.Delete(cl)
	if cl.Net.Inline || !errors.Is(err, packets.ErrPacketTooLarge) {
		return
	}
	h.stats.oversizePackets.Add(1)
	device := string(cl.Properties.Username)
	if device == "" { // AllowAll: an anonymous client is known by its client id
		device = cl.ID
	}
	h.mu.RLock()
	site := h.sites[device]
	h.mu.RUnlock()
	h.log.Warn("mqtt connection closed: packet too large", "site", site, "device", device, "client", cl.ID,
		"max_bytes", h.maxPayload+packetHeadroom)
	if h.onOversize != nil {
		h.onOversize(site, device, fmt.Sprintf("a packet of more than %d bytes: the broker closed the connection without reading it (payloads are at most %d bytes)",
			h.maxPayload+packetHeadroom, h.maxPayload))
	}
}

func (h *authHook) deviceTopic(site, device, kind string) string {
	return wire.DeviceTopic(h.root, site, device, kind)
}

func (h *authHook) mayWrite(site, device, topic string) bool {
	return topic == h.deviceTopic(site, device, wire.KindCheckIn) ||
		topic == h.deviceTopic(site, device, wire.KindStatus)
}

func (h *authHook) mayRead(site, device, topic string) bool {
	return topic == h.deviceTopic(site, device, wire.KindAck) ||
		topic == h.deviceTopic(site, device, wire.KindCmd)
}

// logNow reports whether a denial for key may be logged: once a minute.
// The map holds one entry per device (plus a few kinds), so it stays small;
// it is emptied if it ever grows past 10000 keys.
func (h *authHook) logNow(key string) bool {
	now := h.now()
	h.logMu.Lock()
	defer h.logMu.Unlock()
	if last, ok := h.loggedAt[key]; ok && now.Sub(last) < time.Minute {
		return false
	}
	if len(h.loggedAt) >= 10000 {
		clear(h.loggedAt)
	}
	h.loggedAt[key] = now
	return true
}

func (h *authHook) snapshot() Stats {
	return Stats{
		LoginsRefused:    h.stats.loginsRefused.Load(),
		LoginsThrottled:  h.stats.loginsThrottled.Load(),
		WritesDenied:     h.stats.writesDenied.Load(),
		ReadsDenied:      h.stats.readsDenied.Load(),
		OversizePayloads: h.stats.oversizePayloads.Load(),
		OversizePackets:  h.stats.oversizePackets.Load(),
	}
}

func remoteIP(remote string) string {
	if host, _, err := net.SplitHostPort(remote); err == nil {
		return host
	}
	return remote
}
