package ratelimit

import (
	"context"
	"crypto/sha256"
	"strings"
	"time"

	"github.com/monobase/monobase/apperr"
)

// SignInLimits bound failed password sign-ins; zero fields take the
// defaults. Only failures are counted (a correct password costs nothing),
// but the budgets are checked before every password check, so once one is
// spent even a correct password waits: that is what makes guessing slow.
type SignInLimits struct {
	// PerIdentity is the failed sign-ins allowed per identity (email or
	// username, lowercased and trimmed) of one auth collection, whether or
	// not a record has that identity. Default 5 per minute.
	PerIdentity Limit
	// PerIP is the failed sign-ins allowed per client IP address (IPv6 by
	// /64), over all identities and collections. Default 20 per minute.
	PerIP Limit
	// MaxKeys is how many identities, and how many addresses, are tracked
	// at once (the least recently failed are forgotten first). Default
	// 50,000 each: a few MiB at most.
	MaxKeys int
}

// The defaults of SignInLimits.
var (
	DefaultPerIdentity = Limit{Burst: 5, Per: time.Minute}
	DefaultPerIP       = Limit{Burst: 20, Per: time.Minute}
)

// DefaultMaxKeys is the default of SignInLimits.MaxKeys.
const DefaultMaxKeys = 50_000

// WithDefaults returns l with its zero fields set to the defaults.
func (l SignInLimits) WithDefaults() SignInLimits {
	l.PerIdentity = l.PerIdentity.or(DefaultPerIdentity)
	l.PerIP = l.PerIP.or(DefaultPerIP)
	if l.MaxKeys <= 0 {
		l.MaxKeys = DefaultMaxKeys
	}
	return l
}

// SignIn guards password sign-ins with the budgets of SignInLimits. It is
// safe for concurrent use.
type SignIn struct {
	identity *Limiter // nil when off
	ip       *Limiter // nil when off
}

// NewSignIn returns a guard with the limits (zero fields: the defaults) on
// the clock now (time.Now when nil).
func NewSignIn(limits SignInLimits, now func() time.Time) *SignIn {
	l := limits.WithDefaults()
	g := &SignIn{}
	if !l.PerIdentity.Off() {
		g.identity = New(l.PerIdentity, l.MaxKeys, now)
	}
	if !l.PerIP.Off() {
		g.ip = New(l.PerIP, l.MaxKeys, now)
	}
	return g
}

// Check returns nil when a sign-in to the collection (its id) as identity,
// from the client IP of ctx, may check a password now. Otherwise it
// returns a RATE_LIMITED error with the wait, the same for every identity
// whether or not it exists, and marks the HTTP response of ctx (see
// Middleware) for status 429. It counts nothing.
func (g *SignIn) Check(ctx context.Context, collection, identity string) error {
	var wait time.Duration
	if g.identity != nil {
		if w, ok := g.identity.Check(identityKey(collection, identity)); !ok {
			wait = w
		}
	}
	if g.ip != nil {
		if ip, ok := ClientIP(ctx); ok {
			if w, ok := g.ip.Check(ip); !ok {
				wait = max(wait, w)
			}
		}
	}
	if wait == 0 {
		return nil
	}
	markLimited(ctx, wait)
	return apperr.Limited(wait, "too many failed sign-ins: try again later (extensions.retryAfter says when)")
}

// Failed counts a failed sign-in (wrong password or no such identity)
// against the identity and the client IP of ctx.
func (g *SignIn) Failed(ctx context.Context, collection, identity string) {
	if g.identity != nil {
		g.identity.Charge(identityKey(collection, identity))
	}
	if g.ip != nil {
		if ip, ok := ClientIP(ctx); ok {
			g.ip.Charge(ip)
		}
	}
}

// maxIdentityKey is the longest identity kept as it is; longer ones are
// hashed so that a key stays small whatever the client sends.
const maxIdentityKey = 128

// identityKey returns the key of identity in the collection: the
// collection id and the identity lowercased and trimmed (hashed when long).
func identityKey(collection, identity string) string {
	id := strings.ToLower(strings.TrimSpace(identity))
	if len(id) > maxIdentityKey {
		sum := sha256.Sum256([]byte(id))
		id = "sha256:" + string(sum[:])
	}
	return collection + "\x00" + id
}
