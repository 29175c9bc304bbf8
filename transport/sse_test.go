package transport_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/monobase/monobase/db"
	"github.com/monobase/monobase/transport"
)

// sseEvent is one event of a stream: its type ("" for a comment) and data.
type sseEvent struct {
	event, data string
}

// sseStream is a client's side of one SSE response.
type sseStream struct {
	t    *testing.T
	resp *http.Response
	rd   *bufio.Reader
}

// openSSE sends an SSE request (a POST with the JSON body of query, or a
// GET with it in the URL when get is set) with token as bearer token.
func (s *server) openSSE(get bool, token, query string, vars map[string]any) *sseStream {
	s.t.Helper()
	var req *http.Request
	if get {
		q := url.Values{"query": {query}}
		if vars != nil {
			b, _ := json.Marshal(vars)
			q.Set("variables", string(b))
		}
		req, _ = http.NewRequest("GET", s.srv.URL+"/graphql?"+q.Encode(), nil)
	} else {
		b, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
		req, _ = http.NewRequest("POST", s.srv.URL+"/graphql", strings.NewReader(string(b)))
		req.Header.Set("Content-Type", "application/json; charset=utf-8")
	}
	req.Header.Set("Accept", "text/event-stream")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("SSE request: %v", err)
	}
	st := &sseStream{t: s.t, resp: resp, rd: bufio.NewReader(resp.Body)}
	s.t.Cleanup(st.close)
	return st
}

func (st *sseStream) close() { _ = st.resp.Body.Close() }

// next reads the next event or comment; it fails the test at the end of
// the stream or after 10 s.
func (st *sseStream) next() sseEvent {
	st.t.Helper()
	ev, err := st.read()
	if err != nil {
		st.t.Fatalf("read an SSE event: %v", err)
	}
	return ev
}

// read reads the next event or comment, or the error that ends the stream.
func (st *sseStream) read() (sseEvent, error) {
	type result struct {
		ev  sseEvent
		err error
	}
	done := make(chan result, 1)
	go func() {
		var ev sseEvent
		comment := false
		for {
			line, err := st.rd.ReadString('\n')
			if err != nil {
				done <- result{ev, err}
				return
			}
			line = strings.TrimSuffix(line, "\n")
			switch {
			case line == "":
				if ev.event != "" || ev.data != "" || comment {
					done <- result{ev, nil}
					return
				}
			case strings.HasPrefix(line, ":"):
				comment = true
			case strings.HasPrefix(line, "event: "):
				ev.event = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				ev.data += strings.TrimPrefix(line, "data: ")
			default:
				done <- result{ev, fmt.Errorf("unexpected line %q", line)}
				return
			}
		}
	}()
	select {
	case r := <-done:
		return r.ev, r.err
	case <-time.After(10 * time.Second):
		st.close()
		return sseEvent{}, fmt.Errorf("no event within 10 s")
	}
}

// nextEvent reads the next event, skipping comments.
func (st *sseStream) nextEvent() sseEvent {
	st.t.Helper()
	for {
		if ev := st.next(); ev.event != "" {
			return ev
		}
	}
}

// result decodes a next event's execution result.
func (ev sseEvent) result(t *testing.T) (data map[string]any, errs []struct {
	Message    string
	Extensions map[string]any
}) {
	t.Helper()
	if ev.event != "next" {
		t.Fatalf("event %q (%s), want next", ev.event, ev.data)
	}
	var r struct {
		Data   map[string]any
		Errors []struct {
			Message    string
			Extensions map[string]any
		}
	}
	if err := json.Unmarshal([]byte(ev.data), &r); err != nil {
		t.Fatalf("next data %q: %v", ev.data, err)
	}
	return r.Data, r.Errors
}

// wantEnd checks that the stream ends after a complete event.
func (st *sseStream) wantEnd() {
	st.t.Helper()
	if ev := st.nextEvent(); ev.event != "complete" {
		st.t.Fatalf("event %q (%s), want complete", ev.event, ev.data)
	}
	if ev, err := st.read(); err != io.EOF {
		st.t.Fatalf("after complete: %+v, %v; want the end of the stream", ev, err)
	}
}

// post runs a GraphQL request over plain HTTP and returns its data.
func (s *server) post(token, query string, vars map[string]any) map[string]any {
	s.t.Helper()
	b, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, _ := http.NewRequest("POST", s.srv.URL+"/graphql", strings.NewReader(string(b)))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Data   map[string]any
		Errors []any
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || len(out.Errors) > 0 {
		s.t.Fatalf("%s: %v %v", query, err, out.Errors)
	}
	return out.Data
}

