package db

import (
	"encoding/json"
	"strings"
)

// dialect is what the read writer (read.go) spells differently on each
// database engine: the physical row key, lists bound as one parameter,
// null-safe equality and the place of NULL in an order. SQLite is the only
// implementation today; PostgreSQL comes next.
//
// Not yet behind it (still SQLite-specific elsewhere in db): the filter
// compiler's json_each, date functions and LIKE escaping
// (filtersql_ops.go, filtersql_path.go), column types and DDL (ddl.go,
// fieldtypes.go), RETURNING in writes (write.go), FindByIDs, MatchValues'
// CASTs and the open/pragma code.
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
}

// sql returns the dialect of d's database.
func (d *DB) sql() dialect { return sqliteDialect{} }

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

// encodeList is a string list bound as one parameter (see dialect.inList).
func encodeList(l []string) string {
	b, _ := json.Marshal(l) // strings always encode
	return string(b)
}

// blank reports whether a condition or order term is empty.
func blank(c Cond) bool { return strings.TrimSpace(c.SQL) == "" }
