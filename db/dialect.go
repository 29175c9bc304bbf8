package db

import (
	"encoding/json"
	"strconv"
	"strings"
)

// dialect is what the SQL of this package spells differently on each
// database engine: the physical row key, lists bound as one parameter,
// null-safe equality, the place of NULL in an order, column types and
// case-insensitive equality. sqliteDialect and pgDialect implement it.
type dialect interface {
	// rowKey returns the expression of alias's physical row key, in
	// insertion order, or "" when c has none (views).
	rowKey(c *Collection, alias string) string
	// idIn returns the condition that alias's "id" is one of ids, bound
	// as one parameter whatever their number (so the SQL text stays the
	// same); ids must not be empty.
	idIn(alias string, ids []string) Cond
	// inList returns "expr IN <the list bound to one ?>".
	inList(expr string) string
	// listValues returns the FROM item that spreads the list column col of
	// alias into rows aliased as, and the expression of one value.
	listValues(alias, col, as string) (from, value string)
	// isSame is the null-safe equality operator ("a IS ?").
	isSame() string
	// nullsFirst reports whether NULL comes first in ascending order.
	nullsFirst() bool
	// noLimit is the LIMIT argument that means no limit.
	noLimit() any
	// columnType is the column type of the field f.
	columnType(f *Field) string
	// foldEq returns "expr equals ?, ignoring ASCII case".
	foldEq(expr string) string
	// collate is the COLLATE clause of f's column ("" for none).
	collate(f *Field) string
}

// sql returns the dialect of d's database.
func (d *DB) sql() dialect {
	if d.pgDSN != "" {
		return pgDialect{}
	}
	return sqliteDialect{}
}

// sqliteDialect is SQLite's dialect.
type sqliteDialect struct{}

func (sqliteDialect) rowKey(c *Collection, alias string) string {
	if c.Type == TypeView {
		return ""
	}
	return `"` + alias + `"."rowid"`
}

// idEqual is the condition alias."id" = ?, not built again for a read's
// alias "r".
func idEqual(alias string) string {
	if alias == "r" {
		return `"r"."id" = ?`
	}
	return `"` + alias + `"."id" = ?`
}

func (sqliteDialect) idIn(alias string, ids []string) Cond {
	if len(ids) == 1 {
		return Cond{SQL: idEqual(alias), Args: []any{ids[0]}}
	}
	b, _ := json.Marshal(ids) // strings always encode
	return Cond{SQL: `"` + alias + `"."id" IN (SELECT value FROM json_each(?))`, Args: []any{string(b)}}
}

func (sqliteDialect) inList(expr string) string { return expr + ` IN (SELECT value FROM json_each(?))` }

func (sqliteDialect) listValues(alias, col, as string) (string, string) {
	a := quoteIdent(as)
	return `json_each("` + alias + `".` + col + `) AS ` + a, a + `."value"`
}

func (sqliteDialect) isSame() string { return " IS ?" }

func (sqliteDialect) nullsFirst() bool { return true }

func (sqliteDialect) noLimit() any { return -1 }

func (sqliteDialect) columnType(f *Field) string { return ColumnType(f) }

func (sqliteDialect) foldEq(expr string) string { return expr + " = ? COLLATE NOCASE" }

func (sqliteDialect) collate(*Field) string { return "" }

// pgDialect is PostgreSQL's dialect. Values are stored as on SQLite (text,
// JSON text, dates as sortable text, booleans as 0/1) so that both engines
// hold and return the same things; every user table has a "rowid"
// identity column as its physical row key.
type pgDialect struct{}

func (pgDialect) rowKey(c *Collection, alias string) string {
	if c.Type == TypeView {
		return ""
	}
	return `"` + alias + `"."rowid"`
}

func (d pgDialect) idIn(alias string, ids []string) Cond {
	if len(ids) == 1 {
		return Cond{SQL: idEqual(alias), Args: []any{ids[0]}}
	}
	return Cond{SQL: d.inList(`"` + alias + `"."id"`), Args: []any{encodeList(ids)}}
}

