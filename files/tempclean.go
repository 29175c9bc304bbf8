package files

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// DefaultTempMaxAge is the age past which CleanTempOlderThan's callers
// (the server's cleanup job) treat a temporary file as left behind: files
// are written and uploads spooled within a request, and requests end long
// before.
const DefaultTempMaxAge = time.Hour

// CleanTempOlderThan removes the entries of TempDir last modified before
// cutoff (a folder with everything in it), on a running server: what a
// failed write or a cut request left behind. It returns how many entries
// it removed. A missing folder, or an entry removed meanwhile, is not an
// error; the first entry that cannot be removed is, after the others were
// tried.
func (s *Store) CleanTempOlderThan(cutoff time.Time) (int, error) {
	entries, err := os.ReadDir(s.TempDir())
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("files: clean %s: %w", s.TempDir(), err)
	}
	removed := 0
	var first error
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil || !fi.ModTime().Before(cutoff) {
			continue // gone meanwhile, or recent
		}
		if err := os.RemoveAll(filepath.Join(s.TempDir(), e.Name())); err != nil {
			if first == nil {
				first = fmt.Errorf("files: clean %s: %w", s.TempDir(), err)
			}
			continue
		}
		removed++
	}
	return removed, first
}
