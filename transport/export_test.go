package transport

import (
	"encoding/json"
	"time"

	"github.com/99designs/gqlgen/graphql"
)

// PostJSON is the POST transport, for the tests that compare it with
// gqlgen's on a real engine (package transport_test).
var PostJSON graphql.Transport = postJSON{}

// RouteID returns the subscription id a route's messages carry ("" for a
// nil route).
func RouteID(r *Route) string {
	if r == nil {
		return ""
	}
	if string(r.head) == string(sseNextHead) {
		return "sse"
	}
	var m struct{ ID string }
	if err := json.Unmarshal(append([]byte(`{"payload":null`), r.tail...), &m); err != nil {
		return "invalid route tail: " + err.Error()
	}
	return m.ID
}

// SetSSEKeepAlive sets the interval of h's SSE keep-alive comments.
func SetSSEKeepAlive(h *Handler, d time.Duration) {
	l := *h.limits.Load()
	l.SSEKeepAlive = d
	h.limits.Store(&l)
}

// SetMaxSocketsPerIP sets h's cap on sockets and SSE streams per IP.
func SetMaxSocketsPerIP(h *Handler, n int) {
	l := *h.limits.Load()
	l.MaxSocketsPerIP = n
	h.limits.Store(&l)
}

// PrefersEventStream exposes prefersEventStream to the tests.
var PrefersEventStream = prefersEventStream

// SetWSPing sets the keep-alive intervals of the WebSockets of the
// handlers made from now on (ws_ping.go) and returns a function that puts
// them back.
func SetWSPing(ping, keepAlive, tick time.Duration) (restore func()) {
	p, k, t := wsPingInterval, wsKeepAliveInterval, wsPingTick
	wsPingInterval, wsKeepAliveInterval, wsPingTick = ping, keepAlive, tick
	return func() { wsPingInterval, wsKeepAliveInterval, wsPingTick = p, k, t }
}
