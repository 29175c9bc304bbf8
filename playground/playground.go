// Package playground serves GraphiQL from assets embedded in the binary (no
// CDN): /playground is the page, /playground/assets/... its scripts and
// styles. The page talks to /graphql or, with ?endpoint=admin, to
// /graphql/admin, sends the Headers tab as HTTP headers, and runs
// subscriptions over graphql-ws with the headers as connection_init payload.
package playground

import (
	"embed"
	"net/http"
	"strings"

	"github.com/monobase/monobase/internal/embedded"
)

//go:embed index.html playground.js assets
var files embed.FS

// Prefix is the path the handler answers under.
const Prefix = "/playground"

// Handler serves the playground page at /playground (and /playground/) and
// its assets under /playground/assets/. Unknown paths are 404; methods other
// than GET and HEAD are 405.
func Handler() http.Handler { return defaultHandler }

var defaultHandler = &handler{files: embedded.New(files, "text/plain; charset=utf-8")}

type handler struct{ files *embedded.Files }

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
	if name == "index.html" {
		w.Header().Set("Cache-Control", "no-cache")
	} else {
		w.Header().Set("Cache-Control", "public, max-age=3600")
	}
	h.files.Serve(w, r, name)
}
