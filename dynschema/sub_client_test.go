package dynschema

import (
	"context"
	"encoding/json"
	"errors"
	"github.com/monobase/monobase/internal/dbtest"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/monobase/monobase/auth"
	"github.com/monobase/monobase/db"
	"github.com/monobase/monobase/files"
	"github.com/monobase/monobase/subscriptions"
)

// The two WebSocket subprotocols on /graphql.
const (
	protoTransportWS = "graphql-transport-ws" // graphql-ws library, Apollo Client, urql
	protoLegacyWS    = "graphql-ws"           // subscriptions-transport-ws
)

// newSubEnv is newEnv with a hub built from opts and the engine in dev
// mode or not.
func newSubEnv(t testing.TB, opts subscriptions.Options, dev bool) *env {
	t.Helper()
	return newLimitsEnv(t, opts, dev, Limits{})
}

// newLimitsEnv is newSubEnv with the engine's limits.
func newLimitsEnv(t testing.TB, opts subscriptions.Options, dev bool, limits Limits) *env {
	t.Helper()
	return newConfigEnv(t, opts, func(c *Config) { c.Dev, c.Limits = dev, limits })
}

// newConfigEnv is newEnv with the hub options and the engine's Config
// changed by set before the engine is built.
func newConfigEnv(t testing.TB, opts subscriptions.Options, set func(*Config)) *env {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	d, err := dbtest.Open(t, ctx, dir)
	if err != nil {
		t.Fatalf("open db: %v", err)
	}
	t.Cleanup(func() { _ = d.Close() })
	a, err := auth.New(ctx, d)
	if err != nil {
		t.Fatalf("auth: %v", err)
	}
	hub := subscriptions.New(opts)
	t.Cleanup(hub.Close)
	store := files.NewLocal(filepath.Join(dir, "storage"))
	cfg := Config{DB: d, Auth: a, Files: store, Hub: hub}
	set(&cfg)
	e, err := New(ctx, cfg)
	if err != nil {
		t.Fatalf("engine: %v", err)
	}
	hookUp(d, e, hub)
	mux := http.NewServeMux()
	mux.Handle("/graphql", a.Middleware(e.Handler()))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &env{t: t, ctx: ctx, d: d, auth: a, hub: hub, store: store, e: e, srv: srv, colls: map[string]*db.Collection{}}
}

// wsMsg is a message of either subprotocol.
type wsMsg struct {
	ID      string          `json:"id,omitempty"`
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

// subClient is a test client for one WebSocket: a reader goroutine answers
// pings and queues every other message.
type subClient struct {
	t     testing.TB
	conn  *websocket.Conn
	proto string

	wmu sync.Mutex

	in      chan wsMsg
	done    chan struct{} // the reader ended
	readErr error         // why (set before done is closed)
	pending []wsMsg       // read by a waiter but meant for another id

	keepAlives atomic.Int32 // graphql-ws "ka" messages received
}

// wsURL is the WebSocket URL of the test server's /graphql.
func (en *env) wsURL() string { return "ws" + strings.TrimPrefix(en.srv.URL, "http") + "/graphql" }

// dialWS opens a socket with proto; header may be nil. It fails the test
// if the upgrade fails.
func (en *env) dialWS(proto string, header http.Header) *subClient {
	en.t.Helper()
	c, resp, err := en.tryDialWS(proto, header)
	if err != nil {
		status := ""
		if resp != nil {
			status = resp.Status
		}
		en.t.Fatalf("dial %s: %v %s", proto, err, status)
	}
	return c
}

func (en *env) tryDialWS(proto string, header http.Header) (*subClient, *http.Response, error) {
	d := websocket.Dialer{Subprotocols: []string{proto}, HandshakeTimeout: 5 * time.Second}
	conn, resp, err := d.Dial(en.wsURL(), header)
	if err != nil {
		return nil, resp, err
	}
	c := &subClient{t: en.t, conn: conn, proto: proto, in: make(chan wsMsg, 4096), done: make(chan struct{})}
	en.t.Cleanup(func() { _ = conn.Close() })
	go c.read()
	return c, resp, nil
}

// connect dials and completes connection_init/connection_ack with payload.
func (en *env) connect(proto string, payload map[string]any) *subClient {
	en.t.Helper()
	c := en.dialWS(proto, nil)
	c.init(payload)
	if m := c.nextOf("connection_ack", "connection_error"); m.Type != "connection_ack" {
		en.t.Fatalf("got %s %s, want connection_ack", m.Type, m.Payload)
	}
	return c
}

func (c *subClient) read() {
	defer close(c.done)
	for {
		_, data, err := c.conn.ReadMessage()
		if err != nil {
			c.readErr = err
			return
		}
		var m wsMsg
		if err := json.Unmarshal(data, &m); err != nil {
			c.readErr = err
			return
		}
		switch m.Type {
		case "ping":
			_ = c.send(wsMsg{Type: "pong"})
		case "ka":
			c.keepAlives.Add(1)
		}
		c.in <- m
	}
}

func (c *subClient) send(m wsMsg) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.conn.WriteJSON(m)
}

