package dynschema

import (
	"context"
	"encoding/json"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/validator"

	"github.com/monobase/monobase/internal/boundedcache"
	"github.com/monobase/monobase/logs"
	"github.com/monobase/monobase/querycost"
)

// A prepared query is one the executor has already parsed, validated and
// measured against the limits: the same text and operation name run again
// skip gqlgen's executor (its parameter mutators, document cache, operation
// and response middleware) and go straight to the engine's own execution.
// A persisted query named by its hash alone (Apollo's and urql's automatic
// persisted queries) is found through the text the persisted-query cache
// holds for the hash. What depends on the request runs again every time:
// the variables are coerced, and the operation context mutators (the
// complexity limit when variables can change the cost, introspection, the
// app's and the metrics' extensions) see every operation. Anything unusual
// (another extension, a variable or a limit that fails, a schema or limits
// change) falls back to the executor, which answers it as before.

// preparedOp is what a prepared query keeps of its first run.
type preparedOp struct {
	doc        *ast.QueryDocument
	op         *ast.OperationDefinition
	recover    graphql.RecoverFunc
	fields     graphql.FieldMiddleware // the executor's chains (of no interceptor: they call the resolver)
	rootFields graphql.RootFieldMiddleware
	gen        uint64 // the limits generation it was measured under
	fixedCost  bool   // its complexity, checked under gen, does not depend on variables
	// collected are its collected selections, nil when a directive
	// (@skip, @include) could make them differ from one run to the next.
	collected *collectedSets
}

// preparedQueries holds a version's prepared queries and the operation
// context mutators to run on each, nil when an extension of the version
// does more than mutate operation contexts (a field or operation
// interceptor, for example): then every operation takes the executor.
type preparedQueries struct {
	cache      *boundedcache.Cache[*preparedOp]
	complexity graphql.OperationContextMutator   // the complexity limit: skipped when variables cannot change the cost
	mutators   []graphql.OperationContextMutator // the others
	runs       atomic.Uint64                     // the operations run prepared
}

// newPreparedQueries returns the prepared queries of a version whose
// executor uses exts, or nil when one of them rules them out. complexity
// is the complexity limit among exts. skip are the parameter mutators
// that do nothing a prepared query needs again: the persisted-query
// lookup (a prepared query has no extensions) and the Guard (its check of
// a text is kept with the limits generation).
func newPreparedQueries(exts []graphql.HandlerExtension, complexity *querycost.ComplexityLimit, skip ...graphql.HandlerExtension) *preparedQueries {
	p := &preparedQueries{cache: boundedcache.New(queryCacheEntries, parsedCacheBytes, boundedcache.ParsedSize[*preparedOp]),
		complexity: complexity}
next:
	for _, x := range exts {
		if x == graphql.HandlerExtension(complexity) {
			continue
		}
		for _, s := range skip {
			if x == s {
				continue next
			}
		}
		switch x.(type) {
		case graphql.OperationParameterMutator, graphql.OperationInterceptor, graphql.ResponseInterceptor,
			graphql.RootFieldInterceptor, graphql.FieldInterceptor:
			return nil
		}
		if m, ok := x.(graphql.OperationContextMutator); ok {
			p.mutators = append(p.mutators, m)
		}
	}
	return p
}

// preparedKey is the cache key of a text and operation name: the text
// alone for an unnamed operation (no allocation), else the name, a NUL
// (never part of a valid document) and the text.
func preparedKey(operationName, query string) string {
	if operationName == "" {
		return query
	}
	return operationName + "\x00" + query
}

// persistedQuery returns the hash of a request's automatic persisted
// query (Apollo's and urql's: extensions.persistedQuery, version 1) when
// that is its only extension.
func persistedQuery(ext map[string]any) (string, bool) {
	if len(ext) != 1 {
		return "", false
	}
	pq, _ := ext["persistedQuery"].(map[string]any)
	hash, ok := pq["sha256Hash"].(string)
	if !ok || hash == "" {
		return "", false
	}
	switch v := pq["version"].(type) {
	case float64:
		ok = v == 1
	case json.Number:
		ok = v == "1"
	default:
		ok = false
	}
	return hash, ok
}

