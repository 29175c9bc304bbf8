package transport

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"sync/atomic"

	"github.com/99designs/gqlgen/graphql"
	gqltransport "github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/monobase/monobase/apperr"
	"github.com/monobase/monobase/gqlerr"
)

// Handler serves GraphQL over HTTP: it picks a transport per request like
// gqlgen's handler.Server and runs it on the engine.
type Handler struct {
	eng  Engine
	exec graphql.GraphExecutor // eng, converted once
	// cfgLimits are the limits of Config, as given; limits are those in
	// force (defaults filled in, the body and batch sizes changed by SetLimits),
	// read with one atomic load per request.
	cfgLimits  Limits
	limits     atomic.Pointer[Limits]
	dev        bool
	allow      func(origin string) bool   // Config.AllowOrigin
	clientIP   func(*http.Request) string // Config.ClientIP
	sockets    ipCounter                  // open WebSockets per client IP
	transports []graphql.Transport        // of the requests that are not WebSocket upgrades
	post       postJSON                   // the one of them most requests take, tried first
	sse        sseTransport               // the one before it that also takes a POST of JSON
	ws         wsTransport                // of the WebSocket upgrades (serveSocket)
	// closing ends when Config.Shutdown closes: every WebSocket request
	// runs on a context that ends with it, so its session closes the
	// socket (with 1001, see gorillaConn.WriteClose). Nil without Shutdown.
	closing context.Context
}

// New returns the handler of eng's operations.
func New(eng Engine, cfg Config) *Handler {
	h := &Handler{eng: eng, exec: eng, cfgLimits: cfg.Limits, dev: cfg.Dev,
		allow: cfg.AllowOrigin, clientIP: cfg.ClientIP}
	lim := cfg.Limits.withDefaults()
	h.limits.Store(&lim)
	if h.clientIP == nil {
		h.clientIP = peerIP
	}
	if done := cfg.Shutdown; done != nil {
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			<-done
			cancel()
		}()
		h.closing = ctx
	}
	h.ws = wsTransport{h: h, impl: gorillaWS{initTimeout: lim.WSInitTimeout, closing: h.closing, pinger: newWSPinger(), flusher: newWSFlusher()}}
	h.post, h.sse = postJSON{limits: &h.limits}, sseTransport{h: h}
	h.transports = []graphql.Transport{
		gqltransport.Options{AllowedMethods: []string{"OPTIONS", "GET", "POST"}},
		h.sse, // Accept: text/event-stream (sse.go)
		gqltransport.GET{},
		h.post, // gqltransport.POST with a raw response writer (post.go), and batches (batch.go)
		multipartForm{ // multipart.go
			limits:    &h.limits,
			maxMemory: 8 << 20,
			tempDir:   cfg.UploadDir,
		},
	}
	return h
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if rec := recover(); rec != nil {
			slog.ErrorContext(r.Context(), "panic in a GraphQL transport", "panic", fmt.Sprint(rec), "stack", string(debug.Stack()))
			err := apperr.Wrap(fmt.Errorf("panic: %v", rec), "internal server error")
			writeError(w, http.StatusInternalServerError, gqlerr.Present(r.Context(), err))
		}
	}()
	isWS := r.Header.Get("Upgrade") != ""
	if isWS && !h.checkOrigin(r) {
		writeError(w, http.StatusForbidden, &gqlerror.Error{
			Message:    "WebSocket origin not allowed: use the server's own host or an allowed CORS origin (settings.cors.allowedOrigins)",
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
	lim := h.limits.Load()
	if !isWS && r.Body != nil && r.Body != http.NoBody {
		max := lim.MaxJSONBytes
		if isMultipart(r) {
			max = lim.MaxBodyBytes
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
	ctx := h.eng.RequestContext(r.Context(), r)
	if isWS {
		h.serveSocket(w, r, ctx, lim)
		return
	}
	if h.post.Supports(r) && !h.sse.Supports(r) {
		// A POST of JSON that no transport before it takes (OPTIONS and
		// GET want other methods, SSE an event stream): served on ctx
		// without a copy of r.
		h.post.serve(w, r, ctx, h.exec)
		return
	}
	r = r.WithContext(graphql.StartOperationTrace(ctx))
	for _, t := range h.transports {
		if t.Supports(r) {
			t.Do(w, r, h.exec)
			return
		}
	}
	methodNotAllowed(w)
}

// methodNotAllowed answers a request no transport supports.
func methodNotAllowed(w http.ResponseWriter) {
	w.Header().Set("Allow", "GET, POST, OPTIONS")
	writeError(w, http.StatusMethodNotAllowed, &gqlerror.Error{Message: "use GET, POST (application/json or multipart/form-data) or a WebSocket"})
}

// Limits returns the limits in force, defaults filled in.
func (h *Handler) Limits() Limits { return *h.limits.Load() }

// SetLimits makes n the largest request body, uploads included, and
// batch the most operations of a batched request, for the requests that
// follow (settings.limits.maxBodySize and maxBatch): the multipart limit
// becomes n (or Config's MaxUploadBytes when that is set and smaller) and
// the JSON limit the smaller of n and Config's MaxJSONBytes (8 MiB by
// default). n or batch <= 0 puts Config's limit back. Requests already
// reading their body keep the limits they started with.
func (h *Handler) SetLimits(n int64, batch int) {
	l := h.cfgLimits
	if n > 0 {
		l.MaxBodyBytes = n
	}
	if batch > 0 {
		l.MaxBatchOperations = batch
	}
	l = l.withDefaults()
	h.limits.Store(&l)
}

func wantsHTML(r *http.Request) bool {
	accept := r.Header.Get("Accept")
	return strings.Contains(accept, "text/html") && r.URL.Query().Get("query") == ""
}

func isJSON(r *http.Request) bool { return mediaType(r) == "application/json" }

func isMultipart(r *http.Request) bool { return mediaType(r) == "multipart/form-data" }

// mediaType returns the request's media type, lower case, without its
// parameters. It runs on every request, so it does not parse the
// parameters (mime.ParseMediaType allocates a map).
func mediaType(r *http.Request) string {
	ct := r.Header.Get("Content-Type")
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	ct = strings.TrimSpace(ct)
	for i := 0; i < len(ct); i++ {
		if c := ct[i]; 'A' <= c && c <= 'Z' {
			return strings.ToLower(ct)
		}
	}
	return ct
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
