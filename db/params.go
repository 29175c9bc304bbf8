package db

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Param returns the value stored under key in _params, or nil, false.
func (d *DB) Param(ctx context.Context, key string) ([]byte, bool, error) {
	var v []byte
	err := d.reader(ctx).QueryRowContext(ctx, `SELECT "value" FROM "_params" WHERE "key" = ?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("read param %s: %w", key, err)
	}
	return v, true, nil
}

// SetParam stores value under key in _params.
func (d *DB) SetParam(ctx context.Context, key string, value []byte) error {
	var q querier = d.writer.DB
	if tx := d.txFrom(ctx); tx != nil {
		q = tx.Tx.Tx
	}
	if value == nil {
		value = []byte{}
	}
	_, err := q.ExecContext(ctx, `INSERT INTO "_params" ("key", "value", "updated") VALUES (?, ?, ?)
ON CONFLICT ("key") DO UPDATE SET "value" = excluded."value", "updated" = excluded."updated"`, key, value, FormatDate(time.Now()))
	if err != nil {
		return fmt.Errorf("write param %s: %w", key, err)
	}
	d.paramWrites.Add(1)
	return nil
}

// LockSettings serializes reading the settings and applying them in this
// process, and returns the unlock: a reload holds it from its reads to its
// last apply, a local change from after its commit to its last apply. A
// reload that read the settings before a local change therefore never
// applies them after it (the change's own apply comes last).
func (d *DB) LockSettings() (unlock func()) {
	d.settingsMu.Lock()
	return d.settingsMu.Unlock
}

// ParamWrites counts the SetParam calls of this process so far (counted
// when written, before their transaction commits). Code that reads
// settings and applies them compares it before and after, to tell whether
// a change made here may have been applied meanwhile.
func (d *DB) ParamWrites() uint64 { return d.paramWrites.Load() }

// ParamJSON decodes the JSON stored under key into dst and reports
// whether anything was stored (dst is untouched when not). It fails when
// _params cannot be read or the value does not decode into dst.
func (d *DB) ParamJSON(ctx context.Context, key string, dst any) (bool, error) {
	raw, ok, err := d.Param(ctx, key)
	if err != nil || !ok || len(raw) == 0 {
		return false, err
	}
	if err := json.Unmarshal(raw, dst); err != nil {
		return true, fmt.Errorf("decode param %s: %w", key, err)
	}
	return true, nil
}

// SetParamJSON stores v, encoded as JSON, under key.
func (d *DB) SetParamJSON(ctx context.Context, key string, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode param %s: %w", key, err)
	}
	return d.SetParam(ctx, key, raw)
}

// LoadParamJSON reads the settings group stored under key: it decodes the
// JSON into a copy of *dst (whose values stand for what the JSON leaves
// out), checks it with valid and only then stores it in *dst. It reports
// whether anything was stored. It fails when _params cannot be read, and
// with an error wrapping invalid (dst untouched) when the value does not
// decode or valid refuses it, as for a group edited by hand.
func LoadParamJSON[T any](ctx context.Context, d *DB, key string, dst *T, valid func(T) error, invalid error) (bool, error) {
	raw, ok, err := d.Param(ctx, key)
	if err != nil {
		return false, fmt.Errorf("load %s: %w", key, err)
	}
	if !ok || len(raw) == 0 {
		return false, nil
	}
	v := *dst
	if err := json.Unmarshal(raw, &v); err != nil {
		return true, fmt.Errorf("%w: %v", invalid, err)
	}
	if err := valid(v); err != nil {
		return true, fmt.Errorf("%w: %v", invalid, err)
	}
	*dst = v
	return true, nil
}

// SaveParamJSON checks the settings group v with valid and stores it as
// JSON under key. valid's error comes back as it is (BAD_USER_INPUT for a
// group's Validate); a storage failure is wrapped.
func SaveParamJSON[T any](ctx context.Context, d *DB, key string, v T, valid func(T) error) error {
	if err := valid(v); err != nil {
		return err
	}
	if err := d.SetParamJSON(ctx, key, v); err != nil {
		return fmt.Errorf("save %s: %w", key, err)
	}
	return nil
}
