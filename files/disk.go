package files

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Disk is the local Backend: the object at key is the file
// <root>/<key>. Files being written live in <root>/.tmp until they are
// complete, then are renamed into place (atomic on one file system).
type Disk struct {
	root string
}

// NewDisk returns the local backend rooted at root; the folder is made on
// the first write.
func NewDisk(root string) *Disk { return &Disk{root: root} }

// Kind returns "local".
func (d *Disk) Kind() string { return "local" }

// Root returns the folder the backend writes into.
func (d *Disk) Root() string { return d.root }

// tempDir is <root>/.tmp (see tempDirName).
func (d *Disk) tempDir() string { return filepath.Join(d.root, tempDirName) }

func (d *Disk) path(key string) (string, error) {
	if !validKey(key) {
		return "", badKey(key)
	}
	return filepath.Join(d.root, filepath.FromSlash(strings.TrimSuffix(key, "/"))), nil
}

// Put writes r to a temporary file, syncs it and renames it to key's path.
func (d *Disk) Put(ctx context.Context, key string, r io.Reader, _ int64, _ string) error {
	p, err := d.path(key)
	if err != nil {
		return err
	}
	return writeAtomic(d.tempDir(), p, func(w io.Writer) error {
		_, err := io.Copy(w, &ctxReader{ctx: ctx, r: r})
		return err
	})
}

// Open opens key's file; anything but a regular file is missing.
func (d *Disk) Open(_ context.Context, key string) (Object, error) {
	p, err := d.path(key)
	if err != nil {
		return nil, err
	}
	f, fi, err := openRegular(p)
	if err != nil {
		return nil, err
	}
	return &diskObject{File: f, info: diskInfo(key, fi)}, nil
}

// Stat describes key's file.
func (d *Disk) Stat(_ context.Context, key string) (ObjectInfo, error) {
	p, err := d.path(key)
	if err != nil {
		return ObjectInfo{}, err
	}
	fi, err := os.Stat(p)
	if err != nil {
		return ObjectInfo{}, fmt.Errorf("files: stat %s: %w", key, err)
	}
	if !fi.Mode().IsRegular() {
		return ObjectInfo{}, fmt.Errorf("files: stat %s: not a regular file: %w", key, fs.ErrNotExist)
	}
	return diskInfo(key, fi), nil
}

// diskInfo describes a file; the ETag is its modification time and size
// (stored names never change content, so this is a strong validator).
func diskInfo(key string, fi fs.FileInfo) ObjectInfo {
	return ObjectInfo{
		Key: key, Size: fi.Size(), ModTime: fi.ModTime(),
		ETag: fmt.Sprintf(`"%x-%x"`, fi.ModTime().UnixNano(), fi.Size()),
	}
}

// Delete removes key's file and the folders it leaves empty up to the
// root (a record's folder with its last file, ...).
func (d *Disk) Delete(_ context.Context, key string) error {
	p, err := d.path(key)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("files: delete %s: %w", key, err)
	}
	d.removeEmptyParents(p)
	return nil
}

// removeEmptyParents removes the folders above p while they are empty,
// stopping below the root. os.Remove fails, as it should, on a folder
// with something in it.
func (d *Disk) removeEmptyParents(p string) {
	for dir := filepath.Dir(p); dir != d.root && strings.HasPrefix(dir, d.root); dir = filepath.Dir(dir) {
		if os.Remove(dir) != nil {
			return
		}
	}
}

// DeletePrefix removes the folder of prefix with everything in it.
func (d *Disk) DeletePrefix(_ context.Context, prefix string) error {
	p, err := d.path(prefix)
	if err != nil {
		return err
	}
	if err := os.RemoveAll(p); err != nil {
		return fmt.Errorf("files: delete %s: %w", prefix, err)
	}
	d.removeEmptyParents(p)
	return nil
}

// List walks the folder of prefix (the whole root for "") in lexical
// order, skipping the temporary folder and anything but regular files.
func (d *Disk) List(ctx context.Context, prefix string, fn func(ObjectInfo) error) error {
	start := d.root
	if prefix != "" {
		p, err := d.path(prefix)
		if err != nil {
			return err
		}
		start = p
	}
	err := filepath.WalkDir(start, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // removed meanwhile, or no folder yet
			}
			return err
		}
		if e.IsDir() {
			if p != d.root && strings.HasPrefix(e.Name(), ".") {
				return filepath.SkipDir
			}
			return ctx.Err()
		}
		if !e.Type().IsRegular() {
			return nil
		}
		fi, err := e.Info()
		if err != nil {
			return nil // removed meanwhile
		}
		rel, err := filepath.Rel(d.root, p)
		if err != nil {
			return err
		}
		key := filepath.ToSlash(rel)
		if !validKey(key) {
			return nil // not ours
		}
		return fn(diskInfo(key, fi))
	})
	if err != nil {
		return fmt.Errorf("files: list %s: %w", prefix, err)
	}
	return nil
}

// diskObject is an opened local file.
type diskObject struct {
	*os.File
	info ObjectInfo
}

func (o *diskObject) Info() ObjectInfo { return o.info }
