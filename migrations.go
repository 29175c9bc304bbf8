package monobase

import (
	"context"

	"github.com/monobase/monobase/migrate"
)

// MigrationTx is a migration in progress: the collection changes and
// record writes of its up or down, all in one transaction.
type MigrationTx = migrate.Tx

// AddMigration registers a Go migration. `monobase migrate up` (and
// `serve`, at start) applies the pending migrations, these and the JSON
// files of the migrations folder, in the order of their names: give name
// a unix-seconds prefix, as in "1733140000_seed_posts". Each runs in one
// transaction with its record in the data folder, so that one that
// returns an error changes nothing. down (nil: the migration can't be
// reverted) is what `monobase migrate down` runs.
//
//	app.AddMigration("1733140000_seed_posts",
//		func(ctx context.Context, tx *monobase.MigrationTx) error {
//			_, err := tx.CreateRecord("posts", map[string]any{"title": "Hello"})
//			return err
//		}, nil)
func (a *App) AddMigration(name string, up, down func(ctx context.Context, tx *MigrationTx) error) {
	a.ext.Migrations = append(a.ext.Migrations, migrate.Migration{Name: name, Up: up, Down: down})
}
