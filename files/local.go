// Package files stores uploaded record files, checks uploads against a FILE
// field's options, makes thumbnails, and serves
// GET /files/{collection}/{recordId}/{filename} under the collection's view
// rule.
package files

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/monobase/monobase/db"
)

// Local stores files on the local disk at <root>/<collectionId>/<recordId>/<name>;
// the thumbnails of a file sit beside it in thumbs_<name>/. Files being
// written live in <root>/.tmp until they are complete (see TempDir).
type Local struct {
	root   string
	thumbs *thumbMaker
	held   deleteHold // removals wait while a backup copies the files
}

// tempDirName is the folder under the root that holds files being written.
// It is inside the root so that renaming a finished file into place stays
// on one file system (atomic), and its leading dot keeps it apart from
// collection folders (validSegment refuses hidden names).
const tempDirName = ".tmp"

// NewLocal returns a store rooted at root with the default Limits. The
// folder is created on the first write.
func NewLocal(root string) *Local { return NewLocalWithLimits(root, Limits{}) }

// NewLocalWithLimits returns a store rooted at root whose thumbnail work is
// bounded by l (zero fields take the defaults).
func NewLocalWithLimits(root string, l Limits) *Local {
	return &Local{root: root, thumbs: newThumbMaker(l.withDefaults())}
}

// Root returns the folder the store writes into.
func (s *Local) Root() string { return s.root }

// TempDir returns the folder for temporary files of the store and of
// uploads being received (<root>/.tmp). It may not exist yet: writers
// create it (os.MkdirAll).
func (s *Local) TempDir() string { return filepath.Join(s.root, tempDirName) }

// CleanTemp removes everything in TempDir: the leftovers of a process that
// stopped mid-write. Call it at start, before serving. A missing folder is
// not an error; a folder that cannot be emptied is.
func (s *Local) CleanTemp() error {
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

// recordDir returns <root>/<collectionID>/<recordID>, or ErrBadPath.
func (s *Local) recordDir(collectionID, recordID string) (string, error) {
	if !validSegment(collectionID) || !validSegment(recordID) {
		return "", fmt.Errorf("files: %q/%q: %w", collectionID, recordID, ErrBadPath)
	}
	return filepath.Join(s.root, collectionID, recordID), nil
}

// filePath returns the path of a stored file, or ErrBadPath.
func (s *Local) filePath(collectionID, recordID, name string) (string, error) {
	dir, err := s.recordDir(collectionID, recordID)
	if err != nil {
		return "", err
	}
	if !validSegment(name) {
		return "", fmt.Errorf("files: file name %q: %w", name, ErrBadPath)
	}
	return filepath.Join(dir, name), nil
}

// Save stores the upload for the record under a new name (the original name
// sanitized, plus a random suffix: "photo_ab12cd34ef.jpg") and returns that
// name. The file is written to a temporary file and renamed into place, so
// readers never see a partial file. It returns a wrapped error when the
// upload cannot be read or the disk cannot be written.
func (s *Local) Save(ctx context.Context, collectionID, recordID string, up Upload) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("files: save: %w", err)
	}
	if up.File == nil {
		return "", errors.New("files: save: upload has no content")
	}
	dir, err := s.recordDir(collectionID, recordID)
	if err != nil {
		return "", err
	}
	if _, err := up.File.Seek(0, io.SeekStart); err != nil {
		return "", fmt.Errorf("files: save: rewind upload: %w", err)
	}
	head, err := readHead(up.File)
	if err != nil {
		return "", fmt.Errorf("files: save: read upload: %w", err)
	}
	name := NormalizeName(up.Filename, detectContentType(head, up.Filename))

	if err := writeAtomic(s.TempDir(), filepath.Join(dir, name), func(w io.Writer) error {
		_, err := io.Copy(w, &ctxReader{ctx: ctx, r: up.File})
		return err
	}); err != nil {
		return "", fmt.Errorf("files: save %s: %w", up.Filename, err)
	}
	return name, nil
}

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

// Delete removes a stored file and its thumbnails, and the record's folder
// when that leaves it empty. A missing file is not an error; an unsafe name
// or a failing disk is.
func (s *Local) Delete(ctx context.Context, collectionID, recordID, name string) error {
	p, err := s.filePath(collectionID, recordID, name)
	if err != nil {
		return err
	}
	if s.deferDelete(func() error { return s.Delete(detach(ctx), collectionID, recordID, name) }) {
		return nil
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("files: delete %s: %w", name, err)
	}
	if err := os.RemoveAll(filepath.Join(filepath.Dir(p), thumbsDirPrefix+name)); err != nil {
		return fmt.Errorf("files: delete thumbs of %s: %w", name, err)
	}
	_ = os.Remove(filepath.Dir(p)) // fails, as it should, unless empty
	return nil
}

// DeleteRecord removes every file of the record (its whole folder). A
// missing folder is not an error.
func (s *Local) DeleteRecord(ctx context.Context, collectionID, recordID string) error {
	dir, err := s.recordDir(collectionID, recordID)
	if err != nil {
		return err
	}
	if s.deferDelete(func() error { return s.DeleteRecord(detach(ctx), collectionID, recordID) }) {
		return nil
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("files: delete files of record %s: %w", recordID, err)
	}
	return nil
}

