package server

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/monobase/monobase/ratelimit"
)

// scrape is one parsed /metrics answer.
type scrape map[string]*dto.MetricFamily

// getMetrics GETs url with token (none when "") and returns the status and
// body.
func getMetrics(t *testing.T, url, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(body)
}

// mustScrape GETs url and parses the Prometheus text format.
func mustScrape(t *testing.T, url, token string) scrape {
	t.Helper()
	status, body := getMetrics(t, url, token)
	if status != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, status, body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parse %s: %v\n%s", url, err, body)
	}
	return fams
}

// value returns the value of the series of family name whose labels
// include labels (name=value pairs), and whether there is one. A
// histogram's value is its sample count.
func (s scrape) value(name string, labels ...string) (float64, bool) {
	f := s[name]
	if f == nil {
		return 0, false
	}
next:
	for _, m := range f.Metric {
		for i := 0; i+1 < len(labels); i += 2 {
			found := false
			for _, l := range m.Label {
				if l.GetName() == labels[i] && l.GetValue() == labels[i+1] {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		case m.Untyped != nil:
			return m.Untyped.GetValue(), true
		}
	}
	return 0, false
}

// want fails t unless the series has the value v.
func (s scrape) want(t *testing.T, v float64, name string, labels ...string) {
	t.Helper()
	got, ok := s.value(name, labels...)
	if !ok {
		t.Errorf("no series %s%v", name, labels)
		return
	}
	if got != v {
		t.Errorf("%s%v = %v, want %v", name, labels, got, v)
	}
}

// waitFor scrapes url until cond holds, for up to 10 s.
func waitFor(t *testing.T, url, token, what string, cond func(scrape) bool) scrape {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s := mustScrape(t, url, token)
		if cond(s) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited 10 s for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestMetrics(t *testing.T) {
	dir := t.TempDir()
	mustCLI(t, "--dir", dir, "superuser", "upsert", "admin@example.com", "admin-password")
	srv, _ := startServerWith(t, dir, func(c *ServeCommand) {
		c.RateLimits = &ratelimit.Settings{}
		c.Metrics = "127.0.0.1:0"
	})
	base := srv.URL()
	admin := signIn(t, base, "admin@example.com", "admin-password")
	mustGQL(t, base+"/graphql/admin", admin, `mutation { createCollection(input: {name: "posts", listRule: "", viewRule: "", createRule: "",
		fields: [{name: "title", type: TEXT}]}) { id } }`, nil)
	_, userToken := signUp(t, base, "ann@example.com") // a mutation and a mutation
	open := mustScrape(t, "http://"+srv.MetricsAddr()+"/metrics", "")

	// Two queries, one more mutation, a request that never became an
	// operation, a file that does not exist.
	for range 2 {
		mustGQL(t, base+"/graphql", "", `{ posts { id title } }`, nil)
	}
	mustGQL(t, base+"/graphql", "", `mutation { createPost(input: {title: "one"}) { id } }`, nil)
	bad := gql(t, base+"/graphql", "", `{ posts {`, nil)
	if bad.Status == http.StatusOK && len(bad.Errors) == 0 {
		t.Fatal("a broken document was answered without errors")
	}
	if res, _ := httpGet(t, base+"/files/nope/nope/nope.txt"); res.StatusCode != http.StatusNotFound {
		t.Fatalf("missing file: %d", res.StatusCode)
	}

	// A subscription on a WebSocket, which receives an event.
	conn := dialGraphQLWS(t, srv.Addr())
	if err := conn.WriteJSON(map[string]any{"type": "connection_init", "payload": map[string]any{}}); err != nil {
		t.Fatal(err)
	}
	var msg struct {
		Type    string         `json:"type"`
		Payload map[string]any `json:"payload"`
	}
	if err := conn.ReadJSON(&msg); err != nil || msg.Type != "connection_ack" {
		t.Fatalf("ack: %v %q", err, msg.Type)
	}
	if err := conn.WriteJSON(map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{
		"query": "subscription { postChanged { action } }"}}); err != nil {
		t.Fatal(err)
	}
	mainURL := base + "/metrics"
	s := waitFor(t, mainURL, admin, "the subscription to run", func(s scrape) bool {
		v, _ := s.value("monobase_subscriptions_active")
		return v == 1
	})
	mustGQL(t, base+"/graphql", "", `mutation { createPost(input: {title: "two"}) { id } }`, nil)
	if err := conn.ReadJSON(&msg); err != nil || msg.Type != "next" {
		t.Fatalf("event: %v %q %v", err, msg.Type, msg.Payload)
	}

	t.Run("series and values", func(t *testing.T) {
		s = mustScrape(t, mainURL, admin)
		s.want(t, 2, "monobase_requests_total", "type", "query", "code", "200")
		s.want(t, 2, "monobase_request_duration_seconds", "type", "query")
		s.want(t, 4, "monobase_requests_total", "type", "mutation", "code", "200") // sign-up, sign-in, two creates
		s.want(t, 1, "monobase_requests_total", "type", "graphql", "code", fmt.Sprint(bad.Status))
		s.want(t, 1, "monobase_requests_total", "type", "files", "code", "404")
		s.want(t, 1, "monobase_websocket_operations_total", "type", "subscription")
		s.want(t, 0, "monobase_websocket_operations_total", "type", "query")
		s.want(t, 1, "monobase_websockets_open")
		s.want(t, 1, "monobase_subscriptions_active")
		s.want(t, 1, "go_sql_max_open_connections", "db_name", "writer")
		if v, _ := s.value("go_sql_open_connections", "db_name", "readers"); v < 1 {
			t.Errorf("reader pool: %v open connections", v)
		}
		// The schema was built at start and again for posts.
		s.want(t, 2, "monobase_schema_version")
		s.want(t, float64(len(colls(t, base, admin))), "monobase_collections")
		if v, _ := s.value("monobase_requests_total", "type", "admin", "code", "200"); v < 2 {
			t.Errorf("admin requests: %v", v)
		}
		for _, name := range []string{"go_goroutines", "go_memstats_heap_alloc_bytes", "process_cpu_seconds_total", "monobase_build_info"} {
			if _, ok := s.value(name); !ok {
				t.Errorf("no %s", name)
			}
		}
		// The scrape before the requests above saw none of them.
		if _, ok := open.value("monobase_requests_total", "type", "query"); ok {
			t.Error("queries counted before any was sent")
		}
	})

	t.Run("a closed WebSocket is counted", func(t *testing.T) {
		conn.Close()
		// The socket's handler returns a moment after the client closes.
		s := waitFor(t, mainURL, admin, "the socket to be counted as closed", func(s scrape) bool {
			open, _ := s.value("monobase_websockets_open")
			subs, _ := s.value("monobase_subscriptions_active")
			_, counted := s.value("monobase_requests_total", "type", "websocket")
			return open == 0 && subs == 0 && counted
		})
		s.want(t, 1, "monobase_requests_total", "type", "websocket", "code", "101")
		s.want(t, 1, "monobase_websocket_operations_total", "type", "subscription")
	})

	t.Run("main listener: superusers only", func(t *testing.T) {
		for _, c := range []struct {
			name, token string
			status      int
			code        string
		}{
			{"no token", "", http.StatusUnauthorized, "UNAUTHENTICATED"},
			{"a user's token", userToken, http.StatusForbidden, "FORBIDDEN"},
			{"a bad token", "not-a-token", http.StatusUnauthorized, "UNAUTHENTICATED"},
		} {
			status, body := getMetrics(t, mainURL, c.token)
			if status != c.status || !strings.Contains(body, c.code) || strings.Contains(body, "monobase_") {
				t.Errorf("%s: %d %s", c.name, status, body)
			}
		}
	})

	t.Run("--metrics listener: no token, nothing else", func(t *testing.T) {
		s := mustScrape(t, "http://"+srv.MetricsAddr()+"/metrics", "")
		s.want(t, 2, "monobase_requests_total", "type", "query", "code", "200")
		if status, _ := getMetrics(t, "http://"+srv.MetricsAddr()+"/graphql", ""); status != http.StatusNotFound {
			t.Errorf("/graphql on the metrics listener: %d", status)
		}
	})

	t.Run("a restore keeps the registry and reads the restored data", func(t *testing.T) {
		mustGQL(t, base+"/graphql/admin", admin, `mutation { createBackup(name: "m.zip") { name } }`, nil)
		mustGQL(t, base+"/graphql/admin", admin, `mutation { createCollection(input: {name: "later", fields: [{name: "x", type: TEXT}]}) { id } }`, nil)
		before := mustScrape(t, mainURL, admin)
		before.want(t, 3, "monobase_schema_version")
		queries, _ := before.value("monobase_requests_total", "type", "query", "code", "200")
		mustGQL(t, base+"/graphql/admin", admin, `mutation { restoreBackup(name: "m.zip") }`, nil)
		after := mustScrape(t, mainURL, admin)
		after.want(t, 1, "monobase_schema_version") // the engine was built again
		after.want(t, float64(len(colls(t, base, admin))), "monobase_collections")
		after.want(t, queries, "monobase_requests_total", "type", "query", "code", "200")
		if v, _ := after.value("go_sql_open_connections", "db_name", "writer"); v != 1 {
			t.Errorf("writer pool after the restore: %v open connections", v)
		}
	})
}

// colls returns the collections of the admin API.
func colls(t *testing.T, base, admin string) []any {
	t.Helper()
	return mustGQL(t, base+"/graphql/admin", admin, `{ collections { name } }`, nil)["collections"].([]any)
}

func TestMetricsOff(t *testing.T) {
	dir := t.TempDir()
	mustCLI(t, "--dir", dir, "superuser", "upsert", "admin@example.com", "admin-password")
	srv, _ := startServerWith(t, dir, func(c *ServeCommand) {
		c.RateLimits = &ratelimit.Settings{}
		c.Metrics = MetricsOff
	})
	admin := signIn(t, srv.URL(), "admin@example.com", "admin-password")
	if status, _ := getMetrics(t, srv.URL()+"/metrics", admin); status != http.StatusNotFound {
		t.Errorf("/metrics with --metrics off: %d", status)
	}
	if srv.MetricsAddr() != "" {
		t.Errorf("a metrics listener with --metrics off: %s", srv.MetricsAddr())
	}
}

func TestMetricsFlag(t *testing.T) {
	for _, c := range []struct {
		args []string
		env  string
		want string
		bad  bool
	}{
		{args: nil, want: ""},
		{args: []string{"--metrics", "127.0.0.1:9090"}, want: "127.0.0.1:9090"},
		{args: []string{"--metrics", "off"}, want: MetricsOff},
		{env: "127.0.0.1:9191", want: "127.0.0.1:9191"},
		{args: []string{"--metrics", ":9090"}, env: "off", want: ":9090"},
		{args: []string{"--metrics", "nine"}, bad: true},
	} {
		var stderr bytes.Buffer
		cmd := NewServeCommand(io.Discard, &stderr)
		err := cmd.ParseFlags(c.args, func(k string) string {
			if k == "MONOBASE_METRICS" {
				return c.env
			}
			return ""
		})
		if c.bad {
			if err == nil {
				t.Errorf("%v: accepted", c.args)
			}
			continue
		}
		if err != nil || cmd.Metrics != c.want {
			t.Errorf("%v env %q: Metrics = %q, err %v; want %q", c.args, c.env, cmd.Metrics, err, c.want)
		}
	}
}

// TestPprof: --pprof serves Go's profiles on the --metrics listener only,
// and needs --metrics ADDR.
func TestPprof(t *testing.T) {
	for _, args := range [][]string{{"--pprof"}, {"--pprof", "--metrics", "off"}} {
		cmd := NewServeCommand(io.Discard, io.Discard)
		if err := cmd.ParseFlags(args, func(string) string { return "" }); !IsUsage(err) {
			t.Errorf("%v: err %v, want a usage error", args, err)
		}
	}
	cmd := NewServeCommand(io.Discard, io.Discard)
	if err := cmd.ParseFlags(nil, func(k string) string {
		return map[string]string{"MONOBASE_PPROF": "1", "MONOBASE_METRICS": "127.0.0.1:0"}[k]
	}); err != nil || !cmd.Pprof {
		t.Fatalf("MONOBASE_PPROF=1: Pprof %v, err %v", cmd.Pprof, err)
	}

	for _, on := range []bool{false, true} {
		srv, _ := startServerWith(t, t.TempDir(), func(c *ServeCommand) { c.Metrics = "127.0.0.1:0"; c.Pprof = on })
		res, err := http.Get("http://" + srv.MetricsAddr() + "/debug/pprof/heap?debug=1")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		served := res.StatusCode == http.StatusOK && strings.Contains(string(body), "heap profile")
		if served != on {
			t.Errorf("--pprof %v: GET /debug/pprof/heap answered %d %.80q", on, res.StatusCode, body)
		}
		if res, err := http.Get(srv.URL() + "/debug/pprof/heap"); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				t.Errorf("--pprof %v: the main listener serves /debug/pprof/", on)
			}
		}
	}
}
