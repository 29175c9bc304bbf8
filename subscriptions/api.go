// Package subscriptions is the in-process event hub: committed record
// changes are published once and fanned out to every subscriber of the
// collection through bounded buffers, so a slow subscriber never delays the
// writer or the others.
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

// Event is one committed record change as delivered to subscribers. Memo lets
// subscribers that would compute the same thing for the event (same viewer,
// same arguments, same selection) compute it once.
type Event struct {
	db.RecordEvent
	memo memo
}

// Memo returns the value computed by compute for key on this event, calling
// compute at most once per key however many subscribers ask concurrently.
func (e *Event) Memo(key string, compute func() any) any { return e.memo.get(key, compute) }

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
}

// New returns a running hub.
func New(opts Options) *Hub { return newHub(opts) }

// Publish delivers ev to every subscriber of its collection. It never blocks:
// a subscriber whose buffer is full is closed with ErrSlowConsumer. Call it
// after the commit, in commit order (db.DB.OnRecordChange).
func (h *Hub) Publish(ev db.RecordEvent) { h.publish(ev) }

// Subscribe returns a subscriber to the collection with that id.
func (h *Hub) Subscribe(collectionID string) *Subscriber { return h.subscribe(collectionID) }

// EndCollection closes every subscriber of the collection with err.
func (h *Hub) EndCollection(collectionID string, err error) { h.endCollection(collectionID, err) }

// Close ends every subscriber (Err nil); later Subscribe calls get a closed
// subscriber.
func (h *Hub) Close() { h.close() }

// SubscriberCount returns how many open subscribers the collection has (for
// tests and metrics).
func (h *Hub) SubscriberCount(collectionID string) int { return h.subscriberCount(collectionID) }
