package monobase

import (
	"context"

	"github.com/monobase/monobase/auth"
	"github.com/monobase/monobase/dynschema"
)

// ResolverFunc resolves one custom GraphQL root field. ctx carries the
// caller's viewer (see Viewer and IsSuperuser) and ends with the
// operation; args are the field's arguments coerced per the SDL: Int as
// int, Float as float64, String, ID and enum values as string, Boolean as
// bool, input objects as map[string]any (their defaults filled in), lists
// as []any, other scalars (JSON, DateTime, your own) as sent. An optional
// argument that is absent and has no default is absent from args.
//
// A query or mutation returns its value: nil, a Go scalar, a string for
// an enum, a slice for a list, a map[string]any or a struct (its fields
// named by their json tags) for an object type (only the selected fields
// are sent), a map with "__typename" for an interface or union, and for a
// collection's type (such as Post) the record's id: the record is read
// again with the caller's view rule (NOT_FOUND when they may not see it).
//
// A subscription returns a receive channel of any element type (for
// example <-chan any or <-chan Tick): each value is sent as one event, an
// error value as an error event; the stream completes when the channel
// closes. When the client stops, ctx is cancelled: stop sending then.
//
// An error is sent as BAD_USER_INPUT with its message, unless it is an
// *apperr.Error, whose code is kept (apperr.New(apperr.Forbidden, ...)).
// A panic fails only its field, as an internal error that the log names.
type ResolverFunc = dynschema.Resolver

// Resolvers are the resolvers of the root fields that ExtendSchema adds,
// keyed "Query.name", "Mutation.name" or "Subscription.name".
type Resolvers map[string]ResolverFunc

// ExtendSchema adds root fields resolved in Go to the /graphql schema,
// beside the generated ones: sdl extends Query, Mutation and Subscription
// (`extend type Query { hello(name: String!): String! }`) and may declare
// the object, input, enum, interface, union and scalar types they use;
// they may also use the generated types, such as a collection's Post. r
// has one resolver per added field.
//
// The fields are part of every version of the schema, its introspection
// and the admin API's schemaSDL. serve fails to start when the SDL does
// not parse, a field has no resolver, or a name clashes with a generated
// one; a later collection change that would clash (or that removes a
// type the SDL uses) is refused with BAD_USER_INPUT naming the clash.
func (a *App) ExtendSchema(sdl string, r Resolvers) {
	a.ext.Schema = append(a.ext.Schema, dynschema.Extension{SDL: sdl, Resolvers: r})
}

// Viewer is the signed-in caller of a resolver or hook: nil when
// anonymous; Superuser is true for superusers, and Record and Collection
// are the auth record and its collection.
func Viewer(ctx context.Context) *auth.Viewer { return auth.ViewerFrom(ctx) }

// IsSuperuser reports whether the caller is a superuser.
func IsSuperuser(ctx context.Context) bool { return auth.IsSuperuser(ctx) }
