package dynschema

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"reflect"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/monobase/monobase/apperr"
	"github.com/monobase/monobase/auth"
	"github.com/monobase/monobase/db"
)

// customField writes the custom root field f of root (Query or Mutation):
// it calls its resolver with the coerced arguments and the viewer, and
// writes the value per the selection.
func (x *operation) customField(root string, f graphql.CollectedField, ef *extField) bool {
	nonNull := f.Definition.Type.NonNull
	return x.rootField(root, f, nonNull, func() bool {
		args := coerceArgs(x.v.schema, f.Definition.Arguments, f.ArgumentMap(x.oc.Variables))
		val, err := x.resolve(root, f, args, func() (any, error) {
			return ef.call(auth.WithViewer(x.ctx, x.viewer), args)
		})
		if err != nil {
			x.fail(err, f.Field)
			return x.nullFor(f.Field, nonNull, true)
		}
		return x.writeCustom(f.Field, f.Definition.Type, f.Selections, val)
	})
}

// call runs the resolver. An error is resolverError's; a panic is an
// internal error, logged with the field and the stack.
func (ef *extField) call(ctx context.Context, args map[string]any) (val any, err error) {
	defer func() {
		if r := recover(); r != nil {
			slog.ErrorContext(ctx, "panic in a custom GraphQL resolver", "field", ef.key, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			val, err = nil, apperr.Wrap(fmt.Errorf("the resolver of %s panicked: %v", ef.key, r), "internal server error")
		}
	}()
	val, err = ef.fn(ctx, args)
	if err != nil {
		return nil, resolverError(err)
	}
	return val, nil
}

// resolverError is err as the client sees it: an *apperr.Error and the
// context's errors as they are, any other error BAD_USER_INPUT with its
// message.
func resolverError(err error) error {
	if apperr.As(err) != nil || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return err
	}
	return &apperr.Error{Code: apperr.Invalid, Message: err.Error(), Err: err}
}

// serializeError is the internal error of a value that does not fit the
// field's type.
func serializeError(typ *ast.Type, val any) error {
	return apperr.Wrap(fmt.Errorf("a custom resolver returned %T (%.60v), which is not a %s", val, val, typ.String()), "internal server error")
}

// writeCustom writes val as a value of typ with the selection sel (fa is
// the field, for the errors' locations). It returns false when it wrote
// null in a non-null position: the parent is then null too.
func (x *operation) writeCustom(fa *ast.Field, typ *ast.Type, sel ast.SelectionSet, val any) bool {
	val = indirect(val)
	if val == nil {
		return x.nullFor(fa, typ.NonNull, false)
	}
	start := len(x.buf)
	bad := func(err error) bool {
		x.buf = x.buf[:start]
		x.fail(err, fa)
		return x.nullFor(fa, typ.NonNull, true)
	}
	propagate := func() bool {
		x.buf = x.buf[:start]
		return x.nullFor(fa, typ.NonNull, true)
	}
	if typ.Elem != nil {
		rv := reflect.ValueOf(val)
		if rv.Kind() != reflect.Slice && rv.Kind() != reflect.Array {
			return bad(serializeError(typ, val))
		}
		x.buf = append(x.buf, '[')
		for i := range rv.Len() {
			if i > 0 {
				x.buf = append(x.buf, ',')
			}
			x.pushIdx(i)
			ok := x.writeCustom(fa, typ.Elem, sel, rv.Index(i).Interface())
			x.pop()
			if !ok {
				return propagate()
			}
		}
		x.buf = append(x.buf, ']')
		return true
	}
	def := x.v.schema.Types[typ.NamedType]
	switch def.Kind {
	case ast.Scalar:
		b, ok := appendScalar(x.buf, def.Name, val)
		if !ok {
			return bad(serializeError(typ, val))
		}
		x.buf = b
		return true
	case ast.Enum:
		s, ok := asString(val)
		if !ok || def.EnumValues.ForName(s) == nil {
			return bad(serializeError(typ, val))
		}
		x.buf = appendString(x.buf, s)
		return true
	}
	abstract := ""
	if def.IsAbstractType() {
		obj, err := asObject(val)
		name, _ := obj["__typename"].(string)
		concrete := x.v.schema.Types[name]
		if err != nil || concrete == nil || !slices.Contains(x.v.schema.GetPossibleTypes(def), concrete) {
			return bad(apperr.Wrap(fmt.Errorf("a custom resolver returned %T without a __typename of %s", val, def.Name), "internal server error"))
		}
		abstract, def, val = def.Name, concrete, obj
	}
	if t := x.v.m.types[def.Name]; t != nil {
		return x.writeCustomRecord(fa, typ, sel, t, val)
	}
	obj, err := asObject(val)
	if err != nil {
		return bad(serializeError(typ, val))
	}
	satisfies := append([]string{def.Name}, def.Interfaces...)
	if abstract != "" {
		satisfies = append(satisfies, abstract)
	}
	fields := graphql.CollectFields(x.oc, sel, satisfies)
	ok := x.writeObject(fields, func(cf graphql.CollectedField) bool {
		if cf.Name == "__typename" {
			x.buf = appendString(x.buf, def.Name)
			return true
		}
		return x.writeCustom(cf.Field, cf.Definition.Type, cf.Selections, obj[cf.Name])
	})
	if !ok {
		return propagate()
	}
	return true
}

