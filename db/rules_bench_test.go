package db

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/monobase/monobase/db/filter"
)

// rulesBenchPosts is how many posts BenchmarkListUnderRule seeds, written
// by rulesBenchAuthors authors in turn.
const (
	rulesBenchPosts   = 100_000
	rulesBenchAuthors = 100
)

func rulesBenchAuthor(i int) string { return fmt.Sprintf("author%09d", i%rulesBenchAuthors) }

// seedRulesBench creates "posts" (title, status, author relation to users)
// with the given indexes and inserts rulesBenchPosts rows with multi-row
// INSERTs in one transaction.
func seedRulesBench(b *testing.B, indexes ...string) (*DB, *Collection, *Collection) {
	b.Helper()
	ctx := context.Background()
	d := openTest(b)
	users, err := d.Collection("users")
	if err != nil {
		b.Fatal(err)
	}
	posts, err := d.CreateCollection(ctx, &Collection{Name: "posts", ListRule: sptr(""),
		Indexes: indexes,
		Fields: []*Field{
			{Name: "title", Type: FieldText},
			{Name: "status", Type: FieldSelect, Values: []string{"draft", "published"}, MaxSelect: 1},
			{Name: "author", Type: FieldRelation, Collection: users.ID, MaxSelect: 1},
		}})
	if err != nil {
		b.Fatal(err)
	}
	tx, err := d.Begin(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = tx.Rollback() }()
	const chunk = 500
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for start := 0; start < rulesBenchPosts; start += chunk {
		var sb strings.Builder
		sb.WriteString(`INSERT INTO "posts" ("id", "created", "updated", "title", "status", "author") VALUES `)
		args := make([]any, 0, chunk*6)
		for i := start; i < start+chunk && i < rulesBenchPosts; i++ {
			if i > start {
				sb.WriteString(", ")
			}
			sb.WriteString("(?, ?, ?, ?, ?, ?)")
			at := FormatDate(base.Add(time.Duration(i) * time.Second))
			status := "draft"
			if i%3 == 0 {
				status = "published"
			}
			args = append(args, fmt.Sprintf("p%014d", i), at, at, fmt.Sprintf("post %d", i), status, rulesBenchAuthor(i))
		}
		if _, err := tx.ExecContext(ctx, sb.String(), args...); err != nil {
			b.Fatalf("seed: %v", err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	return d, users, posts
}

// BenchmarkListUnderRule compares a list of 50 posts in the engine's
// default order (rowid: insertion) under the rule
// `author = @request.auth.id` with the same list and no rule, over 100,000
// posts by 100 authors taking turns, with an index on author (the setup of
// issue 4). The rule is parsed (cached) and compiled on every iteration, as
// the engine does once per request. Both plans read 50 rows without a
// sort (no rule: the first 50 rows of the table; under the rule: the
// author's first 50 index entries, in rowid order), so the difference is
// the index search plus 50 row lookups spread over the table, one b-tree
// descent each, against 50 neighbouring rows. "one viewer" lists as the
// same author every time, to show that the cost is those lookups, not a
// cold page cache.
func BenchmarkListUnderRule(b *testing.B) {
	d, users, posts := seedRulesBench(b, `CREATE INDEX "idx_posts_author" ON "posts" ("author")`)
	b.Run("no rule", func(b *testing.B) { listUnderRule(b, d, users, posts, "", true) })
	b.Run("author = @request.auth.id", func(b *testing.B) { listUnderRule(b, d, users, posts, "author = @request.auth.id", true) })
	b.Run("author = @request.auth.id, one viewer", func(b *testing.B) { listUnderRule(b, d, users, posts, "author = @request.auth.id", false) })
}

// listUnderRule lists 50 posts under rule ("" for none), as a different
// author on every iteration when rotate is set (each viewer's rows are on
// other pages), else always as the same one.
func listUnderRule(b *testing.B, d *DB, users, posts *Collection, rule string, rotate bool) {
	ctx := context.Background()
	order := []Cond{{SQL: `"r"."rowid"`}} // the engine's default order for tables
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		q := &Query{Collection: posts, Alias: "r", OrderBy: order, Limit: 50}
		if rule != "" {
			e, err := filter.ParseCached(rule)
			if err != nil {
				b.Fatal(err)
			}
			req := &RequestInfo{AuthCollection: users, Auth: Record{"id": rulesBenchAuthor(i)}, Method: "POST", Context: "default"}
			cond, err := d.CompileRule(posts, "r", e, req)
			if err != nil {
				b.Fatal(err)
			}
			q.Where = []Cond{cond}
		}
		recs, err := d.Find(ctx, q)
		if err != nil {
			b.Fatal(err)
		}
		if len(recs) != 50 {
			b.Fatalf("%d rows", len(recs))
		}
		if rotate {
			i++
		}
	}
}
