package backup

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/monobase/monobase/apperr"
	"github.com/monobase/monobase/cron"
	"github.com/monobase/monobase/db"
)

// ScheduleParam is the _params key of the settings group backups: a JSON
// object {"cron": "0 3 * * *", "maxKeep": 3}. Other members (the S3
// target, s3) sit beside them; SaveSchedule keeps
// them.
const ScheduleParam = "settings.backups"

// DefaultMaxKeep is how many scheduled backups are kept when maxKeep was
// never set.
const DefaultMaxKeep = 3

// MaxMaxKeep bounds maxKeep.
const MaxMaxKeep = 10000

// Schedule is when backups are made on their own and how many are kept.
type Schedule struct {
	// Cron is a cron expression (see cron.Parse, evaluated in UTC); ""
	// makes no scheduled backups.
	Cron string `json:"cron"`
	// MaxKeep is how many scheduled backups are kept; after each one the
	// oldest beyond it are deleted. Backups made by hand never are.
	MaxKeep int `json:"maxKeep"`
}

// DefaultSchedule is the schedule of a data folder that never saved one:
// no scheduled backups.
func DefaultSchedule() Schedule { return Schedule{MaxKeep: DefaultMaxKeep} }

// Validate returns a BAD_USER_INPUT *apperr.Error naming each invalid
// field (backups.cron, backups.maxKeep), or nil.
func (s Schedule) Validate() error {
	var fe apperr.FieldErrors
	if s.Cron != "" {
		if err := cron.Validate(s.Cron); err != nil {
			fe.Add("backups.cron", "invalid", "%s", err.Error())
		}
	}
	if s.MaxKeep < 1 || s.MaxKeep > MaxMaxKeep {
		fe.Add("backups.maxKeep", "invalid", "must be between 1 and %d", MaxMaxKeep)
	}
	return fe.Err("invalid settings")
}

// ErrInvalidSchedule is wrapped by LoadSchedule's error for a stored
// schedule that does not decode or is not valid (edited by hand, say).
var ErrInvalidSchedule = errors.New("the stored settings.backups are not valid")

// LoadSchedule returns the stored schedule, DefaultSchedule when none was
// saved (a stored maxKeep of 0 reads as DefaultMaxKeep). It fails when
// _params cannot be read, and with ErrInvalidSchedule (and
// DefaultSchedule) when what is stored is not a valid schedule.
func LoadSchedule(ctx context.Context, d *db.DB) (Schedule, error) {
	raw, ok, err := d.Param(ctx, ScheduleParam)
	if err != nil {
		return DefaultSchedule(), fmt.Errorf("load %s: %w", ScheduleParam, err)
	}
	if !ok || len(raw) == 0 {
		return DefaultSchedule(), nil
	}
	var s Schedule
	if err := json.Unmarshal(raw, &s); err != nil {
		return DefaultSchedule(), fmt.Errorf("%w: %v", ErrInvalidSchedule, err)
	}
	s.Cron = strings.TrimSpace(s.Cron)
	if s.MaxKeep == 0 {
		s.MaxKeep = DefaultMaxKeep
	}
	if err := s.Validate(); err != nil {
		return DefaultSchedule(), fmt.Errorf("%w: %v", ErrInvalidSchedule, err)
	}
	return s, nil
}

// SaveSchedule validates s and stores it, keeping the other members of
// the stored object. Invalid input is the BAD_USER_INPUT error of
// Validate; a storage failure is wrapped. ctx may carry a transaction.
func SaveSchedule(ctx context.Context, d *db.DB, s Schedule) error {
	s.Cron = strings.TrimSpace(s.Cron)
	if err := s.Validate(); err != nil {
		return err
	}
	obj := map[string]json.RawMessage{}
	raw, ok, err := d.Param(ctx, ScheduleParam)
	if err != nil {
		return fmt.Errorf("save %s: %w", ScheduleParam, err)
	}
	if ok && len(raw) > 0 {
		_ = json.Unmarshal(raw, &obj) // what does not decode is replaced
		if obj == nil {
			obj = map[string]json.RawMessage{}
		}
	}
	obj["cron"], _ = json.Marshal(s.Cron)
	obj["maxKeep"], _ = json.Marshal(s.MaxKeep)
	if raw, err = json.Marshal(obj); err != nil {
		return fmt.Errorf("encode %s: %w", ScheduleParam, err)
	}
	if err := d.SetParam(ctx, ScheduleParam, raw); err != nil {
		return fmt.Errorf("save %s: %w", ScheduleParam, err)
	}
	return nil
}

// CreateAuto makes a scheduled backup, named AutoPrefix + the time
// (IsAuto), where Create keeps its backups, then deletes there the oldest
// scheduled backups beyond maxKeep (at least 1 is kept; the order is the
// time in their names); backups made by hand or uploaded are never
// deleted. It returns the new backup and the names deleted. Errors:
// CONFLICT while another backup operation (a restore, say) runs; else
// those of Create. A failure to delete an old backup is returned with the
// new backup, which was kept.
func (s *Service) CreateAuto(ctx context.Context, maxKeep int) (Info, []string, error) {
	unlock, err := s.lock()
	if err != nil {
		return Info{}, nil, err
	}
	defer unlock()
	src, err := s.begin(ctx)
	if err != nil {
		return Info{}, nil, err
	}
	name, err := s.freeName(ctx, src.shelf, AutoPrefix)
	if err != nil {
		return Info{}, nil, err
	}
	info, err := s.create(ctx, src, name)
	if err != nil {
		return Info{}, nil, err
	}
	deleted, err := pruneAuto(ctx, src.shelf, max(maxKeep, 1))
	return info, deleted, err
}

// pruneAuto deletes the oldest scheduled backups of sh beyond keep; the
// caller holds the lock.
func pruneAuto(ctx context.Context, sh shelf, keep int) ([]string, error) {
	list, err := sh.list(ctx)
	if err != nil {
		return nil, err
	}
	var autos []Info
	for _, b := range list {
		if IsAuto(b.Name) {
			autos = append(autos, b)
		}
	}
	// Newest first: by modification time, then (for a bucket that keeps
	// coarser times) by the time in the name.
	slices.SortFunc(autos, func(a, b Info) int {
		if c := b.Modified.Compare(a.Modified); c != 0 {
			return c
		}
		return compareAuto(b.Name, a.Name)
	})
	var deleted []string
	var errs []error
	for _, b := range autos[min(keep, len(autos)):] {
		name := b.Name
		if err := sh.remove(ctx, name); err != nil {
			errs = append(errs, fmt.Errorf("backup: delete the old scheduled backup %s: %w", name, err))
			continue
		}
		deleted = append(deleted, name)
	}
	return deleted, errors.Join(errs...)
}

// compareAuto orders two names of scheduled backups by the time in them,
// then by their suffix (_2 after none, _10 after _9).
func compareAuto(a, b string) int {
	ta, na := autoTime(a)
	tb, nb := autoTime(b)
	if c := strings.Compare(ta, tb); c != 0 {
		return c
	}
	return cmp.Compare(na, nb)
}

// autoTime splits a scheduled backup's name (IsAuto) into its time
// (YYYYMMDDhhmmss) and suffix number (1 when none).
func autoTime(name string) (string, int) {
	rest := strings.TrimSuffix(strings.TrimPrefix(name, AutoPrefix), ".zip")
	ts, suffix, ok := strings.Cut(rest, "_")
	n := 1
	if ok {
		n, _ = strconv.Atoi(suffix)
	}
	return ts, n
}
