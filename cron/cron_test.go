package cron

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/monobase/monobase/apperr"
)

// every is a schedule finer than Parse allows, so that tests run fast.
type every time.Duration

func (d every) Next(t time.Time) time.Time { return t.Add(time.Duration(d)) }

// bound is the generous limit of "eventually".
const bound = 10 * time.Second

// eventually fails t unless cond holds within bound.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(bound)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", bound, what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// syncBuffer is a log destination safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// newScheduler returns a started scheduler logging to the returned buffer,
// stopped at the end of the test.
func newScheduler(t *testing.T) (*Scheduler, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	s := New(slog.New(slog.NewTextHandler(logs, nil)))
	s.Start()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), bound)
		defer cancel()
		_ = s.Stop(ctx)
	})
	return s, logs
}

func status(t *testing.T, s *Scheduler, id string) Status {
	t.Helper()
	for _, st := range s.List() {
		if st.ID == id {
			return st
		}
	}
	t.Fatalf("job %q not listed", id)
	return Status{}
}

func TestScheduledRuns(t *testing.T) {
	s, logs := newScheduler(t)
	var runs atomic.Int64
	if err := s.add(Job{ID: "tick", Expression: "fast", Run: func(context.Context) error {
		runs.Add(1)
		return nil
	}}, every(time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	eventually(t, "three runs", func() bool { return runs.Load() >= 3 })
	eventually(t, "the run is logged with its duration", func() bool {
		out := logs.String()
		return strings.Contains(out, `msg="cron job done" job=tick trigger=schedule duration=`)
	})
	st := status(t, s, "tick")
	if st.LastRun.IsZero() || st.Next.IsZero() || st.LastError != "" {
		t.Errorf("status = %+v, want a last run, a next run and no error", st)
	}
}

func TestNoOverlap(t *testing.T) {
	s, logs := newScheduler(t)
	var inside, most, runs atomic.Int64
	release := make(chan struct{})
	if err := s.add(Job{ID: "slow", Expression: "fast", Run: func(context.Context) error {
		n := inside.Add(1)
		defer inside.Add(-1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		if runs.Add(1) == 1 {
			<-release // the first run outlasts many ticks
		}
		return nil
	}}, every(time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a tick skipped while the first run goes on", func() bool {
		return strings.Contains(logs.String(), "cron job skipped: the previous run is still going on")
	})
	t.Run("a manual run is refused with CONFLICT", func(t *testing.T) {
		err := s.Run(context.Background(), "slow")
		if e := apperr.As(err); e == nil || e.Code != apperr.Conflict {
			t.Fatalf("Run while running = %v, want CONFLICT", err)
		}
		if !status(t, s, "slow").Running {
			t.Error("status.Running = false while the job runs")
		}
	})
	close(release)
	eventually(t, "later runs", func() bool { return runs.Load() >= 5 })
	if m := most.Load(); m != 1 {
		t.Errorf("%d runs at once, want 1", m)
	}
}

func TestPanicsAreRecovered(t *testing.T) {
	s, logs := newScheduler(t)
	var runs atomic.Int64
	if err := s.add(Job{ID: "boom", Expression: "fast", Run: func(context.Context) error {
		runs.Add(1)
		panic("kaboom")
	}}, every(time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	eventually(t, "runs after the first panic", func() bool { return runs.Load() >= 3 })
	if st := status(t, s, "boom"); !strings.Contains(st.LastError, "kaboom") {
		t.Errorf("LastError = %q, want the panic", st.LastError)
	}
	if out := logs.String(); !strings.Contains(out, "cron job panicked") || !strings.Contains(out, "stack=") {
		t.Errorf("the panic and its stack are not logged:\n%s", out)
	}
	t.Run("a manual run returns the panic as its error", func(t *testing.T) {
		s2, _ := newScheduler(t)
		if err := s2.Add(Job{ID: "boom", Expression: "@yearly", Run: func(context.Context) error { panic("manual kaboom") }}); err != nil {
			t.Fatal(err)
		}
		if err := s2.Run(context.Background(), "boom"); err == nil || !strings.Contains(err.Error(), "manual kaboom") {
			t.Fatalf("Run = %v, want the panic", err)
		}
		if st := status(t, s2, "boom"); st.Running {
			t.Error("still running after the panic")
		}
	})
}

func TestRun(t *testing.T) {
	s, logs := newScheduler(t)
	var runs atomic.Int64
	failing := errors.New("disk full")
	if err := s.Add(Job{ID: "yearly", Expression: "@yearly", Run: func(ctx context.Context) error {
		if runs.Add(1) == 2 {
			return failing
		}
		return nil
	}}); err != nil {
		t.Fatal(err)
	}
	t.Run("runs the job now", func(t *testing.T) {
		if err := s.Run(context.Background(), "yearly"); err != nil {
			t.Fatal(err)
		}
		if runs.Load() != 1 {
			t.Errorf("runs = %d, want 1", runs.Load())
		}
		if !strings.Contains(logs.String(), "job=yearly trigger=manual") {
			t.Errorf("the manual run is not logged:\n%s", logs.String())
		}
	})
	t.Run("returns and records the job's error", func(t *testing.T) {
		if err := s.Run(context.Background(), "yearly"); !errors.Is(err, failing) {
			t.Fatalf("Run = %v, want %v", err, failing)
		}
		if st := status(t, s, "yearly"); st.LastError != "disk full" {
			t.Errorf("LastError = %q", st.LastError)
		}
	})
	t.Run("a skipped run is no failure", func(t *testing.T) {
		if err := s.Add(Job{ID: "skips", Expression: "@yearly", Run: func(context.Context) error {
			return fmt.Errorf("a restore runs: %w", ErrSkipped)
		}}); err != nil {
			t.Fatal(err)
		}
		if err := s.Run(context.Background(), "skips"); !errors.Is(err, ErrSkipped) {
			t.Fatalf("Run = %v, want ErrSkipped", err)
		}
		if st := status(t, s, "skips"); st.LastError != "" || st.LastRun.IsZero() {
			t.Errorf("status = %+v, want a run without error", st)
		}
		if !strings.Contains(logs.String(), `msg="cron job skipped" job=skips`) {
			t.Errorf("the skip is not logged:\n%s", logs.String())
		}
	})
	t.Run("unknown id is NOT_FOUND", func(t *testing.T) {
		err := s.Run(context.Background(), "nope")
		if e := apperr.As(err); e == nil || e.Code != apperr.NotFound {
			t.Fatalf("Run = %v, want NOT_FOUND", err)
		}
	})
	t.Run("the caller's context bounds the run", func(t *testing.T) {
		if err := s.Add(Job{ID: "waits", Expression: "@yearly", Run: func(ctx context.Context) error {
			<-ctx.Done()
			return ctx.Err()
		}}); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		if err := s.Run(ctx, "waits"); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Run = %v, want the deadline", err)
		}
	})
}

func TestAddAndRemove(t *testing.T) {
	s, _ := newScheduler(t)
	noop := func(context.Context) error { return nil }
	if err := s.Add(Job{ID: "b", Expression: "@daily", Run: noop}); err != nil {
		t.Fatal(err)
	}
	if err := s.Add(Job{ID: "a", Expression: "0 3 * * *", Run: noop}); err != nil {
		t.Fatal(err)
	}
	if err := s.Add(Job{ID: "a", Expression: " 0 4 * * * ", Run: noop}); err != nil {
		t.Fatal(err)
	}
	list := s.List()
	if len(list) != 2 || list[0].ID != "a" || list[0].Expression != "0 4 * * *" || list[1].ID != "b" {
		t.Fatalf("List = %+v, want a (changed to 0 4 * * *) then b", list)
	}
	eventually(t, "the next run of a at 04:00 UTC", func() bool {
		n := status(t, s, "a").Next
		return !n.IsZero() && n.Hour() == 4 && n.Minute() == 0
	})
	if err := s.Add(Job{ID: "c", Expression: "every now and then", Run: noop}); err == nil {
		t.Error("Add accepted an invalid expression")
	}
	if err := s.Add(Job{ID: "", Expression: "@daily", Run: noop}); err == nil {
		t.Error("Add accepted an empty id")
	}
	s.Remove("b")
	s.Remove("unknown")
	if list := s.List(); len(list) != 1 || list[0].ID != "a" {
		t.Fatalf("List after Remove = %+v", list)
	}
	if e := apperr.As(s.Run(context.Background(), "b")); e == nil || e.Code != apperr.NotFound {
		t.Errorf("Run of a removed job: %v, want NOT_FOUND", e)
	}

	t.Run("a job removed while it runs and added again does not overlap", func(t *testing.T) {
		release := make(chan struct{})
		started := make(chan struct{})
		if err := s.Add(Job{ID: "r", Expression: "@yearly", Run: func(context.Context) error {
			close(started)
			<-release
			return nil
		}}); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- s.Run(context.Background(), "r") }()
		<-started
		s.Remove("r")
		if err := s.Add(Job{ID: "r", Expression: "@yearly", Run: noop}); err != nil {
			t.Fatal(err)
		}
		if e := apperr.As(s.Run(context.Background(), "r")); e == nil || e.Code != apperr.Conflict {
			t.Errorf("Run while the removed run goes on: %v, want CONFLICT", e)
		}
		close(release)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if err := s.Run(context.Background(), "r"); err != nil {
			t.Errorf("Run after the old run ended: %v", err)
		}
	})
}

func TestStop(t *testing.T) {
	t.Run("waits for a running job", func(t *testing.T) {
		s := New(slog.New(slog.DiscardHandler))
		s.Start()
		started := make(chan struct{})
		var finished atomic.Bool
		var ctxErr atomic.Value
		if err := s.add(Job{ID: "slow", Expression: "fast", Run: func(ctx context.Context) error {
			close(started)
			time.Sleep(50 * time.Millisecond)
			if ctx.Err() != nil {
				ctxErr.Store(ctx.Err())
			}
			finished.Store(true)
			return nil
		}}, every(time.Hour)); err != nil {
			t.Fatal(err)
		}
		go func() { _ = s.Run(context.Background(), "slow") }()
		<-started
		ctx, cancel := context.WithTimeout(context.Background(), bound)
		defer cancel()
		if err := s.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		if !finished.Load() {
			t.Fatal("Stop returned before the running job ended")
		}
		if v := ctxErr.Load(); v != nil {
			t.Errorf("the job's context was cancelled (%v) although it ended within the timeout", v)
		}
		if err := s.Run(context.Background(), "slow"); !errors.Is(err, ErrStopped) {
			t.Errorf("Run after Stop = %v, want ErrStopped", err)
		}
	})
	t.Run("stops scheduling", func(t *testing.T) {
		s := New(slog.New(slog.DiscardHandler))
		s.Start()
		var runs atomic.Int64
		if err := s.add(Job{ID: "tick", Expression: "fast", Run: func(context.Context) error {
			runs.Add(1)
			return nil
		}}, every(time.Millisecond)); err != nil {
			t.Fatal(err)
		}
		eventually(t, "a run", func() bool { return runs.Load() > 0 })
		if err := s.Stop(context.Background()); err != nil {
			t.Fatal(err)
		}
		n := runs.Load()
		time.Sleep(20 * time.Millisecond)
		if runs.Load() != n {
			t.Errorf("%d runs after Stop returned", runs.Load()-n)
		}
	})
	t.Run("past its bound it cancels the jobs' context", func(t *testing.T) {
		s := New(slog.New(slog.DiscardHandler))
		s.Start()
		started := make(chan struct{})
		if err := s.Add(Job{ID: "stuck", Expression: "@yearly", Run: func(ctx context.Context) error {
			close(started)
			<-ctx.Done()
			return ctx.Err()
		}}); err != nil {
			t.Fatal(err)
		}
		runErr := make(chan error, 1)
		go func() { runErr <- s.Run(context.Background(), "stuck") }()
		<-started
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		if err := s.Stop(ctx); err != nil {
			t.Fatalf("Stop = %v, want nil: the job returned once cancelled", err)
		}
		if err := <-runErr; !errors.Is(err, context.Canceled) {
			t.Errorf("the job's context: %v, want cancelled", err)
		}
	})
	t.Run("names the jobs that ignore the cancellation", func(t *testing.T) {
		s := New(slog.New(slog.DiscardHandler))
		release := make(chan struct{})
		defer close(release)
		started := make(chan struct{})
		if err := s.Add(Job{ID: "deaf", Expression: "@yearly", Run: func(context.Context) error {
			close(started)
			<-release
			return nil
		}}); err != nil {
			t.Fatal(err)
		}
		go func() { _ = s.Run(context.Background(), "deaf") }()
		<-started
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := s.Stop(ctx); err == nil || !strings.Contains(err.Error(), "deaf") {
			t.Fatalf("Stop = %v, want an error naming the job", err)
		}
	})
}
