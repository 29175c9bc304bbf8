package transport_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/monobase/monobase/internal/dbtest"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql"
	gqltransport "github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/gorilla/websocket"

	"github.com/monobase/monobase/auth"
	"github.com/monobase/monobase/db"
	"github.com/monobase/monobase/dynschema"
	"github.com/monobase/monobase/files"
	"github.com/monobase/monobase/subscriptions"
	"github.com/monobase/monobase/transport"
)

// The tests of this file run the transports on the real engine
// (dynschema, which imports this package; an external test package may
// import it back).

// server is a real server: SQLite in a temp dir, the auth service, the hub
// and the engine, behind the transports of this package.
type server struct {
	t     *testing.T
	ctx   context.Context
	d     *db.DB
	a     *auth.Service
	e     *dynschema.Engine
	posts *db.Collection
	srv   *httptest.Server
	h     *transport.Handler
	hub   *subscriptions.Hub

	mu         sync.Mutex
	dispatched map[string]string // raw query -> the id of its Route ("" without)
}

// newServer starts a server with a public posts collection; the handler is
// transport.New on the engine, which records what each dispatched
// operation was handed (see recordingEngine).
func newServer(t *testing.T) *server {
	t.Helper()
	return newServerWith(t, nil)
}

// newServerWith is newServer with the engine's config changed by edit
// (nil: as it is).
func newServerWith(t *testing.T, edit func(*dynschema.Config)) *server {
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
	hub := subscriptions.New(subscriptions.Options{})
	t.Cleanup(hub.Close)
	cfg := dynschema.Config{DB: d, Auth: a, Files: files.NewLocal(filepath.Join(dir, "storage")), Hub: hub}
	if edit != nil {
		edit(&cfg)
	}
	e, err := dynschema.New(ctx, cfg)
	if err != nil {
		t.Fatalf("engine: %v", err)
	}
	d.OnSchemaChange = e.PrepareSchema
	d.OnRecordChange = func(ev db.RecordEvent) {
		e.RecordChanged(ev)
		hub.Publish(ev)
	}
	s := &server{t: t, ctx: ctx, d: d, a: a, e: e, dispatched: map[string]string{}}
	public := ""
	s.posts, err = d.CreateCollection(ctx, &db.Collection{Name: "posts", Type: db.TypeBase,
		ListRule: &public, ViewRule: &public, CreateRule: &public, UpdateRule: &public, DeleteRule: &public,
		Fields: []*db.Field{{Name: "title", Type: db.FieldText}, {Name: "views", Type: db.FieldNumber}}})
	if err != nil {
		t.Fatalf("create posts: %v", err)
	}
	h := transport.New(recordingEngine{e, s}, transport.Config{Shutdown: hub.Done()})
	mux := http.NewServeMux()
	s.h, s.hub = h, hub
	mux.Handle("/graphql", a.Middleware(h))
	s.srv = httptest.NewServer(mux)
	t.Cleanup(s.srv.Close)
	return s
}

// recordingEngine is the engine, noting for each operation it dispatches
// the Route the transport handed it.
type recordingEngine struct {
	*dynschema.Engine
	s *server
}

func (r recordingEngine) DispatchOperation(ctx context.Context, oc *graphql.OperationContext) (graphql.ResponseHandler, context.Context) {
	r.s.mu.Lock()
	r.s.dispatched[oc.RawQuery] = transport.RouteID(transport.RouteOf(ctx))
	r.s.mu.Unlock()
	return r.Engine.DispatchOperation(ctx, oc)
}

// routeOf returns the id of the Route of the operation with that text
// ("" without), and whether it was dispatched.
func (s *server) routeOf(query string) (id string, dispatched bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, dispatched = s.dispatched[query]
	return id, dispatched
}

