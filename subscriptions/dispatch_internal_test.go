package subscriptions

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/monobase/monobase/db"
)

var (
	postsColl    = &db.Collection{ID: "pbc_posts000001", Name: "posts"}
	commentsColl = &db.Collection{ID: "pbc_comments001", Name: "comments"}
)

func ev(c *db.Collection, n int) db.RecordEvent {
	return db.RecordEvent{Action: db.ActionCreate, Collection: c, Record: db.Record{"id": fmt.Sprintf("rec%012d", n), "n": n}}
}

// stallDispatcher makes the dispatcher hang in the fan-out of an event of
// a collection of its own (by holding that topic's mu) and returns the func
// that lets it go on. When it returns, the dispatcher has taken everything
// queued before.
func stallDispatcher(t *testing.T, h *Hub) (release func()) {
	t.Helper()
	stall := &db.Collection{ID: "pbc_stall000001", Name: "stall"}
	h.Subscribe(stall.ID)
	h.mu.RLock()
	tp := h.topics[stall.ID]
	h.mu.RUnlock()
	tp.mu.Lock()
	h.Publish(ev(stall, 0))
	deadline := time.Now().Add(2 * time.Second)
	for {
		h.qmu.Lock()
		n := len(h.queue)
		h.qmu.Unlock()
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			tp.mu.Unlock()
			t.Fatal("the dispatcher did not take the event")
		}
		time.Sleep(time.Millisecond)
	}
	time.Sleep(10 * time.Millisecond) // let it reach tp.mu
	return tp.mu.Unlock
}

func recv(t *testing.T, s *Subscriber) (int, bool) {
	t.Helper()
	select {
	case e, ok := <-s.C:
		if !ok {
			return 0, false
		}
		return e.Record["n"].(int), true
	case <-time.After(2 * time.Second):
		t.Fatal("nothing within 2s")
		return 0, false
	}
}

func TestDispatchQueueOverflow(t *testing.T) {
	h := New(Options{Queue: 5})
	defer h.Close()
	p := h.Subscribe(postsColl.ID)
	c := h.Subscribe(commentsColl.ID)

	release := stallDispatcher(t, h)
	start := time.Now()
	h.Publish(ev(commentsColl, 100)) // queued: 1
	for i := 0; i <= 3; i++ {
		h.Publish(ev(postsColl, i)) // queued: 2..5
	}
	h.Publish(ev(postsColl, 4)) // full: dropped, posts marked as having a gap
	h.Publish(ev(postsColl, 5)) // dropped while the gap is pending
	took := time.Since(start)
	release()
	h.Flush()

	t.Run("Publish never waits for the stalled dispatcher", func(t *testing.T) {
		if took > 100*time.Millisecond {
			t.Errorf("6 publishes took %v", took)
		}
		if got := h.Dropped(); got != 2 {
			t.Errorf("Dropped = %d, want 2", got)
		}
	})
	t.Run("the collection's subscriber gets what was queued, then is closed as slow", func(t *testing.T) {
		var got []int
		for {
			n, ok := recv(t, p)
			if !ok {
				break
			}
			got = append(got, n)
		}
		if fmt.Sprint(got) != "[0 1 2 3]" {
			t.Errorf("got events %v, want [0 1 2 3]", got)
		}
		if !errors.Is(p.Err(), ErrSlowConsumer) {
			t.Errorf("Err = %v, want ErrSlowConsumer", p.Err())
		}
	})
	t.Run("another collection's subscriber keeps its events and stays open", func(t *testing.T) {
		if n, ok := recv(t, c); !ok || n != 100 {
			t.Errorf("got %d (open %v), want 100", n, ok)
		}
		if c.Err() != nil || h.SubscriberCount(commentsColl.ID) != 1 {
			t.Errorf("Err = %v, count %d; want nil, 1", c.Err(), h.SubscriberCount(commentsColl.ID))
		}
	})
	t.Run("a subscriber joining after the gap receives new events", func(t *testing.T) {
		p2 := h.Subscribe(postsColl.ID)
		h.Publish(ev(postsColl, 6))
		if n, ok := recv(t, p2); !ok || n != 6 {
			t.Errorf("got %d (open %v), want 6", n, ok)
		}
	})
}

func TestEndCollectionKeepsQueueOrder(t *testing.T) {
	h := New(Options{})
	defer h.Close()
	old := h.Subscribe(postsColl.ID)
	release := stallDispatcher(t, h)
	h.Publish(ev(postsColl, 0))
	h.Publish(ev(postsColl, 1))
	h.EndCollection(postsColl.ID, ErrCollectionDeleted)
	fresh := h.Subscribe(postsColl.ID) // joins a new topic at once
	h.Publish(ev(postsColl, 2))
	release()
	h.Flush()

	t.Run("the ended subscriber gets the events published before the end, then the error", func(t *testing.T) {
		var got []int
		for {
			n, ok := recv(t, old)
			if !ok {
				break
			}
			got = append(got, n)
		}
		if fmt.Sprint(got) != "[0 1]" || !errors.Is(old.Err(), ErrCollectionDeleted) {
			t.Errorf("got %v and Err %v, want [0 1] and ErrCollectionDeleted", got, old.Err())
		}
	})
	t.Run("a subscriber that joined after the end gets only later events", func(t *testing.T) {
		if n, ok := recv(t, fresh); !ok || n != 2 {
			t.Errorf("got %d (open %v), want 2", n, ok)
		}
		if len(fresh.C) != 0 || fresh.Err() != nil {
			t.Errorf("%d more events, Err %v; want none, nil", len(fresh.C), fresh.Err())
		}
	})
}

func TestCloseDeliversQueuedEvents(t *testing.T) {
	h := New(Options{})
	s := h.Subscribe(postsColl.ID)
	release := stallDispatcher(t, h)
	h.Publish(ev(postsColl, 0))
	h.Publish(ev(postsColl, 1))
	select {
	case <-h.Done():
		t.Fatal("Done closed before Close")
	default:
	}
	closed := make(chan struct{})
	go func() { h.Close(); close(closed) }()
	time.Sleep(20 * time.Millisecond)
	select {
	case <-h.Done():
	default:
		t.Error("Done not closed when Close started")
	}
	h.Publish(ev(postsColl, 2)) // after Close started: dropped
	release()
	<-closed
	var got []int
	for {
		n, ok := recv(t, s)
		if !ok {
			break
		}
		got = append(got, n)
	}
	if fmt.Sprint(got) != "[0 1]" || s.Err() != nil {
		t.Errorf("got %v and Err %v, want [0 1] and nil", got, s.Err())
	}
}
