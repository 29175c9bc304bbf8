package subscriptions_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/monobase/monobase/db"
	"github.com/monobase/monobase/subscriptions"
)

// collections used by the tests, shared so that events point at them.
var (
	posts    = &db.Collection{ID: "pbc_posts000001", Name: "posts"}
	comments = &db.Collection{ID: "pbc_comments001", Name: "comments"}
)

// change builds a create event for record n of c.
func change(c *db.Collection, n int) db.RecordEvent {
	return db.RecordEvent{
		Action:     db.ActionCreate,
		Collection: c,
		Record:     db.Record{"id": fmt.Sprintf("rec%012d", n), "n": n},
	}
}

// seq returns the sequence number the test stored in the event's record.
func seq(ev *subscriptions.Event) int { return ev.Record["n"].(int) }

// receive reads one event from s within a second, failing the test if none
// comes or C is closed.
func receive(t *testing.T, s *subscriptions.Subscriber) *subscriptions.Event {
	t.Helper()
	select {
	case ev, ok := <-s.C:
		if !ok {
			t.Fatalf("C closed early (Err = %v)", s.Err())
		}
		return ev
	case <-time.After(time.Second):
		t.Fatal("no event within 1s")
		return nil
	}
}

// drainClosed reads s.C until it is closed (within a second) and returns how
// many events were still buffered.
func drainClosed(t *testing.T, s *subscriptions.Subscriber) int {
	t.Helper()
	n := 0
	timeout := time.After(time.Second)
	for {
		select {
		case _, ok := <-s.C:
			if !ok {
				return n
			}
			n++
		case <-timeout:
			t.Fatal("C not closed within 1s")
		}
	}
}

func TestOrder(t *testing.T) {
	const events = 2000
	tests := []struct {
		name        string
		subscribers int
		collections []*db.Collection
	}{
		{"one subscriber sees events in publish order", 1, []*db.Collection{posts}},
		{"every subscriber sees the same order", 50, []*db.Collection{posts}},
		{"interleaved collections keep each collection's order", 20, []*db.Collection{posts, comments}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := subscriptions.New(subscriptions.Options{Buffer: events})
			defer h.Close()
			type result struct {
				coll string
				got  []int
				err  error
			}
			results := make(chan result)
			for _, c := range tt.collections {
				for range tt.subscribers {
					s := h.Subscribe(c.ID)
					go func() {
						var got []int
						for ev := range s.C {
							if ev.Collection.ID != c.ID {
								results <- result{err: fmt.Errorf("got an event of %s on %s", ev.Collection.ID, c.ID)}
								return
							}
							got = append(got, seq(ev))
							if len(got) == events {
								break
							}
						}
						results <- result{coll: c.ID, got: got}
					}()
				}
			}
			// Interleave the collections; each one gets `events` events with
			// increasing sequence numbers.
			for i := range events * len(tt.collections) {
				h.Publish(change(tt.collections[i%len(tt.collections)], i))
			}
			for range tt.subscribers * len(tt.collections) {
				r := <-results
				if r.err != nil {
					t.Fatal(r.err)
				}
				if len(r.got) != events {
					t.Fatalf("%s: got %d events, want %d", r.coll, len(r.got), events)
				}
				for i := 1; i < len(r.got); i++ {
					if r.got[i] <= r.got[i-1] {
						t.Fatalf("%s: event %d came after %d", r.coll, r.got[i], r.got[i-1])
					}
				}
			}
		})
	}
}

