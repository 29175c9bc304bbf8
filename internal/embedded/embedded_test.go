package embedded

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
)

func gzipped(t *testing.T, s string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func serve(f *Files, method, name, acceptEncoding string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, "/"+name, nil)
	if acceptEncoding != "" {
		r.Header.Set("Accept-Encoding", acceptEncoding)
	}
	w := httptest.NewRecorder()
	f.Serve(w, r, name)
	return w
}

// A file embedded only as NAME.gz is served as NAME: compressed to a
// client that takes gzip, decompressed with its true length to one that
// does not, and never under its ".gz" name.
func TestGzipOnlyFiles(t *testing.T) {
	script := strings.Repeat("console.log('monobase');\n", 400)
	gz := gzipped(t, script)
	f := New(fstest.MapFS{
		"app.js.gz": {Data: gz},
		"bad.js.gz": {Data: []byte("not gzip")},
		"plain.css": {Data: []byte("body { color: red }")},
	}, "text/plain")

	w := serve(f, http.MethodGet, "app.js", "br, gzip")
	if w.Code != 200 || w.Header().Get("Content-Encoding") != "gzip" || !bytes.Equal(w.Body.Bytes(), gz) {
		t.Fatalf("gzip client: %d %q, %d bytes", w.Code, w.Header().Get("Content-Encoding"), w.Body.Len())
	}
	if got := w.Header().Get("Content-Type"); got != "text/javascript; charset=utf-8" {
		t.Errorf("Content-Type = %q", got)
	}
	etag := w.Header().Get("ETag")

	w = serve(f, http.MethodGet, "app.js", "")
	if w.Code != 200 || w.Header().Get("Content-Encoding") != "" || w.Body.String() != script {
		t.Fatalf("plain client: %d %q, %d bytes, want %d", w.Code, w.Header().Get("Content-Encoding"), w.Body.Len(), len(script))
	}
	if got := w.Header().Get("Content-Length"); got != strconv.Itoa(len(script)) {
		t.Errorf("Content-Length = %s, want %d", got, len(script))
	}
	if w.Header().Get("ETag") != etag || etag == "" {
		t.Errorf("ETag %q differs from the gzip answer's %q", w.Header().Get("ETag"), etag)
	}

	w = serve(f, http.MethodHead, "app.js", "gzip;q=0")
	if w.Code != 200 || w.Body.Len() != 0 || w.Header().Get("Content-Length") != strconv.Itoa(len(script)) {
		t.Errorf("HEAD: %d, %d body bytes, Content-Length %s", w.Code, w.Body.Len(), w.Header().Get("Content-Length"))
	}

	r := httptest.NewRequest(http.MethodGet, "/app.js", nil)
	r.Header.Set("If-None-Match", etag)
	w = httptest.NewRecorder()
	f.Serve(w, r, "app.js")
	if w.Code != http.StatusNotModified {
		t.Errorf("If-None-Match: %d, want 304", w.Code)
	}

	for _, name := range []string{"app.js.gz", "bad.js", "missing.js"} {
		if w := serve(f, http.MethodGet, name, "gzip"); w.Code != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", name, w.Code)
		}
	}

	w = serve(f, http.MethodGet, "plain.css", "")
	if body, _ := io.ReadAll(w.Body); w.Code != 200 || string(body) != "body { color: red }" {
		t.Errorf("plain file: %d %q", w.Code, body)
	}
}
