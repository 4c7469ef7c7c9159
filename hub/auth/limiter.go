package auth

import (
	"sync"
	"time"
)

// LoginLimit bounds failed logins, counted per remote IP address in fixed
// windows. A school's devices usually share one public address (NAT), so
// failures are counted twice: per address and user name (one misconfigured
// device must not lock its neighbours out) and per address whatever the user
// name (guessing across user names). A key that reaches its limit is refused,
// without its password being checked, until Window has passed.
type LoginLimit struct {
	// PerUser is how many failed logins one address may make with one user
	// name in a window; default 10, negative: no limit.
	PerUser int
	// PerIP is how many failed logins one address may make in a window,
	// whatever the user names; default 100, negative: no limit.
	PerIP int
	// Window is both the counting window and how long a key that reached
	// its limit is refused; default one minute.
	Window time.Duration
	// MaxKeys bounds the memory used (each key ~100 bytes); default 100000.
	MaxKeys int
}

func (l LoginLimit) withDefaults() LoginLimit {
	if l.PerUser == 0 {
		l.PerUser = 10
	}
	if l.PerIP == 0 {
		l.PerIP = 100
	}
	if l.Window <= 0 {
		l.Window = time.Minute
	}
	if l.MaxKeys <= 0 {
		l.MaxKeys = 100000
	}
	return l
}

// Limiter implements LoginLimit; its methods take the time, so its rules
// are tested without a clock. It is safe for concurrent use.
type Limiter struct {
	LoginLimit // with the defaults filled in
	mu         sync.Mutex
	keys       map[string]*failures
}

type failures struct {
	start, blockedUntil time.Time
	n                   int
}

// NewLimiter returns a limiter of l, defaults filled in.
func NewLimiter(l LoginLimit) *Limiter {
	return &Limiter{LoginLimit: l.withDefaults(), keys: make(map[string]*failures)}
}

func ipKey(ip string) string         { return ip }
func userKey(ip, user string) string { return ip + "\x00" + user }

// Allowed reports whether a login from ip as user may be checked at all.
func (l *Limiter) Allowed(ip, user string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range [...]string{ipKey(ip), userKey(ip, user)} {
		if f := l.keys[k]; f != nil && now.Before(f.blockedUntil) {
			return false
		}
	}
	return true
}

// Fail records a failed login and reports whether it made ip (or ip with
// user) reach its limit just now, so that is logged once.
func (l *Limiter) Fail(ip, user string, now time.Time) (blocked bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.count(ipKey(ip), l.PerIP, now) {
		blocked = true
	}
	if l.count(userKey(ip, user), l.PerUser, now) {
		blocked = true
	}
	return blocked
}

// Succeeded forgets the failures of user from ip (not those of ip as a
// whole: a valid account must not reset a guesser's count of its address).
func (l *Limiter) Succeeded(ip, user string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.keys, userKey(ip, user))
}

func (l *Limiter) count(key string, limit int, now time.Time) (blocked bool) {
	if limit < 0 {
		return false
	}
	f := l.keys[key]
	if f == nil {
		if len(l.keys) >= l.MaxKeys {
			l.sweepLocked(now)
		}
		f = &failures{start: now}
		l.keys[key] = f
	}
	if now.Sub(f.start) >= l.Window {
		f.start, f.n = now, 0
	}
	f.n++
	if f.n >= limit && !now.Before(f.blockedUntil) {
		f.blockedUntil = now.Add(l.Window)
		f.start, f.n = f.blockedUntil, 0 // count afresh once the block ends
		return true
	}
	return false
}

// sweepLocked makes room: keys whose window and block are over go first,
// then any (map order is random), so memory stays bounded under a
// distributed attack at the price of forgetting some counts.
func (l *Limiter) sweepLocked(now time.Time) {
	for k, f := range l.keys {
		if now.Sub(f.start) >= l.Window && !now.Before(f.blockedUntil) {
			delete(l.keys, k)
		}
	}
	for k := range l.keys {
		if len(l.keys) < l.MaxKeys {
			return
		}
		delete(l.keys, k)
	}
}
