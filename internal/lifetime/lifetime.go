// Package lifetime tells the middleware around a WebSocket request when
// the socket closes, for a socket that outlives its HTTP handler.
//
// The WebSocket transport returns from its handler once the connection is
// upgraded, so that net/http drops what it kept for the request (its
// connection buffers, the response, a goroutine deep with middleware),
// and runs the connection on a goroutine of its own. Middleware that must
// see the whole socket (the request log's entry, the count of open
// sockets) registers its end with OnEnd before calling the next handler,
// and once that returns does its end itself only when the socket was not
// taken.
package lifetime

import (
	"context"
	"slices"
	"sync"
)

// Lifetime is one WebSocket request's: the ends registered, and whether a
// socket took them over.
type Lifetime struct {
	mu        sync.Mutex
	ends      []func()
	allowed   bool
	taken     bool
	endedOnce sync.Once
}

type key struct{}

// Of returns the Lifetime of ctx, and ctx; when ctx has none, a new one
// and a context that carries it.
func Of(ctx context.Context) (context.Context, *Lifetime) {
	if l := From(ctx); l != nil {
		return ctx, l
	}
	l := &Lifetime{}
	return context.WithValue(ctx, key{}, l), l
}

// From returns the Lifetime of ctx, or nil.
func From(ctx context.Context) *Lifetime {
	l, _ := ctx.Value(key{}).(*Lifetime)
	return l
}

// OnEnd registers fn to run when a socket that took the Lifetime closes.
// Ends run once, the last registered first (inner middleware before
// outer).
func (l *Lifetime) OnEnd(fn func()) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ends = append(l.ends, fn)
}

// Allow lets a socket take the Lifetime. The middleware that calls it
// promises a context that does not end with the HTTP request
// (context.WithoutCancel) and its own cancellation of the socket.
func (l *Lifetime) Allow() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.allowed = true
}

// Take is called by the transport before its handler returns with the
// socket still open; false when no middleware allowed it (the transport
// then keeps the socket on the handler's goroutine).
func (l *Lifetime) Take() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.allowed {
		l.taken = true
	}
	return l.taken
}

// Taken reports whether a socket took the Lifetime: it will run the ends.
func (l *Lifetime) Taken() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.taken
}

// End runs the ends registered, once; the socket calls it when it closes.
func (l *Lifetime) End() {
	l.endedOnce.Do(func() {
		l.mu.Lock()
		ends := slices.Clone(l.ends)
		l.mu.Unlock()
		for _, fn := range slices.Backward(ends) {
			fn()
		}
	})
}
