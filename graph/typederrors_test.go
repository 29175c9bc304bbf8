package graph

import (
	"context"
	"errors"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/monobase/monobase/apperr"
	"github.com/monobase/monobase/gqlerr"
)

// TestUntypedResolverErrorIsInternal: a resolver's plain error reaches the
// client as "internal server error", never with its text.
func TestUntypedResolverErrorIsInternal(t *testing.T) {
	_, err := typedErrors(nil, errors.New("open /secret/path/data.db: permission denied"))
	// gqlgen wraps the resolver's error with its path before presenting it.
	ctx := graphql.WithFieldContext(context.Background(), &graphql.FieldContext{})
	got := gqlerr.Present(ctx, graphql.ErrorOnPath(ctx, err))
	if got.Message != "internal server error" || got.Extensions["code"] != string(apperr.Internal) {
		t.Fatalf("presented %q %v", got.Message, got.Extensions)
	}
	typed := apperr.New(apperr.NotFound, "no such backup")
	if _, err := typedErrors(nil, typed); err != typed {
		t.Fatalf("a typed error changed: %v", err)
	}
}
