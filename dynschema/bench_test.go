package dynschema

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/monobase/monobase/db"
)

// manyCollections returns n collections of m fields of mixed types, each
// relating to the previous one.
func manyCollections(n, m int) []*db.Collection {
	out := make([]*db.Collection, 0, n)
	types := []db.FieldType{db.FieldText, db.FieldNumber, db.FieldBool, db.FieldDate, db.FieldSelect, db.FieldJSON, db.FieldEmail}
	for i := 0; i < n; i++ {
		var fs []*db.Field
		for j := 0; j < m; j++ {
			f := &db.Field{Name: fmt.Sprintf("field%d", j), Type: types[j%len(types)]}
			if f.Type == db.FieldSelect {
				f.Values = []string{"a", "b", "c"}
				f.MaxSelect = 1
			}
			if j == m-1 && i > 0 {
				f.Type = db.FieldRelation
				f.Collection = fmt.Sprintf("c%d", i-1)
				f.MaxSelect = 1
			}
			fs = append(fs, f)
		}
		out = append(out, coll(fmt.Sprintf("c%d", i), fmt.Sprintf("things%d", i), db.TypeBase, fs...))
	}
	return out
}

// BenchmarkBuild200x20 is a rebuild of 200 collections of 20 fields, as
// after a collection change: the SDL fragments of unchanged collections are
// not parsed again.
func BenchmarkBuild200x20(b *testing.B) {
	colls := manyCollections(200, 20)
	e := newEngine(Config{})
	b.ReportAllocs()
	defer reportCPU(b)()
	for b.Loop() {
		if _, err := e.build(colls); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBuildCold200x20 builds without the fragment cache (the first
// build of a process).
func BenchmarkBuildCold200x20(b *testing.B) {
	colls := manyCollections(200, 20)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := loadSchema(colls); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCompileOnly200x20(b *testing.B) {
	colls := manyCollections(200, 20)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := compile(colls); err != nil {
			b.Fatal(err)
		}
	}
}

// benchHandler serves requests in-process (no network) through the auth
// middleware and the engine's handler.
func benchRequest(b *testing.B, h http.Handler, body string) {
	req := httptest.NewRequest("POST", "/graphql", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != 200 || strings.Contains(w.Body.String(), `"errors"`) {
		b.Fatalf("status %d: %s", w.Code, w.Body.String())
	}
}

func benchEnv(b *testing.B) (*env, http.Handler) {
	en := newEnv(b)
	en.blog()
	var users []db.Record
	for i := 0; i < 10; i++ {
		u := en.insert("users", db.RecordInput{"email": fmt.Sprintf("u%d@example.com", i), "password": "password123", "passwordConfirm": "password123", "name": fmt.Sprintf("user %d", i)})
		users = append(users, u)
	}
	for i := 0; i < 200; i++ {
		en.insert("posts", db.RecordInput{"title": fmt.Sprintf("post %d", i), "views": float64(i), "author": users[i%10].ID()})
	}
	return en, en.auth.Middleware(en.e.Handler())
}

// cpuTime is the CPU time (user and system) of the process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU reports, when the returned func runs, the process's CPU time
// per operation since the call as "cpu-ns/op": unlike ns/op it hardly
// moves when other processes load the machine.
func reportCPU(b *testing.B) func() {
	start := cpuTime()
	return func() {
		if b.N > 0 {
			b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
		}
	}
}

func BenchmarkQueryByID(b *testing.B) {
	en, h := benchEnv(b)
	p := en.insert("posts", db.RecordInput{"title": "the one"})
	body := fmt.Sprintf(`{"query":"query($id: ID!) { post(id: $id) { id title } }","variables":{"id":%q}}`, p.ID())
	b.ReportAllocs()
	defer reportCPU(b)()
	for b.Loop() {
		benchRequest(b, h, body)
	}
}

func BenchmarkList50WithAuthor(b *testing.B) {
	_, h := benchEnv(b)
	body := `{"query":"{ posts(limit: 50) { id title views author { id name } } }"}`
	b.ReportAllocs()
	defer reportCPU(b)()
	for b.Loop() {
		benchRequest(b, h, body)
	}
}

// benchHTTP sends body from 16 concurrent clients over keep-alive loopback
// connections to the env's real HTTP server, as bench/load does, so that a
// CPU profile covers net/http, the auth middleware and the engine.
func benchHTTP(b *testing.B, en *env, body string) {
	tr := &http.Transport{MaxIdleConns: 64, MaxIdleConnsPerHost: 64, DisableCompression: true}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr}
	b.SetParallelism(8) // 16 clients with GOMAXPROCS=2
	b.ReportAllocs()
	b.ResetTimer()
	defer reportCPU(b)()
	b.RunParallel(func(pb *testing.PB) {
		var buf bytes.Buffer
		for pb.Next() {
			req, _ := http.NewRequest("POST", en.srv.URL+"/graphql", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			res, err := c.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			buf.Reset()
			_, _ = buf.ReadFrom(res.Body)
			res.Body.Close()
			if res.StatusCode != 200 || bytes.Contains(buf.Bytes(), []byte(`"errors"`)) {
				b.Errorf("status %d: %s", res.StatusCode, buf.String())
				return
			}
		}
	})
}

func BenchmarkHTTPQueryByID(b *testing.B) {
	en, _ := benchEnv(b)
	p := en.insert("posts", db.RecordInput{"title": "the one", "views": 1.0, "published": true})
	benchHTTP(b, en, fmt.Sprintf(`{"query":"query($id: ID!) { post(id: $id) { id title views published created } }","variables":{"id":%q}}`, p.ID()))
}

func BenchmarkHTTPList50WithAuthor(b *testing.B) {
	en, _ := benchEnv(b)
	benchHTTP(b, en, `{"query":"query($o: Int!) { posts(limit: 50, offset: $o) { id title views published author { id name } } }","variables":{"o":100}}`)
}

func BenchmarkHTTPCreatePost(b *testing.B) {
	en, _ := benchEnv(b)
	u := en.insert("users", db.RecordInput{"email": "author@example.com", "password": "password123", "passwordConfirm": "password123", "name": "author"})
	benchHTTP(b, en, fmt.Sprintf(`{"query":"mutation($t: String!, $a: ID!) { createPost(input: {title: $t, views: 0, author: $a}) { id } }","variables":{"t":"a title","a":%q}}`, u.ID()))
}
