package graph

import (
	"context"
	"errors"
	"fmt"

	"github.com/monobase/monobase/backup"
	"github.com/monobase/monobase/db"
	"github.com/monobase/monobase/files"
	"github.com/monobase/monobase/graph/model"
	"github.com/monobase/monobase/querycost"
)

// Limiter is what the admin API needs to apply settings.limits at once:
// the engine (dynschema.Engine).
type Limiter interface {
	LimitSettings() querycost.LimitSettings
	SetLimits(querycost.LimitSettings) error
}

// WithLimits makes settings.limits read the limits in force in l and
// updateSettings apply a change to l at once. Without it the stored group
// is read (the defaults when never saved) and a change waits for a
// restart.
func WithLimits(l Limiter) Option { return func(r *Resolver) { r.limits = l } }

// WithFiles makes updateSettings switch the file storage of store when
// settings.s3 changes.
func WithFiles(store *files.Store) Option { return func(r *Resolver) { r.files = store } }

// limitSettings returns the limits in force, else the stored ones.
func (r *Resolver) limitSettings(ctx context.Context) (querycost.LimitSettings, error) {
	if r.limits != nil {
		return r.limits.LimitSettings(), nil
	}
	s, err := querycost.LoadLimitSettings(ctx, r.db, querycost.DefaultLimitSettings())
	if errors.Is(err, querycost.ErrInvalidLimits) {
		err = nil // s is the defaults, as the server starts with
	}
	if err != nil {
		return s, fmt.Errorf("load limits: %w", err)
	}
	return s, nil
}

// opsSettings are the groups limits, s3 and backups of one
// updateSettings: loaded, changed by the input, then checked with the
// other groups before any is saved.
type opsSettings struct {
	in      *model.SettingsInput
	limits  querycost.LimitSettings
	s3      files.S3Settings
	backups backup.Settings
}

// loadOpsSettings returns the groups that in changes, with its changes.
func (r *Resolver) loadOpsSettings(ctx context.Context, in *model.SettingsInput) (*opsSettings, error) {
	o := &opsSettings{in: in}
	var err error
	if in.Limits != nil {
		if o.limits, err = r.limitSettings(ctx); err != nil {
			return nil, err
		}
		applyLimitsInput(&o.limits, in.Limits)
	}
	if in.S3 != nil {
		if o.s3, err = files.LoadS3Settings(ctx, r.db); err != nil {
			return nil, fmt.Errorf("load settings: %w", err)
		}
		applyS3Input(&o.s3, in.S3)
	}
	if in.Backups != nil {
		if o.backups, err = backup.LoadSettings(ctx, r.db); err != nil {
			return nil, fmt.Errorf("load settings: %w", err)
		}
		if c := in.Backups; c != nil {
			setIf(&o.backups.Cron, c.Cron)
			setIf(&o.backups.MaxKeep, c.MaxKeep)
			if c.S3 != nil {
				applyS3Input(&o.backups.S3, c.S3)
			}
		}
	}
	return o, nil
}

// validate returns the BAD_USER_INPUT errors of the groups changed (for
// invalidSettings).
func (o *opsSettings) validate() []error {
	var errs []error
	if o.in.Limits != nil {
		errs = append(errs, o.limits.Validate())
	}
	if o.in.S3 != nil {
		errs = append(errs, o.s3.Validate())
	}
	if o.in.Backups != nil {
		errs = append(errs, o.backups.Validate())
	}
	return errs
}

// save stores the groups changed (in the transaction of ctx).
func (o *opsSettings) save(ctx context.Context, d *db.DB) error {
	if o.in.Limits != nil {
		if err := querycost.SaveLimitSettings(ctx, d, o.limits); err != nil {
			return err
		}
	}
	if o.in.S3 != nil {
		if err := files.SaveS3Settings(ctx, d, o.s3); err != nil {
			return err
		}
	}
	if o.in.Backups != nil {
		if err := backup.SaveSettings(ctx, d, o.backups); err != nil {
			return err
		}
	}
	return nil
}

// apply puts the saved limits and file storage in force (after the
// commit); nil l or store: stored only.
func (o *opsSettings) apply(l Limiter, store *files.Store) error {
	if o.in.Limits != nil && l != nil {
		if err := l.SetLimits(o.limits); err != nil {
			return fmt.Errorf("apply limits: %w", err)
		}
	}
	if o.in.S3 != nil && store != nil {
		if err := store.ApplyS3(o.s3); err != nil {
			return fmt.Errorf("apply s3: %w", err)
		}
	}
	return nil
}

func setIf[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

func applyLimitsInput(s *querycost.LimitSettings, in *model.LimitSettingsInput) {
	setIf(&s.MaxDepth, in.MaxDepth)
	setIf(&s.MaxComplexity, in.MaxComplexity)
	setIf(&s.MaxLimit, in.MaxLimit)
	if in.MaxBodySize != nil {
		s.MaxBodySize = int64(*in.MaxBodySize)
	}
	setIf(&s.MaxBatch, in.MaxBatch)
	setIf(&s.Introspection, in.Introspection)
}

// applyS3Input sets the fields in gives; secret "" clears the stored one.
func applyS3Input(s *files.S3Settings, in *model.S3SettingsInput) {
	setIf(&s.Enabled, in.Enabled)
	setIf(&s.Bucket, in.Bucket)
	setIf(&s.Region, in.Region)
	setIf(&s.Endpoint, in.Endpoint)
	setIf(&s.AccessKey, in.AccessKey)
	setIf(&s.Secret, in.Secret)
	setIf(&s.ForcePathStyle, in.ForcePathStyle)
}

func limitsOut(s querycost.LimitSettings) *model.LimitSettings {
	return &model.LimitSettings{MaxDepth: s.MaxDepth, MaxComplexity: s.MaxComplexity, MaxLimit: s.MaxLimit,
		MaxBodySize: int(s.MaxBodySize), MaxBatch: s.MaxBatch, Introspection: s.Introspection}
}

// s3Out returns the admin API view of s: the secret is replaced by
// secretSet.
func s3Out(s files.S3Settings) *model.S3Settings {
	return &model.S3Settings{Enabled: s.Enabled, Bucket: s.Bucket, Region: s.Region, Endpoint: s.Endpoint,
		AccessKey: s.AccessKey, SecretSet: s.Secret != "", ForcePathStyle: s.ForcePathStyle}
}
