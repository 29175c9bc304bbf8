package querycost

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/parser"

	"github.com/monobase/monobase/internal/boundedcache"
)

// knownQueries and knownQueryBytes bound the accepted query texts a Guard
// remembers: 1,000 of them, 8 MiB of text in all.
const (
	knownQueries    = 1000
	knownQueryBytes = 8 << 20
)

// Guard is a gqlgen handler extension that refuses a document over the
// limits before gqlgen parses and validates it, so validation only ever
// sees documents whose work is bounded. Accepted query texts are
// remembered, so a repeated query costs one cache lookup. Install it after
// the persisted-query extension (which fills in the query text) and give
// gqlgen the same token limit (SetParserTokenLimit): a document the Guard
// cannot parse is left to gqlgen, which reports the parse error itself.
// The limits may change while requests run (Current.Set): a remembered
// text is checked again under new limits.
type Guard struct {
	limits *Current
	// known maps an accepted query text to the limits it was accepted
	// under.
	known graphql.Cache[*Limits]
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationParameterMutator
} = (*Guard)(nil)

// NewGuard returns a Guard for the limits (zero fields take the defaults).
func NewGuard(l Limits) *Guard { return NewGuardOn(NewCurrent(l)) }

// NewGuardOn returns a Guard for the limits c holds, whatever they are
// when each document arrives.
func NewGuardOn(c *Current) *Guard {
	return &Guard{limits: c, known: boundedcache.New[*Limits](knownQueries, knownQueryBytes, nil)}
}

// ExtensionName implements graphql.HandlerExtension.
func (g *Guard) ExtensionName() string { return "QueryCost" }

// Validate implements graphql.HandlerExtension.
func (g *Guard) Validate(graphql.ExecutableSchema) error { return nil }

// MutateOperationParameters implements graphql.OperationParameterMutator:
// it returns a request error when the query is over a limit.
func (g *Guard) MutateOperationParameters(ctx context.Context, p *graphql.RawParams) *gqlerror.Error {
	q := p.Query
	l := g.limits.load()
	if len(q) > l.MaxBytes {
		return refusal(CodeTooLarge, "the query is %d bytes long, more than the limit of %d", len(q), l.MaxBytes)
	}
	if q == "" {
		return nil
	}
	if under, ok := g.known.Get(ctx, q); ok && under == l {
		return nil
	}
	doc, err := parser.ParseQueryWithTokenLimit(&ast.Source{Input: q}, l.MaxTokens)
	if err != nil {
		return nil // gqlgen parses again and reports it
	}
	if gerr := g.check(ctx, doc, l); gerr != nil {
		return gerr
	}
	g.known.Add(ctx, q, l)
	return nil
}

// check measures doc against the limits l.
func (g *Guard) check(ctx context.Context, doc *ast.QueryDocument, l *Limits) *gqlerror.Error {
	c, err := Measure(ctx, doc)
	if err != nil {
		return gqlerror.Errorf("request cancelled")
	}
	switch {
	case c.Fields > l.MaxFields:
		return refusal(CodeFields, "the query selects %s fields with its fragments expanded, more than the limit of %d", count(c.Fields), l.MaxFields)
	case c.Aliases > l.MaxAliases:
		return refusal(CodeAliases, "the query has %s aliased fields with its fragments expanded, more than the limit of %d", count(c.Aliases), l.MaxAliases)
	case c.Depth > l.MaxDepth:
		return refusal(CodeDepth, "the query is nested %d levels deep, more than the limit of %d", c.Depth, l.MaxDepth)
	}
	r, err := MaxRepeat(ctx, doc)
	if err != nil {
		return gqlerror.Errorf("request cancelled")
	}
	if r.Count > l.MaxRepeats {
		return refusal(CodeFields, "the query selects %q %d times in one selection set, more than the limit of %d", truncate(r.Name, 64), r.Count, l.MaxRepeats)
	}
	return nil
}

// count prints a saturated count as "more than" the largest int.
func count(n int) string {
	if n == maxInt {
		return "more than 9223372036854775807"
	}
	return itoa(n)
}
