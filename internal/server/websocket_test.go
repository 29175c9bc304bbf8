package server

import (
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"
)

// httpServeGoroutines counts the goroutines of net/http's connections
// (each runs conn.serve while its handler runs).
func httpServeGoroutines() int {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	return strings.Count(string(buf), "net/http.(*conn).serve(")
}

// TestWebSocketOutlivesItsHandler checks that an open subscription's HTTP
// handler has returned (net/http keeps nothing of the request, see
// internal/lifetime), while what the middleware ties to the socket still
// lasts until it closes: the count of open sockets, and the request log's
// entry, with its operation, written at the close.
func TestWebSocketOutlivesItsHandler(t *testing.T) {
	srv := serveWithTitles(t, "posts")
	token := signIn(t, srv.URL(), "admin@example.com", "admin-password")
	flushLogs(t, srv)
	conn := dialGraphQLWS(t, srv.Addr())
	if err := conn.WriteJSON(map[string]any{"type": "connection_init", "payload": map[string]any{}}); err != nil {
		t.Fatal(err)
	}
	var msg struct {
		Type string `json:"type"`
	}
	if err := conn.ReadJSON(&msg); err != nil || msg.Type != "connection_ack" {
		t.Fatalf("ack: %v %q", err, msg.Type)
	}
	if err := conn.WriteJSON(map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{
		"query": "subscription Watch { postChanged { action record { title } } }"}}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // the subscription starts
	mustGQL(t, srv.URL()+"/graphql", "", `mutation { createPost(input: {title: "seen"}) { id } }`, nil)
	if err := conn.ReadJSON(&msg); err != nil || msg.Type != "next" {
		t.Fatalf("event: %v %q", err, msg.Type)
	}

	// The mutation's keep-alive connection may still be served: wait for
	// net/http's goroutines to settle, then none may be the socket's.
	deadline := time.Now().Add(10 * time.Second)
	for httpServeGoroutines() > 1 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := httpServeGoroutines(); n > 1 {
		t.Fatalf("%d net/http connection goroutines with one socket and one keep-alive connection", n)
	}
	http.DefaultClient.CloseIdleConnections()
	for httpServeGoroutines() > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := httpServeGoroutines(); n != 0 {
		t.Fatalf("the socket's handler is still running (%d net/http connection goroutines)", n)
	}
	if n := srv.websockets.Load(); n != 1 {
		t.Fatalf("open sockets %d, want 1", n)
	}
	if got := logEntries(t, srv, token, "data.operation = 'subscription Watch'"); len(got) != 0 {
		t.Fatalf("the socket's log entry was written before it closed: %v", got)
	}

	_ = conn.Close()
	for srv.websockets.Load() != 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := srv.websockets.Load(); n != 0 {
		t.Fatalf("open sockets %d after the close, want 0", n)
	}
	got := logEntries(t, srv, token, "data.operation = 'subscription Watch'")
	if len(got) != 1 || logData(got[0])["status"] != 101.0 {
		t.Fatalf("entries after the close %v, want one with status 101", got)
	}
}
