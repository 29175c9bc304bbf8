package abuse

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// socketAttacks lists the cases of this group (harness_test.go runs them).
func socketAttacks() []attack {
	return []attack{
		{"socket_50k_subscribes_on_one_socket", subscribeFlood},
		{"socket_connection_flood_from_one_ip", connectionFlood},
		{"socket_protocol_close_codes", protocolCloseCodes},
	}
}

// Defaults of dynschema.Limits that the suite's server runs with.
const (
	maxSubscriptionsPerSocket = 100
	maxSocketsPerIP           = 1000
)

// wsMsg is a graphql-transport-ws message.
type wsMsg struct {
	ID      string          `json:"id,omitempty"`
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

// dialWS opens a graphql-transport-ws socket on /graphql; it returns the
// HTTP answer of a refused upgrade with the error.
func (s *server) dialWS() (*websocket.Conn, *http.Response, error) {
	d := websocket.Dialer{Subprotocols: []string{"graphql-transport-ws"}, HandshakeTimeout: maxReplyTime}
	return d.Dial("ws"+strings.TrimPrefix(s.URL, "http")+"/graphql", nil)
}

// connectWS opens a socket and completes connection_init, failing the case
// on errors.
func (s *server) connectWS(t *testing.T) *websocket.Conn {
	t.Helper()
	c, _, err := s.dialWS()
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	if err := c.WriteJSON(wsMsg{Type: "connection_init"}); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(maxReplyTime))
	var ack wsMsg
	if err := c.ReadJSON(&ack); err != nil || ack.Type != "connection_ack" {
		t.Fatalf("connection_ack: %v %v", ack, err)
	}
	_ = c.SetReadDeadline(time.Time{})
	return c
}

// closeCode reads until the server closes c and returns the close code (-1
// without a close frame).
func closeCode(t *testing.T, c *websocket.Conn) int {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(maxReplyTime))
	for {
		if _, _, err := c.ReadMessage(); err != nil {
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				return ce.Code
			}
			t.Errorf("socket ended without a close frame within %v: %v", maxReplyTime, err)
			return -1
		}
	}
}

