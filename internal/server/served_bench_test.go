package server

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// BenchmarkServedReadByID is one read by id through the whole served
// handler in process (every middleware, no network), with the request
// logs and metrics as `serve` sets them up: the allocations per request
// of the read path, for -memprofile.
//
//	go test ./internal/server -run '^$' -bench 'ServedReadByID$' -benchmem -memprofile /tmp/mem.out
func BenchmarkServedReadByID(b *testing.B) {
	srv, _, body := benchServer(b)
	h := srv.srv.Handler
	b.ReportAllocs()
	for b.Loop() {
		serveRead(b, h, body)
	}
}

// serveRead sends the GraphQL request body to h in process and fails b
// unless it is answered 200 without errors.
func serveRead(b *testing.B, h http.Handler, body string) {
	req := httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != http.StatusOK || bytes.Contains(w.Body.Bytes(), []byte(`"errors"`)) {
		b.Fatalf("status %d: %s", w.Code, w.Body)
	}
}
