package db

// Temporary bodies; each is replaced by its real implementation.

import (
	"context"
)

type impl struct{}

func (d *DB) find(ctx context.Context, q *Query) ([]Record, error) { return nil, errTODO }
func (d *DB) findByIDs(ctx context.Context, c *Collection, ids []string, where ...Cond) ([]Record, error) {
	return nil, errTODO
}
func (d *DB) count(ctx context.Context, q *Query) (int64, error) { return 0, errTODO }
func (d *DB) aggregate(ctx context.Context, q *Query, fields []string) (map[string]map[string]any, error) {
	return nil, errTODO
}
func (d *DB) begin(ctx context.Context) (*Tx, error)                   { return nil, errTODO }
func (tx *Tx) commit() error                                           { return errTODO }
func (tx *Tx) rollback() error                                         { return errTODO }
func (tx *Tx) insert(c *Collection, input RecordInput) (Record, error) { return nil, errTODO }
func (tx *Tx) update(c *Collection, id string, patch RecordPatch) (Record, error) {
	return nil, errTODO
}
func (tx *Tx) delete(c *Collection, id string) (Record, error) { return nil, errTODO }
func open(ctx context.Context, dir string) (*DB, error)        { return nil, errTODO }
func (d *DB) close() error                                     { return errTODO }
func (d *DB) collections() []*Collection                       { return nil }
func (d *DB) collection(idOrName string) (*Collection, error)  { return nil, errTODO }
func (d *DB) createCollection(ctx context.Context, c *Collection) (*Collection, error) {
	return nil, errTODO
}
func (d *DB) updateCollection(ctx context.Context, idOrName string, c *Collection) (*Collection, error) {
	return nil, errTODO
}
func (d *DB) deleteCollection(ctx context.Context, idOrName string) error { return errTODO }
func (d *DB) importCollections(ctx context.Context, cs []*Collection, deleteMissing bool) ([]*Collection, error) {
	return nil, errTODO
}
func (d *DB) findAuthRecord(ctx context.Context, c *Collection, email string) (Record, error) {
	return nil, errTODO
}
func (d *DB) upsertSuperuser(ctx context.Context, email, password string, upsert bool) error {
	return errTODO
}
func (d *DB) deleteSuperuser(ctx context.Context, email string) error { return errTODO }

func (d *DB) param(ctx context.Context, key string) ([]byte, bool, error)  { return nil, false, errTODO }
func (d *DB) setParam(ctx context.Context, key string, value []byte) error { return errTODO }
