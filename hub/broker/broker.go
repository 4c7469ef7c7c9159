package broker

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"

	"pointage/internal/certfile"
	"pointage/internal/wire"
)

// DefaultMaxPayload is the largest payload a device may publish (docs/DESIGN.md §3).
const DefaultMaxPayload = 4096

// packetHeadroom is what a publish packet may carry besides its payload:
// topic (at most ~150 bytes under the default root), packet id, MQTT 5
// properties. Packets above MaxPayload+packetHeadroom are refused by mochi
// before it reads them.
const packetHeadroom = 1024

// Options configure the broker.
type Options struct {
	// Addr to listen on, like ":1883" or "127.0.0.1:0" (any free port).
	Addr string
	// TLSAddr, when not empty, adds a TLS listener (MQTT over TLS, like
	// ":8883") with TLSCertFile and TLSKeyFile (PEM; the certificate file
	// may hold the chain; a renewed pair is served without a restart).
	// TLS 1.2 at least. The plain listener on Addr stays.
	TLSAddr     string
	TLSCertFile string
	TLSKeyFile  string
	// AllowAll lets any client connect (anonymous too) and publish and
	// subscribe anywhere: development and demo only. It excludes Auth.
	AllowAll bool
	// Auth checks devices' user names and passwords; required unless
	// AllowAll. Each device may then publish only its own checkin and
	// status and subscribe only to its own ack and cmd.
	Auth Authenticator
	// TopicRoot is the first topic level, default "pointage".
	TopicRoot string
	// MaxPayload is the largest payload accepted from clients, default
	// 4096 bytes; the hub's own messages are not limited.
	MaxPayload int
	// OnOversize, if set, is told of each connection closed for a packet
	// over MaxPayload+1 KiB (unread: its topic is unknown), with the
	// device's site ("" if unknown) and id, and what happened, in English.
	// Payloads over MaxPayload within that limit are delivered (unretained)
	// for the hub to reject as too_large.
	OnOversize func(site, device, detail string)
	// LoginLimit bounds failed logins (see LoginLimit for the defaults).
	LoginLimit LoginLimit
	Logger     *slog.Logger
	// Now is the clock of the login limit; default time.Now.
	Now func() time.Time
}

// Broker is a running embedded MQTT broker.
type Broker struct {
	srv       *mqtt.Server
	ln        net.Listener
	tlsLn     net.Listener // nil without TLSAddr
	log       *slog.Logger
	hook      *authHook
	cancel    context.CancelFunc
	closeOnce sync.Once
}

// Handler receives a message published on a subscribed filter.
type Handler func(topic string, payload []byte)

// ClientHandler receives a message with the user name its publisher logged
// in with: "" for the hub's own messages and anonymous clients (AllowAll).
// A retained message delivered when the subscription is made carries the
// user of whoever holds its publisher's client id then, often "".
type ClientHandler func(topic string, payload []byte, username string)

// New listens on opts.Addr and prepares the broker; Serve starts it.
func New(opts Options) (*Broker, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.TopicRoot == "" {
		opts.TopicRoot = wire.DefaultRoot
	}
	if opts.MaxPayload == 0 {
		opts.MaxPayload = DefaultMaxPayload
	}
	switch {
	case opts.AllowAll && opts.Auth != nil:
		return nil, errors.New("broker: AllowAll and Auth exclude each other")
	case !opts.AllowAll && opts.Auth == nil:
		return nil, errors.New("broker: no authenticator (Auth) and not AllowAll")
	case len(opts.TopicRoot) > 64 || strings.ContainsAny(opts.TopicRoot, "/+#"):
		return nil, fmt.Errorf("broker: topic root %q must be one topic level of at most 64 bytes", opts.TopicRoot)
	case opts.MaxPayload < 0:
		return nil, fmt.Errorf("broker: MaxPayload %d is negative", opts.MaxPayload)
	}

	// mochi logs every dropped client connection at WARN ("read connection:
	// EOF"): normal for devices on school networks, so only its errors
	// reach the hub's log. The broker's own refusals are logged here.
	mochiLog := slog.New(minLevel{opts.Logger.Handler(), slog.LevelError}).With("component", "mqtt")
	srv := mqtt.New(&mqtt.Options{InlineClient: true, Logger: mochiLog})
	// QoS 1 messages in flight per client: READERS.md - do not crawl.
	srv.Options.Capabilities.ReceiveMaximum = 1024
	srv.Options.Capabilities.MaximumInflight = 1024 * 8
	// Refuse oversized packets before mochi allocates and reads them: the
	// client's connection is closed (MQTT 3.1.1 has no reason code).
	srv.Options.Capabilities.MaximumPacketSize = uint32(opts.MaxPayload + packetHeadroom)

	ctx, cancel := context.WithCancel(context.Background())
	hook := &authHook{
		srv:        srv,
		log:        opts.Logger.With("component", "mqtt_auth"),
		ctx:        ctx,
		allowAll:   opts.AllowAll,
		auth:       opts.Auth,
		root:       opts.TopicRoot,
		maxPayload: opts.MaxPayload,
		onOversize: opts.OnOversize,
		limiter:    newLimiter(opts.LoginLimit),
		now:        opts.Now,
		sites:      make(map[string]string),
		loggedAt:   make(map[string]time.Time),
	}
	if err := srv.AddHook(hook, nil); err != nil {
		cancel()
		return nil, fmt.Errorf("broker: %w", err)
	}
	var tlsConf *tls.Config
	if opts.TLSAddr != "" {
		if opts.TLSCertFile == "" || opts.TLSKeyFile == "" {
			cancel()
			return nil, errors.New("broker: a TLS listener needs a certificate and a key file")
		}
		certs, err := certfile.New(opts.TLSCertFile, opts.TLSKeyFile, opts.Logger.With("listener", "mqtt-tls"))
		if err != nil {
			cancel()
			return nil, fmt.Errorf("broker: TLS certificate: %w", err)
		}
		tlsConf = certs.Config() // a renewed pair is served without a restart
	}
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("broker: listen on %s: %w", opts.Addr, err)
	}
	if err := srv.AddListener(listeners.NewNet("tcp", ln)); err != nil {
		cancel()
		ln.Close()
		return nil, fmt.Errorf("broker: %w", err)
	}
	var tlsLn net.Listener
	if tlsConf != nil {
		raw, err := net.Listen("tcp", opts.TLSAddr)
		if err != nil {
			cancel()
			ln.Close()
			return nil, fmt.Errorf("broker: listen on %s (TLS): %w", opts.TLSAddr, err)
		}
		// The handshake runs on the client's first read, in mochi's
		// per-client goroutine: a slow or plain-TCP client blocks nobody.
		tlsLn = tls.NewListener(raw, tlsConf)
		if err := srv.AddListener(listeners.NewNet("tls", tlsLn)); err != nil {
			cancel()
			ln.Close()
			raw.Close()
			return nil, fmt.Errorf("broker: %w", err)
		}
	}
	return &Broker{srv: srv, ln: ln, tlsLn: tlsLn, log: opts.Logger, hook: hook, cancel: cancel}, nil
}

