package dynschema

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/gorilla/websocket"
)

// The WebSocket side of /graphql: gqlgen's websocket transport (both
// graphql-transport-ws and the legacy graphql-ws) on gorilla/websocket
// through the adapter below.
//
// gqlgen writes every message with one WriteJSON call under its connection
// lock; gorilla would turn each into one frame and one write syscall, which
// dominated the CPU profile under fan-out load (one syscall per delivery).
// The adapter therefore encodes the message at once, queues it, and a
// writer that runs only while there is something to send writes the queued
// frames into one buffer and hands it to the kernel with a single syscall.
// An idle connection has neither a writer goroutine nor a write buffer.
//
// Origins: a browser's WebSocket is accepted when its Origin names the host
// it connects to (scheme and port included in the comparison of host:port),
// or when there is no Origin (non-browser clients); in --dev mode every
// origin is accepted. Cross-origin browser apps in production go through a
// reverse proxy on the same host.

const (
	// wsFlushDelay is how long a connection that has been idle waits for
	// more messages before it writes; wsBusyFlushDelay is that wait for a
	// connection that wrote within the last wsBusyWindow, so that a busy
	// stream costs one syscall per batch rather than one per message.
	wsFlushDelay     = time.Millisecond
	wsBusyFlushDelay = 10 * time.Millisecond
	wsBusyWindow     = 50 * time.Millisecond

	// wsMaxQueued bounds the bytes waiting to be written on one connection.
	// A writer that would exceed it waits (at most wsWriteTimeout) for the
	// socket to drain: the subscription then stops reading its events, its
	// hub buffer fills, and the hub closes it as a slow consumer.
	wsMaxQueued = 256 << 10

	// wsWriteTimeout bounds one write to the socket and a wait for room in
	// the queue; a connection that cannot take data for that long is cut.
	wsWriteTimeout = 10 * time.Second

	// wsCloseTimeout bounds the final flush and close frame.
	wsCloseTimeout = time.Second
)

// errWSTooSlow ends a connection whose peer did not read for wsWriteTimeout.
var errWSTooSlow = errors.New("websocket: the client does not read its messages")

// errWSClosed is returned by writes after the close frame was queued.
var errWSClosed = errors.New("websocket: connection closing")

// gorillaWS adapts gorilla/websocket to gqlgen's websocket transport.
type gorillaWS struct {
	e *Engine
	// closing is done when the hub closes (server shutdown): open sockets
	// then get a 1001 "going away" close frame. Nil without a hub.
	closing context.Context
}

// wsWriteBuffers lends gorilla its frame buffers only while a frame is
// being written, so idle connections hold none.
var wsWriteBuffers = &sync.Pool{}

// wsBatchBuffers holds the buffers that collect the frames of one flush.
var wsBatchBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 16<<10); return &b }}

func (g gorillaWS) Accept(w http.ResponseWriter, r *http.Request, opts transport.WebsocketAcceptOptions) (transport.WebsocketConn, error) {
	tap := &hijackTap{ResponseWriter: w}
	up := websocket.Upgrader{
		Subprotocols: opts.Subprotocols,
		// ReadBufferSize 0 reuses net/http's 4 KiB reader of the hijacked
		// connection instead of allocating a second one.
		WriteBufferSize: 4096,
		WriteBufferPool: wsWriteBuffers,
		// graphqlHandler.ServeHTTP checked the origin already (and answered
		// 403 itself: gqlgen would write a second status after gorilla's).
		CheckOrigin: func(*http.Request) bool { return true },
	}
	c, err := up.Upgrade(tap, r, opts.ResponseHeader)
	if err != nil {
		return nil, err
	}
	if tap.conn == nil { // cannot happen: Upgrade succeeded through Hijack
		_ = c.Close()
		return nil, errors.New("websocket: connection not hijacked through the adapter")
	}
	gc := &gorillaConn{c: c, bc: tap.conn, space: make(chan struct{}, 1), closed: make(chan struct{})}
	if g.closing != nil {
		gc.closing = g.closing.Done()
	}
	return gc, nil
}

