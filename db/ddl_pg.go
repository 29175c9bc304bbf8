package db

// PostgreSQL's side of the DDL of user collections (ddl.go): the catalog
// queries that SQLite answers with sqlite_master and its pragmas. Every
// query is limited to the schema Monobase works in (current_schema()).

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// pgSchemaOID is the condition "relnamespace is the current schema" for
// pg_class aliased as alias.
func pgSchemaOID(alias string) string {
	return alias + `.relnamespace = (SELECT "oid" FROM pg_namespace WHERE nspname = current_schema())`
}

// pgUserIndexes returns the names of the indexes of table that an admin
// defined: neither the system ones (_mb_...) nor those behind a
// constraint (primary key, the rowid).
func (s *schemaTx) pgUserIndexes(table string) ([]string, error) {
	rows, err := s.q.QueryContext(s.ctx, `SELECT ic.relname FROM pg_index i
JOIN pg_class ic ON ic."oid" = i.indexrelid JOIN pg_class t ON t."oid" = i.indrelid
WHERE `+pgSchemaOID("t")+` AND t.relname = ? AND ic.relname NOT LIKE '\_mb\_%' ESCAPE '\'
AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
ORDER BY ic.relname`, table)
	if err != nil {
		return nil, fmt.Errorf("list indexes of %s: %w", table, err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, fmt.Errorf("list indexes of %s: %w", table, err)
		}
		names = append(names, n)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list indexes of %s: %w", table, err)
	}
	return names, nil
}

// pgIndexRest returns the "(columns) [WHERE ...]" part of the index
// name on table as PostgreSQL now has it (renames of the table and its
// columns are applied), and false when there is no such index.
func (s *schemaTx) pgIndexRest(table, name string) (string, bool, error) {
	var def string
	err := s.q.QueryRowContext(s.ctx, `SELECT pg_get_indexdef(ic."oid") FROM pg_index i
JOIN pg_class ic ON ic."oid" = i.indexrelid JOIN pg_class t ON t."oid" = i.indrelid
WHERE `+pgSchemaOID("t")+` AND t.relname = ? AND ic.relname = ?`, table, name).Scan(&def)
	if err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return "", false, nil
		}
		return "", false, fmt.Errorf("read index %s: %w", name, err)
	}
	// CREATE [UNIQUE] INDEX name ON schema.table USING btree (cols) [WHERE ...]
	_, rest, ok := strings.Cut(def, " USING btree ")
	if !ok {
		return "", false, fmt.Errorf("read index %s: unexpected definition %q", name, def)
	}
	return rest, true, nil
}

// pgIndexSQL is indexSQL on PostgreSQL: the definitions of defs whose
// index still exists, rewritten from the catalog when renamed says that
// the table or a column was renamed (PostgreSQL applies renames to the
// index itself, not to the text it was created from).
func (s *schemaTx) pgIndexSQL(table string, defs []string, renamed bool) ([]string, error) {
	out := make([]string, 0, len(defs))
	for _, d := range defs {
		p, msg := parseIndex(d)
		if msg != "" {
			continue
		}
		rest, ok, err := s.pgIndexRest(table, p.Name)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		if renamed {
			p.Rest = rest
		}
		out = append(out, p.sql(table))
	}
	return out, nil
}

