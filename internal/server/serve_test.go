package server

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

func TestServe(t *testing.T) {
	dir := t.TempDir()
	srv, banner := startServer(t, dir)
	base := srv.URL()

	t.Run("banner says where to open it and how to create a superuser", func(t *testing.T) {
		out := banner.String()
		for _, want := range []string{
			"Server started at " + base + "\n",
			"├─ GraphQL:    " + base + "/graphql\n",
			base + "/graphql/admin",
			base + "/playground",
			"monobase superuser upsert EMAIL PASSWORD",
			base + "/_/\n",
			base + "/_/#/setup?token=",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("banner lacks %q:\n%s", want, out)
			}
		}
	})

	tests := []struct {
		name     string
		method   string
		path     string
		header   map[string]string
		status   int
		ctype    string
		body     string // substring of the body
		location string
	}{
		{name: "health answers ok", method: "GET", path: "/health", status: 200, ctype: "application/json", body: `{"status":"ok"}`},
		{name: "health answers HEAD", method: "HEAD", path: "/health", status: 200, ctype: "application/json"},
		{name: "health ignores a bad token", method: "GET", path: "/health", header: map[string]string{"Authorization": "Bearer nope"}, status: 200, body: `"ok"`},
		{name: "health refuses POST", method: "POST", path: "/health", status: 405},
		{name: "playground is served", method: "GET", path: "/playground", status: 200, ctype: "text/html", body: "graphiql"},
		{name: "playground assets are served", method: "GET", path: "/playground/assets/graphiql.min.js", status: 200, ctype: "text/javascript"},
		{name: "a browser opening /graphql goes to the playground", method: "GET", path: "/graphql", header: map[string]string{"Accept": "text/html,application/xhtml+xml"}, status: 302, location: "/playground"},
		{name: "an invalid token is 401 UNAUTHENTICATED", method: "POST", path: "/graphql/admin", header: map[string]string{"Authorization": "Bearer not-a-token", "Content-Type": "application/json"}, status: 401, body: "UNAUTHENTICATED"},
		{name: "the site root goes to the dashboard", method: "GET", path: "/", status: 302, location: "/_/"},
		{name: "the dashboard is served", method: "GET", path: "/_/", status: 200, ctype: "text/html", body: "Monobase dashboard"},
		{name: "unknown paths are a JSON 404", method: "GET", path: "/nope", status: 404, ctype: "application/json", body: "no route"},
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body io.Reader
			if tt.method == "POST" {
				body = strings.NewReader(`{"query":"{ __typename }"}`)
			}
			req, _ := http.NewRequest(tt.method, base+tt.path, body)
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			res, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			raw, _ := io.ReadAll(res.Body)
			if res.StatusCode != tt.status {
				t.Fatalf("status = %d, want %d (body %s)", res.StatusCode, tt.status, raw)
			}
			if tt.ctype != "" && !strings.HasPrefix(res.Header.Get("Content-Type"), tt.ctype) {
				t.Errorf("Content-Type = %q, want %q", res.Header.Get("Content-Type"), tt.ctype)
			}
			if !strings.Contains(string(raw), tt.body) {
				t.Errorf("body %q lacks %q", raw, tt.body)
			}
			if tt.location != "" && res.Header.Get("Location") != tt.location {
				t.Errorf("Location = %q, want %q", res.Header.Get("Location"), tt.location)
			}
		})
	}

	t.Run("the application API answers __typename", func(t *testing.T) {
		data := mustGQL(t, base+"/graphql", "", `{ __typename }`, nil)
		if data["__typename"] != "Query" {
			t.Errorf("__typename = %v", data["__typename"])
		}
	})

	t.Run("the admin API refuses anonymous callers", func(t *testing.T) {
		r := gql(t, base+"/graphql/admin", "", `{ collections { name } }`, nil)
		if r.errCode() != "UNAUTHENTICATED" {
			t.Errorf("code = %q, want UNAUTHENTICATED (%+v)", r.errCode(), r.Errors)
		}
	})
}

