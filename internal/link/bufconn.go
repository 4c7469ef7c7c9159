package link

import (
	"bufio"
	"net"
	"net/url"
	"sync"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// maxPending is how many written bytes may wait for the flusher before
// Write blocks (as a socket's send buffer would).
const maxPending = 256 << 10

// flushGap is the least time between two flushes. A packet written after
// a quiet spell leaves at once; under load, what is written within the gap
// leaves together (paho writes one PUBACK per message received, each on
// its own goroutine's turn, so without the gap most flushes carried one or
// two). The broker keeps many messages in flight to the hub (1000 in the
// bundled configuration), so a PUBACK a millisecond later costs nothing.
const flushGap = time.Millisecond

// finalFlush bounds how long Close waits for what is pending to go out
// (paho closes the connection right after writing DISCONNECT, which must
// reach the broker, or it would publish the client's last will).
const finalFlush = time.Second

// dialBuffered opens a plain TCP connection whose reads are buffered and
// whose writes are combined. paho reads every packet unbuffered, a byte or
// two at a time for its header, and writes every packet with its own
// syscall: at thousands of messages a second, three or four reads and one
// write (its PUBACK) per message were a fifth of the hub's ingest CPU.
// (TLS connections buffer by record already.)
func dialBuffered(u *url.URL, o mqtt.ClientOptions) (net.Conn, error) {
	d := o.Dialer
	if d == nil {
		d = &net.Dialer{Timeout: o.ConnectTimeout}
	}
	conn, err := d.Dial("tcp", u.Host)
	if err != nil {
		return nil, err
	}
	timeout := o.WriteTimeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	return newBufferedConn(conn, timeout), nil
}

// bufferedConn is a net.Conn whose reads go through a bufio.Reader and
// whose writes are combined: Write appends to a pending buffer and one
// flusher goroutine writes out whatever has gathered, so packets written
// while a write is under way leave in the next one. Nothing waits on a
// timer when the line is quiet: alone, a packet leaves at once; under
// load, packets written within flushGap share a syscall. Order is kept (one buffer, one flusher). A failed write fails
// every later Write and closes the connection, so paho's reader sees the
// loss at once and reconnects.
type bufferedConn struct {
	net.Conn
	r       *bufio.Reader
	timeout time.Duration // of each flush

	mu          sync.Mutex
	cond        *sync.Cond // the flusher took pending, or stopped
	pending     []byte
	spare       []byte
	err         error // of the first failed flush
	closed      bool
	kick        chan struct{} // holds a token while pending has bytes to take
	flusherDone chan struct{}
}

func newBufferedConn(conn net.Conn, timeout time.Duration) *bufferedConn {
	c := &bufferedConn{
		Conn: conn, r: bufio.NewReaderSize(conn, 32<<10), timeout: timeout,
		kick: make(chan struct{}, 1), flusherDone: make(chan struct{}),
	}
	c.cond = sync.NewCond(&c.mu)
	go c.flusher()
	return c
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// Write queues p for the flusher. It blocks only while maxPending bytes
// are waiting; it returns the error of an earlier failed flush.
func (c *bufferedConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for c.err == nil && !c.closed && len(c.pending) >= maxPending {
		c.cond.Wait()
	}
	if c.err != nil {
		return 0, c.err
	}
	if c.closed {
		return 0, net.ErrClosed
	}
	if len(c.pending) == 0 {
		select {
		case c.kick <- struct{}{}:
		default:
		}
	}
	c.pending = append(c.pending, p...)
	return len(p), nil
}

// SetWriteDeadline is ignored: paho sets one around each Write, which
// returns at once here; each flush has its own deadline (the client's
// write timeout).
func (c *bufferedConn) SetWriteDeadline(time.Time) error { return nil }

// SetDeadline sets the read deadline only (see SetWriteDeadline).
func (c *bufferedConn) SetDeadline(t time.Time) error { return c.Conn.SetReadDeadline(t) }

func (c *bufferedConn) flusher() {
	defer close(c.flusherDone)
	var last time.Time
	for range c.kick {
		if wait := flushGap - time.Since(last); wait > 0 {
			time.Sleep(wait)
		}
		c.mu.Lock()
		buf := c.pending
		c.pending = c.spare[:0]
		c.mu.Unlock()
		if len(buf) == 0 {
			continue
		}
		err := c.Conn.SetWriteDeadline(time.Now().Add(c.timeout))
		if err == nil {
			_, err = c.Conn.Write(buf)
		}
		last = time.Now()
		c.mu.Lock()
		c.spare = buf[:0]
		if err != nil && c.err == nil {
			c.err = err
		}
		c.cond.Broadcast()
		c.mu.Unlock()
		if err != nil {
			c.Conn.Close()
			return
		}
	}
}

// Close writes out what is pending (for at most finalFlush), then closes
// the connection. Closing twice is harmless.
func (c *bufferedConn) Close() error {
	c.mu.Lock()
	if !c.closed {
		c.closed = true
		close(c.kick) // the flusher takes its last token, if any, and stops
		c.cond.Broadcast()
	}
	c.mu.Unlock()
	select {
	case <-c.flusherDone:
	case <-time.After(finalFlush):
	}
	return c.Conn.Close()
}
