package server

// This file is the server's scheduled jobs: the scheduler (package cron)
// lives as long as the server, across restores; the jobs that touch the
// data read the current database and file store when they run (withData),
// so a restore's new ones are used from then on.

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/monobase/monobase/apperr"
	"github.com/monobase/monobase/backup"
	"github.com/monobase/monobase/cron"
	"github.com/monobase/monobase/db"
	"github.com/monobase/monobase/files"
)

// The ids of the system jobs.
const (
	// JobBackups makes a scheduled backup; it exists while
	// settings.backups.cron is set.
	JobBackups = "__mbBackups__"
	// JobAuthStateCleanup deletes expired one-time passwords and MFA
	// sign-ins, and the devices of records that are gone.
	JobAuthStateCleanup = "__mbAuthStateCleanup__"
	// JobTempFilesCleanup deletes what was left in storage/.tmp for more
	// than files.DefaultTempMaxAge.
	JobTempFilesCleanup = "__mbTempFilesCleanup__"
	// JobLogsCleanup deletes request logs older than logs.maxDays.
	JobLogsCleanup = "__mbLogsCleanup__"
	// JobFilesCleanup deletes the stored files that no record names and
	// that are older than files.DefaultSweepAge (files.Store.Sweep). It
	// also runs once at start-up, for everything stored before the start.
	JobFilesCleanup = "__mbFilesCleanup__"
)

// DefaultSchedulePoll is how often the server reads settings.backups again
// to follow a changed schedule.
const DefaultSchedulePoll = time.Minute

// errRestoring is the reason a job that touches the data skips its run.
var errRestoring = fmt.Errorf("a backup is being restored: %w", cron.ErrSkipped)

// systemJobs returns the jobs every server runs, besides JobBackups.
func (c *ServeCommand) systemJobs() []cron.Job {
	jobs := []cron.Job{
		{ID: JobAuthStateCleanup, Expression: "0 * * * *", Run: c.purgeAuthState},
		{ID: JobTempFilesCleanup, Expression: "30 * * * *", Run: c.cleanTempFiles},
		{ID: JobLogsCleanup, Expression: "15 * * * *", Run: c.cleanLogs},
		{ID: JobFilesCleanup, Expression: "45 * * * *", Run: c.cleanFiles},
	}
	return jobs
}

// newCrons makes the scheduler with the system jobs and c.Jobs; Run starts
// it once the server listens (startCrons).
func (c *ServeCommand) newCrons() error {
	c.cron = cron.New(c.logger())
	for _, j := range append(c.systemJobs(), c.Jobs...) {
		if err := c.cron.Add(j); err != nil {
			return err
		}
	}
	return nil
}

// startCrons schedules the backups of settings.backups and starts the
// scheduler, and the loop that follows changes of settings.backups.
func (c *ServeCommand) startCrons(ctx context.Context) {
	c.syncBackupSchedule(ctx)
	c.cron.Start()
	poll := cmp0(c.schedulePoll, DefaultSchedulePoll)
	c.pollDone = make(chan struct{})
	go func() {
		defer close(c.pollDone)
		t := time.NewTicker(poll)
		defer t.Stop()
		for {
			select {
			case <-c.shutdown.Done():
				return
			case <-t.C:
				c.syncBackupSchedule(c.shutdown)
			}
		}
	}()
}

// stopCrons stops the scheduler and waits, within ctx, for the running
// jobs (then cancels them; see cron.Scheduler.Stop).
func (c *ServeCommand) stopCrons(ctx context.Context) error {
	if c.pollDone != nil {
		<-c.pollDone // it ends with c.shutdown
	}
	return c.cron.Stop(ctx)
}

// withData calls fn with the current database and file store, holding off
// a restore until fn returns. While a restore runs it skips (errRestoring)
// rather than wait for the restored data.
func (c *ServeCommand) withData(fn func(d *db.DB, store *files.Store) error) error {
	if c.gate.closed.Load() {
		return errRestoring
	}
	c.genMu.Lock()
	defer c.genMu.Unlock()
	if c.db == nil {
		return errors.New("the database is not open")
	}
	return fn(c.db, c.store)
}

// syncBackupSchedule reads settings.backups and schedules JobBackups on
// its cron expression, or unschedules it when there is none.
func (c *ServeCommand) syncBackupSchedule(ctx context.Context) {
	if ctx.Err() != nil {
		return // shutting down
	}
	err := c.withData(func(d *db.DB, _ *files.Store) error {
		c.applyBackupSchedule(ctx, d)
		return nil
	})
	if err != nil && !errors.Is(err, cron.ErrSkipped) {
		c.logger().Error("read settings.backups", "err", err)
	}
}

