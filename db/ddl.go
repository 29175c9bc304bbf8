package db

// DDL of user collections: tables, columns, indexes and views. Everything
// runs inside the collection change's transaction, so a failure anywhere
// leaves the schema as it was.

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"

	"github.com/monobase/monobase/apperr"
)

func (s *schemaTx) exec(query string, args ...any) error {
	_, err := s.q.ExecContext(s.ctx, query, args...)
	return err
}

// sqliteMessage strips the driver's decoration from an SQLite error for
// messages shown to admins.
func sqliteMessage(err error) string {
	msg := err.Error()
	if i := strings.Index(msg, ": "); i >= 0 && strings.HasPrefix(msg, "SQL logic error") {
		msg = msg[i+2:]
	}
	if i := strings.LastIndex(msg, " ("); i > 0 && strings.HasSuffix(msg, ")") {
		msg = msg[:i]
	}
	return msg
}

func columnDef(f *Field) string {
	if f.System && f.Name == "id" {
		return `"id" TEXT PRIMARY KEY NOT NULL`
	}
	def := quoteIdent(f.Name) + " " + ColumnType(f)
	if f.Multiple() {
		def += " DEFAULT '[]'"
	}
	return def
}

// createDDL creates the table (or view) of c and its indexes. Definition
// problems go to fe; the error is for anything else.
func (s *schemaTx) createDDL(c *Collection, prefix string, fe *apperr.FieldErrors) error {
	if c.Type == TypeView {
		s.createView(nil, c, prefix, fe)
		return nil
	}
	cols := make([]string, 0, len(c.Fields))
	first := []string{"id", "created", "updated"}
	for _, n := range first {
		if f := c.FieldByName(n); f != nil && f.System {
			cols = append(cols, columnDef(f))
		}
	}
	for _, f := range c.Fields {
		if f.System && slices.Contains(first, f.Name) {
			continue
		}
		cols = append(cols, columnDef(f))
	}
	if err := s.exec("CREATE TABLE " + quoteIdent(c.Name) + " (" + strings.Join(cols, ", ") + ")"); err != nil {
		return fmt.Errorf("create table: %s", sqliteMessage(err))
	}
	if err := s.createSystemIndexes(c); err != nil {
		return err
	}
	s.createIndexes(c, prefix, fe)
	return nil
}

// createSystemIndexes adds the unique indexes of auth collections: email
// (case-insensitive) and tokenKey. They are named after the collection id,
// so a rename of the table keeps them.
func (s *schemaTx) createSystemIndexes(c *Collection) error {
	if c.Type != TypeAuth {
		return nil
	}
	t := quoteIdent(c.Name)
	for _, q := range []string{
		`CREATE UNIQUE INDEX ` + quoteIdent("_mb_"+c.ID+"_email") + ` ON ` + t + ` ("email" COLLATE NOCASE)`,
		`CREATE UNIQUE INDEX ` + quoteIdent("_mb_"+c.ID+"_tokenKey") + ` ON ` + t + ` ("tokenKey")`,
	} {
		if err := s.exec(q); err != nil {
			return fmt.Errorf("create system index: %s", sqliteMessage(err))
		}
	}
	return nil
}

// createIndexes executes the index definitions of c; each failure is a
// message on "indexes.N".
func (s *schemaTx) createIndexes(c *Collection, prefix string, fe *apperr.FieldErrors) {
	for i, q := range c.Indexes {
		if err := s.exec(q); err != nil {
			fe.Add(fmt.Sprintf("%sindexes.%d", prefix, i), "invalid", "%s", sqliteMessage(err))
		}
	}
}

