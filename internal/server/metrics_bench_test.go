package server

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// metricsPair starts two served stacks with the read-by-id data, one with
// --metrics off and one with the metrics on, and returns them with their
// query bodies.
func metricsPair(b *testing.B) (srv [2]*ServeCommand, body [2]string) {
	srv[0], _, body[0] = benchServer(b, func(c *ServeCommand) { c.Metrics = MetricsOff })
	srv[1], _, body[1] = benchServer(b)
	if srv[0].ms.metrics != nil || srv[1].ms.metrics == nil {
		b.Fatal("the pair is not metrics off and on")
	}
	return srv, body
}

// BenchmarkMetricsReadByID measures what the metrics cost on a read by id
// through the whole served handler in process (no network): each
// iteration is a pair of 2,000 requests to a server with --metrics off
// and one with the metrics on, and the medians of the pairs are reported
// (on/off-ns, on/off-cpu, allocations per request).
//
//	go test ./internal/server -run '^$' -bench 'MetricsReadByID$' -benchtime 30x
func BenchmarkMetricsReadByID(b *testing.B) {
	srv, body := metricsPair(b)
	var send [2]func(n int)
	for side := range send {
		h, body := srv[side].srv.Handler, body[side]
		send[side] = func(n int) {
			for range n {
				serveRead(b, h, body)
			}
		}
	}
	sidePairs(b, 2000, send)
}

// BenchmarkMetricsHTTPReadByID is BenchmarkMetricsReadByID over loopback
// keep-alive connections from 16 clients (10,000 requests per phase).
//
//	go test ./internal/server -run '^$' -bench 'MetricsHTTPReadByID$' -benchtime 10x
func BenchmarkMetricsHTTPReadByID(b *testing.B) {
	srv, body := metricsPair(b)
	tr := &http.Transport{MaxIdleConns: 64, MaxIdleConnsPerHost: 64, DisableCompression: true}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr}
	var send [2]func(n int)
	for side := range send {
		url, body := srv[side].URL()+"/graphql", body[side]
		send[side] = func(n int) {
			var next atomic.Int64
			var wg sync.WaitGroup
			for range 16 {
				wg.Go(func() {
					var buf bytes.Buffer
					for next.Add(1) <= int64(n) {
						res, err := c.Post(url, "application/json", strings.NewReader(body))
						if err != nil {
							b.Error(err)
							return
						}
						buf.Reset()
						_, _ = buf.ReadFrom(res.Body)
						res.Body.Close()
						if res.StatusCode != http.StatusOK || bytes.Contains(buf.Bytes(), []byte(`"errors"`)) {
							b.Errorf("status %d: %s", res.StatusCode, buf.String())
							return
						}
					}
				})
			}
			wg.Wait()
		}
	}
	sidePairs(b, 10000, send)
}

// BenchmarkMetricsMiddleware measures the counting middleware alone
// around a handler that only answers, for a /graphql request (the costlier
// path: its context carries the writer for the engine extension) and for
// a /files/ one; compare with the "bare" case, the handler alone.
//
//	go test ./internal/server -run '^$' -bench 'MetricsMiddleware' -benchmem
func BenchmarkMetricsMiddleware(b *testing.B) {
	c := &ServeCommand{}
	c.startMetrics()
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if o, _ := r.Context().Value(observedKey{}).(*observed); o != nil {
			o.kind.Store(uint32(1)) // as the engine extension does
		}
		w.WriteHeader(http.StatusOK)
	})
	for _, tc := range []struct {
		name, path string
		h          http.Handler
	}{
		{"bare", "/graphql", ok},
		{"graphql", "/graphql", c.withMetrics(ok)},
		{"files", "/files/a/b/c", c.withMetrics(ok)},
	} {
		b.Run(tc.name, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodPost, tc.path, nil)
			w := httptest.NewRecorder()
			b.ReportAllocs()
			for b.Loop() {
				tc.h.ServeHTTP(w, req)
			}
		})
	}
}
