package graph

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/monobase/monobase/apperr"
	"github.com/monobase/monobase/backup"
	"github.com/monobase/monobase/files"
	"github.com/monobase/monobase/graph/model"
)

// s3TestTimeout bounds testS3: the whole check, retries included.
const s3TestTimeout = 15 * time.Second

// testS3 checks the stored S3 settings of target for real (files.S3.Test)
// within s3TestTimeout. Settings that are not enabled (field target) or
// not complete (their fields, as updateSettings names them) are
// BAD_USER_INPUT, and so is a failed check, whose message says which step
// failed and why; the secret is never in it. Settings that cannot be read
// are an internal error.
func (r *Resolver) testS3(ctx context.Context, target model.S3Target) error {
	var (
		set   files.S3Settings
		group string // the settings group, as updateSettings names it
		what  string
		err   error
	)
	switch target {
	case model.S3TargetFiles:
		group, what = "s3", "files"
		set, err = files.LoadS3Settings(ctx, r.db)
	case model.S3TargetBackups:
		group, what = "backups.s3", "backups"
		var b backup.Settings
		b, err = backup.LoadSettings(ctx, r.db)
		set = b.S3
	default:
		return apperr.New(apperr.Invalid, "unknown S3 target %q", target)
	}
	if err != nil {
		return internal(fmt.Errorf("load settings: %w", err))
	}
	if !set.Enabled {
		msg := fmt.Sprintf("S3 storage for %s is not enabled (settings.%s.enabled is false)", what, group)
		return apperr.InvalidFields(msg, map[string]apperr.FieldError{"target": {Code: "disabled", Message: msg}})
	}
	var fe apperr.FieldErrors
	set.Check(group, &fe)
	if err := fe.Err(fmt.Sprintf("the S3 settings for %s are incomplete", what)); err != nil {
		return err
	}
	b, err := files.NewS3(set)
	if err != nil {
		return s3Failed(what, err, set.Secret)
	}
	ctx, cancel := context.WithTimeout(ctx, s3TestTimeout)
	defer cancel()
	if err := b.Test(ctx); err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("no answer from %s within %v", set.Endpoint, s3TestTimeout)
		}
		return s3Failed(what, err, set.Secret)
	}
	return nil
}

// s3Failed is the BAD_USER_INPUT error of a failed S3 check; secret is
// cut out of its message should the service's answer ever quote it.
func s3Failed(what string, err error, secret string) error {
	msg := err.Error()
	if secret != "" {
		msg = strings.ReplaceAll(msg, secret, "[secret]")
	}
	return apperr.New(apperr.Invalid, "the S3 test for %s failed: %s", what, msg)
}
