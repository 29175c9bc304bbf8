package backup

// This file keeps the backups in an S3-compatible bucket when
// settings.backups.s3 is enabled: one object per backup, at the bucket's
// root, named as the file would be (mb_backup_20261202030000.zip).

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/monobase/monobase/files"
)

// maxListed bounds how many keys at the bucket's root one list reads.
const maxListed = 100_000

// errEnough ends a listing at maxListed keys.
var errEnough = errors.New("enough keys listed")

// zipContentType is the content type of the backups' objects.
const zipContentType = "application/zip"

// bucketShelf keeps the backups in a bucket, through files.S3 (puts
// streamed from the local zip, multipart past 64 MiB; reads in ranges).
type bucketShelf struct{ b *files.S3 }

func (s bucketShelf) list(ctx context.Context) ([]Info, error) {
	out := []Info{}
	n := 0
	// Not recursive: only the root's keys; record files, when they share
	// the bucket, sit under folders and are not read.
	err := s.b.ListRoot(ctx, func(o files.ObjectInfo) error {
		if n++; n > maxListed {
			return errEnough
		}
		if ValidName(o.Key) {
			out = append(out, Info{Name: o.Key, Size: o.Size, Modified: o.ModTime.UTC()})
		}
		return nil
	})
	if err != nil && !errors.Is(err, errEnough) {
		return nil, fmt.Errorf("backup: list the bucket %q: %w", s.b.Bucket(), err)
	}
	return out, nil
}

func (s bucketShelf) stat(ctx context.Context, name string) (Info, error) {
	oi, err := s.b.Stat(ctx, name)
	if files.IsNotExist(err) {
		return Info{}, notFound(name)
	}
	if err != nil {
		return Info{}, fmt.Errorf("backup: stat %s in the bucket %q: %w", name, s.b.Bucket(), err)
	}
	return Info{Name: name, Size: oi.Size, Modified: oi.ModTime.UTC()}, nil
}

func (s bucketShelf) open(ctx context.Context, name string) (io.ReadSeekCloser, Info, error) {
	o, err := s.b.Open(ctx, name)
	if files.IsNotExist(err) {
		return nil, Info{}, notFound(name)
	}
	if err != nil {
		return nil, Info{}, fmt.Errorf("backup: open %s in the bucket %q: %w", name, s.b.Bucket(), err)
	}
	oi := o.Info()
	return o, Info{Name: name, Size: oi.Size, Modified: oi.ModTime.UTC()}, nil
}

// keep uploads tmp, streamed from the file. The name is checked first; two
// servers sharing the bucket could still race for one name (S3 has no
// portable create-only put).
func (s bucketShelf) keep(ctx context.Context, field, tmp, name string) (Info, error) {
	if _, err := s.stat(ctx, name); err == nil {
		return Info{}, taken(field, name)
	} else if !isNotFound(err) {
		return Info{}, err
	}
	f, err := os.Open(tmp)
	if err != nil {
		return Info{}, fmt.Errorf("backup: keep %s: %w", name, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return Info{}, fmt.Errorf("backup: keep %s: %w", name, err)
	}
	if err := s.b.Put(ctx, name, f, fi.Size(), zipContentType); err != nil {
		return Info{}, fmt.Errorf("backup: upload %s to the bucket %q: %w", name, s.b.Bucket(), err)
	}
	return s.stat(ctx, name)
}

func (s bucketShelf) remove(ctx context.Context, name string) error {
	if err := s.b.Delete(ctx, name); err != nil {
		return fmt.Errorf("backup: delete %s from the bucket %q: %w", name, s.b.Bucket(), err)
	}
	return nil
}

// local downloads the backup into work/download.zip.
func (s bucketShelf) local(ctx context.Context, name, work string) (string, error) {
	o, err := s.b.Open(ctx, name)
	if files.IsNotExist(err) {
		return "", notFound(name)
	}
	if err != nil {
		return "", fmt.Errorf("backup: download %s from the bucket %q: %w", name, s.b.Bucket(), err)
	}
	defer o.Close()
	p := filepath.Join(work, "download.zip")
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return "", fmt.Errorf("backup: download %s: %w", name, err)
	}
	n, err := io.Copy(f, o)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && n != o.Info().Size {
		err = fmt.Errorf("got %d bytes of %d", n, o.Info().Size)
	}
	if err != nil {
		return "", fmt.Errorf("backup: download %s from the bucket %q: %w", name, s.b.Bucket(), err)
	}
	return p, nil
}

// bucketCache keeps the client of the last backups.s3 settings, so that
// its connections are reused from one operation to the next.
type bucketCache struct {
	mu  sync.Mutex
	set files.S3Settings
	b   *files.S3
}

// get returns the client of set, made anew when set changed.
func (c *bucketCache) get(set files.S3Settings) (*files.S3, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.b != nil && c.set == set {
		return c.b, nil
	}
	b, err := files.NewS3(set)
	if err != nil {
		return nil, err
	}
	c.set, c.b = set, b
	return b, nil
}
