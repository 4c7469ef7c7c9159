// Package broker is the hub's embedded MQTT broker and the one home of
// github.com/mochi-mqtt/server/v2. It listens on TCP, lets the hub publish
// and subscribe in-process (mochi's inline client, never subject to the
// rules below) and enforces docs/DESIGN.md §3's device identity.
//
// With Options.Auth (an Authenticator such as *devices.Registry), every
// client logs in with a device id as user name and its password; the
// broker remembers the device's site and allows it to:
//
//   - publish only {root}/v1/{site}/{device}/checkin and .../status;
//   - subscribe only to {root}/v1/{site}/{device}/ack and .../cmd, exactly
//     (no wildcard, no $share), and receive nothing else.
//
// What a client sees when refused (MQTT 3.1.1, as paho speaks it):
//
//   - bad or missing credentials, a client id containing + or # or equal
//     to mochi's "inline", a client id held by another user's session, or
//     a last will on a topic the device may not publish: CONNACK 5 "not
//     authorized" (MQTT 5: 0x86 "bad user name or password"; mochi has no
//     other refusal code here);
//   - a QoS 0 publish elsewhere: dropped silently; QoS 1 or 2: mochi closes
//     the connection (MQTT 5 clients get a PUBACK "not authorized");
//   - a subscription elsewhere: SUBACK 0x80 for that filter;
//   - a payload over MaxPayload (4 KiB) but within MaxPayload+1 KiB: PUBACK
//     as usual, and the message goes on to the hub, never retained, for
//     ingest to record as a too_large rejection (docs/DESIGN.md §15: used or
//     rejected with its reason, never lost unrecorded); a larger packet:
//     mochi closes the connection before reading it (MaximumPacketSize),
//     so memory stays bounded, and Options.OnOversize is told the device
//     (the hub records that as a too_large rejection with an empty payload
//     and no topic). Both are counted in Stats; the first is logged at most
//     once a minute per device. The hub's own messages have no limit;
//   - too many failed logins (LoginLimit: by default 10 a minute from one
//     address with one user name, or 100 from one address whatever the
//     names): refused for a minute without the password being checked.
//     Counting per address and user name first keeps one misconfigured
//     device from locking out the other devices of its school, which
//     usually share one public address.
//
// mochi v2.7.9 does not check last wills against the ACL (it publishes
// them directly), and its OnWill hook cannot cancel one, so the will is
// checked when the client connects: a device whose will is not on its own
// checkin or status is refused, as is a will payload over MaxPayload. When a
// device logs in again with the client id of a session the broker still
// holds (its old connection died unnoticed), mochi closes the old
// connection; the old will is dropped, so a stale "offline" does not follow
// the new connection's "online".
//
// With AllowAll (demo and development), anyone may connect, anonymous or
// not, and publish or subscribe anywhere; the client id, will size and
// packet size rules still apply.
//
// SubscribeClient passes the publisher's user name with each message, for
// the hub to cross-check with the topic; Stats counts refusals since start.
package broker
