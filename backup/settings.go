package backup

import (
	"context"
	"fmt"
	"strings"
	"time"

	robfig "github.com/robfig/cron/v3"

	"github.com/monobase/monobase/apperr"
	"github.com/monobase/monobase/cron"
	"github.com/monobase/monobase/db"
	"github.com/monobase/monobase/files"
)

// settingsParam is the _params key of the settings group backups.
const settingsParam = "settings.backups"

// Settings are the settings group backups: when to take backups on their
// own (Cron), how many of those to keep (MaxKeep), and an S3 target (S3:
// when enabled, every backup is kept in that bucket instead of the
// backups folder).
type Settings struct {
	// Cron is a standard five-field cron expression or a descriptor
	// (@daily, @every 6h, ...; ParseCron), "" for no scheduled backups.
	Cron string `json:"cron"`
	// MaxKeep is how many scheduled backups are kept, the oldest deleted
	// first.
	MaxKeep int              `json:"maxKeep"`
	S3      files.S3Settings `json:"s3"`
}

// Bounds of Settings.Validate.
const (
	MaxKeepLimit = MaxMaxKeep
	// MinCronInterval is the shortest interval of an @every schedule.
	MinCronInterval = time.Minute
)

// DefaultSettings returns the group before anything is saved: no
// schedule, 3 kept (as PocketBase), S3 off.
func DefaultSettings() Settings { return Settings{MaxKeep: DefaultMaxKeep} }

// ParseCron returns the schedule of expr as the scheduler reads it
// (cron.Parse: standard expressions and descriptors, in UTC), refusing
// also an @every shorter than MinCronInterval: a backup a second is no
// schedule. The error says why, in words fit for a client.
func ParseCron(expr string) (cron.Schedule, error) {
	s, err := cron.Parse(expr)
	if err != nil {
		return nil, err
	}
	if every, ok := s.(robfig.ConstantDelaySchedule); ok && every.Delay < MinCronInterval {
		return nil, fmt.Errorf("@every must be at least %v", MinCronInterval)
	}
	return s, nil
}

// Validate returns a BAD_USER_INPUT *apperr.Error naming each invalid
// field (backups.cron, backups.maxKeep, backups.s3.bucket, ...), or nil.
func (s Settings) Validate() error {
	var fe apperr.FieldErrors
	if strings.TrimSpace(s.Cron) != "" {
		if _, err := ParseCron(s.Cron); err != nil {
			fe.Add("backups.cron", "invalid", "%v", err)
		}
	}
	if s.MaxKeep < 1 || s.MaxKeep > MaxKeepLimit {
		fe.Add("backups.maxKeep", "invalid", "must be between 1 and %d", MaxKeepLimit)
	}
	s.S3.Check("backups.s3", &fe)
	return fe.Err("invalid settings")
}

// LoadSettings returns the stored group backups, DefaultSettings() when
// never saved. It fails when _params cannot be read or decoded, and when
// the S3 secret cannot be read (encrypted at rest and the key missing or
// another). A scheduler reads Cron and MaxKeep from it.
func LoadSettings(ctx context.Context, d *db.DB) (Settings, error) {
	s, err := loadStored(ctx, d)
	if err != nil {
		return s, err
	}
	s3, err := s.S3.Opened(d)
	s.S3 = s3
	if err != nil {
		return s, fmt.Errorf("load %s.s3.%w", settingsParam, err)
	}
	return s, nil
}

// loadStored is LoadSettings with the S3 secret as stored (sealed).
func loadStored(ctx context.Context, d *db.DB) (Settings, error) {
	s := DefaultSettings()
	if _, err := d.ParamJSON(ctx, settingsParam, &s); err != nil {
		return DefaultSettings(), fmt.Errorf("load %s: %w", settingsParam, err)
	}
	return s, nil
}

// SaveSettings validates s and stores it, the S3 secret sealed. Invalid
// settings are Validate's BAD_USER_INPUT error; a storage failure is
// wrapped.
func SaveSettings(ctx context.Context, d *db.DB, s Settings) error {
	if err := s.Validate(); err != nil {
		return err
	}
	s.Cron = strings.TrimSpace(s.Cron)
	s3, err := s.S3.Sealed(d)
	if err != nil {
		return fmt.Errorf("save %s.s3.%w", settingsParam, err)
	}
	s.S3 = s3
	if err := d.SetParamJSON(ctx, settingsParam, s); err != nil {
		return fmt.Errorf("save %s: %w", settingsParam, err)
	}
	return nil
}
