package transport

import (
	"encoding/json"
	"errors"
	"io"
	"net"
	"time"
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
//   - 4429 Too many initialisation requests: a second connection_init;
//   - 4403 Forbidden: connection_init carried a token the engine refused
//     (wsSession.init);
//   - 4409 Subscriber for <id> already exists: a subscribe with the id of
//     a running operation (graphql-transport-ws only; on graphql-ws the new
//     operation replaces the old).
//
// nextMessage, through which the session reads every message, checks each
// message first: on a violation it writes the close frame and returns an
// error, and the session ends (its own close frame is not written:
// WriteClose writes one close frame only).

// The graphql-transport-ws close codes the server sends.
const (
	wsCloseInvalidMessage   = 4400
	wsCloseUnauthorized     = 4401
	wsCloseForbidden        = 4403
	wsCloseSubscriberExists = 4409
	wsCloseInitTimeout      = 4408
	wsCloseTooManyInits     = 4429
)

// errWSProtocol is what nextMessage returns after closing the socket for a
// protocol violation.
var errWSProtocol = errors.New("websocket: protocol violation, socket closed")

// wsClientTypes are the message types a client may send, per subprotocol
// (no subprotocol is graphql-ws).
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

// nextMessage returns the next message, read whole (within the read
// limit) and checked against the protocol (see the top of this file).
//
// It does not read while the connection has wsMaxQueued bytes unsent (a
// client that sends operations but does not read their results): each
// operation's goroutine would wait for room, so the reading stops first.
func (g *gorillaConn) nextMessage() (wsMessage, error) {
	if err := g.waitRoom(); err != nil {
		return wsMessage{}, err
	}
	_, rd, err := g.c.NextReader()
	if err != nil {
		if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() && !g.inited {
			g.violation(wsCloseInitTimeout, "Connection initialisation timeout")
			return wsMessage{}, errWSProtocol
		}
		return wsMessage{}, err
	}
	msg, err := io.ReadAll(rd)
	if err != nil {
		return wsMessage{}, err
	}
	var m wsMessage
	if json.Unmarshal(msg, &m) != nil || !g.clientTypes()[m.Type] {
		g.violation(wsCloseInvalidMessage, "Invalid message received")
		return wsMessage{}, errWSProtocol
	}
	switch {
	case !g.inited && m.Type == "connection_init":
		g.inited = true
		if g.initDeadline {
			_ = g.c.SetReadDeadline(time.Time{})
		}
		if g.pinger != nil {
			g.pinger.add(g) // keep-alives from now on (ws_ping.go)
		}
	case !g.inited && m.Type != "connection_terminate":
		g.violation(wsCloseUnauthorized, "Unauthorized")
		return wsMessage{}, errWSProtocol
	case m.Type == "connection_init":
		g.violation(wsCloseTooManyInits, "Too many initialisation requests")
		return wsMessage{}, errWSProtocol
	case m.Type == "pong":
		g.pongSeen.Store(true)
	}
	return m, nil
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
