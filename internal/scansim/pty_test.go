//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package scansim

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// openSecondary opens a PTY's path the way a serial port is opened, without
// changing its settings, and reads with a deadline.
func openSecondary(t *testing.T, path string) *os.File {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func readN(t *testing.T, r io.Reader, n int) []byte {
	t.Helper()
	buf := make([]byte, n)
	done := make(chan error, 1)
	go func() { _, err := io.ReadFull(r, buf); done <- err }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("read: %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatalf("read: timed out waiting for %d bytes", n)
	}
	return buf
}

// Binary frames must pass unchanged both ways: no CR/LF translation, no echo, no
// 8th-bit stripping, STX/ETX not taken as control characters.
func TestPTYIsRaw(t *testing.T) {
	p, err := NewPTY()
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	sec := openSecondary(t, p.Path())
	payload := []byte{0x02, 0x0A, 0x02, 0x2E, 0x00, 0xB6, 0xD7, 0xB5, 0xF2, 0x03, 0x0D, 0x0A, 0x0D, 0x03, 0x04, 0x11, 0x13, 0x7F, 0xFF, 0x00}

	if _, err := p.Write(payload); err != nil {
		t.Fatal(err)
	}
	if got := readN(t, sec, len(payload)); !bytes.Equal(got, payload) {
		t.Errorf("primary -> secondary: got % X, want % X", got, payload)
	}

	if _, err := sec.Write(payload); err != nil {
		t.Fatal(err)
	}
	got, err := p.ReadN(len(payload), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, payload) {
		t.Errorf("secondary -> primary: got % X, want % X", got, payload)
	}
	// Nothing was echoed back to the primary side.
	if extra, err := p.ReadN(1, 100*time.Millisecond); err == nil {
		t.Errorf("primary read an unexpected echo: % X", extra)
	}
}

func TestPTYWriteSlowly(t *testing.T) {
	p, err := NewPTY()
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	sec := openSecondary(t, p.Path())
	frame, _ := Encode("rdm6300", "13005D1DA5")
	start := time.Now()
	if err := p.WriteSlowly(frame, 5, 20*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el < 40*time.Millisecond {
		t.Errorf("14 bytes in chunks of 5 with 20 ms pauses took %v, want >= 40ms", el)
	}
	if got := readN(t, sec, len(frame)); !bytes.Equal(got, frame) {
		t.Errorf("got % X, want % X", got, frame)
	}
}

func TestPTYCloseLooksLikeUnplug(t *testing.T) {
	p, err := NewPTY()
	if err != nil {
		t.Fatal(err)
	}
	sec := openSecondary(t, p.Path())
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	buf := make([]byte, 1)
	if _, err := sec.Read(buf); err == nil {
		t.Error("read on the secondary side succeeded after the primary was closed")
	}
}

func TestSymlinkReplug(t *testing.T) {
	dir := t.TempDir()
	link := filepath.Join(dir, "usb-reader-if00")
	s, err := NewSymlink(link)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	first := s.PTY().Path()
	if target, err := os.Readlink(link); err != nil || target != first {
		t.Fatalf("link -> %q (%v), want %q", target, err, first)
	}

	// Keep the first secondary open so the new PTY cannot reuse its number.
	old := openSecondary(t, link)
	if err := s.Unplug(); err != nil {
		t.Fatal(err)
	}
	if s.PTY() != nil {
		t.Error("PTY() not nil after Unplug")
	}
	p, err := s.Replug()
	if err != nil {
		t.Fatal(err)
	}
	if target, _ := os.Readlink(link); target != p.Path() || target == first {
		t.Fatalf("after Replug link -> %q, want the new pty %q (old %q)", target, p.Path(), first)
	}
	old.Close()
	sec := openSecondary(t, link)
	if _, err := p.Write([]byte("ok\r\n")); err != nil {
		t.Fatal(err)
	}
	if got := readN(t, sec, 4); string(got) != "ok\r\n" {
		t.Errorf("through the replugged link got %q", got)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(link); !os.IsNotExist(err) {
		t.Errorf("link still there after Close: %v", err)
	}
}
