package dynschema

import (
	"context"
	"net/http"

	"github.com/monobase/monobase/transport"
)

// The engine behind the transports: Engine implements transport.Engine
// (the executor plus the WebSocket session hooks of ws_session.go), and
// Handler serves it through the transport package.
var _ transport.Engine = (*Engine)(nil)

// newHandler returns the /graphql handler of e: the transports with e's
// limits, closing sockets with 1001 when the hub closes.
func (e *Engine) newHandler() http.Handler {
	cfg := transport.Config{
		Limits: transport.Limits{
			MaxBodyBytes:    e.limits.MaxBodyBytes,
			MaxUploadBytes:  e.limits.MaxUploadBytes,
			MaxJSONBytes:    e.limits.MaxJSONBytes,
			MaxSocketsPerIP: e.limits.MaxSocketsPerIP,
			WSInitTimeout:   e.limits.WSInitTimeout,
		},
		Dev:       e.cfg.Dev,
		UploadDir: e.uploadTempDir,
	}
	if hub := e.cfg.Hub; hub != nil {
		cfg.Shutdown = hub.Done()
	}
	return transport.New(e, cfg)
}

type methodKey struct{}

// requestMethod returns the HTTP method of the request that carries ctx.
func requestMethod(ctx context.Context) string {
	if m, ok := ctx.Value(methodKey{}).(string); ok {
		return m
	}
	return "POST"
}

// RequestContext implements transport.Engine: ctx carrying r's method and
// URL query for the rules' @request.method and @request.query.
func (e *Engine) RequestContext(ctx context.Context, r *http.Request) context.Context {
	ctx = context.WithValue(ctx, methodKey{}, r.Method)
	return withRequestQuery(ctx, r) // rules.go
}
