package abuse

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// doubling returns a document of about 60 bytes a level whose fragment Fn
// spreads F(n-1) twice: it selects 2^n fields.
func doubling(n int, leaf, root string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "query { ...F%d }\nfragment F0 on %s { %s }\n", n, root, leaf)
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "fragment F%d on %s { ...F%d ...F%d }\n", i, root, i-1, i-1)
	}
	return b.String()
}

// sameFieldOtherArgs returns n selections of one alias with different
// arguments: every pair conflicts, so validation's work and errors grow as
// n squared.
func sameFieldOtherArgs(n int, field string) string {
	var b strings.Builder
	b.WriteString("{")
	for i := range n {
		fmt.Fprintf(&b, " a: "+field, i)
	}
	b.WriteString(" }")
	return b.String()
}

// schemaAliases returns a query with n aliases of a __schema selection.
func schemaAliases(n int) string {
	var b strings.Builder
	b.WriteString("{")
	for i := range n {
		fmt.Fprintf(&b, " s%d: __schema { types { name fields { name } } }", i)
	}
	b.WriteString(" }")
	return b.String()
}

func queryAttacks() []attack {
	const app, admin = "/graphql", "/graphql/admin"
	return []attack{
		{"fragments doubling to 2^40 fields", func(t *testing.T, s *server) {
			q := doubling(40, "__typename", "Query")
			if len(q) > 3000 {
				t.Fatalf("the attack is %d bytes, meant to be about 2.5 KB", len(q))
			}
			refused(t, s.GraphQL(app, "", q, nil), http.StatusUnprocessableEntity, "FIELD_LIMIT_EXCEEDED")
			refused(t, s.GraphQL(admin, "", q, nil), http.StatusUnprocessableEntity, "FIELD_LIMIT_EXCEEDED")
		}},
		{"fragments doubling by GET", func(t *testing.T, s *server) {
			req, _ := http.NewRequest(http.MethodGet, s.URL+"/graphql?query="+url.QueryEscape(doubling(40, "__typename", "Query")), nil)
			refused(t, s.Do(req), http.StatusUnprocessableEntity, "FIELD_LIMIT_EXCEEDED")
		}},
		{"one alias, 1,000 different arguments", func(t *testing.T, s *server) {
			r := s.GraphQL(app, "", sameFieldOtherArgs(1000, "users(limit: %d) { id }"), nil)
			refused(t, r, http.StatusUnprocessableEntity, "ALIAS_LIMIT_EXCEEDED")
		}},
		{"one field, 1,000 different arguments, no alias", func(t *testing.T, s *server) {
			q := strings.ReplaceAll(sameFieldOtherArgs(1000, "users(limit: %d) { id }"), " a: ", " ")
			refused(t, s.GraphQL(app, "", q, nil), http.StatusUnprocessableEntity, "FIELD_LIMIT_EXCEEDED")
		}},
		{"one alias, 3,000 different arguments", func(t *testing.T, s *server) {
			r := s.GraphQL(app, "", sameFieldOtherArgs(3000, "users(limit: %d) { id }"), nil)
			refused(t, r, 0, "")
		}},
		{"one alias, 1,000 arguments on the admin API without a sign-in", func(t *testing.T, s *server) {
			r := s.GraphQL(admin, "", sameFieldOtherArgs(1000, `collection(idOrName: "c%d") { id }`), nil)
			refused(t, r, http.StatusUnprocessableEntity, "ALIAS_LIMIT_EXCEEDED")
		}},
		{"conflicts under the repeat limit are reported capped", func(t *testing.T, s *server) {
			r := s.GraphQL(app, "", sameFieldOtherArgs(90, "users(limit: %d) { id }"), nil)
			refused(t, r, http.StatusUnprocessableEntity, "GRAPHQL_VALIDATION_FAILED")
			if n := len(r.JSON.Errors); n > 51 {
				t.Errorf("%d validation errors, want at most 51", n)
			}
		}},
		{"1,000 unknown fields", func(t *testing.T, s *server) {
			var b strings.Builder
			b.WriteString("{")
			for i := range 1000 {
				fmt.Fprintf(&b, " nope%d", i)
			}
			b.WriteString(" }")
			r := s.GraphQL(app, "", b.String(), nil)
			refused(t, r, http.StatusUnprocessableEntity, "GRAPHQL_VALIDATION_FAILED")
			if n := len(r.JSON.Errors); n != 51 {
				t.Errorf("%d validation errors, want 50 and one that says the list was cut", n)
			}
		}},
		{"40,000 __typename", func(t *testing.T, s *server) {
			q := "{" + strings.Repeat(" __typename", 40000) + " }"
			refused(t, s.GraphQL(app, "", q, nil), http.StatusUnprocessableEntity, "QUERY_TOO_LARGE")
		}},
		{"2,000 __typename under the byte limit", func(t *testing.T, s *server) {
			q := "{" + strings.Repeat(" __typename", 2000) + " }"
			refused(t, s.GraphQL(app, "", q, nil), http.StatusUnprocessableEntity, "FIELD_LIMIT_EXCEEDED")
		}},
		{"30,000 tokens under the byte limit", func(t *testing.T, s *server) {
			q := "{ users(where: {id: {in: [" + strings.Repeat(`"a",`, 30000) + `]}}) { id } }`
			refused(t, s.GraphQL(app, "", q, nil), http.StatusUnprocessableEntity, "GRAPHQL_PARSE_FAILED")
		}},
		{"deep nesting", func(t *testing.T, s *server) {
			q := strings.Repeat("{ a ", 500) + strings.Repeat("}", 500)
			refused(t, s.GraphQL(app, "", q, nil), http.StatusUnprocessableEntity, "DEPTH_LIMIT_EXCEEDED")
		}},
		{"30 MiB of NUL bytes", func(t *testing.T, s *server) {
			body := bytes.Repeat([]byte{0}, 30<<20)
			refused(t, s.Post(app, "application/json", bytes.NewReader(body), ""), http.StatusRequestEntityTooLarge, "PAYLOAD_TOO_LARGE")
			refused(t, s.Post(admin, "application/json", bytes.NewReader(body), ""), http.StatusRequestEntityTooLarge, "PAYLOAD_TOO_LARGE")
		}},
		{"7 MiB of NUL bytes are not echoed", func(t *testing.T, s *server) {
			body := bytes.Repeat([]byte{0}, 7<<20)
			for _, path := range []string{app, admin} {
				r := s.Post(path, "application/json", bytes.NewReader(body), "")
				refused(t, r, http.StatusBadRequest, "")
				if len(r.Body) > 1024 {
					t.Errorf("%s: a %d-byte answer to bad JSON", path, len(r.Body))
				}
			}
		}},
		{"a parse error does not quote a long token", func(t *testing.T, s *server) {
			q := `{ users(filter: "` + strings.Repeat("x", 100000) + `" `
			r := s.GraphQL(app, "", q, nil)
			refused(t, r, http.StatusUnprocessableEntity, "GRAPHQL_PARSE_FAILED")
			if len(r.Body) > 2048 {
				t.Errorf("a %d-byte answer to a parse error", len(r.Body))
			}
		}},
		{"20,000 aliases of __schema", func(t *testing.T, s *server) {
			q := schemaAliases(20000)
			refused(t, s.GraphQL(app, "", q, nil), http.StatusUnprocessableEntity, "QUERY_TOO_LARGE")
		}},
		{"introspection costs: 20 aliases of __schema", func(t *testing.T, s *server) {
			q := schemaAliases(20)
			refused(t, s.GraphQL(app, "", q, nil), http.StatusUnprocessableEntity, "COMPLEXITY_LIMIT_EXCEEDED")
			refused(t, s.GraphQL(admin, "", q, nil), http.StatusUnprocessableEntity, "COMPLEXITY_LIMIT_EXCEEDED")
		}},
		{"one introspection query still works", func(t *testing.T, s *server) {
			r := s.GraphQL(app, "", `{ __schema { queryType { name } types { name } } }`, nil)
			if r.Status != http.StatusOK || len(r.JSON.Errors) > 0 {
				t.Errorf("introspection refused: %d %s", r.Status, tail(r.Body, 512))
			}
		}},
	}
}
