package transport

import (
	"sync"
	"time"
)

// Keep-alives of the WebSockets of one Handler, from one goroutine for
// all of them (gqlgen's transport would run a ticker goroutine per
// socket: with its stack, about 3 KiB of an idle subscriber):
//
//   - graphql-transport-ws: a ping every wsPingInterval. As gqlgen did, a
//     socket pinged for the first time, or that answered the last ping
//     with a pong, gets two intervals to answer this one (its read
//     deadline); one that did not keeps the deadline it has, and is cut
//     when it passes. gqlgen clears the deadline when a pong arrives.
//   - graphql-ws: a "ka" message every wsKeepAliveInterval.
//
// The goroutine ticks every wsPingTick and pings the sockets that are
// due, so that the pings of many sockets spread over the interval as
// their connections did; it stops while no socket is registered.
var (
	wsPingInterval      = 25 * time.Second
	wsKeepAliveInterval = 15 * time.Second
	wsPingTick          = time.Second
)

var (
	wsPingMsg      = []byte(`{"type":"ping"}`)
	wsKeepAliveMsg = []byte(`{"type":"ka"}`)
)

// wsPinger holds the initialised sockets of a Handler and when each is
// next due.
type wsPinger struct {
	ping, keepAlive, tick time.Duration // the intervals, from the variables above

	mu      sync.Mutex
	conns   map[*gorillaConn]time.Time
	running bool
}

func newWSPinger() *wsPinger {
	return &wsPinger{ping: wsPingInterval, keepAlive: wsKeepAliveInterval, tick: wsPingTick}
}

// add registers g (after its connection_init) and starts the goroutine
// if it is not running.
func (p *wsPinger) add(g *gorillaConn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.conns == nil {
		p.conns = map[*gorillaConn]time.Time{}
	}
	p.conns[g] = time.Now().Add(p.every(g))
	if !p.running {
		p.running = true
		go p.run()
	}
}

// remove forgets g (closed).
func (p *wsPinger) remove(g *gorillaConn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.conns, g)
}

func (p *wsPinger) run() {
	t := time.NewTicker(p.tick)
	defer t.Stop()
	var due []*gorillaConn
	for now := range t.C {
		p.mu.Lock()
		if len(p.conns) == 0 {
			p.running = false
			p.mu.Unlock()
			return
		}
		due = due[:0]
		for g, next := range p.conns {
			if !now.Before(next) {
				due = append(due, g)
				p.conns[g] = now.Add(p.every(g))
			}
		}
		p.mu.Unlock()
		for _, g := range due {
			p.send(g, now)
		}
		clear(due)
	}
}

// pingPong reports whether g speaks graphql-transport-ws (ping and pong)
// rather than graphql-ws (one-way "ka").
func (g *gorillaConn) pingPong() bool { return g.Subprotocol() == "graphql-transport-ws" }

func (p *wsPinger) every(g *gorillaConn) time.Duration {
	if g.pingPong() {
		return p.ping
	}
	return p.keepAlive
}

// send queues g's keep-alive message (a full queue skips it: the socket
// is busy) and, for ping and pong, moves its read deadline. Only the
// pinger's goroutine calls it.
func (p *wsPinger) send(g *gorillaConn, now time.Time) {
	if !g.pingPong() {
		_ = g.queueMessage(wsKeepAliveMsg, nil, nil)
		return
	}
	if !g.pinged || g.pongSeen.Swap(false) {
		_ = g.SetReadDeadline(now.Add(2 * p.ping))
	}
	g.pinged = true
	_ = g.queueMessage(wsPingMsg, nil, nil)
}
