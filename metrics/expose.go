package metrics

// This file writes the Prometheus text exposition format (version 0.0.4):
// per family a HELP and a TYPE line, then one line per series.

import (
	"compress/gzip"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// contentType is the text format's media type.
const contentType = "text/plain; version=0.0.4; charset=utf-8"

// exposition accumulates the text of one scrape.
type exposition struct{ b []byte }

// family starts the family name of type typ ("counter", "gauge",
// "histogram" or "summary").
func (e *exposition) family(name, typ, help string) {
	e.b = append(e.b, "# HELP "...)
	e.b = append(e.b, name...)
	e.b = append(e.b, ' ')
	e.b = appendEscaped(e.b, help, false)
	e.b = append(e.b, "\n# TYPE "...)
	e.b = append(e.b, name...)
	e.b = append(e.b, ' ')
	e.b = append(e.b, typ...)
	e.b = append(e.b, '\n')
}

// series writes one sample of name with labels (name, value pairs).
func (e *exposition) series(name string, v float64, labels ...string) {
	e.name(name, labels)
	e.b = appendFloat(e.b, v)
	e.b = append(e.b, '\n')
}

// count writes one integer sample of name with labels.
func (e *exposition) count(name string, v uint64, labels ...string) {
	e.name(name, labels)
	e.b = strconv.AppendUint(e.b, v, 10)
	e.b = append(e.b, '\n')
}

// name writes a sample's name and labels and the space before its value.
func (e *exposition) name(name string, labels []string) {
	e.b = append(e.b, name...)
	if len(labels) > 0 {
		e.b = append(e.b, '{')
		for i := 0; i+1 < len(labels); i += 2 {
			if i > 0 {
				e.b = append(e.b, ',')
			}
			e.b = append(e.b, labels[i]...)
			e.b = append(e.b, `="`...)
			e.b = appendEscaped(e.b, labels[i+1], true)
			e.b = append(e.b, '"')
		}
		e.b = append(e.b, '}')
	}
	e.b = append(e.b, ' ')
}

// gauge writes a family of one gauge.
func (e *exposition) gauge(name, help string, v float64, labels ...string) {
	e.family(name, "gauge", help)
	e.series(name, v, labels...)
}

// appendEscaped appends s with backslashes and line feeds escaped, and
// double quotes too in a label value.
func appendEscaped(b []byte, s string, quotes bool) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\':
			b = append(b, `\\`...)
		case c == '\n':
			b = append(b, `\n`...)
		case c == '"' && quotes:
			b = append(b, `\"`...)
		default:
			b = append(b, c)
		}
	}
	return b
}

// appendFloat appends v as the format writes numbers.
func appendFloat(b []byte, v float64) []byte {
	switch {
	case math.IsInf(v, 1):
		return append(b, "+Inf"...)
	case math.IsInf(v, -1):
		return append(b, "-Inf"...)
	case math.IsNaN(v):
		return append(b, "NaN"...)
	}
	return strconv.AppendFloat(b, v, 'g', -1, 64)
}

// scrapeBuffers keeps the buffers of earlier scrapes.
var scrapeBuffers = sync.Pool{New: func() any { return &exposition{} }}

// Handler returns the unprotected /metrics handler (the text format,
// gzipped when the scraper accepts it).
func (m *Metrics) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e := scrapeBuffers.Get().(*exposition)
		defer scrapeBuffers.Put(e)
		e.b = m.write(e.b[:0])
		h := w.Header()
		h.Set("Content-Type", contentType)
		if !acceptsGzip(r) {
			h.Set("Content-Length", strconv.Itoa(len(e.b)))
			w.Write(e.b)
			return
		}
		h.Set("Content-Encoding", "gzip")
		h.Add("Vary", "Accept-Encoding")
		z := gzip.NewWriter(w)
		z.Write(e.b)
		z.Close()
	})
}

// acceptsGzip reports whether r's Accept-Encoding lists gzip.
func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		if enc, _, _ := strings.Cut(strings.TrimSpace(part), ";"); enc == "gzip" {
			return true
		}
	}
	return false
}

// Text returns the exposition of every series, as /metrics answers.
func (m *Metrics) Text() []byte { return m.write(nil) }

// write appends the exposition of every series to b.
func (m *Metrics) write(b []byte) []byte {
	e := &exposition{b: b}
	m.writeRequests(e)
	m.writeGauges(e)
	m.writePools(e)
	writeRuntime(e)
	writeProcess(e)
	return e.b
}

// writeRequests writes the request counters and latency histograms and
// the WebSocket operation counters.
func (m *Metrics) writeRequests(e *exposition) {
	const requests = "monobase_requests_total"
	// The family is left out until a request has been counted, as
	// client_golang leaves out a vector with no series.
	started := false
	add := func(n uint64, k Kind, status int) {
		if !started {
			e.family(requests, "counter", "HTTP requests answered, by type (query, mutation, subscription, graphql, websocket, admin, files, auth, backups, health, other) and status code.")
			started = true
		}
		e.count(requests, n, "code", strconv.Itoa(status), "type", k.String())
	}
	for k := range numKinds {
		for status := range statusSlots {
			if n := m.requests[k][status].Load(); n > 0 {
				add(n, k, status)
			}
		}
	}
	m.oddMu.Lock()
	for key, n := range m.oddStatus {
		add(n, key.kind, key.status)
	}
	m.oddMu.Unlock()

	const durations = "monobase_request_duration_seconds"
	e.family(durations, "histogram", "Time from a request's headers to the end of its answer, by type (WebSockets are not timed).")
	var bucket []byte
	for k, h := range m.durations {
		if h == nil {
			continue
		}
		kind := Kind(k).String()
		total := uint64(0)
		for i := range h.counts {
			total += h.counts[i].Load()
			bucket = bucket[:0]
			if i < len(Buckets) {
				bucket = appendFloat(bucket, Buckets[i])
			} else {
				bucket = append(bucket, "+Inf"...)
			}
			e.count(durations+"_bucket", total, "type", kind, "le", string(bucket))
		}
		e.series(durations+"_sum", float64(h.sumNanos.Load())/1e9, "type", kind)
		e.count(durations+"_count", total, "type", kind)
	}

	const ops = "monobase_websocket_operations_total"
	e.family(ops, "counter", "GraphQL operations started on WebSockets, by type.")
	for _, k := range []Kind{Mutation, Query, Subscription} {
		e.count(ops, m.socketOps[k].Load(), "type", k.String())
	}
}

// writeGauges writes the gauges of the data being served and the build.
func (m *Metrics) writeGauges(e *exposition) {
	src := m.source()
	read := func(f func(Source) float64) float64 {
		if src == nil {
			return 0
		}
		return f(src)
	}
	e.gauge("monobase_build_info", "Always 1; the label is the server's version.", 1, "version", m.opts.Version)
	e.gauge("monobase_collections", "Collections defined, system ones included.",
		read(func(s Source) float64 { return float64(s.Collections()) }))
	e.gauge("monobase_schema_version", "Number of the application schema in use: 1 at start and after a restore, one more per schema change.",
		read(func(s Source) float64 { return float64(s.SchemaVersion()) }))
	e.gauge("monobase_subscriptions_active", "GraphQL subscriptions running, over every transport.",
		read(func(s Source) float64 { return float64(s.RunningSubscriptions()) }))
	if m.opts.WebSockets != nil {
		e.gauge("monobase_websockets_open", "WebSockets open on /graphql.", float64(m.opts.WebSockets()))
	}
}