// checkOrigin allows WebSocket requests without Origin (non-browser
// clients), from the same host, and from any origin in dev mode.
func (e *Engine) checkOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" || e.cfg.Dev {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil {
		return false
	}
	return strings.EqualFold(u.Host, r.Host)
}

// hijackTap wraps the ResponseWriter so that the connection gorilla
// hijacks is a batchConn.
type hijackTap struct {
	http.ResponseWriter
	conn *batchConn
}

func (h *hijackTap) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, rw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, fmt.Errorf("hijack: %w", err)
	}
	h.conn = &batchConn{Conn: c}
	return h.conn, rw, nil
}

func (h *hijackTap) Unwrap() http.ResponseWriter { return h.ResponseWriter }

// batchConn is the hijacked connection. Outside a batch it writes through;
// inside one (begin..end) it collects what gorilla writes and end hands it
// to the kernel at once. Gorilla's own control frames (pong, close echo)
// written during a batch simply join it.
type batchConn struct {
	net.Conn
	mu       sync.Mutex
	batching bool
	buf      *[]byte
}

func (b *batchConn) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.batching {
		*b.buf = append(*b.buf, p...)
		return len(p), nil
	}
	return b.Conn.Write(p)
}

func (b *batchConn) begin() {
	b.mu.Lock()
	b.batching = true
	b.buf = wsBatchBuffers.Get().(*[]byte)
	b.mu.Unlock()
}

// end writes the batch with one syscall (bounded by wsWriteTimeout).
func (b *batchConn) end() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.batching = false
	buf := b.buf
	b.buf = nil
	var err error
	if len(*buf) > 0 {
		_ = b.Conn.SetWriteDeadline(time.Now().Add(wsWriteTimeout))
		_, err = b.Conn.Write(*buf)
	}
	if cap(*buf) <= 256<<10 {
		*buf = (*buf)[:0]
		wsBatchBuffers.Put(buf)
	}
	return err
}

// gorillaConn is one WebSocket as gqlgen's transport sees it.
//
// Locks: wmu (held while frames go to the socket) before mu (the queue).
type gorillaConn struct {
	c       *websocket.Conn
	bc      *batchConn
	closing <-chan struct{} // the server is shutting down (nil: never)

	wmu sync.Mutex // one writer to the socket at a time, in queue order

	mu        sync.Mutex
	queue     [][]byte // encoded messages, oldest first
	spare     [][]byte
	queued    int  // bytes in queue
	flushing  bool // a flush is scheduled or running
	closeSent bool // WriteClose ran: nothing more is written
	err       error
	lastFlush time.Time

	space     chan struct{} // cap 1: the queue was emptied
	closed    chan struct{} // closed by Close
	closeOnce sync.Once
}

// WriteJSON queues one gqlgen message; a flush writes it within
// wsFlushDelay (wsBusyFlushDelay on a busy connection). It waits while the
// connection has wsMaxQueued bytes unsent, and fails when the connection
// is broken, closing, or stayed full for wsWriteTimeout.
func (g *gorillaConn) WriteJSON(v any) error {
	data, err := encodeWSMessage(v)
	if err != nil {
		return fmt.Errorf("encode websocket message: %w", err)
	}
	g.mu.Lock()
	var timeout *time.Timer
	for g.err == nil && !g.closeSent && g.queued > 0 && g.queued+len(data) > wsMaxQueued {
		g.mu.Unlock()
		if timeout == nil {
			timeout = time.NewTimer(wsWriteTimeout)
			defer timeout.Stop()
		}
		select {
		case <-g.space:
		case <-g.closed:
		case <-g.closing:
			return errWSClosed // shutting down: do not hold gqlgen's lock
		case <-timeout.C:
			g.fail(errWSTooSlow)
		}
		g.mu.Lock()
	}
	switch {
	case g.err != nil:
		err = g.err
	case g.closeSent:
		err = errWSClosed
	}
	if err != nil {
		g.mu.Unlock()
		return err
	}
	g.queue = append(g.queue, data)
	g.queued += len(data)
	if !g.flushing {
		g.flushing = true
		delay := wsFlushDelay
		if time.Since(g.lastFlush) < wsBusyWindow {
			delay = wsBusyFlushDelay
		}
		time.AfterFunc(delay, g.flush)
	}
	g.mu.Unlock()
	return nil
}

