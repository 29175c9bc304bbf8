// Package cron runs the server's scheduled jobs (backups, cleanups) on
// cron expressions parsed by github.com/robfig/cron/v3 (Parse). A job never
// runs twice at once: a run that comes due while the previous one is still
// going is skipped and logged, and a manual run (Run, the admin API's
// runCron) is refused with CONFLICT. A job's panic is recovered and logged
// as its error. Every run is logged through log/slog with its duration and
// error. Stop stops scheduling and waits for the running jobs.
//
// The scheduler has its own loop rather than robfig/cron's runner: manual
// runs share the no-overlap guard with scheduled ones, jobs can be added,
// changed and removed while it runs (a changed backups.cron), and Stop
// waits with a bound and then cancels.
package cron

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/monobase/monobase/apperr"
)

// Func is a job's work. ctx ends when the server stops and the shutdown
// timeout has passed, or, for a manual run, when the request ends.
type Func func(ctx context.Context) error

// ErrSkipped, wrapped in a job's error, marks a run that chose not to do
// its work (for instance a backup while a restore runs): it is logged as
// skipped, not as a failure.
var ErrSkipped = errors.New("skipped")

// ErrStopped is returned by Run once Stop was called.
var ErrStopped = errors.New("cron: the scheduler is stopped")

// stopGrace is how long Stop waits for jobs to return after cancelling
// their context.
const stopGrace = time.Second

// maxSleep bounds the loop's sleep, so that a jump of the wall clock (a
// suspended machine) is noticed within it.
const maxSleep = time.Minute

// Job is a job to schedule.
type Job struct {
	ID         string
	Expression string // see Parse
	Run        Func
}

// Status is a job and its last run.
type Status struct {
	ID         string
	Expression string
	Running    bool
	// LastRun is when the last finished run started (zero: none yet);
	// LastDuration how long it took; LastError its error ("" when it
	// succeeded or was skipped).
	LastRun      time.Time
	LastDuration time.Duration
	LastError    string
	// Next is when the job is due next (zero: not scheduled, or the
	// scheduler is stopped).
	Next time.Time
}

// entry is a scheduled job and its state, guarded by Scheduler.mu.
type entry struct {
	id      string // job.ID, never changed (read without the lock)
	job     Job
	sched   Schedule
	next    time.Time // zero: to be computed by the loop
	running bool
	removed bool // Remove came while it ran: dropped when the run ends
	last    Status
}

// Scheduler runs jobs on their schedules. Its zero value is not usable;
// call New.
type Scheduler struct {
	log *slog.Logger

	mu      sync.Mutex
	jobs    map[string]*entry
	started bool
	stopped bool

	wake chan struct{} // a job was added or changed
	quit chan struct{} // closed by Stop
	done chan struct{} // closed when the loop ends

	ctx    context.Context // the jobs' context, cancelled by Stop
	cancel context.CancelFunc
	wg     sync.WaitGroup // running jobs
}

// New returns a scheduler that logs to log (nil: slog.Default()). Add
// jobs, then Start it.
func New(log *slog.Logger) *Scheduler {
	if log == nil {
		log = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Scheduler{
		log: log, jobs: map[string]*entry{},
		wake: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{}),
		ctx: ctx, cancel: cancel,
	}
}

// Add schedules j, or changes the expression and work of the job with its
// id (a run in progress goes on). It fails for an empty id, a nil Run or
// an expression Parse refuses.
func (s *Scheduler) Add(j Job) error {
	sched, err := Parse(j.Expression)
	if err != nil {
		return fmt.Errorf("cron: job %q: %w", j.ID, err)
	}
	j.Expression = strings.TrimSpace(j.Expression)
	return s.add(j, sched)
}

// add schedules j on sched (tests pass schedules finer than a second).
func (s *Scheduler) add(j Job, sched Schedule) error {
	if j.ID == "" || j.Run == nil {
		return errors.New("cron: a job needs an id and a Run function")
	}
	s.mu.Lock()
	if e := s.jobs[j.ID]; e != nil {
		e.job, e.sched, e.next, e.removed = j, sched, time.Time{}, false
	} else {
		s.jobs[j.ID] = &entry{id: j.ID, job: j, sched: sched}
	}
	s.mu.Unlock()
	s.poke()
	return nil
}

// Remove unschedules the job id (a run in progress goes on, and a job
// added again under the id does not start before it ends). An unknown id
// is no error.
func (s *Scheduler) Remove(id string) {
	s.mu.Lock()
	if e := s.jobs[id]; e != nil && e.running {
		e.removed = true
	} else {
		delete(s.jobs, id)
	}
	s.mu.Unlock()
	s.poke()
}

// poke wakes the loop to look at the jobs again.
func (s *Scheduler) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// List returns the jobs by id.
func (s *Scheduler) List() []Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Status, 0, len(s.jobs))
	for _, e := range s.jobs {
		if e.removed {
			continue
		}
		st := e.last
		st.ID, st.Expression, st.Running = e.job.ID, e.job.Expression, e.running
		if !s.stopped {
			st.Next = e.next
		}
		out = append(out, st)
	}
	slices.SortFunc(out, func(a, b Status) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// Start starts scheduling. It does nothing after Stop or a first Start.
func (s *Scheduler) Start() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started || s.stopped {
		return
	}
	s.started = true
	go s.loop()
}

