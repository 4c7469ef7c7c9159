package link

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// tcpPair returns both ends of a loopback TCP connection.
func tcpPair(t *testing.T) (client, server net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server = <-accepted
	if server == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { client.Close(); server.Close() })
	return client, server
}

// Packets written by many goroutines at once all arrive, whole, each
// writer's in the order it wrote them, whatever their size against the
// pending buffer's limit.
func TestBufferedConnKeepsEveryWriteInOrder(t *testing.T) {
	raw, server := tcpPair(t)
	c := newBufferedConn(raw, 5*time.Second)
	const writers, perWriter = 8, 2000
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWriter {
				size := 8 + i%50
				if i%500 == 7 {
					size = maxPending + 1000 // larger than the whole buffer
				}
				p := make([]byte, size)
				binary.BigEndian.PutUint32(p[0:], uint32(size))
				binary.BigEndian.PutUint16(p[4:], uint16(w))
				binary.BigEndian.PutUint16(p[6:], uint16(i))
				for j := 8; j < size; j++ {
					p[j] = byte(w + i + j)
				}
				if _, err := c.Write(p); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	next := make([]int, writers)
	done := make(chan error, 1)
	go func() {
		hdr := make([]byte, 8)
		for n := 0; n < writers*perWriter; n++ {
			if _, err := io.ReadFull(server, hdr); err != nil {
				done <- err
				return
			}
			size := int(binary.BigEndian.Uint32(hdr))
			w, i := int(binary.BigEndian.Uint16(hdr[4:])), int(binary.BigEndian.Uint16(hdr[6:]))
			body := make([]byte, size-8)
			if _, err := io.ReadFull(server, body); err != nil {
				done <- err
				return
			}
			if w >= writers || i != next[w] {
				done <- errors.New("a packet arrived out of its writer's order")
				return
			}
			next[w]++
			for j := range body {
				if body[j] != byte(w+i+j+8) {
					done <- errors.New("a packet arrived damaged")
					return
				}
			}
		}
		done <- nil
	}()
	wg.Wait()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("not every packet arrived within 30 s: %v", next)
	}
}

// What is written just before Close reaches the other end (paho writes
// DISCONNECT and closes at once; a lost DISCONNECT would make the broker
// publish the client's last will).
func TestBufferedConnCloseSendsWhatIsPending(t *testing.T) {
	raw, server := tcpPair(t)
	c := newBufferedConn(raw, 5*time.Second)
	want := bytes.Repeat([]byte("0123456789"), 10000)
	for i := 0; i < len(want); i += 1000 {
		if _, err := c.Write(want[i : i+1000]); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	server.SetReadDeadline(time.Now().Add(10 * time.Second))
	got, err := io.ReadAll(server)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("got %d bytes, want %d", len(got), len(want))
	}
	if _, err := c.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Write after Close: %v, want net.ErrClosed", err)
	}
	if err := c.Close(); err == nil {
		t.Log("second Close returned nil") // harmless either way; it must not hang or panic
	}
}

// A peer that stops reading makes a flush time out: that error comes back
// from the next Write (so paho reconnects), and Write does not block
// forever on a full buffer.
func TestBufferedConnReportsAStalledPeer(t *testing.T) {
	raw, _ := tcpPair(t) // the server end never reads
	c := newBufferedConn(raw, 300*time.Millisecond)
	chunk := make([]byte, 64<<10)
	errc := make(chan error, 1)
	go func() {
		for {
			if _, err := c.Write(chunk); err != nil {
				errc <- err
				return
			}
		}
	}()
	select {
	case err := <-errc:
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Fatalf("Write failed with %v, want the flush's timeout", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Write still blocked 20 s after the peer stopped reading")
	}
	done := make(chan struct{})
	go func() { c.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close hung")
	}
}