func TestSlowConsumer(t *testing.T) {
	t.Run("a full buffer closes the slow subscriber while the fast one gets every event", func(t *testing.T) {
		const buffer, events = 16, 500
		h := subscriptions.New(subscriptions.Options{Buffer: buffer})
		defer h.Close()
		slow := h.Subscribe(posts.ID) // never reads until the end
		fast := h.Subscribe(posts.ID)

		got := make(chan int, events)
		go func() {
			for ev := range fast.C {
				got <- seq(ev)
			}
			close(got)
		}()

		var worst time.Duration
		for i := range events {
			start := time.Now()
			h.Publish(change(posts, i))
			worst = max(worst, time.Since(start))
			// Lockstep with the fast reader so that it can never overflow
			// however the scheduler runs it; the publisher itself is timed
			// above, without this wait.
			if n := <-got; n != i {
				t.Fatalf("fast subscriber got event %d, want %d", n, i)
			}
		}
		// Generous: a Publish that blocked on the stalled subscriber would
		// never return at all.
		h.Flush()
		if worst > 500*time.Millisecond {
			t.Errorf("slowest Publish took %v; it must never wait for a subscriber", worst)
		}

		if !errors.Is(slow.Err(), subscriptions.ErrSlowConsumer) {
			t.Errorf("slow Err = %v, want ErrSlowConsumer", slow.Err())
		}
		if n := drainClosed(t, slow); n != buffer {
			t.Errorf("slow subscriber had %d buffered events before the close, want %d", n, buffer)
		}
		if fast.Err() != nil {
			t.Errorf("fast Err = %v, want nil", fast.Err())
		}
		if n := h.SubscriberCount(posts.ID); n != 1 {
			t.Errorf("SubscriberCount = %d after the slow one was closed, want 1", n)
		}
		fast.Close()
		if _, ok := <-got; ok {
			t.Error("fast subscriber got an extra event")
		}
		if fast.Err() != nil {
			t.Errorf("fast Err after Close = %v, want nil", fast.Err())
		}
	})

	t.Run("a stalled subscriber does not slow a burst", func(t *testing.T) {
		h := subscriptions.New(subscriptions.Options{})
		defer h.Close()
		stalled := h.Subscribe(posts.ID)
		done := make(chan struct{})
		go func() {
			for i := range 10_000 {
				h.Publish(change(posts, i))
			}
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("10,000 publishes to a stalled subscriber did not finish within 5s")
		}
		h.Flush()
		if !errors.Is(stalled.Err(), subscriptions.ErrSlowConsumer) {
			t.Errorf("Err = %v, want ErrSlowConsumer", stalled.Err())
		}
		if n := drainClosed(t, stalled); n != 256 {
			t.Errorf("stalled subscriber kept %d events, want the default buffer of 256", n)
		}
	})
}

func TestEndCollection(t *testing.T) {
	h := subscriptions.New(subscriptions.Options{})
	defer h.Close()
	p1, p2 := h.Subscribe(posts.ID), h.Subscribe(posts.ID)
	c1 := h.Subscribe(comments.ID)

	h.Publish(change(posts, 1))
	h.EndCollection(posts.ID, subscriptions.ErrCollectionDeleted)

	t.Run("the collection's subscribers end with the error after their buffered events", func(t *testing.T) {
		for _, s := range []*subscriptions.Subscriber{p1, p2} {
			if n := drainClosed(t, s); n != 1 {
				t.Errorf("got %d buffered events, want 1", n)
			}
			if !errors.Is(s.Err(), subscriptions.ErrCollectionDeleted) {
				t.Errorf("Err = %v, want ErrCollectionDeleted", s.Err())
			}
		}
		if n := h.SubscriberCount(posts.ID); n != 0 {
			t.Errorf("SubscriberCount = %d, want 0", n)
		}
	})

	t.Run("other collections keep their subscribers", func(t *testing.T) {
		h.Publish(change(comments, 2))
		if ev := receive(t, c1); seq(ev) != 2 {
			t.Errorf("got event %d, want 2", seq(ev))
		}
		if c1.Err() != nil {
			t.Errorf("Err = %v, want nil", c1.Err())
		}
	})

	t.Run("ending again and closing an ended subscriber are no-ops", func(t *testing.T) {
		h.EndCollection(posts.ID, errors.New("another reason"))
		p1.Close()
		if !errors.Is(p1.Err(), subscriptions.ErrCollectionDeleted) {
			t.Errorf("Err = %v, want the first reason to stay", p1.Err())
		}
	})

	t.Run("a new subscriber of the same id starts afresh", func(t *testing.T) {
		p3 := h.Subscribe(posts.ID)
		h.Publish(change(posts, 3))
		if ev := receive(t, p3); seq(ev) != 3 {
			t.Errorf("got event %d, want 3", seq(ev))
		}
	})
}

