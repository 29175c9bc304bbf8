package db

// Grouped reads: ReadGroups writes one GROUP BY statement over the records
// a Read describes (its rule and filters), with count and the number
// fields' sum, avg, min and max per group.

import (
	"context"
	"fmt"
	"strings"

	"github.com/monobase/monobase/apperr"
)

// DatePart is the part a date key is truncated to.
type DatePart string

// The date parts of a group key.
const (
	PartYear  DatePart = "year"
	PartMonth DatePart = "month"
	PartDay   DatePart = "day"
	PartHour  DatePart = "hour"
)

// datePrefix is how many characters of a stored date (DateLayout) a part
// keeps, and what completes the kept prefix into a date again.
var datePrefix = map[DatePart]struct {
	n    int
	tail string
}{
	PartYear:  {4, "-01-01T00:00:00.000Z"},
	PartMonth: {7, "-01T00:00:00.000Z"},
	PartDay:   {10, "T00:00:00.000Z"},
	PartHour:  {13, ":00:00.000Z"},
}

// GroupKey is one key of a grouping: the value of Field (a single-valued
// scalar field or a single relation's id) or, with Part set, the value of
// a DATE or AUTODATE field truncated to that part (UTC).
type GroupKey struct {
	Field string
	Part  DatePart
}

// GroupOrder is one term of the order of the groups: by the key Key-1
// (Key counts from 1; 0 is no key), else by the count when Count is set,
// else by Op ("sum", "avg", "min" or "max") of the NUMBER field Field.
type GroupOrder struct {
	Key   int
	Count bool
	Op    string
	Field string
	Desc  bool
}

// Grouping is what ReadGroups computes: one group per distinct value of
// Keys, the count and, for each field of Numbers, sum, avg, min and max.
// Groups come in Order, then by every key ascending; Limit (0: none) and
// Offset page them.
type Grouping struct {
	Keys          []GroupKey
	Numbers       []string
	Order         []GroupOrder
	Limit, Offset int
}

// Group is one group of ReadGroups. Key holds a value per Grouping key,
// decoded as the field's values are (nil for a missing value); a date part
// is the first instant of its period in DateLayout
// ("2024-03-01T00:00:00.000Z"). Numbers holds, per Grouping number field,
// sum, avg, min and max as float64, nil when the group has no value (sum
// is 0 then, as Aggregate's).
type Group struct {
	Key     []any
	Count   int64
	Numbers [][4]any
}

// aggOps are the aggregate functions of Op, in Group.Numbers order.
var aggOps = [4]struct{ op, fn string }{{"sum", "TOTAL"}, {"avg", "AVG"}, {"min", "MIN"}, {"max", "MAX"}}

// ReadGroups groups the records that meet r's ids, rule and filters (its
// sort, keyset and page are ignored) as g says, in one statement. A key,
// number field or order term that the collection does not have, or cannot
// group or aggregate by, is apperr.Invalid; other errors as ReadRecords.
func (d *DB) ReadGroups(ctx context.Context, r *Read, g *Grouping) ([]Group, error) {
	where, err := d.readWhere(r)
	if err != nil {
		return nil, err
	}
	query, args, err := d.groupSQL(r.Collection, where, g)
	if err != nil {
		return nil, err
	}
	rows, err := d.readQuery(ctx, query, args)
	if err != nil {
		return nil, fmt.Errorf("group %s: %w", r.Collection.Name, err)
	}
	defer rows.Close()
	nk, nn := len(g.Keys), len(g.Numbers)
	keyFields := make([]*Field, nk)
	for i, k := range g.Keys {
		keyFields[i] = r.Collection.FieldByName(k.Field)
	}
	vals := make([]any, nk+1+4*nn)
	ptrs := make([]any, len(vals))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	out := []Group{}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return nil, fmt.Errorf("group %s: %w", r.Collection.Name, err)
		}
		grp := Group{Key: make([]any, nk)}
		for i, k := range g.Keys {
			grp.Key[i] = groupKeyValue(keyFields[i], k.Part, vals[i])
		}
		n, _ := ToFloat(vals[nk])
		grp.Count = int64(n)
		if nn > 0 {
			grp.Numbers = make([][4]any, nn)
			for i := range nn {
				for j := range 4 {
					if v, ok := ToFloat(vals[nk+1+4*i+j]); ok {
						grp.Numbers[i][j] = v
					}
				}
			}
		}
		out = append(out, grp)
		clear(vals)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("group %s: %w", r.Collection.Name, err)
	}
	return out, nil
}

// groupKeyValue decodes one key value of a group.
func groupKeyValue(f *Field, part DatePart, v any) any {
	if part == "" {
		return DecodeValue(f, v)
	}
	if b, ok := v.([]byte); ok {
		v = string(b)
	}
	s, ok := v.(string)
	p := datePrefix[part]
	if !ok || len(s) != p.n {
		return nil
	}
	return s + p.tail
}

