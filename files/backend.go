package files

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"time"
)

// Backend is where stored files live: a folder on the local disk (Disk) or
// an S3-compatible bucket (S3). Keys are slash-separated paths of valid
// segments (see validSegment): "<collectionId>/<recordId>/<name>" for a
// file and "<collectionId>/<recordId>/thumbs_<name>/<size>_<name>" for its
// thumbnails. Implementations are safe for concurrent use.
type Backend interface {
	// Put stores the size bytes of r at key (size -1 when unknown),
	// replacing what was there. Readers see the whole object or none.
	Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) error
	// Open opens key for reading; a missing key matches fs.ErrNotExist.
	// The caller closes the object.
	Open(ctx context.Context, key string) (Object, error)
	// Stat describes key; a missing key matches fs.ErrNotExist.
	Stat(ctx context.Context, key string) (ObjectInfo, error)
	// Delete removes key; a missing key is not an error.
	Delete(ctx context.Context, key string) error
	// DeletePrefix removes every key that starts with prefix, which ends
	// with "/" (a record's or a collection's folder).
	DeletePrefix(ctx context.Context, prefix string) error
	// List calls fn for every key under prefix ("" for all, else ending
	// with "/"), in lexical order of the keys; an error of fn stops it and
	// is returned.
	List(ctx context.Context, prefix string, fn func(ObjectInfo) error) error
	// Kind names the backend for messages and metrics: "local" or "s3".
	Kind() string
}

// ObjectInfo describes a stored object.
type ObjectInfo struct {
	Key         string
	Size        int64
	ModTime     time.Time
	ContentType string // as stored ("" when the backend keeps none: sniff it)
	ETag        string // a strong validator, quoted ("\"...\"")
}

// Object is an opened stored object. Reads stream from the backend: an
// S3 object is fetched in ranges as it is read, never whole into memory.
type Object interface {
	io.ReadSeekCloser
	io.ReaderAt
	Info() ObjectInfo
}

// fileKey returns the key of a stored file, or ErrBadPath.
func fileKey(collectionID, recordID, name string) (string, error) {
	if !validSegment(collectionID) || !validSegment(recordID) || !validSegment(name) {
		return "", fmt.Errorf("files: %q/%q/%q: %w", collectionID, recordID, name, ErrBadPath)
	}
	return collectionID + "/" + recordID + "/" + name, nil
}

// thumbsPrefix returns the folder key ("c/r/thumbs_<name>/") of the
// thumbnails of the file at key.
func thumbsPrefix(key string) string {
	i := strings.LastIndexByte(key, '/')
	return key[:i+1] + thumbsDirPrefix + key[i+1:] + "/"
}

// thumbKey returns the key of the thumbnail at size of the file at key.
func thumbKey(key, size string) string {
	return thumbsPrefix(key) + size + "_" + key[strings.LastIndexByte(key, '/')+1:]
}

// validKey reports whether key is 1 to 4 valid segments joined by "/"
// (prefix keys end with "/" and are checked without it).
func validKey(key string) bool {
	key = strings.TrimSuffix(key, "/")
	if key == "" {
		return false
	}
	parts := strings.Split(key, "/")
	if len(parts) > 4 {
		return false
	}
	for _, p := range parts {
		if !validSegment(p) {
			return false
		}
	}
	return true
}

// badKey is the error of an invalid key; it matches ErrBadPath and
// fs.ErrNotExist (nothing can be stored at such a key).
func badKey(key string) error {
	return fmt.Errorf("files: key %q: %w: %w", key, ErrBadPath, fs.ErrNotExist)
}

// IsNotExist reports whether err says a stored object is missing.
func IsNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }
