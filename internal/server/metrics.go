package server

// This file wires package metrics into the server: the middleware that
// counts and times every request, the engine extension that tells it which
// GraphQL operation a /graphql request ran, the superuser-only /metrics on
// the main listener and the unprotected one of --metrics ADDR.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"strings"
	"sync/atomic"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/monobase/monobase/apperr"
	"github.com/monobase/monobase/auth"
	"github.com/monobase/monobase/auth/oauth"
	"github.com/monobase/monobase/backup"
	"github.com/monobase/monobase/db"
	"github.com/monobase/monobase/dynschema"
	"github.com/monobase/monobase/internal/lifetime"
	"github.com/monobase/monobase/metrics"
)

// MetricsOff is the --metrics value that turns the metrics off: no
// /metrics and no per-request counting.
const MetricsOff = "off"

// metricsState is the serve command's part for metrics.
type metricsState struct {
	metrics *metrics.Metrics // nil with --metrics off
	srv     *http.Server     // the --metrics ADDR listener's server
	ln      net.Listener
	served  chan error
}

// startMetrics makes the registry, which lives as long as the server
// (buildHandler points its gauges at each new data).
func (c *ServeCommand) startMetrics() {
	if c.Metrics == MetricsOff {
		return
	}
	c.ms.metrics = metrics.New(metrics.Options{WebSockets: c.websockets.Load, Version: Version})
}

// listenMetrics starts the --metrics ADDR listener: /metrics without
// authentication, nothing else.
func (c *ServeCommand) listenMetrics() error {
	if c.ms.metrics == nil || c.Metrics == "" {
		return nil
	}
	ln, err := net.Listen("tcp", c.Metrics)
	if err != nil {
		return fmt.Errorf("listen on %s (--metrics): %w", c.Metrics, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", c.ms.metrics.Handler())
	if c.Pprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	}
	mux.HandleFunc("/", notFound)
	c.ms.ln = ln
	c.ms.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(c.logger().Handler(), slog.LevelWarn)}
	c.ms.served = make(chan error, 1)
	go func() { c.ms.served <- c.ms.srv.Serve(ln) }()
	return nil
}

// MetricsAddr returns the address of the --metrics listener, "" without
// one.
func (c *ServeCommand) MetricsAddr() string {
	if c.ms.ln == nil {
		return ""
	}
	return c.ms.ln.Addr().String()
}

// closeMetrics stops the --metrics listener.
func (c *ServeCommand) closeMetrics(ctx context.Context) error {
	if c.ms.srv == nil {
		return nil
	}
	if err := c.ms.srv.Shutdown(ctx); err != nil {
		_ = c.ms.srv.Close()
		return fmt.Errorf("shutdown the metrics listener: %w", err)
	}
	if err := <-c.ms.served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve metrics: %w", err)
	}
	return nil
}

// metricsExtensions returns the engine extension that reports operation
// kinds, none with the metrics off.
func (c *ServeCommand) metricsExtensions() []func() graphql.HandlerExtension {
	if c.ms.metrics == nil {
		return nil
	}
	ext := operationKinds{c.ms.metrics}
	return []func() graphql.HandlerExtension{func() graphql.HandlerExtension { return ext }}
}

// wireMetrics points the gauges at the data of d and engine (called for
// each new data, at start and after a restore), and adds the
// superuser-only /metrics to mux.
func (c *ServeCommand) wireMetrics(d *db.DB, engine *dynschema.Engine, mux *http.ServeMux) {
	if c.ms.metrics == nil {
		return
	}
	c.ms.metrics.SetSource(metricsSource{d, engine})
	mux.Handle("/metrics", superusersOnly(c.ms.metrics.Handler()))
}

// metricsSource is what the gauges read of one generation of the data.
type metricsSource struct {
	*db.DB
	engine *dynschema.Engine
}

func (s metricsSource) RunningSubscriptions() int { return s.engine.RunningSubscriptions() }
func (s metricsSource) SchemaVersion() uint64     { return s.engine.SchemaVersion() }
func (s metricsSource) Collections() int          { return len(s.DB.Collections()) }

