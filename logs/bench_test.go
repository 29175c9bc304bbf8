package logs

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// BenchmarkWriter measures the writer's cost per request entry (encoding
// and the batched insert, in the background): entries are queued through
// the middleware and flushed every 1,000.
//
//	go test ./logs -run '^$' -bench Writer -benchmem
func BenchmarkWriter(b *testing.B) {
	svc, err := Open(context.Background(), b.TempDir(), DefaultSettings(), Config{FlushEvery: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	defer svc.Close(context.Background())
	h := svc.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		SetOperation(r.Context(), "query", "GetPost")
	}))
	req := httptest.NewRequest(http.MethodPost, "/graphql", nil)
	w := httptest.NewRecorder()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		h.ServeHTTP(w, req)
		if i++; i%1000 == 0 {
			if err := svc.Flush(context.Background()); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := svc.Flush(context.Background()); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkMiddleware is the request path alone: the writer drains the
// queue in the background meanwhile.
//
//	go test ./logs -run '^$' -bench Middleware -benchmem
func BenchmarkMiddleware(b *testing.B) {
	svc, err := Open(context.Background(), b.TempDir(), DefaultSettings(), Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer svc.Close(context.Background())
	h := svc.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	req := httptest.NewRequest(http.MethodPost, "/graphql", nil)
	w := httptest.NewRecorder()
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(w, req)
	}
}
