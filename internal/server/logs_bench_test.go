package server

import (
	"fmt"
	"testing"
)

// logsSwitch turns the request logs off (maxDays 0) or on (7 days, from
// INFO: every read is an entry).
func logsSwitch(b *testing.B, srv *ServeCommand, token string) func(on bool) {
	return func(on bool) {
		days := 0
		if on {
			days = 7
		}
		mustGQL(b, srv.URL()+"/graphql/admin", token, fmt.Sprintf(`mutation { updateSettings(input: {logs: {maxDays: %d, minLevel: 0}}) { logs { maxDays } } }`, days), nil)
	}
}

// BenchmarkLogsReadByID measures what the request logs cost on a read by
// id through the whole served handler in process (no network): each
// iteration is a pair of 2,000 requests with the logs off and on, and the
// medians of the pairs are reported (on/off-ns, on/off-cpu: the process's
// CPU time, so the writer goroutine's batches count; allocations per
// request).
//
//	go test ./internal/server -run '^$' -bench 'LogsReadByID$' -benchtime 30x
func BenchmarkLogsReadByID(b *testing.B) {
	srv, token, body := benchServer(b)
	pairs(b, logsSwitch(b, srv, token), 2000, readsInProcess(b, srv, body))
}

// BenchmarkLogsHTTPReadByID is BenchmarkLogsReadByID over loopback
// keep-alive connections from 16 clients (10,000 requests per phase), the
// two cores busy: the writer competes with the requests for them.
//
//	go test ./internal/server -run '^$' -bench 'LogsHTTPReadByID$' -benchtime 10x
func BenchmarkLogsHTTPReadByID(b *testing.B) {
	srv, token, body := benchServer(b)
	pairs(b, logsSwitch(b, srv, token), 10000, readsOverHTTP(b, srv, body))
}
