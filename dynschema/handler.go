package dynschema

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/monobase/monobase/apperr"
	"github.com/monobase/monobase/auth"
)

// graphqlHandler picks a transport per request like gqlgen's handler.Server
// and runs it on the engine (the version-switching GraphExecutor).
type graphqlHandler struct {
	e          *Engine
	transports []graphql.Transport
	// closing ends when the hub closes (server shutdown): every WebSocket
	// request runs on a context that ends with it, so gqlgen closes the
	// socket (with 1001, see gorillaConn.WriteClose). Nil without a hub.
	closing context.Context
}

func (e *Engine) newHandler() *graphqlHandler {
	h := &graphqlHandler{e: e}
	if hub := e.cfg.Hub; hub != nil {
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			<-hub.Done()
			cancel()
		}()
		h.closing = ctx
	}
	h.transports = []graphql.Transport{
		transport.Websocket{
			Implementation: gorillaWS{e: e, closing: h.closing},
			InitFunc:       e.wsInit,
			// No timer of gqlgen's: the connection's read deadline bounds the
			// wait for connection_init and closes with 4408 (ws_protocol.go).
			InitTimeout:           0,
			KeepAlivePingInterval: 15 * time.Second,
			PingPongInterval:      25 * time.Second,
		},
		transport.Options{AllowedMethods: []string{"OPTIONS", "GET", "POST"}},
		transport.GET{},
		postJSON{}, // transport.POST with a raw response writer (transport_post.go)
		multipartForm{ // transport_multipart.go
			maxUploadSize: e.limits.MaxUploadBytes,
			maxMemory:     8 << 20,
			tempDir:       e.uploadTempDir,
		},
	}
	return h
}

type methodKey struct{}

// requestMethod returns the HTTP method of the request that carries ctx.
func requestMethod(ctx context.Context) string {
	if m, ok := ctx.Value(methodKey{}).(string); ok {
		return m
	}
	return "POST"
}

func (h *graphqlHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if rec := recover(); rec != nil {
			err := recoverFunc(r.Context(), rec)
			writeError(w, http.StatusInternalServerError, present(r.Context(), err))
		}
	}()
	isWS := r.Header.Get("Upgrade") != ""
	if isWS && !h.e.checkOrigin(r) {
		writeError(w, http.StatusForbidden, &gqlerror.Error{
			Message:    "WebSocket origin not allowed: use the server's own host (or --dev)",
			Extensions: map[string]any{"code": string(apperr.Forbidden)},
		})
		return
	}
	if r.Method == http.MethodGet && !isWS && wantsHTML(r) {
		target := "/playground"
		if r.URL.RawQuery != "" {
			target += "?" + r.URL.RawQuery
		}
		http.Redirect(w, r, target, http.StatusFound)
		return
	}
	if !isWS && r.Body != nil && r.Body != http.NoBody {
		max := h.e.limits.MaxJSONBytes
		if isMultipart(r) {
			max = h.e.limits.MaxBodyBytes
		}
		if r.ContentLength > max {
			tooLarge(w, max)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, max)
		if r.ContentLength < 0 && isJSON(r) {
			// Read unknown-length JSON bodies here so an oversized one is a
			// clean 413 rather than a transport decoding error.
			body, err := io.ReadAll(r.Body)
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				tooLarge(w, max)
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
	}
	ctx := context.WithValue(r.Context(), methodKey{}, r.Method)
	ctx = withRequestQuery(ctx, r) // @request.query (rules.go)
	if isWS {
		// At most MaxSocketsPerIP open sockets per client address, refused
		// before the upgrade.
		ip := clientIP(r)
		if !h.e.sockets.acquireIP(ip, h.e.limits.MaxSocketsPerIP) {
			w.Header().Set("Retry-After", "10")
			writeError(w, http.StatusTooManyRequests, &gqlerror.Error{
				Message:    fmt.Sprintf("too many WebSocket connections from this address (at most %d)", h.e.limits.MaxSocketsPerIP),
				Extensions: map[string]any{"code": string(apperr.RateLimited)},
			})
			return
		}
		defer h.e.sockets.releaseIP(ip)
		link := &wsLink{} // filled in by gorillaWS.Accept and wsInit
		defer h.e.sockets.unregister(link)
		ctx = context.WithValue(ctx, wsLinkKey{}, link)
	}
	if isWS && h.closing != nil {
		var cancel context.CancelFunc
		ctx, cancel = context.WithCancel(ctx)
		defer cancel()
		// closing is a cancelCtx: AfterFunc registers without a goroutine.
		defer context.AfterFunc(h.closing, cancel)()
	}
	r = r.WithContext(graphql.StartOperationTrace(ctx))
	for _, t := range h.transports {
		if t.Supports(r) {
			t.Do(w, r, h.e)
			return
		}
	}
	w.Header().Set("Allow", "GET, POST, OPTIONS")
	writeError(w, http.StatusMethodNotAllowed, &gqlerror.Error{Message: "use GET, POST (application/json or multipart/form-data) or a WebSocket"})
}

func wantsHTML(r *http.Request) bool {
	accept := r.Header.Get("Accept")
	return strings.Contains(accept, "text/html") && r.URL.Query().Get("query") == ""
}

func isJSON(r *http.Request) bool { return mediaType(r) == "application/json" }

func isMultipart(r *http.Request) bool { return mediaType(r) == "multipart/form-data" }

func mediaType(r *http.Request) string {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return mt
}

func tooLarge(w http.ResponseWriter, max int64) {
	e := apperr.New(apperr.TooLarge, "the request body is larger than %d bytes", max)
	writeError(w, http.StatusRequestEntityTooLarge, &gqlerror.Error{
		Message:    e.Message,
		Extensions: map[string]any{"code": string(e.Code)},
	})
}

func writeError(w http.ResponseWriter, status int, errs ...*gqlerror.Error) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	b, _ := json.Marshal(&graphql.Response{Errors: errs})
	_, _ = w.Write(b)
}

// wsInit authenticates a WebSocket from its connection_init payload
// ({"Authorization": "Bearer <t>"} or {"authToken": "<t>"}). A bad token
// closes the socket with 4403.
func (e *Engine) wsInit(ctx context.Context, p transport.InitPayload) (context.Context, *transport.InitPayload, error) {
	tok := p.Authorization()
	if tok == "" {
		tok = p.GetString("authToken")
	}
	tok = strings.TrimSpace(tok)
	if len(tok) > 7 && strings.EqualFold(tok[:7], "bearer ") {
		tok = strings.TrimSpace(tok[7:])
	}
	if tok == "" {
		return ctx, nil, nil
	}
	var err error
	nctx := ctx
	seen := e.sockets.seq()
	if e.cfg.Auth == nil {
		err = apperr.New(apperr.Unauthenticated, "authentication is not configured")
	} else {
		nctx, err = e.cfg.Auth.Authenticate(ctx, tok)
	}
	if err == nil {
		// Follow the viewer's record from now on (ws_session.go).
		if link, _ := ctx.Value(wsLinkKey{}).(*wsLink); link != nil {
			if v := auth.ViewerFrom(nctx); v != nil {
				err = e.sockets.register(ctx, e.cfg.DB, link, v, tok, seen)
			}
		}
	}
	if err != nil {
		ctx = transport.WithWebsocketCloseCode(ctx, 4403)
		ctx = transport.AppendCloseReason(ctx, "Forbidden")
		if apperr.As(err) == nil {
			err = apperr.New(apperr.Unauthenticated, "invalid or expired token")
		}
		return ctx, nil, err
	}
	return nctx, nil, nil
}
