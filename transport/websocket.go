package transport

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gorilla/websocket"
)

// The WebSocket side of /graphql: the connection under the session of
// ws_session.go (graphql-transport-ws and the legacy graphql-ws), on
// gorilla/websocket.
//
// Written one by one, every message would be one frame and one write
// syscall, which dominated the CPU profile under fan-out load (one
// syscall per delivery). The connection therefore encodes each message at
// once, as a complete frame, into its queue, and a flush that runs only
// while there is something to send (the Handler's flusher, ws_flush.go)
// hands the queued frames to the kernel with a single syscall. An idle
// connection has neither a writer goroutine nor a frame buffer. Gorilla
// still reads, answers pings and writes close frames; both write whole
// frames through batchConn, so they never interleave.
//
// Origins: a browser's WebSocket is accepted when its Origin names the host
// it connects to (host and port compared, not the scheme: TLS may end at a
// proxy), when Config.AllowOrigin allows it (the allowed CORS origins), or
// when there is no Origin (non-browser clients).

const (
	// wsFlushDelay is how long a queued message waits for company before
	// it is written. On a busy connection (its last flush, within
	// wsBusyWindow, carried several messages) the wait is wsBusyFlushDelay,
	// so that a dense stream costs at most 1/wsBusyFlushDelay syscalls a
	// second however many messages it carries, at the price of that much
	// latency; sparse messages keep the short wait, where batching would
	// not help anyway.
	wsFlushDelay     = time.Millisecond
	wsBusyFlushDelay = 50 * time.Millisecond
	wsBusyWindow     = 100 * time.Millisecond

	// wsMaxQueued bounds the bytes waiting to be written on one connection.
	// A subscription event that finds the queue that full ends its
	// subscription as a slow consumer (queueMessage does not wait); the
	// session's own messages (writeMessage) wait for room, at most
	// wsWriteTimeout, and so does the reading of the client's next message
	// (nextMessage), so
	// that a client that sends operations without reading their results
	// stops being read instead of piling up goroutines.
	wsMaxQueued = 256 << 10

	// wsWriteTimeout bounds one write to the socket and a wait for room in
	// the queue; a connection that cannot take data for that long is cut.
	wsWriteTimeout = 10 * time.Second

	// wsReadBufferSize is the read buffer of a detached connection
	// (lifetime.go): client messages are small, and a longer one is read
	// in several pieces.
	wsReadBufferSize = 512

	// wsCloseTimeout bounds the final flush and close frame.
	wsCloseTimeout = time.Second
)

// errWSTooSlow ends a connection whose peer did not read for wsWriteTimeout.
var errWSTooSlow = errors.New("websocket: the client does not read its messages")

// errWSClosed is returned by writes after the close frame was queued.
var errWSClosed = errors.New("websocket: connection closing")

// gorillaWS upgrades the Handler's WebSocket requests with gorilla/websocket.
type gorillaWS struct {
	initTimeout time.Duration // for connection_init (0: none)
	// closing is done when the hub closes (server shutdown): open sockets
	// then get a 1001 "going away" close frame. Nil without a hub.
	closing context.Context
	pinger  *wsPinger  // the keep-alives of the Handler's sockets
	flusher *wsFlusher // the writes of the Handler's sockets (ws_flush.go)
}

// wsWriteBuffers lends gorilla its frame buffers (for its own control
// frames) only while a frame is being written, so idle connections hold
// none.
var wsWriteBuffers = &sync.Pool{}

