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
	return nil
}

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
