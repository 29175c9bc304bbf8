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
		Limits:      e.limits.Transport,
		Dev:         e.cfg.Dev,
		AllowOrigin: e.cfg.AllowOrigin,
		ClientIP:    e.cfg.ClientIP,
		UploadDir:   e.uploadTempDir,
	}
	if hub := e.cfg.Hub; hub != nil {
		cfg.Shutdown = hub.Done()
	}
	e.tr = transport.New(e, cfg)
	return e.tr
}

type httpRequestKey struct{}

// httpRequestOf returns the HTTP request that carries ctx (for the rules'
// @request.method and @request.query), nil outside one.
func httpRequestOf(ctx context.Context) *http.Request {
	r, _ := ctx.Value(httpRequestKey{}).(*http.Request)
	return r
}

// RequestContext implements transport.Engine: ctx carrying r, from which
// the rules read @request.method and @request.query. One pointer in one
// context value: no allocation beyond the value itself.
func (e *Engine) RequestContext(ctx context.Context, r *http.Request) context.Context {
	return context.WithValue(ctx, httpRequestKey{}, r)
}
