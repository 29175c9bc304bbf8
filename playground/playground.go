// Package playground serves GraphiQL from assets embedded in the binary (no
// CDN): /playground is the page, /playground/assets/... its scripts and
// styles. The page talks to /graphql or, with ?endpoint=admin, to
// /graphql/admin, sends the Headers tab as HTTP headers, and runs
// subscriptions over graphql-ws with the headers as connection_init payload.
package playground

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
)

//go:embed index.html playground.js assets
var files embed.FS

// Prefix is the path the handler answers under.
const Prefix = "/playground"

// Handler serves the playground page at /playground (and /playground/) and
// its assets under /playground/assets/. Unknown paths are 404; methods other
// than GET and HEAD are 405.
func Handler() http.Handler { return defaultHandler }

var defaultHandler = &handler{cache: map[string]*asset{}}

type handler struct {
	mu    sync.Mutex
	cache map[string]*asset
}

// asset is one embedded file with its ETag and, for text files, a gzip copy
// made on first use (not at start-up, to keep cold start fast).
type asset struct {
	body  []byte
	gz    []byte
	etag  string
	ctype string
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	var name string
	switch p := r.URL.Path; {
	case p == Prefix || p == Prefix+"/":
		name = "index.html"
	case strings.HasPrefix(p, Prefix+"/assets/"):
		base := strings.TrimPrefix(p, Prefix+"/assets/")
		if base == "" || strings.Contains(base, "/") || strings.HasPrefix(base, ".") {
			http.NotFound(w, r)
			return
		}
		if base == "playground.js" {
			name = base
		} else {
			name = "assets/" + base
		}
	default:
		http.NotFound(w, r)
		return
	}
	a, err := h.load(name)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", a.ctype)
	hd.Set("ETag", a.etag)
	hd.Set("X-Content-Type-Options", "nosniff")
	if name == "index.html" {
		hd.Set("Cache-Control", "no-cache")
	} else {
		hd.Set("Cache-Control", "public, max-age=3600")
	}
	hd.Add("Vary", "Accept-Encoding")
	if match := r.Header.Get("If-None-Match"); match != "" && match == a.etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	body := a.body
	if a.gz != nil && acceptsGzip(r) {
		hd.Set("Content-Encoding", "gzip")
		body = a.gz
	}
	hd.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		_, _ = w.Write(body)
	}
}

// load returns the asset, reading (and compressing) it on first use; it
// fails when the file is not embedded.
func (h *handler) load(name string) (*asset, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if a, ok := h.cache[name]; ok {
		return a, nil
	}
	body, err := fs.ReadFile(files, name)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(body)
	a := &asset{body: body, etag: `"` + hex.EncodeToString(sum[:8]) + `"`, ctype: contentType(name)}
	if len(body) > 1024 && strings.HasPrefix(a.ctype, "text/") {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
		if _, err := zw.Write(body); err == nil && zw.Close() == nil {
			a.gz = buf.Bytes()
		}
	}
	h.cache[name] = a
	return a, nil
}

func contentType(name string) string {
	switch path.Ext(name) {
	case ".html":
		return "text/html; charset=utf-8"
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	}
	return "text/plain; charset=utf-8"
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		enc, q, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.TrimSpace(enc) == "gzip" && strings.ReplaceAll(q, " ", "") != "q=0" {
			return true
		}
	}
	return false
}
