package subscriptions

import (
	"sync"
	"sync/atomic"

	"github.com/monobase/monobase/db"
)

// Defaults of Options.
const (
	defaultBuffer = 256
	defaultQueue  = 8192
)

// hub is the Hub's state.
//
// Publish runs on the database's commit path, so it does O(1) work: it
// appends the event to a bounded queue that one dispatcher goroutine drains,
// in order, into the subscribers' buffers. The queue keeps the topic (the
// subscriber list) that was current at Publish time, so an event reaches
// the subscribers of its collection as of its commit even when the
// collection is ended or re-subscribed while it waits in the queue.
//
// Locks are taken in this order: hub.mu, then a topic's mu; qmu is taken
// alone.
type hub struct {
	buffer int
	qmax   int

	mu     sync.RWMutex
	topics map[string]*topic // collection id -> its subscribers
	closed bool

	qmu     sync.Mutex
	queue   []item // waiting for the dispatcher; at most qmax events plus control items
	events  int    // events in queue
	qclosed bool   // Close queued its final item: nothing more is accepted

	wake     chan struct{} // cap 1: the queue is not empty
	done     chan struct{} // closed when Close starts
	finished chan struct{} // closed when the dispatcher has ended every subscriber
	dropped  atomic.Int64  // events dropped because the queue was full
	seq      atomic.Uint64 // Seq of the last event queued; written under qmu
}

// item is one entry of the dispatch queue: an event for a topic, or a
// control item (gap, end, barrier, close) that takes effect in queue order.
type item struct {
	ev      *Event
	t       *topic
	kind    itemKind
	err     error         // for itemEnd
	barrier chan struct{} // for itemBarrier: closed when reached
}

type itemKind uint8

const (
	itemEvent   itemKind = iota
	itemGap              // events of t were dropped: close its subscribers as slow
	itemEnd              // close t's subscribers with err (EndCollection)
	itemBarrier          // Flush waits for it
	itemClose            // Close: end every topic, stop the dispatcher
)

// topic is the subscriber list of one collection.
//
// The list is a plain slice with swap-removal (each subscriber knows its
// index): Subscribe appends and Close removes in O(1) under mu. The
// dispatcher holds mu only to copy the list into a reused buffer (a memmove,
// ~80 KB for 10,000 subscribers), then sends outside mu, so Subscribe and
// Close never wait for a fan-out. Because sends happen outside mu, a
// subscriber closed while a fan-out is in flight keeps its channel open
// until that fan-out ends (the dispatcher closes it then): a send never
// meets a closed channel. Only the dispatcher sends, so every subscriber
// sees the events in the same order.
//
// A copy-on-write list would spare the fan-out even the copy but costs O(n)
// per Subscribe, i.e. O(n²) to reach n subscribers (≈430 MB of garbage for
// 10,000); see the figures in bench_test.go.
type topic struct {
	id string
	h  *Hub

	// Owned by the dispatcher goroutine.
	scratch []*Subscriber // the fan-out's copy of subs
	slow    []*Subscriber // overflowed during the fan-out

	gap bool // guarded by h.qmu: a gap item is queued, later events are dropped

	mu         sync.Mutex
	subs       []*Subscriber
	dead       bool          // removed from h.topics: Subscribe must look again
	publishing bool          // a fan-out is sending outside mu
	deferred   []*Subscriber // closed during that fan-out; it closes their channels
}

func newHub(opts Options) *Hub {
	if opts.Buffer <= 0 {
		opts.Buffer = defaultBuffer
	}
	if opts.Queue <= 0 {
		opts.Queue = defaultQueue
	}
	h := &Hub{hub{
		buffer:   opts.Buffer,
		qmax:     opts.Queue,
		topics:   make(map[string]*topic),
		wake:     make(chan struct{}, 1),
		done:     make(chan struct{}),
		finished: make(chan struct{}),
	}}
	go h.dispatch()
	return h
}

// publish queues the event for the dispatcher. Events of collections nobody
// subscribes to are dropped at once. When the queue is full, the event is
// dropped and the topic's subscribers are closed with ErrSlowConsumer once
// the dispatcher reaches that point (they would otherwise miss it).
func (h *Hub) publish(rev db.RecordEvent) {
	if rev.Collection == nil {
		return
	}
	h.mu.RLock()
	t := h.topics[rev.Collection.ID]
	h.mu.RUnlock()
	if t == nil {
		return
	}
	h.qmu.Lock()
	switch {
	case h.qclosed:
		h.qmu.Unlock()
		return
	case t.gap:
		h.qmu.Unlock()
		h.dropped.Add(1)
		return
	case h.events >= h.qmax:
		t.gap = true
		h.queue = append(h.queue, item{kind: itemGap, t: t})
		h.dropped.Add(1)
	default:
		seq := h.seq.Load() + 1
		h.seq.Store(seq)
		h.queue = append(h.queue, item{ev: &Event{RecordEvent: rev, Seq: seq}, t: t})
		h.events++
	}
	h.qmu.Unlock()
	h.signal()
}

