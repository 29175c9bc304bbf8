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
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/monobase/monobase/apperr"
	"github.com/monobase/monobase/gqlerr"
)

// GraphQL over Server-Sent Events: the graphql-sse protocol
// (https://github.com/enisdenjo/graphql-sse/blob/master/PROTOCOL.md) in
// distinct-connections mode. A GET (query string) or POST (JSON body)
// to /graphql with Accept: text/event-stream runs one operation whose
// results stream back as `event: next` messages, each an execution result,
// then one `event: complete`; closing the request stops the operation.
//
// An SSE request is a session like a WebSocket: the engine opens one
// (Engine.OpenSocket) and authenticates the Authorization header on it
// (Engine.AuthenticateSocket), so that a revoked or expired token ends the
// stream's subscription with UNAUTHENTICATED, as on a socket. Streams
// count towards Limits.MaxSocketsPerIP with the sockets. A subscription's
// events take its Route straight onto the stream's write queue (sseStream,
// bounded to sseMaxQueued bytes: a client that falls further behind is
// ended as a slow consumer); one goroutine per stream writes the queue to
// the connection, with a deadline per write, and a comment line (":")
// every Limits.SSEKeepAlive while nothing else is sent.
//
// Errors found before execution (parse, validation, a cost limit) come as
// a `next` event with the errors, then `complete`, as the protocol asks. A
// request that cannot be read, a refused token, the per-IP cap and a
// mutation sent with GET are answered before the stream starts, with a
// JSON error and the status a plain request would get.

const (
	// sseMaxQueued bounds the bytes waiting to be written on one stream,
	// like wsMaxQueued on a socket.
	sseMaxQueued = wsMaxQueued
	// sseWriteTimeout bounds one write to the connection and a wait for
	// room in the queue.
	sseWriteTimeout = wsWriteTimeout
)

var (
	// sseNextHead and sseTail frame a result as a `next` event.
	sseNextHead = []byte("event: next\ndata: ")
	sseTail     = []byte("\n\n")
	sseComplete = []byte("event: complete\ndata: \n\n")
	sseComment  = []byte(":\n\n")
)

// errSSEClosed is returned by writes once the stream stopped writing.
var errSSEClosed = errors.New("sse: stream closed")

// sseTransport is the graphql.Transport of SSE requests.
type sseTransport struct{ h *Handler }

var _ graphql.Transport = sseTransport{}

// Supports implements graphql.Transport: a GET, or a POST with a JSON
// body, whose Accept names text/event-stream first. Clients such as urql
// list text/event-stream after the JSON types for incremental delivery;
// they want JSON.
func (t sseTransport) Supports(r *http.Request) bool {
	if r.Header.Get("Upgrade") != "" || !prefersEventStream(r.Header.Get("Accept")) {
		return false
	}
	return r.Method == http.MethodGet || r.Method == http.MethodPost && isJSON(r)
}

// Do implements graphql.Transport.
func (t sseTransport) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	h := t.h
	lim := h.limits.Load()
	start := graphql.Now()
	params, status, perr := readSSEParams(r)
	if perr != nil {
		writeError(w, status, perr)
		return
	}
	params.Headers = r.Header
	params.ReadTime = graphql.TraceTiming{Start: start, End: graphql.Now()}
	ip, ok := h.acquireSocket(w, r, lim, "WebSocket and SSE connections")
	if !ok {
		return
	}
	defer h.sockets.release(ip)
	ctx, end := h.eng.OpenSocket(r.Context())
	defer end()
	if tok := bearerToken(r.Header.Get("Authorization")); tok != "" {
		nctx, err := h.eng.AuthenticateSocket(ctx, tok)
		if err != nil {
			if apperr.As(err) == nil {
				err = apperr.New(apperr.Unauthenticated, "invalid or expired token")
			}
			gerr := gqlerr.Present(ctx, err)
			code, _ := gerr.Extensions["code"].(string)
			if code == string(apperr.Unauthenticated) {
				w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			}
			writeError(w, apperr.HTTPStatus(apperr.Code(code)), gerr)
			return
		}
		ctx = nctx
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if h.closing != nil {
		// The server is shutting down: the stream ends (its subscription
		// completes, as the hub closes).
		defer context.AfterFunc(h.closing, cancel)()
	}
	oc, errs := exec.CreateOperationContext(ctx, params)
	if errs == nil && r.Method == http.MethodGet && oc.Operation != nil && oc.Operation.Operation == ast.Mutation {
		w.Header().Set("Allow", "POST")
		writeError(w, http.StatusMethodNotAllowed, &gqlerror.Error{
			Message:    "a mutation over SSE must be sent with POST",
			Extensions: map[string]any{"code": string(apperr.Invalid)},
		})
		return
	}
	// A subscription joins its events here, before the response's head is
	// sent: a client that sees the head is subscribed.
	var responses graphql.ResponseHandler
	opCtx := ctx
	s := newSSEStream(w, http.NewResponseController(w))
	if errs == nil {
		dctx := graphql.WithOperationContext(ctx, oc)
		if oc.Operation != nil && oc.Operation.Operation == ast.Subscription {
			dctx = withRoute(dctx, &Route{q: s, head: sseNextHead, tail: sseTail})
		}
		responses, opCtx = exec.DispatchOperation(dctx, oc)
	}
	// The body is read: the stream may outlast the body's read deadline
	// (a read deadline that passes would cancel the request).
	_ = s.rc.SetReadDeadline(time.Time{})
	if err := s.start(); err != nil {
		slog.DebugContext(ctx, "sse: start the stream", "err", err)
		return
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		runSSE(opCtx, exec, oc, errs, responses, s)
	}()
	s.serve(ctx, done, lim.SSEKeepAlive)
	cancel()
	<-done
}

