package backup

// This file checks a backup zip before anything is unpacked from it, and
// unpacks it within bounds.

import (
	"archive/zip"
	"compress/flate"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/monobase/monobase/db"
)

// Bounds of what a backup may unpack to. A zip bomb is refused before
// anything is written: the sizes its entries declare may not add up to more
// than maxRatio times the zip's size plus unpackSlack (a small database of
// mostly empty pages deflates far better than real data), and the bytes
// actually written are counted against the same bound, whatever the
// headers say.
const (
	maxRatio    = 50
	unpackSlack = 64 << 20
	maxEntries  = 1_000_000
)

// zipError is the error of a zip that is not a sound backup; its message
// is safe to show to the caller (no server paths), its cause is for logs.
type zipError struct {
	msg   string
	cause error
}

func (e *zipError) Error() string { return "not a Monobase backup: " + e.msg }
func (e *zipError) Unwrap() error { return e.cause }

// badZip returns a *zipError.
func badZip(format string, args ...any) error {
	return &zipError{msg: fmt.Sprintf(format, args...)}
}

// archive is an opened backup zip that passed inspect.
type archive struct {
	zr    *zip.ReadCloser
	limit uint64 // bytes it may unpack to
}

// openArchive opens the zip at p and checks its entries: only data.db
// (required), auxiliary.db and files under storage/, with clean relative
// names (no "..", no absolute paths, no backslashes, no hidden names),
// regular files and folders only, no duplicates, and declared sizes within
// the bound. Errors are *zipError for a zip that is not a backup.
func openArchive(p string) (*archive, error) {
	fi, err := os.Stat(p)
	if err != nil {
		return nil, fmt.Errorf("open backup: %w", err)
	}
	zr, err := zip.OpenReader(p)
	if err != nil {
		return nil, &zipError{msg: "not a zip file", cause: err}
	}
	a := &archive{zr: zr, limit: uint64(fi.Size())*maxRatio + unpackSlack}
	if err := a.inspect(); err != nil {
		zr.Close()
		return nil, err
	}
	return a, nil
}

func (a *archive) Close() error { return a.zr.Close() }

func (a *archive) inspect() error {
	if len(a.zr.File) > maxEntries {
		return badZip("more than %d entries", maxEntries)
	}
	seen := make(map[string]bool, len(a.zr.File))
	var total uint64
	hasDB := false
	for _, f := range a.zr.File {
		name := strings.TrimSuffix(f.Name, "/")
		if err := checkEntryName(f.Name); err != nil {
			return err
		}
		if seen[name] {
			return badZip("the entry %q appears twice", name)
		}
		seen[name] = true
		mode := f.Mode()
		isDir := mode.IsDir() || strings.HasSuffix(f.Name, "/")
		switch {
		case isDir:
			if name != StorageDir && !strings.HasPrefix(name, storagePrefix) {
				return badZip("unexpected folder %q", name)
			}
			continue
		case !mode.IsRegular():
			return badZip("the entry %q is not a regular file", name)
		case name == db.FileName, name == DataFile:
			if hasDB {
				return badZip("it has both %s and %s", db.FileName, DataFile)
			}
			hasDB = true
		case name == AuxiliaryFile, strings.HasPrefix(name, storagePrefix):
		default:
			return badZip("unexpected entry %q", name)
		}
		if f.Method != zip.Store && f.Method != zip.Deflate {
			return badZip("the entry %q uses an unsupported compression method", name)
		}
		total += f.UncompressedSize64
		if total > a.limit || f.UncompressedSize64 > a.limit {
			return badZip("it would unpack to more than %d bytes", a.limit)
		}
	}
	if !hasDB {
		return badZip("it has no %s (nor %s)", db.FileName, DataFile)
	}
	return nil
}

// checkEntryName refuses names that could leave the folder they are
// unpacked into, or that are not what Create writes.
func checkEntryName(raw string) error {
	name := strings.TrimSuffix(raw, "/")
	switch {
	case name == "":
		return badZip("an entry has an empty name")
	case strings.ContainsAny(name, "\\\x00:"):
		return badZip("the entry %q has a backslash, colon or NUL in its name", raw)
	case strings.HasPrefix(name, "/"), !fs.ValidPath(name), path.Clean(name) != name:
		return badZip("the entry %q has an unsafe path", raw)
	}
	for _, seg := range strings.Split(name, "/") {
		if strings.HasPrefix(seg, ".") {
			return badZip("the entry %q has a hidden or parent name", raw)
		}
	}
	return nil
}

