package querycost

import (
	"context"
	"testing"

	"github.com/99designs/gqlgen/graphql"
)

// A remembered query is checked again once the limits change, so a lower
// limit refuses it at once and a higher one accepts it again.
func TestGuardFollowsCurrentLimits(t *testing.T) {
	cur := NewCurrent(Limits{})
	g := NewGuardOn(cur)
	ctx := context.Background()
	depth4 := "{ a { b { c { d } } } }"
	check := func(want string) {
		t.Helper()
		err := g.MutateOperationParameters(ctx, &graphql.RawParams{Query: depth4})
		switch {
		case want == "" && err != nil:
			t.Fatalf("refused: %v", err)
		case want != "" && (err == nil || err.Extensions["code"] != want):
			t.Fatalf("got %v, want %s", err, want)
		}
	}
	check("") // accepted and remembered under the defaults
	check("")
	cur.Set(Limits{MaxDepth: 3})
	if got := cur.Limits(); got.MaxDepth != 3 || got.MaxComplexity != 5000 {
		t.Fatalf("Set did not fill the defaults: %+v", got)
	}
	check(CodeDepth)
	check(CodeDepth)
	cur.Set(Limits{MaxDepth: 4})
	check("")
	cur.Set(Limits{MaxBytes: 10})
	check(CodeTooLarge)
}
