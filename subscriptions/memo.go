package subscriptions

import (
	"fmt"
	"sync"
)

// memo holds the values computed for one event, by key. It lives inside the
// Event, so it is garbage collected with the event once every subscriber has
// consumed it: nothing outlives the event.
type memo struct {
	m sync.Map // string -> *memoEntry
}

// memoEntry is one key's computation: the first caller runs it, concurrent
// callers for the same key wait for it through once.
type memoEntry struct {
	once   sync.Once
	val    any
	failed bool // compute panicked (or called runtime.Goexit)
}

// get returns the value of key, computing it with compute the first time.
// If compute panics, the panic propagates unchanged in the caller that ran
// it, and every other caller for that key panics too, so that no caller
// silently reads a zero value.
func (m *memo) get(key string, compute func() any) any {
	v, ok := m.m.Load(key)
	if !ok {
		v, _ = m.m.LoadOrStore(key, new(memoEntry))
	}
	e := v.(*memoEntry)
	e.once.Do(func() {
		done := false
		defer func() {
			if !done {
				e.failed = true // the panic continues with its own stack
			}
		}()
		e.val = compute()
		done = true
	})
	if e.failed {
		panic(fmt.Sprintf("subscriptions: memo %q: the computation panicked", key))
	}
	return e.val
}
