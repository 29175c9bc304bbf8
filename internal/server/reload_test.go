package server

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// The gate holds requests while it is closed, lets them through when it
// opens, and drain sees the ones inside.
func TestGate(t *testing.T) {
	var g gate
	var served atomic.Int64
	release := make(chan struct{})
	h := g.wrap(func() http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			served.Add(1)
			if r.URL.Path == "/slow" {
				<-release
			}
		})
	})
	do := func(path string) chan int {
		done := make(chan int, 1)
		go func() {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
			done <- rec.Code
		}()
		return done
	}

	slow := do("/slow")
	for served.Load() != 1 {
		time.Sleep(time.Millisecond)
	}
	g.close()
	if g.drain(0, 20*time.Millisecond) {
		t.Fatal("drain returned while a request was inside")
	}
	if !g.drain(1, time.Second) {
		t.Fatal("drain(1) did not see one request inside")
	}
	held := do("/held")
	close(release)
	if code := <-slow; code != 200 {
		t.Fatalf("slow request: %d", code)
	}
	if !g.drain(0, time.Second) {
		t.Fatal("drain did not end when the request left")
	}
	select {
	case <-held:
		t.Fatal("a request went through a closed gate")
	case <-time.After(20 * time.Millisecond):
	}
	if served.Load() != 1 {
		t.Fatalf("served = %d while closed", served.Load())
	}
	g.open()
	if code := <-held; code != 200 || served.Load() != 2 {
		t.Fatalf("held request: %d, served %d", code, served.Load())
	}

	t.Run("a request that gives up while waiting is 503 and not counted", func(t *testing.T) {
		g.close()
		defer g.open()
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/x", nil).WithContext(ctx))
		if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
			t.Fatalf("status %d, Retry-After %q", rec.Code, rec.Header().Get("Retry-After"))
		}
		if n := g.inside.Load(); n != 0 {
			t.Fatalf("inside = %d", n)
		}
	})
}

// BenchmarkGate is the cost the gate adds to every request.
func BenchmarkGate(b *testing.B) {
	var g gate
	var h http.Handler = http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	wrapped := g.wrap(func() http.Handler { return h })
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			wrapped.ServeHTTP(nil, r)
		}
	})
}