// applyBackupSchedule is syncBackupSchedule on d (the caller holds genMu).
// A stored schedule that is not valid is logged (once) and schedules
// nothing.
func (c *ServeCommand) applyBackupSchedule(ctx context.Context, d *db.DB) {
	s, err := backup.LoadSchedule(ctx, d)
	if err != nil && !errors.Is(err, backup.ErrInvalidSchedule) {
		c.logger().Error("read settings.backups", "err", err)
		return
	}
	if msg := fmt.Sprint(err); err != nil && msg != c.scheduleErr {
		c.logger().Error("no scheduled backups until settings.backups are saved again", "err", err)
		c.scheduleErr = msg
	} else if err == nil {
		c.scheduleErr = ""
	}
	if s.Cron == "" {
		c.cron.Remove(JobBackups)
		return
	}
	for _, st := range c.cron.List() {
		if st.ID == JobBackups && st.Expression == s.Cron {
			return // unchanged: keep its next run
		}
	}
	if err := c.cron.Add(cron.Job{ID: JobBackups, Expression: s.Cron, Run: c.scheduledBackup}); err != nil {
		c.logger().Error("schedule the backups", "err", err) // LoadSchedule validated it
	}
}

// scheduledBackup is JobBackups: a backup named @auto_mb_backup_..., then
// the oldest scheduled backups beyond settings.backups.maxKeep deleted.
// While another backup operation (a restore, say) runs it skips, with
// that CONFLICT as the reason.
func (c *ServeCommand) scheduledBackup(ctx context.Context) error {
	var s backup.Schedule
	err := c.withData(func(d *db.DB, _ *files.Store) error {
		var err error
		s, err = backup.LoadSchedule(ctx, d)
		return err
	})
	if err != nil {
		return err
	}
	info, deleted, err := c.backups.CreateAuto(ctx, s.MaxKeep)
	if apperr.CodeOf(err) == apperr.Conflict {
		return fmt.Errorf("%w: %w", cron.ErrSkipped, err)
	}
	if info.Name != "" {
		c.logger().Info("scheduled backup made", "name", info.Name, "size", info.Size, "deleted", deleted)
	}
	return err
}

// purgeAuthState is JobAuthStateCleanup.
func (c *ServeCommand) purgeAuthState(ctx context.Context) error {
	return c.withData(func(d *db.DB, _ *files.Store) error {
		n, err := d.PurgeExpiredAuthState(ctx, time.Now())
		if n != (db.AuthStatePurge{}) {
			c.logger().Info("purged expired auth state", "otps", n.OTPs, "mfas", n.MFAs, "authOrigins", n.AuthOrigins)
		}
		return err
	})
}

// cleanLogs is JobLogsCleanup: request logs older than logs.maxDays go.
func (c *ServeCommand) cleanLogs(ctx context.Context) error {
	n, err := c.CleanupLogs(ctx)
	if n > 0 {
		c.logger().Info("removed old request logs", "count", n)
	}
	return err
}

// cleanTempFiles is JobTempFilesCleanup.
func (c *ServeCommand) cleanTempFiles(ctx context.Context) error {
	return c.withData(func(_ *db.DB, store *files.Store) error {
		n, err := store.CleanTempOlderThan(time.Now().Add(-files.DefaultTempMaxAge))
		if n > 0 {
			c.logger().Info("removed temporary files left behind", "count", n)
		}
		return err
	})
}

// sweepCutoffKey carries the cutoff of the start-up run of JobFilesCleanup
// in its context.
type sweepCutoffKey struct{}

// startFilesCleanup runs JobFilesCleanup once in the background with
// start (the process's) as the cutoff: no mutation of this process had
// stored anything before it, so every file older than it that no record
// names is left over from before (a crash between an upload and its
// commit, or between a commit and its deletes).
func (c *ServeCommand) startFilesCleanup(start time.Time) {
	ctx := context.WithValue(c.shutdown, sweepCutoffKey{}, start)
	go func() { _ = c.cron.Run(ctx, JobFilesCleanup) }() // the run is logged
}

// cleanFiles is JobFilesCleanup. While a backup copies the files it skips.
func (c *ServeCommand) cleanFiles(ctx context.Context) error {
	cutoff, ok := ctx.Value(sweepCutoffKey{}).(time.Time)
	if !ok {
		cutoff = time.Now().Add(-files.DefaultSweepAge)
	}
	return c.withData(func(d *db.DB, store *files.Store) error {
		res, err := store.Sweep(ctx, d, cutoff)
		if res.Removed > 0 {
			c.logger().Info("removed stored files that no record names", "count", res.Removed, "listed", res.Listed,
				"backend", store.Backend().Kind())
		}
		if errors.Is(err, files.ErrDeletesHeld) {
			return fmt.Errorf("%w: %w", cron.ErrSkipped, err)
		}
		return err
	})
}
