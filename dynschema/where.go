package dynschema

import (
	"encoding/json"
	"fmt"
	"sort"

	"github.com/monobase/monobase/apperr"
	"github.com/monobase/monobase/db"
	"github.com/monobase/monobase/db/filter"
)

// The typed `where` and `orderBy` inputs compile into the one filter AST
// (db/filter), like the `filter`/`sort` strings and the rules.
//
// Semantics of a relation's nested where (`author: {name: {eq: "a"}}`,
// `tags: {name: {eq: "go"}, color: {eq: "red"}}`): ONE related record
// matches the whole nested where. Concretely:
//
//   - a single relation matches when it is set and the related record
//     meets the nested where (a related record the viewer may not list
//     reads as unset values, as in filters);
//   - a multi relation matches when some related record the viewer may
//     list meets the whole nested where: every condition of it, including
//     `_and`/`_or` and deeper relations, is about the same record. Two
//     separate mentions (`_and: [{tags: {name: {eq: "a"}}}, {tags: {name:
//     {eq: "b"}}}]`) are independent: some tag is "a" and some tag is "b";
//   - `_not` always negates over all related records: `tags: {_not: {name:
//     {eq: "a"}}}` is "has a tag, and no tag is named a";
//   - inside a multi relation's nested where, a deeper multi relation is
//     about one record of it too (repeated mentions of the same deeper path
//     mean the same record);
//   - multi-value fields (multi select, file) on their own: eq, gt...,
//     contains, startsWith, endsWith, like and in match when any value
//     does; ne, notContains and notIn when no value does; isNull tests
//     for an empty list.
//
// A non-superuser's where through a relation obeys the related
// collection's list rule (db.CompileFilter joins it), like the filter.

// whereExpr converts a <Type>Where input value into a filter expression.
// Fields of relations become paths (author.name). Unknown fields and bad
// operator values are apperr.Invalid.
// A where nested more than filter.MaxDepth levels (_and, _or, _not and
// relations) or with more than filter.MaxNodes objects and operators is
// refused before it is built (SQLite would refuse the SQL).
func whereExpr(t *objType, w map[string]any) (filter.Expr, error) {
	return (&whereWalk{}).rec(t, w, nil, false)
}

// whereWalk counts what one where conversion has built so far.
type whereWalk struct {
	depth int // levels open
	nodes int // objects and operators
}

// enter opens one level; call leave when done. It returns the
// BAD_USER_INPUT error past the bounds.
func (ww *whereWalk) enter() error {
	ww.depth++
	ww.nodes++
	switch {
	case ww.depth > filter.MaxDepth:
		return whereTooBig("is nested too deeply (max %d levels of _and, _or, _not and relations)", filter.MaxDepth)
	case ww.nodes > filter.MaxNodes:
		return whereTooBig("is too large (max %d objects and operators)", filter.MaxNodes)
	}
	return nil
}

func (ww *whereWalk) leave() { ww.depth-- }

// count adds n operators; it returns the error past the bound.
func (ww *whereWalk) count(n int) error {
	if ww.nodes += n; ww.nodes > filter.MaxNodes {
		return whereTooBig("is too large (max %d objects and operators)", filter.MaxNodes)
	}
	return nil
}

func whereTooBig(format string, max int) error {
	return apperr.InvalidFields("invalid where", map[string]apperr.FieldError{
		"where": {Code: "too_large", Message: "where " + fmt.Sprintf(format, max)},
	})
}