// DeleteCollection removes the files of every record of the collection. A
// missing folder is not an error.
func (s *Local) DeleteCollection(ctx context.Context, collectionID string) error {
	if !validSegment(collectionID) {
		return fmt.Errorf("files: %q: %w", collectionID, ErrBadPath)
	}
	if s.deferDelete(func() error { return s.DeleteCollection(detach(ctx), collectionID) }) {
		return nil
	}
	if err := os.RemoveAll(filepath.Join(s.root, collectionID)); err != nil {
		return fmt.Errorf("files: delete files of collection %s: %w", collectionID, err)
	}
	return nil
}

// Open opens a stored file for reading. A missing file (or a name that
// could escape the record's folder, or a folder) returns an error that
// matches fs.ErrNotExist; the caller closes the file.
func (s *Local) Open(collectionID, recordID, name string) (*os.File, os.FileInfo, error) {
	p, err := s.filePath(collectionID, recordID, name)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", fs.ErrNotExist, err)
	}
	return openRegular(p)
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

// URL returns the download path of a file of a record of c:
// /files/<collection name>/<recordId>/<name>, with ?thumb=WxH when thumb is
// set and download=1 when download is true.
func (s *Local) URL(c *db.Collection, recordID, name, thumb string, download bool) string {
	return URL(c, recordID, name, thumb, download)
}

// URL returns the public path of a stored file whatever the storage:
// /files/<collection name>/<recordId>/<name>, with ?thumb=WxH when thumb is
// set and download=1 when download is true.
func URL(c *db.Collection, recordID, name, thumb string, download bool) string {
	u := "/files/" + url.PathEscape(c.Name) + "/" + url.PathEscape(recordID) + "/" + url.PathEscape(name)
	q := url.Values{}
	if thumb != "" {
		q.Set("thumb", thumb)
	}
	if download {
		q.Set("download", "1")
	}
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u
}

const randomAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

// randomString returns n characters of [a-z0-9] from crypto/rand.
func randomString(n int) string {
	out := make([]byte, 0, n)
	var buf [32]byte
	for len(out) < n {
		_, _ = rand.Read(buf[:]) // never fails (crypto/rand panics instead)
		for _, b := range buf {
			// 252 = 7*36: reject the tail so every character is equally likely.
			if b < 252 && len(out) < n {
				out = append(out, randomAlphabet[int(b)%len(randomAlphabet)])
			}
		}
	}
	return string(out)
}

// NormalizeName turns an uploaded file's original name into a safe stored
// name: the base lower-cased with every run of characters outside
// [a-z0-9_-] replaced by "_", cut to 100 characters (a random part is added
// when fewer than 3 remain), then "_" and 10 random [a-z0-9] characters,
// then the cleaned extension (or one derived from contentType when the
// name has none): "My Photo.JPG" gives "my_photo_ab12cd34ef.jpg".
func NormalizeName(original, contentType string) string {
	if len(original) > 300 {
		original = original[len(original)-300:]
	}
	// Browsers on Windows may send a full path.
	if i := strings.LastIndexAny(original, `/\`); i >= 0 {
		original = original[i+1:]
	}
	base, ext := splitExt(original)
	ext = cleanExt(ext)
	if ext == "" {
		ext = extensionFor(contentType)
	}

	var b strings.Builder
	underscore := false
	for _, r := range strings.ToLower(base) {
		ok := r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_'
		if !ok {
			underscore = true
			continue
		}
		if underscore && b.Len() > 0 {
			b.WriteByte('_')
		}
		underscore = false
		b.WriteRune(r)
	}
	clean := strings.Trim(b.String(), "_-")
	if len(clean) > 100 {
		clean = strings.TrimRight(clean[:100], "_-")
	}
	if len(clean) < 3 {
		clean += randomString(10)
	}
	return clean + "_" + randomString(10) + ext
}

// splitExt splits a name into base and extension (with its dot). A short
// secondary extension is kept with the primary one ("a.tar.gz" gives ".tar.gz").
func splitExt(name string) (base, ext string) {
	i := strings.LastIndexByte(name, '.')
	if i <= 0 {
		return name, ""
	}
	base, ext = name[:i], name[i:]
	if j := strings.LastIndexByte(base, '.'); j > 0 && len(base)-j <= 4 && isAlnum(base[j+1:]) && !isDigits(base[j+1:]) {
		base, ext = base[:j], base[j:]+ext
	}
	return base, ext
}

func isAlnum(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

// cleanExt lower-cases ext and keeps only [a-z0-9] and inner dots; it
// returns "" when nothing usable is left and keeps at most 20 characters.
func cleanExt(ext string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(ext) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' {
			b.WriteRune(r)
		}
	}
	parts := strings.FieldsFunc(b.String(), func(r rune) bool { return r == '.' })
	out := ""
	if len(parts) > 0 {
		out = "." + strings.Join(parts, ".")
	}
	if len(out) > 20 {
		out = "." + strings.Trim(out[len(out)-20:], ".")
	}
	if out == "." {
		return ""
	}
	return out
}
