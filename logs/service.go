package logs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/monobase/monobase/apperr"
	"github.com/monobase/monobase/db"
)

// Defaults of Config.
const (
	DefaultQueueSize  = 8192
	DefaultBatchSize  = 1024
	DefaultFlushEvery = 200 * time.Millisecond
)

// Config tunes a Service; the zero value takes the defaults.
type Config struct {
	// QueueSize bounds the entries waiting for the writer; past it new
	// entries are dropped (counted, and a warning is logged).
	QueueSize int
	// BatchSize is how many entries one transaction writes at most. The
	// writer wakes every FlushEvery, or as soon as BatchSize entries wait.
	BatchSize  int
	FlushEvery time.Duration
	// Log receives the service's own warnings (a full queue, a failed
	// write). It must not be a logger whose handler feeds this service
	// (Handler): those warnings would queue entries of their own. nil:
	// discarded.
	Log *slog.Logger
	// UserIP returns the client's IP as the server trusts it (behind a
	// reverse proxy, from its headers); nil: the connection's address.
	UserIP func(*http.Request) string
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

func (c Config) withDefaults() Config {
	if c.QueueSize <= 0 {
		c.QueueSize = DefaultQueueSize
	}
	if c.BatchSize <= 0 {
		c.BatchSize = DefaultBatchSize
	}
	if c.FlushEvery <= 0 {
		c.FlushEvery = DefaultFlushEvery
	}
	if c.Log == nil {
		c.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Service keeps the request logs of one data folder in its auxiliary.db:
// the HTTP middleware (Middleware) and the slog handler (Handler) queue
// entries, one goroutine writes them in batches, and the admin API reads
// them (List, Stats). Entries are encoded by the writer, not by the
// request. It is safe for concurrent use.
type Service struct {
	store    *db.Aux
	cfg      Config
	settings atomic.Pointer[Settings]

	queue   chan entry
	kick    chan struct{} // wakes the writer early: BatchSize entries wait
	flushes chan chan struct{}
	stop    chan struct{}
	done    chan struct{}
	closed  atomic.Bool
	once    sync.Once

	dropped  atomic.Int64 // entries dropped because the queue was full
	failed   atomic.Int64 // entries lost to failed writes
	lastWarn atomic.Int64 // unix nanoseconds of the last warning
}

// Open opens dir's auxiliary.db and starts the writer with the settings
// s, then deletes the entries older than s.MaxDays in the background (as
// Cleanup). It fails with a wrapped error when the file cannot be opened.
func Open(ctx context.Context, dir string, s Settings, cfg Config) (*Service, error) {
	store, err := db.OpenAux(ctx, dir)
	if err != nil {
		return nil, err
	}
	svc := newService(store, s, cfg)
	go svc.run()
	return svc, nil
}

// newService returns a service on store whose writer is not started yet.
func newService(store *db.Aux, s Settings, cfg Config) *Service {
	cfg = cfg.withDefaults()
	svc := &Service{
		store:   store,
		cfg:     cfg,
		queue:   make(chan entry, cfg.QueueSize),
		kick:    make(chan struct{}, 1),
		flushes: make(chan chan struct{}),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	svc.settings.Store(&s)
	return svc
}

// Settings returns the settings in force.
func (s *Service) Settings() Settings { return *s.settings.Load() }

// SetSettings puts set in force at once (the stored copy is the caller's
// business: Save). Invalid settings are the error of Validate.
func (s *Service) SetSettings(set Settings) error {
	if err := set.Validate(); err != nil {
		return err
	}
	s.settings.Store(&set)
	return nil
}

// Dropped returns how many entries were dropped because the queue was
// full, and how many were lost to failed writes.
func (s *Service) Dropped() (full, failed int64) { return s.dropped.Load(), s.failed.Load() }

// Flush returns once every entry queued before it is written (or failed
// to be). It fails when ctx ends first or the service is closed.
func (s *Service) Flush(ctx context.Context) error {
	ack := make(chan struct{})
	select {
	case s.flushes <- ack:
	case <-s.done:
		return errors.New("logs: flush: the service is closed")
	case <-ctx.Done():
		return fmt.Errorf("logs: flush: %w", ctx.Err())
	}
	select {
	case <-ack:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("logs: flush: %w", ctx.Err())
	}
}

// Close stops taking entries, writes those queued (waiting up to ctx's
// end) and closes auxiliary.db. It is safe to call more than once.
func (s *Service) Close(ctx context.Context) error {
	var err error
	s.once.Do(func() {
		s.closed.Store(true)
		close(s.stop)
		select {
		case <-s.done:
		case <-ctx.Done():
			err = fmt.Errorf("logs: close: queued entries not all written: %w", ctx.Err())
			<-s.done // the batch being written finishes; the rest is dropped
		}
		if cerr := s.store.Close(); cerr != nil {
			err = errors.Join(err, cerr)
		}
	})
	return err
}

// Cleanup deletes the entries older than the settings' maxDays (all of
// them when maxDays is 0) and returns how many it deleted.
func (s *Service) Cleanup(ctx context.Context) (int64, error) {
	before := time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC) // maxDays 0: everything
	if days := s.Settings().MaxDays; days > 0 {
		before = s.cfg.Now().AddDate(0, 0, -days)
	}
	n, err := s.store.DeleteLogsBefore(ctx, before)
	if err != nil {
		return 0, fmt.Errorf("logs: cleanup: %w", err)
	}
	return n, nil
}

// Bounds of List.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
)

// List returns the entries that q selects (Limit 0: DefaultLimit).
// Errors: BAD_USER_INPUT naming limit, offset, filter or sort; else a
// wrapped internal error.
func (s *Service) List(ctx context.Context, q db.LogQuery) ([]db.LogEntry, error) {
	var fe apperr.FieldErrors
	if q.Limit == 0 {
		q.Limit = DefaultLimit
	}
	if q.Limit < 1 || q.Limit > MaxLimit {
		fe.Add("limit", "invalid", "must be between 1 and %d", MaxLimit)
	}
	if q.Offset < 0 {
		fe.Add("offset", "invalid", "must not be negative")
	}
	if err := fe.Err("invalid arguments"); err != nil {
		return nil, err
	}
	return s.store.Logs(ctx, q)
}

// Stats returns the number of entries per hour that filter selects.
func (s *Service) Stats(ctx context.Context, filter string) ([]db.LogStat, error) {
	return s.store.LogStats(ctx, filter)
}

// enqueue hands e to the writer without waiting: when the queue is full e
// is dropped, counted, and a warning is logged (at most every 10 s). The
// writer is not woken for each entry (that would cost a goroutine switch
// per request): it wakes every FlushEvery, or once a batch is waiting.
func (s *Service) enqueue(e *entry) {
	if s.closed.Load() {
		return
	}
	select {
	case s.queue <- *e:
		if len(s.queue) >= s.cfg.BatchSize {
			select {
			case s.kick <- struct{}{}:
			default:
			}
		}
	default:
		n := s.dropped.Add(1)
		s.warn("request logs: the queue is full; entries are dropped", "dropped", n)
	}
}

// warn logs a warning of the service at most every 10 seconds.
func (s *Service) warn(msg string, args ...any) {
	now := time.Now().UnixNano()
	last := s.lastWarn.Load()
	if now-last < int64(10*time.Second) || !s.lastWarn.CompareAndSwap(last, now) {
		return
	}
	s.cfg.Log.Warn(msg, args...)
}

// run is the writer: every FlushEvery, when a batch is waiting, on Flush
// and on Close, it writes what the queue holds.
func (s *Service) run() {
	defer close(s.done)
	if _, err := s.Cleanup(context.Background()); err != nil {
		s.cfg.Log.Warn("request logs: cleanup at start", "err", err)
	}
	w := newWriter(s)
	tick := time.NewTicker(s.cfg.FlushEvery)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			s.drain(w)
			w.flush()
		case <-s.kick:
			s.drain(w)
			w.flush()
		case ack := <-s.flushes:
			s.drain(w)
			w.flush()
			close(ack)
		case <-s.stop:
			s.drain(w)
			w.flush()
			return
		}
	}
}

// drain moves what the queue holds now into w.
func (s *Service) drain(w *writer) {
	for {
		select {
		case e := <-s.queue:
			w.add(&e)
		default:
			return
		}
	}
}
