package transport_test

import (
	"errors"
	"net"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/monobase/monobase/transport"
)

// readType returns the type of the next message within d, or the error.
func (c *client) readType(d time.Duration) (string, error) {
	_ = c.conn.SetReadDeadline(time.Now().Add(d))
	var m wsMsg
	err := c.conn.ReadJSON(&m)
	return m.Type, err
}

// TestWebSocketKeepAlives checks the keep-alives that one goroutine sends
// for all sockets: graphql-transport-ws pings, a socket that answers with
// pongs stays open and one that stops answering is cut after two
// intervals; graphql-ws gets "ka" messages.
func TestWebSocketKeepAlives(t *testing.T) {
	const interval = 200 * time.Millisecond
	defer transport.SetWSPing(interval, interval, 10*time.Millisecond)()
	s := newServer(t)

	t.Run("ping and pong", func(t *testing.T) {
		c := s.connect("graphql-transport-ws")
		start := time.Now()
		for i := range 4 { // answered pings keep the socket open past two intervals
			typ, err := c.readType(2 * time.Second)
			if err != nil || typ != "ping" {
				t.Fatalf("ping %d: %q %v", i, typ, err)
			}
			c.send(wsMsg{Type: "pong"})
		}
		if took := time.Since(start); took < 3*interval {
			t.Fatalf("4 pings in %v, want one per %v", took, interval)
		}
		// No more pongs: the server cuts the socket within two intervals
		// of the last ping it got an answer to.
		cut := time.Now()
		for {
			_, err := c.readType(5 * time.Second)
			if err == nil {
				continue // the pings it no longer answers
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatalf("the socket stayed open %v without answering pings", time.Since(cut))
			}
			break
		}
		if took := time.Since(cut); took > 4*interval+time.Second {
			t.Fatalf("cut after %v, want about %v", took, 3*interval)
		}
	})

	t.Run("graphql-ws keep-alive", func(t *testing.T) {
		c := s.dial("graphql-ws")
		c.send(wsMsg{Type: "connection_init"})
		seen := map[string]bool{}
		for !seen["ka"] {
			typ, err := c.readType(2 * time.Second)
			if err != nil {
				t.Fatalf("read: %v (seen %v)", err, seen)
			}
			seen[typ] = true
		}
		if !seen["connection_ack"] {
			t.Fatalf("ka before connection_ack: %v", seen)
		}
		_ = c.conn.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""))
	})
}