// user inserts a user and returns it with a token of it.
func (s *server) user(email string) (db.Record, string) {
	s.t.Helper()
	users, err := s.d.Collection("users")
	if err != nil {
		s.t.Fatal(err)
	}
	tx, err := s.d.Begin(s.ctx)
	if err != nil {
		s.t.Fatal(err)
	}
	rec, err := tx.Insert(users, db.RecordInput{"email": email, "password": "password123", "passwordConfirm": "password123"})
	if err != nil {
		s.t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		s.t.Fatal(err)
	}
	tok, err := s.a.IssueToken(users, rec)
	if err != nil {
		s.t.Fatal(err)
	}
	return rec, tok
}

const postChanged = `subscription { postChanged { action record { title } } }`

func TestSSESubscription(t *testing.T) {
	for _, get := range []bool{false, true} {
		t.Run(map[bool]string{false: "POST", true: "GET"}[get], func(t *testing.T) {
			s := newServer(t)
			st := s.openSSE(get, "", postChanged, nil)
			if st.resp.StatusCode != 200 || !strings.HasPrefix(st.resp.Header.Get("Content-Type"), "text/event-stream") {
				t.Fatalf("status %d, content type %q", st.resp.StatusCode, st.resp.Header.Get("Content-Type"))
			}
			s.waitSubscribers(1)
			if id, _ := s.routeOf(postChanged); id != "sse" {
				t.Fatalf("the subscription's route: %q, want the stream's", id)
			}
			s.post("", `mutation { createPost(input: {title: "over SSE"}) { id } }`, nil)
			data, errs := st.nextEvent().result(t)
			got, _ := json.Marshal(data)
			if len(errs) > 0 || string(got) != `{"postChanged":{"action":"CREATE","record":{"title":"over SSE"}}}` {
				t.Fatalf("event %s %v", got, errs)
			}
			st.close() // the client goes away: the subscription ends
			s.waitSubscribers(0)
		})
	}
}

