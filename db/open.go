package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/monobase/monobase/apperr"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/sqlitedialect"
	_ "modernc.org/sqlite" // the "sqlite" database/sql driver
)

// impl is the unexported state of DB.
type impl struct {
	snap atomic.Pointer[snapshot]
	// schemaMu serializes collection changes from their read of the
	// snapshot to the swap of the new one.
	schemaMu sync.Mutex
	// commitMu makes record events leave in commit order.
	commitMu sync.Mutex
	// gate hands the SQLite writer to transactions and groups their
	// commits (groupcommit.go).
	gate   writerGate
	closed atomic.Bool
	// pgDSN is the PostgreSQL database of WithPostgres ("" for SQLite).
	pgDSN string
	// schemaGen counts the snapshots stored: PostgreSQL connections drop
	// their prepared statements when it changes (pgdriver.go).
	schemaGen atomic.Uint64
	// reads holds the reader pool's prepared statements (records.go).
	reads readState
	// mem holds the in-memory matching of ReadMatch (memmatch.go).
	mem memMatchState
	// paramWrites counts this process's writes to _params (ParamWrites).
	paramWrites atomic.Uint64
	// settingsMu orders settings reloads and local changes (LockSettings).
	settingsMu sync.Mutex
}

// snapshot is an immutable view of the collection definitions.
type snapshot struct {
	list   []*Collection
	byID   map[string]*Collection
	byName map[string]*Collection
	// refs lists, per target collection id, the relation fields pointing at it.
	refs map[string][]fieldRef
}

// fieldRef is a relation field of a collection.
type fieldRef struct {
	c *Collection
	f *Field
}

// storeSnapshot makes list the collection definitions of d.
func (d *DB) storeSnapshot(list []*Collection) {
	d.snap.Store(newSnapshot(list))
	d.schemaGen.Add(1)
}

func newSnapshot(list []*Collection) *snapshot {
	s := &snapshot{
		list:   list,
		byID:   make(map[string]*Collection, len(list)),
		byName: make(map[string]*Collection, len(list)),
		refs:   map[string][]fieldRef{},
	}
	for _, c := range list {
		s.byID[c.ID] = c
		s.byName[c.Name] = c
		for _, f := range c.Fields {
			if f.Type == FieldRelation && f.Collection != "" {
				s.refs[f.Collection] = append(s.refs[f.Collection], fieldRef{c, f})
			}
		}
	}
	return s
}

// dsnPragmas are applied to every connection (see modernc.org/sqlite's
// applyQueryParams: _pragma values run as "pragma <value>").
const dsnPragmas = "_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(ON)&_pragma=synchronous(NORMAL)"

// readerPragmas are those of the reader pools: they never write.
const readerPragmas = "_pragma=busy_timeout(5000)&_pragma=query_only(1)"

// dataFile returns dir/name, creating dir; what names the database in
// errors ("database", "auxiliary database").
func dataFile(dir, name, what string) (string, error) {
	if dir == "" {
		return "", fmt.Errorf("open %s: empty data folder", what)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("open %s: create data folder: %w", what, err)
	}
	path := filepath.Join(dir, name)
	if strings.ContainsAny(path, "?#") {
		return "", fmt.Errorf("open %s: the path %q must not contain ? or #", what, path)
	}
	return path, nil
}

// openPool opens a pool of at most conns SQLite connections on dsn, all
// kept open for the life of the pool.
func openPool(dsn string, conns int) (*sql.DB, error) {
	p, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	p.SetMaxOpenConns(conns)
	p.SetMaxIdleConns(conns)
	p.SetConnMaxLifetime(0)
	p.SetConnMaxIdleTime(0)
	return p, nil
}

// Open opens (creating if needed) dir/data.db with WAL, busy_timeout,
// foreign_keys=ON and synchronous=NORMAL, runs the system migrations, and on
// first start creates the system auth collection "_superusers" and the
// default "users" auth collection. It fails with a wrapped error when the
// folder or database cannot be opened, or when a stored secret cannot be
// read with the Secrets of WithSecrets.
func Open(ctx context.Context, dir string, opts ...Option) (*DB, error) {
	d := &DB{Dir: dir}
	for _, o := range opts {
		o(d)
	}
	if d.pgDSN != "" {
		if err := d.openPostgres(ctx); err != nil {
			_ = d.Close()
			return nil, fmt.Errorf("open database: %w", err)
		}
		return d, nil
	}
	path, err := dataFile(dir, FileName, "database")
	if err != nil {
		return nil, err
	}
	wsql, err := openPool(path+"?"+dsnPragmas+"&_txlock=immediate", 1)
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}

	d.writer = bun.NewDB(wsql, sqlitedialect.New())
	if err := wsql.PingContext(ctx); err != nil {
		_ = wsql.Close()
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	if err := runMigrations(ctx, d.writer, EngineSQLite); err != nil {
		_ = wsql.Close()
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}

	readers := max(4, 2*runtime.GOMAXPROCS(0))
	rsql, err := openPool(path+"?"+readerPragmas, readers)
	if err != nil {
		_ = wsql.Close()
		return nil, fmt.Errorf("open database readers %s: %w", path, err)
	}
	d.readers = bun.NewDB(rsql, sqlitedialect.New())

	if err := d.load(ctx); err != nil {
		_ = d.Close()
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	if err := d.bootstrap(ctx); err != nil {
		_ = d.Close()
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	return d, nil
}

// Close closes both pools; the database file is left consistent.
func (d *DB) Close() error {
	if d == nil || !d.closed.CompareAndSwap(false, true) {
		return nil
	}
	var errs []error
	if d.readers != nil {
		if err := d.readers.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close readers: %w", err))
		}
	}
	if d.writer != nil {
		// A checkpoint folds the WAL back into the main file; it is skipped
		// when a transaction still holds the writer.
		if d.Engine() == EngineSQLite {
			ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
			_, _ = d.writer.DB.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)")
			cancel()
		}
		if err := d.writer.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close writer: %w", err))
		}
	}
	return errors.Join(errs...)
}

// querier is what *sql.DB and *sql.Tx have in common. Queries go through
// database/sql directly so that arguments stay bound parameters (bun's own
// ExecContext interpolates them into the SQL text).
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

type txKey struct{}

// txFrom returns the open transaction of d carried by ctx, or nil.
func (d *DB) txFrom(ctx context.Context) *Tx {
	tx, _ := ctx.Value(txKey{}).(*Tx)
	if tx == nil || tx.db != d {
		return nil
	}
	return tx
}

// reader returns the transaction of ctx when there is one, else the
// reader pool.
func (d *DB) reader(ctx context.Context) querier {
	if tx := d.txFrom(ctx); tx != nil {
		return tx.Tx.Tx
	}
	return d.readers.DB
}

// Collections returns the current collections (system ones included), in
// creation order. The slice and its elements must not be modified.
func (d *DB) Collections() []*Collection {
	if s := d.snap.Load(); s != nil {
		return s.list
	}
	return nil
}

// Collection returns the collection with that id or name, or apperr.NotFound.
func (d *DB) Collection(idOrName string) (*Collection, error) {
	s := d.snap.Load()
	if s != nil {
		if c := s.byID[idOrName]; c != nil {
			return c, nil
		}
		if c := s.byName[idOrName]; c != nil {
			return c, nil
		}
	}
	return nil, apperr.New(apperr.NotFound, "collection %q not found", idOrName)
}
