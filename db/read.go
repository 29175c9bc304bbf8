package db

import (
	"context"
	"strconv"
	"strings"

	"github.com/monobase/monobase/apperr"
	"github.com/monobase/monobase/db/filter"
)

// Read describes a read of the records of one collection as the engine
// wants it, in syntax trees and names; ReadRecords, ReadCount,
// ReadAggregate and ReadMatch compile it and write its one SQL statement
// (the table is aliased "r"). Callers write no SQL.
type Read struct {
	Collection *Collection
	// Request is @request for Rule, Filters and Sort (and the joins'
	// rules); nil is an anonymous request.
	Request *RequestInfo
	// IDs, when set, keeps the records with those ids; such a read is in
	// id order (Sort and the default order are not applied).
	IDs []string
	// Rule is an access rule the records must meet, compiled as trusted
	// (CompileRule); nil: none.
	Rule filter.Expr
	// Filters are a client's where and filter, compiled untrusted
	// (CompileFilter), ANDed.
	Filters []filter.Expr
	// Sort is a client's order (CompileSort); empty: creation order.
	Sort []filter.SortItem
	// Keyset, when set, orders by its keys instead of Sort and keeps the
	// rows after and before its cursors (a Relay connection's page).
	Keyset *Keyset
	// Limit and Offset page the records (0: no limit). With Parents they
	// apply per parent, in the common order.
	Limit, Offset int
	// PickPage picks the page's rows first in a subquery, so that the
	// outer statement (and its Joins) visit only those rows; only where
	// CanPickPage allows it.
	PickPage bool
	// Parents, when set, reads a back-relation for many parents at once:
	// the records whose relation field Parents.Field points at one of
	// Parents.IDs, at most Offset+Limit per parent.
	Parents *Parents
	// Columns and the joins are as in Query; a join's alias is "j1", "j2", ...
	Columns []string
	Joins   []ReadJoin
}

// Keyset is the keyset page of a connection: rows strictly after After
// and before Before (cursor values of Keys; nil: no cursor), in the order
// of Keys, reversed when Backward.
type Keyset struct {
	Keys          []SortKey
	After, Before []any
	Backward      bool
}

// SortKey is one key of a keyset order: a field of the collection.
type SortKey struct {
	Field string
	Desc  bool
}

// Parents selects a back-relation's records per parent (see Read.Parents).
type Parents struct {
	Field string // a RELATION field of the read's collection
	IDs   []string
}

// ReadJoin is a Query Join described by its rule: the related record must
// meet Rule (compiled as trusted on the join's alias; nil: every record).
type ReadJoin struct {
	Field      string
	Collection *Collection
	Rule       filter.Expr
	Columns    []string
}

// CompileError is the error of a Read whose rule, filter, sort or join
// rule does not compile. Part names which ("rule", "filter", "sort",
// "join"); Err is the compiler's error (apperr.Invalid with a position for
// a bad filter or sort).
type CompileError struct {
	Part string
	Err  error
}

func (e *CompileError) Error() string { return "compile the " + e.Part + ": " + e.Err.Error() }
func (e *CompileError) Unwrap() error { return e.Err }

// CanPickPage reports whether a Read of c may set PickPage (a physical row
// key to pick the page by: not views).
func (d *DB) CanPickPage(c *Collection) bool { return c != nil && d.sql().rowKey(c, "r") != "" }

// ReadRecords returns the records r describes and, as FindJoined, the
// joined ones. A rule, filter or sort that does not compile is a
// *CompileError; a failed statement is wrapped with the collection's name.
func (d *DB) ReadRecords(ctx context.Context, r *Read) (records, joined []Record, err error) {
	var q Query
	if err := d.planRead(r, &q); err != nil {
		return nil, nil, err
	}
	return d.FindJoined(ctx, &q)
}

// CheckRead compiles r without running it: it returns the error that
// ReadRecords would return for r's rule, filters, sort and joins, or nil.
func (d *DB) CheckRead(r *Read) error {
	var q Query
	return d.planRead(r, &q)
}

// ReadCount returns how many records meet r's ids, rule, filters and
// keyset (its order and page are ignored); errors as ReadRecords.
func (d *DB) ReadCount(ctx context.Context, r *Read) (int64, error) {
	where, err := d.readWhere(r)
	if err != nil {
		return 0, err
	}
	return d.Count(ctx, &Query{Collection: r.Collection, Alias: "r", Where: where})
}

// ReadAggregate is Aggregate over the records that meet r's ids, rule,
// filters and keyset; errors as ReadRecords.
func (d *DB) ReadAggregate(ctx context.Context, r *Read, fields []string) (map[string]map[string]any, error) {
	where, err := d.readWhere(r)
	if err != nil {
		return nil, err
	}
	return d.Aggregate(ctx, &Query{Collection: r.Collection, Alias: "r", Where: where}, fields)
}