// pgConvert turns the column of f, in table, from single to multiple
// values (a JSON array of the old value) or back (the first element),
// like the SQLite statement of alterDDL. A single value that starts with
// "[" but is not a JSON array is wrapped by a second pass in Go:
// PostgreSQL 15 has no way to test JSON text without failing on it.
func (s *schemaTx) pgConvert(table string, f *Field) error {
	t, col := quoteIdent(table), quoteIdent(f.Name)
	if !f.Multiple() {
		return s.exec("UPDATE " + t + " SET " + col + " = CASE WHEN left(" + col + ", 1) = '[' THEN (" + col + "::json ->> 0) ELSE " + col + " END")
	}
	type fix struct{ id, v string }
	var fixes []fix
	rows, err := s.q.QueryContext(s.ctx, `SELECT "id", `+col+` FROM `+t+` WHERE left(`+col+`, 1) = '['`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var id, v string
		if err := rows.Scan(&id, &v); err != nil {
			rows.Close()
			return err
		}
		var list []any
		if json.Unmarshal([]byte(v), &list) != nil {
			fixes = append(fixes, fix{id, encodeList([]string{v})})
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, x := range fixes {
		if err := s.exec("UPDATE "+t+" SET "+col+` = ? WHERE "id" = ?`, x.v, x.id); err != nil {
			return err
		}
	}
	return s.exec("UPDATE " + t + " SET " + col + " = CASE WHEN " + col + " IS NULL OR " + col + " = '' THEN '[]' " +
		"WHEN left(" + col + ", 1) = '[' THEN " + col + " ELSE json_build_array(" + col + ")::text END")
}

// pgViewColumnsSQL lists the columns of a view and their types.
var pgViewColumnsSQL = `SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a
JOIN pg_class c ON c."oid" = a.attrelid
WHERE ` + pgSchemaOID("c") + ` AND c.relname = ? AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`

// pgDeclType maps a PostgreSQL type to the SQLite declared type that
// inferViewFields reads: numbers are REAL, strings TEXT; anything else
// (booleans, JSON, dates) has none, so its first value decides, as for
// an SQLite expression column.
func pgDeclType(t string) string {
	switch {
	case t == "smallint", t == "integer", t == "bigint", t == "real", t == "double precision", strings.HasPrefix(t, "numeric"):
		return "REAL"
	case t == "text", t == "name", strings.HasPrefix(t, "character"):
		return "TEXT"
	}
	return ""
}

// pgViewDef returns the query of the view name as PostgreSQL deparses it
// (renames applied).
func (s *schemaTx) pgViewDef(name string) (string, error) {
	var def string
	err := s.q.QueryRowContext(s.ctx, `SELECT pg_get_viewdef(c."oid") FROM pg_class c WHERE `+pgSchemaOID("c")+` AND c.relname = ? AND c.relkind = 'v'`, name).Scan(&def)
	if err != nil {
		return "", err
	}
	return strings.TrimSuffix(strings.TrimSpace(def), ";"), nil
}

// pgViewQuery returns the query to store for the view c after tables
// changed: c.ViewQuery while it still means what the view does, else
// PostgreSQL's text of the view (a table or column it reads was renamed).
// The admin's text is compiled into a temporary view, inside a savepoint,
// and the two deparsed forms compared.
func (s *schemaTx) pgViewQuery(c *Collection) (string, error) {
	cur, err := s.pgViewDef(c.Name)
	if err != nil {
		return "", fmt.Errorf("the view of the collection %q is missing", c.Name)
	}
	same := false
	if err := s.exec(`SAVEPOINT "_mb_view"`); err != nil {
		return "", err
	}
	if s.exec(`CREATE TEMPORARY VIEW "_mb_view_check" AS `+c.ViewQuery) == nil {
		var def string
		err := s.q.QueryRowContext(s.ctx, `SELECT pg_get_viewdef('pg_temp."_mb_view_check"'::regclass)`).Scan(&def)
		same = err == nil && strings.TrimSuffix(strings.TrimSpace(def), ";") == cur
	}
	if err := s.exec(`ROLLBACK TO SAVEPOINT "_mb_view"`); err != nil {
		return "", err
	}
	if same {
		return c.ViewQuery, nil
	}
	return cur, nil
}

// pgForbiddenFuncRe matches the functions a view must not call on
// PostgreSQL: those that run SQL given as text (and so read tables that
// the view's dependencies do not show), read files or settings, or reach
// other databases.
var pgForbiddenFuncRe = regexp.MustCompile(`(?i)\b(query_to_xml\w*|table_to_xml\w*|cursor_to_xml\w*|database_to_xml\w*|schema_to_xml\w*|query_to_json\w*|dblink\w*|pg_read_\w+|pg_ls_\w+|pg_stat_file|lo_\w+|current_setting|set_config|pg_settings|pg_authid|pg_shadow|xpath\w*)\s*\(`)

// pgSystemTableRead is systemTableRead on PostgreSQL: the relations the
// rules of the view name depend on (pg_depend of its pg_rewrite rows),
// through views recursively, must be tables or views of the current
// schema whose names do not start with "_"; the catalogs (pg_catalog,
// information_schema) and other schemas are refused. Functions that run
// SQL from text are refused by name.
func (s *schemaTx) pgSystemTableRead(name string) (string, error) {
	var found string
	err := s.q.QueryRowContext(s.ctx, `WITH RECURSIVE reads("oid") AS (
  SELECT c."oid" FROM pg_class c WHERE `+pgSchemaOID("c")+` AND c.relname = ?
  UNION
  SELECT d.refobjid FROM reads
  JOIN pg_rewrite r ON r.ev_class = reads."oid"
  JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r."oid" AND d.refclassid = 'pg_class'::regclass
)
SELECT n.nspname || '.' || c.relname FROM reads JOIN pg_class c ON c."oid" = reads."oid" JOIN pg_namespace n ON n."oid" = c.relnamespace
WHERE n.nspname <> current_schema() OR left(c.relname, 1) = '_'
ORDER BY 1 LIMIT 1`, name).Scan(&found)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("list what the view reads: %s", sqliteMessage(err))
	}
	if found != "" {
		if schema, table, ok := strings.Cut(found, "."); ok && schema == s.currentSchema() {
			found = table
		}
		return found, nil
	}
	// The catalogs of pg_catalog are pinned: reads of them leave no
	// pg_depend row. The plan names every relation it scans.
	var plan string
	if err := s.q.QueryRowContext(s.ctx, `EXPLAIN (VERBOSE, FORMAT JSON) SELECT * FROM `+quoteIdent(name)).Scan(&plan); err != nil {
		return "", fmt.Errorf("explain the view: %s", sqliteMessage(err))
	}
	var tree any
	if err := json.Unmarshal([]byte(plan), &tree); err != nil {
		return "", fmt.Errorf("explain the view: %w", err)
	}
	schema := s.currentSchema()
	if found := pgPlanReads(tree, func(sch, rel string) bool { return sch != schema || strings.HasPrefix(rel, "_") }); found != "" {
		return strings.TrimPrefix(found, schema+"."), nil
	}
	def, err := s.pgViewDef(name)
	if err != nil {
		return "", fmt.Errorf("read the view: %s", sqliteMessage(err))
	}
	if m := pgForbiddenFuncRe.FindStringSubmatch(def); m != nil {
		return m[1], nil
	}
	return "", nil
}

// pgPlanReads returns "schema.relation" of the first relation scanned in
// the JSON plan tree for which bad is true, or "".
func pgPlanReads(tree any, bad func(schema, rel string) bool) string {
	switch x := tree.(type) {
	case []any:
		for _, v := range x {
			if f := pgPlanReads(v, bad); f != "" {
				return f
			}
		}
	case map[string]any:
		if rel, ok := x["Relation Name"].(string); ok {
			sch, _ := x["Schema"].(string)
			if bad(sch, rel) {
				return sch + "." + rel
			}
		}
		for _, v := range x {
			if f := pgPlanReads(v, bad); f != "" {
				return f
			}
		}
	}
	return ""
}

// currentSchema returns the schema of the transaction ("" when unknown).
func (s *schemaTx) currentSchema() string {
	var n string
	_ = s.q.QueryRowContext(s.ctx, `SELECT current_schema()`).Scan(&n)
	return n
}
