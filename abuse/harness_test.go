package abuse

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/monobase/monobase/internal/testdb"
)

// Bounds every attack must stay within (issue: "refused fast and clearly").
const (
	maxReplyTime  = 2 * time.Second // each request's answer
	maxReplyBytes = 64 << 10        // each answer's body
	maxServerRSS  = 200 << 20       // the server's peak RSS over the whole suite
	adminEmail    = "admin@example.com"
	adminPassword = "admin-password-1"
)

// attack is one case of the suite: run sends the attack through s and
// asserts how it was refused. The harness checks on top of that that no
// answer took longer than maxReplyTime, none was larger than
// maxReplyBytes, none carried INTERNAL_SERVER_ERROR, and that /health
// answers afterwards.
type attack struct {
	name string
	run  func(t *testing.T, s *server)
}

// suites lists the attack groups in the order they run.
func suites() [][]attack {
	return [][]attack{
		queryAttacks(),
		inputAttacks(),
		signInAttacks(),
		uploadAttacks(),
		socketAttacks(),
		rateLimitAttacks(),
	}
}

// server is the monobase binary under attack, shared by the whole suite.
type server struct {
	URL        string // http://127.0.0.1:port
	Dir        string // the data folder
	Bin        string // the binary
	AdminToken string
	cmd        *exec.Cmd
	log        *bytes.Buffer

	t       *testing.T // the current case, for the reply checks
	replies int
}

func TestAbuse(t *testing.T) {
	s := startServer(t)
	var peak int64 // the largest per-case peak (the peak is reset per case)
	for _, group := range suites() {
		for _, a := range group {
			t.Run(a.name, func(t *testing.T) {
				s.t = t
				s.replies = 0
				s.resetPeakRSS(t)
				start := time.Now()
				defer func() {
					// Also when the case fails: bench/README.md compares builds with it.
					t.Logf("case took %v, server peak RSS %.1f MiB", time.Since(start).Round(time.Millisecond), float64(s.peakRSS(t))/(1<<20))
				}()
				a.run(t, s)
				s.checkHealth(t)
			})
			peak = max(peak, s.peakRSS(t))
		}
	}
	s.t = t
	if rss := max(peak, s.peakRSS(t)); rss > maxServerRSS {
		t.Errorf("server peak RSS over the suite: %d MiB, want under %d MiB", rss>>20, maxServerRSS>>20)
	} else {
		t.Logf("server peak RSS over the suite: %.1f MiB", float64(rss)/(1<<20))
	}
}

// startServer builds cmd/monobase, creates a superuser and starts
// `monobase serve` on a free loopback port; it stops the server when the
// test ends.
func startServer(t *testing.T) *server {
	t.Helper()
	tmp := t.TempDir()
	bin := os.Getenv("ABUSE_BIN") // another build, to compare (bench/README.md)
	if bin == "" {
		bin = filepath.Join(tmp, "monobase")
		build := exec.Command("go", "build", "-o", bin, "../cmd/monobase")
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("go build: %v\n%s", err, out)
		}
	}
	dir := filepath.Join(tmp, "data")
	// On a PostgreSQL test run (MONOBASE_TEST_DB), --db comes from MONOBASE_DB.
	env := os.Environ()
	if u := testdb.URL(t, dir); u != "" {
		env = append(env, "MONOBASE_DB="+u)
	}
	up := exec.Command(bin, "superuser", "upsert", adminEmail, adminPassword, "--dir", dir)
	up.Env = env
	if out, err := up.CombinedOutput(); err != nil {
		t.Fatalf("superuser upsert: %v\n%s", err, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	s := &server{URL: "http://" + addr, Dir: dir, Bin: bin, log: &bytes.Buffer{}, t: t}
	s.cmd = exec.Command(bin, "serve", "--dir", dir, "--http", addr)
	s.cmd.Env = env
	s.cmd.Stdout = io.Discard
	s.cmd.Stderr = s.log
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = s.cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = s.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = s.cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("server log (last 4 KiB):\n%s", tail(s.log.Bytes(), 4096))
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := http.Get(s.URL + "/health")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("server did not start: %v\n%s", err, s.log.Bytes())
		}
		time.Sleep(50 * time.Millisecond)
	}
	r := s.GraphQL("/graphql/admin", "", `mutation($e: String!, $p: String!) { authWithPassword(email: $e, password: $p) { token } }`,
		map[string]any{"e": adminEmail, "p": adminPassword})
	s.AdminToken, _ = r.Field("authWithPassword", "token").(string)
	if s.AdminToken == "" {
		t.Fatalf("admin sign-in failed: %s", r.Body)
	}
	// Every request of the suite comes from 127.0.0.1: with the rate limit
	// rules on (the default), most cases would be refused by them before
	// reaching what they attack. The rules group turns them on for its own
	// cases (ratelimit_test.go).
	s.SetRateLimits(false)
	return s
}

