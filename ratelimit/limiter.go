// Package ratelimit limits how often something may happen per key (an IP
// address, an account) with bounded memory. On top of its Limiter it has
// two guards:
//
//   - Rules, the rules of settings.rateLimits: request budgets per client
//     IP for operations (users:auth, *:create, posts:list; Operation) and
//     paths (/graphql, /files/; Paths), checked before the work they guard
//     and changed at once by Set;
//   - SignIn, a budget of failed sign-ins per identity and per client IP,
//     checked before any password hash is compared.
//
// Middleware carries the client IP into the request context and answers a
// refused request with HTTP 429 and Retry-After. It knows no GraphQL: the
// rule of one password check per GraphQL operation is
// querycost.SignInOnce, and the engine maps its root fields to operation
// labels.
package ratelimit

import (
	"sync"
	"time"
)

// Limit is a rate: up to Burst events at once, refilled evenly over Per
// (so Burst per Per in the long run). A Burst below zero turns the limit
// off; zero fields take the caller's defaults.
type Limit struct {
	Burst int
	Per   time.Duration
}

// Off reports whether the limit is turned off.
func (l Limit) Off() bool { return l.Burst < 0 }

func (l Limit) or(def Limit) Limit {
	if l.Burst == 0 {
		l.Burst = def.Burst
	}
	if l.Per <= 0 {
		l.Per = def.Per
	}
	return l
}

// Limiter counts events per key with the generic cell rate algorithm: each
// key keeps one time (when its budget is full again), so a key costs a few
// dozen bytes and is forgotten once idle. At most maxKeys keys are
// tracked; beyond that the least recently charged key is dropped (which
// forgets its count). It is safe for concurrent use.
//
// Checking and charging are separate so that a caller can check before
// costly work and charge only for the outcomes it counts (failed
// sign-ins). Concurrent callers may all pass Check before any Charge; the
// charges then run the key into debt (up to one more Per), so the long-run
// rate still holds.
type Limiter struct {
	limit    Limit
	interval int64 // nanoseconds between events at the long-run rate
	burst    int64 // Per in nanoseconds: how far ahead a key may run
	maxKeys  int
	now      func() time.Time
	base     time.Time // times are nanoseconds since base (monotonic)

	mu   sync.Mutex
	keys map[string]*entry
	lru  entry // sentinel: lru.next is the most recently charged key
}

type entry struct {
	key        string
	tat        int64 // when the key's budget is full again (ns since base)
	prev, next *entry
}

// New returns a limiter for limit (Burst > 0 and Per > 0, else it allows
// everything) that tracks up to maxKeys keys (at least 1). now is the
// clock (time.Now when nil).
func New(limit Limit, maxKeys int, now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	l := &Limiter{limit: limit, maxKeys: max(1, maxKeys), now: now, base: now(), keys: map[string]*entry{}}
	if limit.Burst > 0 && limit.Per > 0 {
		l.interval = max(1, int64(limit.Per)/int64(limit.Burst))
		l.burst = int64(limit.Per)
	}
	l.lru.next, l.lru.prev = &l.lru, &l.lru
	return l
}

// Check reports whether key may have one more event now; when it may not,
// it returns how long until it may. It counts nothing.
func (l *Limiter) Check(key string) (wait time.Duration, ok bool) {
	if l.interval == 0 {
		return 0, true
	}
	now := int64(l.now().Sub(l.base))
	l.mu.Lock()
	e := l.keys[key]
	var tat int64
	if e != nil {
		tat = e.tat
	}
	l.mu.Unlock()
	// The event fits when charging it keeps the key within burst ahead of now.
	over := max(tat, now) + l.interval - now - l.burst
	if over > 0 {
		return time.Duration(over), false
	}
	return 0, true
}

// Charge counts one event for key, whether or not Check allowed it.
func (l *Limiter) Charge(key string) {
	if l.interval == 0 {
		return
	}
	now := int64(l.now().Sub(l.base))
	l.mu.Lock()
	defer l.mu.Unlock()
	l.charge(key, l.keys[key], now)
}

// Allow counts one event for key when it fits now, checking and counting
// in one step (concurrent callers cannot all slip through), and reports
// true. Otherwise it counts nothing and returns how long until the event
// fits.
func (l *Limiter) Allow(key string) (wait time.Duration, ok bool) {
	return l.AllowN(key, 1)
}

// AllowN is Allow for n events at once (n >= 1): all of them are counted
// when they all fit now, none otherwise. More than the limit's Burst
// never fit.
func (l *Limiter) AllowN(key string, n int) (wait time.Duration, ok bool) {
	if l.interval == 0 {
		return 0, true
	}
	n = max(n, 1)
	now := int64(l.now().Sub(l.base))
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.keys[key]
	var tat int64
	if e != nil {
		tat = e.tat
	}
	if over := max(tat, now) + int64(n)*l.interval - now - l.burst; over > 0 {
		return time.Duration(over), false
	}
	for range n {
		l.charge(key, e, now)
		e = l.keys[key]
	}
	return 0, true
}

// charge counts one event for key (its entry e, nil when untracked) at
// now. l.mu is held.
func (l *Limiter) charge(key string, e *entry, now int64) {
	if e == nil {
		if len(l.keys) >= l.maxKeys {
			l.evict()
		}
		e = &entry{key: key}
		l.keys[key] = e
	} else {
		e.unlink()
	}
	// Debt is capped at one more burst, so a key is never locked out for
	// longer than about two Per after its last charge.
	e.tat = min(max(e.tat, now)+l.interval, now+2*l.burst)
	e.prev, e.next = &l.lru, l.lru.next
	l.lru.next.prev = e
	l.lru.next = e
}

// evict drops the least recently charged key. l.mu is held.
func (l *Limiter) evict() {
	last := l.lru.prev
	if last == &l.lru {
		return
	}
	last.unlink()
	delete(l.keys, last.key)
}

func (e *entry) unlink() {
	e.prev.next = e.next
	e.next.prev = e.prev
	e.prev, e.next = nil, nil
}

// Len returns how many keys are tracked.
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.keys)
}
