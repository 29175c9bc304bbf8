package db

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/monobase/monobase/apperr"
	"github.com/monobase/monobase/internal/testdb"
	"golang.org/x/crypto/bcrypt"
)

func init() { bcryptCost = bcrypt.MinCost }

// openTest opens a fresh database in a temp dir, closed at the end.
func openTest(t testing.TB) *DB {
	t.Helper()
	return openDir(t, t.TempDir())
}

func openDir(t testing.TB, dir string) *DB {
	t.Helper()
	d, err := openWith(t, dir)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { _ = d.Close() })
	return d
}

// openWith is Open of dir on the engine of the test run (the same
// PostgreSQL schema for the same dir); the caller closes the DB.
func openWith(t testing.TB, dir string, opts ...Option) (*DB, error) {
	t.Helper()
	if u := testdb.URL(t, dir); u != "" {
		opts = append(opts, WithPostgres(u))
	}
	return Open(context.Background(), dir, opts...)
}

// catalogSQL lists the tables, views and indexes of the database: type,
// name and definition (SQLite's sqlite_master; on PostgreSQL the current
// schema's pg_class with columns and deparsed definitions).
func catalogSQL(d *DB) string {
	if d.Engine() == EnginePostgres {
		return `SELECT c.relkind::text, c.relname, COALESCE(CASE c.relkind
  WHEN 'v' THEN pg_get_viewdef(c."oid") WHEN 'i' THEN pg_get_indexdef(c."oid") END, '') || ' ' || COALESCE((SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod), ', ' ORDER BY a.attnum)
  FROM pg_attribute a WHERE a.attrelid = c."oid" AND a.attnum > 0 AND NOT a.attisdropped), '')
FROM pg_class c WHERE c.relnamespace = (SELECT "oid" FROM pg_namespace WHERE nspname = current_schema()) ORDER BY 1, 2`
	}
	return `SELECT "type", "name", COALESCE("sql", '') FROM "sqlite_master" ORDER BY "type", "name"`
}

// columnTypes returns the declared type of each column of table, without
// PostgreSQL's physical row key.
func columnTypes(t testing.TB, d *DB, table string) map[string]string {
	t.Helper()
	q := `SELECT "name", "type" FROM pragma_table_info(?)`
	if d.Engine() == EnginePostgres {
		q = `SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ? AND column_name <> 'rowid'`
	}
	rows, err := d.readers.DB.QueryContext(context.Background(), q, table)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	got := map[string]string{}
	for rows.Next() {
		var n, ty string
		if err := rows.Scan(&n, &ty); err != nil {
			t.Fatal(err)
		}
		got[n] = ty
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return got
}

// schemaState describes the database schema and the stored definitions,
// to compare before and after a refused change.
func schemaState(t testing.TB, d *DB) string {
	t.Helper()
	ctx := context.Background()
	var lines []string
	rows, err := d.readers.DB.QueryContext(ctx, catalogSQL(d))
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var a, b, c string
		if err := rows.Scan(&a, &b, &c); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, a+" "+b+": "+c)
	}
	rows.Close()
	rows, err = d.readers.DB.QueryContext(ctx, `SELECT "id", "name", "data" FROM "_collections" ORDER BY "rowid"`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var a, b, c string
		if err := rows.Scan(&a, &b, &c); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, "def "+a+" "+b+": "+c)
	}
	rows.Close()
	var names []string
	for _, c := range d.Collections() {
		names = append(names, c.ID+"="+c.Name+fmt.Sprint(len(c.Fields)))
	}
	sort.Strings(names)
	lines = append(lines, "snapshot "+strings.Join(names, ","))
	return strings.Join(lines, "\n")
}

func mustCreate(t testing.TB, d *DB, c *Collection) *Collection {
	t.Helper()
	out, err := d.CreateCollection(context.Background(), c)
	if err != nil {
		t.Fatalf("create %s: %v", c.Name, err)
	}
	return out
}

// fieldErrs returns the per-field messages of an Invalid error, failing the
// test for any other error.
func fieldErrs(t testing.TB, err error) map[string]apperr.FieldError {
	t.Helper()
	e := apperr.As(err)
	if e == nil || e.Code != apperr.Invalid {
		t.Fatalf("want BAD_USER_INPUT, got %v", err)
	}
	return e.Fields
}

// insert runs one insert in its own transaction.
func insert(t testing.TB, d *DB, c *Collection, in RecordInput) (Record, error) {
	t.Helper()
	tx, err := d.Begin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	rec, err := tx.Insert(c, in)
	if err != nil {
		return nil, err
	}
	return rec, tx.Commit()
}

func mustInsert(t testing.TB, d *DB, c *Collection, in RecordInput) Record {
	t.Helper()
	rec, err := insert(t, d, c, in)
	if err != nil {
		t.Fatalf("insert into %s: %v", c.Name, err)
	}
	return rec
}

func findAll(t testing.TB, d *DB, c *Collection) []Record {
	t.Helper()
	recs, err := d.Find(context.Background(), &Query{Collection: c})
	if err != nil {
		t.Fatalf("find %s: %v", c.Name, err)
	}
	return recs
}

func fptr(v float64) *float64 { return &v }
func sptr(v string) *string   { return &v }

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }
