// Package dbtest opens the database of a test on the engine of the test
// run (package testdb): SQLite in the given folder, or a fresh PostgreSQL
// schema for that folder when MONOBASE_TEST_DB is set.
package dbtest

import (
	"context"
	"testing"

	"github.com/monobase/monobase/db"
	"github.com/monobase/monobase/internal/testdb"
)

// Open is db.Open on the test run's engine.
func Open(t testing.TB, ctx context.Context, dir string, opts ...db.Option) (*db.DB, error) {
	t.Helper()
	if u := testdb.URL(t, dir); u != "" {
		opts = append(opts, db.WithPostgres(u))
	}
	return db.Open(ctx, dir, opts...)
}
