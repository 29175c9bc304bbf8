package transport

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// wsFlusher writes the queues of a Handler's sockets when their flush is
// due: one timer per delay (wsFlushDelay, wsBusyFlushDelay) for all the
// sockets due then, and at most GOMAXPROCS goroutines writing, each
// socket's frames in one write that does not wait (batchConn.tryWrite).
// A socket whose buffer is full, or that cannot be written without
// waiting (TLS), finishes its flush on a goroutine of its own.
//
// A timer and a goroutine per socket, as before, cost a goroutine start
// per socket and event on a fan-out, and left the runtime one goroutine
// record per socket for good (it keeps every goroutine it ever made, for
// reuse).
type wsFlusher struct {
	mu     sync.Mutex
	queues [2]flushQueue // wsFlushDelay, wsBusyFlushDelay
}

// flushQueue is the sockets due after one delay.
type flushQueue struct {
	delay time.Duration
	conns []*gorillaConn
	spare []*gorillaConn
	armed bool // a timer will take conns
}

func newWSFlusher() *wsFlusher {
	f := &wsFlusher{}
	f.queues[0].delay = wsFlushDelay
	f.queues[1].delay = wsBusyFlushDelay
	return f
}

// add makes g's flush due after the short delay, or the busy one.
func (f *wsFlusher) add(g *gorillaConn, busy bool) {
	i := 0
	if busy {
		i = 1
	}
	f.mu.Lock()
	q := &f.queues[i]
	q.conns = append(q.conns, g)
	if !q.armed {
		q.armed = true
		time.AfterFunc(q.delay, func() { f.fire(i) })
	}
	f.mu.Unlock()
}

// fire flushes the sockets of queue i.
func (f *wsFlusher) fire(i int) {
	f.mu.Lock()
	q := &f.queues[i]
	conns := q.conns
	q.conns, q.spare = q.spare[:0], nil
	q.armed = false
	f.mu.Unlock()

	var next atomic.Int64
	work := func() {
		for {
			n := int(next.Add(1)) - 1
			if n >= len(conns) {
				return
			}
			conns[n].flushNow()
		}
	}
	var wg sync.WaitGroup
	// One writer per 64 sockets, at most one per processor.
	for range min(runtime.GOMAXPROCS(0), (len(conns)+63)/64) - 1 {
		wg.Go(work)
	}
	work()
	wg.Wait()
	clear(conns)
	f.mu.Lock()
	if q.spare == nil && cap(conns) <= 1<<16 {
		q.spare = conns[:0]
	}
	f.mu.Unlock()
}

// flushNow writes g's queue without waiting for the socket: what the
// socket does not take now is written by finishFlush on a goroutine of
// its own.
func (g *gorillaConn) flushNow() {
	if !g.wmu.TryLock() {
		// WriteClose holds it, or the last flush is releasing it: wait for
		// it on a goroutine of its own.
		go g.flush()
		return
	}
	for {
		buf, ok := g.nextBatch()
		if !ok {
			g.wmu.Unlock()
			return
		}
		n, err := g.bc.tryWrite(buf)
		if err != nil {
			g.recycle(buf)
			g.endFlush(err)
			return
		}
		if n < len(buf) {
			go g.finishFlush(buf, n) // wmu goes with it
			return
		}
		g.recycle(buf)
	}
}

// finishFlush writes buf from byte n, waiting for the socket (at most
// wsWriteTimeout), then the rest of the queue. wmu is held, and released
// at the end.
func (g *gorillaConn) finishFlush(buf []byte, n int) {
	err := g.bc.writeFrames(buf[n:])
	g.recycle(buf)
	if err != nil {
		g.endFlush(err)
		return
	}
	g.drain()
}

// endFlush ends a flush that failed with err. wmu is held, and released.
func (g *gorillaConn) endFlush(err error) {
	g.fail(err)
	g.mu.Lock()
	g.flushing = false
	g.mu.Unlock()
	g.wmu.Unlock()
}
