package dynschema

import (
	"math"
	"strings"
	"testing"

	"github.com/monobase/monobase/db/filter"
)

// nestedWhere returns a where of n nested levels built by wrap around the
// innermost comparison.
func nestedWhere(n int, wrap func(inner map[string]any) map[string]any) map[string]any {
	w := map[string]any{"title": map[string]any{"eq": "alpha"}}
	for range n {
		w = wrap(w)
	}
	return w
}

func TestWhereBounds(t *testing.T) {
	en := newEnv(t)
	en.blog()
	ann, _ := en.user("ann@example.com")
	tag := en.insert("tags", map[string]any{"name": "go"})
	en.insert("posts", map[string]any{"title": "alpha", "author": ann.ID(), "tags": []string{tag.ID()}})

	not := func(in map[string]any) map[string]any { return map[string]any{"_not": in} }
	notWithSibling := func(in map[string]any) map[string]any {
		return map[string]any{"_not": in, "views": map[string]any{"gt": 1}}
	}
	andWithSibling := func(in map[string]any) map[string]any {
		return map[string]any{"_and": []any{in}, "views": map[string]any{"gt": 1}}
	}
	orOne := func(in map[string]any) map[string]any {
		return map[string]any{"_or": []any{in, map[string]any{"tags": map[string]any{"name": map[string]any{"eq": "go"}}}}}
	}
	list := func(n int, item map[string]any) map[string]any {
		items := make([]any, n)
		for i := range items {
			items[i] = item
		}
		return map[string]any{"_or": items}
	}
	const q = `query($w: PostWhere) { posts(where: $w) { title } }`
	cases := []struct {
		name string
		w    map[string]any
		ok   bool
	}{
		{"_not at the max depth", nestedWhere(filter.MaxDepth-1, not), true},
		{"_not with siblings at the max depth", nestedWhere(filter.MaxDepth-1, notWithSibling), true},
		{"_and with siblings at the max depth", nestedWhere(filter.MaxDepth-1, andWithSibling), true},
		{"_or through relations at the max depth", nestedWhere(filter.MaxDepth-2, orOne), true},
		{"_or through relations past the max depth", nestedWhere(filter.MaxDepth-1, orOne), false},
		{"3,000 nested _not", nestedWhere(3000, not), false},
		{"_not past the max depth", nestedWhere(filter.MaxDepth, not), false},
		{"an _or of 5,000 empty objects", list(5000, map[string]any{}), false},
		{"an _or of 3,000 comparisons", list(3000, map[string]any{"title": map[string]any{"eq": "x"}}), false},
		{"an _or of 150 comparisons", list(150, map[string]any{"title": map[string]any{"eq": "x"}}), true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := en.gql("", q, map[string]any{"w": tc.w})
			if tc.ok {
				r.ok(t)
				return
			}
			if r.code() != "BAD_USER_INPUT" || len(r.Errors) != 1 || !strings.Contains(r.Errors[0].Message, "where") {
				t.Fatalf("got %s", r)
			}
		})
	}
}

func TestIncrementStaysInInt(t *testing.T) {
	en := newEnv(t)
	en.blog()
	p := en.insert("posts", map[string]any{"title": "a", "rank": math.MaxInt32 - 1})
	const upd = `mutation($id: ID!, $in: PostUpdateInput!) { updatePost(id: $id, input: $in) { rank } }`
	r := en.gql(en.superuser(), upd, map[string]any{"id": p.ID(), "in": map[string]any{"rankIncrement": 1}}).ok(t)
	if !strings.Contains(r.String(), `"rank":2147483647`) {
		t.Fatalf("got %s", r)
	}
	r = en.gql(en.superuser(), upd, map[string]any{"id": p.ID(), "in": map[string]any{"rankIncrement": 1}})
	if r.code() != "BAD_USER_INPUT" || !strings.Contains(r.String(), "32-bit") {
		t.Fatalf("overflowing increment: %s", r)
	}
	r = en.gql("", `query($id: ID!) { post(id: $id) { rank } }`, map[string]any{"id": p.ID()}).ok(t)
	if !strings.Contains(r.String(), `"rank":2147483647`) {
		t.Fatalf("after a refused increment: %s", r)
	}
}
