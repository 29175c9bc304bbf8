package dynschema

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/monobase/monobase/apperr"
	"github.com/monobase/monobase/gqlerr"
	"github.com/monobase/monobase/hook"
	"github.com/monobase/monobase/querycost"
)

// fieldError is a resolver error with the response path and the position of
// the field in the document; the executor records errors with it so that
// paths are right without a FieldContext per field.
type fieldError struct {
	err  error
	path ast.Path
	pos  *ast.Position
}

func (e *fieldError) Error() string { return e.err.Error() }
func (e *fieldError) Unwrap() error { return e.err }

// present is the engine's error presenter: gqlerr.Present for our errors
// (codes, fields, internal errors hidden), with the executor's paths and
// locations, and gqlgen's own errors (parse, validation) as they are.
func present(ctx context.Context, err error) *gqlerror.Error {
	var fe *fieldError
	if errors.As(err, &fe) {
		out := presentOne(ctx, fe.err)
		out.Path = fe.path
		if fe.pos != nil && fe.pos.Line > 0 {
			out.Locations = []gqlerror.Location{{Line: fe.pos.Line, Column: fe.pos.Column}}
		}
		return out
	}
	return presentOne(ctx, err)
}

func presentOne(ctx context.Context, err error) *gqlerror.Error {
	var pe *hook.PanicError
	if errors.As(err, &pe) {
		// A hook of the app panicked: the request fails with an internal
		// error that names the hook (not what it panicked with, which is
		// logged).
		slog.ErrorContext(ctx, "hook panicked", "hook", pe.Hook, "panic", fmt.Sprint(pe.Value))
		return &gqlerror.Error{Err: err, Message: "hook " + pe.Hook + " panicked", Path: graphql.GetPath(ctx),
			Extensions: map[string]any{"code": string(apperr.Internal)}}
	}
	if apperr.As(err) != nil {
		return gqlerr.Present(ctx, err)
	}
	var g *gqlerror.Error
	if errors.As(err, &g) {
		inner := g.Err
		var ig *gqlerror.Error
		if inner != nil && !errors.As(inner, &ig) {
			// A plain Go error wrapped by gqlgen: internal, never shown.
			out := gqlerr.Present(ctx, apperr.Wrap(inner, "internal server error"))
			if g.Path != nil {
				out.Path = g.Path
			}
			return out
		}
		if g.Path == nil {
			g.Path = graphql.GetPath(ctx)
		}
		g.Message = querycost.TruncateMessage(g.Message) // a parse error quotes the request
		return g
	}
	return gqlerr.Present(ctx, apperr.Wrap(err, "internal server error"))
}

// recoverFunc logs a panic with its stack and returns an internal error.
func recoverFunc(ctx context.Context, rec any) error {
	slog.ErrorContext(ctx, "panic in GraphQL execution", "panic", fmt.Sprint(rec), "stack", string(debug.Stack()))
	return apperr.Wrap(fmt.Errorf("panic: %v", rec), "internal server error")
}
