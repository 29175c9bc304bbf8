package db

// This file opens the data folder's second SQLite file, auxiliary.db, which
// holds the request logs (logs.go). It is apart from data.db so that log
// writes never wait for, or hold up, the single writer of the records, and
// so that a backup or a restore can treat it on its own.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync/atomic"
	"time"
)

// AuxFileName is the name of the auxiliary database in the data folder.
const AuxFileName = "auxiliary.db"

// auxSchema creates the tables of auxiliary.db when they are missing.
//
// The id is the rowid, so an insert appends to the table's one B-tree,
// and entries are numbered in the order they are written, which is the
// order of created (the time each entry was queued): the newest-first
// listing and the retention's deletes walk the rowid. There is no index
// on created on purpose: it made each insert cost about a fifth more
// (BenchmarkInsertLogs on 2 cores), and inserts happen once per request
// while the admin's filtered reads are rare.
const auxSchema = `
CREATE TABLE IF NOT EXISTS "_logs" (
	"id"      INTEGER PRIMARY KEY,
	"created" TEXT    NOT NULL,
	"level"   INTEGER NOT NULL DEFAULT 0,
	"message" TEXT    NOT NULL DEFAULT '',
	"data"    TEXT    NOT NULL DEFAULT '{}'
);
`

// Aux is the open auxiliary database: one writer connection (the log
// writer's batches, the retention deletes) and a few readers for the admin
// API's queries. It is safe for concurrent use.
type Aux struct {
	Path    string
	writer  *sql.DB
	readers *sql.DB
	closed  atomic.Bool

	inserts map[int]*sql.Stmt // prepared INSERTs by row count (logs.go)
}

// OpenAux opens (creating if needed) dir/auxiliary.db with WAL,
// busy_timeout and synchronous=NORMAL, and creates its tables. It fails
// with a wrapped error when the file cannot be opened or is not a SQLite
// database.
func OpenAux(ctx context.Context, dir string) (*Aux, error) {
	path, err := dataFile(dir, AuxFileName, "auxiliary database")
	if err != nil {
		return nil, err
	}
	w, err := openPool(path+"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate", 1)
	if err != nil {
		return nil, fmt.Errorf("open auxiliary database %s: %w", path, err)
	}
	if _, err := w.ExecContext(ctx, auxSchema); err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("open auxiliary database %s: %w", path, err)
	}
	r, err := openPool(path+"?"+readerPragmas, 2)
	if err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("open auxiliary database readers %s: %w", path, err)
	}
	a := &Aux{Path: path, writer: w, readers: r}
	if err := a.prepareInserts(ctx); err != nil {
		_ = a.Close()
		return nil, fmt.Errorf("open auxiliary database %s: %w", path, err)
	}
	return a, nil
}

// Close closes both pools after folding the WAL back into the file, so
// that a restore can replace it. It is safe to call more than once.
func (a *Aux) Close() error {
	if a == nil || !a.closed.CompareAndSwap(false, true) {
		return nil
	}
	var errs []error
	for _, st := range a.inserts {
		_ = st.Close()
	}
	if err := a.readers.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close auxiliary readers: %w", err))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	_, _ = a.writer.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)")
	cancel()
	if err := a.writer.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close auxiliary writer: %w", err))
	}
	return errors.Join(errs...)
}
