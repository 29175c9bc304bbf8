// Package subscriptions is the in-process event hub: committed record
// changes are published once and fanned out to every subscriber of the
// collection through bounded buffers, so a slow subscriber never delays the
// writer or the others.
//
// Publish only queues the event (O(1), on the database's commit path); one
// dispatcher goroutine fans the queue out in commit order. Nothing waits
// for a subscriber: a subscriber whose buffer is full is closed with
// ErrSlowConsumer, and if the dispatcher itself falls Options.Queue events
// behind, the subscribers of the collection whose event could not be
// queued are closed with ErrSlowConsumer too, so that no one silently
// misses an event.
package subscriptions

import (
	"errors"

	"github.com/monobase/monobase/db"
)

// ErrSlowConsumer ends a subscriber whose buffer overflowed: it is closed
// rather than silently fed stale data.
var ErrSlowConsumer = errors.New("subscriber fell too far behind and was closed")

// ErrCollectionDeleted ends the subscribers of a deleted collection.
var ErrCollectionDeleted = errors.New("the collection was deleted")

// Event is one committed record change as delivered to subscribers. Seq
// numbers the events in publish order (the first is 1), so that a consumer
// can tell which events were published after a given moment (LastSeq).
type Event struct {
	db.RecordEvent
	Seq uint64
}

// Subscriber receives the events of one collection on C until it is closed.
// After C is closed, Err tells why (nil when the subscriber closed itself or
// the hub shut down cleanly).
type Subscriber struct {
	C <-chan *Event
	subscriber
}

// Err returns why the subscriber was closed, or nil.
func (s *Subscriber) Err() error { return s.err() }

// Close unsubscribes; it is safe to call more than once.
func (s *Subscriber) Close() { s.close() }

// Hub fans events out to subscribers.
type Hub struct{ hub }

// Options tunes a Hub; zero values take defaults.
type Options struct {
	Buffer int // events buffered per subscriber before it counts as slow (default 256)
	Queue  int // events waiting for the dispatcher before the hub sheds load (default 8192)
}

// New returns a running hub (with its dispatcher goroutine; Close stops it).
func New(opts Options) *Hub { return newHub(opts) }

// Publish queues ev for every subscriber of its collection (as subscribed
// now) and returns at once; the dispatcher delivers it later, in publish
// order. It never blocks: a subscriber whose buffer is full is closed with
// ErrSlowConsumer. Call it after the commit, in commit order
// (db.DB.OnRecordChange).
func (h *Hub) Publish(ev db.RecordEvent) { h.publish(ev) }

// Flush returns once every event published before the call is in its
// subscribers' buffers (or they were closed).
func (h *Hub) Flush() { h.flush() }

// Done is closed when Close starts: servers use it to end their
// subscription connections.
func (h *Hub) Done() <-chan struct{} { return h.done }

// LastSeq returns the Seq of the last event published (0 before the first):
// the events a subscriber receives after reading it with Seq above it were
// published after the call.
func (h *Hub) LastSeq() uint64 { return h.seq.Load() }

// Dropped returns how many events were dropped because the dispatch queue
// was full (their subscribers were closed with ErrSlowConsumer).
func (h *Hub) Dropped() int64 { return h.dropped.Load() }

// Subscribe returns a subscriber to the collection with that id.
func (h *Hub) Subscribe(collectionID string) *Subscriber { return h.subscribe(collectionID) }

// EndCollection closes every subscriber of the collection with err, after
// the events already published to them. Subscribe calls made after it
// returns join afresh.
func (h *Hub) EndCollection(collectionID string, err error) { h.endCollection(collectionID, err) }

// Close delivers the events already published, then ends every subscriber
// (Err nil) and stops the dispatcher; it returns once they are ended. Later
// Subscribe calls get a closed subscriber and Publish drops its events.
func (h *Hub) Close() { h.close() }

// SubscriberCount returns how many open subscribers the collection has (for
// tests and metrics).
func (h *Hub) SubscriberCount(collectionID string) int { return h.subscriberCount(collectionID) }
