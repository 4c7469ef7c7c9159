package credcache

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

type clock struct{ ns atomic.Int64 }

func (c *clock) now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *clock) advance(d time.Duration) { c.ns.Add(int64(d)) }

func newTest(max int) (*Cache[string], *clock) {
	clk := &clock{}
	clk.ns.Store(time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC).UnixNano())
	return New[string](time.Minute, max, clk.now), clk
}

func TestCache(t *testing.T) {
	type step struct {
		op         string // put, put-stale, get, advance, invalidate
		id, secret string
		d          time.Duration
		wantV      string
		wantOK     bool
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"hit", []step{
			{op: "put", id: "a", secret: "s1"},
			{op: "get", id: "a", secret: "s1", wantV: "v-a", wantOK: true},
			{op: "get", id: "a", secret: "s1", wantV: "v-a", wantOK: true},
		}},
		{"miss when empty", []step{
			{op: "get", id: "a", secret: "s1"},
		}},
		{"wrong secret", []step{
			{op: "put", id: "a", secret: "s1"},
			{op: "get", id: "a", secret: "s2"},
			{op: "get", id: "a", secret: ""},
			{op: "get", id: "a", secret: "s1", wantV: "v-a", wantOK: true},
		}},
		{"id and secret are separated", []step{
			{op: "put", id: "ab", secret: "c"},
			{op: "get", id: "a", secret: "bc"},
			{op: "get", id: "ab", secret: "c", wantV: "v-ab", wantOK: true},
		}},
		{"other id", []step{
			{op: "put", id: "a", secret: "s1"},
			{op: "get", id: "b", secret: "s1"},
		}},
		{"expiry", []step{
			{op: "put", id: "a", secret: "s1"},
			{op: "advance", d: time.Minute - 1},
			{op: "get", id: "a", secret: "s1", wantV: "v-a", wantOK: true},
			{op: "advance", d: 1},
			{op: "get", id: "a", secret: "s1"},
			{op: "put", id: "a", secret: "s1"},
			{op: "get", id: "a", secret: "s1", wantV: "v-a", wantOK: true},
		}},
		{"invalidate", []step{
			{op: "put", id: "a", secret: "s1"},
			{op: "put", id: "b", secret: "s1"},
			{op: "invalidate", id: "a"},
			{op: "get", id: "a", secret: "s1"},
			{op: "get", id: "b", secret: "s1", wantV: "v-b", wantOK: true},
		}},
		{"invalidate racing a put", []step{
			{op: "put-stale", id: "a", secret: "old"}, // Gen, Invalidate, then Put
			{op: "get", id: "a", secret: "old"},
			{op: "put", id: "a", secret: "new"},
			{op: "get", id: "a", secret: "new", wantV: "v-a", wantOK: true},
		}},
		{"a put replaces", []step{
			{op: "put", id: "a", secret: "s1"},
			{op: "put", id: "a", secret: "s2"},
			{op: "get", id: "a", secret: "s1"},
			{op: "get", id: "a", secret: "s2", wantV: "v-a", wantOK: true},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, clk := newTest(10)
			for i, s := range tt.steps {
				switch s.op {
				case "put":
					c.Put(s.id, s.secret, "v-"+s.id, c.Gen())
				case "put-stale":
					g := c.Gen()
					c.Invalidate(s.id)
					c.Put(s.id, s.secret, "v-"+s.id, g)
				case "get":
					v, ok := c.Get(s.id, s.secret)
					if v != s.wantV || ok != s.wantOK {
						t.Errorf("step %d: Get(%q, %q) = %q, %v; want %q, %v", i, s.id, s.secret, v, ok, s.wantV, s.wantOK)
					}
				case "advance":
					clk.advance(s.d)
				case "invalidate":
					c.Invalidate(s.id)
				default:
					t.Fatalf("step %d: op %q", i, s.op)
				}
			}
		})
	}
}

func TestBound(t *testing.T) {
	tests := []struct {
		name    string
		max     int
		expire  bool // let the first entries expire before filling
		wantLen int
	}{
		{"full, nothing expired", 3, false, 3},
		{"full, expired dropped first", 3, true, 1},
		{"one", 1, false, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, clk := newTest(tt.max)
			for i := range tt.max {
				c.Put(fmt.Sprint("old-", i), "s", "v", c.Gen())
			}
			if tt.expire {
				clk.advance(time.Minute)
			}
			c.Put("new", "s", "v", c.Gen())
			if n := c.Len(); n != tt.wantLen {
				t.Errorf("Len = %d, want %d", n, tt.wantLen)
			}
			if _, ok := c.Get("new", "s"); !ok {
				t.Error("the newest entry was evicted")
			}
			for i := range 20 {
				c.Put(fmt.Sprint("more-", i), "s", "v", c.Gen())
				if n := c.Len(); n > tt.max {
					t.Fatalf("Len = %d, max %d", n, tt.max)
				}
			}
			// Re-putting an id already there never evicts.
			c.Put("more-19", "s", "v2", c.Gen())
			if n := c.Len(); n != tt.max {
				t.Errorf("Len after a re-put = %d, want %d", n, tt.max)
			}
		})
	}
	c, _ := newTest(5)
	for i := range 5 {
		c.Put(fmt.Sprint(i), "s", "v", c.Gen())
	}
	c.SetMax(2)
	c.Put("x", "s", "v", c.Gen())
	if n := c.Len(); n > 2 {
		t.Errorf("Len after SetMax(2) = %d", n)
	}
}

func TestConcurrentInvalidate(t *testing.T) {
	c, _ := newTest(100)
	c.Put("a", "old", "v", c.Gen())
	var wg sync.WaitGroup
	started := make(chan struct{})
	invalidated := make(chan struct{})
	for i := range 8 {
		wg.Go(func() {
			g := c.Gen() // a check of the old secret is under way...
			started <- struct{}{}
			<-invalidated // ...while the secret changes
			c.Put("a", "old", "v", g)
			c.Put(fmt.Sprint("other-", i), "s", "v", g)
		})
	}
	for range 8 {
		<-started
	}
	c.Invalidate("a")
	close(invalidated)
	wg.Wait()
	if _, ok := c.Get("a", "old"); ok {
		t.Error("old secret cached by a check that raced Invalidate")
	}
	if n := c.Len(); n != 0 {
		t.Errorf("Len = %d: stale Puts were kept", n)
	}
	c.Put("a", "new", "v", c.Gen())
	if _, ok := c.Get("a", "new"); !ok {
		t.Error("a Put after Invalidate was dropped")
	}
}