// writeCustomRecord writes the record of collection type t that a custom
// resolver returned (its id, the record, or an object with its id): it is
// read again with the viewer's view rule, NOT_FOUND when it may not be seen.
func (x *operation) writeCustomRecord(fa *ast.Field, typ *ast.Type, sel ast.SelectionSet, t *objType, val any) bool {
	start := len(x.buf)
	id, ok := asString(val)
	if !ok {
		if obj, err := asObject(val); err == nil {
			id, ok = asString(obj["id"])
		}
	}
	if !ok || id == "" {
		x.fail(apperr.Wrap(fmt.Errorf("a custom resolver returned %T for a %s: return its id", val, t.name), "internal server error"), fa)
		return x.nullFor(fa, typ.NonNull, true)
	}
	rec, err := x.viewable(t, id)
	if err != nil {
		x.fail(err, fa)
		return x.nullFor(fa, typ.NonNull, true)
	}
	if !x.writeRecord(x.load(t, sel, []db.Record{rec}), rec) {
		x.buf = x.buf[:start]
		return x.nullFor(fa, typ.NonNull, true)
	}
	return true
}

// indirect returns the value pointers point to, nil for a nil pointer,
// map or interface; a nil slice stays (an empty list).
func indirect(val any) any {
	if val == nil {
		return nil
	}
	rv := reflect.ValueOf(val)
	for rv.Kind() == reflect.Pointer || rv.Kind() == reflect.Interface {
		if rv.IsNil() {
			return nil
		}
		rv = rv.Elem()
	}
	if rv.Kind() == reflect.Map && rv.IsNil() {
		return nil
	}
	return rv.Interface()
}

// asString returns a string (or a value of a string type).
func asString(val any) (string, bool) {
	if s, ok := val.(string); ok {
		return s, true
	}
	rv := reflect.ValueOf(val)
	if rv.Kind() == reflect.String {
		return rv.String(), true
	}
	return "", false
}

// asObject returns an object value as a map: maps with string keys as they
// are, structs as encoding/json names their fields (json tags).
func asObject(val any) (map[string]any, error) {
	val = indirect(val)
	switch v := val.(type) {
	case map[string]any:
		return v, nil
	case db.Record:
		return v, nil
	}
	rv := reflect.ValueOf(val)
	if rv.Kind() == reflect.Map && rv.Type().Key().Kind() == reflect.String {
		out := make(map[string]any, rv.Len())
		for it := rv.MapRange(); it.Next(); {
			out[it.Key().String()] = it.Value().Interface()
		}
		return out, nil
	}
	if rv.Kind() != reflect.Struct {
		return nil, fmt.Errorf("%T is not an object", val)
	}
	out := map[string]any{}
	structFields(rv, out)
	return out, nil
}

