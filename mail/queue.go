package mail

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// QueueConfig bounds the queue; zero fields take the defaults.
type QueueConfig struct {
	// Size is how many messages may wait (default 1000); Enqueue drops and
	// logs the message when it is full.
	Size int
	// Attempts is how many times one message is tried (default 4).
	Attempts int
	// Backoff is the wait before the second attempt, doubled before each
	// next one (default 2 s).
	Backoff time.Duration
}

// WithDefaults returns c with its zero fields set to the defaults.
func (c QueueConfig) WithDefaults() QueueConfig {
	if c.Size <= 0 {
		c.Size = 1000
	}
	if c.Attempts <= 0 {
		c.Attempts = 4
	}
	if c.Backoff <= 0 {
		c.Backoff = 2 * time.Second
	}
	return c
}

// Queue holds messages in memory and delivers them one by one in a
// background goroutine, retrying failures with backoff. Messages still
// queued when the process stops are lost (they carry short-lived tokens:
// the user can ask again).
type Queue struct {
	sender Sender
	cfg    QueueConfig
	ch     chan Message
	stop   chan struct{}
	done   chan struct{}
	once   sync.Once

	// Sent, when set, is called after each message is delivered or given
	// up (err non-nil); tests and metrics use it.
	Sent func(m Message, err error)
}

// NewQueue returns a running queue that delivers through s.
func NewQueue(s Sender, cfg QueueConfig) *Queue {
	cfg = cfg.WithDefaults()
	q := &Queue{sender: s, cfg: cfg, ch: make(chan Message, cfg.Size), stop: make(chan struct{}), done: make(chan struct{})}
	go q.run()
	return q
}

// Enqueue queues m without waiting and reports whether it was queued: false
// when the queue is full or closed (the message is dropped and logged).
func (q *Queue) Enqueue(m Message) bool {
	select {
	case <-q.stop:
		slog.Warn("mail: queue closed, message dropped", "to", m.To, "subject", m.Subject)
		return false
	default:
	}
	select {
	case q.ch <- m:
		return true
	default:
		slog.Warn("mail: queue full, message dropped", "to", m.To, "subject", m.Subject, "size", q.cfg.Size)
		return false
	}
}

// Close stops the sender: the message being delivered finishes (or ctx
// ends it), the rest are dropped. It returns when the goroutine has ended
// or ctx is done.
func (q *Queue) Close(ctx context.Context) {
	q.once.Do(func() { close(q.stop) })
	select {
	case <-q.done:
	case <-ctx.Done():
	}
}

func (q *Queue) run() {
	defer close(q.done)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-q.stop
		cancel()
	}()
	for {
		select {
		case <-q.stop:
			return
		case m := <-q.ch:
			err := q.deliver(ctx, m)
			if q.Sent != nil {
				q.Sent(m, err)
			}
		}
	}
}

// deliver tries m up to cfg.Attempts times; each failure is logged (the
// error never holds the password).
func (q *Queue) deliver(ctx context.Context, m Message) error {
	wait := q.cfg.Backoff
	var err error
	for attempt := 1; attempt <= q.cfg.Attempts; attempt++ {
		if err = q.sender.Send(ctx, m); err == nil {
			return nil
		}
		slog.Warn("mail: send failed", "to", m.To, "subject", m.Subject, "attempt", attempt, "of", q.cfg.Attempts, "err", err)
		if err == ErrDisabled || attempt == q.cfg.Attempts {
			break
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		wait *= 2
	}
	slog.Error("mail: message given up", "to", m.To, "subject", m.Subject, "err", err)
	return err
}

// Outbox is what the auth flows send through: the meta settings of the
// templates and the queue.
type Outbox struct {
	Queue    *Queue
	Settings func(ctx context.Context) (Settings, error)
}

// Meta returns the current meta settings, or the error of reading them.
func (o *Outbox) Meta(ctx context.Context) (Meta, error) {
	s, err := o.Settings(ctx)
	return s.Meta, err
}

// Sending reports whether SMTP is enabled, so that an optional email (a
// sign-in alert) is not even prepared when it could not go out.
func (o *Outbox) Sending(ctx context.Context) bool {
	s, err := o.Settings(ctx)
	return err == nil && s.SMTP.Enabled
}

// Enqueue queues m (see Queue.Enqueue).
func (o *Outbox) Enqueue(m Message) bool { return o.Queue.Enqueue(m) }
