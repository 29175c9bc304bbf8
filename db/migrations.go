package db

import (
	"context"
	"embed"
	"fmt"
	"io/fs"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/migrate"
)

// The system tables are versioned SQL migrations (bun/migrate file names:
// <version>_<name>.tx.up.sql, each run in its own transaction). Add a new
// file for every change; never edit an applied one.
//
// PostgreSQL has its own copy of each file in migrations_pg, with its
// types.
//
//go:embed migrations/*.sql migrations_pg/*.sql
var migrationFiles embed.FS

func systemMigrations(e Engine) (*migrate.Migrations, error) {
	folder := "migrations"
	if e == EnginePostgres {
		folder = "migrations_pg"
	}
	sub, err := fs.Sub(migrationFiles, folder)
	if err != nil {
		return nil, fmt.Errorf("migrations folder: %w", err)
	}
	ms := migrate.NewMigrations()
	if err := ms.Discover(sub); err != nil {
		return nil, fmt.Errorf("discover migrations: %w", err)
	}
	return ms, nil
}

// runMigrations applies the system migrations that the database lacks.
func runMigrations(ctx context.Context, w *bun.DB, e Engine) error {
	ms, err := systemMigrations(e)
	if err != nil {
		return err
	}
	m := migrate.NewMigrator(w, ms,
		migrate.WithTableName("_migrations"),
		migrate.WithLocksTableName("_migration_locks"),
		migrate.WithMarkAppliedOnSuccess(true),
	)
	if err := m.Init(ctx); err != nil {
		return fmt.Errorf("init migrations: %w", err)
	}
	if _, err := m.Migrate(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}
