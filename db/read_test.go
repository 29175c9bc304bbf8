package db

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/monobase/monobase/apperr"
	"github.com/monobase/monobase/db/filter"
)

var readUpdate = flag.Bool("read.update", false, "rewrite testdata/read.golden")

func mustParse(t testing.TB, src string) filter.Expr {
	t.Helper()
	e, err := filter.Parse(src)
	if err != nil {
		t.Fatalf("parse %q: %v", src, err)
	}
	return e
}

func mustSort(t testing.TB, src string) []filter.SortItem {
	t.Helper()
	items, err := filter.ParseSort(src)
	if err != nil {
		t.Fatalf("parse sort %q: %v", src, err)
	}
	return items
}

// readCase is one Read with the ids it must return (in order; nil: not
// checked).
type readCase struct {
	name string
	read *Read
	want []string
}

func readCases(t testing.TB, fx *fsqlFixture) []readCase {
	id := fsqlID
	anon := &RequestInfo{}
	return []readCase{
		{name: "one id", read: &Read{Collection: fx.posts, Request: anon, IDs: []string{id("p2")}},
			want: []string{id("p2")}},
		{name: "ids under a rule", read: &Read{Collection: fx.posts, Request: anon, IDs: []string{id("p1"), id("p2"), id("p3")}, Rule: mustParse(t, "status = 'published'")},
			want: []string{id("p1"), id("p3")}},
		{name: "a page in creation order", read: &Read{Collection: fx.posts, Request: anon, Limit: 2, Offset: 1},
			want: []string{id("p2"), id("p3")}},
		{name: "rule, filters and sort", read: &Read{Collection: fx.posts, Request: fx.auth(fx.u1),
			Rule: mustParse(t, "author = @request.auth.id || public = true"), Filters: []filter.Expr{mustParse(t, "status = 'published'")},
			Sort: mustSort(t, "-title"), Limit: 10}},
		{name: "a page picked first, with a joined author", read: &Read{Collection: fx.posts, Request: anon,
			Sort: mustSort(t, "title"), Limit: 2, Offset: 1, PickPage: true, Columns: []string{"title", "author"},
			Joins: []ReadJoin{{Field: "author", Collection: fx.users, Rule: mustParse(t, "verified = true"), Columns: []string{"name"}}}}},
		{name: "per parent through a single relation", read: &Read{Collection: fx.comments, Request: anon, Limit: 1,
			Parents: &Parents{Field: "post", IDs: []string{id("p1"), id("p2")}}, Columns: []string{"body", "post"}}},
		{name: "per parent through a multi relation, sorted", read: &Read{Collection: fx.comments, Request: anon, Limit: 5, Offset: 1,
			Sort: mustSort(t, "-body"), Parents: &Parents{Field: "mentions", IDs: []string{id("p3")}}}},
		{name: "a keyset page after a cursor", read: &Read{Collection: fx.posts, Request: anon, Limit: 3,
			Keyset: &Keyset{Keys: []SortKey{{Field: "views", Desc: true}, {Field: "id"}}, After: []any{nil, id("p0")}}}},
		{name: "a keyset page before a cursor, backward", read: &Read{Collection: fx.posts, Request: anon, Limit: 3,
			Keyset: &Keyset{Keys: []SortKey{{Field: "title"}, {Field: "id"}}, Before: []any{"Hello World", id("p1")}, Backward: true}}},
	}
}

// The SQL of representative reads, to review changes to the read writer
// (the engine's statements are cached by this text).
func TestReadGolden(t *testing.T) {
	fx := fsqlOpen(t)
	var b strings.Builder
	for _, c := range readCases(t, fx) {
		var q Query
		if err := fx.d.planRead(c.read, &q); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		sql, args, _, err := fx.d.selectSQL(&q)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		recs, _, err := fx.d.ReadRecords(context.Background(), c.read) // valid SQL
		if err != nil {
			t.Fatalf("%s: run: %v\n%s", c.name, err, sql)
		}
		if c.want != nil {
			got := make([]string, len(recs))
			for i, r := range recs {
				got[i] = r.ID()
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("%s: ids %v, want %v", c.name, got, c.want)
			}
		}
		as := make([]string, len(args))
		for i, a := range args {
			as[i] = fmt.Sprintf("%#v", a)
		}
		fmt.Fprintf(&b, "%s\n  %s\n  [%s]\n\n", c.name, sql, strings.Join(as, ", "))
	}
	checkGolden(t, goldenName(fx.d, "read"), "read.update", *readUpdate, b.String())
}

