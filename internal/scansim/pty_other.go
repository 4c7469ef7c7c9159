//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package scansim

import (
	"errors"
	"time"
)

// ErrUnsupported: pseudo-terminals are not available on this system (Windows).
var ErrUnsupported = errors.New("scansim: pseudo-terminals are not supported on this system")

// PTY is not available on this system; see the Unix implementation.
type PTY struct{}

// NewPTY returns ErrUnsupported on this system.
func NewPTY() (*PTY, error) { return nil, ErrUnsupported }

func (p *PTY) Path() string                                               { return "" }
func (p *PTY) Write(b []byte) (int, error)                                { return 0, ErrUnsupported }
func (p *PTY) WriteSlowly(b []byte, chunk int, pause time.Duration) error { return ErrUnsupported }
func (p *PTY) Read(b []byte) (int, error)                                 { return 0, ErrUnsupported }
func (p *PTY) SetReadDeadline(t time.Time) error                          { return ErrUnsupported }
func (p *PTY) ReadN(n int, timeout time.Duration) ([]byte, error)         { return nil, ErrUnsupported }
func (p *PTY) Close() error                                               { return nil }
