// Package credcache checks credentials for the device registry and the
// user store: bcrypt hashing and comparison (Bcrypt, with a dummy hash for
// unknown ids), the password rules (PasswordProblem), and Cache, which
// remembers successful credential checks (a bcrypt
// comparison costs 50-100 ms of CPU) for a short while, so that a reconnect
// storm or a polling client does not pay one per request.
//
// An entry is keyed by an id (a device, a lower-case user name) and holds an
// HMAC-SHA-256 of id and secret under a random per-process key, never the
// secret nor a plain hash of it; it is compared in constant time. The cache
// is bounded and its entries expire. Only successes should be put in it.
package credcache

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"sync"
	"time"
)

// Cache holds successful checks, each with a value V (the device, the
// user). Its methods are safe for concurrent use.
type Cache[V any] struct {
	ttl    time.Duration
	now    func() time.Time
	macKey [32]byte // random per process

	mu      sync.Mutex
	max     int
	gen     uint64 // bumped by Invalidate; a Put that raced with it is dropped
	entries map[string]entry[V]
}

type entry[V any] struct {
	mac     [sha256.Size]byte
	v       V
	expires time.Time
}

// New returns an empty cache whose entries live ttl, holding at most max of
// them, with now as its clock (time.Now if nil).
func New[V any](ttl time.Duration, max int, now func() time.Time) *Cache[V] {
	if now == nil {
		now = time.Now
	}
	c := &Cache[V]{ttl: ttl, now: now, max: max, entries: make(map[string]entry[V])}
	rand.Read(c.macKey[:]) // never returns an error (crypto/rand, Go 1.24+)
	return c
}

func (c *Cache[V]) mac(id, secret string) (sum [sha256.Size]byte) {
	h := hmac.New(sha256.New, c.macKey[:])
	h.Write([]byte(id))
	h.Write([]byte{0})
	h.Write([]byte(secret))
	copy(sum[:], h.Sum(nil))
	return sum
}

// Get returns the value remembered for id if its entry has not expired and
// was put with the same secret.
func (c *Cache[V]) Get(id, secret string) (V, bool) {
	mac := c.mac(id, secret)
	now := c.now()
	c.mu.Lock()
	e, hit := c.entries[id]
	c.mu.Unlock()
	if hit && now.Before(e.expires) && hmac.Equal(e.mac[:], mac[:]) {
		return e.v, true
	}
	var zero V
	return zero, false
}

// Gen returns the invalidation generation, to be taken before the slow
// check whose success is then given to Put.
func (c *Cache[V]) Gen() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// Put remembers that secret is right for id, with v, unless Invalidate ran
// since gen was taken (the secret may have changed meanwhile). A full cache
// drops its expired entries first, otherwise any.
func (c *Cache[V]) Put(id, secret string, v V, gen uint64) {
	mac := c.mac(id, secret)
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return
	}
	if _, ok := c.entries[id]; !ok && len(c.entries) >= c.max {
		c.evictLocked(now)
	}
	c.entries[id] = entry[V]{mac: mac, v: v, expires: now.Add(c.ttl)}
}

// Invalidate forgets id (its secret changed) and makes the Puts of checks
// already under way no-ops.
func (c *Cache[V]) Invalidate(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	delete(c.entries, id)
}

// Len returns the number of entries, expired ones included (tests, metrics).
func (c *Cache[V]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

// SetMax changes the bound; it applies from the next Put (tests).
func (c *Cache[V]) SetMax(max int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.max = max
}

// evictLocked makes room in a full cache: expired entries first, otherwise
// any one (map order is random, which is good enough to stay bounded).
func (c *Cache[V]) evictLocked(now time.Time) {
	for k, e := range c.entries {
		if !now.Before(e.expires) {
			delete(c.entries, k)
		}
	}
	for k := range c.entries {
		if len(c.entries) < c.max {
			return
		}
		delete(c.entries, k)
	}
}
