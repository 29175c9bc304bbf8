package db

import "database/sql"

// PoolStats returns the database/sql statistics of the single writer
// connection and of the reader pool (for metrics). It may be called after
// Close: the counts are then the final ones.
func (d *DB) PoolStats() (writer, readers sql.DBStats) {
	return d.writer.Stats(), d.readers.Stats()
}
