package transport

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	gqltransport "github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/gorilla/websocket"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// The WebSocket protocols of /graphql, graphql-transport-ws and the legacy
// graphql-ws (also assumed without a subprotocol), run by Monobase rather
// than by gqlgen's transport, which kept two goroutines per socket for its
// whole life: one waiting for the connection's end, and one per
// subscription waiting in the executor for the subscription's end. Here an
// idle socket has one goroutine, its reader: a subscription's events and
// its end reach the socket through its Route (Route.TakeEnd), and the
// socket's context closes it through context.AfterFunc. Queries,
// mutations and the start of a subscription run on a goroutine that
// returns once they are done.
//
// The messages, close codes and their order are gqlgen's (pinned by
// TestWebSocketProtocol), with the protocol checks of ws_protocol.go.

// wsSubprotocols are the subprotocols offered, in the order of preference.
var wsSubprotocols = []string{"graphql-ws", "graphql-transport-ws"}

// wsReadLimit bounds one client message.
const wsReadLimit = 1 << 20

// wsTransport runs the Handler's WebSocket requests (serveSocket).
type wsTransport struct {
	h    *Handler
	impl gorillaWS
}

// open upgrades the request and answers connection_init. It returns the
// socket's reading loop, which runs until the socket closes, or nil when
// the socket ended already. serveSocket runs the loop of a detached socket
// on a goroutine of its own, whose stack starts small: the upgrade and the
// init, deeper, grew the stack of the goroutine that ran them.
func (t wsTransport) open(w http.ResponseWriter, r *http.Request, up *wsUpgrade) func() {
	conn, err := t.impl.accept(w, r, up)
	if err != nil {
		return nil // gorilla answered the request with the handshake's error
	}
	s := &wsSession{conn: conn, eng: t.h.eng, h: t.h, ctx: r.Context(), headers: r.Header,
		legacy: conn.Subprotocol() != "graphql-transport-ws", active: map[string]*wsOperation{}}
	if p := conn.Subprotocol(); p != "" && p != "graphql-ws" && p != "graphql-transport-ws" {
		s.close(websocket.CloseProtocolError, "unsupported negotiated subprotocol "+p)
		return nil
	}
	conn.SetReadLimit(wsReadLimit)
	if !s.init() {
		s.close(websocket.CloseNormalClosure, "terminated")
		return nil
	}
	return func() {
		defer s.close(websocket.CloseNormalClosure, "terminated")
		s.run()
	}
}

// wsSession is one socket after the upgrade.
type wsSession struct {
	conn    *gorillaConn
	eng     Engine
	h       *Handler
	ctx     context.Context // the connection's; after connection_init, its viewer's
	headers http.Header
	legacy  bool // graphql-ws

	mu     sync.Mutex
	active map[string]*wsOperation // by id
	closed bool
}

// wsOperation is a running operation of a socket.
type wsOperation struct {
	s      *wsSession
	id     string
	cancel context.CancelFunc
	once   sync.Once // finish
}

// wsMessage is a protocol message as read.
type wsMessage struct {
	Payload json.RawMessage `json:"payload,omitempty"`
	ID      string          `json:"id,omitempty"`
	Type    string          `json:"type"`
}

// read returns the next message; nextMessage checked it against the
// protocol and closed the socket when it broke it.
func (s *wsSession) read() (wsMessage, error) { return s.conn.nextMessage() }

// init reads connection_init and answers it: connection_ack (and "ka" on
// graphql-ws), or, for a refused token, the error (graphql-ws) and close
// 4403. It reports whether the session goes on.
func (s *wsSession) init() bool {
	m, err := s.read()
	if err != nil {
		s.close(websocket.CloseProtocolError, "decoding error")
		return false
	}
	switch m.Type {
	case "connection_init":
	case "connection_terminate":
		s.close(websocket.CloseNormalClosure, "terminated")
		return false
	default: // nextMessage lets nothing else through first
		s.connectionError("unexpected message " + m.Type)
		s.close(websocket.CloseProtocolError, "unexpected message")
		return false
	}
	var payload gqltransport.InitPayload
	if len(m.Payload) > 0 {
		if err := json.Unmarshal(m.Payload, &payload); err != nil {
			return false
		}
	}
	ctx, err := s.h.wsInit(s.ctx, payload)
	if err != nil {
		s.connectionError(err.Error())
		s.close(wsCloseForbidden, "Forbidden")
		return false
	}
	s.ctx = ctx
	s.write("connection_ack", "", nil)
	if s.legacy {
		s.write("ka", "", nil)
	}
	return true
}

// run reads the client's messages until the socket closes or its context
// ends (the server shuts down, the session is revoked).
func (s *wsSession) run() {
	stop := context.AfterFunc(s.ctx, func() { s.close(websocket.CloseNormalClosure, "terminated") })
	defer stop()
	for {
		start := graphql.Now()
		m, err := s.read()
		if err != nil {
			return
		}
		switch m.Type {
		case "start", "subscribe":
			s.start(start, m)
		case "stop", "complete":
			s.mu.Lock()
			op := s.active[m.ID]
			s.mu.Unlock()
			if op != nil {
				op.cancel()
			}
		case "connection_terminate":
			s.close(websocket.CloseNormalClosure, "terminated")
			return
		case "ping":
			s.write("pong", "", m.Payload)
		}
	}
}