// dropUserIndexes drops the indexes of table except the system ones; with
// columns, only those that use one of them.
func (s *schemaTx) dropUserIndexes(table string, columns []string) error {
	rows, err := s.q.QueryContext(s.ctx, `SELECT "name" FROM "sqlite_master"
WHERE "type" = 'index' AND "tbl_name" = ? COLLATE NOCASE AND "sql" IS NOT NULL AND "name" NOT LIKE '\_mb\_%' ESCAPE '\'`, table)
	if err != nil {
		return fmt.Errorf("list indexes of %s: %w", table, err)
	}
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return fmt.Errorf("list indexes of %s: %w", table, err)
		}
		names = append(names, n)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("list indexes of %s: %w", table, err)
	}
	for _, n := range names {
		if columns != nil {
			uses, err := s.indexUses(n, columns)
			if err != nil {
				return err
			}
			if !uses {
				continue
			}
		}
		if err := s.exec("DROP INDEX " + quoteIdent(n)); err != nil {
			return fmt.Errorf("drop index %s: %w", n, err)
		}
	}
	return nil
}

// alterDDL changes the table of old into the one of c: fields matched by
// id keep their column (renamed when the name changed), missing fields are
// dropped, new ones added; a type change must keep the stored values
// meaningful.
func (s *schemaTx) alterDDL(old, c *Collection, prefix string, fe *apperr.FieldErrors) {
	if c.Type == TypeView {
		s.createView(old, c, prefix, fe)
		return
	}
	n := len(*fe)
	type rename struct{ from, to string }
	var renames []rename
	var adds, converts []*Field
	var drops []string
	for _, f := range c.Fields {
		of := old.FieldByID(f.ID)
		if of == nil {
			adds = append(adds, f)
			continue
		}
		if storageClass(of) != storageClass(f) {
			if of.Type == f.Type && of.Multiple() != f.Multiple() {
				converts = append(converts, f)
			} else {
				fe.Add(s.keyOf(f, prefix)+".type", "invalid",
					"can't change the field %q from %s to %s: the stored values are not compatible; add a new field instead",
					of.Name, describeType(of), describeType(f))
			}
		}
		if of.Name != f.Name {
			renames = append(renames, rename{of.Name, f.Name})
		}
		if f.Type == FieldNumber && of.Type == FieldNumber && f.OnlyInt && !of.OnlyInt {
			s.checkIntValues(old.Name, of.Name, s.keyOf(f, prefix)+".onlyInt", fe)
		}
	}
	for _, of := range old.Fields {
		if c.FieldByID(of.ID) == nil {
			drops = append(drops, of.Name)
		}
	}
	if len(*fe) > n {
		return
	}
	table := old.Name
	fail := func(key, format string, args ...any) { fe.Add(prefix+key, "invalid", format, args...) }

	// When the admin left the indexes as they were, SQLite carries them
	// through renames and only those on dropped columns go; otherwise they
	// are all recreated from the new definition.
	keepIndexes := slices.Equal(renderIndexes(old.Indexes, c.Name), c.Indexes)
	if !keepIndexes {
		if err := s.dropUserIndexes(table, nil); err != nil {
			fail("indexes", "%v", err)
			return
		}
	} else if len(drops) > 0 {
		if err := s.dropUserIndexes(table, drops); err != nil {
			fail("indexes", "%v", err)
			return
		}
	}
	for _, name := range drops {
		if err := s.exec("ALTER TABLE " + quoteIdent(table) + " DROP COLUMN " + quoteIdent(name)); err != nil {
			fail("fields", "can't drop the field %q: %s", name, sqliteMessage(err))
			return
		}
	}
	// Two phases so that names may be swapped.
	for i, r := range renames {
		if err := s.exec("ALTER TABLE " + quoteIdent(table) + " RENAME COLUMN " + quoteIdent(r.from) + " TO " + quoteIdent(fmt.Sprintf("_mb_tmp_%d", i))); err != nil {
			fail("fields", "can't rename the field %q: %s", r.from, sqliteMessage(err))
			return
		}
	}
	for i, r := range renames {
		if err := s.exec("ALTER TABLE " + quoteIdent(table) + " RENAME COLUMN " + quoteIdent(fmt.Sprintf("_mb_tmp_%d", i)) + " TO " + quoteIdent(r.to)); err != nil {
			fail("fields", "can't rename the field %q to %q: %s", r.from, r.to, sqliteMessage(err))
			return
		}
	}
	for _, f := range converts {
		col := quoteIdent(f.Name)
		var q string
		if f.Multiple() {
			q = "UPDATE " + quoteIdent(table) + " SET " + col + " = CASE WHEN " + col + " IS NULL OR " + col + " = '' THEN '[]' " +
				"WHEN json_valid(" + col + ") AND json_type(" + col + ") = 'array' THEN " + col + " ELSE json_array(" + col + ") END"
		} else {
			q = "UPDATE " + quoteIdent(table) + " SET " + col + " = CASE WHEN json_valid(" + col + ") AND json_type(" + col + ") = 'array' " +
				"THEN json_extract(" + col + ", '$[0]') ELSE " + col + " END"
		}
		if err := s.exec(q); err != nil {
			fail("fields", "can't convert the values of %q: %s", f.Name, sqliteMessage(err))
			return
		}
	}
	for _, f := range adds {
		if err := s.exec("ALTER TABLE " + quoteIdent(table) + " ADD COLUMN " + columnDef(f)); err != nil {
			fe.Add(s.keyOf(f, prefix)+".name", "invalid", "can't add the field %q: %s", f.Name, sqliteMessage(err))
			return
		}
	}
	if old.Name != c.Name {
		if err := s.exec("ALTER TABLE " + quoteIdent(table) + " RENAME TO " + quoteIdent(c.Name)); err != nil {
			fail("name", "can't rename the collection: %s", sqliteMessage(err))
			return
		}
	}
	if !keepIndexes {
		s.createIndexes(c, prefix, fe)
		return
	}
	kept, err := s.indexSQL(c.Name, old.Indexes)
	if err != nil {
		fail("indexes", "%v", err)
		return
	}
	c.Indexes = kept
}

