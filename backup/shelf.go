package backup

// This file holds where the backups are kept: the shelf interface and its
// local implementation, the backups folder of the data folder (bucket.go
// has the other, an S3 bucket).

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/monobase/monobase/apperr"
)

// shelf is where the backups are kept. Names passed to it are valid
// (ValidName); the caller holds the service's lock for the writing
// methods.
type shelf interface {
	// list returns the backups, in no particular order.
	list(ctx context.Context) ([]Info, error)
	// stat returns a backup's Info, NOT_FOUND when there is none.
	stat(ctx context.Context, name string) (Info, error)
	// open opens a backup for reading with seeks (ranges), NOT_FOUND when
	// there is none.
	open(ctx context.Context, name string) (io.ReadSeekCloser, Info, error)
	// keep stores the finished zip at tmp (which it may move) as name,
	// unless a backup of that name exists (BAD_USER_INPUT on field).
	keep(ctx context.Context, field, tmp, name string) (Info, error)
	// remove deletes a backup.
	remove(ctx context.Context, name string) error
	// local returns the path of a local copy of the backup, made in work
	// when the shelf is not on the local disk.
	local(ctx context.Context, name, work string) (string, error)
}

// sortNewestFirst orders backups by modification time, newest first, then
// by name.
func sortNewestFirst(list []Info) {
	slices.SortFunc(list, func(a, b Info) int {
		if c := b.Modified.Compare(a.Modified); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
}

// notFound is the error of a backup that does not exist.
func notFound(name string) error {
	return apperr.New(apperr.NotFound, "backup %q not found", name)
}

// isNotFound reports whether err is NOT_FOUND.
func isNotFound(err error) bool { return apperr.CodeOf(err) == apperr.NotFound }

// diskShelf keeps the backups as files in a folder (the data folder's
// backups/).
type diskShelf struct{ dir string }

func (d diskShelf) path(name string) string { return filepath.Join(d.dir, name) }

func (d diskShelf) list(context.Context) ([]Info, error) {
	entries, err := os.ReadDir(d.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return []Info{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("backup: list %s: %w", d.dir, err)
	}
	out := []Info{}
	for _, e := range entries {
		if !e.Type().IsRegular() || !ValidName(e.Name()) {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			continue // removed meanwhile
		}
		out = append(out, Info{Name: e.Name(), Size: fi.Size(), Modified: fi.ModTime().UTC()})
	}
	return out, nil
}

func (d diskShelf) stat(_ context.Context, name string) (Info, error) {
	fi, err := os.Lstat(d.path(name))
	if errors.Is(err, fs.ErrNotExist) || (err == nil && !fi.Mode().IsRegular()) {
		return Info{}, notFound(name)
	}
	if err != nil {
		return Info{}, fmt.Errorf("backup: stat %s: %w", name, err)
	}
	return Info{Name: name, Size: fi.Size(), Modified: fi.ModTime().UTC()}, nil
}

func (d diskShelf) open(ctx context.Context, name string) (io.ReadSeekCloser, Info, error) {
	info, err := d.stat(ctx, name)
	if err != nil {
		return nil, Info{}, err
	}
	f, err := os.Open(d.path(name))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, Info{}, notFound(name)
		}
		return nil, Info{}, fmt.Errorf("backup: open %s: %w", name, err)
	}
	return f, info, nil
}

func (d diskShelf) keep(ctx context.Context, field, tmp, name string) (Info, error) {
	// A hard link fails when the name is taken, where a rename would
	// replace the file.
	if err := os.Link(tmp, d.path(name)); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return Info{}, taken(field, name)
		}
		return Info{}, fmt.Errorf("backup: keep %s: %w", name, err)
	}
	_ = os.Remove(tmp)
	return d.stat(ctx, name)
}

func (d diskShelf) remove(_ context.Context, name string) error {
	if err := os.Remove(d.path(name)); err != nil {
		return fmt.Errorf("backup: delete %s: %w", name, err)
	}
	return nil
}

func (d diskShelf) local(_ context.Context, name, _ string) (string, error) {
	return d.path(name), nil
}