// remember keeps a query the executor has just created without errors
// under limits generation gen, when it qualifies: a query (mutations and
// subscriptions always take the executor), with no extension but a
// persisted query's hash (the persisted-query extension has filled in
// and checked its text), not on a WebSocket.
func (p *preparedQueries) remember(params *graphql.RawParams, oc *graphql.OperationContext, gen uint64) {
	if p == nil || oc == nil || oc.Operation == nil || oc.Operation.Operation != ast.Query || oc.Doc == nil || params.Query == "" {
		return
	}
	if _, ok := persistedQuery(params.Extensions); len(params.Extensions) > 0 && !ok {
		return
	}
	p.cache.Add(context.Background(), preparedKey(params.OperationName, params.Query), &preparedOp{doc: oc.Doc, op: oc.Operation, recover: oc.RecoverFunc,
		fields: oc.ResolverMiddleware, rootFields: oc.RootResolverMiddleware, gen: gen,
		fixedCost: !querycost.CostUsesVariables(oc.Operation), collected: newCollectedSets(oc.Doc)})
}

// RunPrepared implements transport.Prepared: when params are a prepared
// query, it runs it, passes the response to write and reports true;
// otherwise it reports false, having done nothing. The response's data
// is only valid until write returns: its buffer is used again.
func (e *Engine) RunPrepared(ctx context.Context, params *graphql.RawParams, write func(*graphql.Response)) bool {
	v := e.cur.Load()
	p := v.prepared
	if p == nil {
		return false
	}
	query := params.Query
	if len(params.Extensions) > 0 {
		// Only a persisted query named by its hash alone, whose text the
		// persisted-query extension would find in the same cache.
		hash, ok := persistedQuery(params.Extensions)
		if !ok || query != "" {
			return false
		}
		if query, ok = e.apq.Get(ctx, hash); !ok {
			return false // the executor answers PersistedQueryNotFound
		}
	}
	if query == "" {
		return false
	}
	op, ok := p.cache.Get(ctx, preparedKey(params.OperationName, query))
	if !ok || op.gen != e.limitsGen.Load() {
		return false
	}
	vars, err := validator.VariableValues(v.schema, op.op, params.Variables)
	if err != nil {
		return false // the executor reports it
	}
	oc := &graphql.OperationContext{RawQuery: query, Variables: vars, OperationName: params.OperationName,
		Doc: op.doc, Operation: op.op, Headers: params.Headers, DisableIntrospection: true, RecoverFunc: op.recover,
		ResolverMiddleware: op.fields, RootResolverMiddleware: op.rootFields}
	ctx = graphql.WithOperationContext(ctx, oc)
	if !op.fixedCost && p.complexity.MutateOperationContext(ctx, oc) != nil {
		return false // the executor reports it
	}
	for _, m := range p.mutators {
		if m.MutateOperationContext(ctx, oc) != nil {
			return false // the executor reports it
		}
	}
	logs.SetOperation(ctx, string(ast.Query), op.op.Name)
	tctx, cancel := context.WithTimeout(ctx, e.limits.Timeout)
	defer cancel()
	rctx := graphql.WithResponseContext(tctx, present, recoverFunc)
	p.runs.Add(1)
	x := v.pooledOperation(rctx, oc)
	x.collected = op.collected
	resp := x.runQuery()
	resp.Errors = graphql.GetErrors(rctx)
	write(resp)
	x.recycle()
	return true
}

// operations are the operations of prepared queries, kept with their
// buffers for the next: a page of 50 records grew a new response buffer
// from 1 KiB to 8 KiB every time.
var operations = sync.Pool{New: func() any { return new(operation) }}

