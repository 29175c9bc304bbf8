package main

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The rate limit settings the limiter benchmarks compare: off, and the
// defaults with /graphql raised so that nothing is refused (every request
// still goes through the path rule and the operation rule lookup).
const (
	rulesOff = `{enabled: false}`
	rulesOn  = `{enabled: true, rules: [{label: "*:auth", maxRequests: 2, duration: 3},
		{label: "*:create", maxRequests: 20, duration: 5}, {label: "/graphql", maxRequests: 1000000000, duration: 10}]}`
)

// benchServer starts a served stack with a public bench_posts collection
// and one post, and returns it, a superuser token and the by-id query body.
func benchServer(b *testing.B) (*ServeCommand, string, string) {
	b.Helper()
	dir := b.TempDir()
	mustCLI(b, "--dir", dir, "superuser", "upsert", "admin@example.com", "admin-password")
	srv, _ := startServer(b, dir)
	token := signIn(b, srv.URL(), "admin@example.com", "admin-password")
	mustGQL(b, srv.URL()+"/graphql/admin", token, `mutation { createCollection(input: {name: "bench_posts", listRule: "", viewRule: "", createRule: "",
		fields: [{name: "title", type: TEXT}, {name: "views", type: NUMBER}, {name: "published", type: BOOL}]}) { id } }`, nil)
	data := mustGQL(b, srv.URL()+"/graphql", "", `mutation { createBenchPost(input: {title: "the one", views: 1, published: true}) { id } }`, nil)
	id := data["createBenchPost"].(map[string]any)["id"].(string)
	body := fmt.Sprintf(`{"query":"query($id: ID!) { benchPost(id: $id) { id title views published created } }","variables":{"id":%q}}`, id)
	return srv, token, body
}

// setRules saves the rate limit settings literal through the admin API.
func setRules(b *testing.B, srv *ServeCommand, token, literal string) {
	b.Helper()
	mustGQL(b, srv.URL()+"/graphql/admin", token, `mutation { updateSettings(input: {rateLimits: `+literal+`}) { rateLimits { enabled } } }`, nil)
}

// processCPU is the CPU time (user and system) of the process so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkRateLimitsReadByID measures a read by id through the whole
// served handler (auth middleware, path rules, engine with operation
// rules) in process, with the rules off and on, for the limiter's share of
// the read path. Run the pairs interleaved and compare the medians:
//
//	go test ./cmd/monobase -run '^$' -bench RateLimitsReadByID -count 10 -benchtime 20000x
func BenchmarkRateLimitsReadByID(b *testing.B) {
	srv, token, body := benchServer(b)
	h := srv.srv.Handler
	for _, mode := range []struct{ name, rules string }{{"off", rulesOff}, {"on", rulesOn}} {
		b.Run(mode.name, func(b *testing.B) {
			setRules(b, srv, token, mode.rules)
			b.ReportAllocs()
			cpu := processCPU()
			for b.Loop() {
				req := httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				if w.Code != http.StatusOK || bytes.Contains(w.Body.Bytes(), []byte(`"errors"`)) {
					b.Fatalf("status %d: %s", w.Code, w.Body)
				}
			}
			b.ReportMetric(float64(processCPU()-cpu)/float64(b.N), "cpu-ns/op")
		})
	}
}

// BenchmarkRateLimitsHTTPReadByID is BenchmarkRateLimitsReadByID over
// loopback keep-alive connections from 16 clients, as the read benchmark
// (bench/wrk) sends them.
func BenchmarkRateLimitsHTTPReadByID(b *testing.B) {
	srv, token, body := benchServer(b)
	for _, mode := range []struct{ name, rules string }{{"off", rulesOff}, {"on", rulesOn}} {
		b.Run(mode.name, func(b *testing.B) {
			setRules(b, srv, token, mode.rules)
			tr := &http.Transport{MaxIdleConns: 64, MaxIdleConnsPerHost: 64, DisableCompression: true}
			defer tr.CloseIdleConnections()
			c := &http.Client{Transport: tr}
			b.SetParallelism(8) // 16 clients with GOMAXPROCS=2
			b.ReportAllocs()
			cpu := processCPU()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				var buf bytes.Buffer
				for pb.Next() {
					res, err := c.Post(srv.URL()+"/graphql", "application/json", strings.NewReader(body))
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
			b.ReportMetric(float64(processCPU()-cpu)/float64(b.N), "cpu-ns/op")
		})
	}
}