func TestClose(t *testing.T) {
	t.Run("Subscriber.Close twice closes C once with a nil error", func(t *testing.T) {
		h := subscriptions.New(subscriptions.Options{})
		defer h.Close()
		s := h.Subscribe(posts.ID)
		s.Close()
		s.Close()
		if n := drainClosed(t, s); n != 0 {
			t.Errorf("got %d events, want 0", n)
		}
		if s.Err() != nil {
			t.Errorf("Err = %v, want nil", s.Err())
		}
		if n := h.SubscriberCount(posts.ID); n != 0 {
			t.Errorf("SubscriberCount = %d, want 0", n)
		}
		h.Publish(change(posts, 1)) // nobody left: must not panic
	})

	t.Run("Hub.Close twice ends every subscriber with a nil error", func(t *testing.T) {
		h := subscriptions.New(subscriptions.Options{})
		a, b := h.Subscribe(posts.ID), h.Subscribe(comments.ID)
		h.Close()
		h.Close()
		for _, s := range []*subscriptions.Subscriber{a, b} {
			drainClosed(t, s)
			if s.Err() != nil {
				t.Errorf("Err = %v, want nil", s.Err())
			}
			s.Close()
		}
		h.Publish(change(posts, 1))
		h.EndCollection(posts.ID, subscriptions.ErrCollectionDeleted)
	})

	t.Run("Subscribe after Hub.Close returns a closed subscriber", func(t *testing.T) {
		h := subscriptions.New(subscriptions.Options{})
		h.Close()
		s := h.Subscribe(posts.ID)
		if n := drainClosed(t, s); n != 0 {
			t.Errorf("got %d events, want 0", n)
		}
		if s.Err() != nil {
			t.Errorf("Err = %v, want nil", s.Err())
		}
		s.Close()
		if n := h.SubscriberCount(posts.ID); n != 0 {
			t.Errorf("SubscriberCount = %d, want 0", n)
		}
	})
}

// TestConcurrentChurn runs Publish, Subscribe, Close, EndCollection and
// finally Hub.Close at the same time; under -race it catches a send on a
// closed channel or unguarded state.
func TestConcurrentChurn(t *testing.T) {
	h := subscriptions.New(subscriptions.Options{Buffer: 4})
	colls := []*db.Collection{posts, comments}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var published, ended atomic.Int64
	for w := range 2 { // publishers
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				h.Publish(change(colls[(i+w)%2], i))
				published.Add(1)
			}
		})
	}
	for w := range 4 { // subscribers that read a few events, then leave
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 1))
			for {
				select {
				case <-stop:
					return
				default:
				}
				s := h.Subscribe(colls[r.IntN(2)].ID)
				for range r.IntN(8) {
					if _, ok := <-s.C; !ok {
						break
					}
				}
				if r.IntN(2) == 0 {
					s.Close()
				}
				for range s.C { // after Close, C is closed; else wait for slow/end
					if r.IntN(4) == 0 {
						s.Close()
					}
				}
				if err := s.Err(); err != nil && err != subscriptions.ErrSlowConsumer && err != subscriptions.ErrCollectionDeleted {
					t.Errorf("unexpected Err %v", err)
				}
			}
		})
	}
	wg.Go(func() { // deletes collections now and then
		for {
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
			}
			h.EndCollection(colls[ended.Add(1)%2].ID, subscriptions.ErrCollectionDeleted)
		}
	})
	time.Sleep(300 * time.Millisecond)
	h.Close() // while everything runs
	time.Sleep(20 * time.Millisecond)
	close(stop)
	wg.Wait()
	if published.Load() == 0 || ended.Load() == 0 {
		t.Fatalf("churn did not run: %d publishes, %d ends", published.Load(), ended.Load())
	}
	for _, c := range colls {
		if n := h.SubscriberCount(c.ID); n != 0 {
			t.Errorf("%s: %d subscribers left after Close", c.Name, n)
		}
	}
}

