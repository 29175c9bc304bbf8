package metrics

import (
	"database/sql"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
)

// gather returns the registry's families by name.
func gather(t *testing.T, m *Metrics) map[string]*dto.MetricFamily {
	t.Helper()
	fams, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*dto.MetricFamily{}
	for _, f := range fams {
		out[f.GetName()] = f
	}
	return out
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