// accept upgrades the request, offering wsSubprotocols, and records the
// connection in up. On failure gorilla has answered the request.
func (g gorillaWS) accept(w http.ResponseWriter, r *http.Request, up *wsUpgrade) (*gorillaConn, error) {
	tap := &hijackTap{ResponseWriter: w}
	u := websocket.Upgrader{
		Subprotocols: wsSubprotocols,
		// ReadBufferSize 0 reuses net/http's 4 KiB reader of the hijacked
		// connection instead of allocating a second one.
		WriteBufferSize: 4096,
		WriteBufferPool: wsWriteBuffers,
		// Handler.ServeHTTP checked the origin already (and answered
		// 403 itself).
		CheckOrigin: func(*http.Request) bool { return true },
	}
	if up.detached {
		// net/http's reader goes with the handler (lifetime.go).
		u.ReadBufferSize = wsReadBufferSize
	}
	c, err := u.Upgrade(tap, r, nil)
	if err != nil {
		return nil, err
	}
	if tap.conn == nil { // cannot happen: Upgrade succeeded through Hijack
		_ = c.Close()
		return nil, errors.New("websocket: connection not hijacked through the adapter")
	}
	gc := &gorillaConn{c: c, bc: tap.conn, space: make(chan struct{}, 1), closed: make(chan struct{}),
		reqDone: r.Context().Done(), pinger: g.pinger, flusher: g.flusher}
	if t := g.initTimeout; t > 0 {
		// connection_init must arrive by then (see nextMessage).
		_ = c.SetReadDeadline(time.Now().Add(t))
		gc.initDeadline = true
	}
	if g.closing != nil {
		gc.closing = g.closing.Done()
	}
	up.conn = gc
	close(up.upgraded)
	return gc, nil
}

// checkOrigin allows WebSocket requests without Origin (non-browser
// clients), from the same host, and from the origins Config.AllowOrigin
// allows (without it, any origin in dev mode).
func (h *Handler) checkOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	if u, err := url.Parse(origin); err == nil && strings.EqualFold(u.Host, r.Host) {
		return true
	}
	if h.allow != nil {
		return h.allow(origin)
	}
	return h.dev
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
	if sc, ok := c.(syscall.Conn); ok {
		h.conn.raw, _ = sc.SyscallConn()
	}
	return h.conn, rw, nil
}

func (h *hijackTap) Unwrap() http.ResponseWriter { return h.ResponseWriter }

// batchConn is the hijacked connection. Gorilla writes its own frames
// (the handshake, pong, close) through Write; gorillaConn writes batches of
// text frames through writeTextFrames. Each call writes whole frames under
// mu, so frames never interleave.
type batchConn struct {
	net.Conn
	mu  sync.Mutex
	raw syscall.RawConn // for tryWrite; nil when the connection has none (TLS)
}

func (b *batchConn) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.Conn.Write(p)
}

// writeFrames writes buf, whole frames, with a single syscall bounded by
// wsWriteTimeout.
func (b *batchConn) writeFrames(buf []byte) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	_ = b.Conn.SetWriteDeadline(time.Now().Add(wsWriteTimeout))
	_, err := b.Conn.Write(buf)
	return err
}

// maxFrameHeader is the longest header of a server-to-client frame.
const maxFrameHeader = 10

