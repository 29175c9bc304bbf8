package files

import (
	"context"
	"log/slog"
	"sync"
)

// deleteHold queues the removals asked for while a hold is on.
type deleteHold struct {
	mu     sync.Mutex
	holds  int
	queued []func() error
}

// HoldDeletes makes Delete, DeleteRecord and DeleteCollection wait: while
// a hold is on they are queued (and report success), and the release of the
// last hold runs them in order (their errors are logged). A backup holds
// deletes from its database snapshot to the end of its copy of the storage,
// so that every file a record of the snapshot names is still there to copy.
// Release is safe to call more than once.
func (s *Store) HoldDeletes() (release func()) {
	h := &s.held
	h.mu.Lock()
	h.holds++
	h.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			h.mu.Lock()
			h.holds--
			var run []func() error
			if h.holds == 0 {
				run, h.queued = h.queued, nil
			}
			h.mu.Unlock()
			for _, f := range run {
				if err := f(); err != nil {
					slog.Warn("files: a removal held during a backup failed", "err", err)
				}
			}
		})
	}
}

// deferDelete queues f and reports true while a hold is on; else it
// reports false and the caller removes at once.
func (s *Store) deferDelete(f func() error) bool {
	h := &s.held
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.holds == 0 {
		return false
	}
	h.queued = append(h.queued, f)
	return true
}

// detach keeps ctx's values for a queued removal but not its end: the
// request that asked for it is over by the time it runs.
func detach(ctx context.Context) context.Context { return context.WithoutCancel(ctx) }
