package transport

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/monobase/monobase/apperr"
	"github.com/monobase/monobase/internal/lifetime"
)

// A WebSocket's HTTP handler returns once the connection is upgraded when
// the middleware around it allows it (internal/lifetime): the connection
// then runs on a goroutine of its own, and net/http drops what it kept for
// the request while its handler ran (the connection's 4 KiB reader and
// writer, the response, the handler goroutine's stack, deep with
// middleware). An idle subscriber costs that much less.

// acquireSocket counts one more socket (a WebSocket or an SSE stream) of
// r's client address and returns the address, or answers 429 when it has
// Limits.MaxSocketsPerIP open already (what names them in the message).
func (h *Handler) acquireSocket(w http.ResponseWriter, r *http.Request, lim *Limits, what string) (string, bool) {
	ip := h.clientIP(r)
	if !h.sockets.acquire(ip, lim.MaxSocketsPerIP) {
		w.Header().Set("Retry-After", "10")
		writeError(w, http.StatusTooManyRequests, &gqlerror.Error{
			Message:    fmt.Sprintf("too many %s from this address (at most %d)", what, lim.MaxSocketsPerIP),
			Extensions: map[string]any{"code": string(apperr.RateLimited)},
		})
		return "", false
	}
	return ip, true
}

// serveSocket runs a WebSocket request: the per-address bound, the
// engine's session, and the socket's own (ws_session.go), detached from
// the handler after the upgrade when ctx carries a Lifetime.
func (h *Handler) serveSocket(w http.ResponseWriter, r *http.Request, ctx context.Context, lim *Limits) {
	// Refused before the upgrade.
	ip, ok := h.acquireSocket(w, r, lim, "WebSocket connections")
	if !ok {
		return
	}
	ctx, endSession := h.eng.OpenSocket(ctx)
	ctx, cancel := context.WithCancel(ctx)
	stopClosing := func() bool { return false }
	if h.closing != nil {
		// closing is a cancelCtx: AfterFunc registers without a goroutine.
		stopClosing = context.AfterFunc(h.closing, cancel)
	}
	end := func() {
		stopClosing()
		cancel()
		endSession()
		h.sockets.release(ip)
	}
	r = r.WithContext(graphql.StartOperationTrace(ctx))
	up := &wsUpgrade{upgraded: make(chan struct{})} // conn filled in by gorillaWS.accept
	life := lifetime.From(ctx)
	up.detached = life != nil && life.Take()
	if !up.detached {
		defer end()
		if run := h.ws.open(w, r, up); run != nil {
			run()
		}
		return
	}
	// Detached: the socket is opened on a goroutine of its own; the handler
	// waits for the upgrade (after which w is no longer used) or for the
	// opening to end without one (it answered through w). The socket's
	// reading loop then runs on a fresh goroutine, whose stack starts small
	// (wsTransport.open), and the socket ends with it.
	done := make(chan struct{})
	go func() {
		handedOff := false
		defer func() {
			if !handedOff {
				end()
				life.End()
			}
		}()
		defer close(done)
		defer recoverSocket(ctx, up, w)
		if run := h.ws.open(w, r, up); run != nil {
			handedOff = true
			go func() {
				defer life.End()
				defer end()
				defer recoverSocket(ctx, up, w)
				run()
			}()
		}
	}()
	select {
	case <-up.upgraded:
	case <-done:
	}
}

// recoverSocket, deferred, logs a panic of a detached socket's goroutine
// and closes the socket, or answers 500 before the upgrade.
func recoverSocket(ctx context.Context, up *wsUpgrade, w http.ResponseWriter) {
	rec := recover()
	if rec == nil {
		return
	}
	slog.ErrorContext(ctx, "panic in a WebSocket connection", "panic", fmt.Sprint(rec), "stack", string(debug.Stack()))
	if up.conn != nil {
		_ = up.conn.Close()
		return
	}
	writeError(w, http.StatusInternalServerError, &gqlerror.Error{Message: "internal server error",
		Extensions: map[string]any{"code": string(apperr.Internal)}})
}
