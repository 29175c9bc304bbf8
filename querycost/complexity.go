package querycost

import (
	"context"
	"sync"
	"sync/atomic"
	"weak"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// Complexity returns the complexity of op as gqlgen's complexity.Calculate
// counts it (the schema's Complexity per field, 1 plus the children
// otherwise, __Schema selections free) with each fragment computed once
// per call, plus introspectionCost for every __schema and __type field.
func Complexity(ctx context.Context, es graphql.ExecutableSchema, op *ast.OperationDefinition, vars map[string]any, introspectionCost int) int {
	w := complexityWalker{es: es, schema: es.Schema(), vars: vars, introspection: introspectionCost,
		memo: map[*ast.FragmentDefinition]int{}}
	return w.set(ctx, op.SelectionSet)
}

type complexityWalker struct {
	es            graphql.ExecutableSchema
	schema        *ast.Schema
	vars          map[string]any
	introspection int
	memo          map[*ast.FragmentDefinition]int
}

func (w *complexityWalker) set(ctx context.Context, ss ast.SelectionSet) int {
	n := 0
	for _, s := range ss {
		switch s := s.(type) {
		case *ast.Field:
			n = satAdd(n, w.field(ctx, s))
		case *ast.InlineFragment:
			n = satAdd(n, w.set(ctx, s.SelectionSet))
		case *ast.FragmentSpread:
			if s.Definition == nil {
				continue
			}
			c, ok := w.memo[s.Definition]
			if !ok {
				w.memo[s.Definition] = 0 // a cycle (refused by validation) counts nothing
				c = w.set(ctx, s.Definition.SelectionSet)
				w.memo[s.Definition] = c
			}
			n = satAdd(n, c)
		}
	}
	return n
}

func (w *complexityWalker) field(ctx context.Context, f *ast.Field) int {
	extra := 0
	if f.Name == "__schema" || f.Name == "__type" {
		extra = w.introspection
	}
	if f.Definition == nil || f.ObjectDefinition == nil {
		return extra
	}
	def := w.schema.Types[f.Definition.Type.Name()]
	if def == nil || def.Name == "__Schema" {
		return extra
	}
	child := 0
	switch def.Kind {
	case ast.Object, ast.Interface, ast.Union:
		child = w.set(ctx, f.SelectionSet)
	}
	args := f.ArgumentMap(w.vars)
	var n int
	if f.ObjectDefinition.Kind == ast.Interface {
		// The worst implementation.
		for _, t := range w.schema.GetPossibleTypes(f.ObjectDefinition) {
			n = max(n, w.fieldOf(ctx, t, def.Kind, f.Name, child, args))
		}
	} else {
		n = w.fieldOf(ctx, f.ObjectDefinition, def.Kind, f.Name, child, args)
	}
	return satAdd(n, extra)
}

func (w *complexityWalker) fieldOf(ctx context.Context, obj *ast.Definition, kind ast.DefinitionKind, field string, child int, args map[string]any) int {
	if c, ok := w.es.Complexity(ctx, obj.Name, field, child, args); ok && c >= 1 {
		return c
	}
	return satAdd(1, max(child, 0))
}

// ComplexityLimit is gqlgen's extension.FixedComplexityLimit (same name,
// stats and error code) on Complexity, computing an operation once when
// no variable can change it: parsed documents are cached, so an operation
// is the same pointer on every request.
//
// The limit and the cost of introspection are read from a Current when
// each operation arrives; the cached complexity of an operation was
// computed with the cost of introspection of the time, so a change of
// that cost (never made by settings.limits) applies to new operations.
type ComplexityLimit struct {
	limits *Current
	es     graphql.ExecutableSchema
	// known maps weak.Pointer[ast.OperationDefinition] to its complexity
	// (-1: depends on variables). Weak, so that the entry of a document
	// the query cache evicted does not keep that document alive (strong
	// keys held 4,096 operations' syntax trees, 40 MB after a seeding).
	known sync.Map
	size  atomic.Int64
}

// maxKnownOperations bounds the cache (documents evicted from the query
// cache leave their small entry behind until the cache is emptied).
const maxKnownOperations = 4096

var _ interface {
	graphql.OperationContextMutator
	graphql.HandlerExtension
} = (*ComplexityLimit)(nil)

// NewComplexityLimit returns the extension for the limits' MaxComplexity
// and IntrospectionCost.
func NewComplexityLimit(l Limits) *ComplexityLimit { return NewComplexityLimitOn(NewCurrent(l)) }

// NewComplexityLimitOn returns the extension for the MaxComplexity and
// IntrospectionCost that c holds when each operation arrives.
func NewComplexityLimitOn(c *Current) *ComplexityLimit { return &ComplexityLimit{limits: c} }

// ExtensionName implements graphql.HandlerExtension.
func (c *ComplexityLimit) ExtensionName() string { return "ComplexityLimit" }

// Validate implements graphql.HandlerExtension.
func (c *ComplexityLimit) Validate(es graphql.ExecutableSchema) error {
	c.es = es
	return nil
}

// MutateOperationContext implements graphql.OperationContextMutator: it
// returns COMPLEXITY_LIMIT_EXCEEDED over the limit.
func (c *ComplexityLimit) MutateOperationContext(ctx context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	op := oc.Operation
	key := weak.Make(op)
	l := c.limits.load()
	n := -1
	if v, ok := c.known.Load(key); ok {
		n = v.(int)
	}
	if n < 0 {
		n = Complexity(ctx, c.es, op, oc.Variables, l.IntrospectionCost)
		if _, ok := c.known.Load(key); !ok {
			known := n
			if CostUsesVariables(op) {
				known = -1
			}
			if c.size.Add(1) > maxKnownOperations {
				c.known.Clear()
				c.size.Store(1)
			}
			c.known.Store(key, known)
		}
	}
	oc.Stats.SetExtension("ComplexityLimit", &extension.ComplexityStats{Complexity: n, ComplexityLimit: l.MaxComplexity})
	if n > l.MaxComplexity {
		return refusal(CodeComplexity, "operation has complexity %d, which exceeds the limit of %d", n, l.MaxComplexity)
	}
	return nil
}

// CostUsesVariables reports whether variables can change the complexity of
// op: a list size argument (limit, first, last, the only arguments that
// the engine's Complexity reads) holds one. Fields are counted whatever
// @skip and @include say, so directives do not matter.
func CostUsesVariables(op *ast.OperationDefinition) bool {
	visited := map[*ast.FragmentDefinition]bool{}
	var walk func(ast.SelectionSet) bool
	walk = func(set ast.SelectionSet) bool {
		for _, s := range set {
			switch s := s.(type) {
			case *ast.Field:
				for _, a := range s.Arguments {
					switch a.Name {
					case "limit", "first", "last":
						if hasVariable(a.Value) {
							return true
						}
					}
				}
				if walk(s.SelectionSet) {
					return true
				}
			case *ast.InlineFragment:
				if walk(s.SelectionSet) {
					return true
				}
			case *ast.FragmentSpread:
				if s.Definition == nil {
					return true // not validated: do not cache
				}
				if !visited[s.Definition] {
					visited[s.Definition] = true
					if walk(s.Definition.SelectionSet) {
						return true
					}
				}
			}
		}
		return false
	}
	return walk(op.SelectionSet)
}

func hasVariable(v *ast.Value) bool {
	if v == nil {
		return false
	}
	if v.Kind == ast.Variable {
		return true
	}
	for _, c := range v.Children {
		if hasVariable(c.Value) {
			return true
		}
	}
	return false
}
