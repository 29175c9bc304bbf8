package dynschema

import (
	"encoding/json"
	"sort"

	"github.com/monobase/monobase/apperr"
	"github.com/monobase/monobase/db/filter"
)

// The typed `where` and `orderBy` inputs compile into the one filter AST
// (db/filter), like the `filter`/`sort` strings and the rules.

// whereExpr converts a <Type>Where input value into a filter expression.
// Fields of relations become paths (author.name); through a multi-value
// field the comparisons take their any-of form. Unknown fields and bad
// operator values are apperr.Invalid.
func whereExpr(t *objType, w map[string]any) (filter.Expr, error) {
	return whereRec(t, w, nil, false)
}

func whereRec(t *objType, w map[string]any, prefix []string, multi bool) (filter.Expr, error) {
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
				e, err := whereRec(t, m, prefix, multi)
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
			e, err := whereRec(t, m, prefix, multi)
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
				e, err := whereRec(ip.target, m, path, multi || ip.multi)
				if err != nil {
					return nil, err
				}
				g.Items = append(g.Items, e)
				continue
			}
			e, err := opsExpr(k, path, m, multi || ip.multi)
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
		f, _ := toFloat(n)
		return f
	}
	return v
}

var anyOps = map[string]filter.Op{
	"eq": filter.AnyEq, "gt": filter.AnyGt, "gte": filter.AnyGte, "lt": filter.AnyLt, "lte": filter.AnyLte,
}

var plainOps = map[string]filter.Op{
	"eq": filter.Eq, "ne": filter.Neq, "gt": filter.Gt, "gte": filter.Gte, "lt": filter.Lt, "lte": filter.Lte,
	"contains": filter.Contains, "notContains": filter.NotContains, "startsWith": filter.StartsWith,
	"endsWith": filter.EndsWith, "like": filter.RawLike,
}

// opsExpr converts one operator input (StringFilter etc.) on the field path.
func opsExpr(field string, path []string, ops map[string]any, multi bool) (filter.Expr, error) {
	g := &filter.Group{Op: filter.And}
	keys := make([]string, 0, len(ops))
	for k := range ops {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	ident := func() *filter.Ident { return &filter.Ident{Parts: path} }
	cmp := func(o filter.Op, v any) *filter.Compare {
		return &filter.Compare{Left: ident(), Op: o, Right: &filter.Literal{Value: literal(v)}}
	}
	for _, k := range keys {
		v := ops[k]
		if v == nil {
			continue
		}
		var e filter.Expr
		switch k {
		case "isNull":
			b, _ := v.(bool)
			o := filter.Neq
			if b {
				o = filter.Eq
			}
			e = &filter.Compare{Left: ident(), Op: o, Right: &filter.Literal{Value: nil}}
		case "in", "notIn":
			list := asList(v)
			if multi {
				or := &filter.Group{Op: filter.Or}
				for _, item := range list {
					or.Items = append(or.Items, cmp(filter.AnyEq, item))
				}
				e = or
				if k == "notIn" {
					e = &filter.Not{X: or}
				}
				break
			}
			l := &filter.List{}
			for _, item := range list {
				l.Items = append(l.Items, &filter.Literal{Value: literal(item)})
			}
			o := filter.In
			if k == "notIn" {
				o = filter.NotIn
			}
			e = &filter.Compare{Left: ident(), Op: o, Right: l}
		default:
			if !multi {
				o, ok := plainOps[k]
				if !ok {
					return nil, badWhere(field, "has no operator "+k)
				}
				e = cmp(o, v)
				break
			}
			if o, ok := anyOps[k]; ok {
				e = cmp(o, v)
				break
			}
			s, _ := v.(string)
			switch k {
			case "ne":
				e = &filter.Not{X: cmp(filter.AnyEq, v)}
			case "contains":
				e = cmp(filter.AnyLike, "%"+s+"%")
			case "notContains":
				e = &filter.Not{X: cmp(filter.AnyLike, "%"+s+"%")}
			case "startsWith":
				e = cmp(filter.AnyLike, s+"%")
			case "endsWith":
				e = cmp(filter.AnyLike, "%"+s)
			case "like":
				e = cmp(filter.AnyLike, s)
			default:
				return nil, badWhere(field, "has no operator "+k)
			}
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