// runSSE writes the results of responses (or errs, the operation's errors
// before execution) onto s: each a next event, then complete.
func runSSE(ctx context.Context, exec graphql.GraphExecutor, oc *graphql.OperationContext, errs gqlerror.List,
	responses graphql.ResponseHandler, s *sseStream) {
	defer func() {
		if rec := recover(); rec != nil {
			slog.ErrorContext(ctx, "panic in a GraphQL SSE operation", "panic", fmt.Sprint(rec), "stack", string(debug.Stack()))
			err := apperr.Wrap(fmt.Errorf("panic: %v", rec), "internal server error")
			if s.writeResponse(&graphql.Response{Errors: gqlerror.List{gqlerr.Present(ctx, err)}}) == nil {
				_ = s.writeEvent(sseComplete, nil)
			}
		}
	}()
	if errs != nil {
		if s.writeResponse(exec.DispatchError(graphql.WithOperationContext(ctx, oc), errs)) == nil {
			_ = s.writeEvent(sseComplete, nil)
		}
		return
	}
	for {
		resp := responses(ctx)
		if resp == nil {
			break
		}
		if s.writeResponse(resp) != nil {
			return
		}
	}
	_ = s.writeEvent(sseComplete, nil)
}

// readSSEParams reads the operation of an SSE request: the query string of
// a GET (query, operationName, variables and extensions as JSON), the JSON
// body of a POST. It returns the status and error of a request that cannot
// be read.
func readSSEParams(r *http.Request) (*graphql.RawParams, int, *gqlerror.Error) {
	p := &graphql.RawParams{}
	if r.Method == http.MethodGet {
		q := r.URL.Query()
		p.Query, p.OperationName = q.Get("query"), q.Get("operationName")
		for _, f := range []struct {
			name string
			dst  *map[string]any
		}{{"variables", &p.Variables}, {"extensions", &p.Extensions}} {
			v := q.Get(f.name)
			if v == "" {
				continue
			}
			dec := json.NewDecoder(strings.NewReader(v))
			dec.UseNumber()
			if err := dec.Decode(f.dst); err != nil {
				return nil, http.StatusBadRequest, gqlerror.Errorf("%s could not be decoded: %s", f.name, jsonErrorText(err))
			}
		}
		return p, 0, nil
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		status, msg := readErrorStatus(err)
		return nil, status, msg
	}
	if !decodeParams(body, p) {
		*p = graphql.RawParams{}
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		if err := dec.Decode(p); err != nil {
			return nil, http.StatusBadRequest, gqlerror.Errorf("json request body could not be decoded: %s", jsonErrorText(err))
		}
	}
	return p, 0, nil
}

// bearerToken returns the token of an Authorization header ("Bearer x" or
// a bare token), "" without one.
func bearerToken(header string) string {
	tok := strings.TrimSpace(header)
	if len(tok) > 7 && strings.EqualFold(tok[:7], "bearer ") {
		tok = strings.TrimSpace(tok[7:])
	}
	return tok
}

// prefersEventStream reports whether the first media type of an Accept
// header is text/event-stream.
func prefersEventStream(accept string) bool {
	first, _, _ := strings.Cut(accept, ",")
	first, _, _ = strings.Cut(first, ";")
	return strings.EqualFold(strings.TrimSpace(first), "text/event-stream")
}
