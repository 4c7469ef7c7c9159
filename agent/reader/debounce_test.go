package reader

import (
	"fmt"
	"testing"
	"time"
)

func TestDebouncer(t *testing.T) {
	type frame struct {
		at    time.Duration // since t0
		badge string
		want  bool // a new scan
	}
	tests := []struct {
		name   string
		window time.Duration
		frames []frame
	}{
		{"first frame is a scan", 0, []frame{{0, "A", true}}},
		{"repeat inside the window is the same scan", 0, []frame{{0, "A", true}, {200 * time.Millisecond, "A", false}}},
		{"after the window it is a new scan", 0, []frame{{0, "A", true}, {3500 * time.Millisecond, "A", true}}},
		{"exactly the window is a new scan", 0, []frame{{0, "A", true}, {3 * time.Second, "A", true}}},
		{"a held card's repeats extend the window", 0, []frame{
			{0, "A", true}, {2 * time.Second, "A", false}, {4 * time.Second, "A", false}, {6 * time.Second, "A", false},
			{9500 * time.Millisecond, "A", true}}},
		{"other badges are independent", 0, []frame{{0, "A", true}, {100 * time.Millisecond, "B", true}, {200 * time.Millisecond, "A", false}, {300 * time.Millisecond, "B", false}}},
		{"custom window", 500 * time.Millisecond, []frame{{0, "A", true}, {400 * time.Millisecond, "A", false}, {1000 * time.Millisecond, "A", true}}},
		{"time going back is the same scan", 0, []frame{{time.Second, "A", true}, {0, "A", false}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := NewDebouncer(tt.window)
			for i, f := range tt.frames {
				if got := d.Accept(f.badge, t0.Add(f.at)); got != f.want {
					t.Errorf("frame %d (%s at %v): Accept = %v, want %v", i, f.badge, f.at, got, f.want)
				}
			}
		})
	}
}

// A card held for a minute repeats every 200 ms: one scan.
func TestDebouncerHeldCard(t *testing.T) {
	d := NewDebouncer(0)
	scans := 0
	for at := time.Duration(0); at < time.Minute; at += 200 * time.Millisecond {
		if d.Accept("13005D1DA5", t0.Add(at)) {
			scans++
		}
	}
	if scans != 1 {
		t.Errorf("%d scans, want 1", scans)
	}
}

// Memory stays bounded however many badges pass.
func TestDebouncerPrunes(t *testing.T) {
	d := NewDebouncer(time.Second)
	for i := 0; i < 100000; i++ {
		d.Accept(fmt.Sprintf("%08X", i), t0.Add(time.Duration(i)*10*time.Millisecond))
	}
	// One badge every 10 ms and a 1 s window: about 100 live entries, plus up to a
	// window's worth waiting for the next prune.
	if n := d.Len(); n > 250 {
		t.Errorf("%d badges remembered, want at most 250", n)
	}
}

// Real clock readings carry a monotonic time, which the debouncer uses.
func TestDebouncerMonotonic(t *testing.T) {
	d := NewDebouncer(50 * time.Millisecond)
	now := time.Now()
	if !d.Accept("A", now) || d.Accept("A", time.Now()) {
		t.Fatal("first frame not a scan, or immediate repeat a scan")
	}
	time.Sleep(60 * time.Millisecond)
	if !d.Accept("A", time.Now()) {
		t.Error("frame after the window not a scan")
	}
}