// waitSubscribers waits until n subscriptions of posts run.
func (s *server) waitSubscribers(n int) {
	s.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for s.e.Subscribers(s.posts.ID) != n {
		if time.Now().After(deadline) {
			s.t.Fatalf("%d subscribers, want %d", s.e.Subscribers(s.posts.ID), n)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// wsMsg is a message of either subprotocol.
type wsMsg struct {
	ID      string          `json:"id,omitempty"`
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

// client is one WebSocket, read synchronously.
type client struct {
	t     *testing.T
	conn  *websocket.Conn
	proto string
}

func (s *server) dial(proto string) *client {
	s.t.Helper()
	d := websocket.Dialer{Subprotocols: []string{proto}, HandshakeTimeout: 5 * time.Second}
	conn, _, err := d.Dial("ws"+strings.TrimPrefix(s.srv.URL, "http")+"/graphql", nil)
	if err != nil {
		s.t.Fatalf("dial %s: %v", proto, err)
	}
	s.t.Cleanup(func() { _ = conn.Close() })
	return &client{t: s.t, conn: conn, proto: proto}
}

// connect dials and completes connection_init/connection_ack.
func (s *server) connect(proto string) *client {
	s.t.Helper()
	c := s.dial(proto)
	c.send(wsMsg{Type: "connection_init"})
	if m := c.read(); m.Type != "connection_ack" {
		s.t.Fatalf("got %s %s, want connection_ack", m.Type, m.Payload)
	}
	return c
}

func (c *client) send(m wsMsg) {
	c.t.Helper()
	if err := c.conn.WriteJSON(m); err != nil {
		c.t.Fatalf("send %s: %v", m.Type, err)
	}
}

func (c *client) subscribe(id, query string) {
	c.t.Helper()
	p, _ := json.Marshal(map[string]any{"query": query})
	typ := "subscribe"
	if c.proto == "graphql-ws" {
		typ = "start"
	}
	c.send(wsMsg{ID: id, Type: typ, Payload: p})
}

func (c *client) stop(id string) {
	c.t.Helper()
	typ := "complete"
	if c.proto == "graphql-ws" {
		typ = "stop"
	}
	c.send(wsMsg{ID: id, Type: typ})
}

// read returns the next message other than a keep-alive (graphql-ws "ka"),
// within 5 s.
func (c *client) read() wsMsg {
	c.t.Helper()
	for {
		_ = c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		var m wsMsg
		if err := c.conn.ReadJSON(&m); err != nil {
			c.t.Fatalf("read: %v", err)
		}
		if m.Type != "ka" {
			return m
		}
	}
}

// closeCode reads until the socket ends and returns its close code (-1
// without a close frame).
func (c *client) closeCode() (int, string) {
	c.t.Helper()
	_ = c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		if _, _, err := c.conn.ReadMessage(); err != nil {
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				return ce.Code, ce.Text
			}
			return -1, err.Error()
		}
	}
}

// TestWebSocketProtocol pins what ws_session.go does on both
// subprotocols: an operation's context is created with the route of its
// own message, even when the next message follows at once; a query
// answers and completes while subscriptions run; ping gets pong on
// graphql-transport-ws; stopping a subscription completes it; and after a
// protocol close (ours, 4401) no second close frame is written.
func TestWebSocketProtocol(t *testing.T) {
	s := newServer(t)
	for _, proto := range []string{"graphql-transport-ws", "graphql-ws"} {
		t.Run(proto, func(t *testing.T) {
			c := s.connect(proto)
			// Operation texts of their own per protocol (s.routed is by text).
			suffix := strings.ReplaceAll(proto, "-", "_")
			subA := `subscription A_` + suffix + ` { postChanged { action } }`
			subB := `subscription B_` + suffix + ` { postChanged { record { id } } }`
			query := `query Q_` + suffix + ` { __typename }`
			// Back to back: each operation gets the route of its own
			// message.
			c.subscribe("1", subA)
			c.subscribe("2", subB)
			c.subscribe("3", query)
			for _, want := range []string{"3", "3"} { // the query's data, then its complete
				if m := c.read(); m.ID != want {
					t.Fatalf("got %s for %q, want the query's messages first", m.Type, m.ID)
				}
			}
			s.waitSubscribers(2)
			// Each operation read from a subscribe/start message carries
			// the route of its own message (a query's goes unused).
			for _, tc := range []struct{ query, id string }{{subA, "1"}, {subB, "2"}, {query, "3"}} {
				if id, dispatched := s.routeOf(tc.query); !dispatched || id != tc.id {
					t.Errorf("%s: dispatched %v with the route of %q, want %q", tc.query, dispatched, id, tc.id)
				}
			}
			if proto == "graphql-transport-ws" {
				c.send(wsMsg{Type: "ping"})
				if m := c.read(); m.Type != "pong" {
					t.Errorf("got %s, want pong", m.Type)
				}
			}
			c.stop("1")
			c.stop("2")
			s.waitSubscribers(0)
			for range 2 {
				if m := c.read(); m.Type != "complete" || (m.ID != "1" && m.ID != "2") {
					t.Errorf("got %s for %q, want the subscriptions' complete", m.Type, m.ID)
				}
			}
		})
	}
	t.Run("no second close frame after a protocol close", func(t *testing.T) {
		c := s.dial("graphql-transport-ws")
		if err := c.conn.WriteMessage(websocket.TextMessage, []byte(`{"type":"subscribe","id":"1","payload":{"query":"{ __typename }"}}`)); err != nil {
			t.Fatal(err)
		}
		if code, text := c.closeCode(); code != 4401 || text != "Unauthorized" {
			t.Errorf("close %d %q, want ours (4401 Unauthorized)", code, text)
		}
	})
}

// TestPostTransportMatchesGqlgen sends the same requests through our POST
// transport and gqlgen's transport.POST: status, content type and body
// must agree.
func TestPostTransportMatchesGqlgen(t *testing.T) {
	s := newServer(t)
	tx, err := s.d.Begin(s.ctx)
	if err != nil {
		t.Fatal(err)
	}
	p, err := tx.Insert(s.posts, db.RecordInput{"title": "one \"quoted\" <title>", "views": 3.0})
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	// rules left nil: superusers only
	if _, err := s.d.CreateCollection(s.ctx, &db.Collection{Name: "secrets", Type: db.TypeBase,
		Fields: []*db.Field{{Name: "name", Type: db.FieldText}}}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, body, accept string
		noEcho             bool // gqlgen quotes the body in its error; we must not
	}{
		{"a query", `{"query":"{ posts { id title views } }"}`, "", false},
		{"variables", `{"query":"query($id: ID!) { post(id: $id) { id title } }","variables":{"id":"` + p.ID() + `"}}`, "application/json", false},
		{"graphql-response+json", `{"query":"{ posts { id } }"}`, "application/graphql-response+json", false},
		{"any type", `{"query":"{ posts { id } }"}`, "*/*", false},
		{"unknown accept", `{"query":"{ posts { id } }"}`, "text/plain", false},
		{"a field error", `{"query":"{ posts(limit: 5000) { id } }"}`, "", false},
		{"a forbidden list", `{"query":"{ secrets { id } }"}`, "", false},
		{"a parse error", `{"query":"{ posts { id "}`, "", false},
		{"a parse error as graphql-response+json", `{"query":"{ posts { id "}`, "application/graphql-response+json", false},
		{"a validation error", `{"query":"{ nope }"}`, "", false},
		{"bad JSON", `{"query":`, "", true},
		{"NUL bytes", strings.Repeat("\x00", 4096), "", true},
		{"a wrong type", `{"query":["` + strings.Repeat("x", 4096) + `"]}`, "", true},
		{"no query", `{}`, "", false},
		{"an unknown operation name", `{"query":"query A { posts { id } }","operationName":"B"}`, "", false},
		{"a missing variable", `{"query":"query($id: ID!) { post(id: $id) { id } }"}`, "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			run := func(tr graphql.Transport) *httptest.ResponseRecorder {
				r := httptest.NewRequest("POST", "/graphql", strings.NewReader(c.body))
				r.Header.Set("Content-Type", "application/json")
				if c.accept != "" {
					r.Header.Set("Accept", c.accept)
				}
				r = r.WithContext(graphql.StartOperationTrace(r.Context()))
				w := httptest.NewRecorder()
				tr.Do(w, r, s.e)
				return w
			}
			got, want := run(transport.PostJSON), run(gqltransport.POST{})
			if got.Code != want.Code {
				t.Errorf("status %d, gqlgen %d", got.Code, want.Code)
			}
			if g, w := got.Header().Get("Content-Type"), want.Header().Get("Content-Type"); g != w {
				t.Errorf("content type %q, gqlgen %q", g, w)
			}
			if !json.Valid(got.Body.Bytes()) {
				t.Fatalf("invalid JSON: %s", got.Body)
			}
			if c.noEcho {
				if got.Body.Len() > 300 || !strings.Contains(got.Body.String(), "json request body could not be decoded") {
					t.Errorf("want a short decoding error that does not quote the body, got %s", got.Body)
				}
				return
			}
			jsonEq(t, got.Body.Bytes(), want.Body.String())
		})
	}
}