// appendFrameHeader appends the header of an unmasked final text frame
// whose payload is n bytes long.
func appendFrameHeader(dst []byte, n int) []byte {
	const finText = 0x81
	switch {
	case n < 126:
		dst = append(dst, finText, byte(n))
	case n <= 0xffff:
		dst = append(dst, finText, 126, byte(n>>8), byte(n))
	default:
		dst = append(dst, finText, 127,
			byte(uint64(n)>>56), byte(uint64(n)>>48), byte(uint64(n)>>40), byte(uint64(n)>>32),
			byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	return dst
}

// gorillaConn is one WebSocket as its session sees it. Messages
// wait, encoded back to back in buf, until a flush writes them.
//
// Locks: wmu (held while frames go to the socket) before mu (the queue).
type gorillaConn struct {
	c       *websocket.Conn
	bc      *batchConn
	closing <-chan struct{} // the hub closed: the server is shutting down (nil: never)
	// reqDone ends when the request's context is cancelled from outside
	// (net/http does not cancel it for a hijacked connection; the server's
	// shutdown does, see cmd/monobase trackWebSockets).
	reqDone <-chan struct{}

	wmu sync.Mutex // one flush at a time, in queue order

	mu        sync.Mutex
	buf       []byte // queued frames, oldest first
	queued    int    // how many
	spareBuf  []byte // the other buffer, reused by the next take
	flushing  bool   // a flush is scheduled or running
	closeSent bool   // WriteClose ran: nothing more is written
	err       error
	lastFlush time.Time // when the last flush ended
	lastBatch int       // messages it wrote in its last write

	// Owned by the reading goroutine: connection_init was read, and
	// whether a read deadline waits for it (ws_protocol.go).
	inited       bool
	initDeadline bool

	// flusher writes the queue when its flush is due (nil: a timer and a
	// goroutine of its own, see scheduleFlush).
	flusher *wsFlusher
	// Keep-alives (ws_ping.go): pinger is the Handler's; pinged is owned
	// by its goroutine; pongSeen is set by nextMessage.
	pinger   *wsPinger
	pinged   bool
	pongSeen atomic.Bool

	space     chan struct{} // cap 1: the queue was emptied
	closed    chan struct{} // closed by Close
	closeOnce sync.Once
}

// writeMessage queues one protocol message {"payload":…,"id":…,"type":…}
// (payload and id left out when empty); a flush writes it within
// wsFlushDelay (wsBusyFlushDelay on a busy connection). It waits while the
// connection has wsMaxQueued bytes unsent, and fails when the connection
// is broken, closing, or stayed full for wsWriteTimeout.
func (g *gorillaConn) writeMessage(typ, id string, payload []byte) error {
	g.mu.Lock()
	var timeout *time.Timer
	for g.err == nil && !g.closeSent && len(g.buf) >= wsMaxQueued {
		g.mu.Unlock()
		if timeout == nil {
			timeout = time.NewTimer(wsWriteTimeout)
			defer timeout.Stop()
		}
		select {
		case <-g.space:
		case <-g.closed:
		case <-g.closing:
			return errWSClosed // shutting down: do not wait for room
		case <-timeout.C:
			g.fail(errWSTooSlow)
		}
		g.mu.Lock()
	}
	if timeout != nil {
		g.passSpace() // nextMessage may be waiting for room too
	}
	var err error
	switch {
	case g.err != nil:
		err = g.err
	case g.closeSent:
		err = errWSClosed
	}
	if err == nil {
		// Encode after room for the longest header, then put the frame's
		// header right before the message.
		start := len(g.buf)
		g.buf = append(g.buf, make([]byte, maxFrameHeader)...)
		g.buf = appendWSMessage(g.buf, typ, id, payload)
		n := len(g.buf) - start - maxFrameHeader
		var hdr [maxFrameHeader]byte
		h := appendFrameHeader(hdr[:0], n)
		copy(g.buf[start+len(h):], g.buf[start+maxFrameHeader:])
		copy(g.buf[start:], h)
		g.buf = g.buf[:start+len(h)+n]
		g.queued++
	}
	if err == nil {
		g.scheduleFlush()
	}
	g.mu.Unlock()
	return err
}

// errQueueFull is returned by queueMessage when the connection (a
// WebSocket, or an SSE stream) has its maximum unsent.
var errQueueFull = errors.New("transport: the client does not read its messages fast enough")

// queueMessage queues one message made of the concatenation of head, body
// and tail, like writeMessage but without waiting: it fails with
// errQueueFull when the connection has wsMaxQueued bytes unsent, so that
// the caller (the subscription fan-out, through Route.Send) never waits
// for one client.
func (g *gorillaConn) queueMessage(head, body, tail []byte) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	switch {
	case g.err != nil:
		return g.err
	case g.closeSent:
		return errWSClosed
	case len(g.buf) >= wsMaxQueued:
		return errQueueFull
	}
	g.buf = appendFrameHeader(g.buf, len(head)+len(body)+len(tail))
	g.buf = append(append(append(g.buf, head...), body...), tail...)
	g.queued++
	g.scheduleFlush()
	return nil
}

// scheduleFlush starts a flush of the queue unless one is pending: within
// wsFlushDelay, or wsBusyFlushDelay on a busy connection. g.mu must be
// held.
func (g *gorillaConn) scheduleFlush() {
	if g.flushing {
		return
	}
	g.flushing = true
	busy := g.lastBatch > 1 && time.Since(g.lastFlush) < wsBusyWindow
	if g.flusher != nil {
		g.flusher.add(g, busy)
		return
	}
	delay := wsFlushDelay
	if busy {
		delay = wsBusyFlushDelay
	}
	time.AfterFunc(delay, g.flush)
}

// flush writes the queue until it is empty, waiting for the socket.
func (g *gorillaConn) flush() {
	g.wmu.Lock()
	g.drain()
}

// drain writes the queue until it is empty (messages queued meanwhile go
// in the next batch at once: they waited for the syscall already). wmu is
// held, and released at the end.
func (g *gorillaConn) drain() {
	defer g.wmu.Unlock()
	for {
		buf, ok := g.nextBatch()
		if !ok {
			return
		}
		err := g.bc.writeFrames(buf)
		g.recycle(buf)
		if err != nil {
			g.fail(err)
			g.mu.Lock()
			g.flushing = false
			g.mu.Unlock()
			return
		}
	}
}

// nextBatch takes the queue's frames for a flush, or reports false, and
// ends the flush, when there is nothing (more) to write.
func (g *gorillaConn) nextBatch() ([]byte, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.queued == 0 || g.err != nil || g.closeSent {
		g.flushing = false
		g.lastFlush = time.Now()
		return nil, false
	}
	g.lastBatch = g.queued
	return g.take(), true
}

// take empties the queue and returns its frames. g.mu must be held.
func (g *gorillaConn) take() []byte {
	buf := g.buf
	g.buf, g.spareBuf, g.queued = g.spareBuf[:0], nil, 0
	if len(buf) > 0 {
		select {
		case g.space <- struct{}{}:
		default:
		}
	}
	return buf
}

// passSpace passes the "queue emptied" signal on to another waiter (take
// sends one signal; writeMessage and nextMessage may both wait for it).
func (g *gorillaConn) passSpace() {
	select {
	case g.space <- struct{}{}:
	default:
	}
}

// recycle keeps a written buffer for the next take, unless it grew large
// (a burst): then the memory goes back.
func (g *gorillaConn) recycle(buf []byte) {
	if cap(buf) > 64<<10 {
		return
	}
	g.mu.Lock()
	if g.spareBuf == nil {
		g.spareBuf = buf[:0]
	}
	g.mu.Unlock()
}

// fail records the first write error and cuts the connection: the
// session's reader then sees the socket closed and ends the session.
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
// is shutting down (the hub closed or the request was cancelled from
// outside), a normal closure becomes 1001 "going away" so that
// clients know to reconnect later.
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
	buf := g.take()
	failed := g.err != nil || g.closeSent
	g.closeSent = true
	g.mu.Unlock()
	if failed {
		return nil
	}
	if len(buf) > 0 {
		if err := g.bc.writeFrames(buf); err != nil {
			slog.Debug("websocket final flush", "err", err)
			return nil
		}
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
	case <-g.reqDone:
		return true
	default:
		return false
	}
}

