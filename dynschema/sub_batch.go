package dynschema

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"

	"github.com/99designs/gqlgen/graphql"

	"github.com/monobase/monobase/subscriptions"
	"github.com/monobase/monobase/transport"
)

// Subscription fan-out.
//
// The subscriptions with the same group key (same collection, viewer,
// document and variables: see groupKey) form a batch: one hub subscriber
// and one goroutine for all of them. For each event the batch checks the
// rule and renders the selection once per distinct memo key of its members
// (one, unless a schema change made them differ), and hands the result to
// each member:
//
//   - over our WebSocket (a transport.Route), the batch appends the
//     protocol message to the connection's write queue itself, encoded as
//     gqlgen would encode it, without waking the subscription's goroutine
//     or encoding the response again for every subscriber;
//   - otherwise, through a bounded channel that member.next returns from.
//
// gqlgen's goroutine of a routed subscription only waits in member.next for
// the end, whose error (if any) gqlgen then writes after every event the
// batch queued. A member whose connection has too much unsent (or
// whose channel is full) is ended as a slow consumer without delaying the
// batch; a batch that falls behind the hub is ended as a whole by the hub.

// memberBuffer bounds the responses waiting for an unrouted member.
const memberBuffer = 256

// subBatches is the engine's batches by group key.
type subBatches struct {
	mu sync.Mutex // before any subBatch.mu
	m  map[string]*subBatch

	// start runs a new batch; nil means go b.run(). Tests set it to drive
	// a batch by hand.
	start func(b *subBatch)

	groups matchGroups // one check of an event for all batches (sub_match.go)
	solo   bool        // each batch checks alone (benchmarks compare)
}

// subBatch is the subscriptions that share a group key.
type subBatch struct {
	key    string
	collID string
	hub    *subscriptions.Subscriber
	reg    *subBatches
	eng    *Engine

	mu      sync.Mutex
	members []*member
	done    bool // out of reg: a new subscription starts another batch

	check atomic.Pointer[batchCheck] // what other batches' leaders check it with

	// Owned by the batch goroutine.
	scratch []*member
	results map[resultKey]*eventResult // of the event at hand
}

// resultKey identifies what one event renders to: members on the same
// schema version with the same memo key get the same result.
type resultKey struct {
	seq uint64
	key string
}

// member is one subscription in a batch.
type member struct {
	s     *subscription    // upgraded by the batch goroutine only
	ctx   context.Context  // the operation's context without its cancellation
	route *transport.Route // nil: responses go through out
	link  *wsLink          // the WebSocket session, nil for other transports
	out   chan *graphql.Response
	since uint64    // the hub's LastSeq when it joined: older events are not its
	batch *subBatch // set once by join
	idx   int       // in batch.members, -1 when out; guarded by batch.mu

	mu      sync.Mutex // held while a result is queued, so end waits for it
	ended   atomic.Bool
	endResp *graphql.Response // what next returns at the end (nil: complete)
	endSlow bool              // ended as a slow consumer: drop what is buffered
	done    chan struct{}     // closed by end
	// endsOnRoute: end reports the end through route (Route.End), and
	// next is not called.
	endsOnRoute bool

	reported bool // next returned the end; only next's goroutine uses it
}

// join adds the subscription s, whose operation runs on ctx, to the batch
// of its group key, starting the batch if there is none.
func (r *subBatches) join(e *Engine, s *subscription, ctx context.Context, route *transport.Route) *member {
	m := &member{s: s, ctx: context.WithoutCancel(ctx), route: route, link: s.link, done: make(chan struct{})}
	if route == nil {
		m.out = make(chan *graphql.Response, memberBuffer)
	} else {
		// On a WebSocket the end goes through the route too: no goroutine
		// waits in next for it.
		m.endsOnRoute = route.TakeEnd()
	}
	hub := e.cfg.Hub
	key := s.memoKey
	r.mu.Lock()
	defer r.mu.Unlock()
	b := r.m[key]
	if b == nil || b.done || b.hub.Err() != nil { // none, or one the hub is ending
		b = &subBatch{key: key, collID: s.t.coll.ID, hub: hub.Subscribe(s.t.coll.ID), reg: r, eng: e,
			results: make(map[resultKey]*eventResult)}
		if r.m == nil {
			r.m = make(map[string]*subBatch)
		}
		r.m[key] = b
		b.publishCheck(s, m.ctx)
		if r.start != nil {
			r.start(b)
		} else {
			go b.run()
		}
	}
	b.mu.Lock()
	// Under b.mu, which each event's snapshot of the members takes: an
	// event numbered after since reaches this member.
	m.since = hub.LastSeq()
	m.batch, m.idx = b, len(b.members)
	b.members = append(b.members, m)
	b.mu.Unlock()
	return m
}

// count returns how many subscriptions of the collection are running.
func (r *subBatches) count(collID string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, b := range r.m {
		if b.collID == collID {
			b.mu.Lock()
			n += len(b.members)
			b.mu.Unlock()
		}
	}
	return n
}

// run delivers the hub's events to the members until the hub ends the
// batch (or the batch closes its hub subscriber when its last member
// leaves).
func (b *subBatch) run() {
	for ev := range b.hub.C {
		if errors.Is(b.hub.Err(), subscriptions.ErrSlowConsumer) {
			break // what is buffered is stale now: the end says so at once
		}
		b.handle(ev)
	}
	b.finish(b.hub.Err())
}

