package querycost_test

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/99designs/gqlgen/complexity"
	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2"

	"github.com/monobase/monobase/graph"
	"github.com/monobase/monobase/querycost"
)

// TestComplexityMatchesGqlgen checks the memoized walk against gqlgen's
// complexity.Calculate on the admin API's generated schema.
func TestComplexityMatchesGqlgen(t *testing.T) {
	es := graph.NewExecutableSchema(graph.Config{Resolvers: &graph.Resolver{}})
	queries := []string{
		`{ collections { id name fields { name type } } }`,
		`{ collections { ...C } c2: collections { ...C } } fragment C on Collection { id fields { ...F } } fragment F on Field { name required }`,
		`{ collection(idOrName: "x") { ... on Collection { name } } schemaSDL }`,
		`{ __schema { types { name } } collections { id } }`,
	}
	for _, q := range queries {
		doc, err := gqlparser.LoadQuery(es.Schema(), q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		op := doc.Operations[0]
		want := complexity.Calculate(context.Background(), es, op, nil)
		got := querycost.Complexity(context.Background(), es, op, nil, 0)
		if got != want {
			t.Errorf("%s: %d, gqlgen %d", q, got, want)
		}
	}
}

func TestIntrospectionCosts(t *testing.T) {
	es := graph.NewExecutableSchema(graph.Config{Resolvers: &graph.Resolver{}})
	doc, err := gqlparser.LoadQuery(es.Schema(), `{ a: __schema { types { name } } b: __schema { types { name } } c: __type(name: "Query") { name } }`)
	if err != nil {
		t.Fatal(err)
	}
	without := querycost.Complexity(context.Background(), es, doc.Operations[0], nil, 0)
	with := querycost.Complexity(context.Background(), es, doc.Operations[0], nil, 1000)
	if with-without != 3000 {
		t.Errorf("three introspection fields add %d, want 3000", with-without)
	}
}

// TestComplexityCacheKeepsNoDocument: the cached complexity of an operation
// does not keep its document alive once nothing else holds it (the query
// cache evicted it).
func TestComplexityCacheKeepsNoDocument(t *testing.T) {
	es := graph.NewExecutableSchema(graph.Config{Resolvers: &graph.Resolver{}})
	limit := querycost.NewComplexityLimit(querycost.Limits{})
	if err := limit.Validate(es); err != nil {
		t.Fatal(err)
	}
	var gone atomic.Int32
	const n = 50
	for i := range n {
		doc, err := gqlparser.LoadQuery(es.Schema(), fmt.Sprintf(`{ c%d: collections { id } }`, i))
		if err != nil {
			t.Fatal(err)
		}
		oc := &graphql.OperationContext{Operation: doc.Operations[0], Stats: graphql.Stats{}}
		if gerr := limit.MutateOperationContext(context.Background(), oc); gerr != nil {
			t.Fatal(gerr)
		}
		runtime.AddCleanup(doc.Operations[0], func(*atomic.Int32) { gone.Add(1) }, &gone)
	}
	deadline := time.Now().Add(5 * time.Second)
	for gone.Load() < n && time.Now().Before(deadline) {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	if got := gone.Load(); got < n {
		t.Fatalf("%d of %d operations were collected: the complexity cache keeps the others alive", got, n)
	}
	runtime.KeepAlive(limit)
}
