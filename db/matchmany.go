package db

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// MatchManyMax is the most reads ReadMatchMany checks in one statement
// (one result column each); more take ceil(n/MatchManyMax) statements.
const MatchManyMax = 200

// ReadMatchMany is ReadMatch for many reads of one record (the batches
// of one realtime event): a read with nothing to check matches, one that
// memory can evaluate is answered without SQL, and the others are checked
// together, one statement per collection and per MatchManyMax reads, with
// one column per read that is 1 exactly when the read's rule and filters
// hold on rec (CASE WHEN, so NULL is false as in MatchValues' WHERE).
// errs[i] is the error ReadMatch would return for reads[i] (a rule that
// does not compile), or the failed statement's error for every read it
// checked. The reads of a collection go into its statements in the
// order of their conditions' SQL text, so that the statement's text
// depends on which checks there are, not on the order of reads (the
// batches come from a map): the statement cache then holds one text.
func (d *DB) ReadMatchMany(ctx context.Context, reads []*Read, rec Record) (match []bool, errs []error) {
	match = make([]bool, len(reads))
	errs = make([]error, len(reads))
	type pending struct {
		i     int
		conds []Cond
		key   string // the conditions' SQL text
	}
	var byColl map[*Collection][]pending
	var order []*Collection
	for i, r := range reads {
		if r.Rule == nil && len(r.Filters) == 0 {
			match[i] = true
			continue
		}
		if m, ok := d.readMatchInMemory(r, rec); ok {
			match[i] = m
			continue
		}
		conds, err := d.compileConds(r, "r", nil)
		if err != nil {
			errs[i] = err
			continue
		}
		if byColl == nil {
			byColl = make(map[*Collection][]pending)
		}
		if _, seen := byColl[r.Collection]; !seen {
			order = append(order, r.Collection)
		}
		byColl[r.Collection] = append(byColl[r.Collection], pending{i, conds, condsKey(conds)})
	}
	for _, c := range order {
		list := byColl[c]
		slices.SortStableFunc(list, func(a, b pending) int { return strings.Compare(a.key, b.key) })
		for len(list) > 0 {
			n := min(len(list), MatchManyMax)
			chunk := list[:n]
			list = list[n:]
			conds := make([][]Cond, n)
			for k, p := range chunk {
				conds[k] = p.conds
			}
			got, err := d.matchColumns(ctx, c, rec, conds)
			for k, p := range chunk {
				if err != nil {
					errs[p.i] = err
				} else {
					match[p.i] = got[k]
				}
			}
		}
	}
	return match, errs
}

// condsKey is the SQL text of conds, for ordering them.
func condsKey(conds []Cond) string {
	if len(conds) == 1 {
		return conds[0].SQL
	}
	var sb strings.Builder
	for _, cd := range conds {
		sb.WriteString(cd.SQL)
		sb.WriteByte(0)
	}
	return sb.String()
}

// matchColumns evaluates each list of conditions of sets on rec bound as
// a one-row table (as MatchValues) in one statement, one column per list.
func (d *DB) matchColumns(ctx context.Context, c *Collection, rec Record, sets [][]Cond) ([]bool, error) {
	var sb strings.Builder
	var args []any
	sb.WriteString(`SELECT `)
	for k, conds := range sets {
		if k > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString(`CASE WHEN ` + d.qsql().boolLit(true))
		for _, cd := range conds {
			sb.WriteString(" AND (")
			sb.WriteString(cd.SQL)
			sb.WriteString(")")
			args = append(args, cd.Args...)
		}
		sb.WriteString(` THEN 1 ELSE 0 END`)
	}
	sb.WriteString(` FROM `)
	args, err := writeValuesRow(&sb, args, d.qsql(), c, rec)
	if err != nil {
		return nil, fmt.Errorf("match %s: %w", c.Name, err)
	}
	rows, err := d.readQuery(ctx, sb.String(), args)
	if err != nil {
		return nil, fmt.Errorf("match %s: %w", c.Name, err)
	}
	defer rows.Close()
	out := make([]bool, len(sets))
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("match %s: %w", c.Name, err)
		}
		return nil, fmt.Errorf("match %s: no row", c.Name)
	}
	vals := make([]int64, len(sets))
	ptrs := make([]any, len(sets))
	for k := range vals {
		ptrs[k] = &vals[k]
	}
	if err := rows.Scan(ptrs...); err != nil {
		return nil, fmt.Errorf("match %s: %w", c.Name, err)
	}
	for k, v := range vals {
		out[k] = v == 1
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("match %s: %w", c.Name, err)
	}
	return out, nil
}

// writeValuesRow writes rec's values of c's fields as the one-row table
// "r" (each CAST to its column's type, so that comparisons convert
// operands as on the stored table) and appends their arguments.
func writeValuesRow(sb *strings.Builder, args []any, dl queryDialect, c *Collection, rec Record) ([]any, error) {
	sb.WriteString(`(SELECT `)
	for i, f := range c.Fields {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString(`CAST(? AS `)
		sb.WriteString(dl.columnType(f))
		sb.WriteString(`)`)
		sb.WriteString(dl.collate(f))
		sb.WriteString(` AS "`)
		sb.WriteString(f.Name) // validated name: ^[a-zA-Z][a-zA-Z0-9_]*$
		sb.WriteString(`"`)
		v, err := SQLValue(f, rec[f.Name])
		if err != nil {
			return nil, err
		}
		if dl.strict() {
			v = pgColumnArg(f, v)
		}
		args = append(args, v)
	}
	sb.WriteString(`) AS "r"`)
	return args, nil
}

// MatchInMemory evaluates r's rule and filters on rec in memory as
// ReadMatch would; ok is false when a statement is needed (or matching in
// memory is off). Nothing to check matches.
func (d *DB) MatchInMemory(r *Read, rec Record) (match, ok bool) {
	if r.Rule == nil && len(r.Filters) == 0 {
		return true, true
	}
	return d.readMatchInMemory(r, rec)
}
