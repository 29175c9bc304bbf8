package querycost

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/validator"

	"github.com/monobase/monobase/internal/boundedcache"
)

func TestGuardRefuses(t *testing.T) {
	g := NewGuard(Limits{MaxBytes: 20000, MaxFields: 100, MaxAliases: 10, MaxDepth: 4, MaxRepeats: 5})
	nested := "{ a { b { c { d { e } } } } }"
	cases := []struct {
		name, query, code string
	}{
		{"a small query", `{ a b { c } }`, ""},
		{"too many bytes", "{ a }" + strings.Repeat(" ", 20000), CodeTooLarge},
		{"2^40 fields in 2.5 KB", doubling(40), CodeFields},
		{"too many fields", "{" + strings.Repeat(" a", 101) + " }", CodeFields},
		{"too many aliases", "{" + strings.Repeat(" x: a", 11) + " }", CodeAliases},
		{"too deep", nested, CodeDepth},
		{"too deep through a fragment", "{ a { ...F } } fragment F on T { b { c { d { e } } } }", CodeDepth},
		{"one name repeated", "{" + strings.Repeat(" __typename", 6) + " }", CodeFields},
		{"a parse error is left to gqlgen", "{ a ", ""},
		{"an empty query is left to gqlgen", "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := g.MutateOperationParameters(context.Background(), &graphql.RawParams{Query: c.query})
			switch {
			case c.code == "" && err != nil:
				t.Errorf("refused: %v", err)
			case c.code != "" && err == nil:
				t.Errorf("accepted, want %s", c.code)
			case c.code != "" && err.Extensions["code"] != c.code:
				t.Errorf("code %v, want %s: %v", err.Extensions["code"], c.code, err)
			case c.code != "" && errcode.GetErrorKind(gqlerror.List{err}) != errcode.KindProtocol:
				t.Errorf("%s is not a request error (HTTP 422)", c.code)
			}
			if err != nil && len(err.Message) > 200 {
				t.Errorf("message of %d bytes", len(err.Message))
			}
		})
	}
}

func TestGuardRemembersAcceptedQueries(t *testing.T) {
	g := NewGuard(Limits{})
	ctx := context.Background()
	q := `{ a b }`
	if err := g.MutateOperationParameters(ctx, &graphql.RawParams{Query: q}); err != nil {
		t.Fatal(err)
	}
	if _, ok := g.known.Get(ctx, q); !ok {
		t.Error("an accepted query is not remembered")
	}
	bad := doubling(30)
	_ = g.MutateOperationParameters(ctx, &graphql.RawParams{Query: bad})
	if _, ok := g.known.Get(ctx, bad); ok {
		t.Error("a refused query is remembered")
	}
}

func TestCappedRules(t *testing.T) {
	schema := gqlparser.MustLoadSchema(&ast.Source{Input: `type Query { users(limit: Int): [User!]! } type User { id: ID! }`})
	var b strings.Builder
	b.WriteString("{")
	for i := range 300 {
		fmt.Fprintf(&b, " a: users(limit: %d) { id }", i)
	}
	b.WriteString(" }")
	doc := parse(t, b.String())
	errs := validator.ValidateWithRules(schema, doc, CappedRules(20)())
	if len(errs) != 21 {
		t.Fatalf("%d errors, want 20 and one that says the list was cut", len(errs))
	}
	if !strings.Contains(errs[20].Message, "too many validation errors") {
		t.Errorf("last error: %q", errs[20].Message)
	}
	// The same rules still find a single error.
	one := validator.ValidateWithRules(schema, parse(t, `{ nope }`), CappedRules(20)())
	if len(one) != 1 {
		t.Errorf("one unknown field: %d errors", len(one))
	}
}

// TestGuardRemembersBoundedText: the accepted query texts a Guard keeps
// count against a byte budget, so large distinct queries cannot hold more
// than knownQueryBytes.
func TestGuardRemembersBoundedText(t *testing.T) {
	g := NewGuard(Limits{})
	ctx := context.Background()
	pad := strings.Repeat(" ", 100<<10) // 100 KiB of whitespace per query
	for i := range 200 {
		p := &graphql.RawParams{Query: fmt.Sprintf("{ a%d %s}", i, pad)}
		if err := g.MutateOperationParameters(ctx, p); err != nil {
			t.Fatalf("query %d refused: %v", i, err)
		}
	}
	c := g.known.(*boundedcache.Cache[*Limits])
	if c.Bytes() > knownQueryBytes || c.Len() == 0 {
		t.Fatalf("the guard holds %d queries, %d bytes; want some and at most %d bytes", c.Len(), c.Bytes(), knownQueryBytes)
	}
	if c.Len() >= 200 {
		t.Fatalf("all %d queries of 100 KiB were kept (%d bytes)", c.Len(), c.Bytes())
	}
}