// ReadMatch reports whether the values rec meet r's rule and filters, as
// MatchValues does (no statement when there is nothing to check, nor when
// memory can evaluate them: memmatch.go); errors as ReadRecords.
func (d *DB) ReadMatch(ctx context.Context, r *Read, rec Record) (bool, error) {
	if r.Rule == nil && len(r.Filters) == 0 {
		return true, nil
	}
	if match, ok := d.readMatchInMemory(r, rec); ok { // memmatch.go
		return match, nil
	}
	conds, err := d.compileConds(r, "r", nil)
	if err != nil {
		return false, err
	}
	return d.MatchValues(ctx, r.Collection, rec, conds)
}

// planRead compiles r into q, the Query FindJoined writes.
func (d *DB) planRead(r *Read, q *Query) error {
	if r == nil || r.Collection == nil {
		return checkQuery(nil)
	}
	*q = Query{Collection: r.Collection, Alias: "r", Columns: r.Columns}
	var err error
	switch {
	case r.Parents != nil:
		q.Where, q.OrderBy, err = d.perParent(r)
	case r.PickPage:
		q.Where, q.OrderBy, err = d.pickPage(r)
	default:
		if q.Where, err = d.readWhere(r); err != nil {
			return err
		}
		switch {
		case r.Keyset != nil:
			q.OrderBy = d.keyOrder(r.Keyset)
		case r.IDs == nil:
			q.OrderBy, err = d.readOrder(r, "r")
		}
		q.Limit, q.Offset = r.Limit, r.Offset
	}
	if err != nil {
		return err
	}
	if len(r.Joins) > 0 {
		q.Joins = make([]Join, len(r.Joins))
		for i, j := range r.Joins {
			q.Joins[i] = Join{Field: j.Field, Collection: j.Collection, Alias: "j" + strconv.Itoa(i+1), Columns: j.Columns}
			if j.Rule == nil || j.Collection == nil {
				continue
			}
			c, err := d.CompileRule(j.Collection, q.Joins[i].Alias, j.Rule, r.Request)
			if err != nil {
				return &CompileError{Part: "join", Err: err}
			}
			q.Joins[i].On = []Cond{c}
		}
	}
	return nil
}

// readWhere returns the conditions of r on "r": ids, rule, filters and
// keyset, in that order.
func (d *DB) readWhere(r *Read) ([]Cond, error) {
	if r == nil || r.Collection == nil {
		return nil, checkQuery(nil)
	}
	var where []Cond
	if r.IDs != nil {
		where = make([]Cond, 0, 2)
		where = append(where, d.sql().idIn("r", r.IDs))
	}
	where, err := d.compileConds(r, "r", where)
	if err != nil {
		return nil, err
	}
	if k := r.Keyset; k != nil {
		if k.After != nil {
			where = append(where, d.keysetCond(k.Keys, k.After, false))
		}
		if k.Before != nil {
			where = append(where, d.keysetCond(k.Keys, k.Before, true))
		}
	}
	return where, nil
}

// compileConds appends r's rule and filters compiled for alias to conds.
func (d *DB) compileConds(r *Read, alias string, conds []Cond) ([]Cond, error) {
	if r.Rule != nil {
		c, err := d.CompileRule(r.Collection, alias, r.Rule, r.Request)
		if err != nil {
			return nil, &CompileError{Part: "rule", Err: err}
		}
		conds = append(conds, c)
	}
	for _, e := range r.Filters {
		c, err := d.CompileFilter(r.Collection, alias, e, r.Request)
		if err != nil {
			return nil, &CompileError{Part: "filter", Err: err}
		}
		conds = append(conds, c)
	}
	return conds, nil
}

// readOrder returns r's order for alias: its Sort, or creation order
// (the physical row key of a table, created for a view that has it).
func (d *DB) readOrder(r *Read, alias string) ([]Cond, error) {
	if len(r.Sort) == 0 {
		if k := d.sql().rowKey(r.Collection, alias); k != "" {
			return []Cond{{SQL: k}}, nil
		}
		if r.Collection.FieldByName("created") != nil {
			return []Cond{{SQL: `"` + alias + `"."created"`}}, nil
		}
		return nil, nil
	}
	o, err := d.CompileSort(r.Collection, alias, r.Sort, r.Request)
	if err != nil {
		return nil, &CompileError{Part: "sort", Err: err}
	}
	return o, nil
}

// subqueryParts compiles what a read picks its rows with in a subquery:
// the conditions and order inside it (alias "s") and the order outside
// (alias "r").
func (d *DB) subqueryParts(r *Read) (where, orderS, orderR []Cond, err error) {
	if where, err = d.compileConds(r, "s", nil); err != nil {
		return nil, nil, nil, err
	}
	if orderS, err = d.readOrder(r, "s"); err != nil {
		return nil, nil, nil, err
	}
	if orderR, err = d.readOrder(r, "r"); err != nil {
		return nil, nil, nil, err
	}
	return where, orderS, orderR, nil
}