func TestSuperuserThenSignIn(t *testing.T) {
	dir := t.TempDir()
	out := mustCLI(t, "--dir", dir, "superuser", "upsert", "admin@example.com", "first-password")
	if !strings.Contains(out, "admin@example.com") {
		t.Errorf("upsert output = %q", out)
	}
	// Upsert again sets the password; flags may follow the arguments.
	mustCLI(t, "superuser", "upsert", "admin@example.com", "second-password", "--dir", dir)

	t.Run("create refuses an existing email", func(t *testing.T) {
		if _, _, err := runCLI(t, "--dir", dir, "superuser", "create", "admin@example.com", "whatever-pass"); err == nil {
			t.Fatal("create of an existing superuser succeeded")
		}
	})
	t.Run("create adds another superuser", func(t *testing.T) {
		mustCLI(t, "--dir", dir, "superuser", "create", "other@example.com", "other-password")
	})
	t.Run("delete of a missing superuser fails", func(t *testing.T) {
		if _, _, err := runCLI(t, "--dir", dir, "superuser", "delete", "ghost@example.com"); err == nil {
			t.Fatal("delete of a missing superuser succeeded")
		}
	})
	t.Run("delete removes a superuser", func(t *testing.T) {
		mustCLI(t, "--dir", dir, "superuser", "delete", "other@example.com")
	})

	srv, banner := startServer(t, dir)
	base := srv.URL()

	t.Run("no superuser hint once one exists", func(t *testing.T) {
		if strings.Contains(banner.String(), "No superuser yet") {
			t.Errorf("banner still asks for a superuser:\n%s", banner.String())
		}
	})
	t.Run("the upserted password signs in and the token works", func(t *testing.T) {
		token := signIn(t, base, "admin@example.com", "second-password")
		if names := collectionNames(t, base, token); !contains(names, "users") {
			t.Errorf("collections = %v, want users among them", names)
		}
	})
	t.Run("the old password no longer signs in", func(t *testing.T) {
		r := gql(t, base+"/graphql/admin", "", `mutation { authWithPassword(email: "admin@example.com", password: "first-password") { token } }`, nil)
		if len(r.Errors) == 0 {
			t.Fatal("old password signed in")
		}
	})
	t.Run("a deleted superuser cannot sign in", func(t *testing.T) {
		r := gql(t, base+"/graphql/admin", "", `mutation { authWithPassword(email: "other@example.com", password: "other-password") { token } }`, nil)
		if len(r.Errors) == 0 {
			t.Fatal("deleted superuser signed in")
		}
	})
}

func TestRestartKeepsData(t *testing.T) {
	dir := t.TempDir()
	mustCLI(t, "--dir", dir, "superuser", "upsert", "admin@example.com", "admin-password")

	first, _ := startServer(t, dir)
	token := signIn(t, first.URL(), "admin@example.com", "admin-password")
	mustGQL(t, first.URL()+"/graphql/admin", token, `mutation {
		createCollection(input: {name: "notes", listRule: "", viewRule: "", createRule: "",
			fields: [{name: "title", type: TEXT, required: true}]}) { id }
	}`, nil)
	created := mustGQL(t, first.URL()+"/graphql", "", `mutation { createNote(input: {title: "kept"}) { id title } }`, nil)
	note, _ := created["createNote"].(map[string]any)
	id, _ := note["id"].(string)
	if err := first.Close(); err != nil {
		t.Fatalf("close first server: %v", err)
	}

	second, _ := startServer(t, dir)
	t.Run("the collection survives", func(t *testing.T) {
		token := signIn(t, second.URL(), "admin@example.com", "admin-password")
		if names := collectionNames(t, second.URL(), token); !contains(names, "notes") {
			t.Errorf("collections after restart = %v", names)
		}
	})
	t.Run("the record survives", func(t *testing.T) {
		data := mustGQL(t, second.URL()+"/graphql", "", `query($id: ID!) { note(id: $id) { title } }`, map[string]any{"id": id})
		got, _ := data["note"].(map[string]any)
		if got["title"] != "kept" {
			t.Errorf("note after restart = %v", data["note"])
		}
	})
}

// TestGracefulShutdown cancels the context of a running `monobase serve`
// (what SIGINT/SIGTERM do in main) while a request is half sent, and checks
// that the request still gets its answer and the command returns cleanly.
func TestGracefulShutdown(t *testing.T) {
	dir := t.TempDir()
	started := make(chan *ServeCommand, 1)
	m := &Main{Stdout: io.Discard, Stderr: io.Discard, Getenv: testEnv(t, dir, nil),
		Started: func(c *ServeCommand) { started <- c }}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx, []string{"serve", "--dir", dir, "--http", "127.0.0.1:0"}) }()

	var srv *ServeCommand
	select {
	case srv = <-started:
	case err := <-done:
		t.Fatalf("serve ended early: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("server did not start")
	}

	// Send the headers and half of the body, so the handler is running
	// and blocked reading when the shutdown starts.
	conn, err := net.Dial("tcp", srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := `{"query":"{ __typename }"}`
	half := len(body) / 2
	fmt.Fprintf(conn, "POST /graphql/admin HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
		srv.Addr(), len(body), body[:half])
	time.Sleep(200 * time.Millisecond)

	cancel() // SIGTERM
	time.Sleep(200 * time.Millisecond)

	t.Run("new connections are refused during shutdown", func(t *testing.T) {
		c, err := net.DialTimeout("tcp", srv.Addr(), time.Second)
		if err == nil {
			c.Close()
			t.Error("a new connection was accepted after shutdown started")
		}
	})
	select {
	case err := <-done:
		t.Fatalf("serve returned before the in-flight request finished: %v", err)
	default:
	}

	t.Run("the in-flight request finishes", func(t *testing.T) {
		if _, err := io.WriteString(conn, body[half:]); err != nil {
			t.Fatalf("finish the body: %v", err)
		}
		_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		res, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("read response: %v", err)
		}
		defer res.Body.Close()
		var out struct {
			Data map[string]any `json:"data"`
		}
		if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
			t.Fatalf("decode: %v", err)
		}
		if res.StatusCode != 200 || out.Data["__typename"] != "Mutation" && out.Data["__typename"] != "Query" {
			t.Errorf("status %d, data %v", res.StatusCode, out.Data)
		}
	})

	t.Run("serve returns without error", func(t *testing.T) {
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Fatal("serve did not return after shutdown")
		}
	})

	t.Run("the data folder opens again", func(t *testing.T) {
		again, _ := startServer(t, dir)
		res, err := http.Get(again.URL() + "/health")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 200 {
			t.Errorf("health after restart = %d", res.StatusCode)
		}
	})
}

