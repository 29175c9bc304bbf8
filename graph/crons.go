package graph

import (
	"context"
	"time"

	"github.com/monobase/monobase/cron"
	"github.com/monobase/monobase/graph/model"
)

// Crons is what the admin API needs of the scheduler: its jobs and a way
// to run one now (*cron.Scheduler).
type Crons interface {
	List() []cron.Status
	Run(ctx context.Context, id string) error
}

// WithCrons serves crons and runCron from s. Without it crons is empty and
// runCron is NOT_FOUND.
func WithCrons(s Crons) Option { return func(r *Resolver) { r.crons = s } }

// cronModel converts a job's status for the API.
func cronModel(st cron.Status) *model.Cron {
	m := &model.Cron{ID: st.ID, Expression: st.Expression, Running: st.Running}
	if !st.LastRun.IsZero() {
		last, ms := st.LastRun, int(st.LastDuration/time.Millisecond)
		m.LastRun, m.LastDurationMs = &last, &ms
	}
	if st.LastError != "" {
		msg := st.LastError
		m.LastError = &msg
	}
	if !st.Next.IsZero() {
		next := st.Next
		m.NextRun = &next
	}
	return m
}
