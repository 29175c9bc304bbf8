package migrate

import (
	"context"

	"github.com/monobase/monobase/db"
)

// Func is the up or down of a Go migration. It changes collections and
// records through tx; an error rolls all of it back.
type Func func(ctx context.Context, tx *Tx) error

// Tx is a migration in progress: its collection changes and record writes
// share one transaction, and each sees the ones before it (a collection
// created by the migration can get records in it). Record writes are
// validated as the API validates them; hooks and access rules do not run.
type Tx struct {
	m *db.MigrationTx
}

// Context returns the migration's context (reads through it see its writes).
func (t *Tx) Context() context.Context { return t.m.Context() }

// DB returns the database's migration transaction, for what Tx does not
// cover (db.MigrationTx.Records gives the record transaction).
func (t *Tx) DB() *db.MigrationTx { return t.m }

// Collection returns the collection with that id or name as the migration
// has it so far, or an apperr.NotFound error. It must not be modified: pass
// a copy to SaveCollection.
func (t *Tx) Collection(idOrName string) (*db.Collection, error) { return t.m.Collection(idOrName) }

// SaveCollection creates or updates the collection c describes (matched by
// id, then name), as SaveCollections.
func (t *Tx) SaveCollection(c *db.Collection) (*db.Collection, error) {
	out, err := t.SaveCollections(c)
	if err != nil {
		return nil, err
	}
	return out[0], nil
}

// SaveCollections creates or updates each definition (matched by id, then
// name; relation targets by id or name, also among cs) as one import. For
// a collection that exists, a field whose id it lacks takes the id of its
// field of the same name, so that a definition exported on another data
// folder updates the fields in place. Bad definitions return
// apperr.Invalid with per-field messages; cs is not modified.
func (t *Tx) SaveCollections(cs ...*db.Collection) ([]*db.Collection, error) {
	defs := make([]*db.Collection, len(cs))
	for i, c := range cs {
		defs[i] = t.matchFields(c)
	}
	return t.m.ImportCollections(defs)
}

// matchFields returns c, or a copy of it whose fields unknown by id to the
// existing collection carry the id of its field of the same name.
func (t *Tx) matchFields(c *db.Collection) *db.Collection {
	if c == nil {
		return nil
	}
	old, err := t.m.Collection(c.ID)
	if err != nil || c.ID == "" {
		if old, err = t.m.Collection(c.Name); err != nil {
			return c
		}
	}
	used := map[string]bool{}
	for _, f := range c.Fields {
		if f != nil && f.ID != "" && old.FieldByID(f.ID) != nil {
			used[f.ID] = true
		}
	}
	cp := *c
	cp.Fields = make([]*db.Field, len(c.Fields))
	for i, f := range c.Fields {
		cp.Fields[i] = f
		if f == nil || (f.ID != "" && old.FieldByID(f.ID) != nil) {
			continue
		}
		if of := old.FieldByName(f.Name); of != nil && !used[of.ID] {
			nf := *f
			nf.ID = of.ID
			used[of.ID] = true
			cp.Fields[i] = &nf
		}
	}
	return &cp
}

// DeleteCollection drops the collection (id or name) and its records.
// Relations still pointing at it fail the migration when it ends.
func (t *Tx) DeleteCollection(idOrName string) error { return t.m.DeleteCollection(idOrName) }

// CreateRecord creates a record of the collection from data (field name
// to value; "id" may be given) and returns it as stored. Bad values
// return apperr.Invalid with per-field messages.
func (t *Tx) CreateRecord(collection string, data map[string]any) (db.Record, error) {
	c, err := t.m.Collection(collection)
	if err != nil {
		return nil, err
	}
	return t.m.Records().Insert(c, db.RecordInput(data))
}

// UpdateRecord sets the fields of data on the record id of the collection
// and returns it as stored; apperr.NotFound when it does not exist.
func (t *Tx) UpdateRecord(collection, id string, data map[string]any) (db.Record, error) {
	c, err := t.m.Collection(collection)
	if err != nil {
		return nil, err
	}
	return t.m.Records().Update(c, id, db.RecordPatch{Set: db.RecordInput(data)})
}

// DeleteRecord deletes the record id of the collection (relations to it
// are handled as by the API: cascade, refuse or clear).
func (t *Tx) DeleteRecord(collection, id string) error {
	c, err := t.m.Collection(collection)
	if err != nil {
		return err
	}
	_, err = t.m.Records().Delete(c, id)
	return err
}

// Record returns the record id of the collection, or apperr.NotFound.
func (t *Tx) Record(collection, id string) (db.Record, error) {
	c, err := t.m.Collection(collection)
	if err != nil {
		return nil, err
	}
	return t.m.Record(c, id)
}