// handle delivers one event to every member that may see it.
func (b *subBatch) handle(ev *subscriptions.Event) {
	b.mu.Lock()
	members := append(b.scratch[:0], b.members...)
	b.mu.Unlock()
	cur := b.eng.cur.Load()
	clear(b.results)
	var lastKey resultKey // most members share one key: skip the map for them
	var lastRes *eventResult
	for _, m := range members {
		if ev.Seq <= m.since || m.ended.Load() {
			continue
		}
		s := m.s
		if cur.seq != s.tried {
			if err := s.upgrade(m.ctx, cur); err != nil {
				b.drop(m, errorResponse(m.ctx, err), false)
				continue
			}
			if s.memoKey == b.key {
				b.publishCheck(s, m.ctx)
			}
		}
		if !s.wants(ev) {
			continue
		}
		if s.memoKey == b.key {
			s.memoKey = b.key // one string for the batch: comparisons stop at the pointer
		}
		k := resultKey{s.v.seq, s.memoKey}
		res := lastRes
		if res == nil || k != lastKey {
			if res = b.results[k]; res == nil {
				res = s.compute(m.ctx, ev, b)
				b.results[k] = res
			}
			lastKey, lastRes = k, res
		}
		if res.skip {
			continue
		}
		if !m.deliver(res) {
			b.drop(m, errorResponse(m.ctx, s.endError(subscriptions.ErrSlowConsumer)), true)
		}
	}
	clear(b.results) // the event's renderings go with it
	clear(members)
	b.scratch = members[:0]
}

// deliver queues res for m; it reports false when m cannot take it
// without waiting (a slow consumer). A connection that is going away
// takes nothing, silently: gqlgen ends its subscriptions.
func (m *member) deliver(res *eventResult) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ended.Load() {
		return true
	}
	if m.route != nil {
		return m.route.Send(res.payload)
	}
	select {
	case m.out <- res.response():
		return true
	default:
		return false
	}
}

// end marks m ended with resp as its last response; it reports false if
// m had ended already.
func (m *member) end(resp *graphql.Response, slow bool) bool {
	m.mu.Lock()
	if m.ended.Load() {
		m.mu.Unlock()
		return false
	}
	m.endResp, m.endSlow = resp, slow
	m.ended.Store(true)
	close(m.done)
	m.mu.Unlock()
	if m.link != nil {
		m.link.removeMember(m)
	}
	if m.endsOnRoute {
		m.route.End(resp)
	}
	return true
}

// drop ends m with resp and takes it out of its batch.
func (b *subBatch) drop(m *member, resp *graphql.Response, slow bool) {
	m.end(resp, slow)
	b.remove(m)
}

// leave ends m without a response (the client stopped, or the connection
// closed) and takes it out of its batch.
func (m *member) leave() {
	m.end(nil, false)
	m.batch.remove(m)
}

// remove takes m out of b; the last member out closes the batch.
func (b *subBatch) remove(m *member) {
	b.reg.mu.Lock()
	b.mu.Lock()
	if i := m.idx; i >= 0 {
		last := len(b.members) - 1
		b.members[i] = b.members[last]
		b.members[i].idx = i
		b.members[last] = nil
		b.members = b.members[:last]
		m.idx = -1
	}
	empty := len(b.members) == 0 && !b.done
	if empty {
		b.done = true
		if b.reg.m[b.key] == b {
			delete(b.reg.m, b.key)
		}
	}
	b.mu.Unlock()
	b.reg.mu.Unlock()
	if empty {
		b.hub.Close() // run sees C closed and finishes
	}
}

// finish ends every member with the error the hub ended the batch with
// (nil: the hub shut down, or the batch closed itself).
func (b *subBatch) finish(err error) {
	b.reg.mu.Lock()
	b.mu.Lock()
	b.done = true
	if b.reg.m[b.key] == b {
		delete(b.reg.m, b.key)
	}
	members := b.members
	b.members = nil
	for _, m := range members {
		m.idx = -1
	}
	b.mu.Unlock()
	b.reg.mu.Unlock()
	b.hub.Close()
	slow := errors.Is(err, subscriptions.ErrSlowConsumer)
	for _, m := range members {
		var resp *graphql.Response
		if err != nil {
			resp = errorResponse(m.ctx, m.s.endError(err))
		}
		m.end(resp, slow)
	}
}

// next is the subscription's gqlgen response handler. A routed member's
// events never pass here: it returns only the end. An unrouted member's
// come from out, in order, then the end (at once for a slow consumer:
// the rest is stale).
func (m *member) next(ctx context.Context) *graphql.Response {
	if m.reported {
		return nil
	}
	select {
	case <-m.done: // checked first: a slow consumer's end does not wait behind out
	default:
		select {
		case <-ctx.Done():
			m.leave()
			m.reported = true
			return nil
		case r := <-m.out: // nil for a routed member: never ready
			return r
		case <-m.done:
		}
	}
	if !m.endSlow {
		select {
		case r := <-m.out:
			return r
		default:
		}
	}
	m.reported = true
	return m.endResp
}