func TestServeFlags(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		env      map[string]string
		wantHTTP string
		wantDir  string
		wantDev  bool
		wantErr  bool
	}{
		{name: "defaults", wantHTTP: DefaultHTTP, wantDir: DefaultDir},
		{name: "flags", args: []string{"--http", "127.0.0.1:9000", "--dir", "/tmp/x", "--dev"}, wantHTTP: "127.0.0.1:9000", wantDir: "/tmp/x", wantDev: true},
		{name: "env vars", env: map[string]string{"MONOBASE_HTTP": "127.0.0.1:9001", "MONOBASE_DIR": "/tmp/env", "MONOBASE_DEV": "1"}, wantHTTP: "127.0.0.1:9001", wantDir: "/tmp/env", wantDev: true},
		{name: "a flag wins over its env var", args: []string{"--http", "127.0.0.1:9002", "--dev=false", "--dir", "/tmp/flag"},
			env: map[string]string{"MONOBASE_HTTP": "127.0.0.1:9001", "MONOBASE_DEV": "true", "MONOBASE_DIR": "/tmp/env"}, wantHTTP: "127.0.0.1:9002", wantDir: "/tmp/flag"},
		{name: "MONOBASE_DEV=0 is off", env: map[string]string{"MONOBASE_DEV": "0"}, wantHTTP: DefaultHTTP, wantDir: DefaultDir},
		{name: "an argument is refused", args: []string{"extra"}, wantErr: true},
		{name: "an unknown flag is refused", args: []string{"--port", "1"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewServeCommand(io.Discard, io.Discard)
			err := c.ParseFlags(tt.args, func(k string) string { return tt.env[k] })
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if tt.wantErr {
				if !errors.Is(err, errUsage) {
					t.Errorf("err = %v, want a usage error", err)
				}
				return
			}
			if c.HTTP != tt.wantHTTP || c.Dir != tt.wantDir || c.Dev != tt.wantDev {
				t.Errorf("got http=%q dir=%q dev=%v, want %q %q %v", c.HTTP, c.Dir, c.Dev, tt.wantHTTP, tt.wantDir, tt.wantDev)
			}
		})
	}
}

func TestServeRefusesABusyPort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c := NewServeCommand(io.Discard, io.Discard)
	c.Dir = t.TempDir()
	c.HTTP = ln.Addr().String()
	withTestDB(t, c)
	err = c.Run(context.Background())
	if err == nil {
		c.Close()
		t.Fatal("serve started on a busy port")
	}
	if !strings.Contains(err.Error(), "listen on") {
		t.Errorf("error = %v, want it to name the listen failure", err)
	}
	// The database was closed again: the folder opens at once.
	again, _ := startServer(t, c.Dir)
	if again.Addr() == "" {
		t.Error("no address")
	}
}

