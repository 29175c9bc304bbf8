package db

// The app's migrations (package migrate): each runs in one write
// transaction that holds its collection changes, its record writes and
// its row in "_appMigrations", so that a failed migration changes nothing.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/monobase/monobase/apperr"
)

// AppliedMigration is a migration recorded in "_appMigrations".
type AppliedMigration struct {
	Name    string
	Applied time.Time
}

// AppliedMigrations returns the applied migrations in the order they were
// applied, or a wrapped error when the table cannot be read.
func (d *DB) AppliedMigrations(ctx context.Context) ([]AppliedMigration, error) {
	rows, err := d.writer.DB.QueryContext(ctx, `SELECT "name", "applied" FROM "_appMigrations" ORDER BY "seq"`)
	if err != nil {
		return nil, fmt.Errorf("read applied migrations: %w", err)
	}
	defer rows.Close()
	var out []AppliedMigration
	for rows.Next() {
		var m AppliedMigration
		var at string
		if err := rows.Scan(&m.Name, &at); err != nil {
			return nil, fmt.Errorf("read applied migrations: %w", err)
		}
		m.Applied, _ = time.Parse(DateLayout, at)
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read applied migrations: %w", err)
	}
	return out, nil
}

// recordMigration adds name to the applied migrations (up) or removes it
// (down) through q; apperr.Conflict when it already is (up) or is not
// (down) applied.
func recordMigration(ctx context.Context, q querier, name string, up bool) error {
	var one int
	err := q.QueryRowContext(ctx, `SELECT 1 FROM "_appMigrations" WHERE "name" = ?`, name).Scan(&one)
	applied := err == nil
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("read migration %s: %w", name, err)
	}
	switch {
	case up && applied:
		return apperr.New(apperr.Conflict, "the migration %q is already applied", name)
	case !up && !applied:
		return apperr.New(apperr.Conflict, "the migration %q is not applied", name)
	case up:
		_, err = q.ExecContext(ctx, `INSERT INTO "_appMigrations" ("name", "applied") VALUES (?, ?)`, name, FormatDate(time.Now()))
	default:
		_, err = q.ExecContext(ctx, `DELETE FROM "_appMigrations" WHERE "name" = ?`, name)
	}
	if err != nil {
		return fmt.Errorf("record migration %s: %w", name, err)
	}
	return nil
}

// MigrationTx is a migration in progress: collection changes and record
// writes in one transaction. It is valid only inside the function given
// to ApplyMigration or RevertMigration.
type MigrationTx struct {
	s       *schemaTx
	tx      *Tx
	changed bool // a collection was created, updated or deleted
}

// Context returns the migration's context: reads through it (Find and
// friends) see the migration's writes.
func (m *MigrationTx) Context() context.Context { return m.tx.ctx }

// Collection returns the collection with that id or name as the migration
// has it so far, or apperr.NotFound. It must not be modified.
func (m *MigrationTx) Collection(idOrName string) (*Collection, error) {
	if c := m.s.byID(idOrName); c != nil {
		return c, nil
	}
	if c := m.s.byName(idOrName); c != nil {
		return c, nil
	}
	return nil, apperr.New(apperr.NotFound, "collection %q not found", idOrName)
}

// Collections returns the collections as the migration has them so far,
// in creation order. They must not be modified.
func (m *MigrationTx) Collections() []*Collection { return slices.Clone(m.s.cols) }

// ImportCollections creates or updates each of cs as ImportCollections of
// DB does (matched by id, then name; relations may point at collections of
// cs). Relations to collections that do not exist are checked when the
// migration ends. Bad definitions are apperr.Invalid.
func (m *MigrationTx) ImportCollections(cs []*Collection) ([]*Collection, error) {
	ids, err := m.s.importDefs(cs, false)
	m.s.pending = nil
	if err != nil {
		return nil, err
	}
	m.schemaChanged()
	out := make([]*Collection, len(ids))
	for i, id := range ids {
		out[i] = m.s.byID(id)
	}
	return out, nil
}

