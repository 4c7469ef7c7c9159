// Package wire owns pointage's MQTT contract (docs/DESIGN.md §3): topic names, the
// CheckIn, Status, Ack and Command payloads, and their strict validation.
//
// The agent and the hub both import it, so the contract is written once.
// Decoding is strict: a payload larger than MaxPayload, with unknown fields,
// wrong types, a missing required field, a wrong version, an identifier that
// does not match its pattern or a time without an offset is refused with an
// *Error whose Reason is a short stable code, fit for a metric label.
package wire