// renderIndexes returns the canonical SQL of the index definitions on
// table (definitions that do not parse are kept as they are).
func renderIndexes(defs []string, table string) []string {
	out := make([]string, len(defs))
	for i, d := range defs {
		if p, msg := parseIndex(d); msg == "" {
			out[i] = p.sql(table)
		} else {
			out[i] = d
		}
	}
	return out
}

// indexSQL returns, in the order of defs, the SQL SQLite now stores for
// the indexes defs name on table (renames rewrite it); dropped ones are
// left out.
func (s *schemaTx) indexSQL(table string, defs []string) ([]string, error) {
	out := make([]string, 0, len(defs))
	for _, d := range defs {
		p, msg := parseIndex(d)
		if msg != "" {
			continue
		}
		var text string
		err := s.q.QueryRowContext(s.ctx, `SELECT "sql" FROM "sqlite_master" WHERE "type" = 'index' AND "name" = ? COLLATE NOCASE AND "tbl_name" = ? COLLATE NOCASE`, p.Name, table).Scan(&text)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read index %s: %w", p.Name, err)
		}
		out = append(out, text)
	}
	return out, nil
}

func describeType(f *Field) string {
	if f.Multiple() {
		return fmt.Sprintf("%s (multiple)", f.Type)
	}
	return string(f.Type)
}

// dropDDL drops the table or view of c (its indexes go with it).
func (s *schemaTx) dropDDL(c *Collection) error {
	kind := "TABLE"
	if c.Type == TypeView {
		kind = "VIEW"
	}
	if err := s.exec("DROP " + kind + " IF EXISTS " + quoteIdent(c.Name)); err != nil {
		return fmt.Errorf("%s", sqliteMessage(err))
	}
	if c.IsAuth() {
		return deleteAuthState(s.ctx, s.q, c, "")
	}
	return nil
}

// ---- views -------------------------------------------------------------

// viewOverrideTypes are the types an admin may give a view column instead
// of the inferred one.
var viewOverrideTypes = []FieldType{FieldText, FieldEditor, FieldNumber, FieldBool, FieldEmail, FieldURL, FieldDate, FieldJSON}

