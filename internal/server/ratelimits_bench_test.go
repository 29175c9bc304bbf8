package server

import (
	"bytes"
	"fmt"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/monobase/monobase/ratelimit"
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
// set, when given, changes the command before it runs (after startServer's
// own changes).
func benchServer(b *testing.B, set ...func(*ServeCommand)) (*ServeCommand, string, string) {
	b.Helper()
	dir := b.TempDir()
	mustCLI(b, "--dir", dir, "superuser", "upsert", "admin@example.com", "admin-password")
	srv, _ := startServerWith(b, dir, func(c *ServeCommand) {
		c.RateLimits = &ratelimit.Settings{}
		for _, f := range set {
			f(c)
		}
	})
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

// phase is one measured run of a pair: wall time, process CPU time and
// allocations per request.
type phase struct{ ns, cpu, allocs float64 }

// measure runs send (which sends n requests) and returns its phase.
func measure(n int, send func(n int)) phase {
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	cpu, start := processCPU(), time.Now()
	send(n)
	wall, used := time.Since(start), processCPU()-cpu
	runtime.ReadMemStats(&m1)
	return phase{ns: float64(wall) / float64(n), cpu: float64(used) / float64(n), allocs: float64(m1.Mallocs-m0.Mallocs) / float64(n)}
}

// rulesSwitch turns the rate limit rules off or on.
func rulesSwitch(b *testing.B, srv *ServeCommand, token string) func(on bool) {
	return func(on bool) { setRules(b, srv, token, [...]string{rulesOff, rulesOn}[boolIndex(on)]) }
}

// pairs measures send with a feature off and on (turned by set), one pair
// per iteration (the order flips every iteration, so neither side always
// runs first), after an unmeasured warm-up, and reports the medians:
// ns/op and cpu-ns/op of each side, their ratios on/off, and allocs/op.
func pairs(b *testing.B, set func(on bool), perPhase int, send func(n int)) {
	measurePairs(b, perPhase, set, [2]func(n int){send, send})
}

// sidePairs is pairs over two senders: send[0] is off, send[1] on.
func sidePairs(b *testing.B, perPhase int, send [2]func(n int)) {
	measurePairs(b, perPhase, func(bool) {}, send)
}

// measurePairs runs pairs and sidePairs: set(on) before each side, then
// send[side].
func measurePairs(b *testing.B, perPhase int, set func(on bool), send [2]func(n int)) {
	for side := range 2 { // warm-up: caches, connections, the schema's query cache
		set(side == 1)
		send[side](perPhase)
	}
	var off, on []phase
	var ratioNs, ratioCPU []float64
	flip := false
	for b.Loop() {
		var p [2]phase
		for _, side := range [][2]int{{0, 1}, {1, 0}}[boolIndex(flip)] {
			set(side == 1)
			p[side] = measure(perPhase, send[side])
		}
		flip = !flip
		off, on = append(off, p[0]), append(on, p[1])
		ratioNs, ratioCPU = append(ratioNs, p[1].ns/p[0].ns), append(ratioCPU, p[1].cpu/p[0].cpu)
	}
	b.StopTimer()
	med := func(v []float64) float64 { s := slices.Clone(v); slices.Sort(s); return s[len(s)/2] }
	get := func(ps []phase, f func(phase) float64) []float64 {
		var out []float64
		for _, p := range ps {
			out = append(out, f(p))
		}
		return out
	}
	b.ReportMetric(0, "ns/op") // one iteration is a pair: not a figure
	b.ReportMetric(med(get(off, func(p phase) float64 { return p.ns })), "off-ns/req")
	b.ReportMetric(med(get(on, func(p phase) float64 { return p.ns })), "on-ns/req")
	b.ReportMetric(med(get(off, func(p phase) float64 { return p.cpu })), "off-cpu-ns/req")
	b.ReportMetric(med(get(on, func(p phase) float64 { return p.cpu })), "on-cpu-ns/req")
	b.ReportMetric(med(ratioNs), "on/off-ns")
	b.ReportMetric(med(ratioCPU), "on/off-cpu")
	b.ReportMetric(med(get(off, func(p phase) float64 { return p.allocs })), "off-allocs/req")
	b.ReportMetric(med(get(on, func(p phase) float64 { return p.allocs })), "on-allocs/req")
}

func boolIndex(b bool) int {
	if b {
		return 1
	}
	return 0
}

// BenchmarkRateLimitsReadByID measures what the rate limit rules cost on
// a read by id through the whole served handler in process (auth
// middleware, path rules, engine with operation rules; no network): each
// iteration is a pair of 2,000 requests with the rules off and on, and
// the medians of the pairs are reported (on/off-ns, on/off-cpu,
// allocations per request).
//
//	go test ./internal/server -run '^$' -bench 'RateLimitsReadByID$' -benchtime 30x
func BenchmarkRateLimitsReadByID(b *testing.B) {
	srv, token, body := benchServer(b)
	pairs(b, rulesSwitch(b, srv, token), 2000, readsInProcess(b, srv, body))
}

// readsInProcess returns a send for pairs: n reads by id (body) through
// srv's whole handler, in process and one after the other.
func readsInProcess(b *testing.B, srv *ServeCommand, body string) func(n int) {
	h := srv.srv.Handler
	return func(n int) {
		for range n {
			serveRead(b, h, body)
		}
	}
}

// BenchmarkRateLimitsOnReadByID is the read by id with the rules on,
// alone, for a CPU profile: the share of the samples in the limiter's
// functions does not depend on how loaded the machine is (limiter.sh).
//
//	go test ./internal/server -run '^$' -bench 'RateLimitsOnReadByID$' -benchtime 20s -cpuprofile /tmp/cpu.out
func BenchmarkRateLimitsOnReadByID(b *testing.B) {
	srv, token, body := benchServer(b)
	setRules(b, srv, token, rulesOn)
	h := srv.srv.Handler
	b.ReportAllocs()
	for b.Loop() {
		serveRead(b, h, body)
	}
}

// BenchmarkRateLimitsHTTPReadByID is BenchmarkRateLimitsReadByID over
// loopback keep-alive connections from 16 clients, as the read benchmark
// sends them (10,000 requests per phase).
//
//	go test ./internal/server -run '^$' -bench 'RateLimitsHTTPReadByID$' -benchtime 10x
func BenchmarkRateLimitsHTTPReadByID(b *testing.B) {
	srv, token, body := benchServer(b)
	pairs(b, rulesSwitch(b, srv, token), 10000, readsOverHTTP(b, srv, body))
}

// readsOverHTTP returns a send for pairs: n reads by id (body) sent to
// srv over loopback keep-alive connections by 16 clients.
func readsOverHTTP(b *testing.B, srv *ServeCommand, body string) func(n int) {
	tr := &http.Transport{MaxIdleConns: 64, MaxIdleConnsPerHost: 64, DisableCompression: true}
	b.Cleanup(tr.CloseIdleConnections)
	c := &http.Client{Transport: tr}
	return func(n int) {
		var next atomic.Int64
		var wg sync.WaitGroup
		for range 16 {
			wg.Go(func() {
				var buf bytes.Buffer
				for next.Add(1) <= int64(n) {
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
		}
		wg.Wait()
	}
}