// enqueue adds a control item; it reports false after Close.
func (h *Hub) enqueue(it item) bool {
	h.qmu.Lock()
	if h.qclosed {
		h.qmu.Unlock()
		return false
	}
	if it.kind == itemClose {
		h.qclosed = true
	}
	h.queue = append(h.queue, it)
	h.qmu.Unlock()
	h.signal()
	return true
}

func (h *Hub) signal() {
	select {
	case h.wake <- struct{}{}:
	default:
	}
}

// dispatch is the dispatcher goroutine: it drains the queue in order until
// it meets the close item.
func (h *Hub) dispatch() {
	defer close(h.finished)
	var batch []item
	for range h.wake {
		h.qmu.Lock()
		batch, h.queue = h.queue, batch[:0]
		h.events = 0
		h.qmu.Unlock()
		for i := range batch {
			if !h.handle(&batch[i]) {
				return
			}
		}
		clear(batch) // let delivered events be collected
		if cap(batch) > 4*h.qmax {
			batch = nil // a burst of control items: give the memory back
		}
	}
}

// handle runs one queue item; it returns false for the close item.
func (h *Hub) handle(it *item) bool {
	switch it.kind {
	case itemEvent:
		it.t.fanOut(it.ev)
	case itemGap:
		it.t.closeAll(ErrSlowConsumer, false)
		h.qmu.Lock()
		it.t.gap = false
		h.qmu.Unlock()
		h.dropIfEmpty(it.t)
	case itemEnd:
		it.t.closeAll(it.err, true)
	case itemBarrier:
		close(it.barrier)
	case itemClose:
		h.mu.Lock()
		topics := h.topics
		h.topics = make(map[string]*topic)
		h.mu.Unlock()
		for _, t := range topics {
			t.closeAll(nil, true)
		}
		return false
	}
	return true
}

// fanOut sends ev to each subscriber of t without waiting; a subscriber
// whose buffer is full is closed with ErrSlowConsumer. Only the dispatcher
// calls it.
func (t *topic) fanOut(ev *Event) {
	t.mu.Lock()
	snap := append(t.scratch[:0], t.subs...)
	t.publishing = true
	t.mu.Unlock()

	for _, s := range snap {
		if s.state.Load() {
			continue // closed meanwhile; its channel is still open, skip it anyway
		}
		select {
		case s.ch <- ev:
		default:
			t.slow = append(t.slow, s)
		}
	}

	t.mu.Lock()
	t.publishing = false
	for _, s := range t.slow {
		if s.mark(ErrSlowConsumer) {
			t.remove(s)
			close(s.ch)
		}
	}
	for _, s := range t.deferred {
		close(s.ch)
	}
	clear(t.deferred)
	t.deferred = t.deferred[:0]
	empty := len(t.subs) == 0 && !t.dead
	keep := len(t.subs)
	t.mu.Unlock()

	clear(t.slow)
	t.slow = t.slow[:0]
	clear(snap) // let closed subscribers be collected
	if cap(snap) > 1024 && keep < cap(snap)/4 {
		snap = nil // a crowd left: give the buffer back
	}
	t.scratch = snap[:0]
	if empty {
		t.h.dropIfEmpty(t)
	}
}

// subscribe adds a subscriber to the collection's topic, creating the topic
// if needed. After Close it returns an already closed subscriber.
func (h *Hub) subscribe(collectionID string) *Subscriber {
	ch := make(chan *Event, h.buffer)
	s := &Subscriber{C: ch, subscriber: subscriber{ch: ch}}
	for {
		h.mu.RLock()
		t, closed := h.topics[collectionID], h.closed
		h.mu.RUnlock()
		if closed {
			s.mark(nil)
			close(ch)
			return s
		}
		if t == nil {
			h.mu.Lock()
			if h.closed {
				h.mu.Unlock()
				continue // answered at the top of the loop
			}
			t = h.topics[collectionID]
			if t == nil {
				t = &topic{id: collectionID, h: h}
				h.topics[collectionID] = t
			}
			h.mu.Unlock()
		}
		t.mu.Lock()
		if t.dead {
			// Ended or emptied between the lookup and here: look again.
			t.mu.Unlock()
			continue
		}
		s.t = t
		s.idx = len(t.subs)
		t.subs = append(t.subs, s)
		t.mu.Unlock()
		return s
	}
}