// groupSQL writes the statement of a grouping of c's records (alias "r")
// that meet where.
func (d *DB) groupSQL(c *Collection, where []Cond, g *Grouping) (string, []any, error) {
	if g == nil || len(g.Keys) == 0 {
		return "", nil, apperr.New(apperr.Invalid, "a grouping needs at least one key")
	}
	keys := make([]string, len(g.Keys))
	for i, k := range g.Keys {
		e, err := groupKeyExpr(c, k)
		if err != nil {
			return "", nil, err
		}
		keys[i] = e
	}
	var b strings.Builder
	b.Grow(128 + 64*len(keys) + 96*len(g.Numbers))
	b.WriteString("SELECT ")
	for _, k := range keys {
		b.WriteString(k)
		b.WriteString(", ")
	}
	b.WriteString("COUNT(*)")
	for _, name := range g.Numbers {
		col, err := numberColumn(c, name)
		if err != nil {
			return "", nil, err
		}
		for _, a := range aggOps {
			b.WriteString(", " + aggSQL(d.qsql(), a.fn, col))
		}
	}
	b.WriteString(" FROM " + quoteIdent(c.Name) + ` AS "r"`)
	args := writeWhere(&b, nil, where)
	b.WriteString(" GROUP BY " + strings.Join(keys, ", "))
	terms, err := groupOrder(d.qsql(), c, keys, g.Order)
	if err != nil {
		return "", nil, err
	}
	b.WriteString(" ORDER BY " + strings.Join(terms, ", "))
	if g.Limit > 0 || g.Offset > 0 {
		lim := any(g.Limit)
		if g.Limit <= 0 {
			lim = d.sql().noLimit()
		}
		b.WriteString(" LIMIT ? OFFSET ?")
		args = append(args, lim, g.Offset)
	}
	return b.String(), args, nil
}

// groupOrder returns the ORDER BY terms of a grouping: order's, then
// every key not ordered yet, ascending.
func groupOrder(dl queryDialect, c *Collection, keys []string, order []GroupOrder) ([]string, error) {
	terms := make([]string, 0, len(order)+len(keys))
	ordered := make([]bool, len(keys))
	for _, o := range order {
		var term string
		switch {
		case o.Key > 0:
			if o.Key > len(keys) {
				return nil, apperr.New(apperr.Invalid, "order by key %d of %d", o.Key, len(keys))
			}
			term = keys[o.Key-1]
			ordered[o.Key-1] = true
		case o.Count:
			term = "COUNT(*)"
		default:
			fn := ""
			for _, a := range aggOps {
				if a.op == o.Op {
					fn = a.fn
				}
			}
			if fn == "" {
				return nil, apperr.New(apperr.Invalid, "%q is not an aggregate", o.Op)
			}
			col, err := numberColumn(c, o.Field)
			if err != nil {
				return nil, err
			}
			term = aggSQL(dl, fn, col)
		}
		terms = append(terms, term+groupDir(dl, o.Desc))
	}
	for i, k := range keys {
		if !ordered[i] {
			terms = append(terms, k+groupDir(dl, false))
		}
	}
	return terms, nil
}

// aggSQL is the aggregate fn (of aggOps) of col.
func aggSQL(dl queryDialect, fn, col string) string {
	if fn == "TOTAL" {
		return dl.total(col)
	}
	return fn + "(" + col + ")"
}

// groupDir is the direction of an order term, NULL first in ascending
// order on every engine (SQLite's default needs no words).
func groupDir(dl queryDialect, desc bool) string {
	if !dl.strict() {
		if desc {
			return " DESC"
		}
		return ""
	}
	return dl.order(desc)
}

// groupKeyExpr is the expression of one key on "r".
func groupKeyExpr(c *Collection, k GroupKey) (string, error) {
	f := c.FieldByName(k.Field)
	if f == nil {
		return "", apperr.New(apperr.Invalid, "%q is not a field of %s", k.Field, c.Name)
	}
	col := `"r".` + quoteIdent(f.Name)
	if k.Part != "" {
		p, ok := datePrefix[k.Part]
		if !ok || (f.Type != FieldDate && f.Type != FieldAutodate) {
			return "", apperr.New(apperr.Invalid, "%s of %q: only date fields have the parts year, month, day and hour", k.Part, k.Field)
		}
		return fmt.Sprintf("substr(%s, 1, %d)", col, p.n), nil
	}
	if f.Multiple() {
		return "", apperr.New(apperr.Invalid, "%q holds a list: groups are by single values", k.Field)
	}
	switch f.Type {
	case FieldJSON, FieldGeoPoint, FieldPassword:
		return "", apperr.New(apperr.Invalid, "%q is a %s field: records cannot be grouped by it", k.Field, f.Type)
	}
	return col, nil
}

// numberColumn is the column of a NUMBER field on "r".
func numberColumn(c *Collection, name string) (string, error) {
	f := c.FieldByName(name)
	if f == nil || f.Type != FieldNumber {
		return "", apperr.New(apperr.Invalid, "%q is not a number field of %s", name, c.Name)
	}
	return `"r".` + quoteIdent(name), nil
}
