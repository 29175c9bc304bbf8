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
	"embed"
	"fmt"
	"io/fs"
	"net/http"
	"strings"

	"github.com/monobase/monobase/internal/embedded"
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

var defaultHandler = func() *handler {
	files := mustSub(dist, "dist")
	return &handler{files: files, cache: embedded.New(files, "application/octet-stream")}
}()

func mustSub(f fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(f, dir)
	if err != nil {
		panic(fmt.Sprintf("dashboard: %v", err)) // dir is a constant embedded above
	}
	return sub
}

type handler struct {
	files fs.FS
	cache *embedded.Files
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
	hd := w.Header()
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
	h.cache.Serve(w, r, name)
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
