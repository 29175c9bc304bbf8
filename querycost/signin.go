package querycost

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/monobase/monobase/apperr"
)

// SignInOnce returns a gqlgen extension that refuses, before anything
// runs, a mutation with more than one root field that checks a password
// (aliases of one sign-in, or sign-ins to two collections): each would
// test one password, so one request could test many. isSignIn reports
// whether a Mutation field name is such a sign-in. The refusal is
// BAD_USER_INPUT, located at the second sign-in field.
func SignInOnce(isSignIn func(field string) bool) graphql.HandlerExtension {
	return signInOnce{isSignIn: isSignIn}
}

type signInOnce struct{ isSignIn func(string) bool }

var _ graphql.OperationContextMutator = signInOnce{}

// ExtensionName implements graphql.HandlerExtension.
func (signInOnce) ExtensionName() string { return "SignInOnce" }

// Validate implements graphql.HandlerExtension.
func (signInOnce) Validate(graphql.ExecutableSchema) error { return nil }

// MutateOperationContext implements graphql.OperationContextMutator.
func (s signInOnce) MutateOperationContext(ctx context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	if oc.Operation == nil || oc.Operation.Operation != ast.Mutation {
		return nil
	}
	// CollectFields applies @skip/@include, expands each fragment once and
	// merges fields with the same response key (those run once).
	var first *ast.Field
	for _, f := range graphql.CollectFields(oc, oc.Operation.SelectionSet, []string{"Mutation"}) {
		if !s.isSignIn(f.Name) {
			continue
		}
		if first == nil {
			first = f.Field
			continue
		}
		err := &gqlerror.Error{
			Message: "an operation may sign in only once: send each sign-in (" + first.Name +
				") in its own request, without aliases of it",
			Extensions: map[string]any{"code": string(apperr.Invalid)},
		}
		if f.Position != nil {
			err.Locations = []gqlerror.Location{{Line: f.Position.Line, Column: f.Position.Column}}
		}
		return err
	}
	return nil
}