// DeleteCollection drops the collection and its table. System collections
// are refused; relations still pointing at it fail the migration when it
// ends (apperr.Invalid).
func (m *MigrationTx) DeleteCollection(idOrName string) error {
	c, err := m.Collection(idOrName)
	if err != nil {
		return err
	}
	var fe apperr.FieldErrors
	m.s.remove(c, "", &fe)
	if err := fe.Err("can't delete the collection"); err != nil {
		return err
	}
	m.schemaChanged()
	return nil
}

func (m *MigrationTx) schemaChanged() {
	m.changed = true
	m.tx.schema = newSnapshot(slices.Clone(m.s.cols))
}

// Records returns the record transaction of the migration (Insert,
// Update, Delete), which writes under the migration's collections.
func (m *MigrationTx) Records() *Tx { return m.tx }

// Find reads records inside the migration (its writes included).
func (m *MigrationTx) Find(q *Query) ([]Record, error) { return m.tx.db.Find(m.tx.ctx, q) }

// Record returns the record id of the collection, or apperr.NotFound.
func (m *MigrationTx) Record(c *Collection, id string) (Record, error) {
	return m.tx.getByID(c, id)
}

// ApplyMigration runs fn as the migration name in one write transaction
// and records name as applied in it. When fn or the new schema's checks
// (OnSchemaChange) fail, nothing changes and the error is returned;
// apperr.Conflict when name is already applied.
func (d *DB) ApplyMigration(ctx context.Context, name string, fn func(m *MigrationTx) error) error {
	return d.runMigration(ctx, name, true, fn)
}

// RevertMigration runs fn, the down of the migration name, in one write
// transaction and removes name from the applied migrations in it; as
// ApplyMigration, and apperr.Conflict when name is not applied.
func (d *DB) RevertMigration(ctx context.Context, name string, fn func(m *MigrationTx) error) error {
	return d.runMigration(ctx, name, false, fn)
}

func (d *DB) runMigration(ctx context.Context, name string, up bool, fn func(m *MigrationTx) error) error {
	if d.txFrom(ctx) != nil {
		return apperr.Wrap(errors.New("migration inside an open record transaction would deadlock"), "migration failed")
	}
	d.schemaMu.Lock()
	defer d.schemaMu.Unlock()
	d.prepareTxReads(ctx)
	btx, err := d.writer.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin migration %s: %w", name, err)
	}
	done := false
	defer func() {
		if !done {
			_ = btx.Rollback()
		}
	}()
	tx := &Tx{Tx: btx, db: d}
	tx.ctx = context.WithValue(ctx, txKey{}, tx)
	base, err := d.schemaBase(ctx, btx.Tx) // cluster.go
	if err != nil {
		return err
	}
	m := &MigrationTx{tx: tx, s: &schemaTx{
		d: d, ctx: tx.ctx, tx: btx, q: btx.Tx,
		now:       time.Now().UTC().Truncate(time.Millisecond),
		cols:      slices.Clone(base),
		dirty:     map[string]bool{},
		fieldKeys: map[*Field]string{},
	}}
	if err := recordMigration(tx.ctx, btx.Tx, name, up); err != nil {
		return err
	}
	if err := fn(m); err != nil {
		return err
	}
	var apply func()
	if m.changed {
		if err := m.s.finish(); err != nil {
			return err
		}
		if d.OnSchemaChange != nil {
			if apply, err = d.OnSchemaChange(ctx, m.s.cols); err != nil {
				return err
			}
		}
	}
	d.commitMu.Lock()
	defer d.commitMu.Unlock()
	events := tx.events
	tx.events = nil
	if err := d.beforeCommit(tx, events); err != nil {
		return fmt.Errorf("commit migration %s: %w", name, err)
	}
	if err := btx.Commit(); err != nil {
		return fmt.Errorf("commit migration %s: %w", name, err)
	}
	done = true
	if m.changed {
		d.storeSnapshot(m.s.cols)
		if apply != nil {
			apply()
		}
	}
	if d.OnRecordChange != nil {
		for _, ev := range events {
			d.OnRecordChange(ev)
		}
	}
	return nil
}
