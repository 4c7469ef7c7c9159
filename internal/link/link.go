package link

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// ErrNotConnected is returned by Publish while the broker is unreachable.
var ErrNotConnected = errors.New("not connected to the MQTT broker")

// Message is one message received on a subscribed topic.
type Message struct {
	Topic   string
	Payload []byte
}

// Options configure a Link.
type Options struct {
	URL      string
	ClientID string
	Username string
	Password string
	// CAFile is the PEM bundle that signs a TLS broker's certificate
	// (ssl://, tls://, mqtts://, wss://); empty = the system's roots. It is
	// refused with a plain URL. The broker's certificate is always
	// verified (there is no option to skip that), with TLS 1.2 at least.
	CAFile string

	WillTopic   string // retained last will, QoS 1
	WillPayload []byte

	Subscribe []string // QoS 1, renewed on every connect

	// OnConnect runs (in its own goroutine) after each successful connect
	// and subscribe; OnDisconnect after a lost connection.
	OnConnect    func()
	OnDisconnect func(err error)

	// Messages receives what arrives on Subscribe topics. The link blocks
	// (not paho) when it is full, so size it for bursts. Nothing is sent on
	// it once Close has returned: its owner may close it then.
	Messages chan<- Message
	// OnMessage, when set, takes what arrives instead of Messages: it is
	// called on paho's goroutine of each message, with a payload valid
	// only during the call; it may block (paho then holds the PUBACK).
	OnMessage func(topic string, payload []byte)
	// Inline delivers each message on paho's one dispatching goroutine, in
	// the order it arrived, instead of a goroutine per message: a handler
	// that blocks then holds back the connection (the broker keeps what
	// follows in its queue for this client), where the default lets
	// goroutines pile up, one per message (paho does not wait for the
	// broker's in-flight window: 88,000 of them, 148 MiB of stacks, in a
	// city month's ingest). A handler held longer than KeepAlive plus the
	// ping timeout loses the connection (paho no longer reads the broker's
	// answer to its ping), and with it the messages the broker had queued:
	// fine for the hub, whose agents publish again what has no Ack. Inline
	// handlers must not wait for anything the connection brings (a PUBACK,
	// another message): nothing arrives while they wait.
	Inline bool

	ConnectTimeout       time.Duration // default 5 s
	MaxReconnectInterval time.Duration // default 5 s (paho's is 10 min)
	KeepAlive            time.Duration // default 15 s
	Logger               *slog.Logger
}

// Link is a live MQTT connection.
type Link struct {
	opts      Options
	client    mqtt.Client
	log       *slog.Logger
	connected atomic.Bool
	closeOnce sync.Once
	wg        sync.WaitGroup
	done      chan struct{}

	// delivering is held (read) by each message handed to Messages; Close
	// takes it to know none is under way, then sets closed: after Close
	// returns, nothing is sent on Messages, so its owner may close it.
	delivering sync.RWMutex
	closed     bool
}

