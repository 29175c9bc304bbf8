package db

import (
	"encoding/json"
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

func (sqliteDialect) idIn(alias string, ids []string) Cond {
	if len(ids) == 1 {
		return Cond{SQL: `"` + alias + `"."id" = ?`, Args: []any{ids[0]}}
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
		return Cond{SQL: `"` + alias + `"."id" = ?`, Args: []any{ids[0]}}
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

func (pgDialect) nullsFirst() bool { return false }

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

// encodeList is a string list bound as one parameter (see dialect.inList).
func encodeList(l []string) string {
	b, _ := json.Marshal(l) // strings always encode
	return string(b)
}

// blank reports whether a condition or order term is empty.
func blank(c Cond) bool { return strings.TrimSpace(c.SQL) == "" }
