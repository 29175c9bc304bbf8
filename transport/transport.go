// Package transport owns how GraphQL operations reach a server over HTTP:
// it picks a transport per request (POST with a JSON body, GET, multipart
// uploads per the GraphQL multipart request spec, WebSocket with
// graphql-transport-ws and the legacy graphql-ws), enforces the body
// limits, the WebSocket origin check and the per-IP socket cap, speaks the
// WebSocket protocols on gorilla/websocket through gqlgen's transport
// (close codes, batched writes, 1001 on shutdown) and hands each operation
// to an engine through the Engine interface it declares. It knows nothing
// of the engine behind that interface: the engine imports this package for
// its small types (Route, AppendResponse), never the other way round.
package transport

import (
	"context"
	"net/http"
	"time"

	"github.com/99designs/gqlgen/graphql"
)

// Engine is what the transports need from a GraphQL engine: executing
// operations, plus the few hooks of the WebSocket sessions.
type Engine interface {
	graphql.GraphExecutor

	// RequestContext returns the context the operations of the HTTP
	// request r run on: ctx with what the engine keeps of r (for example
	// the method and URL query its rules read). It is called once per
	// request, WebSocket upgrades included.
	RequestContext(ctx context.Context, r *http.Request) context.Context

	// OpenSocket starts the engine's session of a WebSocket request, just
	// before the upgrade: it returns the context of the socket's
	// operations and the func that ends the session when the socket
	// closes.
	OpenSocket(ctx context.Context) (context.Context, func())

	// AuthenticateSocket authenticates the token a socket sent in its
	// connection_init, on the session of ctx (from OpenSocket). It returns
	// the context of the socket's operations from then on, or the error
	// that refuses the socket (sent to the client, which is then closed
	// with 4403).
	AuthenticateSocket(ctx context.Context, token string) (context.Context, error)
}

// Limits bound what a request may send; zero values take the defaults.
type Limits struct {
	MaxBodyBytes   int64 // request body including uploads (default 32 MiB)
	MaxUploadBytes int64 // multipart body (default MaxBodyBytes, at most MaxBodyBytes)
	MaxJSONBytes   int64 // a JSON or GET request (default 8 MiB, at most MaxBodyBytes)
	// MaxSocketsPerIP bounds the open WebSockets from one client IP
	// (default 1000); one more is refused with HTTP 429 before the upgrade.
	MaxSocketsPerIP int
	// WSInitTimeout is how long a new WebSocket may take to send
	// connection_init (default 30 s); then it is closed with 4408.
	WSInitTimeout time.Duration
}

// withDefaults returns l with every zero (or out of range) limit set to
// its default.
func (l Limits) withDefaults() Limits {
	if l.MaxBodyBytes <= 0 {
		l.MaxBodyBytes = 32 << 20
	}
	if l.MaxUploadBytes <= 0 || l.MaxUploadBytes > l.MaxBodyBytes {
		l.MaxUploadBytes = l.MaxBodyBytes
	}
	if l.MaxJSONBytes <= 0 {
		l.MaxJSONBytes = 8 << 20
	}
	l.MaxJSONBytes = min(l.MaxJSONBytes, l.MaxBodyBytes)
	if l.MaxSocketsPerIP <= 0 {
		l.MaxSocketsPerIP = 1000
	}
	if l.WSInitTimeout <= 0 {
		l.WSInitTimeout = 30 * time.Second
	}
	return l
}

// Config sets up a Handler.
type Config struct {
	Limits Limits
	// Dev accepts WebSockets from any origin (development mode) when
	// AllowOrigin is nil.
	Dev bool
	// AllowOrigin reports whether a browser's WebSocket from origin (its
	// Origin header), another than the server's own, may connect: the
	// allowed CORS origins. Nil: only with Dev. A socket without Origin
	// (not a browser) or from the server's own host is always accepted.
	AllowOrigin func(origin string) bool
	// ClientIP returns the client address of a request, whose open
	// sockets Limits.MaxSocketsPerIP counts (behind a trusted proxy, the
	// IP its header gives). Nil: the connection's peer.
	ClientIP func(*http.Request) string
	// Shutdown is closed when the server shuts down: open sockets are then
	// closed with 1001 "going away". Nil: never.
	Shutdown <-chan struct{}
	// UploadDir returns the folder that multipart uploads too large for
	// memory are spooled into; nil or "": os.TempDir().
	UploadDir func() string
}
