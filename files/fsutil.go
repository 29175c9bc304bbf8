package files

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// ctxReader stops a copy when its context ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// writeAtomic writes a temporary file in tmpDir with write, syncs it and
// renames it to path, creating path's folder. On failure the temporary file
// is removed. tmpDir must be on the file system of path.
func writeAtomic(tmpDir, path string, write func(w io.Writer) error) (err error) {
	if err := os.MkdirAll(tmpDir, 0o755); err != nil {
		return fmt.Errorf("create temporary folder: %w", err)
	}
	tmp, err := os.CreateTemp(tmpDir, "write-*")
	if err != nil {
		return fmt.Errorf("create temporary file: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := write(tmp); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		return fmt.Errorf("chmod: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("sync: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("close: %w", err)
	}
	// Delete removes a record folder left empty; retry once if that happened
	// between MkdirAll and Rename.
	for try := 0; ; try++ {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return fmt.Errorf("create folder: %w", err)
		}
		err := os.Rename(tmp.Name(), path)
		if err == nil {
			return nil
		}
		if try > 0 || !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("rename: %w", err)
		}
	}
}

// openRegular opens path and refuses anything but a regular file.
func openRegular(path string) (*os.File, os.FileInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("files: open: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("files: stat: %w", err)
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, nil, fmt.Errorf("files: open %s: not a regular file: %w", filepath.Base(path), fs.ErrNotExist)
	}
	return f, fi, nil
}
