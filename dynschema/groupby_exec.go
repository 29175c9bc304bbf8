package dynschema

import (
	"fmt"
	"strconv"

	"github.com/99designs/gqlgen/graphql"

	"github.com/monobase/monobase/apperr"
	"github.com/monobase/monobase/db"
)

// groupBy writes `postsGroupBy`: the groups of the records the list rule,
// where and filter keep, grouped, ordered and paged in one statement.
// Only the selected aggregates are computed.
func (x *operation) groupBy(t *objType, f graphql.CollectedField) bool {
	fail := func(err error) bool {
		x.fail(err, f.Field)
		return x.nullFor(f.Field, true, true)
	}
	args := f.ArgumentMap(x.oc.Variables)
	spec, err := x.filteredSpec(t, args)
	if err != nil {
		return fail(err)
	}
	keys, keyType := t.group.lookup()
	g, by, err := x.grouping(t, keys, args)
	if err != nil {
		return fail(err)
	}
	fields := graphql.CollectFields(x.oc, f.Selections, []string{t.name + "Group"})
	sel := make([]*level, len(fields))                    // the selections of key
	subs := make([][]graphql.CollectedField, len(fields)) // of sum, avg, min and max
	numbers := map[string]int{}
	for i, cf := range fields {
		switch cf.Name {
		case "key":
			sel[i] = x.collect(keyType, cf.Selections)
			for _, lf := range sel[i].fields {
				if _, ok := by[lf.f.Name]; lf.plan != nil && !ok {
					return fail(apperr.InvalidFields("invalid by", map[string]apperr.FieldError{"by": {Code: "invalid",
						Message: fmt.Sprintf("key.%s is selected but %s is not in by", lf.f.Name, lf.f.Name)}}))
				}
			}
		case "sum", "avg", "min", "max":
			subs[i] = graphql.CollectFields(x.oc, cf.Selections, []string{t.name + "AggregateNumbers"})
			for _, s := range subs[i] {
				if _, seen := numbers[s.Name]; s.Name != "__typename" && !seen {
					numbers[s.Name] = len(g.Numbers)
					g.Numbers = append(g.Numbers, s.Name)
				}
			}
		}
	}
	if g.Limit == 0 {
		if err := x.d.CheckRead(x.withRequest(x.read(spec))); err != nil {
			return fail(fmt.Errorf("group %s: %w", t.coll.Name, readErr(t.coll, err)))
		}
		x.buf = append(x.buf, '[', ']')
		return true
	}
	groups, err := x.d.ReadGroups(x.dbctx, x.withRequest(x.read(spec)), g)
	if err != nil {
		return fail(fmt.Errorf("group %s: %w", t.coll.Name, readErr(t.coll, err)))
	}
	start := len(x.buf)
	rec := make(db.Record, len(by))
	x.buf = append(x.buf, '[')
	for gi := range groups {
		grp := &groups[gi]
		if gi > 0 {
			x.buf = append(x.buf, ',')
		}
		for name, i := range by {
			rec[name] = grp.Key[i]
		}
		x.pushIdx(gi)
		i := -1 // writeObject visits fields in order
		ok := x.writeObject(fields, func(cf graphql.CollectedField) bool {
			i++
			switch cf.Name {
			case "__typename":
				x.buf = appendString(x.buf, t.name+"Group")
			case "key":
				return x.writeRecord(sel[i], rec)
			case "count":
				x.buf = strconv.AppendInt(x.buf, grp.Count, 10)
			case "sum", "avg", "min", "max":
				op := opIndex(cf.Name)
				x.writeObject(subs[i], func(s graphql.CollectedField) bool {
					n, ok := 0.0, false
					if j, sel := numbers[s.Name]; sel {
						n, ok = grp.Numbers[j][op].(float64)
					}
					switch {
					case s.Name == "__typename":
						x.buf = appendString(x.buf, t.name+"AggregateNumbers")
					case ok:
						x.buf = appendFloat(x.buf, n)
					default:
						x.buf = append(x.buf, "null"...)
					}
					return true
				})
			default:
				x.buf = append(x.buf, "null"...)
			}
			return true
		})
		x.pop()
		if !ok {
			x.buf = x.buf[:start]
			return x.nullFor(f.Field, true, true)
		}
	}
	x.buf = append(x.buf, ']')
	return true
}

