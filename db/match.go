package db

import (
	"context"
	"fmt"
	"strings"
)

// MatchValues reports whether the values rec of a record of c meet conds
// (SQL conditions on the alias "r", such as a compiled rule or filter),
// evaluated on rec bound as a one-row table instead of the stored row:
// realtime events check the state a change committed, also after a delete.
// One statement, cached and observed like the other reads.
func (d *DB) MatchValues(ctx context.Context, c *Collection, rec Record, conds []Cond) (bool, error) {
	if len(conds) == 0 {
		return true, nil
	}
	var sb strings.Builder
	args := make([]any, 0, len(c.Fields)+4)
	sb.WriteString(`SELECT 1 FROM `)
	args, err := writeValuesRow(&sb, args, d.qsql(), c, rec)
	if err != nil {
		return false, fmt.Errorf("match %s: %w", c.Name, err)
	}
	sb.WriteString(` WHERE ` + d.qsql().boolLit(true))
	for _, cd := range conds {
		sb.WriteString(" AND (")
		sb.WriteString(cd.SQL)
		sb.WriteString(")")
		args = append(args, cd.Args...)
	}
	rows, err := d.readQuery(ctx, sb.String(), args)
	if err != nil {
		return false, fmt.Errorf("match %s: %w", c.Name, err)
	}
	defer rows.Close()
	found := rows.Next()
	if err := rows.Err(); err != nil {
		return false, fmt.Errorf("match %s: %w", c.Name, err)
	}
	return found, nil
}
