package broker

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"
)

// Options configure the broker.
type Options struct {
	// Addr to listen on, like ":1883" or "127.0.0.1:0" (any free port).
	Addr string
	// AllowAll lets any client connect and publish anywhere: development
	// and demo only.
	AllowAll bool
	Logger   *slog.Logger
}

// Broker is a running embedded MQTT broker.
type Broker struct {
	srv       *mqtt.Server
	ln        net.Listener
	log       *slog.Logger
	closeOnce sync.Once
}

// Handler receives a message published on a subscribed filter.
type Handler func(topic string, payload []byte)

// New listens on opts.Addr and prepares the broker; Serve starts it.
func New(opts Options) (*Broker, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if !opts.AllowAll {
		return nil, errors.New("broker: no authenticator configured (only AllowAll exists yet)")
	}
	srv := mqtt.New(&mqtt.Options{InlineClient: true, Logger: opts.Logger.With("component", "mqtt")})
	// QoS 1 messages in flight per client: READERS.md - do not crawl.
	srv.Options.Capabilities.ReceiveMaximum = 1024
	srv.Options.Capabilities.MaximumInflight = 1024 * 8
	if err := srv.AddHook(new(auth.AllowHook), nil); err != nil {
		return nil, fmt.Errorf("broker: %w", err)
	}
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("broker: listen on %s: %w", opts.Addr, err)
	}
	if err := srv.AddListener(listeners.NewNet("tcp", ln)); err != nil {
		ln.Close()
		return nil, fmt.Errorf("broker: %w", err)
	}
	return &Broker{srv: srv, ln: ln, log: opts.Logger}, nil
}

// Addr is the address the broker listens on.
func (b *Broker) Addr() string { return b.ln.Addr().String() }

// URL is the broker's tcp:// URL, with a loopback host when it listens on
// every interface, so local clients can use it as it is.
func (b *Broker) URL() string {
	addr := b.ln.Addr().(*net.TCPAddr)
	host := addr.IP.String()
	if addr.IP.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "tcp://" + net.JoinHostPort(host, fmt.Sprint(addr.Port))
}

// Serve starts accepting clients; it returns at once.
func (b *Broker) Serve() error {
	b.log.Info("mqtt broker listening", "addr", b.Addr())
	return b.srv.Serve()
}

// Subscribe delivers every message matching filter to h, in-process.
func (b *Broker) Subscribe(filter string, id int, h Handler) error {
	return b.srv.Subscribe(filter, id, func(_ *mqtt.Client, _ packets.Subscription, pk packets.Packet) {
		h(pk.TopicName, pk.Payload)
	})
}

// Publish sends a message from the hub (QoS 1).
func (b *Broker) Publish(topic string, payload []byte, retained bool) error {
	return b.srv.Publish(topic, payload, retained, 1)
}

// Close stops the broker. Twice is harmless.
func (b *Broker) Close() error {
	var err error
	b.closeOnce.Do(func() { err = b.srv.Close() })
	return err
}