// SetRateLimits turns the rate limit rules on (with their defaults) or
// off through updateSettings; the change applies at once.
func (s *server) SetRateLimits(on bool) {
	s.t.Helper()
	s.Admin(`mutation($on: Boolean!) { updateSettings(input: {rateLimits: {enabled: $on, rules: [
		{label: "*:auth", maxRequests: 2, duration: 3}, {label: "*:create", maxRequests: 20, duration: 5},
		{label: "/graphql", maxRequests: 300, duration: 10}]}}) { rateLimits { enabled } } }`, map[string]any{"on": on})
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// reply is one HTTP answer with what the checks need.
type reply struct {
	Status   int
	Header   http.Header
	Body     []byte
	Duration time.Duration
	JSON     struct {
		Data   map[string]any `json:"data"`
		Errors []struct {
			Message    string         `json:"message"`
			Extensions map[string]any `json:"extensions"`
		} `json:"errors"`
	}
}

// Code returns the first error's extensions.code ("" when there is none).
func (r *reply) Code() string {
	if len(r.JSON.Errors) == 0 {
		return ""
	}
	c, _ := r.JSON.Errors[0].Extensions["code"].(string)
	return c
}

// Message returns the first error's message ("" when there is none).
func (r *reply) Message() string {
	if len(r.JSON.Errors) == 0 {
		return ""
	}
	return r.JSON.Errors[0].Message
}

// Field follows a path of keys from data.
func (r *reply) Field(path ...string) any {
	var v any = r.JSON.Data
	for _, k := range path {
		m, _ := v.(map[string]any)
		v = m[k]
	}
	return v
}

// Do sends req and checks the answer's time, size and code. The body is
// read up to maxReplyBytes+1 so that an oversized answer fails the case
// without filling memory.
func (s *server) Do(req *http.Request) *reply {
	t := s.t
	t.Helper()
	ctx, cancel := context.WithTimeout(req.Context(), 30*time.Second)
	defer cancel()
	start := time.Now()
	res, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, maxReplyBytes+1))
	r := &reply{Status: res.StatusCode, Header: res.Header, Body: body, Duration: time.Since(start)}
	if err != nil {
		t.Errorf("%s %s: read the answer: %v", req.Method, req.URL.Path, err)
	}
	s.replies++
	if r.Duration > maxReplyTime {
		t.Errorf("%s %s answered in %v, want under %v", req.Method, req.URL.Path, r.Duration.Round(time.Millisecond), maxReplyTime)
	}
	if len(body) > maxReplyBytes {
		t.Errorf("%s %s answered more than %d KiB", req.Method, req.URL.Path, maxReplyBytes>>10)
	}
	if bytes.Contains(body, []byte("INTERNAL_SERVER_ERROR")) {
		t.Errorf("%s %s answered INTERNAL_SERVER_ERROR: %s", req.Method, req.URL.Path, tail(body, 512))
	}
	if strings.Contains(res.Header.Get("Content-Type"), "json") && len(body) <= maxReplyBytes {
		_ = json.Unmarshal(body, &r.JSON)
	}
	return r
}

// Post sends body to path with the content type and optional bearer token.
func (s *server) Post(path, contentType string, body io.Reader, token string) *reply {
	s.t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.URL+path, body)
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return s.Do(req)
}

