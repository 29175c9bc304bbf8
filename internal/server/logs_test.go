package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// flushLogs waits until the request logs of srv hold every entry queued
// so far.
func flushLogs(t *testing.T, srv *ServeCommand) {
	t.Helper()
	srv.genMu.Lock()
	svc := srv.logs
	srv.genMu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := svc.Flush(ctx); err != nil {
		t.Fatal(err)
	}
}

// logEntries returns the admin API's logs for filter, oldest first.
func logEntries(t *testing.T, srv *ServeCommand, token, filter string) []map[string]any {
	t.Helper()
	flushLogs(t, srv)
	data := mustGQL(t, srv.URL()+"/graphql/admin", token, `query($f: String) { logs(filter: $f, sort: "created") { id created level message data } }`,
		map[string]any{"f": filter})
	var out []map[string]any
	for _, e := range data["logs"].([]any) {
		out = append(out, e.(map[string]any))
	}
	return out
}

func logData(e map[string]any) map[string]any { return e["data"].(map[string]any) }

func TestRequestLogs(t *testing.T) {
	srv := serveWithTitles(t, "posts")
	base := srv.URL()
	token := signIn(t, base, "admin@example.com", "admin-password")
	created := mustGQL(t, base+"/graphql", "", `mutation NewPost { createPost(input: {title: "hello"}) { id } }`, nil)
	id := created["createPost"].(map[string]any)["id"].(string)
	mustGQL(t, base+"/graphql", "", `query GetPost($id: ID!) { post(id: $id) { title } }`, map[string]any{"id": id})
	if res, err := http.Get(base + "/nowhere?case=404"); err == nil {
		res.Body.Close()
	}
	if res, err := http.Get(base + "/health"); err == nil {
		res.Body.Close()
	}

	t.Run("a query by id with its operation", func(t *testing.T) {
		got := logEntries(t, srv, token, "data.operation = 'query GetPost'")
		if len(got) != 1 {
			t.Fatalf("entries %v", got)
		}
		d := logData(got[0])
		if got[0]["message"] != "POST /graphql" || got[0]["level"] != 0.0 || d["status"] != 200.0 || d["auth"] != "guest" ||
			d["remoteIp"] != "127.0.0.1" || d["method"] != "POST" || d["url"] != "/graphql" {
			t.Fatalf("entry %v", got[0])
		}
	})
	t.Run("a superuser's admin requests name who and what", func(t *testing.T) {
		got := logEntries(t, srv, token, "data.url = '/graphql/admin' && data.operation = 'mutation'")
		if len(got) != 3 {
			t.Fatalf("entries %v", got)
		}
		// The sign-in is a guest's; createCollection a superuser's; the
		// application's createPost (on /graphql) is not here.
		if logData(got[0])["auth"] != "guest" || logData(got[1])["auth"] != "auth" {
			t.Fatalf("entries %v", got)
		}
	})
	t.Run("an unknown path is a WARN; health probes are not logged", func(t *testing.T) {
		if got := logEntries(t, srv, token, "data.status = 404 && level = 4 && data.url ~ 'case=404'"); len(got) != 1 {
			t.Fatalf("entries %v", got)
		}
		if got := logEntries(t, srv, token, "data.url = '/health'"); len(got) != 0 {
			t.Fatalf("health entries %v", got)
		}
	})
	t.Run("logStats counts per hour", func(t *testing.T) {
		all := logEntries(t, srv, token, "")
		data := mustGQL(t, base+"/graphql/admin", token, `{ logStats { date total } }`, nil)
		total := 0.0
		for _, s := range data["logStats"].([]any) {
			m := s.(map[string]any)
			date, err := time.Parse(time.RFC3339, m["date"].(string))
			if err != nil || date.Minute() != 0 || date.Second() != 0 {
				t.Fatalf("date %v is not the start of an hour (%v)", m["date"], err)
			}
			total += m["total"].(float64)
		}
		// The logs query above may itself be counted.
		if int(total) < len(all) || int(total) > len(all)+1 {
			t.Fatalf("logStats total %v, logs %d", total, len(all))
		}
	})
	t.Run("limit and offset page the entries", func(t *testing.T) {
		flushLogs(t, srv)
		page := func(offset int) []any {
			data := mustGQL(t, base+"/graphql/admin", token, `query($o: Int) { logs(sort: "created", limit: 2, offset: $o) { id } }`, map[string]any{"o": offset})
			return data["logs"].([]any)
		}
		a, b := page(0), page(2)
		if len(a) != 2 || len(b) != 2 || a[0].(map[string]any)["id"] == b[0].(map[string]any)["id"] {
			t.Fatalf("pages %v %v", a, b)
		}
	})
	t.Run("bad arguments are BAD_USER_INPUT", func(t *testing.T) {
		for _, q := range []string{
			`{ logs(filter: "data.status = ") { id } }`,
			`{ logs(filter: "@request.auth.id = ''") { id } }`,
			`{ logs(sort: "-nope") { id } }`,
			`{ logs(limit: 5000) { id } }`,
			`{ logStats(filter: "message = 'x' OR 1=1") { total } }`,
		} {
			r := gql(t, base+"/graphql/admin", token, q, nil)
			if r.errCode() != "BAD_USER_INPUT" || r.Errors[0].Extensions["fields"] == nil {
				t.Errorf("%s: %+v", q, r.Errors)
			}
		}
	})
	t.Run("only superusers read the logs", func(t *testing.T) {
		if r := gql(t, base+"/graphql/admin", "", `{ logs { id } }`, nil); r.errCode() != "UNAUTHENTICATED" {
			t.Fatalf("anonymous: %+v", r.Errors)
		}
	})
}