// pickPage returns the condition and order of a PickPage read: the rows of
// the page, picked by row key in a subquery (alias "s") that applies the
// rule, the filters, the order, the offset and the limit.
func (d *DB) pickPage(r *Read) ([]Cond, []Cond, error) {
	key := d.sql().rowKey(r.Collection, "s")
	if key == "" {
		return nil, nil, apperr.New(apperr.Internal, "%s has no row key to pick a page by", r.Collection.Name)
	}
	where, orderS, orderR, err := d.subqueryParts(r)
	if err != nil {
		return nil, nil, err
	}
	var sb strings.Builder
	var args []any
	sb.WriteString(d.sql().rowKey(r.Collection, "r") + ` IN (SELECT ` + key + ` FROM ` + quoteIdent(r.Collection.Name) + ` AS "s"`)
	args = writeWhere(&sb, args, where)
	sb.WriteString(" ORDER BY ")
	for _, o := range orderS {
		if blank(o) {
			continue
		}
		sb.WriteString(o.SQL)
		sb.WriteString(", ")
		args = append(args, o.Args...)
	}
	sb.WriteString(`"s"."id" LIMIT ? OFFSET ?)`)
	args = append(args, r.Limit, r.Offset)
	return []Cond{{SQL: sb.String(), Args: args}}, orderR, nil
}

// perParent returns the condition and order of a Parents read: the
// records of each parent numbered in the common order by a window
// function (alias "s" inside, "w" around), at most Offset+Limit each.
func (d *DB) perParent(r *Read) ([]Cond, []Cond, error) {
	via := r.Collection.FieldByName(r.Parents.Field)
	if via == nil || via.Type != FieldRelation {
		return nil, nil, apperr.New(apperr.Invalid, "%q is not a relation field of %s", r.Parents.Field, r.Collection.Name)
	}
	inner, orderS, orderR, err := d.subqueryParts(r)
	if err != nil {
		return nil, nil, err
	}
	col := quoteIdent(via.Name)
	from := quoteIdent(r.Collection.Name) + ` AS "s"`
	part := `"s".` + col
	if via.Multiple() {
		var each string
		each, part = d.sql().listValues("s", col, "j")
		from += ", " + each
	}
	var sb strings.Builder
	var args []any
	sb.WriteString(`"r"."id" IN (SELECT "w"."id" FROM (SELECT "s"."id" AS "id", ROW_NUMBER() OVER (PARTITION BY `)
	sb.WriteString(part)
	sb.WriteString(` ORDER BY `)
	for _, o := range orderS {
		sb.WriteString(o.SQL)
		sb.WriteString(", ")
		args = append(args, o.Args...)
	}
	sb.WriteString(`"s"."id") AS "rn" FROM `)
	sb.WriteString(from)
	sb.WriteString(` WHERE `)
	sb.WriteString(d.sql().inList(part))
	args = append(args, encodeList(r.Parents.IDs))
	for _, c := range inner {
		sb.WriteString(" AND (")
		sb.WriteString(c.SQL)
		sb.WriteString(")")
		args = append(args, c.Args...)
	}
	sb.WriteString(`) AS "w" WHERE "w"."rn" <= ?)`)
	args = append(args, r.Offset+r.Limit)
	return []Cond{{SQL: sb.String(), Args: args}}, orderR, nil
}

// keyExpr is the column of a keyset key on "r".
func keyExpr(k SortKey) string { return `"r".` + quoteIdent(k.Field) }

// keysetCond is the condition for rows strictly after (with before,
// strictly before) the cursor values vals in the order of keys, with the
// dialect's place of NULL.
func (d *DB) keysetCond(keys []SortKey, vals []any, before bool) Cond {
	if len(vals) != len(keys) {
		return Cond{SQL: "0"}
	}
	dl := d.sql()
	var or []string
	var args []any
	var eqSQL []string
	var eqArgs []any
	for i, k := range keys {
		desc := k.Desc != before
		nullsLater := desc == dl.nullsFirst()
		op := " > ?"
		if desc {
			op = " < ?"
		}
		expr := keyExpr(k)
		v := vals[i]
		var strict string
		var sargs []any
		switch {
		case v == nil && !nullsLater:
			strict = expr + " IS NOT NULL"
		case v == nil:
			strict = ""
		case !nullsLater:
			strict, sargs = expr+op, []any{v}
		default:
			strict, sargs = "("+expr+op+" OR "+expr+" IS NULL)", []any{v}
		}
		if strict != "" {
			term := append(append([]string(nil), eqSQL...), strict)
			or = append(or, "("+strings.Join(term, " AND ")+")")
			args = append(args, eqArgs...)
			args = append(args, sargs...)
		}
		eqSQL = append(eqSQL, expr+dl.isSame())
		eqArgs = append(eqArgs, v)
	}
	if len(or) == 0 {
		return Cond{SQL: "0"}
	}
	return Cond{SQL: "(" + strings.Join(or, " OR ") + ")", Args: args}
}

// keyOrder returns the ORDER BY terms of a keyset.
func (d *DB) keyOrder(k *Keyset) []Cond {
	out := make([]Cond, len(k.Keys))
	for i, key := range k.Keys {
		out[i] = Cond{SQL: keyExpr(key) + d.qsql().order(key.Desc != k.Backward)}
	}
	return out
}