// Run runs the job id now and returns its error (a skipped run's error
// wraps ErrSkipped). ctx bounds the run; it also ends when Stop gives up
// waiting. Errors: NOT_FOUND for an unknown id, CONFLICT while the job
// runs, ErrStopped after Stop.
func (s *Scheduler) Run(ctx context.Context, id string) error {
	s.mu.Lock()
	e := s.jobs[id]
	switch {
	case e == nil || e.removed:
		s.mu.Unlock()
		return apperr.New(apperr.NotFound, "no cron job %q", id)
	case s.stopped:
		s.mu.Unlock()
		return ErrStopped
	case e.running:
		s.mu.Unlock()
		return apperr.New(apperr.Conflict, "cron job %q is running; try again when it ends", id)
	}
	fn := s.claim(e)
	s.mu.Unlock()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(s.ctx, cancel)()
	return s.execute(ctx, e, fn, "manual")
}

// claim marks e running and counts the run; s.mu is held.
func (s *Scheduler) claim(e *entry) Func {
	e.running = true
	s.wg.Add(1)
	return e.job.Run
}

// Stop stops scheduling and waits until the running jobs return or ctx
// ends; then it cancels their context and waits up to a second more. It
// returns an error naming the jobs still running after that. Later calls
// only wait again.
func (s *Scheduler) Stop(ctx context.Context) error {
	s.mu.Lock()
	if !s.stopped {
		s.stopped = true
		close(s.quit)
	}
	started := s.started
	s.mu.Unlock()
	if started {
		<-s.done
	}
	finished := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(finished)
	}()
	select {
	case <-finished:
		s.cancel()
		return nil
	case <-ctx.Done():
	}
	s.cancel()
	t := time.NewTimer(stopGrace)
	defer t.Stop()
	select {
	case <-finished:
		return nil
	case <-t.C:
	}
	var ids []string
	for _, st := range s.List() {
		if st.Running {
			ids = append(ids, st.ID)
		}
	}
	return fmt.Errorf("cron: stop: jobs still running after their context was cancelled: %s", strings.Join(ids, ", "))
}

// loop starts the jobs that are due and sleeps until the next one is, or
// until a job is added or changed, or Stop.
func (s *Scheduler) loop() {
	defer close(s.done)
	timer := time.NewTimer(maxSleep)
	defer timer.Stop()
	for {
		timer.Reset(s.tick(time.Now()))
		select {
		case <-s.quit:
			return
		case <-s.wake:
		case <-timer.C:
		}
	}
}

// tick starts the jobs due at now and returns how long to sleep.
func (s *Scheduler) tick(now time.Time) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return maxSleep
	}
	sleep := maxSleep
	for _, e := range s.jobs {
		if e.removed {
			continue
		}
		if e.next.IsZero() {
			e.next = e.sched.Next(now.UTC())
		} else if !e.next.After(now) {
			s.startLocked(e)
			e.next = e.sched.Next(now.UTC())
		}
		if !e.next.IsZero() {
			sleep = min(sleep, max(e.next.Sub(now), 0))
		}
	}
	return sleep
}

// startLocked runs e in the background, unless its previous run still
// goes on; s.mu is held.
func (s *Scheduler) startLocked(e *entry) {
	if e.running {
		s.log.Warn("cron job skipped: the previous run is still going on", "job", e.id)
		return
	}
	fn := s.claim(e)
	go func() { _ = s.execute(s.ctx, e, fn, "schedule") }()
}

// execute runs fn as a run of e claimed by claim, recovering a panic,
// and records and logs the result.
func (s *Scheduler) execute(ctx context.Context, e *entry, fn Func, trigger string) (err error) {
	start := time.Now()
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("cron job %q panicked: %v", e.id, p)
			s.log.Error("cron job panicked", "job", e.id, "panic", p, "stack", string(debug.Stack()))
		}
		took := time.Since(start)
		s.mu.Lock()
		e.running = false
		if e.removed && s.jobs[e.id] == e {
			delete(s.jobs, e.id)
		}
		e.last.LastRun, e.last.LastDuration, e.last.LastError = start.UTC(), took, ""
		if err != nil && !errors.Is(err, ErrSkipped) {
			e.last.LastError = err.Error()
		}
		s.mu.Unlock()
		s.wg.Done()
		attrs := []any{"job", e.id, "trigger", trigger, "duration", took.Round(time.Microsecond)}
		switch {
		case err == nil:
			s.log.Info("cron job done", attrs...)
		case errors.Is(err, ErrSkipped):
			s.log.Info("cron job skipped", append(attrs, "reason", err)...)
		default:
			s.log.Error("cron job failed", append(attrs, "err", err)...)
		}
	}()
	return fn(ctx)
}
