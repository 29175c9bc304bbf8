package dynschema

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/monobase/monobase/apperr"
)

// Execute runs a query or mutation on the current schema as the viewer of
// ctx (auth.WithViewer; none: a guest), through the same rules, hooks and
// limits as /graphql, and returns its data. The first error of the
// response is returned as an *apperr.Error with its code and message (the
// data may be partial then). Subscriptions are refused. It must not be
// called while the caller holds a write transaction: a mutation waits for
// the single writer.
func (e *Engine) Execute(ctx context.Context, query string, variables map[string]any) (json.RawMessage, error) {
	ctx = graphql.StartOperationTrace(ctx)
	oc, errs := e.CreateOperationContext(ctx, &graphql.RawParams{Query: query, Variables: variables})
	if errs != nil {
		return nil, responseError(errs)
	}
	if oc.Operation != nil && oc.Operation.Operation == ast.Subscription {
		return nil, apperr.New(apperr.Invalid, "Execute runs queries and mutations, not subscriptions")
	}
	responses, ctx := e.DispatchOperation(ctx, oc)
	resp := responses(ctx)
	if resp == nil {
		return nil, errors.New("dynschema: execute: no response")
	}
	if len(resp.Errors) > 0 {
		return resp.Data, responseError(resp.Errors)
	}
	return resp.Data, nil
}

// responseError turns the first GraphQL error into an *apperr.Error with
// the code of its extensions.
func responseError(list gqlerror.List) error {
	first := list[0]
	code := apperr.Internal
	if c, ok := first.Extensions["code"].(string); ok {
		code = apperr.Code(c)
	}
	if len(first.Path) > 0 {
		return apperr.New(code, "%s: %s", first.Path.String(), first.Message)
	}
	return apperr.New(code, "%s", first.Message)
}