// structFields adds the exported fields of the struct rv to out, named
// as encoding/json names them (json tags, "-" left out, the fields of
// embedded structs after the struct's own), their values as they are.
func structFields(rv reflect.Value, out map[string]any) {
	rt := rv.Type()
	var embedded []reflect.Value
	for i := range rt.NumField() {
		sf := rt.Field(i)
		name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
		fv := rv.Field(i)
		if sf.Anonymous && name == "" {
			for fv.Kind() == reflect.Pointer && !fv.IsNil() {
				fv = fv.Elem()
			}
			if fv.Kind() == reflect.Struct {
				embedded = append(embedded, fv)
				continue
			}
		}
		if name == "-" || !sf.IsExported() {
			continue
		}
		if name == "" {
			name = sf.Name
		}
		out[name] = fv.Interface()
	}
	for _, fv := range embedded {
		inner := map[string]any{}
		structFields(fv, inner)
		for k, v := range inner {
			if _, taken := out[k]; !taken {
				out[k] = v
			}
		}
	}
}

// appendScalar appends val as a value of the scalar name; false when it
// is not one.
func appendScalar(b []byte, name string, val any) ([]byte, bool) {
	switch name {
	case "Int":
		n, ok := intValue(val)
		if !ok || n < math.MinInt32 || n > math.MaxInt32 {
			return b, false
		}
		return strconv.AppendInt(b, n, 10), true
	case "Float":
		f, ok := floatValue(val)
		if !ok {
			return b, false
		}
		return appendFloat(b, f), true
	case "String":
		s, ok := asString(val)
		return appendString(b, s), ok
	case "ID":
		if s, ok := asString(val); ok {
			return appendString(b, s), true
		}
		if n, ok := intValue(val); ok {
			return appendString(b, strconv.FormatInt(n, 10)), true
		}
		return b, false
	case "Boolean":
		rv := reflect.ValueOf(val)
		if rv.Kind() != reflect.Bool {
			return b, false
		}
		return strconv.AppendBool(b, rv.Bool()), true
	case "DateTime":
		if t, ok := val.(time.Time); ok {
			return appendString(b, t.UTC().Format("2006-01-02T15:04:05.000Z")), true
		}
	}
	j, err := json.Marshal(val)
	if err != nil {
		return b, false
	}
	return append(b, j...), true
}

// intValue returns an integer (of any Go integer type, an integral float
// or a json.Number).
func intValue(val any) (int64, bool) {
	rv := reflect.ValueOf(val)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return rv.Int(), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if rv.Uint() > math.MaxInt64 {
			return 0, false
		}
		return int64(rv.Uint()), true
	case reflect.Float32, reflect.Float64:
		f := rv.Float()
		if f != math.Trunc(f) || math.Abs(f) > 1<<53 {
			return 0, false
		}
		return int64(f), true
	}
	if n, ok := val.(json.Number); ok {
		i, err := n.Int64()
		return i, err == nil
	}
	return 0, false
}

// floatValue returns a number of any Go number type or a json.Number.
func floatValue(val any) (float64, bool) {
	rv := reflect.ValueOf(val)
	switch rv.Kind() {
	case reflect.Float32, reflect.Float64:
		return rv.Float(), true
	}
	if n, ok := intValue(val); ok {
		return float64(n), true
	}
	if n, ok := val.(json.Number); ok {
		f, err := n.Float64()
		return f, err == nil
	}
	return 0, false
}

// coerceArgs returns the arguments of a custom field as its resolver gets
// them (see Resolver).
func coerceArgs(s *ast.Schema, defs ast.ArgumentDefinitionList, raw map[string]any) map[string]any {
	out := make(map[string]any, len(raw))
	for _, d := range defs {
		if v, ok := raw[d.Name]; ok {
			out[d.Name] = coerceInput(s, d.Type, v)
		}
	}
	return out
}

