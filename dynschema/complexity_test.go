package dynschema

import (
	"fmt"
	"strings"
	"testing"
)

// TestComplexityCache checks that a cached complexity never outlives what
// variables can change.
func TestComplexityCache(t *testing.T) {
	en := newEnv(t)
	en.blog()
	over := `{ posts(limit: 1000) { tags { postsViaTags(limit: 1000) { id } } } }`
	byVar := `query($n: Int, $m: Int) { posts(limit: $n) { tags { postsViaTags(limit: $m) { id } } } }`
	byFragment := `query($n: Int) { ...F } fragment F on Query { posts(limit: $n) { tags { postsViaTags(limit: 10) { id } } } }`
	cases := []struct {
		name, query string
		vars        map[string]any
		refused     bool
	}{
		{"over the limit", over, nil, true},
		{"over the limit again (cached)", over, nil, true},
		{"small sizes from variables", byVar, map[string]any{"n": 2, "m": 2}, false},
		{"large sizes from the same operation", byVar, map[string]any{"n": 1000, "m": 1000}, true},
		{"small sizes again", byVar, map[string]any{"n": 2, "m": 2}, false},
		{"a small size in a fragment", byFragment, map[string]any{"n": 1}, false},
		{"a large size in the same fragment", byFragment, map[string]any{"n": 1000}, true},
		{"a cheap literal query", `{ posts(limit: 2) { id } }`, nil, false},
		{"the cheap query again", `{ posts(limit: 2) { id } }`, nil, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := en.gql("", c.query, c.vars)
			refused := r.code() == "COMPLEXITY_LIMIT_EXCEEDED"
			if refused != c.refused {
				t.Errorf("refused = %v, want %v: %s", refused, c.refused, r)
			}
		})
	}
}

// TestParsedDocumentsAreBounded: distinct large documents (seeding
// mutations with literal values, 50 aliased creates each) do not pile up
// in the schema version's document cache past its byte budget, while small
// repeated queries stay cached.
func TestParsedDocumentsAreBounded(t *testing.T) {
	en := newEnv(t)
	en.blog()
	for i := range 400 {
		var b strings.Builder
		b.WriteString("{")
		for j := range 50 {
			fmt.Fprintf(&b, ` p%d: posts(filter: "title = 'seed %d of batch %d, some padding text'", limit: 1) { id title }`, j, j, i)
		}
		b.WriteString(" }")
		if r := en.gql("", b.String(), nil); len(r.Errors) > 0 {
			t.Fatalf("batch %d: %s", i, r)
		}
	}
	docs := en.e.cur.Load().docs
	if docs.Bytes() > parsedCacheBytes {
		t.Fatalf("the document cache counts %d bytes, over its budget of %d", docs.Bytes(), parsedCacheBytes)
	}
	if docs.Len() >= 400 {
		t.Fatalf("all %d large documents were kept (%d bytes counted)", docs.Len(), docs.Bytes())
	}
	small := `{ posts(limit: 2) { id } }`
	en.gql("", small, nil)
	if _, ok := docs.Get(en.ctx, small); !ok {
		t.Fatal("a small query was not cached")
	}
}
