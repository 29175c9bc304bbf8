package dynschema

import (
	"bytes"
	"context"
	"io"
	"strconv"
	"sync"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/executor"
	"github.com/99designs/gqlgen/graphql/introspection"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/monobase/monobase/access"
	"github.com/monobase/monobase/apperr"
	"github.com/monobase/monobase/auth"
	"github.com/monobase/monobase/db"
	"github.com/monobase/monobase/internal/boundedcache"
)

// version is one compiled application schema: the model, the gqlparser
// schema and its own executor (with its own query cache). It implements
// graphql.ExecutableSchema.
type version struct {
	eng     *Engine
	m       *model
	schema  *ast.Schema
	colls   []*db.Collection
	exec    *executor.Executor
	docs    *boundedcache.Cache[*ast.QueryDocument] // exec's parsed documents
	seq     uint64
	fieldMW bool

	introOnce sync.Once
	intro     *introspection.Schema
	rules     access.Rules // the parsed rules of colls

	prepared *preparedQueries // queries that skip exec the next time (nil: none do)
}

// Schema implements graphql.ExecutableSchema.
func (v *version) Schema() *ast.Schema { return v.schema }

// Complexity implements graphql.ExecutableSchema: list fields multiply
// their children's complexity by their limit (default 30).
func (v *version) Complexity(ctx context.Context, typeName, fieldName string, child int, args map[string]any) (int, bool) {
	mul := 0
	switch typeName {
	case "Query":
		rf := v.m.query[fieldName]
		if rf == nil {
			return 0, false
		}
		switch rf.kind {
		case rkList, rkGroupBy:
			mul = intArg(args, "limit", defaultLimit)
		case rkConnection:
			mul = intArg(args, "first", 0)
			if l := intArg(args, "last", 0); l > mul {
				mul = l
			}
			if mul == 0 {
				mul = defaultLimit
			}
		}
	default:
		t := v.m.types[typeName]
		if t == nil {
			return 0, false
		}
		p := t.fields[fieldName]
		if p == nil {
			return 0, false
		}
		switch p.kind {
		case fkBack:
			mul = intArg(args, "limit", defaultLimit)
		case fkRelList:
			mul = p.field.MaxSelect
		}
	}
	if mul <= 0 {
		return 0, false
	}
	return 1 + mul*child, true
}

func intArg(args map[string]any, name string, def int) int {
	if n, ok := toInt(args[name]); ok {
		return n
	}
	return def
}

// Exec implements graphql.ExecutableSchema. Queries and mutations run
// lazily in the returned handler; subscriptions stream.
func (v *version) Exec(ctx context.Context) graphql.ResponseHandler {
	oc := graphql.GetOperationContext(ctx)
	switch oc.Operation.Operation {
	case ast.Query, ast.Mutation:
		done := false
		return func(ctx context.Context) *graphql.Response {
			if done {
				return nil
			}
			done = true
			x := v.newOperation(ctx, oc)
			if oc.Operation.Operation == ast.Mutation {
				return x.runMutation()
			}
			return x.runQuery()
		}
	case ast.Subscription:
		return v.subscribe(ctx, oc)
	}
	return graphql.OneShot(graphql.ErrorResponse(ctx, "unsupported GraphQL operation"))
}

// pathElem is one step of the response path (idx < 0: a field name).
type pathElem struct {
	name string
	idx  int
}

// operation is the state of one operation (or one subscription event).
type operation struct {
	v      *version
	d      *db.DB
	ctx    context.Context // response context: errors go here
	dbctx  context.Context // database reads (the tx context in mutations)
	fctx   context.Context // field middleware context of the current field
	oc     *graphql.OperationContext
	viewer *auth.Viewer
	buf    []byte
	path   []pathElem
	errs   int
	mw     bool

	// collected keeps the collected selections of a prepared query for
	// its next runs (prepared.go); nil for other operations.
	collected *collectedSets

	acc    *access.Request // the viewer's access checker (usually &accBuf)
	accBuf access.Request
	mut    *mutation // the running mutation, nil for queries
}

func (v *version) newOperation(ctx context.Context, oc *graphql.OperationContext) *operation {
	x := new(operation)
	v.initOperation(x, ctx, oc, make([]byte, 0, 1024), make([]pathElem, 0, 16))
	return x
}