// maxPooledBuffer bounds the response buffer an operation keeps in the
// pool: a larger one (a rare large response) is left to the GC.
const maxPooledBuffer = 64 << 10

// pooledOperation is newOperation with an operation from the pool.
func (v *version) pooledOperation(ctx context.Context, oc *graphql.OperationContext) *operation {
	x := operations.Get().(*operation)
	buf, path := x.buf[:0], x.path[:0]
	if buf == nil {
		buf, path = make([]byte, 0, 1024), make([]pathElem, 0, 16)
	}
	v.initOperation(x, ctx, oc, buf, path)
	return x
}

// recycle puts x back in the pool once its response is written; x must
// not be used after.
func (x *operation) recycle() {
	if cap(x.buf) > maxPooledBuffer {
		return
	}
	buf, path := x.buf[:0], x.path[:cap(x.path)]
	clear(path)
	*x = operation{buf: buf, path: path[:0]}
	operations.Put(x)
}

// collectedSets are the collected selections of a prepared query's
// document, by selection set and type, kept from its first run for the
// next: without directives, they are the same on every run.
type collectedSets struct {
	m sync.Map // collectedKey: []levelField of a level, []graphql.CollectedField of the root
}

// collectedKey names a selection set by its first selection (a node
// belongs to one set) and the type it is collected on (nil: Query).
type collectedKey struct {
	first ast.Selection
	t     *objType
}

// newCollectedSets returns the sets to keep for doc, nil when one of its
// selections has a directive.
func newCollectedSets(doc *ast.QueryDocument) *collectedSets {
	for _, op := range doc.Operations {
		if hasDirectives(op.SelectionSet) {
			return nil
		}
	}
	for _, f := range doc.Fragments {
		if hasDirectives(f.SelectionSet) {
			return nil
		}
	}
	return &collectedSets{}
}

// hasDirectives reports whether a selection of set, or of a set nested in
// it, has a directive.
func hasDirectives(set ast.SelectionSet) bool {
	for _, s := range set {
		switch s := s.(type) {
		case *ast.Field:
			if len(s.Directives) > 0 || hasDirectives(s.SelectionSet) {
				return true
			}
		case *ast.InlineFragment:
			if len(s.Directives) > 0 || hasDirectives(s.SelectionSet) {
				return true
			}
		case *ast.FragmentSpread:
			if len(s.Directives) > 0 {
				return true
			}
		}
	}
	return false
}

// levelFields returns the fields of sel on t kept before (never to be
// changed: callers clone them).
func (c *collectedSets) levelFields(t *objType, sel ast.SelectionSet) ([]levelField, bool) {
	if c == nil || len(sel) == 0 {
		return nil, false
	}
	v, ok := c.m.Load(collectedKey{sel[0], t})
	if !ok {
		return nil, false
	}
	return v.([]levelField), true
}

// keepLevelFields keeps a copy of the fields of sel on t, as collected
// before any variable was read.
func (c *collectedSets) keepLevelFields(t *objType, sel ast.SelectionSet, fields []levelField) {
	if c == nil || len(sel) == 0 {
		return
	}
	c.m.Store(collectedKey{sel[0], t}, slices.Clone(fields))
}

// rootFields returns the collected root fields of oc's query, kept from
// the first run when c is not nil. They are only read.
func (c *collectedSets) rootFields(oc *graphql.OperationContext) []graphql.CollectedField {
	sel := oc.Operation.SelectionSet
	if c == nil || len(sel) == 0 {
		return graphql.CollectFields(oc, sel, []string{"Query"})
	}
	k := collectedKey{first: sel[0]}
	if v, ok := c.m.Load(k); ok {
		return v.([]graphql.CollectedField)
	}
	cf := graphql.CollectFields(oc, sel, []string{"Query"})
	c.m.Store(k, cf)
	return cf
}
