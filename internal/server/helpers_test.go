package server

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/monobase/monobase/internal/testdb"
	"github.com/monobase/monobase/ratelimit"
)

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startServer runs `monobase serve` on dir at a free loopback port and
// closes it when the test ends. The rate limit rules are off (every test
// request comes from 127.0.0.1) unless the data folder saved some;
// ratelimits_test.go turns them on.
func startServer(t testing.TB, dir string) (*ServeCommand, *syncBuffer) {
	t.Helper()
	return startServerWith(t, dir, func(c *ServeCommand) { c.RateLimits = &ratelimit.Settings{} })
}

// startServerWith is startServer with the command changed by set before it
// runs.
func startServerWith(t testing.TB, dir string, set func(*ServeCommand)) (*ServeCommand, *syncBuffer) {
	t.Helper()
	out := &syncBuffer{}
	c := NewServeCommand(out, &syncBuffer{})
	c.Dir = dir
	c.HTTP = "127.0.0.1:0"
	set(c)
	withTestDB(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.Run(ctx); err != nil {
		t.Fatalf("serve: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("close server: %v", err)
		}
	})
	return c, out
}

// withTestDB gives c the database of the test run for its data folder
// (testdb.URL: "" on SQLite, a fresh PostgreSQL schema when
// MONOBASE_TEST_DB is set) unless the test chose one.
func withTestDB(t testing.TB, c *ServeCommand) {
	t.Helper()
	if c.Database == "" {
		c.Database = testdb.URL(t, c.Dir)
	}
}

// testEnv is a Main's Getenv for a test on the data folder dir: env's
// variables, and MONOBASE_DB of the test run (see withTestDB).
func testEnv(t testing.TB, dir string, env map[string]string) func(string) string {
	t.Helper()
	u := testdb.URL(t, dir)
	return func(k string) string {
		if v, ok := env[k]; ok {
			return v
		}
		if k == "MONOBASE_DB" {
			return u
		}
		return ""
	}
}

// binEnv is the environment of a test's monobase process on dir: the
// test's own, with MONOBASE_DB of the test run (see withTestDB).
func binEnv(t testing.TB, dir string) []string {
	t.Helper()
	env := os.Environ()
	if u := testdb.URL(t, dir); u != "" {
		env = append(env, "MONOBASE_DB="+u)
	}
	return env
}

// cliDir returns the value of --dir in a command line ("" without one).
func cliDir(args []string) string {
	for i, a := range args {
		if v, ok := strings.CutPrefix(a, "--dir="); ok {
			return v
		}
		if a == "--dir" && i+1 < len(args) {
			return args[i+1]
		}
	}
	return ""
}

// runCLI runs one command line through Main and returns its output. With
// --dir, the command runs on the test run's database for that folder.
func runCLI(t testing.TB, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var o, e bytes.Buffer
	getenv := func(string) string { return "" }
	if dir := cliDir(args); dir != "" {
		getenv = testEnv(t, dir, nil)
	}
	m := &Main{Stdin: strings.NewReader(""), Stdout: &o, Stderr: &e, Getenv: getenv}
	err = m.Run(context.Background(), args)
	return o.String(), e.String(), err
}

// mustCLI is runCLI that fails the test on error.
func mustCLI(t testing.TB, args ...string) string {
	t.Helper()
	out, errOut, err := runCLI(t, args...)
	if err != nil {
		t.Fatalf("monobase %s: %v\n%s", strings.Join(args, " "), err, errOut)
	}
	return out
}

// gqlResponse is a GraphQL response as JSON.
type gqlResponse struct {
	Status int
	Data   map[string]any
	Errors []struct {
		Message    string         `json:"message"`
		Path       []any          `json:"path"`
		Extensions map[string]any `json:"extensions"`
	}
}

// errCode returns the first error's extensions.code, "" without errors.
func (r *gqlResponse) errCode() string {
	if len(r.Errors) == 0 {
		return ""
	}
	code, _ := r.Errors[0].Extensions["code"].(string)
	return code
}

// gql posts a GraphQL request and decodes the answer.
func gql(t testing.TB, url, token, query string, vars map[string]any) *gqlResponse {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	out := &gqlResponse{Status: res.StatusCode}
	if err := json.Unmarshal(raw, out); err != nil {
		t.Fatalf("POST %s: status %d, body not JSON: %s", url, res.StatusCode, raw)
	}
	return out
}

// mustGQL is gql that fails the test on GraphQL errors.
func mustGQL(t testing.TB, url, token, query string, vars map[string]any) map[string]any {
	t.Helper()
	r := gql(t, url, token, query, vars)
	if len(r.Errors) > 0 {
		t.Fatalf("GraphQL errors from %s: %+v", url, r.Errors)
	}
	return r.Data
}

// signIn signs a superuser in on the admin API and returns the token.
func signIn(t testing.TB, base, email, password string) string {
	t.Helper()
	data := mustGQL(t, base+"/graphql/admin", "",
		`mutation($e: String!, $p: String!) { authWithPassword(email: $e, password: $p) { token record { email } } }`,
		map[string]any{"e": email, "p": password})
	a, _ := data["authWithPassword"].(map[string]any)
	token, _ := a["token"].(string)
	if token == "" {
		t.Fatalf("authWithPassword returned no token: %v", data)
	}
	return token
}

// collectionNames returns the names of the admin API's collections.
func collectionNames(t testing.TB, base, token string) []string {
	t.Helper()
	data := mustGQL(t, base+"/graphql/admin", token, `{ collections { name } }`, nil)
	var names []string
	list, _ := data["collections"].([]any)
	for _, c := range list {
		m, _ := c.(map[string]any)
		name, _ := m["name"].(string)
		names = append(names, name)
	}
	return names
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// serveWithTitles starts a server on a new data folder with a superuser and
// a collection of that name (one TEXT field "title", open to anyone).
func serveWithTitles(t *testing.T, collection string) *ServeCommand {
	t.Helper()
	dir := t.TempDir()
	mustCLI(t, "--dir", dir, "superuser", "upsert", "admin@example.com", "admin-password")
	srv, _ := startServer(t, dir)
	token := signIn(t, srv.URL(), "admin@example.com", "admin-password")
	mustGQL(t, srv.URL()+"/graphql/admin", token, `mutation($n: String!) {
		createCollection(input: {name: $n, listRule: "", viewRule: "", createRule: "",
			fields: [{name: "title", type: TEXT}]}) { id }
	}`, map[string]any{"n": collection})
	return srv
}

// dialGraphQLWS opens a graphql-transport-ws socket to addr's /graphql,
// with a 10 s read deadline; it is closed when the test ends.
func dialGraphQLWS(t *testing.T, addr string) *websocket.Conn {
	t.Helper()
	dialer := websocket.Dialer{Subprotocols: []string{"graphql-transport-ws"}}
	conn, _, err := dialer.Dial("ws://"+addr+"/graphql", nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	return conn
}
