// Package querycost bounds what one GraphQL document may cost before and
// while it runs: its size in bytes and tokens, its fields and aliases with
// fragments expanded, how often one response name repeats in a selection
// set, its depth, its complexity (introspection counted) and the number of
// validation errors reported, and the password checks of a mutation (one:
// SignInOnce). Every walk is memoized per fragment and checks
// cancellation, so a small document cannot make the server do exponential
// work. Both GraphQL endpoints install it as gqlgen handler extensions.
//
// The limits may change while requests run (Current). The settings group
// limits (settings.go: maxDepth, maxComplexity, maxLimit, maxBodySize,
// introspection) is defined, validated and stored here, where both the
// engine that applies it and the admin API that edits it can reach it.
package querycost

import (
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// The extensions.code of each refusal. They are request errors (like a
// parse or validation failure): HTTP 422, or 400 for
// application/graphql-response+json.
const (
	CodeTooLarge   = "QUERY_TOO_LARGE"           // bytes or tokens
	CodeFields     = "FIELD_LIMIT_EXCEEDED"      // fields or repeats of one name
	CodeAliases    = "ALIAS_LIMIT_EXCEEDED"      // aliased fields
	CodeDepth      = "DEPTH_LIMIT_EXCEEDED"      // selection depth
	CodeComplexity = "COMPLEXITY_LIMIT_EXCEEDED" // gqlgen's code for the same check
	CodeErrors     = "GRAPHQL_VALIDATION_FAILED" // the capped validation error list
)

func init() {
	for _, c := range []string{CodeTooLarge, CodeFields, CodeAliases, CodeDepth, CodeComplexity} {
		errcode.RegisterErrorType(c, errcode.KindProtocol)
	}
}

// Limits bound one document. A zero field takes its default.
type Limits struct {
	MaxBytes   int // query text (default 128 KiB)
	MaxTokens  int // lexer tokens (default 20,000)
	MaxFields  int // fields, fragments expanded, all operations (default 2,000)
	MaxAliases int // aliased fields, fragments expanded (default 100)
	// MaxRepeats bounds how often one response name may be selected in one
	// selection set, its fragments merged (default 100): validation compares
	// every pair of those, so this bounds its quadratic work.
	MaxRepeats int
	MaxDepth   int // selection depth, introspection fields not counted (default 12)
	// MaxComplexity bounds gqlgen's complexity of the operation plus
	// IntrospectionCost for every __schema and __type field (default 5,000).
	MaxComplexity     int
	IntrospectionCost int // default 1,000
	MaxErrors         int // validation errors reported (default 50)
}

// WithDefaults returns l with every zero field set to its default.
func (l Limits) WithDefaults() Limits {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&l.MaxBytes, 128<<10)
	def(&l.MaxTokens, 20000)
	def(&l.MaxFields, 2000)
	def(&l.MaxAliases, 100)
	def(&l.MaxRepeats, 100)
	def(&l.MaxDepth, 12)
	def(&l.MaxComplexity, 5000)
	def(&l.IntrospectionCost, 1000)
	def(&l.MaxErrors, 50)
	return l
}

// refusal returns a request error with the code.
func refusal(code, format string, args ...any) *gqlerror.Error {
	err := gqlerror.Errorf(format, args...)
	errcode.Set(err, code)
	return err
}
