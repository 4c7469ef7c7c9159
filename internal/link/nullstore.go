package link

import "github.com/eclipse/paho.mqtt.golang/packets"

// nullStore is a paho Store that keeps nothing. paho's own store is not a
// place for check-ins (READERS.md: it does not fsync, and CleanSession
// empties it); the agent's outbox republishes whatever the hub has not
// acknowledged after every reconnect, so paho has nothing to resume.
// Keeping nothing also avoids a data race in paho v1.5.1: on reconnect,
// resume() sets the DUP flag on stored packets that the previous
// connection's writer may still be serialising (seen under -race when a
// connection drops with publishes in flight).
type nullStore struct{}

func (nullStore) Open()                             {}
func (nullStore) Put(string, packets.ControlPacket) {}
func (nullStore) Get(string) packets.ControlPacket  { return nil }
func (nullStore) All() []string                     { return nil }
func (nullStore) Del(string)                        {}
func (nullStore) Close()                            {}
func (nullStore) Reset()                            {}
