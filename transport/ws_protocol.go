package transport

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net"
	"time"

	gqltransport "github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/gorilla/websocket"
)

// Protocol errors close the socket with the codes of graphql-transport-ws
// (https://github.com/enisdenjo/graphql-ws/blob/master/PROTOCOL.md), on
// both subprotocols:
//
//   - 4400 Invalid message received: not a JSON object, or a type the
//     client may not send on the connection's protocol;
//   - 4401 Unauthorized: anything but connection_init (or graphql-ws's
//     connection_terminate) before connection_init;
//   - 4408 Connection initialisation timeout: no connection_init within
//     Limits.WSInitTimeout;
//   - 4429 Too many initialisation requests: a second connection_init.
//
// gqlgen's transport would answer these with 1000/1001 or 1002, so
// NextReader, through which gqlgen reads every message, checks each
// message first: on a violation it writes the close frame itself and
// returns an error; gqlgen then ends the connection, and its own close
// frame is not written (WriteClose writes one close frame only). What this
// relies on in gqlgen (it reads connection_init with one NextReader call
// before anything else, with InitTimeout 0 without a timer of its own, and
// ends the connection on a read error) is pinned by
// TestWebSocketGqlgenContract.

// The graphql-transport-ws close codes the server sends.
const (
	wsCloseInvalidMessage = 4400
	wsCloseUnauthorized   = 4401
	wsCloseInitTimeout    = 4408
	wsCloseTooManyInits   = 4429
)

// errWSProtocol is what NextReader returns after closing the socket for a
// protocol violation.
var errWSProtocol = errors.New("websocket: protocol violation, socket closed")

// wsClientTypes are the message types a client may send, per subprotocol
// (gqlgen treats no subprotocol as graphql-ws).
var wsClientTypes = map[string]map[string]bool{
	"graphql-transport-ws": {"connection_init": true, "subscribe": true, "complete": true, "ping": true, "pong": true},
	"graphql-ws":           {"connection_init": true, "connection_terminate": true, "start": true, "stop": true},
}

func (g *gorillaConn) clientTypes() map[string]bool {
	if g.Subprotocol() == "graphql-transport-ws" {
		return wsClientTypes["graphql-transport-ws"]
	}
	return wsClientTypes["graphql-ws"]
}

// NextReader returns the next message. It reads the message whole (gqlgen
// reads it whole anyway, within its 1 MiB read limit) to check it against
// the protocol (see the top of this file) and to note the id of a subscribe
// (graphql-transport-ws) or start (graphql-ws) message: gqlgen creates that
// operation's context before it reads the next message, and
// socketExec.CreateOperationContext takes the id from here (takeStartID)
// to route the subscription's events straight to this connection.
//
// It does not read while the connection has wsMaxQueued bytes unsent (a
// client that sends operations but does not read their results): each
// operation's goroutine would wait for room, so the reading stops first.
func (g *gorillaConn) NextReader() (int, io.Reader, error) {
	if err := g.waitRoom(); err != nil {
		return 0, nil, err
	}
	mt, rd, err := g.c.NextReader()
	if err != nil {
		if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() && !g.inited {
			g.violation(wsCloseInitTimeout, "Connection initialisation timeout")
			return mt, nil, errWSProtocol
		}
		if websocket.IsCloseError(err, websocket.CloseNormalClosure, websocket.CloseGoingAway, websocket.CloseNoStatusReceived) {
			return mt, nil, gqltransport.ErrWebsocketClosed
		}
		return mt, rd, err
	}
	msg, err := io.ReadAll(rd)
	if err != nil {
		return mt, nil, err
	}
	var head struct {
		ID      string          `json:"id"`
		Type    string          `json:"type"`
		Payload json.RawMessage `json:"payload"`
	}
	g.startID, g.startQuery, g.started = "", "", false
	if json.Unmarshal(msg, &head) != nil || !g.clientTypes()[head.Type] {
		g.violation(wsCloseInvalidMessage, "Invalid message received")
		return mt, nil, errWSProtocol
	}
	switch {
	case !g.inited && head.Type == "connection_init":
		g.inited = true
		if g.initDeadline {
			_ = g.c.SetReadDeadline(time.Time{})
		}
		if g.pinger != nil {
			g.pinger.add(g) // keep-alives from now on (ws_ping.go)
		}
	case !g.inited && head.Type != "connection_terminate":
		g.violation(wsCloseUnauthorized, "Unauthorized")
		return mt, nil, errWSProtocol
	case head.Type == "connection_init":
		g.violation(wsCloseTooManyInits, "Too many initialisation requests")
		return mt, nil, errWSProtocol
	case head.Type == "pong":
		g.pongSeen.Store(true)
	case head.Type == "subscribe" || head.Type == "start":
		var p struct {
			Query string `json:"query"`
		}
		if json.Unmarshal(head.Payload, &p) == nil {
			g.startID, g.startQuery, g.started = head.ID, p.Query, true
		}
	}
	return mt, bytes.NewReader(msg), nil
}

// violation closes the socket with code and reason (after what is
// queued).
func (g *gorillaConn) violation(code int, reason string) {
	_ = g.WriteClose(code, reason)
	_ = g.Close()
}

// waitRoom returns once the connection has fewer than wsMaxQueued bytes
// unsent. It fails when the connection is broken or closing, or stayed
// full for wsWriteTimeout (then the connection is cut).
func (g *gorillaConn) waitRoom() error {
	var timeout *time.Timer
	for {
		g.mu.Lock()
		full := g.err == nil && !g.closeSent && len(g.buf) >= wsMaxQueued
		g.mu.Unlock()
		if !full {
			if timeout != nil {
				timeout.Stop()
				g.passSpace()
			}
			return nil
		}
		if timeout == nil {
			timeout = time.NewTimer(wsWriteTimeout)
		}
		select {
		case <-g.space:
		case <-g.closed:
			return errWSClosed
		case <-g.closing:
			return errWSClosed
		case <-timeout.C:
			g.fail(errWSTooSlow)
			return errWSTooSlow
		}
	}
}
