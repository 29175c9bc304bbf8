package metrics

import (
	"bytes"
	"compress/gzip"
	"database/sql"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// gather parses m's exposition with Prometheus' own text parser, lints
// it with promlint, and returns the families by name.
func gather(t *testing.T, m *Metrics) map[string]*dto.MetricFamily {
	t.Helper()
	text := m.Text()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(bytes.NewReader(text))
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, text)
	}
	list := make([]*dto.MetricFamily, 0, len(fams))
	for _, f := range fams {
		list = append(list, f)
	}
	problems, err := promlint.NewWithMetricFamilies(list).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
	return fams
}

// labels renders a metric's labels as name=value pairs.
func labels(m *dto.Metric) map[string]string {
	out := map[string]string{}
	for _, l := range m.Label {
		out[l.GetName()] = l.GetValue()
	}
	return out
}

type fakeSource struct{}

func (fakeSource) PoolStats() (sql.DBStats, sql.DBStats) {
	return sql.DBStats{MaxOpenConnections: 1, OpenConnections: 1}, sql.DBStats{OpenConnections: 3, InUse: 2, WaitCount: 7}
}
func (fakeSource) RunningSubscriptions() int { return 5 }
func (fakeSource) SchemaVersion() uint64     { return 9 }
func (fakeSource) Collections() int          { return 4 }

func TestObserve(t *testing.T) {
	m := New(Options{Version: "v1"})
	m.Observe(Query, 200, time.Millisecond)
	m.Observe(Query, 200, time.Millisecond)
	m.Observe(Files, 404, time.Millisecond)
	m.Observe(WebSocket, 101, time.Hour) // counted, not timed
	m.Observe(Kind(200), 999, 0)         // an unknown kind is "other"; a code past the table still counts
	m.SocketOperation(Subscription)
	m.SocketOperation(Admin) // not an operation kind: ignored

	want := map[[2]string]float64{{"query", "200"}: 2, {"files", "404"}: 1, {"websocket", "101"}: 1, {"other", "999"}: 1}
	fams := gather(t, m)
	got := map[[2]string]float64{}
	for _, mt := range fams["monobase_requests_total"].Metric {
		l := labels(mt)
		got[[2]string{l["type"], l["code"]}] = mt.Counter.GetValue()
	}
	if len(got) != len(want) {
		t.Errorf("requests %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("requests %v = %v, want %v", k, got[k], v)
		}
	}
	for _, mt := range fams["monobase_request_duration_seconds"].Metric {
		l := labels(mt)
		if l["type"] == "websocket" {
			t.Error("WebSockets have a latency series")
		}
		if l["type"] == "query" && mt.Histogram.GetSampleCount() != 2 {
			t.Errorf("query latency samples: %d", mt.Histogram.GetSampleCount())
		}
	}
	ops := fams["monobase_websocket_operations_total"].Metric
	if len(ops) != 3 {
		t.Errorf("%d WebSocket operation series, want 3", len(ops))
	}
	for _, mt := range ops {
		if want := map[bool]float64{true: 1, false: 0}[labels(mt)["type"] == "subscription"]; mt.Counter.GetValue() != want {
			t.Errorf("WebSocket %s operations: %v", labels(mt)["type"], mt.Counter.GetValue())
		}
	}
	if _, ok := fams["monobase_websockets_open"]; ok {
		t.Error("a WebSocket gauge without Options.WebSockets")
	}
}

func TestGaugesFollowTheSource(t *testing.T) {
	open := int64(2)
	m := New(Options{WebSockets: func() int64 { return open }})
	fams := gather(t, m)
	if _, ok := fams["go_sql_open_connections"]; ok {
		t.Error("pool series before a source is set")
	}
	if v := fams["monobase_schema_version"].Metric[0].Gauge.GetValue(); v != 0 {
		t.Errorf("schema version without a source: %v", v)
	}
	m.SetSource(fakeSource{})
	fams = gather(t, m)
	for name, v := range map[string]float64{"monobase_schema_version": 9, "monobase_subscriptions_active": 5,
		"monobase_collections": 4, "monobase_websockets_open": 2} {
		if got := fams[name].Metric[0].Gauge.GetValue(); got != v {
			t.Errorf("%s = %v, want %v", name, got, v)
		}
	}
	pools := map[string]float64{}
	for _, mt := range fams["go_sql_open_connections"].Metric {
		pools[labels(mt)["db_name"]] = mt.Gauge.GetValue()
	}
	if pools["writer"] != 1 || pools["readers"] != 3 {
		t.Errorf("open connections %v", pools)
	}
	if v := fams["go_sql_wait_count_total"].Metric; len(v) != 2 || fams["go_sql_wait_count_total"].GetType() != dto.MetricType_COUNTER {
		t.Errorf("wait count series: %v", v)
	}
	if _, ok := fams["go_goroutines"]; !ok {
		t.Error("no Go runtime series")
	}
}

