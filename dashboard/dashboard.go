// Package dashboard serves the admin dashboard, a single-page app built
// from web/ (Preact and Vite) into dist/, which the binary embeds: it works
// offline and without npm. /_/ is the app, /_/assets/... its hashed
// scripts and styles, and any other path under /_/ is the app again (its
// routes live in the URL fragment, deep links under /_/ still load it).
// The app talks only to /graphql/admin and /graphql.
//
// Rebuild dist/ after changing web/ with `npm run build` in web/;
// scripts/test.sh fails when the committed dist/ is not what web/ builds.
package dashboard

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
)

//go:embed all:dist
var dist embed.FS

// Prefix is the path the dashboard is served under.
const Prefix = "/_/"

// assetsDir is where Vite writes the hashed files (their names change with
// their content, so they may be cached for good).
const assetsDir = "assets/"

// csp keeps the page to its own origin: scripts and styles from the
// binary, requests to this server only, never framed.
const csp = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
	"img-src 'self' data: blob:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

// Handler serves the dashboard under Prefix (and redirects /_ there).
// Methods other than GET and HEAD are 405; a missing asset is 404.
func Handler() http.Handler { return defaultHandler }

// RedirectRoot answers every request with a 302 to the dashboard; serve it
// at the site root ("/" exactly).
func RedirectRoot() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, Prefix, http.StatusFound)
	})
}

var defaultHandler = &handler{files: mustSub(dist, "dist"), cache: map[string]*asset{}}

func mustSub(f fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(f, dir)
	if err != nil {
		panic(fmt.Sprintf("dashboard: %v", err)) // dir is a constant embedded above
	}
	return sub
}

type handler struct {
	files fs.FS
	mu    sync.Mutex
	cache map[string]*asset
}

// asset is one embedded file with its ETag and, for compressible types, a
// gzip copy made on first use (not at start-up, to keep cold start fast).
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
	p := r.URL.Path
	if p == strings.TrimSuffix(Prefix, "/") {
		http.Redirect(w, r, Prefix, http.StatusMovedPermanently)
		return
	}
	if !strings.HasPrefix(p, Prefix) {
		http.NotFound(w, r)
		return
	}
	name := strings.TrimPrefix(p, Prefix)
	hashed := strings.HasPrefix(name, assetsDir)
	if !hashed && !isTopLevelFile(h.files, name) {
		name = "index.html" // the app's own routes
	}
	if !fs.ValidPath(name) {
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
	switch {
	case hashed:
		hd.Set("Cache-Control", "public, max-age=31536000, immutable")
	default:
		hd.Set("Cache-Control", "no-cache")
	}
	if name == "index.html" {
		hd.Set("Content-Security-Policy", csp)
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Referrer-Policy", "no-referrer")
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

// isTopLevelFile reports whether name is a file at the top of dist other
// than index.html (favicon.svg, say), served as itself.
func isTopLevelFile(f fs.FS, name string) bool {
	if name == "" || name == "index.html" || strings.Contains(name, "/") || !fs.ValidPath(name) {
		return false
	}
	st, err := fs.Stat(f, name)
	return err == nil && !st.IsDir()
}

// load returns the asset, reading (and compressing) it on first use; it
// fails when the file is not embedded.
func (h *handler) load(name string) (*asset, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if a, ok := h.cache[name]; ok {
		return a, nil
	}
	body, err := fs.ReadFile(h.files, name)
	if err != nil {
		return nil, fmt.Errorf("dashboard: %w", err)
	}
	sum := sha256.Sum256(body)
	a := &asset{body: body, etag: `"` + hex.EncodeToString(sum[:8]) + `"`, ctype: contentType(name)}
	if len(body) > 1024 && compressible(a.ctype) {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		if _, err := zw.Write(body); err == nil && zw.Close() == nil && buf.Len() < len(body) {
			a.gz = buf.Bytes()
		}
	}
	h.cache[name] = a
	return a, nil
}

// contentType returns the type of the files Vite writes, from a fixed
// table (the system's MIME tables differ from machine to machine).
func contentType(name string) string {
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
	}
	return "application/octet-stream"
}

func compressible(ctype string) bool {
	return strings.HasPrefix(ctype, "text/") || ctype == "image/svg+xml" || ctype == "application/json"
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
