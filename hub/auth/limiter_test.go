package auth

import (
	"testing"
	"time"
)

func TestLimiter(t *testing.T) {
	t0 := time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)
	type step struct {
		at      time.Duration // since t0
		ip      string
		user    string
		fail    bool // record a failure (after checking allowed)
		allowed bool // what allowed must answer first
	}
	fails := func(at time.Duration, ip, user string, n int) []step {
		var s []step
		for range n {
			s = append(s, step{at, ip, user, true, true})
		}
		return s
	}
	cat := func(parts ...[]step) []step {
		var s []step
		for _, p := range parts {
			s = append(s, p...)
		}
		return s
	}
	for _, tc := range []struct {
		name  string
		limit LoginLimit
		steps []step
	}{
		{"ten failures block that user from that address for a window", LoginLimit{}, cat(
			fails(0, "10.0.0.1", "a", 10),
			[]step{
				{time.Second, "10.0.0.1", "a", false, false},
				{time.Second, "10.0.0.1", "b", false, true}, // a neighbour behind the same NAT
				{time.Second, "10.0.0.2", "a", false, true}, // the same user elsewhere
				{59 * time.Second, "10.0.0.1", "a", false, false},
				{60 * time.Second, "10.0.0.1", "a", false, true},
			})},
		{"failures spread over more than a window do not block", LoginLimit{}, cat(
			fails(0, "10.0.0.1", "a", 9),
			fails(61*time.Second, "10.0.0.1", "a", 9),
			[]step{{62 * time.Second, "10.0.0.1", "a", false, true}})},
		{"many user names from one address block the address", LoginLimit{PerIP: 20}, cat(
			fails(0, "10.0.0.1", "a", 9), fails(0, "10.0.0.1", "b", 9), fails(0, "10.0.0.1", "c", 2),
			[]step{
				{time.Second, "10.0.0.1", "d", false, false},
				{time.Second, "10.0.0.3", "d", false, true},
				{61 * time.Second, "10.0.0.1", "d", false, true},
			})},
		{"negative limits disable", LoginLimit{PerUser: -1, PerIP: -1}, cat(
			fails(0, "10.0.0.1", "a", 500),
			[]step{{0, "10.0.0.1", "a", false, true}})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := NewLimiter(tc.limit)
			for i, s := range tc.steps {
				now := t0.Add(s.at)
				if got := l.Allowed(s.ip, s.user, now); got != s.allowed {
					t.Fatalf("step %d (%+v): allowed = %v", i, s, got)
				}
				if s.fail {
					l.Fail(s.ip, s.user, now)
				}
			}
		})
	}
}

func TestLimiterReportsTheBlockOnce(t *testing.T) {
	l := NewLimiter(LoginLimit{PerUser: 3})
	now := time.Now()
	var reported int
	for range 3 {
		if l.Fail("10.0.0.1", "a", now) {
			reported++
		}
	}
	if reported != 1 {
		t.Errorf("block reported %d times, want 1", reported)
	}
}

func TestLimiterStaysBounded(t *testing.T) {
	l := NewLimiter(LoginLimit{MaxKeys: 50})
	now := time.Now()
	for i := range 1000 {
		l.Fail("10.0.0.1", string(rune('a'+i%26))+string(rune('a'+i/26)), now)
		if len(l.keys) > 50 {
			t.Fatalf("%d keys after %d failures", len(l.keys), i+1)
		}
	}
}
