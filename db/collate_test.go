package db

import (
	"context"
	"strings"
	"testing"

	"github.com/monobase/monobase/apperr"
)

// TestTextSortsByBytes: text sorts and compares in byte order on both
// engines (SQLite's BINARY; on PostgreSQL the columns are COLLATE "C",
// whatever the database's default collation), so that pages, ranges and
// the in-memory matcher agree.
func TestTextSortsByBytes(t *testing.T) {
	ctx := context.Background()
	d := openTest(t)
	c := mustCreate(t, d, &Collection{Name: "words", Fields: []*Field{{Name: "w", Type: FieldText}}})
	for _, w := range []string{"b", "a", "B", "A", "é", "_"} {
		mustInsert(t, d, c, RecordInput{"w": w})
	}
	recs, err := d.Find(ctx, &Query{Collection: c, Alias: "x", OrderBy: []Cond{{SQL: `"x"."w"`}}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range recs {
		got = append(got, r["w"].(string))
	}
	if strings.Join(got, " ") != "A B _ a b é" {
		t.Fatalf("order %q, want byte order", got)
	}
	if d.Engine() == EnginePostgres {
		var coll string
		err := d.readers.DB.QueryRowContext(ctx, `SELECT c.collname FROM pg_attribute a JOIN pg_collation c ON c.oid = a.attcollation
WHERE a.attrelid = '"words"'::regclass AND a.attname = 'w'`).Scan(&coll)
		if err != nil || coll != "C" {
			t.Fatalf("collation of words.w = %q, %v; want C", coll, err)
		}
	}
}

// TestNULInText: SQLite stores text with a NUL character; PostgreSQL
// cannot, and the write is refused as bad input (not an internal error),
// leaving the data as it was.
func TestNULInText(t *testing.T) {
	d := openTest(t)
	c := mustCreate(t, d, &Collection{Name: "notes", Fields: []*Field{{Name: "body", Type: FieldText}}})
	_, err := insert(t, d, c, RecordInput{"body": "a\x00b"})
	if d.Engine() == EngineSQLite {
		if err != nil {
			t.Fatalf("SQLite: %v", err)
		}
		return
	}
	if !apperr.Is(err, apperr.Invalid) {
		t.Fatalf("PostgreSQL: %v, want BAD_USER_INPUT", err)
	}
	if n, err := d.Count(context.Background(), &Query{Collection: c}); err != nil || n != 0 {
		t.Fatalf("%d records, %v", n, err)
	}
}