func (pgDialect) inList(expr string) string {
	return expr + ` IN (SELECT json_array_elements_text(?::json))`
}

func (pgDialect) listValues(alias, col, as string) (string, string) {
	a := quoteIdent(as)
	return `json_array_elements_text(COALESCE(NULLIF("` + alias + `".` + col + `, ''), '[]')::json) AS ` + a + `("value")`, a + `."value"`
}

func (pgDialect) isSame() string { return " IS NOT DISTINCT FROM ?" }

func (pgDialect) nullsFirst() bool { return true } // ORDER BY terms say NULLS FIRST/LAST (queryDialect.order)

func (pgDialect) noLimit() any { return nil }

func (pgDialect) columnType(f *Field) string {
	switch ColumnType(f) {
	case "REAL":
		return "DOUBLE PRECISION"
	case "INTEGER":
		return "BIGINT"
	}
	return "TEXT"
}

func (pgDialect) foldEq(expr string) string { return "lower(" + expr + ") = lower(?)" }

// collate gives text columns byte order ("C"), SQLite's, whatever the
// database's default collation: sorts, ranges and the in-memory matcher
// then agree with SQLite.
func (d pgDialect) collate(f *Field) string {
	if d.columnType(f) == "TEXT" {
		return ` COLLATE "C"`
	}
	return ""
}

// encodeList is a string list bound as one parameter (see dialect.inList).
func encodeList(l []string) string {
	b, _ := json.Marshal(l) // strings always encode
	return string(b)
}

// blank reports whether a condition or order term is empty.
func blank(c Cond) bool { return strings.TrimSpace(c.SQL) == "" }

// queryDialect is the SQL of the filter compiler, reads, groups and
// realtime matching that each engine spells differently. On PostgreSQL
// it also makes SQLite's loose typing explicit (see filtersql_pg.go).
// sqliteDialect and pgDialect implement it.
type queryDialect interface {
	dialect
	// strict reports whether comparisons need operands of one type
	// (PostgreSQL): the filter compiler then converts them as SQLite does.
	strict() bool
	// boolLit is the literal of a condition that is always true or false.
	boolLit(b bool) string
	// notTrue is the suffix "is not true" (false or NULL) of a condition.
	notTrue() string
	// is is the null-safe equality (not: inequality) operator.
	is(not bool) string
	// like returns what is written before and after a value to compare it
	// with a LIKE pattern (ESCAPE '\' follows the pattern), ASCII letters
	// case-insensitive; not: NOT LIKE on the value or the empty string.
	like(not bool) (pre, post string)
	// eachFrom is the FROM item spreading the JSON list expr into rows
	// aliased as (quoted) with the column "value"; join: written after
	// another item (an inner join), left: a LEFT JOIN.
	eachFrom(expr, as string, join, left bool) string
	// eachIn is "IN (the values of the JSON list expr)".
	eachIn(expr string) string
	// jsonLength is the length of the JSON list expr (NULL or '' is 0).
	jsonLength(expr string) string
	// lower is expr in lower case (ASCII letters).
	lower(expr string) string
	// least is the name of the two-argument minimum function.
	least() string
	// jsonRoot is the value of the JSON text expr; jsonPath its value at
	// the path parts (checked names and indexes) bound as one argument.
	jsonRoot(expr string) string
	jsonPath(expr string, parts []string) (string, any)
	// condValue turns a condition into a 0/1 value.
	condValue(cond string) string
	// order is the direction of an ORDER BY term with NULL first in
	// ascending order (SQLite's order).
	order(desc bool) string
	// total is the sum of a number column, 0.0 over no rows.
	total(col string) string
}

// qsql returns the query dialect of d's database.
func (d *DB) qsql() queryDialect {
	if d.pgDSN != "" {
		return pgDialect{}
	}
	return sqliteDialect{}
}

func (sqliteDialect) strict() bool { return false }

