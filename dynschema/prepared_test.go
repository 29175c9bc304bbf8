package dynschema

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"sync"
	"testing"

	"github.com/99designs/gqlgen/graphql"

	"github.com/monobase/monobase/db"
	"github.com/monobase/monobase/querycost"
)

// preparedRuns returns how many operations the current version has run
// prepared, and how many queries it keeps.
func (en *env) preparedRuns() (runs uint64, kept int) {
	p := en.e.cur.Load().prepared
	if p == nil {
		en.t.Fatal("the version prepares no queries")
	}
	return p.runs.Load(), p.cache.Len()
}

// The second run of a query skips gqlgen's executor and answers what the
// executor answered, with its own variables each time.
func TestPreparedQueryAnswersAsTheExecutor(t *testing.T) {
	en := newEnv(t)
	en.blog()
	u, _ := en.user("ann@example.com")
	one := en.insert("posts", db.RecordInput{"title": "one", "views": 1.0, "author": u.ID()})
	two := en.insert("posts", db.RecordInput{"title": "two", "views": 2.0})
	q := `query($id: ID!) { post(id: $id) { id title views author { id name } } }`

	first := en.gql("", q, map[string]any{"id": one.ID()}).ok(t)
	if runs, kept := en.preparedRuns(); runs != 0 || kept != 1 {
		t.Fatalf("after the first run: %d prepared runs, %d kept; want 0 and 1", runs, kept)
	}
	again := en.gql("", q, map[string]any{"id": one.ID()}).ok(t)
	jsonEq(t, again.Data, string(first.Data))
	other := en.gql("", q, map[string]any{"id": two.ID()}).ok(t)
	jsonEq(t, other.Data, fmt.Sprintf(`{"post":{"id":%q,"title":"two","views":2,"author":null}}`, two.ID()))
	if runs, _ := en.preparedRuns(); runs != 2 {
		t.Fatalf("%d prepared runs, want 2", runs)
	}

	// Called directly, it answers the same document.
	var data string
	ok := en.e.RunPrepared(context.Background(), &graphql.RawParams{Query: q, Variables: map[string]any{"id": one.ID()}},
		func(r *graphql.Response) { data = string(r.Data) })
	if !ok {
		t.Fatal("RunPrepared did not take a prepared query")
	}
	jsonEq(t, []byte(data), string(first.Data))

	// Variables that do not validate go to the executor, which reports them.
	if en.e.RunPrepared(context.Background(), &graphql.RawParams{Query: q}, func(*graphql.Response) { t.Error("answered") }) {
		t.Fatal("RunPrepared ran a query without its required variable")
	}
	if r := en.gql("", q, nil); len(r.Errors) == 0 || r.code() != "GRAPHQL_VALIDATION_FAILED" {
		t.Fatalf("a missing variable: %s", r)
	}
}

// A prepared query collects its selections once, unless a directive can
// change them: @skip and @include follow the variables on every run.
func TestPreparedQueryFollowsItsDirectives(t *testing.T) {
	en := newEnv(t)
	en.blog()
	p := en.insert("posts", db.RecordInput{"title": "one"})
	q := `query($s: Boolean!) { posts { id ...F } } fragment F on Post { title @skip(if: $s) }`
	want := map[bool]string{
		false: fmt.Sprintf(`{"posts":[{"id":%q,"title":"one"}]}`, p.ID()),
		true:  fmt.Sprintf(`{"posts":[{"id":%q}]}`, p.ID()),
	}
	for _, s := range []bool{false, true, true, false, true} {
		jsonEq(t, en.gql("", q, map[string]any{"s": s}).ok(t).Data, want[s])
	}
	plain := `{ posts { ...F } } fragment F on Post { id title }`
	for range 3 {
		jsonEq(t, en.gql("", plain, nil).ok(t).Data, want[false])
	}
	if runs, _ := en.preparedRuns(); runs != 4+2 {
		t.Fatalf("%d prepared runs, want 6", runs)
	}
}

