package db

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/monobase/monobase/apperr"
)

// The SQL of this package is written with "?" placeholders, SQLite's and
// bun's. PostgreSQL numbers its parameters ($1, $2...), so the PostgreSQL
// pools go through pgConn, which renumbers the placeholders of every
// statement before pgx sees it. Everything else is pgx's stdlib driver.
//
// Prepared statements: pgx prepares and caches every statement of a
// connection by its text. A cached statement that selects "*" fails
// ("cached plan must not change result type") once the table's columns
// change, so each connection drops its statements when it sees that the
// schema changed (gen, bumped by DB.storeSnapshot). database/sql's own
// prepared statements (the read statement cache of records.go) would
// escape that, so pgConn.Prepare prepares nothing: its statements run
// through pgx's cache.

// openPostgresPool opens a pool of at most conns connections to cfg;
// gen counts the schema changes.
func openPostgresPool(cfg *pgx.ConnConfig, conns int, gen *atomic.Uint64) *sql.DB {
	p := sql.OpenDB(pgConnector{stdlib.GetConnector(*cfg), gen})
	p.SetMaxOpenConns(conns)
	p.SetMaxIdleConns(conns)
	return p
}

// pgConnector hands out pgConns.
type pgConnector struct {
	driver.Connector
	gen *atomic.Uint64
}

func (c pgConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	sc, ok := conn.(*stdlib.Conn)
	if !ok {
		_ = conn.Close()
		return nil, fmt.Errorf("postgres: unexpected connection type %T", conn)
	}
	return &pgConn{Conn: sc, gen: c.gen, seen: c.gen.Load()}, nil
}

// pgConn is pgx's connection with "?" placeholders renumbered and its
// statements dropped after a schema change.
type pgConn struct {
	*stdlib.Conn
	gen  *atomic.Uint64
	seen uint64 // the gen of the statements cached on the connection
}

// sync drops the connection's prepared statements when the schema
// changed since they were prepared.
func (c *pgConn) sync(ctx context.Context) {
	g := c.gen.Load()
	if g == c.seen {
		return
	}
	if err := c.Conn.Conn().DeallocateAll(ctx); err == nil {
		c.seen = g
	}
}

func (c *pgConn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

func (c *pgConn) PrepareContext(_ context.Context, query string) (driver.Stmt, error) {
	return &pgStmt{c: c, query: query}, nil
}

func (c *pgConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	c.sync(ctx)
	return c.Conn.ExecContext(ctx, rebind(query), args)
}

func (c *pgConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	c.sync(ctx)
	return c.Conn.QueryContext(ctx, rebind(query), args)
}

// pgStmt is a statement of database/sql's: it runs its text on the
// connection (where pgx prepares and caches it).
type pgStmt struct {
	c     *pgConn
	query string
}

func (s *pgStmt) Close() error  { return nil }
func (s *pgStmt) NumInput() int { return -1 }

func (s *pgStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	return s.c.ExecContext(ctx, s.query, args)
}

func (s *pgStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	return s.c.QueryContext(ctx, s.query, args)
}

func (s *pgStmt) Exec(args []driver.Value) (driver.Result, error) {
	return s.ExecContext(context.Background(), named(args))
}

func (s *pgStmt) Query(args []driver.Value) (driver.Rows, error) {
	return s.QueryContext(context.Background(), named(args))
}

func named(args []driver.Value) []driver.NamedValue {
	out := make([]driver.NamedValue, len(args))
	for i, a := range args {
		out[i] = driver.NamedValue{Ordinal: i + 1, Value: a}
	}
	return out
}

// CheckNamedValue refuses text holding a NUL character, which
// PostgreSQL cannot store or compare (SQLite can): the caller gets a
// BAD_USER_INPUT error instead of an internal one. Everything else is
// pgx's check.
func (c pgConn) CheckNamedValue(nv *driver.NamedValue) error {
	if s, ok := nv.Value.(string); ok && strings.IndexByte(s, 0) >= 0 {
		return errNUL
	}
	return c.Conn.CheckNamedValue(nv)
}

var errNUL = apperr.New(apperr.Invalid, "text can't hold the NUL character (\\u0000) on PostgreSQL")

// rebind returns query with each "?" placeholder replaced by $1, $2...
// in order. Question marks inside string literals, quoted identifiers and
// comments are left alone.
func rebind(query string) string {
	if !strings.Contains(query, "?") {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 16)
	n := 0
	for i := 0; i < len(query); i++ {
		ch := query[i]
		switch {
		case ch == '\'' || ch == '"':
			j := i + 1
			for j < len(query) {
				if query[j] == ch {
					if j+1 < len(query) && query[j+1] == ch { // doubled quote
						j += 2
						continue
					}
					break
				}
				j++
			}
			b.WriteString(query[i:min(j+1, len(query))])
			i = j
		case ch == '-' && i+1 < len(query) && query[i+1] == '-':
			j := strings.IndexByte(query[i:], '\n')
			if j < 0 {
				b.WriteString(query[i:])
				return b.String()
			}
			b.WriteString(query[i : i+j])
			i += j - 1
		case ch == '/' && i+1 < len(query) && query[i+1] == '*':
			j := strings.Index(query[i+2:], "*/")
			if j < 0 {
				b.WriteString(query[i:])
				return b.String()
			}
			b.WriteString(query[i : i+2+j+2])
			i += 2 + j + 1
		case ch == '?':
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
		default:
			b.WriteByte(ch)
		}
	}
	return b.String()
}