// jsonEq compares a JSON document with the expected one, ignoring layout.
func jsonEq(t *testing.T, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("got invalid JSON %s: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("want invalid JSON %s: %v", want, err)
	}
	gb, _ := json.Marshal(g)
	wb, _ := json.Marshal(w)
	if !bytes.Equal(gb, wb) {
		t.Errorf("got  %s\nwant %s", gb, wb)
	}
}

// TestIdleSocketsHoldOneGoroutine: a socket whose subscriptions wait for
// events holds one goroutine, its reader (gqlgen's transport held one more
// per socket and one per subscription).
func TestIdleSocketsHoldOneGoroutine(t *testing.T) {
	s := newServer(t)
	const sockets, subsEach = 20, 3
	var clients []*client
	for range sockets {
		clients = append(clients, s.connect("graphql-transport-ws"))
	}
	time.Sleep(50 * time.Millisecond) // the upgrades' short-lived goroutines end
	before := runtime.NumGoroutine()
	for _, c := range clients {
		for j := range subsEach {
			c.subscribe(fmt.Sprint(j), `subscription { postChanged { action } }`)
		}
	}
	s.waitSubscribers(sockets * subsEach)
	time.Sleep(50 * time.Millisecond) // the operations' goroutines return
	// The subscriptions, all alike, share one fan-out goroutine (one per
	// group of identical subscriptions, dynschema's batches).
	if extra := runtime.NumGoroutine() - before; extra > 5 {
		t.Errorf("%d subscriptions on %d sockets added %d goroutines", sockets*subsEach, sockets, extra)
	}
	// They still work: an event reaches each, and a stop completes one.
	s.post("", `mutation { createPost(input: {title: "x"}) { id } }`, nil)
	for _, c := range clients {
		for range subsEach {
			if m := c.read(); m.Type != "next" {
				t.Fatalf("got %s, want next", m.Type)
			}
		}
	}
	clients[0].stop("1")
	if m := clients[0].read(); m.Type != "complete" || m.ID != "1" {
		t.Fatalf("got %s %q, want complete 1", m.Type, m.ID)
	}
}