// start runs the operation of a subscribe (start) message. It is created
// (parsed, validated) here, so that a client's flood of operations is
// paced by the reading; it runs on a goroutine of its own: a query or a
// mutation answers once then completes; a subscription's events go
// through its route, and so does its end when the engine takes it
// (Route.TakeEnd), so that goroutine returns at once.
func (s *wsSession) start(start time.Time, m wsMessage) {
	ctx, cancel := context.WithCancel(graphql.StartOperationTrace(s.ctx))
	op := &wsOperation{s: s, id: m.ID, cancel: cancel}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		cancel()
		return
	}
	if old := s.active[op.id]; old != nil {
		s.mu.Unlock()
		if !s.legacy {
			cancel()
			s.conn.violation(wsCloseSubscriberExists, "Subscriber for "+op.id+" already exists")
			return
		}
		old.cancel() // graphql-ws has no rule: the new operation replaces the old
		s.mu.Lock()
	}
	s.active[op.id] = op
	s.mu.Unlock()

	params := &graphql.RawParams{}
	dec := json.NewDecoder(bytes.NewReader(m.Payload))
	dec.UseNumber()
	if err := dec.Decode(params); err != nil {
		s.sendError(op.id, &gqlerror.Error{Message: "invalid json"})
		op.finish(nil)
		return
	}
	params.ReadTime = graphql.TraceTiming{Start: start, End: graphql.Now()}
	params.Headers = s.headers
	oc, errs := s.eng.CreateOperationContext(ctx, params)
	if errs != nil {
		resp := s.eng.DispatchError(graphql.WithOperationContext(ctx, oc), errs)
		if errcode.GetErrorKind(errs) == errcode.KindProtocol {
			s.sendError(op.id, resp.Errors...)
		} else {
			s.sendResponse(op.id, &graphql.Response{Errors: errs})
		}
		op.finish(nil)
		return
	}
	route := newRoute(s.conn, op.id)
	// The engine ends a subscription from its fan-out, which must not wait
	// for a slow socket: the last messages are written from a goroutine.
	route.end = func(resp *graphql.Response) { go op.finish(resp) }
	go op.run(withRoute(graphql.WithOperationContext(ctx, oc), route), oc, route)
}

// run dispatches the operation, sends its responses and completes it,
// unless its route took the end.
func (op *wsOperation) run(ctx context.Context, oc *graphql.OperationContext, route *Route) {
	s := op.s
	defer func() {
		if r := recover(); r != nil {
			gerr := &gqlerror.Error{Message: "internal server error"}
			err := oc.Recover(ctx, r)
			if e, ok := errors.AsType[*gqlerror.Error](err); ok {
				gerr = e
			} else if err != nil {
				gerr.Message = err.Error()
			}
			s.sendError(op.id, gerr)
			op.finish(nil)
		}
	}()
	responses, rctx := s.eng.DispatchOperation(ctx, oc)
	if route.endTaken() {
		return // the route carries the events and the end
	}
	for {
		resp := responses(rctx)
		if resp == nil {
			break
		}
		s.sendResponse(op.id, resp)
	}
	op.finish(nil)
}

// finish sends resp (nil: none), then complete, once, and forgets the
// operation.
func (op *wsOperation) finish(resp *graphql.Response) {
	op.once.Do(func() {
		s := op.s
		if resp != nil {
			s.sendResponse(op.id, resp)
		}
		s.write("complete", op.id, nil)
		s.mu.Lock()
		if s.active[op.id] == op { // not a later operation of the same id
			delete(s.active, op.id)
		}
		s.mu.Unlock()
		op.cancel()
	})
}

// write queues one message, its type named as the socket's protocol names
// it: "data" is "next" on graphql-transport-ws, and messages a protocol
// does not have ("ka" and connection_error on graphql-transport-ws, ping
// and pong on graphql-ws) are not sent. A failed write is dropped: the
// reader sees the socket closed.
func (s *wsSession) write(typ, id string, payload []byte) {
	switch {
	case typ == "data":
		typ = s.conn.nextMessageType()
	case (typ == "ka" || typ == "connection_error") && !s.legacy,
		(typ == "ping" || typ == "pong") && s.legacy:
		return
	}
	_ = s.conn.writeMessage(typ, id, payload)
}

func (s *wsSession) sendResponse(id string, resp *graphql.Response) {
	b, err := json.Marshal(resp)
	if err != nil {
		b, _ = json.Marshal(&graphql.Response{Errors: gqlerror.List{{Message: "encode the response: " + err.Error()}}})
	}
	s.write("data", id, b)
}

func (s *wsSession) sendError(id string, errs ...*gqlerror.Error) {
	b, _ := json.Marshal(errs)
	s.write("error", id, b)
}

// connectionError sends graphql-ws's connection_error with message.
func (s *wsSession) connectionError(message string) {
	b, _ := json.Marshal(&gqlerror.Error{Message: message})
	s.write("connection_error", "", b)
}

// close writes what is queued and the close frame, ends every operation
// and cuts the connection, once.
func (s *wsSession) close(code int, reason string) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	active := s.active
	s.active = nil
	s.mu.Unlock()
	_ = s.conn.WriteClose(code, reason)
	for _, op := range active {
		op.cancel()
	}
	_ = s.conn.Close()
}
