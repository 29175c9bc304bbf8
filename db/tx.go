package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/monobase/monobase/apperr"
)

// Begin starts a write transaction. Writes are serialized: one at a time;
// on SQLite, transactions that queue for the writer share a commit
// (groupcommit.go).
func (d *DB) Begin(ctx context.Context) (*Tx, error) {
	if d.txFrom(ctx) != nil {
		return nil, apperr.Wrap(errors.New("Begin with a context that already carries a transaction would deadlock"), "nested transaction")
	}
	if d.pgDSN == "" {
		return d.beginGrouped(ctx) // groupcommit.go
	}
	d.prepareTxReads(ctx) // records.go
	btx, err := d.writer.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("begin: %w", err)
	}
	tx := &Tx{Tx: btx, db: d}
	tx.ctx = context.WithValue(ctx, txKey{}, tx)
	return tx, nil
}

// Commit commits and then delivers the queued record events.
func (tx *Tx) Commit() error {
	if tx.group != nil {
		return tx.commitMember()
	}
	d := tx.db
	// Holding commitMu from the commit through the delivery keeps events
	// in commit order: the next transaction can only commit after this one.
	d.commitMu.Lock()
	defer d.commitMu.Unlock()
	events := tx.events
	tx.events = nil
	if err := d.beforeCommit(tx, events); err != nil {
		_ = tx.Tx.Rollback()
		return fmt.Errorf("commit: %w", err)
	}
	if err := tx.Tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	if d.OnRecordChange != nil {
		for _, ev := range events {
			d.OnRecordChange(ev)
		}
	}
	return nil
}

// Rollback rolls back; queued events are dropped. Safe after Commit.
func (tx *Tx) Rollback() error {
	if tx.group != nil {
		tx.rollbackMember()
		return nil
	}
	tx.events = nil
	if err := tx.Tx.Rollback(); err != nil && !errors.Is(err, sql.ErrTxDone) {
		return fmt.Errorf("rollback: %w", err)
	}
	return nil
}

// Deleted returns the events of the records tx has deleted so far,
// cascade deletes included, in order: Collection and Record (as it was)
// name the record. It is empty after Commit or Rollback. The caller must
// not change the records.
func (tx *Tx) Deleted() []RecordEvent {
	var out []RecordEvent
	for _, ev := range tx.events {
		if ev.Action == ActionDelete {
			out = append(out, ev)
		}
	}
	return out
}

// exec runs a write in tx through the writer's prepared statement for
// query once it has one (txStmtCache in records.go): a create then parses
// no SQL.
func (tx *Tx) exec(query string, args ...any) error {
	if st := tx.db.reads.txStmts.get(query); st != nil {
		_, err := tx.Tx.Tx.StmtContext(tx.ctx, st).ExecContext(tx.ctx, args...)
		return err
	}
	_, err := tx.Tx.Tx.ExecContext(tx.ctx, query, args...)
	return err
}

// query runs a read in tx through the writer's prepared statement for
// query once it has one (txStmtCache in records.go).
func (tx *Tx) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := tx.db.reads.txStmts.get(query); st != nil {
		// Tx.StmtContext reuses the statement prepared on this connection.
		return tx.Tx.Tx.StmtContext(ctx, st).QueryContext(ctx, args...)
	}
	return tx.Tx.Tx.QueryContext(ctx, query, args...)
}

// exists reports whether query, run in tx, returns a row.
func (tx *Tx) exists(query string, args ...any) (bool, error) {
	rows, err := tx.query(tx.ctx, query, args...)
	if err != nil {
		return false, err
	}
	defer rows.Close()
	if rows.Next() {
		return true, nil
	}
	return false, rows.Err()
}

// scanIDs adds the ids query returns (its one column) to have.
func (tx *Tx) scanIDs(query string, arg any, have map[string]bool) error {
	rows, err := tx.query(tx.ctx, query, arg)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return err
		}
		have[id] = true
	}
	return rows.Err()
}

// queue records an event for delivery after the commit; the records are
// copied so that callers may change theirs.
func (tx *Tx) queue(action Action, c *Collection, rec, old Record) {
	tx.events = append(tx.events, RecordEvent{Action: action, Collection: c, Record: cloneRecord(rec), Old: cloneRecord(old)})
}

func cloneRecord(r Record) Record {
	if r == nil {
		return nil
	}
	out := make(Record, len(r))
	for k, v := range r {
		if l, ok := v.([]string); ok {
			v = append([]string{}, l...)
		}
		out[k] = v
	}
	return out
}

// snapshot returns the collection definitions tx writes under.
func (tx *Tx) snapshot() *snapshot {
	if tx.schema != nil {
		return tx.schema
	}
	return tx.db.snap.Load()
}

// collection returns the collection with that id or name among tx's
// definitions, or apperr.NotFound.
func (tx *Tx) collection(idOrName string) (*Collection, error) {
	if s := tx.snapshot(); s != nil {
		if c := s.byID[idOrName]; c != nil {
			return c, nil
		}
		if c := s.byName[idOrName]; c != nil {
			return c, nil
		}
	}
	return nil, apperr.New(apperr.NotFound, "collection %q not found", idOrName)
}
