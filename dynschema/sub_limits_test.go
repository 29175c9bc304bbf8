package dynschema

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/monobase/monobase/db"
	"github.com/monobase/monobase/subscriptions"
	"github.com/monobase/monobase/transport"
)

// Caps on WebSockets, their close codes, and subscription arguments
// checked once at subscribe.

func TestSubscriptionsPerSocketCap(t *testing.T) {
	en := newLimitsEnv(t, subscriptions.Options{}, false, Limits{MaxSubscriptionsPerSocket: 3})
	en.subPosts()
	const q = `subscription { postChanged { record { title } } }`
	for _, proto := range []string{protoTransportWS, protoLegacyWS} {
		t.Run(proto, func(t *testing.T) {
			c := en.connect(proto, nil)
			for i := range 3 {
				c.subscribe(fmt.Sprint(i), q, nil)
			}
			en.waitSubscribers("posts", 3)

			t.Run("one more is refused with RATE_LIMITED", func(t *testing.T) {
				c.subscribe("over", q, nil)
				c.expectEnd("over", "RATE_LIMITED")
			})
			t.Run("the socket and its subscriptions go on", func(t *testing.T) {
				en.insert("posts", db.RecordInput{"title": "still here"})
				for i := range 3 {
					if _, rec := recordOf(t, c.next(fmt.Sprint(i)), "postChanged"); rec["title"] != "still here" {
						t.Errorf("subscription %d got %v", i, rec)
					}
				}
			})
			t.Run("another socket has its own count", func(t *testing.T) {
				other := en.connect(proto, nil)
				other.subscribe("o", q, nil)
				en.waitSubscribers("posts", 4)
				other.stop("o")
				en.waitSubscribers("posts", 3)
			})
			t.Run("a stopped subscription frees its place", func(t *testing.T) {
				c.stop("0")
				if ev := c.next("0"); ev.Type != "complete" {
					t.Fatalf("got %s, want complete", ev.Type)
				}
				// The place is given back when the operation's context
				// ends, just after the complete.
				deadline := time.Now().Add(5 * time.Second)
				for n := 0; ; n++ {
					id := fmt.Sprint("again", n)
					c.subscribe(id, q, nil)
					ev, ok := c.tryNext(id, 100*time.Millisecond)
					if !ok {
						break // running
					}
					if len(ev.Errors) == 0 || ev.Errors[0].Extensions["code"] != "RATE_LIMITED" || time.Now().After(deadline) {
						t.Fatalf("got %s %s", ev.Type, ev.raw)
					}
					c.next(id) // complete
				}
				en.waitSubscribers("posts", 3)
			})
			c.conn.Close()
			en.waitSubscribers("posts", 0)
		})
	}
}

func TestWebSocketsPerIPCap(t *testing.T) {
	en := newLimitsEnv(t, subscriptions.Options{}, false, Limits{Transport: transport.Limits{MaxSocketsPerIP: 3}})
	var open []*subClient
	for range 3 {
		open = append(open, en.connect(protoTransportWS, nil))
	}
	t.Run("one more from the same address gets 429 before the upgrade", func(t *testing.T) {
		_, resp, err := en.tryDialWS(protoTransportWS, nil)
		if err == nil || resp == nil || resp.StatusCode != http.StatusTooManyRequests {
			t.Fatalf("got %v %v, want 429", resp, err)
		}
		body, _ := io.ReadAll(resp.Body)
		var out gqlResp
		if json.Unmarshal(body, &out) != nil || out.code() != "RATE_LIMITED" {
			t.Errorf("body %s, want a RATE_LIMITED error", body)
		}
	})
	t.Run("HTTP requests are not counted", func(t *testing.T) {
		en.gql("", `{ __typename }`, nil).ok(t)
	})
	t.Run("a closed socket frees its place", func(t *testing.T) {
		_ = open[0].conn.Close()
		deadline := time.Now().Add(5 * time.Second)
		for {
			c, resp, err := en.tryDialWS(protoTransportWS, nil)
			if err == nil {
				c.init(nil)
				c.nextOf("connection_ack")
				return
			}
			if resp == nil || resp.StatusCode != http.StatusTooManyRequests || time.Now().After(deadline) {
				t.Fatalf("got %v %v", resp, err)
			}
			time.Sleep(5 * time.Millisecond)
		}
	})
}

