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
	var opts []Option
	if u := testdb.URL(t, dir); u != "" {
		opts = append(opts, WithPostgres(u))
	}
	d, err := Open(context.Background(), dir, opts...)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { _ = d.Close() })
	return d
}

// schemaState describes the SQLite schema and the stored definitions, to
// compare before and after a refused change.
func schemaState(t testing.TB, d *DB) string {
	t.Helper()
	ctx := context.Background()
	var lines []string
	rows, err := d.readers.DB.QueryContext(ctx, `SELECT "type", "name", COALESCE("sql", '') FROM "sqlite_master" ORDER BY "type", "name"`)
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
