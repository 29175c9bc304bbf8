package graph

import (
	"context"
	"errors"

	"github.com/monobase/monobase/apperr"
	"github.com/monobase/monobase/backup"
)

// WithBackups serves the backup operations (backups, createBackup, ...)
// from s, and accepts multipart requests (uploadBackup) of up to
// s.MaxUpload() bytes. Without it those operations fail.
func WithBackups(s *backup.Service) Option { return func(r *Resolver) { r.backups = s } }

// backupService returns the backup service, or an error when none is set.
func (r *Resolver) backupService() (*backup.Service, error) {
	if r.backups == nil {
		return nil, internal(errors.New("backups are not configured on this server"))
	}
	return r.backups, nil
}

// detached keeps ctx's values but not its end: a backup or restore, once
// started, runs to its end (bounded by its own work, not the admin API's
// 30 s) even if the client goes away, so that it never stops halfway.
func detached(ctx context.Context) context.Context { return context.WithoutCancel(ctx) }

// internal marks an error that is not an apperr.Error as internal, so that
// the presenter logs it and shows clients only "internal server error"
// (gqlgen wraps a plain error in a *gqlerror.Error, which gqlerr.Present
// would show as it is, server paths included).
func internal(err error) error {
	if err == nil || apperr.As(err) != nil {
		return err
	}
	return apperr.Wrap(err, "internal server error")
}