// rec converts w for t reached through prefix; inMulti is set inside a
// multi relation's nested where (comparisons must stay about one record,
// so they take their any-of form and never open a new scope).
func (ww *whereWalk) rec(t *objType, w map[string]any, prefix []string, inMulti bool) (filter.Expr, error) {
	if err := ww.enter(); err != nil {
		return nil, err
	}
	defer ww.leave()
	g := &filter.Group{Op: filter.And}
	keys := make([]string, 0, len(w))
	for k := range w {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := w[k]
		if v == nil {
			continue
		}
		switch k {
		case "_and", "_or":
			op := filter.And
			if k == "_or" {
				op = filter.Or
			}
			sub := &filter.Group{Op: op}
			for _, item := range asList(v) {
				m, ok := item.(map[string]any)
				if !ok {
					return nil, badWhere(k, "must be a list of objects")
				}
				e, err := ww.rec(t, m, prefix, inMulti)
				if err != nil {
					return nil, err
				}
				sub.Items = append(sub.Items, e)
			}
			g.Items = append(g.Items, sub)
		case "_not":
			m, ok := v.(map[string]any)
			if !ok {
				return nil, badWhere(k, "must be an object")
			}
			e, err := ww.rec(t, m, prefix, inMulti)
			if err != nil {
				return nil, err
			}
			g.Items = append(g.Items, &filter.Not{X: e})
		default:
			ip := t.where[k]
			if ip == nil {
				return nil, badWhere(k, "is not a field of "+t.name+"Where")
			}
			m, ok := v.(map[string]any)
			if !ok {
				return nil, badWhere(k, "must be an object")
			}
			path := append(append([]string(nil), prefix...), ip.col)
			if ip.kind == inRelation {
				e, err := ww.relationWhere(ip, m, path, inMulti)
				if err != nil {
					return nil, err
				}
				g.Items = append(g.Items, e)
				continue
			}
			if err := ww.count(len(m)); err != nil {
				return nil, err
			}
			e, err := opsExpr(k, path, m, inMulti, ip.multi)
			if err != nil {
				return nil, err
			}
			g.Items = append(g.Items, e)
		}
	}
	if len(g.Items) == 1 {
		return g.Items[0], nil
	}
	return g, nil
}

// relationWhere converts the nested where m of the relation ip at path:
// the related record must exist and meet m. The first multi relation on a
// path starts a scope of its own (the compiler opens one per negation, so
// a double negation is a fresh scope with the same truth), in which every
// comparison is about the same related record.
func (ww *whereWalk) relationWhere(ip *inPlan, m map[string]any, path []string, inMulti bool) (filter.Expr, error) {
	multi := inMulti || ip.multi
	sub, err := ww.rec(ip.target, m, path, multi)
	if err != nil {
		return nil, err
	}
	idPath := append(append([]string(nil), path...), "id")
	// Set: a single relation's own column (author.id needs no join); through
	// a multi relation the joined record's id, which is unset for records
	// the viewer may not list.
	exists := &filter.Compare{Left: &filter.Ident{Parts: idPath}, Op: filter.Neq, Right: &filter.Literal{Value: nil}}
	if multi {
		exists.Op = filter.AnyNeq
	}
	e := &filter.Group{Op: filter.And, Items: []filter.Expr{exists, sub}}
	if ip.multi && !inMulti {
		return &filter.Not{X: &filter.Not{X: e}}, nil
	}
	return e, nil
}
func badWhere(field, msg string) error {
	return apperr.InvalidFields("invalid where", map[string]apperr.FieldError{
		"where." + field: {Code: "invalid", Message: field + " " + msg},
	})
}

func asList(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	if v == nil {
		return nil
	}
	return []any{v}
}

// literal converts an input value into a filter literal value.
func literal(v any) any {
	switch n := v.(type) {
	case json.Number:
		f, _ := n.Float64()
		return f
	case int, int32, int64, float32:
		f, _ := db.ToFloat(n)
		return f
	}
	return v
}

var anyOps = map[string]filter.Op{
	"eq": filter.AnyEq, "ne": filter.AnyNeq, "gt": filter.AnyGt, "gte": filter.AnyGte, "lt": filter.AnyLt, "lte": filter.AnyLte,
}

var plainOps = map[string]filter.Op{
	"eq": filter.Eq, "ne": filter.Neq, "gt": filter.Gt, "gte": filter.Gte, "lt": filter.Lt, "lte": filter.Lte,
	"contains": filter.Contains, "notContains": filter.NotContains, "startsWith": filter.StartsWith,
	"endsWith": filter.EndsWith, "like": filter.RawLike, "in": filter.In, "notIn": filter.NotIn,
}

// negatedOps are the operators that, on a multi-value field outside a
// multi relation's scope, mean "no value matches": not(the positive form).
var negatedOps = map[string]string{"ne": "eq", "notContains": "contains", "notIn": "in"}

