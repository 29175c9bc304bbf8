package db

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"sync/atomic"
	"testing"

	"github.com/lib/pq"
	"github.com/monobase/monobase/internal/pgdsn"
	"github.com/monobase/monobase/internal/testdb"
)

// openTestPool opens a one-connection pool of pgConns on a schema of the
// test's own, and returns it with the schema generation it watches.
func openTestPool(t *testing.T) (*sql.DB, *atomic.Uint64) {
	t.Helper()
	cfg, err := pq.NewConfig(testdb.PostgresURL(t, t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	gen := new(atomic.Uint64)
	pool, err := openPostgresPool(cfg, 1, gen)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pool.Close() })
	if _, err := pool.Exec("CREATE SCHEMA IF NOT EXISTS " + quoteIdent(firstSchema(cfg.Runtime["search_path"]))); err != nil {
		t.Fatal(err)
	}
	return pool, gen
}

func preparedCount(t *testing.T, pool *sql.DB) int {
	t.Helper()
	var n int
	// No parameters: the simple protocol, which prepares nothing.
	if err := pool.QueryRow("SELECT count(*) FROM pg_prepared_statements").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func columnsOf(t *testing.T, pool *sql.DB, query string, args ...any) ([]string, error) {
	t.Helper()
	rows, err := pool.Query(query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return rows.Columns()
}

// A connection prepares a statement with parameters once and keeps it;
// it drops them all when the schema generation moves, and drops one whose
// plan no longer fits its table (changed behind its back, as by another
// node) after the one error PostgreSQL gives.
func TestPgConnKeepsStatementsUntilTheSchemaChanges(t *testing.T) {
	pool, gen := openTestPool(t)
	if _, err := pool.Exec(`CREATE TABLE "t" ("a" INT, "b" TEXT); INSERT INTO "t" VALUES (1, 'x')`); err != nil {
		t.Fatal(err)
	}
	const q = `SELECT * FROM "t" WHERE "a" = ?`
	for range 3 {
		if cols, err := columnsOf(t, pool, q, 1); err != nil || len(cols) != 2 {
			t.Fatalf("columns %v, %v", cols, err)
		}
	}
	if n := preparedCount(t, pool); n != 1 {
		t.Fatalf("%d statements prepared after three runs of one, want 1", n)
	}

	if _, err := pool.Exec(`ALTER TABLE "t" ADD COLUMN "c" TEXT`); err != nil {
		t.Fatal(err)
	}
	_, err := columnsOf(t, pool, q, 1)
	var pe *pq.Error
	if !errors.As(err, &pe) || pe.Code != pgCachedPlanChanged {
		t.Fatalf("after a change unseen: %v, want PostgreSQL's cached plan error", err)
	}
	if cols, err := columnsOf(t, pool, q, 1); err != nil || len(cols) != 3 {
		t.Fatalf("the next run: columns %v, %v; want the statement prepared again", cols, err)
	}

	if _, err := pool.Exec(`ALTER TABLE "t" ADD COLUMN "d" TEXT`); err != nil {
		t.Fatal(err)
	}
	gen.Add(1) // what DB.storeSnapshot does
	if cols, err := columnsOf(t, pool, q, 1); err != nil || len(cols) != 4 {
		t.Fatalf("after the generation moved: columns %v, %v", cols, err)
	}
	if n := preparedCount(t, pool); n != 1 {
		t.Fatalf("%d statements prepared, want only the fresh one", n)
	}
}

// The statements a connection keeps are bounded.
func TestPgConnBoundsItsStatements(t *testing.T) {
	pool, _ := openTestPool(t)
	ctx := context.Background()
	for i := range maxPgStatements + 10 {
		var n int
		if err := pool.QueryRowContext(ctx, fmt.Sprintf("SELECT ?::int + %d", i), 1).Scan(&n); err != nil || n != i+1 {
			t.Fatalf("statement %d: %d, %v", i, n, err)
		}
	}
	if n := preparedCount(t, pool); n < 1 || n > maxPgStatements {
		t.Fatalf("%d statements prepared on the connection, want 1..%d", n, maxPgStatements)
	}
}

// A server without TLS is reached as pgx and libpq reach it (sslmode
// prefer), not refused as lib/pq's own default (require) would. The
// server here is the test PostgreSQL behind a proxy that declines TLS.
func TestPostgresWithoutTLS(t *testing.T) {
	unsetSSLMode(t)
	u, err := url.Parse(testdb.PostgresURL(t, t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	upstream := u.Host
	go declineTLS(ln, upstream)
	u.Host = ln.Addr().String()

	dsn, err := pgdsn.Complete(u.String(), nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := pq.NewConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	pool, err := openPostgresPool(cfg, 1, new(atomic.Uint64))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	var ssl bool
	if err := pool.QueryRow("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").Scan(&ssl); err != nil {
		t.Fatalf("through a server without TLS: %v", err)
	}
	if ssl {
		t.Error("the session uses TLS through a proxy that declines it")
	}
}

// declineTLS answers each connection's SSLRequest with "N" (no TLS here),
// as a server without TLS does, then relays the rest to upstream.
func declineTLS(ln net.Listener, upstream string) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			head := make([]byte, 8)
			if _, err := io.ReadFull(c, head); err != nil {
				return
			}
			if binary.BigEndian.Uint32(head[4:]) == 80877103 { // SSLRequest
				if _, err := c.Write([]byte("N")); err != nil {
					return
				}
				head = nil
			}
			up, err := net.Dial("tcp", upstream)
			if err != nil {
				return
			}
			defer up.Close()
			if _, err := up.Write(head); err != nil {
				return
			}
			go func() { _, _ = io.Copy(up, c) }()
			_, _ = io.Copy(c, up)
		}()
	}
}

// unsetSSLMode unsets PGSSLMODE for the test (lib/pq refuses it empty).
func unsetSSLMode(t *testing.T) {
	t.Setenv("PGSSLMODE", "")
	os.Unsetenv("PGSSLMODE")
}
