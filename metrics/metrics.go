// Package metrics keeps the server's Prometheus metrics
// (prometheus/client_golang) in a registry of its own: requests by kind
// and status with their latency, WebSocket operations, open WebSockets and
// subscriptions, the SQL pools, the schema version and the Go runtime.
//
// The per-request cost is a histogram observation and a counter increment
// on series resolved once: the histogram of each kind is looked up when
// the Metrics is made, and the counter of each (kind, status) pair the
// first time it occurs, then kept in a fixed table read with one atomic
// load. No label value is built per request.
//
// What depends on the data being served (the SQL pools, the
// subscriptions, the schema) is read at scrape time from the current
// Source, which the server replaces when a restore reloads the data; the
// registry itself lives as long as the server, so nothing is registered
// twice.
package metrics

import (
	"database/sql"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Kind is what a request was, the "type" label of the request series.
type Kind uint8

// The kinds of request.
const (
	Other        Kind = iota // anything else: the playground, /metrics, unknown paths
	Query                    // a GraphQL query over HTTP (/graphql)
	Mutation                 // a GraphQL mutation over HTTP
	Subscription             // a GraphQL subscription over HTTP (server-sent events)
	GraphQL                  // a /graphql request refused before an operation ran
	WebSocket                // a /graphql WebSocket, counted when it closes
	Admin                    // the admin API (/graphql/admin)
	Files                    // /files/
	Auth                     // the OAuth2 redirect flow (/auth/)
	Backups                  // backup downloads (/backups/)
	Health                   // /health
	numKinds
)

var kindNames = [numKinds]string{"other", "query", "mutation", "subscription", "graphql",
	"websocket", "admin", "files", "auth", "backups", "health"}

// String returns the kind's label value.
func (k Kind) String() string {
	if k >= numKinds {
		return kindNames[Other]
	}
	return kindNames[k]
}

// Source is what the gauges read of the data being served.
type Source interface {
	// PoolStats returns the statistics of the writer and reader pools.
	PoolStats() (writer, readers sql.DBStats)
	// RunningSubscriptions returns how many subscriptions are running.
	RunningSubscriptions() int
	// SchemaVersion returns the number of the current schema version.
	SchemaVersion() uint64
	// Collections returns how many collections exist (system ones too).
	Collections() int
}

// Options are what the Metrics reads besides its Source.
type Options struct {
	// WebSockets returns how many WebSockets are open (nil: the gauge is
	// left out).
	WebSockets func() int64
	// Version is the server's version, the label of monobase_build_info.
	Version string
}

// statusSlots bounds the status codes whose counters are kept in the
// table (every valid HTTP status); others are looked up each time.
const statusSlots = 600

// Metrics holds the registry and the series the server updates.
type Metrics struct {
	reg       *prometheus.Registry
	requests  *prometheus.CounterVec
	durations [numKinds]prometheus.Observer
	byStatus  [numKinds][statusSlots]atomic.Pointer[counter]
	socketOps [numKinds]prometheus.Counter
	src       atomic.Pointer[Source]
}

// counter is a resolved child of the request counter.
type counter struct{ c prometheus.Counter }

// Buckets are the upper bounds, in seconds, of the latency histograms:
// reads by id take a fraction of a millisecond, so the scale starts there.
var Buckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// New returns metrics with a new registry holding every series of the
// package, the Go runtime's and the process's.
func New(o Options) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "monobase_requests_total",
		Help: "HTTP requests answered, by type (query, mutation, subscription, graphql, websocket, admin, files, auth, backups, health, other) and status code.",
	}, []string{"type", "code"})
	dur := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "monobase_request_duration_seconds",
		Help:    "Time from a request's headers to the end of its answer, by type (WebSockets are not timed).",
		Buckets: Buckets,
	}, []string{"type"})
	ops := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "monobase_websocket_operations_total",
		Help: "GraphQL operations started on WebSockets, by type.",
	}, []string{"type"})
	for k := range numKinds {
		if k != WebSocket {
			m.durations[k] = dur.WithLabelValues(k.String())
		}
	}
	for _, k := range []Kind{Query, Mutation, Subscription} {
		m.socketOps[k] = ops.WithLabelValues(k.String())
	}
	m.reg.MustRegister(m.requests, dur, ops,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		&poolCollector{m: m},
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "monobase_subscriptions_active", Help: "GraphQL subscriptions running, over every transport.",
		}, func() float64 { return m.read(func(s Source) float64 { return float64(s.RunningSubscriptions()) }) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "monobase_schema_version",
			Help: "Number of the application schema in use: 1 at start and after a restore, one more per schema change.",
		}, func() float64 { return m.read(func(s Source) float64 { return float64(s.SchemaVersion()) }) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "monobase_collections", Help: "Collections defined, system ones included.",
		}, func() float64 { return m.read(func(s Source) float64 { return float64(s.Collections()) }) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "monobase_build_info", Help: "Always 1; the label is the server's version.",
			ConstLabels: prometheus.Labels{"version": o.Version},
		}, func() float64 { return 1 }),
	)
	if o.WebSockets != nil {
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "monobase_websockets_open", Help: "WebSockets open on /graphql.",
		}, func() float64 { return float64(o.WebSockets()) }))
	}
	return m
}

// Registry returns the registry, for more collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// SetSource makes the gauges read s from now on.
func (m *Metrics) SetSource(s Source) { m.src.Store(&s) }

// read returns f of the current source, 0 without one.
func (m *Metrics) read(f func(Source) float64) float64 {
	s := m.src.Load()
	if s == nil || *s == nil {
		return 0
	}
	return f(*s)
}

// Observe counts a request of kind k answered with status after d. A
// WebSocket is counted but not timed.
func (m *Metrics) Observe(k Kind, status int, d time.Duration) {
	if k >= numKinds {
		k = Other
	}
	if o := m.durations[k]; o != nil {
		o.Observe(d.Seconds())
	}
	if status < 0 || status >= statusSlots {
		m.requests.WithLabelValues(k.String(), strconv.Itoa(status)).Inc()
		return
	}
	slot := &m.byStatus[k][status]
	c := slot.Load()
	if c == nil {
		// Two requests may resolve it at once: WithLabelValues returns
		// the same child to both.
		c = &counter{m.requests.WithLabelValues(k.String(), strconv.Itoa(status))}
		slot.Store(c)
	}
	c.c.Inc()
}

// SocketOperation counts an operation of kind k (Query, Mutation or
// Subscription) started on a WebSocket.
func (m *Metrics) SocketOperation(k Kind) {
	if k < numKinds && m.socketOps[k] != nil {
		m.socketOps[k].Inc()
	}
}

// Handler returns the unprotected /metrics handler (Prometheus text
// format, or OpenMetrics when the scraper asks for it).
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg, EnableOpenMetrics: true})
}