// A query measured under other limits is measured again: a change of
// settings.limits applies to the next run of a prepared query.
func TestPreparedQueryMeasuredAgainAfterALimitsChange(t *testing.T) {
	en := newEnv(t)
	en.blog()
	q := `{ posts { author { postsViaAuthor { id } } } }`
	en.gql("", q, nil).ok(t)
	en.gql("", q, nil).ok(t)
	s := querycost.DefaultLimitSettings()
	s.MaxDepth = 3
	if err := en.e.SetLimits(s); err != nil {
		t.Fatal(err)
	}
	if r := en.gql("", q, nil); r.code() != "DEPTH_LIMIT_EXCEEDED" {
		t.Fatalf("a prepared depth-4 query under maxDepth 3: %s", r)
	}
	s.MaxDepth, s.MaxComplexity = 10, 2
	if err := en.e.SetLimits(s); err != nil {
		t.Fatal(err)
	}
	if r := en.gql("", `{ posts(limit: 5) { id } }`, nil); r.code() != "COMPLEXITY_LIMIT_EXCEEDED" {
		t.Fatalf("over maxComplexity: %s", r)
	}
	// A cost that depends on the variables is measured on every run.
	s.MaxComplexity = 20
	if err := en.e.SetLimits(s); err != nil {
		t.Fatal(err)
	}
	byVar := `query($n: Int!) { posts(limit: $n) { id } }`
	runs, _ := en.preparedRuns()
	en.gql("", byVar, map[string]any{"n": 5}).ok(t)
	en.gql("", byVar, map[string]any{"n": 5}).ok(t)
	if r := en.gql("", byVar, map[string]any{"n": 50}); r.code() != "COMPLEXITY_LIMIT_EXCEEDED" {
		t.Fatalf("a prepared query with limit 50 under maxComplexity 20: %s", r)
	}
	if now, _ := en.preparedRuns(); now != runs+1 {
		t.Fatalf("%d prepared runs of the query whose cost varies, want 1", now-runs)
	}
}

// Mutations, persisted queries and a new schema version never run a query
// prepared by another.
func TestPreparedQueryOnlyForPlainQueries(t *testing.T) {
	en := newEnv(t)
	en.blog()
	m := `mutation { createPost(input: {title: "t"}) { id } }`
	en.gql("", m, nil).ok(t)
	en.gql("", m, nil).ok(t)
	if runs, kept := en.preparedRuns(); runs != 0 || kept != 0 {
		t.Fatalf("a mutation: %d prepared runs, %d kept", runs, kept)
	}
	q := `{ posts { title } }`
	en.gql("", q, nil).ok(t)
	if runs, kept := en.preparedRuns(); runs != 0 || kept != 1 {
		t.Fatalf("a query: %d prepared runs, %d kept", runs, kept)
	}
	ext := map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": "0000"}}
	if en.e.RunPrepared(context.Background(), &graphql.RawParams{Query: q, Extensions: ext}, func(*graphql.Response) { t.Error("answered") }) {
		t.Fatal("a query with extensions ran prepared")
	}
	en.create(&db.Collection{Name: "notes", Type: db.TypeBase, Fields: []*db.Field{{Name: "text", Type: db.FieldText}}})
	if runs, kept := en.preparedRuns(); runs != 0 || kept != 0 {
		t.Fatalf("a new schema version starts with %d runs, %d kept", runs, kept)
	}
	en.gql("", q, nil).ok(t)
	en.gql("", `{ notes { text } }`, nil).ok(t)
	if runs, kept := en.preparedRuns(); runs != 0 || kept != 2 {
		t.Fatalf("on the new version: %d prepared runs, %d kept", runs, kept)
	}
}