// endCollection takes the collection's topic out of the hub at once (later
// Subscribe calls start a new one) and queues the end of its subscribers,
// so that they first receive the events queued before.
func (h *Hub) endCollection(collectionID string, err error) {
	h.mu.Lock()
	t := h.topics[collectionID]
	delete(h.topics, collectionID)
	h.mu.Unlock()
	if t == nil {
		return
	}
	t.mu.Lock()
	t.dead = true // no new subscriber joins it
	t.mu.Unlock()
	if !h.enqueue(item{kind: itemEnd, t: t, err: err}) {
		// Close got in first: its sweep no longer sees this topic (it left
		// h.topics above), so end the subscribers here once the dispatcher
		// has stopped and no fan-out can be in flight.
		<-h.finished
		t.closeAll(err, true)
	}
}

// close refuses new subscribers, lets the dispatcher deliver what is queued,
// then ends every subscriber with a nil error; it returns once they are.
func (h *Hub) close() {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		<-h.finished
		return
	}
	h.closed = true
	h.mu.Unlock()
	close(h.done)
	h.enqueue(item{kind: itemClose})
	<-h.finished
}

// flush returns once the dispatcher has handled everything queued before
// the call (at once after Close).
func (h *Hub) flush() {
	b := make(chan struct{})
	if !h.enqueue(item{kind: itemBarrier, barrier: b}) {
		<-h.finished
		return
	}
	select {
	case <-b:
	case <-h.finished:
	}
}

// subscriberCount returns how many subscribers the collection has now.
func (h *Hub) subscriberCount(collectionID string) int {
	h.mu.RLock()
	t := h.topics[collectionID]
	h.mu.RUnlock()
	if t == nil {
		return 0
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.subs)
}

// dropIfEmpty removes t from the hub if it still has no subscriber, so
// topics of collections nobody listens to do not accumulate.
func (h *Hub) dropIfEmpty(t *topic) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.topics[t.id] != t {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.subs) == 0 && !t.dead {
		t.dead = true
		delete(h.topics, t.id)
	}
}

// closeAll closes every current subscriber of t with err; with kill the
// topic is marked dead (it is already out of h.topics). Only the dispatcher
// calls it (or endCollection after the dispatcher has finished), so no
// fan-out is in flight.
func (t *topic) closeAll(err error, kill bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if kill {
		t.dead = true
	}
	for _, s := range t.subs {
		if s.mark(err) {
			close(s.ch)
		}
	}
	clear(t.subs)
	t.subs = t.subs[:0]
	if kill || cap(t.subs) > 64 {
		t.subs = nil
	}
}

// closeCh closes the channel of a subscriber just marked closed and taken
// out of subs, or leaves it to the fan-out in flight. t.mu must be held.
func (t *topic) closeCh(s *Subscriber) {
	if t.publishing {
		t.deferred = append(t.deferred, s)
		return
	}
	close(s.ch)
}

// remove takes s out of t.subs by moving the last subscriber into its slot.
// t.mu must be held.
func (t *topic) remove(s *Subscriber) {
	last := len(t.subs) - 1
	if i := s.idx; i != last {
		moved := t.subs[last]
		t.subs[i] = moved
		moved.idx = i
	}
	t.subs[last] = nil
	t.subs = t.subs[:last]
	// Give memory back after a crowd left: shrink when a quarter is used.
	if c := cap(t.subs); c > 64 && len(t.subs) < c/4 {
		t.subs = append(make([]*Subscriber, 0, c/2), t.subs...)
	}
}

// subscriber is a Subscriber's state. t is set once by Subscribe; idx is
// guarded by t.mu; state and errv are published atomically so that Err can
// be called at any time.
type subscriber struct {
	ch    chan *Event
	t     *topic // the topic joined; nil when the hub was closed
	idx   int    // index in t.subs while open
	state atomic.Bool
	errv  error // written once, before state is set
}

// mark records that the subscriber is closed with err; it returns false if
// it already was. Callers hold t.mu (or own the subscriber exclusively), so
// the first mark wins and closes the channel once.
func (s *subscriber) mark(err error) bool {
	if s.state.Load() {
		return false
	}
	s.errv = err
	s.state.Store(true)
	return true
}

func (s *subscriber) err() error {
	if !s.state.Load() {
		return nil
	}
	return s.errv
}

// close removes the subscriber from its topic and closes its channel (at
// once, or when the fan-out in flight ends).
func (s *Subscriber) close() {
	t := s.t
	if t == nil || s.state.Load() {
		return // never joined a topic (hub closed), or already closed
	}
	t.mu.Lock()
	if !s.mark(nil) {
		t.mu.Unlock()
		return // closed meanwhile by a fan-out, EndCollection or Close
	}
	t.remove(s)
	t.closeCh(s)
	empty := len(t.subs) == 0 && !t.dead
	t.mu.Unlock()
	if empty {
		t.h.dropIfEmpty(t)
	}
}