// TestWebSocketCloseCodes: protocol errors close with graphql-transport-ws's
// codes, on both subprotocols (transport/ws_protocol.go).
func TestWebSocketCloseCodes(t *testing.T) {
	en := newLimitsEnv(t, subscriptions.Options{}, false, Limits{Transport: transport.Limits{WSInitTimeout: 300 * time.Millisecond}})
	en.subPosts()
	subscribeType := map[string]string{protoTransportWS: "subscribe", protoLegacyWS: "start"}
	raw := func(c *subClient, s string) {
		t.Helper()
		if err := c.conn.WriteMessage(websocket.TextMessage, []byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	for _, proto := range []string{protoTransportWS, protoLegacyWS} {
		cases := []struct {
			name string
			code int
			run  func(c *subClient)
		}{
			{"invalid JSON after connection_init", 4400, func(c *subClient) {
				c.init(nil)
				c.nextOf("connection_ack")
				raw(c, `{"type": "subscribe", "id": "1", `)
			}},
			{"invalid JSON as the first message", 4400, func(c *subClient) { raw(c, "\x00\x00\x00") }},
			{"an unknown message type", 4400, func(c *subClient) {
				c.init(nil)
				c.nextOf("connection_ack")
				raw(c, `{"type": "bogus"}`)
			}},
			{"an id that is not a string", 4400, func(c *subClient) {
				c.init(nil)
				c.nextOf("connection_ack")
				raw(c, `{"type": "`+subscribeType[proto]+`", "id": 1, "payload": {"query": "{ __typename }"}}`)
			}},
			{"subscribe before connection_init", 4401, func(c *subClient) {
				c.subscribe("1", `subscription { postChanged { action } }`, nil)
			}},
			{"no connection_init in time", 4408, func(c *subClient) {}},
			{"a second connection_init", 4429, func(c *subClient) {
				c.init(nil)
				c.nextOf("connection_ack")
				c.init(nil)
			}},
		}
		for _, tc := range cases {
			t.Run(proto+": "+tc.name, func(t *testing.T) {
				c := en.dialWS(proto, nil)
				tc.run(c)
				if code, text := c.closeCode(5 * time.Second); code != tc.code {
					t.Errorf("close %d %q (%v), want %d", code, text, c.readErr, tc.code)
				}
			})
		}
	}
	t.Run("a socket that sent connection_init in time stays open past the timeout", func(t *testing.T) {
		c := en.connect(protoTransportWS, nil)
		time.Sleep(500 * time.Millisecond)
		c.subscribe("1", `subscription { postChanged { action } }`, nil)
		en.waitSubscribers("posts", 1)
		en.insert("posts", db.RecordInput{"title": "x"})
		if action, _ := recordOf(t, c.next("1"), "postChanged"); action != "CREATE" {
			t.Errorf("got %s", action)
		}
	})
}

func TestSubscriptionInvalidFilterAtSubscribe(t *testing.T) {
	en := newEnv(t)
	en.subPosts()
	c := en.connect(protoTransportWS, nil)
	for i, q := range []string{
		`subscription { postChanged(filter: "nosuchfield = 1") { action } }`,
		`subscription { postChanged(filter: "title ~ @request.auth.nosuchfield") { action } }`,
	} {
		id := fmt.Sprint(i)
		t.Run(q, func(t *testing.T) {
			c.subscribe(id, q, nil)
			c.expectEnd(id, "BAD_USER_INPUT")
		})
	}
	t.Run("no subscription is left running, so events bring nothing", func(t *testing.T) {
		en.waitSubscribers("posts", 0)
		en.insert("posts", db.RecordInput{"title": "x"})
		c.expectQuiet("0", 100*time.Millisecond)
		c.expectQuiet("1", 10*time.Millisecond)
	})
}
