package db

import (
	"context"
	"fmt"
	"testing"

	"github.com/monobase/monobase/db/filter"
)

// TestMatchValues holds MatchValues (conditions evaluated on a record's
// values, as realtime events use it) to the same answers as the stored row
// gives, for every kind of column and operator.
func TestMatchValues(t *testing.T) {
	ctx := context.Background()
	d := openTest(t)
	users, err := d.Collection("users")
	if err != nil {
		t.Fatal(err)
	}
	posts := mustCreate(t, d, &Collection{Name: "posts", Type: TypeBase, Fields: []*Field{
		{Name: "title", Type: FieldText},
		{Name: "views", Type: FieldNumber},
		{Name: "published", Type: FieldBool},
		{Name: "tags", Type: FieldSelect, Values: []string{"a", "b", "c"}, MaxSelect: 3},
		{Name: "meta", Type: FieldJSON},
		{Name: "author", Type: FieldRelation, Collection: users.ID, MaxSelect: 1},
		{Name: "when", Type: FieldDate},
	}})
	tx, err := d.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ann, err := tx.Insert(users, RecordInput{"email": "ann@example.com", "password": "password123", "passwordConfirm": "password123", "name": "ann"})
	if err != nil {
		t.Fatal(err)
	}
	full, err := tx.Insert(posts, RecordInput{"title": "Hello", "views": 5.0, "published": true, "tags": []string{"a", "b"},
		"meta": map[string]any{"k": "v", "n": 2.0}, "author": ann.ID(), "when": "2024-05-01T10:00:00.000Z"})
	if err != nil {
		t.Fatal(err)
	}
	empty, err := tx.Insert(posts, RecordInput{})
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}

	exprs := []string{
		"title = 'Hello'", "title = 'hello'", "title ~ 'ell'", "title !~ 'x'", "title = ''", "title != ''",
		"views > 4", "views = 5", "views = '5'", "views >= 6", "views = null",
		"published = true", "published = false", "published != true",
		"tags ?= 'a'", "tags = 'a'", "tags ?= 'c'", "tags:length = 2", "tags:length = 0",
		"meta.k = 'v'", "meta.n > 1", "meta.k = null",
		"author = @request.auth.id", "author.name = 'ann'", "author.name ?= 'bob'", "author = ''",
		"when > '2024-01-01'", "when < @now", "created <= @now",
		"@request.context = 'realtime'", "id != ''",
	}
	req := &RequestInfo{AuthCollection: users, Auth: ann, Context: "realtime"}
	for _, rec := range []Record{full, empty} {
		for _, src := range exprs {
			t.Run(fmt.Sprintf("%s on the %s record", src, map[bool]string{true: "full", false: "empty"}[rec.ID() == full.ID()]), func(t *testing.T) {
				e, err := filter.Parse(src)
				if err != nil {
					t.Fatal(err)
				}
				cond, err := d.CompileRule(posts, "r", e, req)
				if err != nil {
					t.Fatal(err)
				}
				stored, err := d.FindByIDs(ctx, posts, []string{rec.ID()}, cond)
				if err != nil {
					t.Fatal(err)
				}
				got, err := d.MatchValues(ctx, posts, rec, []Cond{cond})
				if err != nil {
					t.Fatal(err)
				}
				if want := len(stored) == 1; got != want {
					t.Errorf("MatchValues = %v, the stored row says %v (SQL %s %v)", got, want, cond.SQL, cond.Args)
				}
			})
		}
	}

	t.Run("no condition matches", func(t *testing.T) {
		if ok, err := d.MatchValues(ctx, posts, empty, nil); !ok || err != nil {
			t.Errorf("got %v, %v", ok, err)
		}
	})
}