// TestShutdownClosesWebSockets checks that a graphql-transport-ws client
// with a running subscription gets a close frame when the server shuts down,
// and that Close does not hang on the hijacked connection.
func TestShutdownClosesWebSockets(t *testing.T) {
	srv := serveWithTitles(t, "posts")
	conn := dialGraphQLWS(t, srv.Addr())
	send := func(v any) {
		if err := conn.WriteJSON(v); err != nil {
			t.Fatalf("write: %v", err)
		}
	}
	send(map[string]any{"type": "connection_init", "payload": map[string]any{}})
	var msg struct {
		Type string `json:"type"`
	}
	if err := conn.ReadJSON(&msg); err != nil || msg.Type != "connection_ack" {
		t.Fatalf("ack: %v %q", err, msg.Type)
	}
	send(map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{
		"query": "subscription { postChanged { action } }"}})
	time.Sleep(100 * time.Millisecond)

	closed := make(chan error, 1)
	go func() { closed <- srv.Close() }()

	// Read until the close frame; a "complete" for the subscription may come first.
	var closeErr *websocket.CloseError
	for {
		_, _, err := conn.ReadMessage()
		if err == nil {
			continue
		}
		if !errors.As(err, &closeErr) {
			t.Fatalf("connection ended without a close frame: %v", err)
		}
		break
	}
	// 1001 "going away": the server is shutting down (dynschema's adapter).
	if closeErr.Code != websocket.CloseGoingAway {
		t.Errorf("close code = %d, want %d", closeErr.Code, websocket.CloseGoingAway)
	}
	select {
	case err := <-closed:
		if err != nil {
			t.Errorf("close: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Close hung on the WebSocket")
	}
}

func TestServeMaxSocketsPerIP(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     string
		want    int
		wantErr bool
	}{
		{name: "default", want: 0},
		{name: "flag", args: []string{"--max-sockets-per-ip", "20000"}, want: 20000},
		{name: "env var", env: "15000", want: 15000},
		{name: "the flag wins", args: []string{"--max-sockets-per-ip=5"}, env: "15000", want: 5},
		{name: "a bad env var is refused", env: "many", wantErr: true},
		{name: "a negative count is refused", args: []string{"--max-sockets-per-ip", "-1"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewServeCommand(io.Discard, io.Discard)
			err := c.ParseFlags(tt.args, func(k string) string {
				if k == "MONOBASE_MAX_SOCKETS_PER_IP" {
					return tt.env
				}
				return ""
			})
			if (err != nil) != tt.wantErr || (err != nil && !errors.Is(err, errUsage)) {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if err == nil && c.MaxSocketsPerIP != tt.want {
				t.Errorf("got %d, want %d", c.MaxSocketsPerIP, tt.want)
			}
		})
	}

	t.Run("the server refuses one socket more with 429", func(t *testing.T) {
		c := NewServeCommand(io.Discard, io.Discard)
		c.Dir, c.HTTP, c.MaxSocketsPerIP = t.TempDir(), "127.0.0.1:0", 1
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		withTestDB(t, c)
		if err := c.Run(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		dialer := websocket.Dialer{Subprotocols: []string{"graphql-transport-ws"}}
		first, _, err := dialer.Dial("ws://"+c.Addr()+"/graphql", nil)
		if err != nil {
			t.Fatalf("first socket: %v", err)
		}
		defer first.Close()
		_, resp, err := dialer.Dial("ws://"+c.Addr()+"/graphql", nil)
		if err == nil || resp == nil || resp.StatusCode != http.StatusTooManyRequests {
			t.Errorf("second socket: %v %v, want 429", resp, err)
		}
	})
}

// The serve wiring hooks the engine and the hub into db: a new collection
// becomes a type at once (OnSchemaChange) and a committed record reaches a
// subscription (OnRecordChange).
func TestServeWiresChangeHooks(t *testing.T) {
	srv := serveWithTitles(t, "notes")
	conn := dialGraphQLWS(t, srv.Addr())
	type message struct {
		ID      string          `json:"id"`
		Type    string          `json:"type"`
		Payload json.RawMessage `json:"payload"`
	}
	send := func(v any) {
		if err := conn.WriteJSON(v); err != nil {
			t.Fatalf("write: %v", err)
		}
	}
	send(map[string]any{"type": "connection_init", "payload": map[string]any{}})
	var msg message
	if err := conn.ReadJSON(&msg); err != nil || msg.Type != "connection_ack" {
		t.Fatalf("ack: %v %q", err, msg.Type)
	}
	send(map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{
		"query": "subscription { noteChanged { action record { title } } }"}})

	msgs := make(chan message, 1)
	go func() {
		defer close(msgs)
		var m message
		if err := conn.ReadJSON(&m); err == nil {
			msgs <- m
		}
	}()

	// The subscription starts asynchronously: create notes until one
	// arrives (each create is one event; the first may precede the start).
	for i := 0; ; i++ {
		if i == 50 {
			t.Fatal("no event reached the subscription")
		}
		mustGQL(t, srv.URL()+"/graphql", "", `mutation { createNote(input: {title: "hello"}) { id } }`, nil)
		select {
		case m, ok := <-msgs:
			if !ok {
				t.Fatal("the connection ended before an event")
			}
			if m.Type != "next" || !strings.Contains(string(m.Payload), `"title":"hello"`) {
				t.Fatalf("message = %s %s, want a next with the note", m.Type, m.Payload)
			}
			return
		case <-time.After(200 * time.Millisecond):
		}
	}
}
