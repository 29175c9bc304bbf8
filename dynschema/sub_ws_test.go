package dynschema

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/monobase/monobase/db"
	"github.com/monobase/monobase/subscriptions"
)

// TestSubscriptionSlowConsumer: one client stops reading; the writer and
// another client are not slowed down, and the stalled subscription is
// closed, with an error that says why, instead of being fed stale events.
func TestSubscriptionSlowConsumer(t *testing.T) {
	en := newSubEnv(t, subscriptions.Options{Buffer: 16}, false)
	en.subPosts()
	const q = `subscription { postChanged { action record { title body } } }`

	// The stalled client: a small socket buffer, the handshake by hand,
	// then no reads until the end.
	d := websocket.Dialer{Subprotocols: []string{protoTransportWS}, NetDialContext: smallReadBuffer}
	stalled, _, err := d.Dial(en.wsURL(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer stalled.Close()
	_ = stalled.WriteJSON(wsMsg{Type: "connection_init"})
	var ack wsMsg
	if err := stalled.ReadJSON(&ack); err != nil || ack.Type != "connection_ack" {
		t.Fatalf("got %v %v, want connection_ack", ack, err)
	}
	sub, _ := json.Marshal(map[string]any{"query": q})
	_ = stalled.WriteJSON(wsMsg{ID: "s", Type: "subscribe", Payload: sub})

	fast := en.connect(protoTransportWS, nil)
	fast.subscribe("f", q, nil)
	en.waitSubscribers("posts", 2)

	// 64 KiB events until the hub gives up on the stalled subscriber (its
	// socket, the connection's queue and its 16-event buffer full), then a
	// few more. The reading client is waited for after each write (outside
	// the timing), so that it can never fall behind however slow the
	// machine.
	body := strings.Repeat("x", 64<<10)
	var worst time.Duration
	posts, _ := en.d.Collection("posts")
	sent, extra := 0, -1
	for ; sent < 600 && extra != 0; sent++ {
		start := time.Now()
		en.insert("posts", db.RecordInput{"title": fmt.Sprint(sent), "body": body})
		worst = max(worst, time.Since(start))
		if _, rec := recordOf(t, fast.next("f"), "postChanged"); rec["title"] != fmt.Sprint(sent) {
			t.Fatalf("event %d: the reading client got title %v", sent, rec["title"])
		}
		if extra < 0 && en.e.Subscribers(posts.ID) == 1 {
			extra = 5
		}
		if extra > 0 {
			extra--
		}
	}
	if extra != 0 {
		t.Fatalf("after %d events the stalled subscriber is still open", sent)
	}
	t.Logf("the stalled subscriber was closed after about %d events of 64 KiB", sent-5)

	t.Run("the writer is not delayed", func(t *testing.T) {
		// A writer waiting for the stalled socket would take the write
		// timeout (10 s).
		if worst > time.Second {
			t.Errorf("the slowest insert took %v", worst)
		}
	})
	t.Run("the reading client got every event in order and is still subscribed", func(t *testing.T) {
		// (checked event by event above)
		if n := en.e.Subscribers(posts.ID); n != 1 {
			t.Errorf("%d subscribers, want the reading one", n)
		}
		fast.expectQuiet("f", 50*time.Millisecond)
	})
	t.Run("the stalled client, reading again, gets old events, then an error saying it fell behind, then complete", func(t *testing.T) {
		_ = stalled.SetReadDeadline(time.Now().Add(15 * time.Second))
		events := 0
		var errMsg, errCode string
		for {
			var m wsMsg
			if err := stalled.ReadJSON(&m); err != nil {
				t.Fatalf("after %d events: %v", events, err)
			}
			if m.Type == "complete" {
				break
			}
			if m.Type != "next" {
				continue
			}
			var p struct {
				Errors []gqlError `json:"errors"`
			}
			_ = json.Unmarshal(m.Payload, &p)
			if len(p.Errors) > 0 {
				errMsg = p.Errors[0].Message
				errCode, _ = p.Errors[0].Extensions["code"].(string)
				continue
			}
			if errMsg != "" {
				t.Fatal("an event came after the error")
			}
			events++
		}
		if !strings.Contains(errMsg, "too far behind") || errCode != "RATE_LIMITED" {
			t.Errorf("error %q (%s), want one saying it fell too far behind", errMsg, errCode)
		}
		if events >= sent {
			t.Errorf("got all %d events, want it closed before the end", events)
		}
		t.Logf("it got %d of %d events before the error", events, sent)
	})
}

// TestSubscriptionShutdown: when the server shuts down (http.Server.Shutdown
// runs hub.Close, as cmd/monobase wires it), the hub closes, or the
// server cancels its WebSocket requests (cmd/monobase's trackWebSockets,
// which may run before the hub closes), every socket gets a 1001 "going
// away" close frame.
func TestSubscriptionShutdown(t *testing.T) {
	for _, how := range []string{"server shutdown", "hub closed", "requests cancelled"} {
		t.Run(how, func(t *testing.T) {
			en := newEnv(t)
			en.subPosts()
			en.srv.Config.RegisterOnShutdown(en.hub.Close)
			stop := make(chan struct{})
			if how == "requests cancelled" {
				h := en.auth.Middleware(en.e.Handler())
				en.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					ctx, cancel := context.WithCancel(r.Context())
					defer cancel()
					go func() {
						select {
						case <-stop:
							cancel()
						case <-ctx.Done():
						}
					}()
					h.ServeHTTP(w, r.WithContext(ctx))
				}))
				t.Cleanup(en.srv.Close)
			}
			var clients []*subClient
			for _, proto := range []string{protoTransportWS, protoLegacyWS} {
				c := en.connect(proto, nil)
				c.subscribe("1", `subscription { postChanged { action } }`, nil)
				clients = append(clients, c)
			}
			idle := en.connect(protoTransportWS, nil) // no operation
			clients = append(clients, idle)
			en.waitSubscribers("posts", 2)

			if how == "server shutdown" {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				if err := en.srv.Config.Shutdown(ctx); err != nil {
					t.Fatal(err)
				}
			} else if how == "hub closed" {
				en.hub.Close()
			} else {
				close(stop)
			}
			for i, c := range clients {
				code, text := c.closeCode(5 * time.Second)
				if code != websocket.CloseGoingAway {
					t.Errorf("client %d (%s): close %d %q (%v), want 1001", i, c.proto, code, text, c.readErr)
				}
			}
		})
	}
}