// flush writes the queue until it is empty (messages queued meanwhile go
// in the next batch at once: they waited for the syscall already).
func (g *gorillaConn) flush() {
	g.wmu.Lock()
	defer g.wmu.Unlock()
	for {
		g.mu.Lock()
		batch := g.take()
		if len(batch) == 0 || g.err != nil || g.closeSent {
			g.flushing = false
			g.lastFlush = time.Now()
			g.mu.Unlock()
			g.recycle(batch)
			return
		}
		g.mu.Unlock()
		err := g.writeFrames(batch)
		g.recycle(batch)
		if err != nil {
			g.fail(err)
			g.mu.Lock()
			g.flushing = false
			g.mu.Unlock()
			return
		}
	}
}

// take empties the queue and returns its messages. g.mu must be held.
func (g *gorillaConn) take() [][]byte {
	batch := g.queue
	g.queue, g.spare = g.spare[:0], nil
	if g.queued > 0 {
		g.queued = 0
		select {
		case g.space <- struct{}{}:
		default:
		}
	}
	return batch
}

func (g *gorillaConn) recycle(batch [][]byte) {
	if cap(batch) > 1024 {
		return
	}
	clear(batch)
	g.mu.Lock()
	if g.spare == nil {
		g.spare = batch[:0]
	}
	g.mu.Unlock()
}

// writeFrames writes each message as one text frame, all in one syscall.
// g.wmu must be held.
func (g *gorillaConn) writeFrames(batch [][]byte) error {
	if len(batch) == 0 {
		return nil
	}
	g.bc.begin()
	var err error
	for _, m := range batch {
		if err = g.c.WriteMessage(websocket.TextMessage, m); err != nil {
			break
		}
	}
	if ferr := g.bc.end(); err == nil {
		err = ferr
	}
	return err
}

// fail records the first write error and cuts the connection: gqlgen's
// reader then sees the socket closed and ends the connection.
func (g *gorillaConn) fail(err error) {
	g.mu.Lock()
	first := g.err == nil
	if first {
		g.err = err
	}
	g.mu.Unlock()
	if first {
		slog.Debug("websocket write failed", "err", err)
		_ = g.Close()
	}
}

// WriteClose writes what is queued, then the close frame. When the server
// is shutting down, gqlgen's normal closure becomes 1001 "going away" so
// that clients know to reconnect elsewhere or later.
func (g *gorillaConn) WriteClose(code int, msg string) error {
	if code == websocket.CloseNormalClosure && g.shuttingDown() {
		code, msg = websocket.CloseGoingAway, "server shutting down"
	}
	if len(msg) > 120 {
		msg = msg[:120]
	}
	deadline := time.Now().Add(wsCloseTimeout)
	// A flush stuck on a stalled peer fails by the deadline instead of
	// holding wmu for wsWriteTimeout.
	_ = g.bc.Conn.SetWriteDeadline(deadline)
	g.wmu.Lock()
	defer g.wmu.Unlock()
	g.mu.Lock()
	batch := g.take()
	failed := g.err != nil || g.closeSent
	g.closeSent = true
	g.mu.Unlock()
	if failed {
		return nil
	}
	_ = g.c.SetWriteDeadline(deadline)
	if err := g.writeFrames(batch); err != nil {
		slog.Debug("websocket final flush", "err", err)
		return nil
	}
	err := g.c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, msg), deadline)
	if err != nil && !errors.Is(err, websocket.ErrCloseSent) {
		slog.Debug("websocket close", "err", err)
	}
	return nil
}

