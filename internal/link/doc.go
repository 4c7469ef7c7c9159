// Package link is an MQTT client connection and the one home of
// github.com/eclipse/paho.mqtt.golang (agent, and hub with an external broker). It connects with a
// retained last will, reconnects within seconds, resubscribes on every
// connect and hands incoming messages to the caller without blocking paho.
//
// A publish that completes is not proof of delivery (paho issue 563): the
// agent keeps events pending until the hub's Ack, and link only reports
// whether the broker took the message.
package link