// GraphQL posts a JSON GraphQL request to path (/graphql or /graphql/admin).
func (s *server) GraphQL(path, token, query string, vars map[string]any) *reply {
	s.t.Helper()
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		s.t.Fatal(err)
	}
	return s.Post(path, "application/json", bytes.NewReader(body), token)
}

// Admin runs an admin API operation as the superuser and fails the case on
// errors.
func (s *server) Admin(query string, vars map[string]any) *reply {
	s.t.Helper()
	r := s.GraphQL("/graphql/admin", s.AdminToken, query, vars)
	if len(r.JSON.Errors) > 0 || r.Status != http.StatusOK {
		s.t.Fatalf("admin operation failed (%d): %s", r.Status, r.Body)
	}
	return r
}

// CreateCollection creates a collection from a CollectionInput as JSON-like
// map and fails the case on errors.
func (s *server) CreateCollection(input map[string]any) {
	s.t.Helper()
	s.Admin(`mutation($in: CollectionInput!) { createCollection(input: $in) { id } }`, map[string]any{"in": input})
}

// Multipart posts a GraphQL multipart request (the multipart request spec):
// operations JSON, the map, and one part per file.
func (s *server) Multipart(token, operations string, fileMap map[string][]string, files map[string]multipartFile) *reply {
	s.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	_ = mw.WriteField("operations", operations)
	m, _ := json.Marshal(fileMap)
	_ = mw.WriteField("map", string(m))
	for key, f := range files {
		h := make(map[string][]string)
		h["Content-Disposition"] = []string{fmt.Sprintf(`form-data; name=%q; filename=%q`, key, f.Name)}
		h["Content-Type"] = []string{f.ContentType}
		w, err := mw.CreatePart(h)
		if err != nil {
			s.t.Fatal(err)
		}
		_, _ = w.Write(f.Data)
	}
	_ = mw.Close()
	return s.Post("/graphql", mw.FormDataContentType(), &buf, token)
}

// multipartFile is one file part of a multipart request.
type multipartFile struct {
	Name        string
	ContentType string
	Data        []byte
}

// checkHealth fails the case when /health does not answer 200 within
// maxReplyTime.
func (s *server) checkHealth(t *testing.T) {
	t.Helper()
	c := http.Client{Timeout: maxReplyTime}
	res, err := c.Get(s.URL + "/health")
	if err != nil {
		t.Fatalf("/health after the attack: %v", err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("/health after the attack: status %d", res.StatusCode)
	}
}

// resetPeakRSS starts a new peak RSS measurement (clear_refs 5 resets
// VmHWM; the suite runs as the server's own user).
func (s *server) resetPeakRSS(t *testing.T) {
	path := fmt.Sprintf("/proc/%d/clear_refs", s.cmd.Process.Pid)
	if err := os.WriteFile(path, []byte("5"), 0); err != nil {
		t.Logf("reset the peak RSS: %v (the peak then covers the suite so far)", err)
	}
}

// RSS returns the server's current resident set size in bytes.
func (s *server) RSS(t *testing.T) int64 { return s.procStatus(t, "VmRSS:") }

// peakRSS returns the server's peak resident set size in bytes.
func (s *server) peakRSS(t *testing.T) int64 { return s.procStatus(t, "VmHWM:") }

func (s *server) procStatus(t *testing.T, key string) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		t.Fatalf("read the server's memory: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), key); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				t.Fatalf("parse %s: %v", key, err)
			}
			return kb << 10
		}
	}
	t.Fatalf("no %s in /proc/%d/status", key, s.cmd.Process.Pid)
	return 0
}

// refused asserts that r is a refusal with the given HTTP status (0: any)
// and extensions.code (""; any code but none).
func refused(t *testing.T, r *reply, status int, code string) {
	t.Helper()
	if status != 0 && r.Status != status {
		t.Errorf("status %d, want %d: %s", r.Status, status, tail(r.Body, 512))
	}
	if len(r.JSON.Errors) == 0 {
		t.Errorf("no error in the answer: %s", tail(r.Body, 512))
		return
	}
	if code != "" && r.Code() != code {
		t.Errorf("code %q, want %q: %s", r.Code(), code, tail(r.Body, 512))
	}
}