func (c *subClient) mustSend(m wsMsg) {
	c.t.Helper()
	if err := c.send(m); err != nil {
		c.t.Fatalf("send %s: %v", m.Type, err)
	}
}

func (c *subClient) init(payload map[string]any) {
	c.t.Helper()
	raw, _ := json.Marshal(payload)
	if payload == nil {
		raw = nil
	}
	c.mustSend(wsMsg{Type: "connection_init", Payload: raw})
}

// subscribe starts operation id.
func (c *subClient) subscribe(id, query string, vars map[string]any) {
	c.t.Helper()
	p, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	typ := "subscribe"
	if c.proto == protoLegacyWS {
		typ = "start"
	}
	c.mustSend(wsMsg{ID: id, Type: typ, Payload: p})
}

// stop ends operation id from the client side.
func (c *subClient) stop(id string) {
	c.t.Helper()
	typ := "complete"
	if c.proto == protoLegacyWS {
		typ = "stop"
	}
	c.mustSend(wsMsg{ID: id, Type: typ})
}

// receive returns the next message (pending ones first) within timeout;
// ok is false on timeout or when the socket ended.
func (c *subClient) receive(timeout time.Duration) (wsMsg, bool) {
	if len(c.pending) > 0 {
		m := c.pending[0]
		c.pending = c.pending[1:]
		return m, true
	}
	select {
	case m := <-c.in:
		return m, true
	default:
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case m := <-c.in:
		return m, true
	case <-c.done:
		select {
		case m := <-c.in:
			return m, true
		default:
			return wsMsg{}, false
		}
	case <-t.C:
		return wsMsg{}, false
	}
}

// nextOf returns the next message of one of types, keeping others of an
// operation for later; keep-alives are skipped.
func (c *subClient) nextOf(types ...string) wsMsg {
	c.t.Helper()
	var skipped []wsMsg
	defer func() { c.pending = append(skipped, c.pending...) }()
	deadline := time.Now().Add(5 * time.Second)
	for {
		m, ok := c.receive(time.Until(deadline))
		if !ok {
			c.t.Fatalf("no %v message within 5s (socket: %v)", types, c.readErr)
		}
		for _, t := range types {
			if m.Type == t {
				return m
			}
		}
		if m.ID != "" {
			skipped = append(skipped, m)
		}
	}
}

// event is one message for an operation.
type event struct {
	Type   string
	Data   map[string]any
	Errors []gqlError
	raw    json.RawMessage
}

// next returns the next message for operation id (next/data, error or
// complete) within 5s.
func (c *subClient) next(id string) event {
	c.t.Helper()
	ev, ok := c.tryNext(id, 5*time.Second)
	if !ok {
		c.t.Fatalf("no message for %s within 5s (socket: %v)", id, c.readErr)
	}
	return ev
}

