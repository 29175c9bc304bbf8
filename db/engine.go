package db

import (
	"context"
	"fmt"
	"runtime"
	"strings"

	"github.com/lib/pq"
	"github.com/monobase/monobase/internal/pgdsn"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
)

// Engine names the database engine behind a DB.
type Engine string

// The engines.
const (
	EngineSQLite   Engine = "sqlite"   // embedded, dir/data.db (the default)
	EnginePostgres Engine = "postgres" // a PostgreSQL server (WithPostgres)
)

// WithPostgres makes Open use the PostgreSQL database at dsn (a
// "postgres://" URL or a key=value string) instead of dir/data.db. A
// search_path parameter in dsn selects the schema Monobase keeps its
// tables in; Open creates it when it is missing. dir still holds what
// stays on each node (the auxiliary database of logs, local files).
func WithPostgres(dsn string) Option { return func(d *DB) { d.pgDSN = dsn } }

// Engine returns the engine d runs on.
func (d *DB) Engine() Engine {
	if d.pgDSN != "" {
		return EnginePostgres
	}
	return EngineSQLite
}

// IsPostgresURL reports whether s names a PostgreSQL database (what
// --db takes besides the default).
func IsPostgresURL(s string) bool {
	return pgdsn.IsURL(s)
}

// openPostgres opens the pools of d on d.pgDSN and brings the schema up to
// date: the first node to take the schema's advisory lock runs the
// migrations and creates the system collections; the others wait for it.
func (d *DB) openPostgres(ctx context.Context) error {
	dsn, err := pgdsn.Complete(d.pgDSN, nil)
	if err != nil {
		return fmt.Errorf("parse the PostgreSQL URL: %s", redactDSN(err.Error(), d.pgDSN))
	}
	cfg, err := pq.NewConfig(dsn)
	if err != nil {
		return fmt.Errorf("parse the PostgreSQL URL: %s", redactDSN(err.Error(), d.pgDSN))
	}
	schema := firstSchema(cfg.Runtime["search_path"])
	wsql, err := openPostgresPool(cfg, 1, &d.schemaGen)
	if err != nil {
		return fmt.Errorf("PostgreSQL: %s", redactDSN(err.Error(), d.pgDSN))
	}
	d.writer = bun.NewDB(wsql, pgdialect.New())
	readers := max(4, 2*runtime.GOMAXPROCS(0))
	// The readers are read-only, as SQLite's are (query_only).
	rcfg := cfg.Clone()
	if rcfg.Runtime == nil {
		rcfg.Runtime = map[string]string{}
	}
	rcfg.Runtime["default_transaction_read_only"] = "on"
	rsql, err := openPostgresPool(rcfg, readers, &d.schemaGen)
	if err != nil {
		return fmt.Errorf("PostgreSQL: %s", redactDSN(err.Error(), d.pgDSN))
	}
	d.readers = bun.NewDB(rsql, pgdialect.New())
	if err := wsql.PingContext(ctx); err != nil {
		return fmt.Errorf("connect to PostgreSQL: %s", redactDSN(err.Error(), d.pgDSN))
	}
	if schema != "" {
		if _, err := wsql.ExecContext(ctx, "CREATE SCHEMA IF NOT EXISTS "+quoteIdent(schema)); err != nil {
			return fmt.Errorf("create schema %s: %w", schema, err)
		}
	}
	// The lock is held on a reader connection: the writer's single
	// connection runs the migrations.
	lock, err := d.readers.DB.Conn(ctx)
	if err != nil {
		return fmt.Errorf("lock the schema: %w", err)
	}
	defer lock.Close()
	if _, err := lock.ExecContext(ctx, `SELECT pg_advisory_lock(hashtext('monobase:' || current_database() || ':' || COALESCE(current_schema(), '')))`); err != nil {
		return fmt.Errorf("lock the schema: %w", err)
	}
	defer func() {
		_, _ = lock.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(hashtext('monobase:' || current_database() || ':' || COALESCE(current_schema(), '')))`)
	}()
	if err := runMigrations(ctx, d.writer, d.Engine()); err != nil {
		return err
	}
	if err := d.load(ctx); err != nil {
		return err
	}
	return d.bootstrap(ctx)
}

// firstSchema returns the first schema a search_path names ("" for none).
func firstSchema(path string) string {
	first, _, _ := strings.Cut(path, ",")
	first = strings.Trim(strings.TrimSpace(first), `"`)
	if first == "$user" {
		return ""
	}
	return first
}

// redactDSN removes the password of dsn from msg.
func redactDSN(msg, dsn string) string {
	cfg, err := pq.NewConfig(dsn)
	if err != nil || cfg.Password == "" {
		return msg
	}
	return strings.ReplaceAll(msg, cfg.Password, "xxxxx")
}
