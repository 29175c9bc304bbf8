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

// topic is the subscriber list of one collection. Everything that sends on
// or closes a subscriber's channel holds mu, so a send never meets a closed
// channel, and publishes to one collection are serialized, so every
// subscriber sees them in the same order.
//
// The list is a plain slice with swap-removal (each subscriber knows its
// index): Publish walks it without allocating, Subscribe appends, Close is
// O(1). A copy-on-write list would spare Publish the lock but costs O(n) per
// Subscribe, i.e. O(n²) to reach n subscribers; see bench_test.go for the
// figures that made the lock the better trade.
type topic struct {
	id string
	h  *Hub

	mu   sync.Mutex
	subs []*Subscriber
	dead bool // removed from h.topics: Subscribe must look again
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

	t.mu.Lock()
	for i := 0; i < len(t.subs); {
		s := t.subs[i]
		select {
		case s.ch <- ev:
			i++
		default:
			// t.subs[i] is now the former last subscriber, not yet visited.
			t.remove(s)
			s.finish(ErrSlowConsumer)
		}
	}
	empty := len(t.subs) == 0 && !t.dead
	t.mu.Unlock()
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
			s.finish(nil)
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
		s.finish(err)
	}
	clear(t.subs)
	t.subs = nil
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

// subscriber is a Subscriber's state. t is set once by Subscribe; idx and
// the closing of ch are guarded by t.mu; state and errv are published
// atomically so that Err can be called at any time.
type subscriber struct {
	ch    chan *Event
	t     *topic // the topic joined; nil when the hub was closed
	idx   int    // index in t.subs while open
	state atomic.Bool
	errv  error // written once, before state is set
}

// finish closes the channel with err. The caller holds the topic's mu (or
// owns the subscriber exclusively) and has removed s from the topic.
func (s *subscriber) finish(err error) {
	if s.state.Load() {
		return
	}
	s.errv = err
	s.state.Store(true)
	close(s.ch)
}

func (s *subscriber) err() error {
	if !s.state.Load() {
		return nil
	}
	return s.errv
}

// close removes the subscriber from its topic and closes its channel.
func (s *Subscriber) close() {
	t := s.t
	if t == nil || s.state.Load() {
		return // never joined a topic (hub closed), or already closed
	}
	t.mu.Lock()
	if s.state.Load() {
		t.mu.Unlock()
		return // closed meanwhile by Publish, EndCollection or Close
	}
	t.remove(s)
	s.finish(nil)
	empty := len(t.subs) == 0 && !t.dead
	t.mu.Unlock()
	if empty {
		t.h.dropIfEmpty(t)
	}
}
