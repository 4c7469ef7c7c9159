//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package scansim

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// PTY is a pseudo-terminal standing in for a reader on a serial port: the agent
// opens Path (the secondary side) as its port; the simulator writes frames to and
// reads feedback from the primary side. Close stands in for unplugging the reader.
//
// The terminal is put in raw mode (no echo, no CR/LF translation, 8-bit clean) so
// bytes pass unchanged even before the agent opens it (go.bug.st/serial sets raw
// mode again when it does). PTY keeps its own handle on the secondary side open so
// that these settings, and bytes written before the agent opens the port, survive
// the agent closing and reopening it.
type PTY struct {
	primary   *os.File
	secondary *os.File
	path      string
	writeMu   sync.Mutex
	closeOnce sync.Once
	closeErr  error
}

// NewPTY opens a pseudo-terminal in raw mode.
func NewPTY() (*PTY, error) {
	primary, secondary, err := pty.Open()
	if err != nil {
		return nil, fmt.Errorf("scansim: open pty: %w", err)
	}
	if err := makeRaw(secondary); err != nil {
		_ = primary.Close()
		_ = secondary.Close()
		return nil, fmt.Errorf("scansim: raw mode on %s: %w", secondary.Name(), err)
	}
	pollable, err := pollableCopy(primary)
	_ = primary.Close()
	if err != nil {
		_ = secondary.Close()
		return nil, fmt.Errorf("scansim: pty: %w", err)
	}
	return &PTY{primary: pollable, secondary: secondary, path: secondary.Name()}, nil
}

// pollableCopy returns a non-blocking duplicate of f, so that read deadlines and
// Close interrupt reads: creack/pty's Fd() calls leave the primary side in
// blocking mode, where they do not.
func pollableCopy(f *os.File) (*os.File, error) {
	fd, err := unix.Dup(int(f.Fd()))
	if err != nil {
		return nil, err
	}
	unix.CloseOnExec(fd)
	if err := unix.SetNonblock(fd, true); err != nil {
		_ = unix.Close(fd)
		return nil, err
	}
	return os.NewFile(uintptr(fd), f.Name()), nil
}

// makeRaw is cfmakeraw(3): 8 data bits, no parity, no input or output processing,
// no echo, no signals, reads return as soon as a byte is there.
func makeRaw(f *os.File) error {
	fd := int(f.Fd())
	t, err := unix.IoctlGetTermios(fd, ioctlGetTermios)
	if err != nil {
		return err
	}
	t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON | unix.IXOFF
	t.Oflag &^= unix.OPOST
	t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	t.Cflag &^= unix.CSIZE | unix.PARENB
	t.Cflag |= unix.CS8
	t.Cc[unix.VMIN] = 1
	t.Cc[unix.VTIME] = 0
	return unix.IoctlSetTermios(fd, ioctlSetTermios, t)
}

// Path is the secondary side's path (/dev/pts/N), to open as a serial port.
func (p *PTY) Path() string { return p.path }

// Write sends bytes as the reader would, in one write.
func (p *PTY) Write(b []byte) (int, error) {
	p.writeMu.Lock()
	defer p.writeMu.Unlock()
	return p.primary.Write(b)
}

// WriteSlowly sends b in pieces of chunk bytes with pause between them, as a slow
// or bursty reader would, to exercise frame reassembly.
func (p *PTY) WriteSlowly(b []byte, chunk int, pause time.Duration) error {
	if chunk <= 0 {
		chunk = 1
	}
	for len(b) > 0 {
		n := min(chunk, len(b))
		if _, err := p.Write(b[:n]); err != nil {
			return err
		}
		b = b[n:]
		if len(b) > 0 {
			time.Sleep(pause)
		}
	}
	return nil
}

// Read reads what the agent wrote to the port (feedback bytes).
func (p *PTY) Read(b []byte) (int, error) { return p.primary.Read(b) }

// SetReadDeadline bounds Read, as os.File.SetReadDeadline does.
func (p *PTY) SetReadDeadline(t time.Time) error { return p.primary.SetReadDeadline(t) }

// ReadN reads exactly n bytes written by the agent, waiting at most timeout; on
// timeout it returns the bytes read so far and an error.
func (p *PTY) ReadN(n int, timeout time.Duration) ([]byte, error) {
	if err := p.primary.SetReadDeadline(time.Now().Add(timeout)); err != nil {
		return nil, err
	}
	defer p.primary.SetReadDeadline(time.Time{})
	buf := make([]byte, n)
	got, err := io.ReadFull(p.primary, buf)
	if err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			err = fmt.Errorf("scansim: %d of %d bytes after %v: %w", got, n, timeout, err)
		}
		return buf[:got], err
	}
	return buf, nil
}

// Close closes both sides: to the agent it looks like the reader was unplugged
// (its reads fail and the path disappears once it closes the port). Closing twice
// is harmless.
func (p *PTY) Close() error {
	p.closeOnce.Do(func() {
		err1 := p.primary.Close()
		err2 := p.secondary.Close()
		p.closeErr = errors.Join(err1, err2)
	})
	return p.closeErr
}