// tryNext is next with a timeout that is not a failure.
func (c *subClient) tryNext(id string, timeout time.Duration) (event, bool) {
	c.t.Helper()
	var skipped []wsMsg
	defer func() { c.pending = append(skipped, c.pending...) }()
	deadline := time.Now().Add(timeout)
	for {
		m, ok := c.receive(time.Until(deadline))
		if !ok {
			return event{}, false
		}
		if m.ID != id {
			if m.ID != "" {
				skipped = append(skipped, m)
			}
			continue
		}
		ev := event{Type: m.Type, raw: m.Payload}
		switch m.Type {
		case "next", "data":
			var p struct {
				Data   map[string]any `json:"data"`
				Errors []gqlError     `json:"errors"`
			}
			if err := json.Unmarshal(m.Payload, &p); err != nil {
				c.t.Fatalf("bad payload %s: %v", m.Payload, err)
			}
			ev.Type, ev.Data, ev.Errors = "next", p.Data, p.Errors
		case "error":
			_ = json.Unmarshal(m.Payload, &ev.Errors)
			if len(ev.Errors) == 0 { // graphql-ws sends one error object
				var one gqlError
				if json.Unmarshal(m.Payload, &one) == nil {
					ev.Errors = []gqlError{one}
				}
			}
		}
		return ev, true
	}
}

// change returns the <field>Changed payload of a next event, failing on
// anything else.
func (ev event) change(t testing.TB, field string) map[string]any {
	t.Helper()
	if ev.Type != "next" || len(ev.Errors) > 0 {
		t.Fatalf("got %s %s, want a clean next", ev.Type, ev.raw)
	}
	ch, ok := ev.Data[field].(map[string]any)
	if !ok {
		t.Fatalf("no %s in %s", field, ev.raw)
	}
	return ch
}

// recordOf returns action and record of a change.
func recordOf(t testing.TB, ev event, field string) (string, map[string]any) {
	t.Helper()
	ch := ev.change(t, field)
	rec, _ := ch["record"].(map[string]any)
	action, _ := ch["action"].(string)
	return action, rec
}

// expectQuiet fails if operation id gets a message within d.
func (c *subClient) expectQuiet(id string, d time.Duration) {
	c.t.Helper()
	if ev, ok := c.tryNext(id, d); ok {
		c.t.Fatalf("unexpected %s for %s: %s", ev.Type, id, ev.raw)
	}
}

// closeCode waits for the socket to end and returns the close frame's code
// and text (-1 when it ended without one).
func (c *subClient) closeCode(timeout time.Duration) (int, string) {
	c.t.Helper()
	select {
	case <-c.done:
	case <-time.After(timeout):
		c.t.Fatalf("socket still open after %v", timeout)
	}
	var ce *websocket.CloseError
	if errors.As(c.readErr, &ce) {
		return ce.Code, ce.Text
	}
	return -1, ""
}

// waitSubscribers waits until the hub has n subscribers of collection
// name: graphql-transport-ws does not acknowledge a subscribe.
func (en *env) waitSubscribers(name string, n int) {
	en.t.Helper()
	c, err := en.d.Collection(name)
	if err != nil {
		en.t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for en.e.Subscribers(c.ID) != n {
		if time.Now().After(deadline) {
			en.t.Fatalf("%s has %d subscribers, want %d", name, en.e.Subscribers(c.ID), n)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// smallReadBuffer is a dialer whose sockets have a small receive buffer
// (set before connecting, so that TCP's window is negotiated for it), so
// that a client that stops reading backs up quickly.
func smallReadBuffer(ctx context.Context, network, addr string) (net.Conn, error) {
	d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		if err := rc.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 8192)
		}); err != nil {
			return err
		}
		return serr
	}}
	return d.DialContext(ctx, network, addr)
}
