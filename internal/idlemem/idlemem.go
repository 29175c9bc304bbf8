// Package idlemem gives the memory of a finished burst of work back to the
// operating system.
//
// Go collects garbage when the heap reaches its goal (GOGC: twice, or
// with the server's default of 200 three times, the live heap), and a
// server that goes quiet after a burst allocates nothing more: its garbage
// stays resident until the runtime's forced collection two minutes later,
// and the freed pages go back to the OS slowly after that. So an idle
// server's RSS shows its last burst, not what it holds.
//
// A Watcher samples the bytes allocated so far every interval. When a burst
// of at least Burst bytes was allocated since the last release and the
// last interval allocated less than Quiet or a sixteenth of the live heap
// (10,000 idle WebSockets allocate a little for their keep-alives), the
// work is over: it collects and returns the free memory at once
// (debug.FreeOSMemory, a few milliseconds for a small heap). A busy server
// never pays for it, and an idle one pays once per burst.
package idlemem

import (
	"context"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// Defaults of a Watcher.
const (
	DefaultInterval = 5 * time.Second
	DefaultBurst    = 64 << 20 // allocated since the last release
	DefaultQuiet    = 1 << 20  // allocated in the last interval
)

// Watcher decides when to release memory; the zero value takes the
// defaults.
type Watcher struct {
	Interval     time.Duration
	Burst, Quiet uint64
	// Release is called to give memory back (debug.FreeOSMemory when nil).
	Release func()

	last, released uint64 // the allocation counter at the last step and release
}

// heap returns the bytes allocated on the heap since the start, and the
// live heap at the last collection.
func heap() (allocated, live uint64) {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}, {Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64(), s[1].Value.Uint64()
}

// Run steps the watcher every interval until ctx is done.
func (w *Watcher) Run(ctx context.Context) {
	every := w.Interval
	if every <= 0 {
		every = DefaultInterval
	}
	t := time.NewTicker(every)
	defer t.Stop()
	w.last, _ = heap()
	w.released = w.last
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			w.Step(heap())
		}
	}
}

// Step takes the allocation counter now and the live heap, and releases
// memory when a burst has just ended; it reports whether it did.
func (w *Watcher) Step(now, live uint64) bool {
	burst, quiet := w.Burst, w.Quiet
	if burst == 0 {
		burst = DefaultBurst
	}
	if quiet == 0 {
		quiet = DefaultQuiet
	}
	quiet = max(quiet, live/16)
	recent := now - w.last
	w.last = now
	if recent >= quiet || now-w.released < burst {
		return false
	}
	release := w.Release
	if release == nil {
		release = debug.FreeOSMemory
	}
	release()
	w.released = now
	return true
}