// createView (re)creates the view of c from its query and infers its
// fields. old is the previous definition or nil.
func (s *schemaTx) createView(old, c *Collection, prefix string, fe *apperr.FieldErrors) {
	if old != nil {
		if err := s.exec("DROP VIEW IF EXISTS " + quoteIdent(old.Name)); err != nil {
			fe.Add(prefix+"viewQuery", "invalid", "can't replace the view: %s", sqliteMessage(err))
			return
		}
	}
	if err := s.exec("CREATE VIEW " + quoteIdent(c.Name) + " AS " + c.ViewQuery); err != nil {
		fe.Add(prefix+"viewQuery", "invalid", "%s", sqliteMessage(err))
		return
	}
	if table, err := s.systemTableRead(c.Name); err != nil || table != "" {
		msg := fmt.Sprintf("a view can't read the system table %q", table)
		if err != nil {
			msg = err.Error()
		}
		fe.Add(prefix+"viewQuery", "forbidden", "%s", msg)
		return
	}
	fields, msgKey, err := s.inferViewFields(c.Name, old, c.Fields, prefix)
	if err != nil {
		fe.Add(msgKey, "invalid", "%s", err.Error())
		return
	}
	c.Fields = fields
}

type viewColumn struct {
	name, decl string
}

func (s *schemaTx) viewColumns(name string) ([]viewColumn, error) {
	rows, err := s.q.QueryContext(s.ctx, `SELECT "name", "type" FROM pragma_table_info(?)`, name)
	if err != nil {
		return nil, fmt.Errorf("%s", sqliteMessage(err))
	}
	defer rows.Close()
	var out []viewColumn
	for rows.Next() {
		var vc viewColumn
		if err := rows.Scan(&vc.name, &vc.decl); err != nil {
			return nil, fmt.Errorf("%s", sqliteMessage(err))
		}
		out = append(out, vc)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s", sqliteMessage(err))
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("the view has no columns")
	}
	return out, nil
}

// inferViewFields builds the fields of the view name from its columns:
// "id" is the system id; declared REAL/INTEGER/NUMERIC columns are NUMBER,
// TEXT columns TEXT; expression columns take the type of their first value
// (NUMBER or TEXT, JSON when unknown). A type given for the column in
// given (or kept from old) wins when it is a scalar type.
func (s *schemaTx) inferViewFields(name string, old *Collection, given []*Field, prefix string) ([]*Field, string, error) {
	cols, err := s.viewColumns(name)
	if err != nil {
		return nil, prefix + "viewQuery", err
	}
	byName := func(list []*Field, n string) *Field {
		for _, f := range list {
			if f != nil && f.Name == n {
				return f
			}
		}
		return nil
	}
	var sample map[string]any
	seen := map[string]bool{}
	ids := map[string]bool{}
	fields := make([]*Field, 0, len(cols))
	hasID := false
	for _, vc := range cols {
		if !fieldNameRe.MatchString(vc.name) || len(vc.name) > maxNameLen {
			return nil, prefix + "viewQuery", fmt.Errorf("the column %q is not a valid field name: alias it (AS name)", vc.name)
		}
		if seen[strings.ToLower(vc.name)] {
			return nil, prefix + "viewQuery", fmt.Errorf("the column name %q appears twice: alias one of them", vc.name)
		}
		seen[strings.ToLower(vc.name)] = true
		if vc.name == "id" {
			hasID = true
			f := systemField("id")
			f.Min, f.Max, f.Pattern = nil, nil, ""
			fields = append(fields, f)
			ids[f.ID] = true
			continue
		}
		f := &Field{Name: vc.name, Hidden: vc.name == "password" || vc.name == "tokenKey"}
		decl := strings.ToUpper(vc.decl)
		switch {
		case strings.Contains(decl, "INT"), strings.Contains(decl, "REAL"), strings.Contains(decl, "FLOA"),
			strings.Contains(decl, "DOUB"), strings.Contains(decl, "NUM"):
			f.Type = FieldNumber
		case strings.Contains(decl, "TEXT"), strings.Contains(decl, "CHAR"), strings.Contains(decl, "CLOB"):
			f.Type = FieldText
		}
		var prev *Field
		if g := byName(given, vc.name); g != nil {
			prev = g
		} else if old != nil {
			prev = old.FieldByName(vc.name)
		}
		if prev != nil {
			if prev.ID != "" && defIDRe.MatchString(prev.ID) && !ids[prev.ID] {
				f.ID = prev.ID
			}
			if slices.Contains(viewOverrideTypes, prev.Type) && (f.Type == "" || prev.Type != FieldNumber || f.Type == FieldNumber) {
				f.Type = prev.Type
			}
			f.Hidden = f.Hidden || prev.Hidden
		}
		if f.Type == "" {
			if sample == nil {
				sample, err = s.sampleRow(name)
				if err != nil {
					return nil, prefix + "viewQuery", err
				}
			}
			switch sample[vc.name].(type) {
			case int64, float64:
				f.Type = FieldNumber
			case string, []byte:
				f.Type = FieldText
			default:
				f.Type = FieldJSON
			}
		}
		if f.ID == "" {
			for f.ID == "" || ids[f.ID] {
				f.ID = "f" + randomString(9, idAlphabet)
			}
		}
		ids[f.ID] = true
		fields = append(fields, f)
	}
	if !hasID {
		return nil, prefix + "viewQuery", fmt.Errorf("the view query must select an id column")
	}
	return fields, "", nil
}

