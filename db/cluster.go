package db

// Several nodes on one PostgreSQL database: what db offers the cluster
// package (events that leave inside the write transaction, a reload of the
// collection definitions changed by another node) and the lock that keeps
// collection changes of different nodes from building on stale
// definitions.

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
)

// schemaBase returns the collections a collection change starts from. On
// SQLite (one process) it is the snapshot. On PostgreSQL another node may
// have changed them since the snapshot was taken: the change takes a
// transaction-scoped advisory lock (collection changes of all nodes then
// run one at a time) and reads the definitions through q, its transaction.
func (d *DB) schemaBase(ctx context.Context, q querier) ([]*Collection, error) {
	if d.Engine() != EnginePostgres {
		return d.Collections(), nil
	}
	if _, err := q.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtext('monobase-schema:' || current_database() || ':' || COALESCE(current_schema(), '')))`); err != nil {
		return nil, fmt.Errorf("lock the collections: %w", err)
	}
	return d.readCollections(ctx, q)
}

// Reload reads the collection definitions again (another node changed
// them) and makes them current: OnSchemaChange prepares the application
// schema first, then the snapshot and the schema are swapped one after
// the other, as after a local change. A definition set that
// OnSchemaChange refuses leaves everything as it was and is returned.
func (d *DB) Reload(ctx context.Context) error {
	d.schemaMu.Lock()
	defer d.schemaMu.Unlock()
	list, err := d.readCollections(ctx, d.readers.DB)
	if err != nil {
		return err
	}
	if sameDefinitions(list, d.Collections()) {
		return nil // this node's own change, already in force
	}
	var apply func()
	if d.OnSchemaChange != nil {
		if apply, err = d.OnSchemaChange(ctx, list); err != nil {
			return fmt.Errorf("reload collections: %w", err)
		}
	}
	d.storeSnapshot(list)
	if apply != nil {
		apply()
	}
	return nil
}

// Exec runs a statement on the transaction (for packages that add to a
// commit, such as a BeforeCommit hook). Placeholders are "?" on both
// engines.
func (tx *Tx) Exec(ctx context.Context, query string, args ...any) error {
	if _, err := tx.Tx.Tx.ExecContext(ctx, query, args...); err != nil {
		return fmt.Errorf("exec: %w", err)
	}
	return nil
}

// QueryRow runs a query on the transaction and scans its one row into dst.
func (tx *Tx) QueryRow(ctx context.Context, query string, args []any, dst ...any) error {
	return tx.Tx.Tx.QueryRowContext(ctx, query, args...).Scan(dst...)
}

// beforeCommit hands events to BeforeCommit inside tx.
func (d *DB) beforeCommit(tx *Tx, events []RecordEvent) error {
	if d.BeforeCommit == nil || len(events) == 0 {
		return nil
	}
	return d.BeforeCommit(tx.ctx, tx, events)
}

// ClusterVersion returns the version several nodes keep under key in
// _cluster (PostgreSQL only; "" when none is stored yet).
func (d *DB) ClusterVersion(ctx context.Context, key string) (string, error) {
	var v string
	err := d.readers.DB.QueryRowContext(ctx, `SELECT "value" FROM "_cluster" WHERE "key" = ?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read cluster version %s: %w", key, err)
	}
	return v, nil
}

// sameDefinitions reports whether a and b define the same collections.
func sameDefinitions(a, b []*Collection) bool {
	if len(a) != len(b) {
		return false
	}
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(ja, jb)
}