// opsExpr converts one operator input (StringFilter etc.) on the field
// path. inMulti: the path goes through a multi relation whose nested where
// is about one record (any-of forms, no negation scope); fieldMulti: the
// field itself holds a list. The string operators (contains, startsWith,
// endsWith, like) match their value literally, escaped by the compiler, and
// are any-of on multi-valued paths.
func opsExpr(field string, path []string, ops map[string]any, inMulti, fieldMulti bool) (filter.Expr, error) {
	g := &filter.Group{Op: filter.And}
	keys := make([]string, 0, len(ops))
	for k := range ops {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	ident := func() *filter.Ident { return &filter.Ident{Parts: path} }
	cmp := func(o filter.Op, v any) filter.Expr {
		if o == filter.In || o == filter.NotIn {
			l := &filter.List{}
			for _, item := range asList(v) {
				l.Items = append(l.Items, &filter.Literal{Value: literal(item)})
			}
			return &filter.Compare{Left: ident(), Op: o, Right: l}
		}
		return &filter.Compare{Left: ident(), Op: o, Right: &filter.Literal{Value: literal(v)}}
	}
	multi := inMulti || fieldMulti
	for _, k := range keys {
		v := ops[k]
		if v == nil {
			continue
		}
		var e filter.Expr
		switch {
		case k == "isNull":
			b, _ := v.(bool)
			o := filter.Neq
			if b {
				o = filter.Eq
			}
			if inMulti {
				// one record whose value is unset (an empty list)
				o = filter.AnyNeq
				if b {
					o = filter.AnyEq
				}
			}
			e = &filter.Compare{Left: ident(), Op: o, Right: &filter.Literal{Value: nil}}
		case !multi:
			o, ok := plainOps[k]
			if !ok {
				return nil, badWhere(field, "has no operator "+k)
			}
			e = cmp(o, v)
		case fieldMulti && !inMulti && negatedOps[k] != "":
			pos, ok := anyOps[negatedOps[k]]
			if !ok {
				pos = plainOps[negatedOps[k]]
			}
			e = &filter.Not{X: cmp(pos, v)}
		default:
			o, ok := anyOps[k]
			if !ok {
				o, ok = plainOps[k] // the where-only operators are any-of
			}
			if !ok {
				return nil, badWhere(field, "has no operator "+k)
			}
			e = cmp(o, v)
		}
		g.Items = append(g.Items, e)
	}
	if len(g.Items) == 1 {
		return g.Items[0], nil
	}
	return g, nil
}

// orderItems converts an [<Type>OrderBy!] value into sort items.
func orderItems(t *objType, v any) ([]filter.SortItem, error) {
	var items []filter.SortItem
	for _, it := range asList(v) {
		m, ok := it.(map[string]any)
		if !ok {
			return nil, badOrder("each orderBy item must be an object")
		}
		item, err := orderItem(t, m, nil)
		if err != nil {
			return nil, err
		}
		items = append(items, item)
	}
	return items, nil
}

func orderItem(t *objType, m map[string]any, prefix []string) (filter.SortItem, error) {
	var set []string
	for k, v := range m {
		if v != nil {
			set = append(set, k)
		}
	}
	if len(set) != 1 {
		return filter.SortItem{}, badOrder("each orderBy item sets exactly one field")
	}
	k := set[0]
	ip := t.orderBy[k]
	if ip == nil {
		return filter.SortItem{}, badOrder(k + " is not a field of " + t.name + "OrderBy")
	}
	path := append(append([]string(nil), prefix...), ip.col)
	if ip.kind == inRelation {
		sub, ok := m[k].(map[string]any)
		if !ok {
			return filter.SortItem{}, badOrder(k + " must be an object")
		}
		return orderItem(ip.target, sub, path)
	}
	dir, _ := m[k].(string)
	return filter.SortItem{Ident: &filter.Ident{Parts: path}, Desc: dir == "DESC"}, nil
}

func badOrder(msg string) error {
	return apperr.InvalidFields("invalid orderBy", map[string]apperr.FieldError{
		"orderBy": {Code: "invalid", Message: msg},
	})
}
