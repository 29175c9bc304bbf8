package subscriptions

import (
	"sync"
	"sync/atomic"

	"github.com/monobase/monobase/db"
)

// defaultBuffer is Options.Buffer's default.
const defaultBuffer = 256

// hub is the Hub's state. Locks are taken in this order: hub.mu, then a
// topic's mu. Publish takes hub.mu only for reading, to find the topic.
type hub struct {
	buffer int

	mu     sync.RWMutex
	topics map[string]*topic // collection id -> its subscribers
	closed bool
}

// topic is the subscriber list of one collection.
//
// The list is a plain slice with swap-removal (each subscriber knows its
// index): Subscribe appends and Close removes in O(1) under mu. Publish
// holds mu only to copy the list into a reused buffer (a memmove, ~80 KB
// for 10,000 subscribers), then sends outside mu, so Subscribe and Close
// never wait for a fan-out. Because sends happen outside mu, a subscriber
// closed while a publish is in flight keeps its channel open until that
// publish ends (the publisher closes it then): a send never meets a closed
// channel. pubMu serializes publishes to the collection, so every
// subscriber sees them in the same order.
//
// A copy-on-write list would spare Publish even the copy but costs O(n) per
// Subscribe, i.e. O(n²) to reach n subscribers (≈430 MB of garbage for
// 10,000); see the figures in bench_test.go.
type topic struct {
	id string
	h  *Hub

	pubMu   sync.Mutex    // held for a whole publish
	scratch []*Subscriber // the publish's copy of subs (guarded by pubMu)
	slow    []*Subscriber // overflowed during the publish (guarded by pubMu)

	mu         sync.Mutex
	subs       []*Subscriber
	dead       bool          // removed from h.topics: Subscribe must look again
	publishing bool          // a publish is sending outside mu
	deferred   []*Subscriber // closed during that publish; it closes their channels
}

func newHub(opts Options) *Hub {
	if opts.Buffer <= 0 {
		opts.Buffer = defaultBuffer
	}
	return &Hub{hub{buffer: opts.Buffer, topics: make(map[string]*topic)}}
}

// publish sends one *Event, shared by all subscribers, to each subscriber of
// the collection without waiting; a subscriber whose buffer is full is
// closed with ErrSlowConsumer.
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
	ev := &Event{RecordEvent: rev}

	t.pubMu.Lock()
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
	t.pubMu.Unlock()
	if empty {
		h.dropIfEmpty(t)
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

// endCollection removes the collection's topic and closes its subscribers
// with err. Later Subscribe calls for the same id start a new topic.
func (h *Hub) endCollection(collectionID string, err error) {
	h.mu.Lock()
	t := h.topics[collectionID]
	delete(h.topics, collectionID)
	h.mu.Unlock()
	if t != nil {
		t.end(err)
	}
}

// close ends every topic with a nil error and refuses later subscribers.
func (h *Hub) close() {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return
	}
	h.closed = true
	topics := h.topics
	h.topics = make(map[string]*topic)
	h.mu.Unlock()
	for _, t := range topics {
		t.end(nil)
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

// end marks t dead and closes all its subscribers with err. t must already
// be out of h.topics.
func (t *topic) end(err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.dead = true
	for _, s := range t.subs {
		if s.mark(err) {
			t.closeCh(s)
		}
	}
	clear(t.subs)
	t.subs = nil
}

// closeCh closes the channel of a subscriber just marked closed and taken
// out of subs, or leaves it to the publish in flight. t.mu must be held.
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
// once, or when the publish in flight ends).
func (s *Subscriber) close() {
	t := s.t
	if t == nil || s.state.Load() {
		return // never joined a topic (hub closed), or already closed
	}
	t.mu.Lock()
	if !s.mark(nil) {
		t.mu.Unlock()
		return // closed meanwhile by Publish, EndCollection or Close
	}
	t.remove(s)
	t.closeCh(s)
	empty := len(t.subs) == 0 && !t.dead
	t.mu.Unlock()
	if empty {
		t.h.dropIfEmpty(t)
	}
}
