// Package testdb picks the database engine of a test run. By default tests
// use SQLite in their temp folders; when MONOBASE_TEST_DB names a
// PostgreSQL server (postgres://...), every data folder of a test gets a
// fresh schema on it instead, dropped when the test ends. The same
// folder always gets the same schema, so a test can close and reopen its
// data. ./scripts/test.sh runs the suites once per engine.
package testdb

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/lib/pq" // the "postgres" database/sql driver

	"github.com/monobase/monobase/internal/pgdsn"
)

// Env is the variable that selects PostgreSQL for a test run.
const Env = "MONOBASE_TEST_DB"

// Postgres reports whether the run uses PostgreSQL.
func Postgres() bool { return strings.HasPrefix(os.Getenv(Env), "postgres") }

var (
	mu      sync.Mutex
	schemas = map[string]string{} // data folder -> URL
)

// URL returns the --db value for the data folder dir: "" on SQLite, else
// the server's URL with a search_path of a schema of its own (created by
// Monobase on open, dropped at the end of t).
func URL(t testing.TB, dir string) string {
	t.Helper()
	if !Postgres() {
		return ""
	}
	return schemaURL(t, dir, os.Getenv(Env))
}

// LocalPostgres is the server PostgresURL uses when MONOBASE_TEST_DB
// names none.
const LocalPostgres = "postgres://postgres@127.0.0.1:5432/postgres"

// PostgresURL is URL on PostgreSQL whatever the run's engine: the server
// of MONOBASE_TEST_DB, else LocalPostgres. Tests of what exists only on
// PostgreSQL (several nodes) use it; it fails t when the server does not
// answer.
func PostgresURL(t testing.TB, dir string) string {
	t.Helper()
	base := LocalPostgres
	if Postgres() {
		base = os.Getenv(Env)
	}
	db, err := openPostgres(base)
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err = db.PingContext(ctx)
		cancel()
		db.Close()
	}
	if err != nil {
		t.Fatalf("this test needs PostgreSQL at %s (set %s to another server): %v", base, Env, err)
	}
	return schemaURL(t, dir, base)
}

// openPostgres opens the server of base as Monobase would (pgdsn).
func openPostgres(base string) (*sql.DB, error) {
	dsn, err := pgdsn.Complete(base, nil)
	if err != nil {
		return nil, err
	}
	return sql.Open("postgres", dsn)
}

// schemaURL returns base with the search_path of dir's schema.
func schemaURL(t testing.TB, dir, base string) string {
	t.Helper()
	mu.Lock()
	defer mu.Unlock()
	if u, ok := schemas[dir]; ok {
		return u
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "t_" + hex.EncodeToString(b)
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("%s: %v", Env, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	schemas[dir] = u.String()
	t.Cleanup(func() { drop(t, base, schema) })
	return u.String()
}

// drop removes schema and everything in it.
func drop(t testing.TB, base, schema string) {
	db, err := openPostgres(base)
	if err != nil {
		t.Logf("drop schema %s: %v", schema, err)
		return
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := db.ExecContext(ctx, `DROP SCHEMA IF EXISTS "`+schema+`" CASCADE`); err != nil {
		t.Logf("drop schema %s: %v", schema, err)
	}
}
