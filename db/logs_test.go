package db

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/monobase/monobase/apperr"
)

// logsFixture opens an auxiliary database with six entries over three
// hours of 2025-03-01 (UTC).
func logsFixture(t *testing.T) *Aux {
	t.Helper()
	a, err := OpenAux(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	at := func(h, m int) time.Time { return time.Date(2025, 3, 1, h, m, 0, 0, time.UTC) }
	err = a.InsertLogs(context.Background(), []LogEntry{
		{Created: at(10, 1), Level: 0, Message: "GET /graphql", Data: `{"method":"GET","status":200,"auth":"guest"}`},
		{Created: at(10, 2), Level: 0, Message: "POST /graphql", Data: `{"method":"POST","status":200,"auth":"users:u1","operation":"query Posts"}`},
		{Created: at(10, 3), Level: 4, Message: "POST /graphql/admin", Data: `{"method":"POST","status":401,"auth":"guest"}`},
		{Created: at(11, 30), Level: 8, Message: "POST /graphql", Data: `{"method":"POST","status":200,"error":"internal error: disk I/O"}`},
		{Created: at(13, 0), Level: 0, Message: "GET /files/a/b/c.png", Data: `{"method":"GET","status":200}`},
		{Created: at(13, 59), Level: -4, Message: "debug note"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func logMessages(t *testing.T, a *Aux, q LogQuery) []string {
	t.Helper()
	if q.Limit == 0 {
		q.Limit = 100
	}
	list, err := a.Logs(context.Background(), q)
	if err != nil {
		t.Fatalf("Logs(%+v): %v", q, err)
	}
	var out []string
	for _, e := range list {
		out = append(out, e.Message)
	}
	return out
}

func TestLogsQuery(t *testing.T) {
	a := logsFixture(t)
	tests := []struct {
		name string
		q    LogQuery
		want []string
	}{
		{"newest first by default", LogQuery{Limit: 3}, []string{"debug note", "GET /files/a/b/c.png", "POST /graphql"}},
		{"offset", LogQuery{Limit: 2, Offset: 4}, []string{"POST /graphql", "GET /graphql"}},
		{"level", LogQuery{Filter: "level >= 4", Sort: "created"}, []string{"POST /graphql/admin", "POST /graphql"}},
		{"data path", LogQuery{Filter: "data.status = 401"}, []string{"POST /graphql/admin"}},
		{"data path text", LogQuery{Filter: "data.auth = 'users:u1'"}, []string{"POST /graphql"}},
		{"data path contains", LogQuery{Filter: "data.error ~ 'disk'"}, []string{"POST /graphql"}},
		{"message and method", LogQuery{Filter: "message ~ '/graphql' && data.method = 'GET'"}, []string{"GET /graphql"}},
		{"created range", LogQuery{Filter: "created >= '2025-03-01 11:00:00' && created < '2025-03-01T13:30:00Z'", Sort: "created"},
			[]string{"POST /graphql", "GET /files/a/b/c.png"}},
		{"sort by message then id", LogQuery{Filter: "level = 0", Sort: "message,-created"},
			[]string{"GET /files/a/b/c.png", "GET /graphql", "POST /graphql"}},
		{"missing data path is null", LogQuery{Filter: "data.operation != null"}, []string{"POST /graphql"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := logMessages(t, a, tt.q); !slices.Equal(got, tt.want) {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
	t.Run("ids are numbers as text", func(t *testing.T) {
		list, err := a.Logs(context.Background(), LogQuery{Filter: "id = '2'", Limit: 10})
		if err != nil || len(list) != 1 || list[0].Message != "POST /graphql" || list[0].ID != 2 {
			t.Fatalf("id = '2': %+v, %v", list, err)
		}
	})
}

func TestLogsFilterRefusals(t *testing.T) {
	a := logsFixture(t)
	for _, src := range []string{
		"nope = 1",
		"data.a-b = 1",
		"@request.auth.id = ''",
		"@collection.users.id = 'x'",
		"message = 'x' OR 1=1",
		"message = 'x'; DROP TABLE _logs",
		`message" = 'x'`,
		"(level = 1",
	} {
		t.Run(src, func(t *testing.T) {
			_, err := a.Logs(context.Background(), LogQuery{Filter: src, Limit: 10})
			if !apperr.Is(err, apperr.Invalid) {
				t.Fatalf("err = %v, want BAD_USER_INPUT", err)
			}
			_, err = a.LogStats(context.Background(), src)
			if !apperr.Is(err, apperr.Invalid) {
				t.Fatalf("stats err = %v, want BAD_USER_INPUT", err)
			}
		})
	}
	t.Run("bad sort", func(t *testing.T) {
		_, err := a.Logs(context.Background(), LogQuery{Sort: "-nope", Limit: 10})
		if !apperr.Is(err, apperr.Invalid) {
			t.Fatalf("err = %v, want BAD_USER_INPUT", err)
		}
	})
	t.Run("values are bound, never SQL", func(t *testing.T) {
		for _, src := range []string{
			`message = "x' OR 1=1 --"`,
			`message ~ "'; DROP TABLE _logs; --"`,
			`data.method = "GET' OR '1'='1"`,
			`data.status = "200) OR (1=1"`,
		} {
			if got := logMessages(t, a, LogQuery{Filter: src}); len(got) != 0 {
				t.Fatalf("%s matched %q", src, got)
			}
		}
		if got := logMessages(t, a, LogQuery{}); len(got) != 6 {
			t.Fatalf("after the attempts the table holds %d entries, want 6", len(got))
		}
	})
}

func TestLogStats(t *testing.T) {
	a := logsFixture(t)
	hour := func(h int) time.Time { return time.Date(2025, 3, 1, h, 0, 0, 0, time.UTC) }
	stats, err := a.LogStats(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	want := []LogStat{{hour(10), 3}, {hour(11), 1}, {hour(13), 2}}
	if !slices.Equal(stats, want) {
		t.Fatalf("stats = %v, want %v", stats, want)
	}
	stats, err = a.LogStats(context.Background(), "level >= 0 && data.method = 'POST'")
	if err != nil {
		t.Fatal(err)
	}
	if want := []LogStat{{hour(10), 2}, {hour(11), 1}}; !slices.Equal(stats, want) {
		t.Fatalf("filtered stats = %v, want %v", stats, want)
	}
}

func TestDeleteLogsBefore(t *testing.T) {
	a := logsFixture(t)
	n, err := a.DeleteLogsBefore(context.Background(), time.Date(2025, 3, 1, 11, 30, 0, 0, time.UTC))
	if err != nil || n != 3 {
		t.Fatalf("deleted %d, %v; want 3", n, err)
	}
	if got := logMessages(t, a, LogQuery{Sort: "created"}); !slices.Equal(got, []string{"POST /graphql", "GET /files/a/b/c.png", "debug note"}) {
		t.Fatalf("left %q", got)
	}
}

func TestDeleteLogsBeforeWindows(t *testing.T) {
	a, err := OpenAux(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	const n, old = 2*logDeleteWindow + 5000, logDeleteWindow + 5000
	entries := make([]LogEntry, n)
	for i := range entries {
		entries[i] = LogEntry{Created: t0.Add(time.Duration(i) * time.Second), Message: "m"}
	}
	if err := a.InsertLogs(context.Background(), entries); err != nil {
		t.Fatal(err)
	}
	got, err := a.DeleteLogsBefore(context.Background(), t0.Add(old*time.Second))
	if err != nil || got != old {
		t.Fatalf("deleted %d, %v; want %d", got, err, old)
	}
	list, err := a.Logs(context.Background(), LogQuery{Sort: "created", Limit: 1})
	if err != nil || len(list) != 1 || !list[0].Created.Equal(t0.Add(old*time.Second)) {
		t.Fatalf("oldest left %+v, %v", list, err)
	}
	// A second cleanup starts at the oldest left and empties the table.
	if got, err := a.DeleteLogsBefore(context.Background(), t0.Add(n*time.Second)); err != nil || got != n-old {
		t.Fatalf("deleted %d, %v; want %d", got, err, n-old)
	}
}

func TestOpenAux(t *testing.T) {
	t.Run("reopening keeps the entries", func(t *testing.T) {
		dir := t.TempDir()
		a, err := OpenAux(context.Background(), dir)
		if err != nil {
			t.Fatal(err)
		}
		if err := a.InsertLogs(context.Background(), []LogEntry{{Created: time.Now(), Message: "kept"}}); err != nil {
			t.Fatal(err)
		}
		if err := a.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(dir, AuxFileName+"-wal")); err == nil {
			if fi, _ := os.Stat(filepath.Join(dir, AuxFileName+"-wal")); fi.Size() != 0 {
				t.Errorf("the WAL holds %d bytes after Close", fi.Size())
			}
		}
		b, err := OpenAux(context.Background(), dir)
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		if got := logMessages(t, b, LogQuery{}); !slices.Equal(got, []string{"kept"}) {
			t.Fatalf("entries %q", got)
		}
	})
	t.Run("a file that is not SQLite is refused", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, AuxFileName), []byte("this is not a database, not at all; it is text of some length"), 0o644); err != nil {
			t.Fatal(err)
		}
		a, err := OpenAux(context.Background(), dir)
		if err == nil {
			a.Close()
			t.Fatal("OpenAux accepted a text file")
		}
	})
}

// BenchmarkInsertLogs measures the writer's insert per entry, in batches
// of 256 as the logs service writes them.
//
//	go test ./db -run '^$' -bench InsertLogs -benchmem
func BenchmarkInsertLogs(b *testing.B) {
	a, err := OpenAux(context.Background(), b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer a.Close()
	batch := make([]LogEntry, 256)
	for i := range batch {
		batch[i] = LogEntry{Created: time.Now(), Message: "POST /graphql",
			Data: `{"method":"POST","url":"/graphql","status":200,"execTime":0.123,"remoteIp":"127.0.0.1","userIp":"127.0.0.1","auth":"guest","operation":"query GetPost"}`}
	}
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		if err := a.InsertLogs(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
		n += len(batch)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/entry")
}

func TestAppendDate(t *testing.T) {
	for _, tm := range []time.Time{
		time.Date(2025, 3, 1, 10, 1, 2, 345_678_999, time.UTC),
		time.Date(1999, 12, 31, 23, 59, 59, 999_999_999, time.FixedZone("x", -7*3600)),
		time.Date(2, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Now(),
	} {
		if got, want := string(appendDate(nil, tm)), FormatDate(tm); got != want {
			t.Errorf("appendDate(%v) = %s, want %s", tm, got, want)
		}
	}
}