func TestLogSettings(t *testing.T) {
	srv := serveWithTitles(t, "posts")
	base := srv.URL()
	token := signIn(t, base, "admin@example.com", "admin-password")
	const sel = `logs { maxDays minLevel logIp logAuthId }`
	data := mustGQL(t, base+"/graphql/admin", token, `{ settings { `+sel+` } }`, nil)
	if got := data["settings"].(map[string]any)["logs"]; !jsonEqual(got, map[string]any{"maxDays": 7, "minLevel": 0, "logIp": true, "logAuthId": false}) {
		t.Fatalf("default settings.logs = %v", got)
	}
	t.Run("invalid values are refused field by field and change nothing", func(t *testing.T) {
		r := gql(t, base+"/graphql/admin", token, `mutation { updateSettings(input: {logs: {maxDays: -1, minLevel: 12, logIp: false}}) { `+sel+` } }`, nil)
		fields, _ := r.Errors[0].Extensions["fields"].(map[string]any)
		if r.errCode() != "BAD_USER_INPUT" || fields["logs.maxDays"] == nil || fields["logs.minLevel"] == nil {
			t.Fatalf("errors %+v", r.Errors)
		}
		data := mustGQL(t, base+"/graphql/admin", token, `{ settings { `+sel+` } }`, nil)
		if got := data["settings"].(map[string]any)["logs"].(map[string]any); got["logIp"] != true {
			t.Fatalf("a refused update changed logIp: %v", got)
		}
	})
	t.Run("a change applies at once", func(t *testing.T) {
		mustGQL(t, base+"/graphql/admin", token, `mutation { updateSettings(input: {logs: {minLevel: 4, logIp: false, logAuthId: true}}) { `+sel+` } }`, nil)
		mustGQL(t, base+"/graphql", "", `query Quiet { posts { id } }`, nil)
		if res, err := http.Get(base + "/nowhere?case=after"); err == nil {
			res.Body.Close()
		}
		if got := logEntries(t, srv, token, "data.operation = 'query Quiet'"); len(got) != 0 {
			t.Fatalf("an INFO request was kept with minLevel WARN: %v", got)
		}
		got := logEntries(t, srv, token, "data.url ~ 'case=after'")
		if len(got) != 1 {
			t.Fatalf("entries %v", got)
		}
		if _, ok := logData(got[0])["remoteIp"]; ok {
			t.Fatalf("an address was kept with logIp off: %v", got[0])
		}
	})
	t.Run("the settings survive a restart", func(t *testing.T) {
		dir := srv.Dir
		if err := srv.Close(); err != nil {
			t.Fatal(err)
		}
		again, _ := startServer(t, dir)
		token := signIn(t, again.URL(), "admin@example.com", "admin-password")
		data := mustGQL(t, again.URL()+"/graphql/admin", token, `{ settings { `+sel+` } }`, nil)
		if got := data["settings"].(map[string]any)["logs"]; !jsonEqual(got, map[string]any{"maxDays": 7, "minLevel": 4, "logIp": false, "logAuthId": true}) {
			t.Fatalf("settings.logs after restart = %v", got)
		}
		// A superuser's request as <collection>:<id> now (its WARN: a 404).
		req, _ := http.NewRequest(http.MethodGet, again.URL()+"/nowhere?case=who", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		if res, err := http.DefaultClient.Do(req); err == nil {
			res.Body.Close()
		}
		got := logEntries(t, again, token, "data.url ~ 'case=who'")
		if len(got) != 1 || !strings.HasPrefix(logData(got[0])["auth"].(string), "_superusers:") {
			t.Fatalf("entries %v", got)
		}
	})
}

// jsonEqual compares got, decoded from JSON, with want.
func jsonEqual(got any, want map[string]any) bool {
	a, _ := json.Marshal(got)
	b, _ := json.Marshal(want)
	return string(a) == string(b)
}

// TestLogsInternalErrorAndJSONFormat runs `monobase serve --log-format
// json` through Main (which makes the server's logger slog's default, as
// the binary does) and makes an admin operation fail inside: the client
// gets "internal server error", the superuser finds the cause in the
// request's log entry, and stderr holds JSON lines.
func TestLogsInternalErrorAndJSONFormat(t *testing.T) {
	old := slog.Default()
	t.Cleanup(func() { slog.SetDefault(old) })
	dir := t.TempDir()
	mustCLI(t, "--dir", dir, "superuser", "upsert", "admin@example.com", "admin-password")
	stderr := &syncBuffer{}
	started := make(chan *ServeCommand, 1)
	m := &Main{Stdout: &syncBuffer{}, Stderr: stderr, Getenv: testEnv(t, dir, nil),
		Started: func(c *ServeCommand) { started <- c }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- m.Run(ctx, []string{"--dir", dir, "serve", "--http", "127.0.0.1:0", "--log-format", "json"})
	}()
	var srv *ServeCommand
	select {
	case srv = <-started:
	case err := <-done:
		t.Fatalf("serve ended early: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("server did not start")
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	base := srv.URL()
	token := signIn(t, base, "admin@example.com", "admin-password")

	// backups/ becomes a file: createBackup cannot make its work folder.
	backups := filepath.Join(dir, "backups")
	if err := os.RemoveAll(backups); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(backups, []byte("not a folder"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := gql(t, base+"/graphql/admin", token, `mutation Snapshot { createBackup { name } }`, nil)
	if r.errCode() != "INTERNAL_SERVER_ERROR" || r.Errors[0].Message != "internal server error" {
		t.Fatalf("client got %+v", r.Errors)
	}
	raw, _ := json.Marshal(r.Errors)
	if strings.Contains(string(raw), "not a directory") || strings.Contains(string(raw), dir) {
		t.Fatalf("the client saw the cause: %s", raw)
	}

	got := logEntries(t, srv, token, "data.operation = 'mutation Snapshot'")
	if len(got) != 1 {
		t.Fatalf("entries %v", got)
	}
	errText, _ := logData(got[0])["error"].(string)
	if got[0]["level"] != 8.0 || !strings.Contains(errText, "internal error") || !strings.Contains(errText, "not a directory") {
		t.Fatalf("the entry lacks the cause: %v", got[0])
	}
	t.Logf("data.error: %s", errText)

	t.Run("stderr holds JSON lines", func(t *testing.T) {
		sc := bufio.NewScanner(strings.NewReader(stderr.String()))
		lines, sawError := 0, false
		for sc.Scan() {
			var rec map[string]any
			if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
				t.Fatalf("not a JSON line: %q", sc.Text())
			}
			lines++
			if rec["level"] == "ERROR" && rec["msg"] == "internal error" && strings.Contains(rec["err"].(string), "not a directory") {
				sawError = true
			}
		}
		if lines == 0 || !sawError {
			t.Fatalf("%d lines, internal error seen: %v\n%s", lines, sawError, stderr.String())
		}
	})
}

func TestLogFormatFlag(t *testing.T) {
	t.Run("env", func(t *testing.T) {
		c := NewServeCommand(nil, &syncBuffer{})
		if err := c.ParseFlags(nil, func(k string) string { return map[string]string{"MONOBASE_LOG_FORMAT": "json"}[k] }); err != nil || c.LogFormat != "json" {
			t.Fatalf("LogFormat %q, %v", c.LogFormat, err)
		}
	})
	t.Run("text lines by default", func(t *testing.T) {
		out := &syncBuffer{}
		c := NewServeCommand(nil, out)
		if err := c.ParseFlags(nil, nil); err != nil {
			t.Fatal(err)
		}
		c.logger().Info("hello", "k", "v")
		if s := out.String(); !strings.Contains(s, "level=INFO msg=hello k=v") {
			t.Fatalf("text output %q", s)
		}
	})
	t.Run("an unknown format is a usage error", func(t *testing.T) {
		_, stderr, err := runCLI(t, "serve", "--log-format", "xml")
		if err == nil || !strings.Contains(stderr, "want text or json") {
			t.Fatalf("err %v, stderr %q", err, stderr)
		}
	})
}

// TestLogsAcrossRestore checks that a restore swaps auxiliary.db with the
// rest of the data: the entries are the backup's, and new requests are
// logged into the restored file.
func TestLogsAcrossRestore(t *testing.T) {
	srv := serveWithTitles(t, "posts")
	base := srv.URL()
	token := signIn(t, base, "admin@example.com", "admin-password")
	get := func(mark string) {
		t.Helper()
		res, err := http.Get(base + "/nowhere?mark=" + mark)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
	}
	marks := func() []string {
		t.Helper()
		var out []string
		for _, e := range logEntries(t, srv, token, "data.url ~ 'mark='") {
			out = append(out, strings.TrimPrefix(logData(e)["url"].(string), "/nowhere?mark="))
		}
		return out
	}
	get("before")
	flushLogs(t, srv)
	mustGQL(t, base+"/graphql/admin", token, `mutation { createBackup(name: "logs.zip") { name } }`, nil)
	get("after")
	if got := marks(); strings.Join(got, ",") != "before,after" {
		t.Fatalf("marks before the restore: %v", got)
	}
	mustGQL(t, base+"/graphql/admin", token, `mutation { restoreBackup(name: "logs.zip") }`, nil)
	if got := marks(); strings.Join(got, ",") != "before" {
		t.Fatalf("marks after the restore: %v, want the backup's", got)
	}
	get("new")
	if got := marks(); strings.Join(got, ",") != "before,new" {
		t.Fatalf("marks after a new request: %v", got)
	}
}

// TestLogsUserIPBehindTrustedProxy: userIp is the client address that
// settings.trustedProxy trusts, remoteIp the connection's; a forwarded
// header is ignored until the proxy is configured.
func TestLogsUserIPBehindTrustedProxy(t *testing.T) {
	srv := serveWithTitles(t, "posts")
	base := srv.URL()
	token := signIn(t, base, "admin@example.com", "admin-password")
	get := func(op string) {
		body, _ := json.Marshal(map[string]any{"query": "query " + op + " { __typename }"})
		req, _ := http.NewRequest(http.MethodPost, base+"/graphql", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Forwarded-For", "203.0.113.7")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
	}
	get("Untrusted")
	mustGQL(t, base+"/graphql/admin", token, `mutation { updateSettings(input: { trustedProxy: { headers: ["X-Forwarded-For"] } }) { trustedProxy { headers } } }`, nil)
	get("Trusted")
	for op, want := range map[string]string{"Untrusted": "127.0.0.1", "Trusted": "203.0.113.7"} {
		got := logEntries(t, srv, token, "data.operation = 'query "+op+"'")
		if len(got) != 1 || logData(got[0])["userIp"] != want || logData(got[0])["remoteIp"] != "127.0.0.1" {
			t.Fatalf("%s: entries %v, want userIp %s", op, got, want)
		}
	}
}

// TestDevAccessLogStaysOnTheConsole: in --dev the access log prints each
// request on the console but is not a second entry in the request logs.
func TestDevAccessLogStaysOnTheConsole(t *testing.T) {
	dir := t.TempDir()
	mustCLI(t, "--dir", dir, "superuser", "upsert", "admin@example.com", "admin-password")
	srv, _ := startServerWith(t, dir, func(c *ServeCommand) { c.Dev = true })
	token := signIn(t, srv.URL(), "admin@example.com", "admin-password")
	// Not the start-up files cleanup's run, nor the warnings of start-up
	// (on PostgreSQL: the files are not shared with other nodes).
	all := logEntries(t, srv, token, "data.job != '"+JobFilesCleanup+"' && level < 4")
	if len(all) != 1 || all[0]["message"] != "POST /graphql/admin" {
		t.Fatalf("request log entries %v, want the sign-in's only", all)
	}
}
