package db

import (
	"context"
	"fmt"
	"testing"
)

func TestCachedStatements(t *testing.T) {
	ctx := context.Background()
	d := openTest(t)
	notes := mustCreate(t, d, &Collection{Name: "notes", ListRule: sptr(""), Fields: []*Field{{Name: "title", Type: FieldText}}})
	first := mustInsert(t, d, notes, RecordInput{"title": "one"})

	t.Run("a reader statement follows a column added to the table", func(t *testing.T) {
		if got := findAll(t, d, notes); len(got) != 1 || got[0]["title"] != "one" {
			t.Fatalf("got %v", got)
		}
		c := *notes
		c.Fields = append(append([]*Field{}, notes.Fields...), &Field{Name: "body", Type: FieldText})
		updated, err := d.UpdateCollection(ctx, "notes", &c)
		if err != nil {
			t.Fatal(err)
		}
		notes = updated
		mustInsert(t, d, notes, RecordInput{"title": "two", "body": "text"})
		got := findAll(t, d, notes)
		bodies := map[any]any{}
		for _, r := range got {
			body, ok := r["body"]
			if !ok {
				t.Fatalf("%v has no body: the statement still reads the old columns", r)
			}
			bodies[r["title"]] = body
		}
		if len(got) != 2 || bodies["two"] != "text" || bodies["one"] != nil {
			t.Fatalf("got %v", got)
		}
	})

	t.Run("reads in transactions use the writer's statement and see the transaction's writes", func(t *testing.T) {
		for i := range 4 {
			tx, err := d.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			rec, err := tx.Insert(notes, RecordInput{"title": fmt.Sprintf("tx %d", i)})
			if err != nil {
				t.Fatal(err)
			}
			got, err := d.FindByIDs(tx.Context(), notes, []string{rec.ID(), first.ID()})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 2 {
				t.Fatalf("round %d: %d records, want the new one and the first", i, len(got))
			}
			if err := tx.Rollback(); err != nil {
				t.Fatal(err)
			}
		}
		d.reads.txStmts.mu.Lock()
		n := len(d.reads.txStmts.m)
		d.reads.txStmts.mu.Unlock()
		if n == 0 {
			t.Error("no read of a transaction was prepared on the writer")
		}
		if got := findAll(t, d, notes); len(got) != 2 {
			t.Errorf("rolled back records are visible: %d records", len(got))
		}
	})

	t.Run("a dropped and recreated table is read afresh", func(t *testing.T) {
		if err := d.DeleteCollection(ctx, "notes"); err != nil {
			t.Fatal(err)
		}
		again := mustCreate(t, d, &Collection{Name: "notes", ListRule: sptr(""), Fields: []*Field{{Name: "title", Type: FieldText}}})
		mustInsert(t, d, again, RecordInput{"title": "fresh"})
		if got := findAll(t, d, again); len(got) != 1 || got[0]["title"] != "fresh" {
			t.Fatalf("got %v", got)
		}
	})
}
