// Package embedded serves files embedded in the binary (the dashboard and
// the playground): each file is read once, given a content hash as ETag
// and, when it is text worth compressing, a gzip copy made on first use
// (not at start-up, to keep the cold start fast).
//
// A large file may be embedded only as its gzip copy, NAME.gz, which keeps
// the binary smaller: it is served as NAME, as it is to clients that take
// gzip (every browser) and decompressed on the fly for the others. The
// ".gz" name itself is not served.
package embedded

import (
	"bytes"
	"cmp"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
)

// Files is a cache of the files of an fs.FS. Its zero value is not ready:
// use New.
type Files struct {
	fsys  fs.FS
	other string // the type of files ContentType does not know
	mu    sync.Mutex
	cache map[string]*asset
}

type asset struct {
	body  []byte // nil when only the gzip copy is embedded
	gz    []byte
	size  int // of the decompressed file
	etag  string
	ctype string
}

// New returns the cache of fsys's files; other is the Content-Type of the
// files whose extension ContentType does not know.
func New(fsys fs.FS, other string) *Files {
	return &Files{fsys: fsys, other: other, cache: map[string]*asset{}}
}

// Exists reports whether name is a file of the set.
func (f *Files) Exists(name string) bool {
	_, err := f.load(name)
	return err == nil
}

// Serve answers r with the file name: Content-Type from a fixed table,
// the ETag and a 304 for a matching If-None-Match, gzip when the client
// takes it, no body for HEAD. The caller sets Cache-Control and any other
// header first. A file that is not there is a 404.
func (f *Files) Serve(w http.ResponseWriter, r *http.Request, name string) {
	a, err := f.load(name)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", a.ctype)
	hd.Set("ETag", a.etag)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Add("Vary", "Accept-Encoding")
	if match := r.Header.Get("If-None-Match"); match != "" && match == a.etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	if a.gz != nil && acceptsGzip(r) {
		hd.Set("Content-Encoding", "gzip")
		writeBody(w, r, a.gz)
		return
	}
	if a.body == nil {
		hd.Set("Content-Length", strconv.Itoa(a.size))
		w.WriteHeader(http.StatusOK)
		if r.Method == http.MethodGet {
			zr, err := gzip.NewReader(bytes.NewReader(a.gz))
			if err == nil { // checked by load
				_, _ = io.Copy(w, zr)
			}
		}
		return
	}
	writeBody(w, r, a.body)
}

func writeBody(w http.ResponseWriter, r *http.Request, body []byte) {
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		_, _ = w.Write(body)
	}
}

// load returns the file, reading and compressing it on first use.
func (f *Files) load(name string) (*asset, error) {
	if !fs.ValidPath(name) || path.Ext(name) == ".gz" {
		return nil, fmt.Errorf("embedded: invalid path %q", name)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if a, ok := f.cache[name]; ok {
		return a, nil
	}
	body, err := fs.ReadFile(f.fsys, name)
	if errors.Is(err, fs.ErrNotExist) {
		return f.loadGzipped(name)
	}
	if err != nil {
		return nil, fmt.Errorf("embedded: %w", err)
	}
	sum := sha256.Sum256(body)
	a := &asset{body: body, etag: `"` + hex.EncodeToString(sum[:8]) + `"`, ctype: cmp.Or(ContentType(name), f.other)}
	if len(body) > 1024 && compressible(a.ctype) {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		if _, err := zw.Write(body); err == nil && zw.Close() == nil && buf.Len() < len(body) {
			a.gz = buf.Bytes()
		}
	}
	f.cache[name] = a
	return a, nil
}

// loadGzipped returns the file name embedded as name.gz; f.mu is held.
func (f *Files) loadGzipped(name string) (*asset, error) {
	gz, err := fs.ReadFile(f.fsys, name+".gz")
	if err != nil {
		return nil, fmt.Errorf("embedded: %w", err)
	}
	size, err := gunzippedSize(gz)
	if err != nil {
		return nil, fmt.Errorf("embedded: %s.gz: %w", name, err)
	}
	sum := sha256.Sum256(gz)
	a := &asset{gz: gz, size: size, etag: `"` + hex.EncodeToString(sum[:8]) + `"`, ctype: cmp.Or(ContentType(name), f.other)}
	f.cache[name] = a
	return a, nil
}

// gunzippedSize decompresses gz, which checks its checksums, and returns
// the size of its content.
func gunzippedSize(gz []byte) (int, error) {
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(io.Discard, zr)
	return int(n), err
}

// ContentType returns the type of a web asset from a fixed table (the
// system's MIME tables differ from machine to machine), "" for another.
func ContentType(name string) string {
	switch path.Ext(name) {
	case ".html":
		return "text/html; charset=utf-8"
	case ".js", ".mjs":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	case ".json", ".map":
		return "application/json"
	case ".png":
		return "image/png"
	case ".ico":
		return "image/x-icon"
	case ".woff2":
		return "font/woff2"
	case ".txt":
		return "text/plain; charset=utf-8"
	}
	return ""
}

func compressible(ctype string) bool {
	return strings.HasPrefix(ctype, "text/") || ctype == "image/svg+xml" || ctype == "application/json"
}

func acceptsGzip(r *http.Request) bool {
	for part := range strings.SplitSeq(r.Header.Get("Accept-Encoding"), ",") {
		enc, q, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.TrimSpace(enc) == "gzip" && strings.ReplaceAll(q, " ", "") != "q=0" {
			return true
		}
	}
	return false
}
