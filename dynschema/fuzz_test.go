package dynschema

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzHandler sends arbitrary requests to the /graphql handler: whatever
// the body, the answer is a small JSON document, never a 500, a panic or
// an internal error. raw sends query as the whole body; otherwise it is
// the query of a JSON request.
func FuzzHandler(f *testing.F) {
	en := newEnv(f)
	en.blog()
	seeds := []string{
		`{ posts(limit: 2) { id title author { email } } }`,
		`query($n: Int) { posts(limit: $n) { id } }`,
		`mutation { createTag(input: {name: "x"}) { id name } }`,
		`{ posts(where: {_not: {_not: {title: {eq: "a"}}}}, filter: "title ~ 'a' && views > 1", sort: "-created") { id } }`,
		`{ postsConnection(first: 2) { edges { cursor node { id } } pageInfo { hasNextPage } } }`,
		`{ ...F } fragment F on Query { ...G ...G } fragment G on Query { __typename }`,
		`{ a: posts(limit: 1) { id } a: posts(limit: 2) { id } }`,
		`{ __schema { types { name fields { name } } } }`,
		`{ posts { id `,
		strings.Repeat("{ a ", 40),
	}
	for _, s := range seeds {
		f.Add(s, false)
	}
	f.Add(`{"query":`, true)
	f.Add("\x00\x00\x00", true)
	f.Add(`{"query":"{ __typename }","variables":{"a":[1,2,{"b":null}]}}`, true)
	f.Add(`[{"query":"{ __typename }"}]`, true)
	h := en.auth.Middleware(en.e.Handler())
	f.Fuzz(func(t *testing.T, query string, raw bool) {
		body := []byte(query)
		if !raw {
			body, _ = json.Marshal(map[string]any{"query": query})
		}
		req := httptest.NewRequest(http.MethodPost, "/graphql", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		out := w.Body.Bytes()
		switch {
		case w.Code >= 500:
			t.Fatalf("status %d for %q: %s", w.Code, body, out)
		case !json.Valid(out):
			t.Fatalf("not JSON for %q: %s", body, out)
		case bytes.Contains(out, []byte("INTERNAL_SERVER_ERROR")):
			t.Fatalf("internal error for %q: %s", body, out)
		case len(out) > 1<<20:
			t.Fatalf("a %d-byte answer to a %d-byte request", len(out), len(body))
		}
	})
}
