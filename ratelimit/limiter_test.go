package ratelimit

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

// clock is a manual clock for the limiters under test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestLimiter(t *testing.T) {
	// step: advance the clock, charge n times, then check (want: nil skips
	// the check, ok wants it allowed, a duration wants that wait).
	type step struct {
		advance time.Duration
		charges int
		want    any
	}
	const ok = "ok"
	five := Limit{Burst: 5, Per: time.Minute} // one every 12 s
	tests := []struct {
		name  string
		limit Limit
		steps []step
	}{
		{"a fresh key is allowed", five, []step{{want: ok}}},
		{"burst-1 charges still allowed", five, []step{{charges: 4, want: ok}}},
		{"burst charges refuse the next, for one interval", five, []step{{charges: 5, want: 12 * time.Second}}},
		{"the wait shrinks with time", five, []step{{charges: 5}, {advance: 5 * time.Second, want: 7 * time.Second}}},
		{"one interval later one more is allowed", five, []step{{charges: 5}, {advance: 12 * time.Second, want: ok}, {charges: 1, want: 12 * time.Second}}},
		{"a full period restores the whole burst", five, []step{{charges: 5}, {advance: time.Minute, charges: 4, want: ok}}},
		{"charges beyond the burst go into debt", five, []step{{charges: 7, want: 36 * time.Second}}},
		{"debt is capped at one more period", five, []step{{charges: 1000, want: time.Minute + 12*time.Second}}},
		{"the long-run rate holds", Limit{Burst: 2, Per: 10 * time.Second}, []step{
			{charges: 2, want: 5 * time.Second},
			{advance: 5 * time.Second, charges: 1, want: 5 * time.Second},
			{advance: 5 * time.Second, charges: 1, want: 5 * time.Second},
		}},
		{"burst 1", Limit{Burst: 1, Per: time.Second}, []step{{charges: 1, want: time.Second}, {advance: time.Second, want: ok}}},
		{"an invalid limit allows everything", Limit{}, []step{{charges: 100, want: ok}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClock()
			l := New(tt.limit, 10, c.now)
			for i, s := range tt.steps {
				c.advance(s.advance)
				for range s.charges {
					l.Charge("k")
				}
				if s.want == nil {
					continue
				}
				wait, allowed := l.Check("k")
				switch want := s.want.(type) {
				case string:
					if !allowed {
						t.Fatalf("step %d: refused for %v, want allowed", i, wait)
					}
				case time.Duration:
					if allowed || wait != want {
						t.Fatalf("step %d: Check = (%v, allowed %v), want a wait of %v", i, wait, allowed, want)
					}
				}
			}
		})
	}
}

func TestLimiterKeysAreSeparate(t *testing.T) {
	c := newClock()
	l := New(Limit{Burst: 1, Per: time.Minute}, 10, c.now)
	l.Charge("a")
	if _, ok := l.Check("a"); ok {
		t.Fatal("a: allowed after its burst")
	}
	if _, ok := l.Check("b"); !ok {
		t.Fatal("b: refused though only a was charged")
	}
}

func TestLimiterCheckCountsNothing(t *testing.T) {
	l := New(Limit{Burst: 1, Per: time.Minute}, 10, newClock().now)
	for range 100 {
		if _, ok := l.Check("k"); !ok {
			t.Fatal("Check alone used up the budget")
		}
	}
	if n := l.Len(); n != 0 {
		t.Fatalf("Check tracked %d keys, want 0", n)
	}
}

func TestLimiterEvictsLeastRecentlyCharged(t *testing.T) {
	l := New(Limit{Burst: 1, Per: time.Hour}, 3, newClock().now)
	for _, k := range []string{"a", "b", "c"} {
		l.Charge(k)
	}
	l.Charge("a") // a is now the most recent; b the least
	l.Charge("d") // evicts b
	if n := l.Len(); n != 3 {
		t.Fatalf("Len = %d, want the cap 3", n)
	}
	if _, ok := l.Check("b"); !ok {
		t.Error("b is still limited: it should have been evicted")
	}
	for _, k := range []string{"a", "c", "d"} {
		if _, ok := l.Check(k); ok {
			t.Errorf("%s was forgotten: only b should have been evicted", k)
		}
	}
	for i := range 1000 {
		l.Charge(fmt.Sprint("k", i))
	}
	if n := l.Len(); n != 3 {
		t.Fatalf("after 1000 keys Len = %d, want the cap 3", n)
	}
}

func TestLimiterConcurrent(t *testing.T) {
	c := newClock()
	l := New(Limit{Burst: 10, Per: time.Minute}, 100, c.now)
	hammer := func(keys int) {
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Go(func() {
				for i := range 500 {
					k := fmt.Sprint("k", (g*500+i)%keys)
					l.Check(k)
					l.Charge(k)
				}
			})
		}
		wg.Wait()
	}
	// 50 keys, under the cap: each is charged 80 times, none is evicted,
	// and every one is refused.
	hammer(50)
	for i := range 50 {
		if _, ok := l.Check(fmt.Sprint("k", i)); ok {
			t.Fatalf("k%d allowed after 80 charges", i)
		}
	}
	// 150 keys, over the cap: the limiter keeps at most 100.
	hammer(150)
	if n := l.Len(); n != 100 {
		t.Fatalf("Len = %d, want the cap 100", n)
	}
}

// TestLimiterAllowN: n events are counted all together or not at all.
func TestLimiterAllowN(t *testing.T) {
	c := newClock()
	l := New(Limit{Burst: 10, Per: 10 * time.Second}, 10, c.now)
	if _, ok := l.AllowN("k", 7); !ok {
		t.Fatal("7 of 10: refused")
	}
	if wait, ok := l.AllowN("k", 4); ok || wait != time.Second {
		t.Fatalf("4 more of the 3 left: ok %v, wait %v; want refused, 1 s", ok, wait)
	}
	if _, ok := l.AllowN("k", 3); !ok {
		t.Fatal("the 3 left: refused (the refused 4 were counted)")
	}
	if _, ok := l.Allow("k"); ok {
		t.Fatal("an 11th: allowed")
	}
	if _, ok := l.AllowN("other", 11); ok {
		t.Fatal("more than the burst at once: allowed")
	}
	c.advance(2 * time.Second)
	if _, ok := l.AllowN("k", 2); !ok {
		t.Fatal("2 after 2 s: refused")
	}
}
