package avatar

import (
	"crypto/sha1" //nolint gosec
	"encoding/hex"
	"errors"
	"fmt"
	_ "image/gif"  // initializing packages for supporting GIF
	_ "image/jpeg" // initializing packages for supporting JPEG.
	_ "image/png"  // initializing packages for supporting PNG.
	"io"
	"log"
	"regexp"
	"strings"

	"github.com/go-pkgz/auth/v2/token"
)

// imgSfx for avatars
const imgSfx = ".image"

var reValidAvatarID = regexp.MustCompile(`^[a-fA-F0-9]{40}\.image$`)

// ErrNotFound is returned by Store.Remove when the requested avatar does not exist,
// so callers can tell a missing avatar from a real failure with errors.Is.
var ErrNotFound = errors.New("avatar not found")

// Store defines interface to store and load avatars
type Store interface {
	fmt.Stringer
	Put(userID string, reader io.Reader) (avatarID string, err error) // save avatar data from the reader and return base name
	Get(avatarID string) (reader io.ReadCloser, size int, err error)  // load avatar via reader
	ID(avatarID string) (id string)                                   // unique id of stored avatar's data
	Remove(avatarID string) error                                     // remove avatar data
	List() (ids []string, err error)                                  // list all avatar ids
	Close() error                                                     // close store
}

// NewStore provides factory for all supported stores making the one
// based on uri protocol. Default (no protocol) is file-system
func NewStore(uri string) (Store, error) {
	switch {
	case strings.HasPrefix(uri, "file://"):
		return NewLocalFS(strings.TrimPrefix(uri, "file://")), nil
	case !strings.Contains(uri, "://"):
		return NewLocalFS(uri), nil
	}
	return nil, fmt.Errorf("can't parse store url %s", uri)
}

// Migrate copies avatars from src to dst, returning the number of ids enumerated
// from src and the first List error if any. Per-avatar Get/Put/Close failures are
// logged with [WARN] and skipped — they do not abort the migration or surface in
// the returned error, so the returned count is "ids attempted", not "ids stored".
func Migrate(dst, src Store) (int, error) {
	ids, err := src.List()
	if err != nil {
		return 0, err
	}
	for _, id := range ids {
		srcReader, _, err := src.Get(id)
		if err != nil {
			log.Printf("[WARN] can't get reader for avatar %s", id)
			continue
		}
		if _, err = dst.Put(id, srcReader); err != nil {
			log.Printf("[WARN] can't put avatar %s", id)
		}
		if err = srcReader.Close(); err != nil {
			log.Printf("[WARN] failed to close avatar %s", id)
		}
	}
	return len(ids), nil
}

// encodeID hashes id to sha1. Skip encoding for already processed
func encodeID(id string) string {
	if reValidAvatarID.MatchString(id) {
		return strings.TrimSuffix(id, imgSfx) // already encoded, strip .image
	}
	return token.HashID(sha1.New(), id)
}

func hash(data []byte, avatarID string) (id string) {
	h := sha1.New()
	if _, err := h.Write(data); err != nil {
		log.Printf("[DEBUG] can't apply sha1 for content of '%s', %s", avatarID, err)
		return encodeID(avatarID)
	}
	return hex.EncodeToString(h.Sum(nil))
}
