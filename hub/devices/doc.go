// Package devices is the hub's device registry (docs/DESIGN.md §3 "Device
// identity", §7 "devices add", "devices list", "broker-config"): which
// devices exist, at which site, and how each proves who it is.
//
// A device id is its MQTT user name, unique across sites; ids and sites
// match ^[a-z0-9][a-z0-9-]{0,62}$. The table devices lives in the hub's
// SQLite database (hub.db, opened by pointage/hub/db) and is created by New.
//
// Passwords are never stored. Add and SetPassword keep two hashes of each:
//
//   - bcrypt (cost 10, 50-100 ms a check) for the hub's own check, Verify,
//     used by the embedded broker through Authenticate
//     (Registry satisfies broker.Authenticator without this package
//     importing the broker);
//   - mosquitto's $7$ (PBKDF2-SHA512, 101 iterations, 12-byte salt, as
//     mosquitto_passwd 2.x writes it), so WriteMosquittoConfig can write
//     an external mosquitto's password file without knowing the passwords.
//
// An empty password asks for a generated one (26 base32 characters, 128
// bits), returned once for the command to print. A chosen one has at least
// 8 characters and at most 72 bytes (bcrypt ignores the rest), with no line
// break: the command strips the newline of --password-stdin.
//
// Verify remembers a successful check for five minutes (at most one entry
// per device, 10000 entries), keyed by the device and an HMAC-SHA-256 of
// the password under a key drawn at start-up, compared in constant time:
// a reconnect storm of every school after a network outage costs one bcrypt
// per device, not one per attempt. Failures are never cached, and
// SetPassword forgets the device's entry. An unknown device costs a bcrypt
// too, so response times do not tell which ids exist. Rate-limiting failed
// logins is the broker's job (hub/broker LoginLimit).
//
// Enrolment codes (docs/DESIGN.md §14): Enrol registers a device and Renew
// gives it a new password, each with an enrolment code in the same
// transaction, returned once with the password. A code is 12 characters
// of an alphabet without 0/O, 1/I/L, shown as ABCD-EFGH-JKMN and read
// whatever its case, dashes and spaces; hub.db keeps its SHA-256 (table
// enrolment_codes, schema version 3), one per device: a new code replaces
// the previous one, removing the device removes it. Redeem checks and
// consumes a code atomically: valid CodeValidity (7 days), usable once
// (ErrCodeUnknown, ErrCodeUsed, ErrCodeExpired).
//
// WriteMosquittoConfig writes DIR/passwd (0600) and DIR/acl (0644) for
// "pointage-hub broker-config mosquitto --out DIR": each device may publish
// only its own checkin and status and read only its own ack and cmd; the
// hub's account, HubUser ("pointage-hub"), reads every checkin and status and
// writes every ack and cmd. The operator creates that account with
// mosquitto_passwd -c before the first writing (mosquitto_passwd 2.0 takes
// the comments written here for corruption); lines of users that are not
// devices are kept when the files are written again, and the device lines
// of the previous writing are dropped (a removed device's line goes). The
// files written again keep their permissions. With --mosquitto-dir the
// running hub writes them after each change made in the dashboard.
// Checked against mosquitto 2.0.11: it accepts the comments in both files;
// on a reload (SIGHUP) it disconnects the clients whose password no longer
// matches (a device removed, or given a new password); it grants a
// device's subscription to pointage/v1/# but delivers only what the ACL
// lets it read; it acknowledges a forbidden QoS 1 publish and drops it; it
// accepts a will on another device's topic at connect and drops it when the
// connection dies (the ACL is checked when the will would be sent).
package devices