// opIndex is the index of an aggregate in db.Group.Numbers.
func opIndex(op string) int {
	switch op {
	case "avg":
		return 1
	case "min":
		return 2
	case "max":
		return 3
	}
	return 0
}

// grouping reads the by, orderBy, limit and offset arguments of a groupBy
// of t: the db grouping (without its numbers) and the index of each key
// name in its keys. Bad values are BAD_USER_INPUT keyed by the argument.
func (x *operation) grouping(t *objType, keys map[string]*groupByKey, args map[string]any) (*db.Grouping, map[string]int, error) {
	bad := func(arg, msg string) error {
		return apperr.InvalidFields("invalid "+arg, map[string]apperr.FieldError{arg: {Code: "invalid", Message: msg}})
	}
	g := &db.Grouping{Limit: defaultLimit}
	by := map[string]int{}
	for _, v := range asList(args["by"]) {
		name, _ := v.(string)
		k := keys[name]
		if k == nil {
			return nil, nil, bad("by", fmt.Sprintf("%q is not a value of %sGroupField", name, t.name))
		}
		if _, dup := by[name]; !dup {
			by[name] = len(g.Keys)
			g.Keys = append(g.Keys, k.key)
		}
	}
	if len(g.Keys) == 0 {
		return nil, nil, bad("by", "name at least one field to group by")
	}
	for _, it := range asList(args["orderBy"]) {
		o, err := groupOrderItem(t, it, by)
		if err != nil {
			return nil, nil, err
		}
		g.Order = append(g.Order, o)
	}
	if v, ok := args["limit"]; ok && v != nil {
		n, _ := toInt(v)
		if max := x.v.eng.maxLimit(); n < 0 || n > max {
			return nil, nil, apperr.InvalidFields("invalid limit", map[string]apperr.FieldError{
				"limit": {Code: "out_of_range", Message: fmt.Sprintf("limit must be between 0 and %d", max)}})
		}
		g.Limit = n
	}
	if v, ok := args["offset"]; ok && v != nil {
		n, _ := toInt(v)
		if n < 0 {
			return nil, nil, apperr.InvalidFields("invalid offset", map[string]apperr.FieldError{
				"offset": {Code: "out_of_range", Message: "offset must not be negative"}})
		}
		g.Offset = n
	}
	return g, by, nil
}

// groupOrderItem reads one <Type>GroupOrderBy item.
func groupOrderItem(t *objType, it any, by map[string]int) (db.GroupOrder, error) {
	one := func(v any) (string, any, bool) {
		m, _ := v.(map[string]any)
		var k string
		var val any
		n := 0
		for mk, mv := range m {
			if mv != nil {
				k, val = mk, mv
				n++
			}
		}
		return k, val, n == 1
	}
	k, v, ok := one(it)
	if !ok {
		return db.GroupOrder{}, badOrder("each orderBy item sets exactly one field")
	}
	if dir, isDir := v.(string); isDir && k == "count" {
		return db.GroupOrder{Count: true, Desc: dir == "DESC"}, nil
	}
	name, dv, ok := one(v)
	if !ok {
		return db.GroupOrder{}, badOrder(k + " sets exactly one field")
	}
	dir, _ := dv.(string)
	o := db.GroupOrder{Desc: dir == "DESC"}
	switch k {
	case "key":
		i, grouped := by[name]
		if !grouped {
			return db.GroupOrder{}, badOrder("key." + name + " is not in by")
		}
		o.Key = i + 1
	case "sum", "avg", "min", "max":
		o.Op, o.Field = k, name
	default:
		return db.GroupOrder{}, badOrder(k + " is not a field of " + t.name + "GroupOrderBy")
	}
	return o, nil
}