// initOperation sets x up for one operation that writes into buf and
// tracks its path in path (both empty).
func (v *version) initOperation(x *operation, ctx context.Context, oc *graphql.OperationContext, buf []byte, path []pathElem) {
	viewer := auth.ViewerFrom(ctx)
	if l := linkOf(oc); l != nil {
		viewer = l.currentViewer() // kept up to date with its record (ws_session.go)
	}
	*x = operation{
		v:      v,
		d:      v.eng.cfg.DB,
		ctx:    ctx,
		dbctx:  ctx,
		fctx:   ctx,
		oc:     oc,
		viewer: viewer,
		mw:     v.fieldMW,
		buf:    buf,
		path:   path,
	}
	x.setAccess("")
}

func (x *operation) push(name string) { x.path = append(x.path, pathElem{name: name, idx: -1}) }
func (x *operation) pushIdx(i int)    { x.path = append(x.path, pathElem{idx: i}) }
func (x *operation) pop()             { x.path = x.path[:len(x.path)-1] }

func (x *operation) astPath() ast.Path {
	p := make(ast.Path, len(x.path))
	for i, e := range x.path {
		if e.idx >= 0 {
			p[i] = ast.PathIndex(e.idx)
		} else {
			p[i] = ast.PathName(e.name)
		}
	}
	return p
}

// fail records a field error at the current path.
func (x *operation) fail(err error, f *ast.Field) {
	x.errs++
	var pos *ast.Position
	if f != nil {
		pos = f.Position
	}
	graphql.AddError(x.ctx, &fieldError{err: err, path: x.astPath(), pos: pos})
}

// nullFor writes null for a field; it returns false (propagate) when the
// field is non-null, reporting "must not be null" unless reported is set.
func (x *operation) nullFor(f *ast.Field, nonNull, reported bool) bool {
	x.buf = append(x.buf, "null"...)
	if nonNull {
		if !reported {
			x.fail(apperr.New(apperr.Internal, "a non-null field resolved to null"), f)
		}
		return false
	}
	return true
}

// writeObject writes the JSON object of a selection: one member per
// collected field, keyed by its alias, whose value member writes with the
// alias on the error path. It stops and returns false as soon as member
// does (a non-null field failed; the caller nulls the object).
func (x *operation) writeObject(fields []graphql.CollectedField, member func(graphql.CollectedField) bool) bool {
	x.buf = append(x.buf, '{')
	for i, f := range fields {
		if i > 0 {
			x.buf = append(x.buf, ',')
		}
		x.buf = appendKey(x.buf, f.Alias)
		x.push(f.Alias)
		ok := member(f)
		x.pop()
		if !ok {
			return false
		}
	}
	x.buf = append(x.buf, '}')
	return true
}

// resolve runs fn as the resolver of field f, through the field middleware
// when one is installed. It returns the context for f's children and a
// restore func for the caller's.
func (x *operation) resolve(object string, f graphql.CollectedField, args map[string]any, fn func() (any, error)) (any, error) {
	if !x.mw {
		return fn()
	}
	fc := &graphql.FieldContext{Object: object, Field: f, Args: args, IsResolver: true}
	ctx := graphql.WithFieldContext(x.fctx, fc)
	res, err := x.oc.ResolverMiddleware(ctx, func(rctx context.Context) (any, error) {
		ctx = rctx
		return fn()
	})
	x.fctx = ctx
	return res, err
}

// withIndex enters list item i for the field middleware's contexts.
func (x *operation) withIndex(i int) {
	if x.mw {
		idx := i
		x.fctx = graphql.WithFieldContext(x.fctx, &graphql.FieldContext{Index: &idx})
	}
}

// rootMarker is what our root resolvers return: the value is already in
// the buffer.
type rootMarker struct{}

func (rootMarker) MarshalGQL(io.Writer) {}

var rootWritten graphql.Marshaler = rootMarker{}

