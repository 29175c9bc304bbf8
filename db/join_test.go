package db

import (
	"context"
	"reflect"
	"sync/atomic"
	"testing"
)

func TestFindJoined(t *testing.T) {
	ctx := context.Background()
	d := openTest(t)
	people := mustCreate(t, d, &Collection{Name: "people", Fields: []*Field{
		{Name: "name", Type: FieldText}, {Name: "secret", Type: FieldBool},
	}})
	notes := mustCreate(t, d, &Collection{Name: "notes", Fields: []*Field{
		{Name: "title", Type: FieldText},
		{Name: "author", Type: FieldRelation, Collection: people.ID, MaxSelect: 1},
		{Name: "readers", Type: FieldRelation, Collection: people.ID, MaxSelect: 5},
	}})
	ann := mustInsert(t, d, people, RecordInput{"name": "Ann"})
	bob := mustInsert(t, d, people, RecordInput{"name": "Bob", "secret": true})
	mustInsert(t, d, notes, RecordInput{"title": "by Ann", "author": ann.ID()})
	mustInsert(t, d, notes, RecordInput{"title": "by Bob", "author": bob.ID()})
	mustInsert(t, d, notes, RecordInput{"title": "by nobody"})
	mustInsert(t, d, notes, RecordInput{"title": "by Ann again", "author": ann.ID()})

	order := []Cond{{SQL: `"r"."rowid"`}}
	t.Run("each record with its related record, nil when unset", func(t *testing.T) {
		q := &Query{Collection: notes, Alias: "r", OrderBy: order, Columns: []string{"title"},
			Joins: []Join{{Field: "author", Collection: people, Alias: "a", Columns: []string{"name"}}}}
		recs, joined, err := d.FindJoined(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		var got []any
		for i, r := range recs {
			if len(r) != 2 {
				t.Errorf("record %v holds more than id and title", r)
			}
			j := joined[i]
			if j == nil {
				got = append(got, r["title"], nil)
				continue
			}
			if !reflect.DeepEqual(j, Record{"id": j.ID(), "name": j["name"]}) {
				t.Errorf("joined record %v holds more than id and name", j)
			}
			got = append(got, r["title"], j["name"])
		}
		want := []any{"by Ann", "Ann", "by Bob", "Bob", "by nobody", nil, "by Ann again", "Ann"}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("got %v, want %v", got, want)
		}
	})
	t.Run("a related record failing On reads as nil, the record stays", func(t *testing.T) {
		q := &Query{Collection: notes, Alias: "r", OrderBy: order, Limit: 2,
			Joins: []Join{{Field: "author", Collection: people, Alias: "a", On: []Cond{{SQL: `COALESCE("a"."secret", 0) = ?`, Args: []any{int64(0)}}}}}}
		recs, joined, err := d.FindJoined(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != 2 || joined[0]["name"] != "Ann" || joined[1] != nil {
			t.Errorf("got %v and %v", recs, joined)
		}
		if _, ok := joined[0]["secret"]; !ok {
			t.Errorf("all fields of the joined record are read without Columns: %v", joined[0])
		}
	})
	t.Run("join arguments come before where arguments", func(t *testing.T) {
		q := &Query{Collection: notes, Alias: "r", OrderBy: order,
			Where: []Cond{{SQL: `"r"."title" = ?`, Args: []any{"by Bob"}}},
			Joins: []Join{{Field: "author", Collection: people, Alias: "a", On: []Cond{{SQL: `"a"."name" = ?`, Args: []any{"Bob"}}}}}}
		recs, joined, err := d.FindJoined(ctx, q)
		if err != nil || len(recs) != 1 || joined[0]["name"] != "Bob" {
			t.Errorf("got %v, %v, %v", recs, joined, err)
		}
	})
	t.Run("one statement", func(t *testing.T) {
		var n atomic.Int64
		d.ObserveReads(func(string) { n.Add(1) })
		defer d.ObserveReads(nil)
		q := &Query{Collection: notes, Joins: []Join{{Field: "author", Collection: people, Alias: "a"}}}
		if _, _, err := d.FindJoined(ctx, q); err != nil {
			t.Fatal(err)
		}
		if n.Load() != 1 {
			t.Errorf("%d statements", n.Load())
		}
	})
	for _, bad := range []struct {
		name string
		j    Join
	}{
		{"a multiple relation", Join{Field: "readers", Collection: people, Alias: "a"}},
		{"not a relation", Join{Field: "title", Collection: people, Alias: "a"}},
		{"the query's alias", Join{Field: "author", Collection: people, Alias: "r"}},
		{"no collection", Join{Field: "author", Alias: "a"}},
		{"an unknown column", Join{Field: "author", Collection: people, Alias: "a", Columns: []string{"nope"}}},
	} {
		t.Run("refuses "+bad.name, func(t *testing.T) {
			if _, _, err := d.FindJoined(ctx, &Query{Collection: notes, Alias: "r", Joins: []Join{bad.j}}); err == nil {
				t.Error("no error")
			}
		})
	}
}
