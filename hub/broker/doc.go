// Package broker is the hub's embedded MQTT broker and the one home of
// github.com/mochi-mqtt/server/v2. It listens on TCP, lets the hub publish
// and subscribe in-process (mochi's inline client) and takes an
// authenticator that decides who may connect and where they may publish.
//
// This first version only knows AllowAll, for the demo and development; the
// device identity rules of DESIGN §3 come with the hub ingest work.
package broker
