// Package files stores uploaded record files on the local disk or in an
// S3-compatible bucket, checks uploads against a FILE field's options,
// makes thumbnails, and serves GET /files/{collection}/{recordId}/{filename}
// under the collection's view rule.
package files

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"

	"github.com/monobase/monobase/db"
)

// Store is the file storage of a server: the files of records at
// <collectionId>/<recordId>/<name>, their thumbnails beside them in
// thumbs_<name>/, on the current Backend (the local disk, or a bucket when
// settings.s3 is enabled; SetBackend switches it while serving). Uploads
// being received and thumbnails being made are spooled in TempDir, always
// on the local disk.
type Store struct {
	local   *Disk // the data folder's storage, also the home of TempDir
	backend atomic.Pointer[backendBox]
	thumbs  *thumbMaker
	held    deleteHold // removals wait while a backup copies the files
}

type backendBox struct{ b Backend }

// tempDirName is the folder under the local root that holds files being
// written. It is inside the root so that renaming a finished file into
// place stays on one file system (atomic), and its leading dot keeps it
// apart from collection folders (validSegment refuses hidden names).
const tempDirName = ".tmp"

// NewLocal returns a store on the local disk at root with the default
// Limits. The folder is created on the first write.
func NewLocal(root string) *Store { return NewLocalWithLimits(root, Limits{}) }

// NewLocalWithLimits returns a store on the local disk at root whose
// thumbnail work is bounded by l (zero fields take the defaults).
func NewLocalWithLimits(root string, l Limits) *Store {
	s := &Store{local: NewDisk(root), thumbs: newThumbMaker(l.withDefaults())}
	s.backend.Store(&backendBox{s.local})
	return s
}

// Root returns the local storage folder (where the local backend writes,
// and where TempDir is, whatever the backend).
func (s *Store) Root() string { return s.local.root }

// Local returns the local backend (the data folder's storage).
func (s *Store) Local() *Disk { return s.local }

// Backend returns the backend files are stored on now.
func (s *Store) Backend() Backend { return s.backend.Load().b }

// SetBackend switches the backend for the operations that start after it
// (nil: the local disk). Files already stored stay where they are: see
// Migrate.
func (s *Store) SetBackend(b Backend) {
	if b == nil {
		b = s.local
	}
	s.backend.Store(&backendBox{b})
}

// TempDir returns the folder for temporary files of the store and of
// uploads being received (<root>/.tmp). It may not exist yet: writers
// create it (os.MkdirAll).
func (s *Store) TempDir() string { return s.local.tempDir() }

// CleanTemp removes everything in TempDir: the leftovers of a process that
// stopped mid-write. Call it at start, before serving. A missing folder is
// not an error; a folder that cannot be emptied is.
func (s *Store) CleanTemp() error {
	if err := os.RemoveAll(s.TempDir()); err != nil {
		return fmt.Errorf("files: clean %s: %w", s.TempDir(), err)
	}
	return nil
}

// ErrBadPath is returned for a collection id, record id or file name that
// could escape its folder.
var ErrBadPath = errors.New("invalid path segment")

// validSegment reports whether s may be used as one path element: not empty,
// not "." or "..", no separators, no NUL, not hidden.
func validSegment(s string) bool {
	if s == "" || len(s) > 255 || s[0] == '.' {
		return false
	}
	return !strings.ContainsAny(s, "/\\\x00:")
}

// Save stores the upload for the record under a new name (the original name
// sanitized, plus a random suffix: "photo_ab12cd34ef.jpg") and returns that
// name. Readers never see a partial file. It returns a wrapped error when
// the upload cannot be read or the backend cannot be written.
func (s *Store) Save(ctx context.Context, collectionID, recordID string, up Upload) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("files: save: %w", err)
	}
	if up.File == nil {
		return "", errors.New("files: save: upload has no content")
	}
	if !validSegment(collectionID) || !validSegment(recordID) {
		return "", fmt.Errorf("files: %q/%q: %w", collectionID, recordID, ErrBadPath)
	}
	size, err := up.File.Seek(0, io.SeekEnd)
	if err != nil {
		return "", fmt.Errorf("files: save: measure upload: %w", err)
	}
	head, err := readHead(up.File) // rewinds
	if err != nil {
		return "", fmt.Errorf("files: save: read upload: %w", err)
	}
	ctype := detectContentType(head, up.Filename)
	name := NormalizeName(up.Filename, ctype)
	key, err := fileKey(collectionID, recordID, name)
	if err != nil {
		return "", err
	}
	if err := s.Backend().Put(ctx, key, up.File, size, contentTypeHeader(ctype)); err != nil {
		return "", fmt.Errorf("files: save %s: %w", up.Filename, err)
	}
	return name, nil
}

// Delete removes a stored file and its thumbnails. A missing file is not an
// error; an unsafe name or a failing backend is.
func (s *Store) Delete(ctx context.Context, collectionID, recordID, name string) error {
	key, err := fileKey(collectionID, recordID, name)
	if err != nil {
		return err
	}
	if s.deferDelete(func() error { return s.Delete(detach(ctx), collectionID, recordID, name) }) {
		return nil
	}
	b := s.Backend()
	if err := b.Delete(ctx, key); err != nil {
		return err
	}
	return b.DeletePrefix(ctx, thumbsPrefix(key))
}

// DeleteRecord removes every file of the record. Nothing there is not an
// error.
func (s *Store) DeleteRecord(ctx context.Context, collectionID, recordID string) error {
	if !validSegment(collectionID) || !validSegment(recordID) {
		return fmt.Errorf("files: %q/%q: %w", collectionID, recordID, ErrBadPath)
	}
	if s.deferDelete(func() error { return s.DeleteRecord(detach(ctx), collectionID, recordID) }) {
		return nil
	}
	return s.Backend().DeletePrefix(ctx, collectionID+"/"+recordID+"/")
}

// DeleteCollection removes the files of every record of the collection.
// Nothing there is not an error.
func (s *Store) DeleteCollection(ctx context.Context, collectionID string) error {
	if !validSegment(collectionID) {
		return fmt.Errorf("files: %q: %w", collectionID, ErrBadPath)
	}
	if s.deferDelete(func() error { return s.DeleteCollection(detach(ctx), collectionID) }) {
		return nil
	}
	return s.Backend().DeletePrefix(ctx, collectionID+"/")
}

// Open opens a stored file for reading. A missing file (or a name that
// could escape the record's folder) returns an error that matches
// fs.ErrNotExist; the caller closes the object.
func (s *Store) Open(ctx context.Context, collectionID, recordID, name string) (Object, error) {
	key, err := fileKey(collectionID, recordID, name)
	if err != nil {
		return nil, badKey(filepath.ToSlash(collectionID + "/" + recordID + "/" + name))
	}
	return s.Backend().Open(ctx, key)
}

// URL returns the download path of a file of a record of c (see URL).
func (s *Store) URL(c *db.Collection, recordID, name, thumb string, download bool) string {
	return URL(c, recordID, name, thumb, download)
}