func TestReadSemantics(t *testing.T) {
	fx := fsqlOpen(t)
	ctx := context.Background()
	anon := &RequestInfo{}
	ids := func(t *testing.T, r *Read) []string {
		t.Helper()
		recs, _, err := fx.d.ReadRecords(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		out := make([]string, len(recs))
		for i, rec := range recs {
			out[i] = rec.ID()
		}
		return out
	}
	t.Run("keyset pages walk the order both ways without gaps", func(t *testing.T) {
		keys := []SortKey{{Field: "title"}, {Field: "id"}} // p4 has no title: NULL first
		all := ids(t, &Read{Collection: fx.posts, Request: anon, Keyset: &Keyset{Keys: keys}})
		if len(all) != 4 {
			t.Fatalf("all = %v", all)
		}
		var walked []string
		var after []any
		for range 5 {
			recs, _, err := fx.d.ReadRecords(ctx, &Read{Collection: fx.posts, Request: anon, Limit: 1, Keyset: &Keyset{Keys: keys, After: after}})
			if err != nil {
				t.Fatal(err)
			}
			if len(recs) == 0 {
				break
			}
			walked = append(walked, recs[0].ID())
			after = []any{recs[0]["title"], recs[0].ID()}
		}
		if !slices.Equal(walked, all) {
			t.Fatalf("forward walk %v, want %v", walked, all)
		}
		last := all[len(all)-1]
		lastRec, _, _ := fx.d.ReadRecords(ctx, &Read{Collection: fx.posts, IDs: []string{last}})
		back := ids(t, &Read{Collection: fx.posts, Request: anon, Keyset: &Keyset{Keys: keys, Before: []any{lastRec[0]["title"], last}, Backward: true}})
		slices.Reverse(back)
		if !slices.Equal(back, all[:len(all)-1]) {
			t.Fatalf("before the last: %v, want %v", back, all[:len(all)-1])
		}
	})
	t.Run("per parent keeps offset+limit per parent", func(t *testing.T) {
		got := ids(t, &Read{Collection: fx.comments, Request: anon, Limit: 1, Parents: &Parents{Field: "post", IDs: []string{fsqlID("p1"), fsqlID("p2")}}})
		if !slices.Equal(got, []string{fsqlID("c1"), fsqlID("c3")}) {
			t.Fatalf("got %v", got)
		}
	})
	t.Run("count and aggregate use the rule and filters", func(t *testing.T) {
		r := &Read{Collection: fx.posts, Request: anon, Rule: mustParse(t, "status = 'published'"), Filters: []filter.Expr{mustParse(t, "views > 0")}, Limit: 1}
		n, err := fx.d.ReadCount(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		want := int64(len(ids(t, &Read{Collection: fx.posts, Request: anon, Rule: r.Rule, Filters: r.Filters})))
		if n != want {
			t.Fatalf("count %d, want %d", n, want)
		}
		agg, err := fx.d.ReadAggregate(ctx, r, []string{"views"})
		if err != nil || agg[""]["count"] != want {
			t.Fatalf("aggregate %v, %v", agg, err)
		}
	})
	t.Run("match evaluates the rule and filters on values", func(t *testing.T) {
		r := &Read{Collection: fx.posts, Request: anon, Rule: mustParse(t, "status = 'published'")}
		for status, want := range map[string]bool{"published": true, "draft": false} {
			ok, err := fx.d.ReadMatch(ctx, r, Record{"id": "x", "status": status})
			if err != nil || ok != want {
				t.Errorf("%s: %t, %v", status, ok, err)
			}
		}
	})
	t.Run("compile errors name their part", func(t *testing.T) {
		for part, r := range map[string]*Read{
			"rule":   {Collection: fx.posts, Request: anon, Rule: mustParse(t, "nope = 1")},
			"filter": {Collection: fx.posts, Request: anon, Filters: []filter.Expr{mustParse(t, "nope = 1")}},
			"sort":   {Collection: fx.posts, Request: anon, Sort: mustSort(t, "nope")},
			"join":   {Collection: fx.posts, Request: anon, Joins: []ReadJoin{{Field: "author", Collection: fx.users, Rule: mustParse(t, "nope = 1")}}},
		} {
			_, _, err := fx.d.ReadRecords(ctx, r)
			var ce *CompileError
			if !errors.As(err, &ce) || ce.Part != part || apperr.CodeOf(ce.Err) != apperr.Invalid {
				t.Errorf("%s: %v", part, err)
			}
			if err := fx.d.CheckRead(r); !errors.As(err, &ce) {
				t.Errorf("CheckRead %s: %v", part, err)
			}
		}
	})
	t.Run("views cannot pick a page", func(t *testing.T) {
		if !fx.d.CanPickPage(fx.posts) || fx.d.CanPickPage(&Collection{Name: "v", Type: TypeView}) {
			t.Fatal("CanPickPage")
		}
	})
}
