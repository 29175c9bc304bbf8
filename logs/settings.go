package logs

import (
	"context"
	"errors"
	"log/slog"

	"github.com/monobase/monobase/apperr"
	"github.com/monobase/monobase/db"
)

// settingsParam is the _params key of the settings group logs.
const settingsParam = "settings.logs"

// Settings are the settings group logs.
type Settings struct {
	// MaxDays is how many days entries are kept; 0 turns the request
	// logs off (nothing is written, and the next cleanup deletes all).
	MaxDays int `json:"maxDays"`
	// MinLevel is the lowest slog level kept: -4 DEBUG, 0 INFO, 4 WARN,
	// 8 ERROR. Requests are INFO, WARN when answered 4xx, ERROR when
	// answered 5xx or when an internal error happened while they ran.
	MinLevel int `json:"minLevel"`
	// LogIP keeps the client's addresses (data.remoteIp, data.userIp).
	LogIP bool `json:"logIp"`
	// LogAuthID keeps who made a request as "<collection>:<record id>";
	// without it data.auth is only "guest" or "auth".
	LogAuthID bool `json:"logAuthId"`
}

// DefaultSettings returns the settings of a data folder that never saved
// any: kept 7 days, from INFO, with addresses, without record ids.
func DefaultSettings() Settings {
	return Settings{MaxDays: 7, MinLevel: int(slog.LevelInfo), LogIP: true}
}

// Bounds of Validate.
const (
	MaxDays     = 3650
	MinMinLevel = int(slog.LevelDebug)
	MaxMinLevel = int(slog.LevelError)
)

// Validate returns a BAD_USER_INPUT *apperr.Error naming each invalid
// field (logs.maxDays, logs.minLevel), or nil.
func (s Settings) Validate() error {
	var fe apperr.FieldErrors
	if s.MaxDays < 0 || s.MaxDays > MaxDays {
		fe.Add("logs.maxDays", "invalid", "must be between 0 (no request logs) and %d", MaxDays)
	}
	if s.MinLevel < MinMinLevel || s.MinLevel > MaxMinLevel {
		fe.Add("logs.minLevel", "invalid", "must be a slog level between %d (DEBUG) and %d (ERROR): -4 DEBUG, 0 INFO, 4 WARN, 8 ERROR", MinMinLevel, MaxMinLevel)
	}
	return fe.Err("invalid settings")
}

// ErrInvalidStored is wrapped by Load's error for stored settings that do
// not decode or are not valid (edited by hand, say).
var ErrInvalidStored = errors.New("the stored settings.logs are not valid")

// Load returns the stored settings, DefaultSettings when they were never
// saved (a field missing from what is stored takes its default). It fails
// when _params cannot be read, and with ErrInvalidStored (and the
// defaults) when what is stored is not valid settings.
func Load(ctx context.Context, d *db.DB) (Settings, error) {
	s := DefaultSettings()
	_, err := db.LoadParamJSON(ctx, d, settingsParam, &s, Settings.Validate, ErrInvalidStored)
	return s, err // the defaults, unless valid settings were stored
}

// Save validates s and stores it. Invalid settings are the BAD_USER_INPUT
// error of Validate; a storage failure is wrapped.
func Save(ctx context.Context, d *db.DB, s Settings) error {
	return db.SaveParamJSON(ctx, d, settingsParam, s, Settings.Validate)
}