// Addr is the address the broker listens on.
func (b *Broker) Addr() string { return b.ln.Addr().String() }

// TLSAddr is the address of the TLS listener, "" without one.
func (b *Broker) TLSAddr() string {
	if b.tlsLn == nil {
		return ""
	}
	return b.tlsLn.Addr().String()
}

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
	b.log.Info("mqtt broker listening", "addr", b.Addr(), "tls_addr", b.TLSAddr(), "allow_all", b.hook.allowAll,
		"topic_root", b.hook.root, "max_payload", b.hook.maxPayload)
	return b.srv.Serve()
}

// Subscribe delivers every message matching filter to h, in-process.
func (b *Broker) Subscribe(filter string, id int, h Handler) error {
	return b.srv.Subscribe(filter, id, func(_ *mqtt.Client, _ packets.Subscription, pk packets.Packet) {
		h(pk.TopicName, pk.Payload)
	})
}

// SubscribeClient is Subscribe with the publisher's user name, so the hub
// can check it against the topic (the broker already does for devices).
func (b *Broker) SubscribeClient(filter string, id int, h ClientHandler) error {
	return b.srv.Subscribe(filter, id, func(_ *mqtt.Client, _ packets.Subscription, pk packets.Packet) {
		user := ""
		if pk.Origin != mqtt.InlineClientId {
			if cl, ok := b.srv.Clients.Get(pk.Origin); ok {
				user = string(cl.Properties.Username)
			}
		}
		h(pk.TopicName, pk.Payload, user)
	})
}

// Unsubscribe removes an in-process subscription made with Subscribe or
// SubscribeClient.
func (b *Broker) Unsubscribe(filter string, id int) error {
	return b.srv.Unsubscribe(filter, id)
}

// Publish sends a message from the hub (QoS 1).
func (b *Broker) Publish(topic string, payload []byte, retained bool) error {
	return b.srv.Publish(topic, payload, retained, 1)
}

// Disconnect closes the sessions of a device (its credentials were
// revoked) and returns how many it closed. The device's reconnection must
// then pass the login again.
func (b *Broker) Disconnect(device string) int {
	return b.DisconnectBefore(device, time.Now().Add(time.Hour))
}

// DisconnectBefore closes device's sessions that logged in before t (wall
// clock): those of credentials revoked at t, not one opened since with the
// new ones. It returns how many it closed.
func (b *Broker) DisconnectBefore(device string, t time.Time) int {
	n := 0
	for _, cl := range b.srv.Clients.GetAll() {
		if cl.Net.Inline || string(cl.Properties.Username) != device {
			continue
		}
		if at, ok := b.hook.loggedIn.Load(cl); ok && !at.(time.Time).Before(t) {
			continue
		}
		if err := b.srv.DisconnectClient(cl, packets.ErrNotAuthorized); err != nil {
			b.log.Warn("could not close a revoked device's session", "device", device, "client", cl.ID, "err", err)
			continue
		}
		n++
	}
	return n
}

// Stats returns what the broker has refused since it started.
func (b *Broker) Stats() Stats { return b.hook.snapshot() }

// Close stops the broker. Twice is harmless.
func (b *Broker) Close() error {
	var err error
	b.closeOnce.Do(func() {
		b.cancel()
		err = b.srv.Close()
	})
	return err
}

// minLevel drops records below a level.
type minLevel struct {
	slog.Handler
	level slog.Level
}

func (m minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= m.level && m.Handler.Enabled(ctx, l)
}

func (m minLevel) WithAttrs(attrs []slog.Attr) slog.Handler {
	return minLevel{m.Handler.WithAttrs(attrs), m.level}
}

func (m minLevel) WithGroup(name string) slog.Handler {
	return minLevel{m.Handler.WithGroup(name), m.level}
}