func (g *gorillaConn) shuttingDown() bool {
	select {
	case <-g.closing:
		return true
	default:
		return false
	}
}

// Close cuts the connection; it is safe to call more than once.
func (g *gorillaConn) Close() error {
	var err error
	g.closeOnce.Do(func() {
		close(g.closed)
		err = g.c.Close()
	})
	return err
}

func (g *gorillaConn) NextReader() (int, io.Reader, error) {
	mt, rd, err := g.c.NextReader()
	if err != nil && websocket.IsCloseError(err, websocket.CloseNormalClosure, websocket.CloseGoingAway, websocket.CloseNoStatusReceived) {
		return mt, nil, transport.ErrWebsocketClosed
	}
	return mt, rd, err
}

func (g *gorillaConn) Subprotocol() string               { return g.c.Subprotocol() }
func (g *gorillaConn) SetReadLimit(limit int64)          { g.c.SetReadLimit(limit) }
func (g *gorillaConn) SetReadDeadline(t time.Time) error { return g.c.SetReadDeadline(t) }

// wsMessageLayout is where the fields of one of gqlgen's message structs
// are: both protocols use {Payload json.RawMessage; ID string; Type
// <string type>} with the tags payload,omitempty / id,omitempty / type.
type wsMessageLayout struct {
	ok                 bool
	payload, id, typ   int
	payloadTag, typTag string
}

var wsLayouts sync.Map // reflect.Type -> wsMessageLayout

func wsLayoutOf(t reflect.Type) wsMessageLayout {
	if l, ok := wsLayouts.Load(t); ok {
		return l.(wsMessageLayout)
	}
	l := wsMessageLayout{payload: -1, id: -1, typ: -1}
	rawType := reflect.TypeFor[json.RawMessage]()
	for i := range t.NumField() {
		f := t.Field(i)
		switch tag := f.Tag.Get("json"); {
		case tag == "payload,omitempty" && f.Type == rawType:
			l.payload = i
		case tag == "id,omitempty" && f.Type.Kind() == reflect.String:
			l.id = i
		case tag == "type" && f.Type.Kind() == reflect.String:
			l.typ = i
		case tag == "" && !f.IsExported():
		default:
			l.typ = -2 // an unknown field: use encoding/json
		}
	}
	l.ok = l.payload >= 0 && l.id >= 0 && l.typ >= 0
	wsLayouts.Store(t, l)
	return l
}

// encodeWSMessage encodes one of gqlgen's protocol messages like
// encoding/json would, without re-validating the payload (gqlgen produced
// it with json.Marshal a moment ago); other values go through
// encoding/json.
func encodeWSMessage(v any) ([]byte, error) {
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Pointer && !rv.IsNil() && rv.Elem().Kind() == reflect.Struct {
		sv := rv.Elem()
		if l := wsLayoutOf(sv.Type()); l.ok {
			payload := sv.Field(l.payload).Bytes()
			id := sv.Field(l.id).String()
			typ := sv.Field(l.typ).String()
			if jsonSafe(id) && jsonSafe(typ) {
				b := make([]byte, 0, len(payload)+len(id)+len(typ)+36)
				b = append(b, '{')
				if len(payload) > 0 {
					b = append(b, `"payload":`...)
					b = append(b, payload...)
					b = append(b, ',')
				}
				if id != "" {
					b = append(b, `"id":"`...)
					b = append(b, id...)
					b = append(b, `",`...)
				}
				b = append(b, `"type":"`...)
				b = append(b, typ...)
				b = append(b, `"}`...)
				return b, nil
			}
		}
	}
	return json.Marshal(v)
}

// jsonSafe reports whether s can be written between JSON quotes as is.
func jsonSafe(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}
