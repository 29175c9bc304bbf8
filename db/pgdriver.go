package db

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/lib/pq"
	"github.com/monobase/monobase/apperr"
)

// The SQL of this package is written with "?" placeholders, SQLite's and
// bun's. PostgreSQL numbers its parameters ($1, $2...), so the PostgreSQL
// pools go through pgConn, which renumbers the placeholders of every
// statement before lib/pq sees it.
//
// Prepared statements: each connection prepares a statement with
// parameters the first time it runs its text, and keeps it (at most
// maxPgStatements), so that the next run is one round trip (Bind, Execute)
// with no parsing or planning of a generic plan. Statements without
// parameters go through the simple protocol (they may hold several
// statements, as migrations do). A kept statement that selects "*" fails
// ("cached plan must not change result type") once the table's columns
// change, so each connection drops its statements when it sees that the
// schema changed (gen, bumped by DB.storeSnapshot), and drops one that
// failed that way. database/sql's own prepared statements (the read
// statement cache of records.go) would escape that, so pgConn.Prepare
// prepares nothing: its statements run through the connection's.

// maxPgStatements bounds the statements a connection keeps; past it, the
// connection drops them all and starts again.
const maxPgStatements = 512

// pgCachedPlanChanged is the SQLSTATE of "cached plan must not change
// result type" (feature_not_supported).
const pgCachedPlanChanged = "0A000"

// openPostgresPool opens a pool of at most conns connections to cfg;
// gen counts the schema changes.
func openPostgresPool(cfg pq.Config, conns int, gen *atomic.Uint64) (*sql.DB, error) {
	c, err := pq.NewConnectorConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	p := sql.OpenDB(pgConnector{c, gen})
	p.SetMaxOpenConns(conns)
	p.SetMaxIdleConns(conns)
	return p, nil
}

// pgConnector hands out pgConns.
type pgConnector struct {
	*pq.Connector
	gen *atomic.Uint64
}

// pqConn is what pgConn uses of lib/pq's connection.
type pqConn interface {
	driver.Conn
	driver.ConnPrepareContext
	driver.ConnBeginTx
	driver.ExecerContext
	driver.QueryerContext
	driver.NamedValueChecker
	driver.SessionResetter
	driver.Validator
	driver.Pinger
}

func (c pgConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	pc, ok := conn.(pqConn)
	if !ok {
		_ = conn.Close()
		return nil, fmt.Errorf("postgres: unexpected connection type %T", conn)
	}
	return &pgConn{pqConn: pc, gen: c.gen, seen: c.gen.Load(), stmts: map[string]driver.Stmt{}}, nil
}

// pgConn is lib/pq's connection with "?" placeholders renumbered and its
// statements kept until the schema changes.
type pgConn struct {
	pqConn
	gen   *atomic.Uint64
	seen  uint64 // the gen of the statements kept on the connection
	stmts map[string]driver.Stmt
}

// sync drops the connection's statements when the schema changed since
// they were prepared.
func (c *pgConn) sync(ctx context.Context) {
	if g := c.gen.Load(); g != c.seen && c.dropStatements(ctx) == nil {
		c.seen = g
	}
}

// dropStatements deallocates every statement of the connection.
func (c *pgConn) dropStatements(ctx context.Context) error {
	if len(c.stmts) == 0 {
		return nil
	}
	if _, err := c.pqConn.ExecContext(ctx, "DEALLOCATE ALL", nil); err != nil {
		return err
	}
	clear(c.stmts)
	return nil
}

// stmt returns the connection's statement of query, preparing it on
// first use.
func (c *pgConn) stmt(ctx context.Context, query string) (driver.Stmt, error) {
	if st, ok := c.stmts[query]; ok {
		return st, nil
	}
	if len(c.stmts) >= maxPgStatements {
		if err := c.dropStatements(ctx); err != nil {
			return nil, err
		}
	}
	st, err := c.pqConn.PrepareContext(ctx, rebind(query))
	if err != nil {
		return nil, err
	}
	c.stmts[query] = st
	return st, nil
}

// forget drops the statement of query when err says its plan no longer
// fits the table (changed by another node before this one heard of it).
func (c *pgConn) forget(query string, err error) {
	if pe, ok := errors.AsType[*pq.Error](err); ok && pe.Code == pgCachedPlanChanged {
		if st, ok := c.stmts[query]; ok {
			delete(c.stmts, query)
			_ = st.Close()
		}
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
	if len(args) == 0 {
		return c.pqConn.ExecContext(ctx, query, nil)
	}
	st, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	res, err := st.(driver.StmtExecContext).ExecContext(ctx, args)
	if err != nil {
		c.forget(query, err)
	}
	return res, err
}

func (c *pgConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	c.sync(ctx)
	if len(args) == 0 {
		return c.pqConn.QueryContext(ctx, query, nil)
	}
	st, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	rows, err := st.(driver.StmtQueryContext).QueryContext(ctx, args)
	if err != nil {
		c.forget(query, err)
	}
	return rows, err
}

// pgStmt is a statement of database/sql's: it runs its text on the
// connection (which prepares and keeps it).
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
// lib/pq's check.
func (c *pgConn) CheckNamedValue(nv *driver.NamedValue) error {
	if s, ok := nv.Value.(string); ok && strings.IndexByte(s, 0) >= 0 {
		return errNUL
	}
	return c.pqConn.CheckNamedValue(nv)
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