// rootField runs write (which appends the field's value) through the root
// field middleware. It returns false when a non-null root field is null.
func (x *operation) rootField(object string, f graphql.CollectedField, nonNull bool, write func() bool) bool {
	fc := &graphql.FieldContext{Object: object, Field: f, IsResolver: true}
	ctx := graphql.WithFieldContext(x.ctx, fc)
	start := len(x.buf)
	ok := true
	m := x.oc.RootResolverMiddleware(ctx, func(ctx context.Context) graphql.Marshaler {
		saved := x.fctx
		x.fctx = ctx
		ok = write()
		x.fctx = saved
		return rootWritten
	})
	if m == rootWritten {
		return ok
	}
	// A middleware replaced the value.
	x.buf = x.buf[:start]
	if m == nil || m == graphql.Null {
		return x.nullFor(f.Field, nonNull, false)
	}
	var b bytes.Buffer
	m.MarshalGQL(&b)
	x.buf = append(x.buf, b.Bytes()...)
	return true
}

// runQuery executes the root fields of a query in order.
func (x *operation) runQuery() *graphql.Response {
	fields := x.collected.rootFields(x.oc)
	if !x.rateLimit(fields, x.v.m.query) || !x.writeObject(fields, x.queryField) {
		return &graphql.Response{Data: []byte("null")}
	}
	return &graphql.Response{Data: x.buf}
}

// queryField writes one root field of Query.
func (x *operation) queryField(f graphql.CollectedField) bool {
	switch f.Name {
	case "__typename":
		x.buf = appendString(x.buf, "Query")
		return true
	case "__schema":
		return x.rootField("Query", f, true, func() bool {
			if x.oc.DisableIntrospection {
				x.fail(apperr.New(apperr.Forbidden, "introspection is disabled"), f.Field)
				return x.nullFor(f.Field, true, true)
			}
			if x.introspectionRefused() {
				x.fail(errIntrospectionOff(), f.Field)
				return x.nullFor(f.Field, true, true)
			}
			x.writeIntro(f.Selections, x.v.introspection(), "__Schema")
			return true
		})
	case "__type":
		return x.rootField("Query", f, false, func() bool {
			if x.oc.DisableIntrospection {
				x.fail(apperr.New(apperr.Forbidden, "introspection is disabled"), f.Field)
				return x.nullFor(f.Field, false, true)
			}
			if x.introspectionRefused() {
				x.fail(errIntrospectionOff(), f.Field)
				return x.nullFor(f.Field, false, true)
			}
			name, _ := f.ArgumentMap(x.oc.Variables)["name"].(string)
			def := x.v.schema.Types[name]
			if def == nil {
				x.buf = append(x.buf, "null"...)
				return true
			}
			x.writeIntro(f.Selections, introspection.WrapTypeFromDef(x.v.schema, def), "__Type")
			return true
		})
	}
	rf := x.v.m.query[f.Name]
	if f.Name == "me" {
		rf = &rootField{kind: rkMe}
	}
	if ef := x.v.m.custom["Query."+f.Name]; rf == nil && ef != nil {
		return x.customField("Query", f, ef) // extend.go
	}
	if rf == nil {
		x.fail(apperr.New(apperr.Internal, "unknown field Query.%s", f.Name), f.Field)
		return x.nullFor(f.Field, false, true)
	}
	nonNull := f.Definition != nil && f.Definition.Type.NonNull
	return x.rootField("Query", f, nonNull, func() bool {
		switch rf.kind {
		case rkSingle:
			return x.single(rf.t, f)
		case rkList:
			return x.list(rf.t, f)
		case rkAggregate:
			return x.aggregate(rf.t, f)
		case rkGroupBy:
			return x.groupBy(rf.t, f)
		case rkConnection:
			return x.connection(rf.t, f)
		case rkMe:
			return x.me(f)
		case rkAuthMethods:
			return x.authMethods(rf, f)
		}
		return x.nullFor(f.Field, nonNull, false)
	})
}

// introspection returns the introspection view of the schema.
func (v *version) introspection() *introspection.Schema {
	v.introOnce.Do(func() { v.intro = introspection.WrapSchema(v.schema) })
	return v.intro
}

// toInt converts a GraphQL argument value to int.
func toInt(v any) (int, bool) {
	switch n := v.(type) {
	case int:
		return n, true
	case int64:
		return int(n), true
	case int32:
		return int(n), true
	case float64:
		return int(n), true
	case interface{ Int64() (int64, error) }:
		i, err := n.Int64()
		return int(i), err == nil
	case string:
		i, err := strconv.Atoi(n)
		return i, err == nil
	}
	return 0, false
}