func (sqliteDialect) boolLit(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

func (sqliteDialect) notTrue() string { return " IS NOT 1" }

func (sqliteDialect) is(not bool) string {
	if not {
		return " IS NOT "
	}
	return " IS "
}

func (sqliteDialect) like(not bool) (string, string) {
	if not {
		return "COALESCE(", ", '') NOT LIKE "
	}
	return "", " LIKE "
}

func (sqliteDialect) eachFrom(expr, as string, join, left bool) string {
	switch {
	case left:
		return "LEFT JOIN json_each(" + expr + ") " + as
	case join:
		return " JOIN json_each(" + expr + ") " + as
	}
	return "json_each(" + expr + ") " + as
}

func (sqliteDialect) eachIn(expr string) string {
	return ` IN (SELECT "value" FROM json_each(` + expr + "))"
}

func (sqliteDialect) jsonLength(expr string) string {
	return "json_array_length(COALESCE(" + expr + ", '[]'))"
}

func (sqliteDialect) lower(expr string) string { return "LOWER(" + expr + ")" }

func (sqliteDialect) least() string { return "min" }

func (sqliteDialect) jsonRoot(expr string) string { return "json_extract(" + expr + ", '$')" }

func (sqliteDialect) jsonPath(expr string, parts []string) (string, any) {
	var path strings.Builder
	path.WriteByte('$')
	for _, p := range parts {
		if _, err := strconv.Atoi(p); err == nil {
			path.WriteString("[" + p + "]")
		} else {
			path.WriteString("." + p)
		}
	}
	return "json_extract(" + expr + ", ?)", path.String()
}

func (sqliteDialect) condValue(cond string) string { return "(" + cond + ")" }

func (sqliteDialect) order(desc bool) string {
	if desc {
		return " DESC"
	}
	return " ASC"
}

func (sqliteDialect) total(col string) string { return "TOTAL(" + col + ")" }

func (pgDialect) strict() bool { return true }

func (pgDialect) boolLit(b bool) string {
	if b {
		return "TRUE"
	}
	return "FALSE"
}

func (pgDialect) notTrue() string { return " IS NOT TRUE" }

func (pgDialect) is(not bool) string {
	if not {
		return " IS DISTINCT FROM "
	}
	return " IS NOT DISTINCT FROM "
}

// like: the C collation folds ASCII letters only, as SQLite's LIKE.
func (pgDialect) like(not bool) (string, string) {
	if not {
		return "COALESCE(CAST(", ` AS TEXT), '') COLLATE "C" NOT ILIKE `
	}
	return "CAST(", ` AS TEXT) COLLATE "C" ILIKE `
}

func (pgDialect) eachFrom(expr, as string, join, left bool) string {
	f := "json_array_elements_text(COALESCE(NULLIF(" + expr + ", ''), '[]')::json) AS " + as + `("value")`
	switch {
	case left:
		return "LEFT JOIN " + f + " ON TRUE"
	case join:
		return " CROSS JOIN " + f
	}
	return f
}

func (pgDialect) eachIn(expr string) string {
	return " IN (SELECT json_array_elements_text(COALESCE(NULLIF(" + expr + ", ''), '[]')::json))"
}

func (pgDialect) jsonLength(expr string) string {
	return "json_array_length(COALESCE(NULLIF(" + expr + ", ''), '[]')::json)"
}

func (pgDialect) lower(expr string) string { return "lower(CAST(" + expr + ` AS TEXT) COLLATE "C")` }

func (pgDialect) least() string { return "LEAST" }

func (pgDialect) jsonRoot(expr string) string { return "NULLIF(" + expr + ", '')::jsonb" }

// jsonPath binds the path as a text array literal: its parts are checked
// names and indexes ([A-Za-z0-9_]+).
func (pgDialect) jsonPath(expr string, parts []string) (string, any) {
	return "(NULLIF(" + expr + ", '')::jsonb #> ?::text[])", "{" + strings.Join(parts, ",") + "}"
}

func (pgDialect) condValue(cond string) string { return "(CASE WHEN " + cond + " THEN 1 ELSE 0 END)" }

func (pgDialect) order(desc bool) string {
	if desc {
		return " DESC NULLS LAST"
	}
	return " ASC NULLS FIRST"
}

func (pgDialect) total(col string) string { return "COALESCE(SUM(" + col + "), 0.0)" }