// New validates the options and prepares the client; it does not connect.
func New(opts Options) (*Link, error) {
	if opts.URL == "" {
		return nil, errors.New("link: no broker URL")
	}
	if opts.ClientID == "" || strings.ContainsAny(opts.ClientID, "+#") {
		return nil, fmt.Errorf("link: client id %q is empty or contains + or #", opts.ClientID)
	}
	if opts.ConnectTimeout == 0 {
		opts.ConnectTimeout = 5 * time.Second
	}
	if opts.MaxReconnectInterval == 0 {
		opts.MaxReconnectInterval = 5 * time.Second
	}
	if opts.KeepAlive == 0 {
		opts.KeepAlive = 15 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	l := &Link{opts: opts, log: opts.Logger, done: make(chan struct{})}

	co := mqtt.NewClientOptions().
		AddBroker(opts.URL).
		SetClientID(opts.ClientID).
		SetUsername(opts.Username).
		SetPassword(opts.Password).
		SetProtocolVersion(4). // MQTT 3.1.1; no silent retry as 3.1 after a refused login
		SetCleanSession(true). // the outbox, not paho's store, holds what matters
		SetStore(nullStore{}).
		SetOrderMatters(opts.Inline).
		SetAutoReconnect(true).
		SetConnectRetry(true).
		SetConnectRetryInterval(2 * time.Second).
		SetMaxReconnectInterval(opts.MaxReconnectInterval).
		SetConnectTimeout(opts.ConnectTimeout).
		SetKeepAlive(opts.KeepAlive).
		SetPingTimeout(5 * time.Second).
		SetWriteTimeout(5 * time.Second).
		SetOnConnectHandler(l.onConnect).
		SetConnectionLostHandler(l.onLost).
		// One handler for every subscribed topic: paho then skips
		// matching each message against its routes (a strings.Split per
		// route and message).
		SetDefaultPublishHandler(l.onMessage)
	if u, err := url.Parse(opts.URL); err == nil && (u.Scheme == "tcp" || u.Scheme == "mqtt") && !proxyFromEnvironment() {
		co.SetCustomOpenConnectionFn(dialBuffered)
	}
	if opts.WillTopic != "" {
		co.SetBinaryWill(opts.WillTopic, opts.WillPayload, 1, true)
	}
	if IsTLSURL(opts.URL) {
		tc := &tls.Config{MinVersion: tls.VersionTLS12}
		if opts.CAFile != "" {
			pem, err := os.ReadFile(opts.CAFile)
			if err != nil {
				return nil, fmt.Errorf("link: read CA file: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("link: CA file %s holds no PEM certificate", opts.CAFile)
			}
			tc.RootCAs = pool
		}
		co.SetTLSConfig(tc)
	} else if opts.CAFile != "" {
		return nil, fmt.Errorf("link: a CA file is set but %q is not a TLS URL (ssl://, tls://, mqtts:// or wss://)", opts.URL)
	}
	l.client = mqtt.NewClient(co)
	return l, nil
}

// proxyFromEnvironment reports whether a SOCKS proxy is configured
// (all_proxy), which paho's own dialer honours and dialBuffered does not.
func proxyFromEnvironment() bool {
	return os.Getenv("all_proxy") != "" || os.Getenv("ALL_PROXY") != ""
}

// IsTLSURL reports whether a broker URL uses TLS: ssl://, tls://, mqtts://,
// mqtt+ssl://, tcps:// or wss:// (the schemes paho dials with TLS).
func IsTLSURL(url string) bool {
	scheme, _, ok := strings.Cut(url, "://")
	if !ok {
		return false
	}
	switch strings.ToLower(scheme) {
	case "ssl", "tls", "mqtts", "mqtt+ssl", "tcps", "wss":
		return true
	}
	return false
}

// Start begins connecting in the background (paho retries until it works).
func (l *Link) Start() {
	l.client.Connect() // with ConnectRetry the token only completes on success or Disconnect
}

// Connected reports whether the broker connection is up.
func (l *Link) Connected() bool { return l.connected.Load() }

func (l *Link) onConnect(c mqtt.Client) {
	subs := map[string]byte{}
	for _, t := range l.opts.Subscribe {
		subs[t] = 1
	}
	if len(subs) > 0 {
		tok := c.SubscribeMultiple(subs, nil) // to the default handler, onMessage
		if !tok.WaitTimeout(l.opts.ConnectTimeout) || tok.Error() != nil {
			l.log.Warn("mqtt subscribe failed; reconnecting", "err", tok.Error())
			// Force a reconnect so the subscription is retried.
			go c.Disconnect(0)
			return
		}
	}
	l.connected.Store(true)
	l.log.Info("mqtt connected", "url", l.opts.URL)
	if l.opts.OnConnect != nil {
		l.wg.Add(1)
		go func() { defer l.wg.Done(); l.opts.OnConnect() }()
	}
}

func (l *Link) onLost(_ mqtt.Client, err error) {
	l.connected.Store(false)
	l.log.Warn("mqtt connection lost; reconnecting", "err", err)
	if l.opts.OnDisconnect != nil {
		l.opts.OnDisconnect(err)
	}
}

func (l *Link) onMessage(_ mqtt.Client, m mqtt.Message) {
	if l.opts.OnMessage != nil {
		l.opts.OnMessage(m.Topic(), m.Payload())
		return
	}
	if l.opts.Messages == nil {
		return
	}
	msg := Message{Topic: m.Topic(), Payload: append([]byte(nil), m.Payload()...)}
	l.delivering.RLock()
	defer l.delivering.RUnlock()
	if l.closed {
		return
	}
	select {
	case l.opts.Messages <- msg:
	case <-l.done:
	}
}

// Publish sends one message at QoS 1 and waits until the broker took it
// (PUBACK), the context ends or the timeout passes.
func (l *Link) Publish(ctx context.Context, topic string, payload []byte, retained bool) error {
	return l.PublishAll(ctx, []Outgoing{{Topic: topic, Payload: payload, Retained: retained}})
}

// Send hands one message to paho at QoS 1 without waiting for the broker's
// PUBACK: for messages whose loss costs only a repeat (the hub's Acks: an
// agent without its Ack publishes again and gets it then), so the sender
// is not held for a round trip through a busy broker.
func (l *Link) Send(topic string, payload []byte, retained bool) error {
	if !l.client.IsConnectionOpen() {
		return ErrNotConnected
	}
	l.client.Publish(topic, 1, retained, payload)
	return nil
}

// Outgoing is one message of a PublishAll batch.
type Outgoing struct {
	Topic    string
	Payload  []byte
	Retained bool
}

// PublishAll sends the messages in order at QoS 1, keeping them all in
// flight at once, and waits for every PUBACK. It stops at the first error.
func (l *Link) PublishAll(ctx context.Context, msgs []Outgoing) error {
	if !l.client.IsConnectionOpen() {
		return ErrNotConnected
	}
	toks := make([]mqtt.Token, 0, len(msgs))
	for _, m := range msgs {
		toks = append(toks, l.client.Publish(m.Topic, 1, m.Retained, m.Payload))
	}
	deadline := time.Now().Add(10 * time.Second)
	for _, tok := range toks {
		select {
		case <-tok.Done():
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Until(deadline)):
			return errors.New("mqtt publish: no PUBACK within 10s")
		}
		if err := tok.Error(); err != nil {
			return fmt.Errorf("mqtt publish: %w", err)
		}
	}
	return nil
}

// Close publishes the final payload (usually the retained offline status,
// since a clean disconnect sends no will), then disconnects. Twice is harmless.
func (l *Link) Close(finalTopic string, finalPayload []byte) {
	l.closeOnce.Do(func() {
		if finalTopic != "" && l.client.IsConnectionOpen() {
			tok := l.client.Publish(finalTopic, 1, true, finalPayload)
			tok.WaitTimeout(2 * time.Second)
		}
		close(l.done)
		l.client.Disconnect(250)
		l.connected.Store(false)
		l.wg.Wait()
		l.delivering.Lock() // deliveries under way end: done is closed
		l.closed = true
		l.delivering.Unlock()
	})
}
