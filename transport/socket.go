package transport

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/99designs/gqlgen/graphql"
	gqltransport "github.com/99designs/gqlgen/graphql/handler/transport"

	"github.com/monobase/monobase/apperr"
)

// What the WebSocket transport hands the engine besides operations: the
// connection_init token (Engine.AuthenticateSocket), the session's start
// and end (Engine.OpenSocket), and for each subscription read from a
// subscribe (graphql-transport-ws) or start (graphql-ws) message, the
// Route its results and its end take straight onto the socket's write
// queue (RouteOf, Route.TakeEnd): the engine's fan-out renders an event
// once and queues it on every subscriber's socket, and no goroutine waits
// for an idle subscription.

// wsUpgrade is the state of one WebSocket request's upgrade, shared by
// serveSocket and the WebSocket transport.
type wsUpgrade struct {
	conn *gorillaConn // set by gorillaWS.accept, before any operation
	// upgraded is closed by gorillaWS.accept once the connection is
	// upgraded (lifetime.go).
	upgraded chan struct{}
	// detached: the connection outlives its HTTP handler, so it reads
	// through a small buffer of its own rather than net/http's 4 KiB one.
	detached bool
}

// routeKey is the context key of an operation's *Route (a context value
// costs less than an entry in the operation's Stats, a map made for it,
// for as long as the subscription runs).
type routeKey struct{}

// withRoute returns ctx carrying r, for DispatchOperation.
func withRoute(ctx context.Context, r *Route) context.Context {
	return context.WithValue(ctx, routeKey{}, r)
}

// Route is where a subscription's results go: the write queue of its
// WebSocket or Server-Sent Events stream, and what frames each message (on
// a WebSocket, the subscription's id and the message type of the socket's
// protocol; on SSE, the "next" event's lines).
type Route struct {
	q    routeQueue
	head []byte // before the payload: `{"payload":` on a WebSocket
	tail []byte // after it: `,"id":"<id>","type":"next"}` (or "data" on graphql-ws)
	// end, set by a transport that can take a subscription's end through
	// the route (the WebSocket's), sends the last messages; taken is set
	// by TakeEnd.
	end   func(*graphql.Response)
	taken atomic.Bool
}

// TakeEnd reports whether the subscription's end can go through r, and
// if so, commits the engine to it: the engine then reports the end with
// End (once), and the transport does not wait on the operation's response
// handler, so no goroutine waits for an idle subscription.
func (r *Route) TakeEnd() bool {
	if r == nil || r.end == nil {
		return false
	}
	r.taken.Store(true)
	return true
}

// End ends a subscription whose route took its end: resp (nil: none) is
// sent, then complete. It does not wait for the socket.
func (r *Route) End(resp *graphql.Response) { r.end(resp) }

// endTaken reports whether the engine took the end (TakeEnd).
func (r *Route) endTaken() bool { return r.taken.Load() }

// routeQueue is a connection's write queue as a Route uses it: queue one
// message without waiting, or fail with errQueueFull when the connection
// has too much unsent.
type routeQueue interface {
	queueMessage(head, body, tail []byte) error
}

// RouteOf returns the route of a subscription read from a WebSocket or
// an SSE request, from the context its operation was dispatched with; nil
// for any other operation.
func RouteOf(ctx context.Context) *Route {
	r, _ := ctx.Value(routeKey{}).(*Route)
	return r
}

// payloadHead starts a next/data message; the payload and the route's tail
// follow.
var payloadHead = []byte(`{"payload":`)

// newRoute returns the route for the subscription id on conn.
func newRoute(conn *gorillaConn, id string) *Route {
	tail := []byte(`,"id":`)
	if jsonSafe(id) {
		tail = append(append(append(tail, '"'), id...), '"')
	} else {
		b, _ := json.Marshal(id) // as gqlgen encodes it in its own messages
		tail = append(tail, b...)
	}
	tail = append(tail, `,"type":"`...)
	tail = append(tail, conn.nextMessageType()...)
	return &Route{q: conn, head: payloadHead, tail: append(tail, `"}`...)}
}

// Send queues the message that carries payload, a response encoded as
// AppendResponse does, without waiting. It reports false when the
// connection has too much unsent (a slow consumer: the caller ends the
// subscription); a connection that is going away takes nothing, silently
// (its transport ends its subscriptions), and Send reports true.
func (r *Route) Send(payload []byte) bool {
	err := r.q.queueMessage(r.head, payload, r.tail)
	return !errors.Is(err, errQueueFull)
}

// wsInit authenticates a WebSocket from its connection_init payload
// ({"Authorization": "Bearer <t>"} or {"authToken": "<t>"}) through the
// engine. A refused token closes the socket with 4403 (wsSession.init).
func (h *Handler) wsInit(ctx context.Context, p gqltransport.InitPayload) (context.Context, error) {
	tok := p.Authorization()
	if tok == "" {
		tok = p.GetString("authToken")
	}
	tok = strings.TrimSpace(tok)
	if len(tok) > 7 && strings.EqualFold(tok[:7], "bearer ") {
		tok = strings.TrimSpace(tok[7:])
	}
	if tok == "" {
		return ctx, nil
	}
	nctx, err := h.eng.AuthenticateSocket(ctx, tok)
	if err != nil {
		if apperr.As(err) == nil {
			err = apperr.New(apperr.Unauthenticated, "invalid or expired token")
		}
		return ctx, err
	}
	return nctx, nil
}

// ipCounter counts the open WebSockets per client IP.
type ipCounter struct {
	mu    sync.Mutex
	perIP map[string]int
}

// peerIP returns the address a request comes from (the peer's IP).
func peerIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// acquire counts one more socket from ip; it reports false (and counts
// nothing) when max are open.
func (c *ipCounter) acquire(ip string, max int) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.perIP[ip] >= max {
		return false
	}
	if c.perIP == nil {
		c.perIP = make(map[string]int)
	}
	c.perIP[ip]++
	return true
}

func (c *ipCounter) release(ip string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.perIP[ip] <= 1 {
		delete(c.perIP, ip)
		return
	}
	c.perIP[ip]--
}
