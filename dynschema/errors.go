package dynschema

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/monobase/monobase/apperr"
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

// present is the engine's error presenter: apperr.Presenter for our errors
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
	if apperr.As(err) != nil {
		return apperr.Presenter(ctx, err)
	}
	var g *gqlerror.Error
	if errors.As(err, &g) {
		inner := g.Err
		var ig *gqlerror.Error
		if inner != nil && !errors.As(inner, &ig) {
			// A plain Go error wrapped by gqlgen: internal, never shown.
			out := apperr.Presenter(ctx, apperr.Wrap(inner, "internal server error"))
			if g.Path != nil {
				out.Path = g.Path
			}
			return out
		}
		if g.Path == nil {
			g.Path = graphql.GetPath(ctx)
		}
		return g
	}
	return apperr.Presenter(ctx, apperr.Wrap(err, "internal server error"))
}

// recoverFunc logs a panic with its stack and returns an internal error.
func recoverFunc(ctx context.Context, rec any) error {
	slog.ErrorContext(ctx, "panic in GraphQL execution", "panic", fmt.Sprint(rec), "stack", string(debug.Stack()))
	return apperr.Wrap(fmt.Errorf("panic: %v", rec), "internal server error")
}

// depthLimit refuses operations nested deeper than max (introspection
// fields are not counted: gqlparser limits those itself).
type depthLimit struct{ max int }

func (d depthLimit) ExtensionName() string                   { return "DepthLimit" }
func (d depthLimit) Validate(graphql.ExecutableSchema) error { return nil }

// MutateOperationContext implements graphql.OperationContextMutator.
func (d depthLimit) MutateOperationContext(ctx context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	depth := selectionDepth(oc.Doc, oc.Operation.SelectionSet, map[string]bool{})
	if depth > d.max {
		err := gqlerror.Errorf("the query is nested %d levels deep, more than the limit of %d", depth, d.max)
		errcode.Set(err, "DEPTH_LIMIT_EXCEEDED")
		return err
	}
	return nil
}

func selectionDepth(doc *ast.QueryDocument, set ast.SelectionSet, visiting map[string]bool) int {
	max := 0
	for _, s := range set {
		var d int
		switch s := s.(type) {
		case *ast.Field:
			if len(s.Name) > 1 && s.Name[0] == '_' && s.Name[1] == '_' {
				continue
			}
			if len(s.SelectionSet) > 0 {
				d = 1 + selectionDepth(doc, s.SelectionSet, visiting)
			} else {
				d = 1
			}
		case *ast.InlineFragment:
			d = selectionDepth(doc, s.SelectionSet, visiting)
		case *ast.FragmentSpread:
			if visiting[s.Name] {
				continue
			}
			f := doc.Fragments.ForName(s.Name)
			if f == nil {
				continue
			}
			visiting[s.Name] = true
			d = selectionDepth(doc, f.SelectionSet, visiting)
			visiting[s.Name] = false
		}
		if d > max {
			max = d
		}
	}
	return max
}