// Close cuts the connection; it is safe to call more than once.
func (g *gorillaConn) Close() error {
	var err error
	g.closeOnce.Do(func() {
		if g.pinger != nil {
			g.pinger.remove(g)
		}
		close(g.closed)
		err = g.c.Close()
	})
	return err
}

// nextMessageType is the type of the messages that carry a subscription's
// results on this connection's protocol.
func (g *gorillaConn) nextMessageType() string {
	if g.Subprotocol() == "graphql-transport-ws" {
		return "next"
	}
	return "data" // graphql-ws, also assumed without a subprotocol
}

func (g *gorillaConn) Subprotocol() string               { return g.c.Subprotocol() }
func (g *gorillaConn) SetReadLimit(limit int64)          { g.c.SetReadLimit(limit) }
func (g *gorillaConn) SetReadDeadline(t time.Time) error { return g.c.SetReadDeadline(t) }

// appendWSMessage appends the protocol message {"payload":…,"id":…,
// "type":…}, as encoding/json would encode wsMessage, without
// re-validating the payload (it was encoded by encoding/json or the engine
// a moment ago).
func appendWSMessage(dst []byte, typ, id string, payload []byte) []byte {
	dst = append(dst, '{')
	if len(payload) > 0 {
		dst = append(dst, `"payload":`...)
		dst = append(dst, payload...)
		dst = append(dst, ',')
	}
	if id != "" {
		dst = append(dst, `"id":`...)
		dst = appendJSONString(dst, id)
		dst = append(dst, ',')
	}
	dst = append(dst, `"type":`...)
	dst = appendJSONString(dst, typ)
	return append(dst, '}')
}

// appendJSONString appends s as a JSON string, as encoding/json writes it.
func appendJSONString(dst []byte, s string) []byte {
	if jsonSafe(s) {
		dst = append(dst, '"')
		dst = append(dst, s...)
		return append(dst, '"')
	}
	b, _ := json.Marshal(s)
	return append(dst, b...)
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