// BenchmarkObserve is the per-request cost of counting: one histogram
// observation and one counter increment from the table.
func BenchmarkObserve(b *testing.B) {
	m := New(Options{})
	b.ReportAllocs()
	for b.Loop() {
		m.Observe(Query, 200, time.Millisecond)
	}
}

func TestHistogramBuckets(t *testing.T) {
	m := New(Options{Version: "v\"1\"\n\\"}) // a label value to escape
	for _, d := range []time.Duration{300 * time.Microsecond, 500 * time.Microsecond, 2 * time.Millisecond, 20 * time.Second} {
		m.Observe(Admin, 200, d)
	}
	fams := gather(t, m)
	var h *dto.Histogram
	for _, mt := range fams["monobase_request_duration_seconds"].Metric {
		if labels(mt)["type"] == "admin" {
			h = mt.Histogram
		}
	}
	if h == nil {
		t.Fatal("no admin latency series")
	}
	// Cumulative counts: a bound holds the samples at or below it.
	want := map[float64]uint64{.0005: 2, .001: 2, .0025: 3, 10: 3}
	for _, b := range h.Bucket {
		if n, ok := want[b.GetUpperBound()]; ok && b.GetCumulativeCount() != n {
			t.Errorf("bucket le=%v: %d, want %d", b.GetUpperBound(), b.GetCumulativeCount(), n)
		}
	}
	if h.GetSampleCount() != 4 || h.GetSampleSum() < 20.0028 || h.GetSampleSum() > 20.0029 {
		t.Errorf("count %d sum %v", h.GetSampleCount(), h.GetSampleSum())
	}
	if v := labels(fams["monobase_build_info"].Metric[0])["version"]; v != "v\"1\"\n\\" {
		t.Errorf("version label %q", v)
	}
}

func TestRuntimeAndProcessSeries(t *testing.T) {
	fams := gather(t, New(Options{}))
	if v := fams["go_goroutines"].Metric[0].Gauge.GetValue(); v < 1 {
		t.Errorf("go_goroutines = %v", v)
	}
	if v := fams["go_memstats_heap_alloc_bytes"].Metric[0].Gauge.GetValue(); v < 1 {
		t.Errorf("heap = %v", v)
	}
	if q := fams["go_gc_duration_seconds"].Metric[0].Summary.Quantile; len(q) != 5 {
		t.Errorf("GC pause quantiles: %v", q)
	}
	if v := fams["go_sched_gomaxprocs_threads"].Metric[0].Gauge.GetValue(); v != float64(runtime.GOMAXPROCS(0)) {
		t.Errorf("gomaxprocs = %v", v)
	}
	if runtime.GOOS != "linux" {
		return
	}
	start := fams["process_start_time_seconds"].Metric[0].Gauge.GetValue()
	if now := float64(time.Now().Unix()); start > now+1 || start < now-24*3600 {
		t.Errorf("start time %v, now %v", start, now)
	}
	if v := fams["process_resident_memory_bytes"].Metric[0].Gauge.GetValue(); v < 1<<20 {
		t.Errorf("RSS %v", v)
	}
	if v := fams["process_open_fds"].Metric[0].Gauge.GetValue(); v < 3 {
		t.Errorf("open fds %v", v)
	}
}

func TestHandlerGzip(t *testing.T) {
	m := New(Options{})
	m.Observe(Query, 200, time.Millisecond)
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	for _, gz := range []bool{false, true} {
		req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
		if gz {
			req.Header.Set("Accept-Encoding", "gzip")
		}
		// A Transport of its own: the default one would ask for gzip and
		// decode it unseen.
		res, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		var body io.Reader = res.Body
		if enc := res.Header.Get("Content-Encoding"); (enc == "gzip") != gz {
			t.Fatalf("gzip asked %v, Content-Encoding %q", gz, enc)
		} else if gz {
			if body, err = gzip.NewReader(res.Body); err != nil {
				t.Fatal(err)
			}
		}
		text, err := io.ReadAll(body)
		res.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if ct := res.Header.Get("Content-Type"); ct != contentType {
			t.Errorf("Content-Type %q", ct)
		}
		if !bytes.Contains(text, []byte(`monobase_requests_total{code="200",type="query"} 1`)) {
			t.Errorf("gzip %v: no query counter in\n%s", gz, text)
		}
	}
}