// subscribeFlood: 50,000 subscriptions on one socket (issue item 9: 781 MB
// before the cap). All but the first maxSubscriptionsPerSocket are refused
// with RATE_LIMITED and completed; the socket and the running ones go on;
// the server's memory stays bounded.
func subscribeFlood(t *testing.T, s *server) {
	const n = 50_000
	s.CreateCollection(map[string]any{"name": "sock_posts", "listRule": "", "viewRule": "", "createRule": "",
		"fields": []map[string]any{{"name": "title", "type": "TEXT"}}})
	rss0 := s.RSS(t)
	c := s.connectWS(t)
	defer c.Close()

	// The reader counts the answers while the flood is written.
	var mu sync.Mutex
	refused, completed, events, other := 0, 0, 0, 0
	var firstOther string
	readDone := make(chan error, 1)
	go func() {
		for {
			var m wsMsg
			if err := c.ReadJSON(&m); err != nil {
				readDone <- err
				return
			}
			var p struct {
				Errors []struct {
					Extensions map[string]any `json:"extensions"`
				} `json:"errors"`
			}
			_ = json.Unmarshal(m.Payload, &p)
			mu.Lock()
			switch {
			case m.Type == "next" && len(p.Errors) == 1 && p.Errors[0].Extensions["code"] == "RATE_LIMITED":
				refused++
			case m.Type == "next" && len(p.Errors) == 0:
				events++
			case m.Type == "complete":
				completed++
			case m.Type != "ping" && m.Type != "pong":
				other++
				if firstOther == "" {
					firstOther = fmt.Sprintf("%s %s", m.Type, m.Payload)
				}
			}
			mu.Unlock()
		}
	}()
	start := time.Now()
	query, _ := json.Marshal(map[string]any{"query": `subscription { sockPostChanged { action record { title } } }`})
	for i := range n {
		if err := c.WriteJSON(wsMsg{ID: fmt.Sprint("s", i), Type: "subscribe", Payload: query}); err != nil {
			t.Fatalf("subscribe %d: %v", i, err)
		}
	}
	wantRefused := n - maxSubscriptionsPerSocket
	waitFor := func(what string, done func() bool) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for {
			mu.Lock()
			ok := done()
			mu.Unlock()
			if ok {
				return
			}
			select {
			case err := <-readDone:
				t.Fatalf("the socket ended while waiting for %s: %v", what, err)
			default:
			}
			if time.Now().After(deadline) {
				mu.Lock()
				defer mu.Unlock()
				t.Fatalf("waiting for %s: %d refused, %d completed, %d events, %d other (%s)", what, refused, completed, events, other, firstOther)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitFor("the refusals", func() bool { return refused >= wantRefused && completed >= wantRefused })
	took := time.Since(start)
	rss := s.RSS(t)

	// The running subscriptions still get events.
	r := s.GraphQL("/graphql", "", `mutation { createSockPost(input: {title: "after the flood"}) { id } }`, nil)
	if r.Code() != "" {
		t.Fatalf("create: %s", r.Body)
	}
	waitFor("an event on every running subscription", func() bool { return events >= maxSubscriptionsPerSocket })

	mu.Lock()
	defer mu.Unlock()
	if refused != wantRefused || completed != wantRefused || events != maxSubscriptionsPerSocket || other != 0 {
		t.Errorf("%d refused, %d completed, %d events, %d other (%s); want %d refused and completed, %d events",
			refused, completed, events, other, firstOther, wantRefused, maxSubscriptionsPerSocket)
	}
	t.Logf("%d subscribes answered in %v; server RSS %.1f MiB before, %.1f MiB after",
		n, took.Round(time.Millisecond), float64(rss0)/(1<<20), float64(rss)/(1<<20))
	if grew := rss - rss0; grew > 64<<20 {
		t.Errorf("the server's RSS grew by %d MiB, want under 64 MiB", grew>>20)
	}
}

// connectionFlood: sockets from one address past the per-IP cap are
// refused with 429 before the upgrade; closing them frees the places.
func connectionFlood(t *testing.T, s *server) {
	const n = maxSocketsPerIP + 50
	var open []*websocket.Conn
	defer func() {
		for _, c := range open {
			_ = c.Close()
		}
	}()
	refusedN := 0
	for i := range n {
		c, resp, err := s.dialWS()
		if err == nil {
			open = append(open, c)
			continue
		}
		if resp == nil || resp.StatusCode != http.StatusTooManyRequests {
			t.Fatalf("socket %d: %v %v, want an upgrade or 429", i, resp, err)
		}
		body, _ := io.ReadAll(resp.Body)
		if refusedN == 0 && !strings.Contains(string(body), "RATE_LIMITED") {
			t.Errorf("429 body %s, want a RATE_LIMITED error", body)
		}
		refusedN++
	}
	if len(open) != maxSocketsPerIP || refusedN != n-maxSocketsPerIP {
		t.Errorf("%d sockets opened, %d refused; want %d and %d", len(open), refusedN, maxSocketsPerIP, n-maxSocketsPerIP)
	}
	t.Logf("server RSS with %d idle sockets: %.1f MiB", len(open), float64(s.RSS(t))/(1<<20))
	for _, c := range open {
		_ = c.Close()
	}
	open = nil

	// The places come back as the server sees the sockets close.
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, resp, err := s.dialWS()
		if err == nil {
			_ = c.Close()
			return
		}
		if resp == nil || resp.StatusCode != http.StatusTooManyRequests || time.Now().After(deadline) {
			t.Fatalf("after closing the sockets: %v %v", resp, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// protocolCloseCodes: protocol errors close with graphql-transport-ws's
// codes (the 4408 init timeout takes 30 s with the defaults: the dynschema
// tests cover it with a short timeout).
func protocolCloseCodes(t *testing.T, s *server) {
	cases := []struct {
		name string
		code int
		run  func(c *websocket.Conn) error
	}{
		{"invalid JSON", 4400, func(c *websocket.Conn) error {
			return c.WriteMessage(websocket.TextMessage, []byte(strings.Repeat("\x00", 64<<10)))
		}},
		{"subscribe before connection_init", 4401, func(c *websocket.Conn) error {
			return c.WriteJSON(wsMsg{ID: "1", Type: "subscribe", Payload: json.RawMessage(`{"query":"subscription { sockPostChanged { action } }"}`)})
		}},
		{"a second connection_init", 4429, func(c *websocket.Conn) error {
			if err := c.WriteJSON(wsMsg{Type: "connection_init"}); err != nil {
				return err
			}
			return c.WriteJSON(wsMsg{Type: "connection_init"})
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, _, err := s.dialWS()
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if err := tc.run(c); err != nil {
				t.Fatal(err)
			}
			if code := closeCode(t, c); code != tc.code {
				t.Errorf("close code %d, want %d", code, tc.code)
			}
		})
	}
}
