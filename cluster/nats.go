package cluster

// Record changes over NATS (--events nats://...): published after the
// commit on the subject monobase.<channel>.events, unique per database
// and schema.

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/monobase/monobase/db"
)

// natsEvents is a node's NATS connection.
type natsEvents struct {
	n       *Node
	conn    *nats.Conn
	subject string
	sub     *nats.Subscription
	in      chan *nats.Msg
}

// natsBuffer is how many received messages wait for delivery (the NATS
// client drops the next ones and reports a slow consumer).
const natsBuffer = 65536

// openNATS connects to url, reconnecting forever after a drop, and
// subscribes to the events of the other nodes.
func openNATS(n *Node, url string) (*natsEvents, error) {
	e := &natsEvents{n: n, subject: "monobase." + n.keys.channel + ".events", in: make(chan *nats.Msg, natsBuffer)}
	conn, err := nats.Connect(url, nats.Name("monobase-"+n.id), nats.MaxReconnects(-1), nats.ReconnectWait(250*time.Millisecond),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				n.log.Warn("cluster: NATS disconnected; reconnecting", "err", err)
			}
		}),
		nats.ReconnectHandler(func(*nats.Conn) { n.log.Info("cluster: reconnected to NATS") }))
	if err != nil {
		return nil, fmt.Errorf("cluster: connect to NATS %s: %w", url, err)
	}
	e.conn = conn
	if e.sub, err = conn.ChanSubscribe(e.subject, e.in); err != nil {
		conn.Close()
		return nil, fmt.Errorf("cluster: subscribe to %s: %w", e.subject, err)
	}
	if err := conn.Flush(); err != nil { // the subscription is in place before Start returns
		conn.Close()
		return nil, fmt.Errorf("cluster: subscribe to %s: %w", e.subject, err)
	}
	n.wg.Add(1)
	go e.receive()
	return e, nil
}

// publish sends a committed local change (records over the server's max
// payload go as their id only: receivers read them again).
func (e *natsEvents) publish(ev db.RecordEvent) {
	b, err := encodeEvent(e.n.id, ev)
	if err != nil {
		e.n.log.Error("cluster: encode an event", "err", err)
		return
	}
	if int64(len(b)) > e.conn.MaxPayload()-512 {
		b = idOnly(e.n.id, ev)
	}
	if err := e.conn.Publish(e.subject, b); err != nil {
		e.n.log.Error("cluster: publish an event on NATS", "err", err)
	}
}

// receive hands the messages of other nodes to the node, in order.
func (e *natsEvents) receive() {
	defer e.n.wg.Done()
	for {
		select {
		case <-e.n.ctx.Done():
			return
		case msg := <-e.in:
			var m message
			if err := json.Unmarshal(msg.Data, &m); err != nil {
				e.n.log.Error("cluster: a NATS message that does not decode is ignored", "err", err)
				continue
			}
			if m.Kind == kindRecord {
				e.n.handle(e.n.ctx, &m)
			}
		}
	}
}

func (e *natsEvents) close() {
	_ = e.sub.Unsubscribe()
	e.conn.Close()
}
