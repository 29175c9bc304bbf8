package dynschema

import "testing"

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