// unpack writes the entries for which want returns true into dir (which
// exists), counting the bytes written against the archive's bound. A
// damaged entry (checksum, size) is a *zipError.
func (a *archive) unpack(ctx context.Context, dir string, want func(name string) bool) error {
	budget := int64(a.limit)
	for _, f := range a.zr.File {
		if err := ctx.Err(); err != nil {
			return err
		}
		name := strings.TrimSuffix(f.Name, "/")
		if !want(name) {
			continue
		}
		// checkEntryName keeps name inside dir; filepath.Join cleans it.
		dst := filepath.Join(dir, filepath.FromSlash(name))
		if f.Mode().IsDir() || strings.HasSuffix(f.Name, "/") {
			if err := os.MkdirAll(dst, 0o755); err != nil {
				return err
			}
			continue
		}
		n, err := unpackFile(f, dst, budget)
		if err != nil {
			return err
		}
		budget -= n
	}
	return nil
}

// unpackFile writes one entry to dst (created, never replaced), at most
// budget bytes.
func unpackFile(f *zip.File, dst string, budget int64) (int64, error) {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return 0, err
	}
	rc, err := f.Open()
	if err != nil {
		return 0, badZip("the entry %q cannot be read (%v)", f.Name, err)
	}
	defer rc.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(out, io.LimitReader(rc, budget+1))
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	switch {
	case n > budget:
		return n, badZip("it unpacks to more bytes than its bound")
	case err != nil && (errors.Is(err, zip.ErrChecksum) || errors.Is(err, zip.ErrFormat) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.As(err, new(flate.CorruptInputError))):
		return n, badZip("the entry %q is damaged (%v)", f.Name, err)
	case err != nil:
		return n, fmt.Errorf("unpack %s: %w", f.Name, err)
	}
	if !f.Modified.IsZero() {
		_ = os.Chtimes(dst, f.Modified, f.Modified)
	}
	return n, nil
}

// checkDB unpacks data.db (and auxiliary.db when present) into dir and
// checks that data.db is a sound Monobase database. The error is a
// *zipError for a database that is not.
func (a *archive) checkDB(ctx context.Context, dir string) error {
	err := a.unpack(ctx, dir, func(name string) bool { return name == db.FileName || name == DataFile || name == AuxiliaryFile })
	if err != nil {
		return err
	}
	if a.exported() {
		f, err := os.Open(filepath.Join(dir, DataFile))
		if err != nil {
			return err
		}
		defer f.Close()
		if _, err := db.ReadExportHeader(f); err != nil {
			return &zipError{msg: DataFile + " is not a Monobase data export", cause: err}
		}
		return nil
	}
	if err := db.CheckFile(ctx, filepath.Join(dir, db.FileName)); err != nil {
		if errors.Is(err, db.ErrNotMonobase) {
			return &zipError{msg: db.FileName + " is not a sound Monobase database", cause: err}
		}
		return err
	}
	return nil
}

// verify reads the entries for which want returns true without writing
// them, so that a damaged entry (checksum, size) or one past the bound is
// found before the zip is kept.
func (a *archive) verify(ctx context.Context, want func(name string) bool) error {
	budget := int64(a.limit)
	for _, f := range a.zr.File {
		if err := ctx.Err(); err != nil {
			return err
		}
		if strings.HasSuffix(f.Name, "/") || !want(f.Name) {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			return badZip("the entry %q cannot be read (%v)", f.Name, err)
		}
		n, err := io.Copy(io.Discard, io.LimitReader(rc, budget+1))
		rc.Close()
		if err != nil {
			return badZip("the entry %q is damaged (%v)", f.Name, err)
		}
		if budget -= n; budget < 0 {
			return badZip("it unpacks to more bytes than its bound")
		}
	}
	return nil
}

// dbOnly reports whether the zip is a database-only backup (its comment
// starts with DBOnlyMarker).
func (a *archive) dbOnly() bool { return strings.HasPrefix(a.zr.Comment, DBOnlyMarker) }

// exported reports whether the backup holds an export (DataFile, made on
// PostgreSQL) rather than a SQLite database file.
func (a *archive) exported() bool {
	for _, f := range a.zr.File {
		if f.Name == DataFile {
			return true
		}
	}
	return false
}
