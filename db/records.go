package db

// Record reads: Find, FindByIDs, Count, Aggregate and FindAuthRecord. They
// run on the reader pool, or through the transaction carried by ctx.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/monobase/monobase/apperr"
)

// maxIDsPerQuery keeps IN lists under SQLite's bound-parameter limits.
const maxIDsPerQuery = 900

func queryAlias(q *Query) string {
	if q.Alias != "" {
		return q.Alias
	}
	return "r"
}

func checkQuery(q *Query) error {
	if q == nil || q.Collection == nil {
		return apperr.Wrap(errors.New("query without a collection"), "bad query")
	}
	return nil
}

// writeWhere appends " WHERE a AND b" for conds to b and their args.
func writeWhere(b *strings.Builder, args []any, conds []Cond) []any {
	first := true
	for _, c := range conds {
		if strings.TrimSpace(c.SQL) == "" {
			continue
		}
		if first {
			b.WriteString(" WHERE (")
			first = false
		} else {
			b.WriteString(" AND (")
		}
		b.WriteString(c.SQL)
		b.WriteString(")")
		args = append(args, c.Args...)
	}
	return args
}

func (d *DB) find(ctx context.Context, q *Query) ([]Record, error) {
	if err := checkQuery(q); err != nil {
		return nil, err
	}
	alias := quoteIdent(queryAlias(q))
	var b strings.Builder
	b.WriteString("SELECT " + alias + ".* FROM " + quoteIdent(q.Collection.Name) + " AS " + alias)
	args := writeWhere(&b, nil, q.Where)
	b.WriteString(" ORDER BY ")
	for _, o := range q.OrderBy {
		if strings.TrimSpace(o.SQL) == "" {
			continue
		}
		b.WriteString(o.SQL)
		b.WriteString(", ")
		args = append(args, o.Args...)
	}
	b.WriteString(alias + `."id"`)
	if q.Limit > 0 || q.Offset > 0 {
		limit := q.Limit
		if limit <= 0 {
			limit = -1
		}
		b.WriteString(" LIMIT ? OFFSET ?")
		args = append(args, limit, max(q.Offset, 0))
	}
	return d.queryRecords(ctx, q.Collection, b.String(), args...)
}

func (d *DB) findByIDs(ctx context.Context, c *Collection, ids []string, where ...Cond) ([]Record, error) {
	if c == nil {
		return nil, apperr.Wrap(errors.New("findByIDs without a collection"), "bad query")
	}
	var out []Record
	for start := 0; start < len(ids); start += maxIDsPerQuery {
		chunk := ids[start:min(start+maxIDsPerQuery, len(ids))]
		var b strings.Builder
		b.WriteString(`SELECT "r".* FROM ` + quoteIdent(c.Name) + ` AS "r" WHERE "r"."id" IN (`)
		args := make([]any, 0, len(chunk))
		for i, id := range chunk {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("?")
			args = append(args, id)
		}
		b.WriteString(")")
		for _, w := range where {
			if strings.TrimSpace(w.SQL) == "" {
				continue
			}
			b.WriteString(" AND (" + w.SQL + ")")
			args = append(args, w.Args...)
		}
		recs, err := d.queryRecords(ctx, c, b.String(), args...)
		if err != nil {
			return nil, err
		}
		out = append(out, recs...)
	}
	if out == nil {
		out = []Record{}
	}
	return out, nil
}

func (d *DB) count(ctx context.Context, q *Query) (int64, error) {
	if err := checkQuery(q); err != nil {
		return 0, err
	}
	alias := quoteIdent(queryAlias(q))
	var b strings.Builder
	b.WriteString("SELECT COUNT(*) FROM " + quoteIdent(q.Collection.Name) + " AS " + alias)
	args := writeWhere(&b, nil, q.Where)
	var n int64
	if err := d.reader(ctx).QueryRowContext(ctx, b.String(), args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count %s: %w", q.Collection.Name, err)
	}
	return n, nil
}

func (d *DB) aggregate(ctx context.Context, q *Query, fields []string) (map[string]map[string]any, error) {
	if err := checkQuery(q); err != nil {
		return nil, err
	}
	alias := quoteIdent(queryAlias(q))
	var b strings.Builder
	b.WriteString("SELECT COUNT(*)")
	for _, name := range fields {
		f := q.Collection.FieldByName(name)
		if f == nil || f.Type != FieldNumber {
			return nil, apperr.New(apperr.Invalid, "%q is not a number field of %s", name, q.Collection.Name)
		}
		col := alias + "." + quoteIdent(name)
		b.WriteString(", TOTAL(" + col + "), AVG(" + col + "), MIN(" + col + "), MAX(" + col + ")")
	}
	b.WriteString(" FROM " + quoteIdent(q.Collection.Name) + " AS " + alias)
	args := writeWhere(&b, nil, q.Where)
	vals := make([]any, 1+4*len(fields))
	ptrs := make([]any, len(vals))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := d.reader(ctx).QueryRowContext(ctx, b.String(), args...).Scan(ptrs...); err != nil {
		return nil, fmt.Errorf("aggregate %s: %w", q.Collection.Name, err)
	}
	count, _ := vals[0].(int64)
	out := map[string]map[string]any{"": {"count": count}}
	for i, name := range fields {
		m := map[string]any{}
		for j, k := range []string{"sum", "avg", "min", "max"} {
			v := vals[1+4*i+j]
			if n, ok := toFloat(v); ok {
				m[k] = n
			} else {
				m[k] = nil
			}
		}
		out[name] = m
	}
	return out, nil
}

func (d *DB) findAuthRecord(ctx context.Context, c *Collection, email string) (Record, error) {
	if c == nil || !c.IsAuth() {
		return nil, apperr.New(apperr.Invalid, "not an auth collection")
	}
	recs, err := d.queryRecords(ctx, c, `SELECT "r".* FROM `+quoteIdent(c.Name)+` AS "r" WHERE "r"."email" = ? COLLATE NOCASE LIMIT 1`, strings.TrimSpace(email))
	if err != nil {
		return nil, err
	}
	if len(recs) == 0 {
		return nil, apperr.New(apperr.NotFound, "no %s record with that email", c.Name)
	}
	return recs[0], nil
}

func (d *DB) queryRecords(ctx context.Context, c *Collection, query string, args ...any) ([]Record, error) {
	rows, err := d.reader(ctx).QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("query %s: %w", c.Name, err)
	}
	return scanRecords(c, rows)
}

// scanRecords reads all rows (and closes them) into records decoded
// through the field registry.
func scanRecords(c *Collection, rows *sql.Rows) ([]Record, error) {
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", c.Name, err)
	}
	fields := make([]*Field, len(cols))
	for i, name := range cols {
		fields[i] = c.FieldByName(name)
	}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	out := []Record{}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return nil, fmt.Errorf("read %s: %w", c.Name, err)
		}
		rec := make(Record, len(c.Fields))
		for i, f := range fields {
			if f == nil {
				continue // a column the definition does not know (stale collection)
			}
			rec[f.Name] = DecodeValue(f, vals[i])
			vals[i] = nil
		}
		out = append(out, rec)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", c.Name, err)
	}
	return out, nil
}