// sampleRow returns the first row of the view (empty when it has none).
func (s *schemaTx) sampleRow(name string) (map[string]any, error) {
	rows, err := s.q.QueryContext(s.ctx, "SELECT * FROM "+quoteIdent(name)+" LIMIT 1")
	if err != nil {
		return nil, fmt.Errorf("%s", sqliteMessage(err))
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	out := map[string]any{}
	if rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, fmt.Errorf("%s", sqliteMessage(err))
		}
		for i, c := range cols {
			out[c] = vals[i]
		}
	}
	return out, rows.Err()
}

// refreshViews rechecks every view collection after tables changed: a
// view that no longer works refuses the change; a view whose SQL SQLite
// rewrote (renamed tables or columns) or whose columns changed gets its
// definition updated.
func (s *schemaTx) refreshViews() error {
	var fe apperr.FieldErrors
	for _, c := range slices.Clone(s.cols) {
		if c.Type != TypeView {
			continue
		}
		var text string
		err := s.q.QueryRowContext(s.ctx, `SELECT "sql" FROM "sqlite_master" WHERE "type" = 'view' AND "name" = ?`, c.Name).Scan(&text)
		if err != nil {
			fe.Add(c.Name, "invalid", "the view of the collection %q is missing", c.Name)
			continue
		}
		q := c.ViewQuery
		if p := "CREATE VIEW " + quoteIdent(c.Name) + " AS "; strings.HasPrefix(text, p) {
			q = text[len(p):]
		}
		fields, _, err := s.inferViewFields(c.Name, c, nil, "")
		if err == nil {
			_, err = s.sampleRow(c.Name)
		}
		if err != nil {
			fe.Add(c.Name, "invalid", "the change breaks the view collection %q: %v", c.Name, err)
			continue
		}
		if q != c.ViewQuery || !sameFields(fields, c.Fields) {
			nc := cloneCollection(c)
			nc.ViewQuery = q
			nc.Fields = fields
			nc.Updated = s.now
			s.put(nc)
		}
	}
	return fe.Err(invalidCollection)
}

func sameFields(a, b []*Field) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(ja) == string(jb)
}

// indexUses reports whether the index uses one of columns, as a column
// or (for expression indexes, roughly) inside its SQL.
func (s *schemaTx) indexUses(index string, columns []string) (bool, error) {
	rows, err := s.q.QueryContext(s.ctx, `SELECT "name" FROM pragma_index_xinfo(?) WHERE "key" = 1`, index)
	if err != nil {
		return false, fmt.Errorf("columns of index %s: %w", index, err)
	}
	defer rows.Close()
	expr := false
	for rows.Next() {
		var name sql.NullString
		if err := rows.Scan(&name); err != nil {
			return false, fmt.Errorf("columns of index %s: %w", index, err)
		}
		if !name.Valid {
			expr = true
			continue
		}
		if slices.ContainsFunc(columns, func(c string) bool { return strings.EqualFold(c, name.String) }) {
			return true, nil
		}
	}
	if err := rows.Err(); err != nil {
		return false, err
	}
	var text string
	if err := s.q.QueryRowContext(s.ctx, `SELECT COALESCE("sql", '') FROM "sqlite_master" WHERE "name" = ?`, index).Scan(&text); err != nil {
		return false, fmt.Errorf("read index %s: %w", index, err)
	}
	// Partial indexes name columns in WHERE; expressions inside the key.
	if expr || strings.Contains(strings.ToUpper(text), " WHERE ") {
		for _, c := range columns {
			if regexp.MustCompile(`(?i)(^|[^A-Za-z0-9_])` + regexp.QuoteMeta(c) + `([^A-Za-z0-9_]|$)`).MatchString(text) {
				return true, nil
			}
		}
	}
	return false, nil
}

