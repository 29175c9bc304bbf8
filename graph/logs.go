package graph

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/monobase/monobase/db"
	"github.com/monobase/monobase/graph/model"
	"github.com/monobase/monobase/logs"
)

// WithLogs serves logs and logStats from s, and makes updateSettings put
// settings.logs in force on s at once. Without it those queries fail and
// settings.logs is read from (and saved to) the database only.
func WithLogs(s *logs.Service) Option { return func(r *Resolver) { r.logs = s } }

// logService returns the logs service, or an internal error when none is
// set.
func (r *Resolver) logService() (*logs.Service, error) {
	if r.logs == nil {
		return nil, internal(errors.New("request logs are not configured on this server"))
	}
	return r.logs, nil
}

// logSettings returns the settings in force, else the stored ones.
func (r *Resolver) logSettings(ctx context.Context) (logs.Settings, error) {
	if r.logs != nil {
		return r.logs.Settings(), nil
	}
	s, err := logs.Load(ctx, r.db)
	if err != nil && !errors.Is(err, logs.ErrInvalidStored) {
		return s, fmt.Errorf("load log settings: %w", err)
	}
	return s, nil
}

// logsOut returns the admin API view of s.
func logsOut(s logs.Settings) *model.LogSettings {
	return &model.LogSettings{MaxDays: s.MaxDays, MinLevel: s.MinLevel, LogIP: s.LogIP, LogAuthID: s.LogAuthID}
}

// applyLogsInput sets the fields in gives.
func applyLogsInput(s *logs.Settings, in *model.LogSettingsInput) {
	if in.MaxDays != nil {
		s.MaxDays = *in.MaxDays
	}
	if in.MinLevel != nil {
		s.MinLevel = *in.MinLevel
	}
	if in.LogIP != nil {
		s.LogIP = *in.LogIP
	}
	if in.LogAuthID != nil {
		s.LogAuthID = *in.LogAuthID
	}
}

// logEntriesOut returns the admin API view of list.
func logEntriesOut(list []db.LogEntry) ([]*model.LogEntry, error) {
	out := make([]*model.LogEntry, 0, len(list))
	for _, e := range list {
		data := map[string]any{}
		if err := json.Unmarshal([]byte(e.Data), &data); err != nil {
			return nil, internal(fmt.Errorf("log entry %d: data: %w", e.ID, err))
		}
		out = append(out, &model.LogEntry{ID: strconv.FormatInt(e.ID, 10), Created: e.Created, Level: e.Level, Message: e.Message, Data: data})
	}
	return out, nil
}