func TestSSEQueryAndMutation(t *testing.T) {
	s := newServer(t)
	st := s.openSSE(false, "", `mutation { createPost(input: {title: "m"}) { title } }`, nil)
	if data, errs := st.nextEvent().result(t); len(errs) > 0 || data["createPost"].(map[string]any)["title"] != "m" {
		t.Fatalf("mutation: %v %v", data, errs)
	}
	st.wantEnd()

	st = s.openSSE(true, "", `query($n: Int) { posts(limit: $n) { title } }`, map[string]any{"n": 1})
	if data, errs := st.nextEvent().result(t); len(errs) > 0 || len(data["posts"].([]any)) != 1 {
		t.Fatalf("query: %v %v", data, errs)
	}
	st.wantEnd()

	t.Run("errors before execution come as a next event", func(t *testing.T) {
		st := s.openSSE(false, "", `{ nope }`, nil)
		if st.resp.StatusCode != 200 {
			t.Fatalf("status %d", st.resp.StatusCode)
		}
		if _, errs := st.nextEvent().result(t); len(errs) != 1 || !strings.Contains(errs[0].Message, "nope") {
			t.Fatalf("errors %v", errs)
		}
		st.wantEnd()
	})
	t.Run("a mutation with GET is refused", func(t *testing.T) {
		st := s.openSSE(true, "", `mutation { createPost(input: {title: "g"}) { id } }`, nil)
		if st.resp.StatusCode != http.StatusMethodNotAllowed {
			t.Fatalf("status %d", st.resp.StatusCode)
		}
		if n := len(s.post("", `{ posts(filter: "title = 'g'") { id } }`, nil)["posts"].([]any)); n != 0 {
			t.Fatalf("the GET mutation ran (%d posts)", n)
		}
	})
	t.Run("a body that is not JSON", func(t *testing.T) {
		req, _ := http.NewRequest("POST", s.srv.URL+"/graphql", strings.NewReader(`{"query":`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "text/event-stream")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 400 {
			t.Fatalf("status %d", resp.StatusCode)
		}
	})
}

func TestSSEAuth(t *testing.T) {
	s := newServer(t)
	rec, tok := s.user("ann@example.com")

	t.Run("a token that is not valid is refused before the stream", func(t *testing.T) {
		st := s.openSSE(false, "not-a-token", `{ me { id } }`, nil)
		if st.resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("status %d", st.resp.StatusCode)
		}
		// The same from the transport itself, without the auth middleware.
		r := httptest.NewRequest("POST", "/graphql", strings.NewReader(`{"query":"{ me { id } }"}`))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Accept", "text/event-stream")
		r.Header.Set("Authorization", "Bearer not-a-token")
		w := httptest.NewRecorder()
		s.h.ServeHTTP(w, r)
		if w.Code != http.StatusUnauthorized || !strings.Contains(w.Body.String(), "UNAUTHENTICATED") {
			t.Fatalf("transport: %d %s", w.Code, w.Body)
		}
	})
	t.Run("the viewer is the token's", func(t *testing.T) {
		st := s.openSSE(false, tok, `{ me { id } }`, nil)
		data, errs := st.nextEvent().result(t)
		if me, _ := data["me"].(map[string]any); len(errs) > 0 || me["id"] != rec.ID() {
			t.Fatalf("me: %v %v", data, errs)
		}
		st.wantEnd()
	})
	t.Run("a revoked token ends the stream", func(t *testing.T) {
		st := s.openSSE(false, tok, postChanged, nil)
		s.waitSubscribers(1)
		users, _ := s.d.Collection("users")
		tx, err := s.d.Begin(s.ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Update(users, rec.ID(), db.RecordPatch{Set: db.RecordInput{"password": "password456", "passwordConfirm": "password456"}}); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		if _, errs := st.nextEvent().result(t); len(errs) != 1 || errs[0].Extensions["code"] != "UNAUTHENTICATED" {
			t.Fatalf("errors %v", errs)
		}
		st.wantEnd()
		s.waitSubscribers(0)
	})
}

func TestSSELimits(t *testing.T) {
	t.Run("streams count towards the per-IP cap", func(t *testing.T) {
		s := newServer(t)
		transport.SetMaxSocketsPerIP(s.h, 1)
		first := s.openSSE(false, "", postChanged, nil)
		s.waitSubscribers(1)
		if st := s.openSSE(false, "", postChanged, nil); st.resp.StatusCode != http.StatusTooManyRequests {
			t.Fatalf("a second stream: status %d", st.resp.StatusCode)
		}
		first.close()
		deadline := time.Now().Add(5 * time.Second)
		for {
			st := s.openSSE(false, "", `{ posts { id } }`, nil)
			if st.resp.StatusCode == 200 {
				break // the first stream's place was given back
			}
			if time.Now().After(deadline) {
				t.Fatalf("the closed stream still counts: status %d", st.resp.StatusCode)
			}
			time.Sleep(5 * time.Millisecond)
		}
	})
	t.Run("keep-alive comments", func(t *testing.T) {
		s := newServer(t)
		transport.SetSSEKeepAlive(s.h, 10*time.Millisecond)
		st := s.openSSE(false, "", postChanged, nil)
		for range 3 { // the opening comment, then two keep-alives
			if ev := st.next(); ev.event != "" {
				t.Fatalf("event %+v, want a comment", ev)
			}
		}
	})
	t.Run("a client that does not read is ended as a slow consumer", func(t *testing.T) {
		s := newServer(t)
		conn, err := net.Dial("tcp", s.srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_ = conn.(*net.TCPConn).SetReadBuffer(4096)
		body := `{"query":"subscription { postChanged { record { title } } }"}`
		fmt.Fprintf(conn, "POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAccept: text/event-stream\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
		s.waitSubscribers(1)
		big := strings.Repeat("x", 4900)
		deadline := time.Now().Add(20 * time.Second)
		for n := 0; s.e.Subscribers(s.posts.ID) > 0; n++ {
			if n > 20000 || time.Now().After(deadline) {
				t.Fatalf("still subscribed after %d events of 5 KB", n)
			}
			tx, err := s.d.Begin(s.ctx)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := tx.Insert(s.posts, db.RecordInput{"title": big}); err != nil {
				t.Fatal(err)
			}
			if err := tx.Commit(); err != nil {
				t.Fatal(err)
			}
		}
	})
	t.Run("shutdown ends the stream", func(t *testing.T) {
		s := newServer(t)
		st := s.openSSE(false, "", postChanged, nil)
		s.waitSubscribers(1)
		s.hub.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		go func() { <-ctx.Done(); st.close() }()
		for {
			if _, err := st.read(); err != nil {
				if ctx.Err() != nil {
					t.Fatal("the stream did not end")
				}
				return
			}
		}
	})
}

func TestPrefersEventStream(t *testing.T) {
	for accept, want := range map[string]bool{
		"text/event-stream":                     true,
		"Text/Event-Stream; charset=utf-8":      true,
		" text/event-stream , application/json": true,
		"application/json":                      false,
		"":                                      false,
		"application/graphql-response+json, application/graphql+json, application/json, text/event-stream, multipart/mixed": false, // urql
	} {
		if got := transport.PrefersEventStream(accept); got != want {
			t.Errorf("prefersEventStream(%q) = %v, want %v", accept, got, want)
		}
	}
}
