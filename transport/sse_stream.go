package transport

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql"
)

// sseStream is the write side of one SSE response: events wait, encoded
// back to back in buf, until the stream's writer (serve, on the request's
// goroutine) hands them to the connection. The subscription fan-out
// queues its events without waiting (queueMessage, through a Route), and
// fails once sseMaxQueued bytes wait; the operation's own results
// (writeResponse, writeEvent) wait for room, at most sseWriteTimeout.
type sseStream struct {
	w  http.ResponseWriter
	rc *http.ResponseController

	mu    sync.Mutex
	buf   []byte // queued events, oldest first
	spare []byte // the other buffer, reused by the next take
	err   error  // the stream stopped writing: why

	wake   chan struct{} // cap 1: something was queued
	space  chan struct{} // cap 1: the queue was emptied
	closed chan struct{} // closed when serve returns
}

func newSSEStream(w http.ResponseWriter, rc *http.ResponseController) *sseStream {
	return &sseStream{w: w, rc: rc, wake: make(chan struct{}, 1), space: make(chan struct{}, 1),
		closed: make(chan struct{})}
}

// start sends the response's head and a first comment, so that the client
// knows at once that the stream is open.
func (s *sseStream) start() error {
	hd := s.w.Header()
	hd.Set("Content-Type", "text/event-stream; charset=utf-8")
	hd.Set("Cache-Control", "no-cache")
	hd.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	s.w.WriteHeader(http.StatusOK)
	return s.write(sseComment)
}

// queueMessage implements routeQueue: it queues one next event whose data
// is head, body and tail (sseNextHead, a payload, sseTail), without
// waiting. It fails with errQueueFull when sseMaxQueued bytes wait, and
// with the stream's error once it stopped.
func (s *sseStream) queueMessage(head, body, tail []byte) error {
	s.mu.Lock()
	switch {
	case s.err != nil:
		s.mu.Unlock()
		return s.err
	case len(s.buf) >= sseMaxQueued:
		s.mu.Unlock()
		return errQueueFull
	}
	s.buf = appendSSEData(append(s.buf, head...), body)
	s.buf = append(s.buf, tail...)
	s.mu.Unlock()
	s.signal()
	return nil
}

// writeResponse queues resp as a next event (see writeEvent).
func (s *sseStream) writeResponse(resp *graphql.Response) error {
	return s.writeEvent(sseNextHead, appendResponseJSON(nil, resp))
}

// writeEvent queues head, then data as the event's data lines, then the
// end of the event (data nil: head is the whole event). It waits while
// sseMaxQueued bytes are unsent, and fails when the stream stopped or
// stayed full for sseWriteTimeout (the stream is then cut).
func (s *sseStream) writeEvent(head, data []byte) error {
	var timeout *time.Timer
	for {
		s.mu.Lock()
		if s.err != nil {
			s.mu.Unlock()
			return s.err
		}
		if len(s.buf) < sseMaxQueued {
			s.buf = append(s.buf, head...)
			if data != nil {
				s.buf = append(appendSSEData(s.buf, data), sseTail...)
			}
			s.mu.Unlock()
			if timeout != nil {
				timeout.Stop()
			}
			s.signal()
			return nil
		}
		s.mu.Unlock()
		if timeout == nil {
			timeout = time.NewTimer(sseWriteTimeout)
		}
		select {
		case <-s.space:
		case <-s.closed:
			return errSSEClosed
		case <-timeout.C:
			s.fail(errWSTooSlow)
			return errWSTooSlow
		}
	}
}

// appendSSEData appends data as the value of data lines: a line break in
// it (the JSON the transports write has none) continues on a new
// "data: " line, so the event stays one event.
func appendSSEData(dst, data []byte) []byte {
	for {
		i := bytes.IndexAny(data, "\r\n")
		if i < 0 {
			return append(dst, data...)
		}
		dst = append(dst, data[:i]...)
		dst = append(dst, "\ndata: "...)
		if data[i] == '\r' && i+1 < len(data) && data[i+1] == '\n' {
			i++
		}
		data = data[i+1:]
	}
}

// signal wakes serve.
func (s *sseStream) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// fail records the first reason the stream stops writing.
func (s *sseStream) fail(err error) {
	s.mu.Lock()
	if s.err == nil {
		s.err = err
	}
	s.mu.Unlock()
}

// serve writes what is queued until done closes (the operation ended; what
// it queued is written first), ctx ends (the client went away, or the
// server shuts down) or a write fails. While nothing else is sent it sends
// a comment every keepAlive.
func (s *sseStream) serve(ctx context.Context, done <-chan struct{}, keepAlive time.Duration) {
	defer close(s.closed)
	defer s.fail(errSSEClosed)
	tick := time.NewTicker(keepAlive)
	defer tick.Stop()
	for {
		finished := false
		select {
		case <-s.wake:
		case <-tick.C:
			s.mu.Lock()
			if len(s.buf) == 0 {
				s.buf = append(s.buf, sseComment...)
			}
			s.mu.Unlock()
		case <-done:
			finished = true
		case <-ctx.Done():
			return
		}
		if err := s.flush(); err != nil {
			slog.DebugContext(ctx, "sse: write failed", "err", err)
			s.fail(err)
			return
		}
		if finished {
			return
		}
	}
}

// flush writes the queue until it is empty.
func (s *sseStream) flush() error {
	for {
		s.mu.Lock()
		buf := s.buf
		s.buf, s.spare = s.spare[:0], nil
		s.mu.Unlock()
		if len(buf) == 0 {
			return nil
		}
		select {
		case s.space <- struct{}{}:
		default:
		}
		err := s.write(buf)
		if cap(buf) <= 64<<10 { // a burst's large buffer goes back
			s.mu.Lock()
			if s.spare == nil {
				s.spare = buf[:0]
			}
			s.mu.Unlock()
		}
		if err != nil {
			return err
		}
	}
}

// write writes b to the connection and flushes it, within
// sseWriteTimeout.
func (s *sseStream) write(b []byte) error {
	_ = s.rc.SetWriteDeadline(time.Now().Add(sseWriteTimeout))
	if _, err := s.w.Write(b); err != nil {
		return err
	}
	if err := s.rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return err
	}
	return nil
}