// TestCloseDuringFanOut closes and ends subscribers while a publish to
// thousands of them is in flight: their channels are closed when that
// publish ends, never sent to after, and every one ends up closed.
func TestCloseDuringFanOut(t *testing.T) {
	const n = 3000
	h := subscriptions.New(subscriptions.Options{Buffer: 1024})
	defer h.Close()
	subs := make([]*subscriptions.Subscriber, n)
	for i := range subs {
		subs[i] = h.Subscribe(posts.ID)
	}
	published := make(chan struct{})
	go func() {
		defer close(published)
		for i := range 300 {
			h.Publish(change(posts, i))
		}
	}()
	var wg sync.WaitGroup
	for w := range 3 {
		wg.Go(func() {
			for i := w; i < n/2; i += 3 {
				subs[i].Close()
			}
		})
	}
	wg.Wait()
	h.EndCollection(posts.ID, subscriptions.ErrCollectionDeleted)
	<-published
	h.Flush() // the fan-outs queued by then (slow under -race) are done
	for i, s := range subs {
		drainClosed(t, s)
		want := error(nil)
		if i >= n/2 {
			want = subscriptions.ErrCollectionDeleted
		}
		if err := s.Err(); err != want && !(i >= n/2 && errors.Is(err, subscriptions.ErrSlowConsumer)) {
			t.Fatalf("subscriber %d: Err = %v, want %v", i, err, want)
		}
	}
	if got := h.SubscriberCount(posts.ID); got != 0 {
		t.Errorf("SubscriberCount = %d, want 0", got)
	}
}

// TestSeq: events are numbered in publish order, and LastSeq tells a
// subscriber which events were published after it looked.
func TestSeq(t *testing.T) {
	h := subscriptions.New(subscriptions.Options{})
	defer h.Close()
	if got := h.LastSeq(); got != 0 {
		t.Fatalf("LastSeq before any event = %d, want 0", got)
	}
	s := h.Subscribe(posts.ID)
	h.Publish(change(posts, 1))
	h.Publish(change(comments, 2)) // nobody listens: not numbered
	h.Publish(change(posts, 3))
	mark := h.LastSeq()
	h.Publish(change(posts, 4))
	var got []uint64
	for range 3 {
		got = append(got, receive(t, s).Seq)
	}
	if fmt.Sprint(got) != "[1 2 3]" {
		t.Errorf("Seq of the posts events = %v, want [1 2 3] (the comments event, with no subscriber, is not numbered)", got)
	}
	if mark != 2 {
		t.Errorf("LastSeq after two numbered events = %d, want 2", mark)
	}
	if got[2] <= mark || got[1] > mark {
		t.Errorf("LastSeq %d does not split the events before and after it (%v)", mark, got)
	}
}

func TestTenThousandSubscribers(t *testing.T) {
	const n = 10_000
	h := subscriptions.New(subscriptions.Options{})
	defer h.Close()
	var delivered atomic.Int64
	var wg sync.WaitGroup
	subs := make([]*subscriptions.Subscriber, n)
	for i := range subs {
		subs[i] = h.Subscribe(posts.ID)
		s := subs[i]
		wg.Go(func() {
			for ev := range s.C {
				if seq(ev) == 42 {
					delivered.Add(1)
				}
			}
		})
	}
	if got := h.SubscriberCount(posts.ID); got != n {
		t.Fatalf("SubscriberCount = %d, want %d", got, n)
	}
	h.Publish(change(posts, 42))
	deadline := time.Now().Add(10 * time.Second)
	for delivered.Load() < n && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	for _, s := range subs {
		s.Close()
	}
	wg.Wait()
	if got := delivered.Load(); got != n {
		t.Errorf("delivered %d times, want %d", got, n)
	}
	if got := h.SubscriberCount(posts.ID); got != 0 {
		t.Errorf("SubscriberCount = %d after closing all, want 0", got)
	}
}

// TestIdleSubscriberMemory holds the per-subscriber cost near the channel
// buffer's own size (256 pointers = 2 KiB).
func TestIdleSubscriberMemory(t *testing.T) {
	perSub := idleSubscriberBytes(10_000)
	t.Logf("%.0f bytes per idle subscriber", perSub)
	if perSub > 3000 {
		t.Errorf("an idle subscriber costs %.0f bytes, want at most 3000", perSub)
	}
}

// idleSubscriberBytes returns the heap growth per subscriber over n
// Subscribe calls on one collection.
func idleSubscriberBytes(n int) float64 {
	h := subscriptions.New(subscriptions.Options{})
	defer h.Close()
	subs := make([]*subscriptions.Subscriber, n) // allocated before measuring
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range subs {
		subs[i] = h.Subscribe(posts.ID)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(subs)
	return float64(after.HeapAlloc-before.HeapAlloc) / float64(n)
}