// checkIntValues reports under key when the column col of table holds a
// value that is not a 32-bit integer (what an onlyInt field reads as: a
// GraphQL Int), so that turning onlyInt on never makes reads fail.
func (s *schemaTx) checkIntValues(table, col, key string, fe *apperr.FieldErrors) {
	c := quoteIdent(col)
	var id string
	err := s.q.QueryRowContext(s.ctx, `SELECT "id" FROM `+quoteIdent(table)+` WHERE `+c+` IS NOT NULL AND (`+c+` <> CAST(`+c+` AS INTEGER) OR `+c+` > ? OR `+c+` < ?) LIMIT 1`,
		math.MaxInt32, math.MinInt32).Scan(&id)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		fe.Add(key, "invalid", "can't check the values of %q: %s", col, sqliteMessage(err))
	default:
		fe.Add(key, "invalid", "the field %q holds values that are not 32-bit integers (record %q): change them first", col, id)
	}
}

// systemTableRead returns the name of a system table (or index of one) that
// the view name reads, or "". System tables are the schema table, the ones
// whose names start with _ (_superusers, _params, _collections,
// _migrations...) and SQLite's sqlite_*. It compiles SELECT * FROM the view
// with EXPLAIN and compares the b-tree root pages that the program opens
// with those of the system tables and their indexes, so aliases, quoting,
// schema prefixes, subqueries, CTEs and views over views are all seen
// through.
func (s *schemaTx) systemTableRead(name string) (string, error) {
	forbidden := map[int64]string{1: "sqlite_schema"}
	rows, err := s.q.QueryContext(s.ctx, `SELECT "tbl_name", "rootpage" FROM "sqlite_schema" WHERE "type" IN ('table', 'index') AND "rootpage" > 0 AND (substr("tbl_name", 1, 1) = '_' OR lower(substr("tbl_name", 1, 7)) = 'sqlite_')`)
	if err != nil {
		return "", fmt.Errorf("list the system tables: %s", sqliteMessage(err))
	}
	for rows.Next() {
		var table string
		var page int64
		if err := rows.Scan(&table, &page); err != nil {
			rows.Close()
			return "", fmt.Errorf("list the system tables: %s", sqliteMessage(err))
		}
		forbidden[page] = table
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return "", fmt.Errorf("list the system tables: %s", sqliteMessage(err))
	}

	rows, err = s.q.QueryContext(s.ctx, "EXPLAIN SELECT * FROM "+quoteIdent(name))
	if err != nil {
		return "", fmt.Errorf("%s", sqliteMessage(err))
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return "", fmt.Errorf("explain the view: %w", err)
	}
	// EXPLAIN's columns: addr, opcode, p1, p2, p3, p4, p5, comment.
	if len(cols) < 4 {
		return "", fmt.Errorf("explain the view: unexpected columns %v", cols)
	}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	found := ""
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return "", fmt.Errorf("explain the view: %s", sqliteMessage(err))
		}
		op := toText(vals[1])
		switch op {
		case "OpenRead", "OpenWrite", "ReopenIdx":
		default:
			continue
		}
		page, ok := vals[3].(int64)
		if !ok {
			return "", fmt.Errorf("explain the view: %s without a root page", op)
		}
		if t, bad := forbidden[page]; bad && found == "" {
			found = t
		}
	}
	if err := rows.Err(); err != nil {
		return "", fmt.Errorf("explain the view: %s", sqliteMessage(err))
	}
	return found, nil
}
