// Package hub wires pointage-hub together: the state database, the device
// registry, the time-series store, the embedded broker or a client of an
// external one, the ingest pipeline and the HTTP server (/healthz,
// /metrics; the API and dashboard come with later work).
package hub
