// Package transport owns how GraphQL operations reach a server over HTTP:
// it picks a transport per request (POST with a JSON body, a batch of
// them as a JSON array, GET, multipart uploads per the GraphQL multipart
// request spec, Server-Sent Events per graphql-sse, WebSocket with
// graphql-transport-ws and the legacy graphql-ws), enforces the body
// limits, the batch cap, the WebSocket origin check and the per-IP cap on
// sockets and event streams, speaks the
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
	// before the upgrade, or of an SSE request: it returns the context of
	// the connection's operations and the func that ends the session when
	// the connection closes.
	OpenSocket(ctx context.Context) (context.Context, func())

	// AuthenticateSocket authenticates the token a socket sent in its
	// connection_init (or an SSE request in its Authorization header), on
	// the session of ctx (from OpenSocket). It returns the context of the
	// connection's operations from then on, or the error that refuses it
	// (sent to the client: a socket is then closed with 4403, an SSE
	// request answered with its HTTP status).
	AuthenticateSocket(ctx context.Context, token string) (context.Context, error)
}

// Prepared is what an Engine may also implement to run, without
// gqlgen's executor, an operation it has created before: RunPrepared
// passes its response to write and returns true, or returns false,
// having done nothing, to leave params to CreateOperationContext and
// DispatchOperation. The response is only valid until write returns. A
// POST with a JSON body asks it first.
type Prepared interface {
	RunPrepared(ctx context.Context, params *graphql.RawParams, write func(*graphql.Response)) bool
}

// Limits bound what a request may send; zero values take the defaults.
type Limits struct {
	MaxBodyBytes   int64 // request body including uploads (default 32 MiB)
	MaxUploadBytes int64 // multipart body (default MaxBodyBytes, at most MaxBodyBytes)
	MaxJSONBytes   int64 // a JSON or GET request (default 8 MiB, at most MaxBodyBytes)
	// MaxSocketsPerIP bounds the open WebSockets and SSE streams from one
	// client IP, together (default 1000); one more is refused with HTTP
	// 429 before the upgrade or the stream.
	MaxSocketsPerIP int
	// WSInitTimeout is how long a new WebSocket may take to send
	// connection_init (default 30 s); then it is closed with 4408.
	WSInitTimeout time.Duration
	// SSEKeepAlive is how often an SSE stream with nothing else to send
	// gets a comment line (default 15 s), so that proxies keep it open.
	SSEKeepAlive time.Duration
	// MaxBatchOperations bounds the operations of one batched request
	// (default DefaultMaxBatchOperations, 20); more is refused with 400.
	MaxBatchOperations int
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
	if l.SSEKeepAlive <= 0 {
		l.SSEKeepAlive = 15 * time.Second
	}
	if l.MaxBatchOperations <= 0 {
		l.MaxBatchOperations = DefaultMaxBatchOperations
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
