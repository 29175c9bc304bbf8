package db

// This file holds what backups need from the database files: a consistent
// copy while writes go on, and the check of a database file taken from a
// backup before it replaces the live one.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// FileName is the name of the database file in the data folder.
const FileName = "data.db"

// ErrNotSQLite is wrapped by VacuumInto's error on a PostgreSQL database:
// a file copy is SQLite's; PostgreSQL data is backed up with an export
// (or the server's own tools).
var ErrNotSQLite = errors.New("the database is PostgreSQL, not an SQLite file")

// ErrNotMonobase is wrapped by CheckFile's error when the file is not a
// sound Monobase database (not SQLite, corrupt, or without its system
// tables).
var ErrNotMonobase = errors.New("not a Monobase database")

// VacuumInto writes a consistent copy of the database to path, as of the
// moment the statement starts (VACUUM INTO in one read transaction), without
// holding back writers: it runs on a connection of its own, since the
// readers are query_only, which SQLite counts as refusing VACUUM INTO, and
// the writer would block every write for the copy's duration. path must
// not exist. It fails with a wrapped error when path exists, the disk is
// full or ctx ends, and with ErrNotSQLite on PostgreSQL.
func (d *DB) VacuumInto(ctx context.Context, path string) error {
	if d.closed.Load() {
		return errors.New("vacuum into: the database is closed")
	}
	if d.Engine() != EngineSQLite {
		return fmt.Errorf("vacuum into %s: %w", path, ErrNotSQLite)
	}
	return SnapshotFile(ctx, filepath.Join(d.Dir, FileName), path)
}

// SnapshotFile is VacuumInto for any SQLite file src (such as a second
// database of the data folder). A missing src is an error (it is not
// created).
func SnapshotFile(ctx context.Context, src, dst string) error {
	if _, err := os.Stat(src); err != nil {
		return fmt.Errorf("snapshot %s: %w", src, err)
	}
	conn, err := openFile(src)
	if err != nil {
		return fmt.Errorf("snapshot %s: %w", src, err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "VACUUM INTO ?", dst); err != nil {
		return fmt.Errorf("snapshot %s into %s: %w", src, dst, err)
	}
	return nil
}

// CheckFile reports whether path is a sound Monobase database: a SQLite
// file for which PRAGMA integrity_check says ok and that holds the system
// table _collections. The error wraps ErrNotMonobase when the file fails a
// check, and is a plain wrapped error when it cannot be read at all.
func CheckFile(ctx context.Context, path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("check %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("check %s: %w: not a regular file", path, ErrNotMonobase)
	}
	conn, err := openFile(path)
	if err != nil {
		return fmt.Errorf("check %s: %w", path, err)
	}
	defer conn.Close()
	// The first row is "ok" for a sound file; otherwise up to 100 rows
	// describe the damage (the first one is enough to say why).
	var result string
	if err := conn.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&result); err != nil {
		return fmt.Errorf("check %s: %w: %w", path, ErrNotMonobase, err)
	}
	if result != "ok" {
		return fmt.Errorf("check %s: %w: integrity check: %s", path, ErrNotMonobase, result)
	}
	var n int
	if err := conn.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?",
		"_collections").Scan(&n); err != nil {
		return fmt.Errorf("check %s: %w: %w", path, ErrNotMonobase, err)
	}
	if n != 1 {
		return fmt.Errorf("check %s: %w: no _collections table", path, ErrNotMonobase)
	}
	return nil
}

// openFile opens one connection to an existing SQLite file, outside the
// pools of any DB.
func openFile(path string) (*sql.DB, error) {
	if strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("the path %q must not contain ? or #", path)
	}
	conn, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		return nil, err
	}
	conn.SetMaxOpenConns(1)
	return conn, nil
}