// TestWebSocketDuplicateID: on graphql-transport-ws a subscribe with the
// id of a running operation closes with 4409; on graphql-ws the new
// operation replaces the old one.
func TestWebSocketDuplicateID(t *testing.T) {
	s := newServer(t)
	c := s.connect("graphql-transport-ws")
	c.subscribe("1", `subscription { postChanged { action } }`)
	s.waitSubscribers(1)
	c.subscribe("1", `subscription { postChanged { action } }`)
	if code, text := c.closeCode(); code != 4409 || text != "Subscriber for 1 already exists" {
		t.Errorf("close %d %q, want 4409", code, text)
	}
	s.waitSubscribers(0)

	l := s.connect("graphql-ws")
	l.subscribe("1", `subscription A { postChanged { action } }`)
	s.waitSubscribers(1)
	l.subscribe("1", `subscription B { postChanged { record { title } } }`)
	if m := l.read(); m.Type != "complete" || m.ID != "1" {
		t.Fatalf("got %s %q, want the first operation's complete", m.Type, m.ID)
	}
	s.waitSubscribers(1)
	s.post("", `mutation { createPost(input: {title: "only B"}) { id } }`, nil)
	if m := l.read(); m.Type != "data" || !strings.Contains(string(m.Payload), "only B") {
		t.Fatalf("got %s %s, want B's event", m.Type, m.Payload)
	}
	// The id now names B: stopping it ends B.
	l.stop("1")
	if m := l.read(); m.Type != "complete" || m.ID != "1" {
		t.Fatalf("got %s %q, want B's complete", m.Type, m.ID)
	}
	s.waitSubscribers(0)
}
