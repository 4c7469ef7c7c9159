// Package agent is pointage-agent's core: it reads badge scans from the
// readers (package reader), commits each one to the durable outbox (package
// outbox) before the reader's "accepted" feedback, publishes pending events
// over MQTT (package link) until the hub's Ack covers them, answers resend
// commands from the kept history and publishes the device's retained status.
package agent
