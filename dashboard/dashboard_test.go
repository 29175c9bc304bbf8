package dashboard

import (
	"bytes"
	"compress/gzip"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

// get serves one request from the embedded dashboard.
func get(t *testing.T, method, path string, header map[string]string) *http.Response {
	t.Helper()
	r := httptest.NewRequest(method, path, nil)
	for k, v := range header {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	Handler().ServeHTTP(w, r)
	return w.Result()
}

func body(t *testing.T, res *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// builtAssets returns the hashed files of the committed build.
func builtAssets(t *testing.T) []string {
	t.Helper()
	entries, err := fs.ReadDir(dist, "dist/assets")
	if err != nil {
		t.Fatalf("the build has no assets folder: %v", err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestIndex(t *testing.T) {
	for _, path := range []string{"/_/", "/_/collections", "/_/collections/posts/edit", "/_/index.html"} {
		t.Run("serves the app at "+path, func(t *testing.T) {
			res := get(t, http.MethodGet, path, nil)
			if res.StatusCode != http.StatusOK {
				t.Fatalf("status %d", res.StatusCode)
			}
			if ct := res.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
				t.Errorf("Content-Type = %q", ct)
			}
			if cc := res.Header.Get("Cache-Control"); cc != "no-cache" {
				t.Errorf("Cache-Control = %q, want no-cache", cc)
			}
			if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") {
				t.Errorf("Content-Security-Policy = %q", csp)
			}
			b := body(t, res)
			if !strings.Contains(b, "<title>Monobase dashboard</title>") {
				t.Errorf("not the dashboard's page:\n%s", b)
			}
			// Everything the page loads comes from the binary (no CDN).
			for _, m := range regexp.MustCompile(`(?:src|href)="([^"]+)"`).FindAllStringSubmatch(b, -1) {
				if u := m[1]; !strings.HasPrefix(u, "/_/assets/") && !strings.HasPrefix(u, "data:") {
					t.Errorf("the page loads %s from outside the dashboard", u)
				}
			}
		})
	}
	t.Run("HEAD has no body", func(t *testing.T) {
		res := get(t, http.MethodHead, "/_/", nil)
		if res.StatusCode != http.StatusOK || body(t, res) != "" {
			t.Fatalf("status %d", res.StatusCode)
		}
	})
	t.Run("/_ redirects to /_/", func(t *testing.T) {
		res := get(t, http.MethodGet, "/_", nil)
		if res.StatusCode != http.StatusMovedPermanently || res.Header.Get("Location") != "/_/" {
			t.Fatalf("status %d, Location %q", res.StatusCode, res.Header.Get("Location"))
		}
	})
	t.Run("POST is 405", func(t *testing.T) {
		res := get(t, http.MethodPost, "/_/", nil)
		if res.StatusCode != http.StatusMethodNotAllowed || res.Header.Get("Allow") != "GET, HEAD" {
			t.Fatalf("status %d, Allow %q", res.StatusCode, res.Header.Get("Allow"))
		}
	})
}

func TestAssets(t *testing.T) {
	names := builtAssets(t)
	types := map[string]string{".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
	seen := map[string]bool{}
	for _, name := range names {
		ext := name[strings.LastIndex(name, "."):]
		want, ok := types[ext]
		if !ok {
			continue
		}
		seen[ext] = true
		t.Run(name, func(t *testing.T) {
			res := get(t, http.MethodGet, "/_/assets/"+name, nil)
			if res.StatusCode != http.StatusOK {
				t.Fatalf("status %d", res.StatusCode)
			}
			if ct := res.Header.Get("Content-Type"); ct != want {
				t.Errorf("Content-Type = %q, want %q", ct, want)
			}
			if cc := res.Header.Get("Cache-Control"); !strings.Contains(cc, "immutable") || !strings.Contains(cc, "max-age=31536000") {
				t.Errorf("Cache-Control = %q, want a year, immutable", cc)
			}
			if res.Header.Get("X-Content-Type-Options") != "nosniff" {
				t.Error("no nosniff")
			}
			plain := body(t, res)
			embedded, _ := fs.ReadFile(dist, "dist/assets/"+name)
			if plain != string(embedded) {
				t.Fatal("the body is not the embedded file")
			}

			etag := res.Header.Get("ETag")
			again := get(t, http.MethodGet, "/_/assets/"+name, map[string]string{"If-None-Match": etag})
			if etag == "" || again.StatusCode != http.StatusNotModified {
				t.Errorf("If-None-Match %q: status %d, want 304", etag, again.StatusCode)
			}

			gz := get(t, http.MethodGet, "/_/assets/"+name, map[string]string{"Accept-Encoding": "gzip"})
			if len(embedded) > 1024 {
				if gz.Header.Get("Content-Encoding") != "gzip" {
					t.Fatal("a large text asset is not sent gzipped")
				}
				zr, err := gzip.NewReader(bytes.NewReader([]byte(body(t, gz))))
				if err != nil {
					t.Fatal(err)
				}
				un, _ := io.ReadAll(zr)
				if string(un) != plain {
					t.Error("the gzipped body does not decompress to the file")
				}
			}
		})
	}
	if !seen[".js"] || !seen[".css"] {
		t.Fatalf("the build lacks a script or a style sheet: %v", names)
	}
	for _, path := range []string{"/_/assets/missing-123.js", "/_/assets/", "/_/assets/../index.html", "/playground"} {
		t.Run("404 for "+path, func(t *testing.T) {
			if res := get(t, http.MethodGet, path, nil); res.StatusCode != http.StatusNotFound {
				t.Fatalf("status %d, want 404 (a missing asset is not the app)", res.StatusCode)
			}
		})
	}
}

func TestRedirectRoot(t *testing.T) {
	w := httptest.NewRecorder()
	RedirectRoot().ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/", nil))
	if w.Code != http.StatusFound || w.Header().Get("Location") != Prefix {
		t.Fatalf("status %d, Location %q; want 302 to %s", w.Code, w.Header().Get("Location"), Prefix)
	}
}