// coerceInput converts an input value (a literal or a variable, already
// validated) of typ: Int to int, Float to float64, ID to string, input
// objects with their defaults, a single value for a list to a list of it.
func coerceInput(s *ast.Schema, typ *ast.Type, v any) any {
	if v == nil {
		return nil
	}
	if typ.Elem != nil {
		list, ok := v.([]any)
		if !ok {
			return []any{coerceInput(s, typ.Elem, v)}
		}
		out := make([]any, len(list))
		for i, item := range list {
			out[i] = coerceInput(s, typ.Elem, item)
		}
		return out
	}
	switch typ.NamedType {
	case "Int":
		if n, ok := toInt(v); ok {
			return n
		}
	case "Float":
		if f, ok := floatValue(v); ok {
			return f
		}
	case "ID":
		if _, ok := v.(string); !ok {
			if n, ok := intValue(v); ok {
				return strconv.FormatInt(n, 10)
			}
		}
	}
	def := s.Types[typ.NamedType]
	m, ok := v.(map[string]any)
	if def == nil || def.Kind != ast.InputObject || !ok {
		return v
	}
	out := make(map[string]any, len(def.Fields))
	for _, fd := range def.Fields {
		fv, ok := m[fd.Name]
		if !ok && fd.DefaultValue != nil {
			dv, err := fd.DefaultValue.Value(nil)
			fv, ok = dv, err == nil
		}
		if ok {
			out[fd.Name] = coerceInput(s, fd.Type, fv)
		}
	}
	return out
}

// customSubscription returns the custom field of a subscription operation
// (nil when its field is a generated one).
func (v *version) customSubscription(oc *graphql.OperationContext) (graphql.CollectedField, *extField) {
	if len(v.m.custom) == 0 {
		return graphql.CollectedField{}, nil
	}
	fields := graphql.CollectFields(oc, oc.Operation.SelectionSet, []string{"Subscription"})
	if len(fields) != 1 {
		return graphql.CollectedField{}, nil
	}
	return fields[0], v.m.custom["Subscription."+fields[0].Name]
}

// subscribeCustom runs a custom subscription: its resolver's channel gives
// the events, until it closes or ctx (the operation's) ends.
func (v *version) subscribeCustom(ctx context.Context, oc *graphql.OperationContext, f graphql.CollectedField, ef *extField) graphql.ResponseHandler {
	x := v.newOperation(ctx, oc)
	fail := func(err error) graphql.ResponseHandler {
		fe := &fieldError{err: err, path: ast.Path{ast.PathName(f.Alias)}, pos: f.Position}
		return graphql.OneShot(&graphql.Response{Errors: gqlerror.List{present(ctx, fe)}})
	}
	val, err := ef.call(auth.WithViewer(ctx, x.viewer), coerceArgs(v.schema, f.Definition.Arguments, f.ArgumentMap(oc.Variables)))
	if err != nil {
		return fail(err)
	}
	ch := reflect.ValueOf(val)
	if ch.Kind() != reflect.Chan || ch.Type().ChanDir()&reflect.RecvDir == 0 {
		return fail(apperr.Wrap(fmt.Errorf("the resolver of %s returned %T, not a receive channel", ef.key, val), "internal server error"))
	}
	cases := []reflect.SelectCase{
		{Dir: reflect.SelectRecv, Chan: ch},
		{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(ctx.Done())},
	}
	return func(context.Context) *graphql.Response {
		chosen, item, ok := reflect.Select(cases)
		if chosen != 0 || !ok {
			return nil // the client stopped, or the channel closed
		}
		return v.customEvent(ctx, oc, f, item.Interface())
	}
}

// customEvent is the response of one value of a custom subscription.
func (v *version) customEvent(ctx context.Context, oc *graphql.OperationContext, f graphql.CollectedField, val any) *graphql.Response {
	ectx := graphql.WithFreshResponseContext(context.WithoutCancel(ctx))
	x := v.newOperation(ectx, oc)
	nonNull := f.Definition.Type.NonNull
	x.buf = append(x.buf, '{')
	x.buf = appendKey(x.buf, f.Alias)
	x.push(f.Alias)
	ok := x.rootField("Subscription", f, nonNull, func() bool {
		if err, isErr := val.(error); isErr {
			x.fail(resolverError(err), f.Field)
			return x.nullFor(f.Field, nonNull, true)
		}
		return x.writeCustom(f.Field, f.Definition.Type, f.Selections, val)
	})
	x.pop()
	data := []byte("null")
	if ok {
		data = append(x.buf, '}')
	}
	return &graphql.Response{Data: data, Errors: graphql.GetErrors(ectx)}
}
