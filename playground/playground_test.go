package playground_test

import (
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/monobase/monobase/playground"
)

func TestHandler(t *testing.T) {
	srv := httptest.NewServer(playground.Handler())
	defer srv.Close()

	tests := []struct {
		name     string
		method   string
		path     string
		status   int
		ctype    string
		contains string
	}{
		{"page at /playground", "GET", "/playground", 200, "text/html", "graphiql.min.js"},
		{"page with trailing slash", "GET", "/playground/", 200, "text/html", `id="endpoint"`},
		{"page offers both endpoints", "GET", "/playground", 200, "text/html", "/graphql/admin"},
		{"graphiql script is embedded", "GET", "/playground/assets/graphiql.min.js", 200, "text/javascript", "GraphiQL"},
		{"graphiql styles are embedded", "GET", "/playground/assets/graphiql.min.css", 200, "text/css", ".graphiql-container"},
		{"react is embedded", "GET", "/playground/assets/react.production.min.js", 200, "text/javascript", "React"},
		{"react-dom is embedded", "GET", "/playground/assets/react-dom.production.min.js", 200, "text/javascript", "ReactDOM"},
		{"graphql-ws is embedded", "GET", "/playground/assets/graphql-ws.min.js", 200, "text/javascript", "graphqlWs"},
		{"our script enables the headers editor", "GET", "/playground/assets/playground.js", 200, "text/javascript", "isHeadersEditorEnabled: true"},
		{"licenses ship with the assets", "GET", "/playground/assets/LICENSE.graphiql", 200, "text/plain", "MIT"},
		{"unknown asset", "GET", "/playground/assets/nope.js", 404, "", ""},
		{"no directory walking", "GET", "/playground/assets/../index.html", 404, "", ""},
		{"unknown path", "GET", "/playground/other", 404, "", ""},
		{"POST is refused", "POST", "/playground", 405, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, srv.URL+tt.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			// Go's transport asks for gzip and decodes it transparently.
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			body, _ := io.ReadAll(res.Body)
			if res.StatusCode != tt.status {
				t.Fatalf("status = %d, want %d", res.StatusCode, tt.status)
			}
			if tt.ctype != "" && !strings.HasPrefix(res.Header.Get("Content-Type"), tt.ctype) {
				t.Errorf("Content-Type = %q, want %q", res.Header.Get("Content-Type"), tt.ctype)
			}
			if !strings.Contains(string(body), tt.contains) {
				t.Errorf("body does not contain %q", tt.contains)
			}
		})
	}

	t.Run("no CDN in the page", func(t *testing.T) {
		res, err := http.Get(srv.URL + "/playground")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		for _, s := range []string{"https://", "http://", "//unpkg", "//cdn"} {
			if strings.Contains(string(body), s) {
				t.Errorf("page references %q", s)
			}
		}
	})

	t.Run("large scripts are sent gzipped when asked", func(t *testing.T) {
		req, _ := http.NewRequest("GET", srv.URL+"/playground/assets/graphiql.min.js", nil)
		req.Header.Set("Accept-Encoding", "gzip")
		res, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		if res.Header.Get("Content-Encoding") != "gzip" {
			t.Fatalf("Content-Encoding = %q", res.Header.Get("Content-Encoding"))
		}
		zr, err := gzip.NewReader(res.Body)
		if err != nil {
			t.Fatal(err)
		}
		plain, err := io.ReadAll(zr)
		if err != nil {
			t.Fatal(err)
		}
		if len(plain) < 1_000_000 {
			t.Errorf("decompressed %d bytes, want the whole bundle", len(plain))
		}
	})

	t.Run("a client without gzip gets the plain bundle", func(t *testing.T) {
		// The bundle is embedded only gzipped (assets/*.gz).
		req, _ := http.NewRequest("GET", srv.URL+"/playground/assets/graphiql.min.js", nil)
		res, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		plain, err := io.ReadAll(res.Body)
		if err != nil {
			t.Fatal(err)
		}
		if res.Header.Get("Content-Encoding") != "" || res.ContentLength != int64(len(plain)) || len(plain) < 1_000_000 {
			t.Errorf("Content-Encoding %q, Content-Length %d, %d bytes", res.Header.Get("Content-Encoding"), res.ContentLength, len(plain))
		}
		if !strings.Contains(string(plain), "GraphiQL") {
			t.Error("the plain bundle is not GraphiQL's")
		}
		res, err = http.Get(srv.URL + "/playground/assets/graphiql.min.js.gz")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusNotFound {
			t.Errorf("the .gz name: %d, want 404", res.StatusCode)
		}
	})

	t.Run("ETag answers 304", func(t *testing.T) {
		res, err := http.Get(srv.URL + "/playground/assets/react.production.min.js")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		etag := res.Header.Get("ETag")
		if etag == "" {
			t.Fatal("no ETag")
		}
		req, _ := http.NewRequest("GET", srv.URL+"/playground/assets/react.production.min.js", nil)
		req.Header.Set("If-None-Match", etag)
		res, err = http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusNotModified {
			t.Errorf("status = %d, want 304", res.StatusCode)
		}
	})
}
