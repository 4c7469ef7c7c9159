package reader

import "time"

// DefaultDebounce is the default debounce window (docs/DESIGN.md §4).
const DefaultDebounce = 3 * time.Second

// Debouncer tells a new scan from the repeats of a card held on one reader: a
// frame for a badge within the window of that badge's previous frame on this
// reader is the same scan, and each repeat extends the window from the last frame
// seen (a card held on an RDM6300 repeats its frame every ~200 ms). Memory is
// bounded: entries older than the window are pruned. Times should come from
// time.Now (which carries a monotonic reading); tests inject them. A Debouncer is
// pure and not safe for concurrent use.
type Debouncer struct {
	window    time.Duration
	last      map[string]time.Time
	lastPrune time.Time
}

// NewDebouncer returns a debouncer with the given window (DefaultDebounce if
// window <= 0).
func NewDebouncer(window time.Duration) *Debouncer {
	if window <= 0 {
		window = DefaultDebounce
	}
	return &Debouncer{window: window, last: make(map[string]time.Time)}
}

// Window returns the debounce window.
func (d *Debouncer) Window() time.Duration { return d.window }

// Accept records a frame for badge at now and reports whether it is a new scan
// (true) or a repeat of the previous frame of the same badge (false).
func (d *Debouncer) Accept(badge string, now time.Time) bool {
	prev, seen := d.last[badge]
	d.last[badge] = now
	d.prune(now)
	return !seen || now.Sub(prev) >= d.window
}

// Len returns how many badges are remembered.
func (d *Debouncer) Len() int { return len(d.last) }

// prune forgets badges whose last frame is a window old, at most once a window.
func (d *Debouncer) prune(now time.Time) {
	if now.Sub(d.lastPrune) < d.window && len(d.last) < 1024 {
		return
	}
	d.lastPrune = now
	for b, t := range d.last {
		if now.Sub(t) >= d.window {
			delete(d.last, b)
		}
	}
}