// An automatic persisted query (Apollo's and urql's) named by its hash
// alone runs prepared once its text is known; an unknown hash still gets
// the executor's PersistedQueryNotFound.
func TestPreparedPersistedQuery(t *testing.T) {
	en := newEnv(t)
	en.blog()
	p := en.insert("posts", db.RecordInput{"title": "one"})
	q := `query($id: ID!) { post(id: $id) { title } }`
	sum := sha256.Sum256([]byte(q))
	send := func(query, hash string) *gqlResp {
		t.Helper()
		body := map[string]any{"variables": map[string]any{"id": p.ID()},
			"extensions": map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": hash}}}
		if query != "" {
			body["query"] = query
		}
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest("POST", en.srv.URL+"/graphql", bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		return en.do(req)
	}
	hash := hex.EncodeToString(sum[:])
	jsonEq(t, send(q, hash).ok(t).Data, `{"post":{"title":"one"}}`) // registers the text
	for range 2 {
		jsonEq(t, send("", hash).ok(t).Data, `{"post":{"title":"one"}}`)
	}
	if runs, _ := en.preparedRuns(); runs != 2 {
		t.Fatalf("%d prepared runs of the hash alone, want 2", runs)
	}
	if r := send("", "ffff"); r.code() != "PERSISTED_QUERY_NOT_FOUND" {
		t.Fatalf("an unknown hash: %s", r)
	}
	if r := send(`{ posts { id } }`, hash); len(r.Errors) == 0 {
		t.Fatalf("a text that does not match its hash was answered: %s", r)
	}
}

// With a field interceptor installed, every query takes the executor, so
// the interceptor sees every field of every run.
func TestPreparedQueryNotWithAFieldInterceptor(t *testing.T) {
	en := newEnv(t)
	en.blog()
	en.insert("posts", db.RecordInput{"title": "one"})
	var mu sync.Mutex
	seen := 0
	if err := en.e.AroundFields(func(ctx context.Context, next graphql.Resolver) (any, error) {
		if fc := graphql.GetFieldContext(ctx); fc.Object == "Post" && fc.Field.Name == "title" {
			mu.Lock()
			seen++
			mu.Unlock()
		}
		return next(ctx)
	}); err != nil {
		t.Fatal(err)
	}
	if p := en.e.cur.Load().prepared; p != nil {
		t.Fatal("a version with a field interceptor prepares queries")
	}
	for range 3 {
		en.gql("", `{ posts { title } }`, nil).ok(t)
	}
	if seen != 3 {
		t.Fatalf("the interceptor saw %d titles in 3 runs", seen)
	}
}

// Concurrent prepared runs share the pooled operations: each answers its
// own record (run with -race).
func TestPreparedQueriesConcurrently(t *testing.T) {
	en := newEnv(t)
	en.blog()
	const n = 8
	ids := make([]string, n)
	for i := range ids {
		ids[i] = en.insert("posts", db.RecordInput{"title": fmt.Sprintf("post %d", i)}).ID()
	}
	q := `query($id: ID!) { post(id: $id) { id title } }`
	en.gql("", q, map[string]any{"id": ids[0]}).ok(t)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			for range 25 {
				r := en.gql("", q, map[string]any{"id": ids[i]})
				want := fmt.Sprintf(`{"post":{"id":%q,"title":"post %d"}}`, ids[i], i)
				if len(r.Errors) > 0 || !jsonSame(r.Data, want) {
					t.Errorf("client %d got %s", i, r)
					return
				}
			}
		})
	}
	wg.Wait()
	if runs, _ := en.preparedRuns(); runs != n*25 {
		t.Fatalf("%d prepared runs, want %d", runs, n*25)
	}
}

// jsonSame reports whether got is the JSON document want, layout aside.
func jsonSame(got []byte, want string) bool {
	var g, w any
	if json.Unmarshal(got, &g) != nil || json.Unmarshal([]byte(want), &w) != nil {
		return false
	}
	return reflect.DeepEqual(g, w)
}
