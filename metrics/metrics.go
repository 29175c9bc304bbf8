// Package metrics keeps the server's metrics and serves them in the
// Prometheus text format: requests by kind and status with their latency,
// WebSocket operations, open WebSockets and subscriptions, the SQL pools,
// the schema version, the Go runtime and the process.
//
// The per-request cost is two atomic increments and one atomic add: the
// request counter of each (kind, status) pair is a slot of a fixed table,
// and the latency histogram of each kind a fixed row of bucket counters
// with its sum in nanoseconds. Nothing is allocated per request and no
// label value is built until a scrape.
//
// The package writes the exposition itself rather than through
// prometheus/client_golang: the format is a few lines of text, and the
// client library with its protobuf model cost 2.4 MB of the release
// binary. The names, types and labels are the ones client_golang's
// collectors use, so dashboards built for them read these series.
//
// What depends on the data being served (the SQL pools, the
// subscriptions, the schema) is read at scrape time from the current
// Source, which the server replaces when a restore reloads the data.
package metrics

import (
	"database/sql"
	"sync"
	"sync/atomic"
	"time"
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
// table (every valid HTTP status); others go to a map under a lock.
const statusSlots = 600

// Buckets are the upper bounds, in seconds, of the latency histograms:
// reads by id take a fraction of a millisecond, so the scale starts there.
var Buckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// histogram counts the latencies of one kind: counts[i] those within
// Buckets[i] and above the bound before, the last slot those above every
// bound.
type histogram struct {
	counts   []atomic.Uint64
	sumNanos atomic.Int64
}

// statusKey names a counter of a status outside the table.
type statusKey struct {
	kind   Kind
	status int
}

// Metrics holds the series the server updates.
type Metrics struct {
	opts      Options
	bounds    []time.Duration // Buckets as durations
	requests  [numKinds][statusSlots]atomic.Uint64
	durations [numKinds]*histogram // nil for WebSocket
	socketOps [numKinds]atomic.Uint64
	src       atomic.Pointer[Source]

	oddMu     sync.Mutex
	oddStatus map[statusKey]uint64 // statuses outside the table
}

// New returns metrics with every series at zero.
func New(o Options) *Metrics {
	m := &Metrics{opts: o, oddStatus: map[statusKey]uint64{}}
	for _, b := range Buckets {
		m.bounds = append(m.bounds, time.Duration(b*float64(time.Second)))
	}
	for k := range numKinds {
		if k != WebSocket {
			m.durations[k] = &histogram{counts: make([]atomic.Uint64, len(Buckets)+1)}
		}
	}
	return m
}

// SetSource makes the gauges read s from now on.
func (m *Metrics) SetSource(s Source) { m.src.Store(&s) }

// source returns the current source, nil before the first.
func (m *Metrics) source() Source {
	if s := m.src.Load(); s != nil {
		return *s
	}
	return nil
}

// Observe counts a request of kind k answered with status after d. A
// WebSocket is counted but not timed.
func (m *Metrics) Observe(k Kind, status int, d time.Duration) {
	if k >= numKinds {
		k = Other
	}
	if h := m.durations[k]; h != nil {
		i := 0
		for i < len(m.bounds) && d > m.bounds[i] {
			i++
		}
		h.counts[i].Add(1)
		h.sumNanos.Add(int64(d))
	}
	if status < 0 || status >= statusSlots {
		m.oddMu.Lock()
		m.oddStatus[statusKey{k, status}]++
		m.oddMu.Unlock()
		return
	}
	m.requests[k][status].Add(1)
}

// SocketOperation counts an operation of kind k (Query, Mutation or
// Subscription) started on a WebSocket.
func (m *Metrics) SocketOperation(k Kind) {
	if k == Query || k == Mutation || k == Subscription {
		m.socketOps[k].Add(1)
	}
}