// superusersOnly answers 401 without a token and 403 for a token that is
// not a superuser's (the auth middleware has put the viewer in the
// context, and answered 401 to a bad token).
func superusersOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v := auth.ViewerFrom(r.Context())
		switch {
		case v == nil:
			w.Header().Set("WWW-Authenticate", "Bearer")
			writeCodedError(w, apperr.Unauthenticated, "a superuser's token is required (Authorization: Bearer)")
		case !v.Superuser:
			writeCodedError(w, apperr.Forbidden, "metrics are for superusers only")
		default:
			next.ServeHTTP(w, r)
		}
	})
}

// writeCodedError writes {"errors":[{"message":..,"extensions":{"code":..}}]}
// with the status of code.
func writeCodedError(w http.ResponseWriter, code apperr.Code, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(apperr.HTTPStatus(code))
	_ = json.NewEncoder(w).Encode(map[string]any{"errors": []any{map[string]any{
		"message": message, "extensions": map[string]any{"code": string(code)}}}})
}

// observedKey is the context key of a /graphql request's *observed.
type observedKey struct{}

// observed is the response writer of a counted request; for /graphql it
// is also the request's context, which carries it (Value(observedKey{}))
// to the engine extension, which leaves the operation's kind there. Being
// the context itself spares an allocation per request.
type observed struct {
	context.Context // the request's own
	statusWriter
	kind   atomic.Uint32 // metrics.Kind: GraphQL until an operation is known
	socket bool          // a WebSocket: its operations are counted one by one
}

// Value implements context.Context: the observed writer for observedKey,
// else the request context's value.
func (o *observed) Value(key any) any {
	if _, ok := key.(observedKey); ok {
		return o
	}
	return o.Context.Value(key)
}

// withMetrics counts and times every request by kind and status.
func (c *ServeCommand) withMetrics(next http.Handler) http.Handler {
	m := c.ms.metrics
	if m == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		k := routeKind(r)
		o := &observed{statusWriter: statusWriter{ResponseWriter: w}, socket: k == metrics.WebSocket}
		o.kind.Store(uint32(k))
		var life *lifetime.Lifetime
		if k == metrics.GraphQL || k == metrics.WebSocket {
			o.Context = r.Context()
			if r.Header.Get("Upgrade") != "" {
				o.Context, life = lifetime.Of(o.Context)
			}
			r = r.WithContext(o)
		}
		next.ServeHTTP(o, r)
		if life != nil && life.Taken() {
			// o stays in the socket's context: it must not keep net/http's
			// connection (and its buffers) alive (internal/lifetime).
			o.ResponseWriter = nil
		}
		status := o.status
		switch {
		case o.hijacked:
			status = http.StatusSwitchingProtocols
		case status == 0:
			status = http.StatusOK
		}
		m.Observe(metrics.Kind(o.kind.Load()), status, time.Since(start))
	})
}

// routeKind returns the kind of r by its path (a /graphql request's is
// refined by the engine extension).
func routeKind(r *http.Request) metrics.Kind {
	p := r.URL.Path
	switch {
	case p == "/graphql":
		if r.Header.Get("Upgrade") != "" {
			return metrics.WebSocket
		}
		return metrics.GraphQL
	case p == "/graphql/admin":
		return metrics.Admin
	case strings.HasPrefix(p, "/files/"):
		return metrics.Files
	case strings.HasPrefix(p, oauth.Prefix):
		return metrics.Auth
	case strings.HasPrefix(p, backup.Prefix):
		return metrics.Backups
	case p == "/health":
		return metrics.Health
	}
	return metrics.Other
}

// operationKinds is the engine extension that reports the kind of each
// operation once it is parsed and validated: to the request's observed
// writer, or for an operation on a WebSocket, as one count of its own.
type operationKinds struct{ m *metrics.Metrics }

func (operationKinds) ExtensionName() string                   { return "MonobaseMetrics" }
func (operationKinds) Validate(graphql.ExecutableSchema) error { return nil }

// MutateOperationContext implements graphql.OperationContextMutator.
func (x operationKinds) MutateOperationContext(ctx context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	o, _ := ctx.Value(observedKey{}).(*observed)
	if o == nil || oc.Operation == nil {
		return nil
	}
	k := metrics.Query
	switch oc.Operation.Operation {
	case ast.Mutation:
		k = metrics.Mutation
	case ast.Subscription:
		k = metrics.Subscription
	}
	if o.socket {
		x.m.SocketOperation(k)
	} else {
		o.kind.Store(uint32(k))
	}
	return nil
}
