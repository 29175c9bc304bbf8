package dynschema

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/99designs/gqlgen/complexity"
	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// complexityLimit is gqlgen's extension.FixedComplexityLimit (same name,
// stats and error) that computes the complexity of an operation once when
// no variable can change it: parsed documents are cached per schema
// version, so an operation is the same pointer on every request. An
// operation whose list sizes (limit, first, last) come from variables is
// computed on every request.
type complexityLimit struct {
	limit int
	es    graphql.ExecutableSchema
	known sync.Map // *ast.OperationDefinition -> int (-1: depends on variables)
	size  atomic.Int64
}

// maxKnownOperations bounds the cache (documents evicted from the query
// cache leave their entry behind until the cache is emptied).
const maxKnownOperations = 4096

var _ interface {
	graphql.OperationContextMutator
	graphql.HandlerExtension
} = &complexityLimit{}

// ExtensionName implements graphql.HandlerExtension.
func (c *complexityLimit) ExtensionName() string { return "ComplexityLimit" }

// Validate implements graphql.HandlerExtension.
func (c *complexityLimit) Validate(es graphql.ExecutableSchema) error {
	c.es = es
	return nil
}

// MutateOperationContext implements graphql.OperationContextMutator.
func (c *complexityLimit) MutateOperationContext(ctx context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	op := oc.Operation
	n := -1
	if v, ok := c.known.Load(op); ok {
		n = v.(int)
	}
	if n < 0 {
		n = complexity.Calculate(ctx, c.es, op, oc.Variables)
		if _, ok := c.known.Load(op); !ok {
			known := n
			if usesVariables(op) {
				known = -1
			}
			if c.size.Add(1) > maxKnownOperations {
				c.known.Clear()
				c.size.Store(1)
			}
			c.known.Store(op, known)
		}
	}
	oc.Stats.SetExtension("ComplexityLimit", &extension.ComplexityStats{Complexity: n, ComplexityLimit: c.limit})
	if n > c.limit {
		err := gqlerror.Errorf("operation has complexity %d, which exceeds the limit of %d", n, c.limit)
		errcode.Set(err, "COMPLEXITY_LIMIT_EXCEEDED")
		return err
	}
	return nil
}

// usesVariables reports whether variables can change the complexity of
// op: a list size argument (limit, first, last, the only arguments that
// version.Complexity reads) holds one. gqlgen's walker counts fields
// whatever @skip and @include say, so directives do not matter.
func usesVariables(op *ast.OperationDefinition) bool {
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
