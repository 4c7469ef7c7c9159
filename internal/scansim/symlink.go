package scansim

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
)

// Symlink is a stable port path, like /dev/serial/by-id/…, pointing at the PTY
// that currently plays the reader. Configure the agent with Path; Unplug and
// Replug simulate pulling the reader out and plugging it back, when it comes back
// on another device path.
type Symlink struct {
	path string
	mu   sync.Mutex
	cur  *PTY
}

// NewSymlink creates path as a symlink to a new PTY. path's directory must exist
// and path must not.
func NewSymlink(path string) (*Symlink, error) {
	p, err := NewPTY()
	if err != nil {
		return nil, err
	}
	if err := os.Symlink(p.Path(), path); err != nil {
		_ = p.Close()
		return nil, fmt.Errorf("scansim: %w", err)
	}
	return &Symlink{path: path, cur: p}, nil
}

// Path is the stable path to configure as the reader's port.
func (s *Symlink) Path() string { return s.path }

// PTY returns the PTY the link points at now (nil after Unplug).
func (s *Symlink) PTY() *PTY {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur
}

// Unplug closes the current PTY; the link is left dangling, as a by-id link is
// while its device is away.
func (s *Symlink) Unplug() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur == nil {
		return nil
	}
	err := s.cur.Close()
	s.cur = nil
	return err
}

// Replug unplugs the current PTY if any, opens a new one and points the link at
// it (atomically, by renaming a new link over the old one).
func (s *Symlink) Replug() (*PTY, error) {
	if err := s.Unplug(); err != nil {
		return nil, err
	}
	p, err := NewPTY()
	if err != nil {
		return nil, err
	}
	tmp := filepath.Join(filepath.Dir(s.path), "."+filepath.Base(s.path)+".new")
	_ = os.Remove(tmp)
	if err := os.Symlink(p.Path(), tmp); err != nil {
		_ = p.Close()
		return nil, fmt.Errorf("scansim: %w", err)
	}
	if err := os.Rename(tmp, s.path); err != nil {
		_ = p.Close()
		_ = os.Remove(tmp)
		return nil, fmt.Errorf("scansim: %w", err)
	}
	s.mu.Lock()
	s.cur = p
	s.mu.Unlock()
	return p, nil
}

// Close closes the current PTY and removes the link.
func (s *Symlink) Close() error {
	err := s.Unplug()
	if rmErr := os.Remove(s.path); rmErr != nil && !errors.Is(rmErr, os.ErrNotExist) {
		err = errors.Join(err, rmErr)
	}
	return err
}
