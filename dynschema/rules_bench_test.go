package dynschema

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/monobase/monobase/db"
)

// BenchmarkRuleList50 measures, end to end (auth middleware, GraphQL,
// rules, SQLite, JSON; in-process, no network), `posts(limit: 50)` over
// 100,000 posts by 100 users with an index on author: with the list rule
// "" and with `author = @request.auth.id`, as a different signed-in user
// on every request (the same 100 tokens in both cases).
func BenchmarkRuleList50(b *testing.B) {
	en := newEnv(b)
	users, _ := en.d.Collection("users")
	posts := en.create(&db.Collection{Name: "posts", Indexes: []string{`CREATE INDEX "idx_posts_author" ON "posts" ("author")`},
		Fields: []*db.Field{
			{Name: "title", Type: db.FieldText},
			{Name: "status", Type: db.FieldSelect, Values: []string{"draft", "published"}, MaxSelect: 1},
			{Name: "author", Type: db.FieldRelation, Collection: users.ID, MaxSelect: 1},
		}})
	ann, _ := en.user("ann@example.com")
	const nUsers, nPosts = 100, 100_000
	ids := make([]string, nUsers)
	tokens := make([]string, nUsers)
	tx, err := en.d.Begin(en.ctx)
	if err != nil {
		b.Fatal(err)
	}
	now := db.FormatDate(time.Now())
	for i := range ids {
		ids[i] = fmt.Sprintf("user%011d", i)
		// The users share ann's password hash; their own tokenKey signs their token.
		if _, err := tx.ExecContext(en.ctx, `INSERT INTO "users" ("id", "created", "updated", "email", "emailVisibility", "verified", "password", "tokenKey", "name") VALUES (?, ?, ?, ?, 0, 1, ?, ?, ?)`,
			ids[i], now, now, fmt.Sprintf("u%d@example.com", i), ann["password"], fmt.Sprintf("tokenkey%042d", i), fmt.Sprintf("user %d", i)); err != nil {
			b.Fatal(err)
		}
	}
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	const chunk = 500
	for start := 0; start < nPosts; start += chunk {
		var sb strings.Builder
		sb.WriteString(`INSERT INTO "posts" ("id", "created", "updated", "title", "status", "author") VALUES `)
		args := make([]any, 0, chunk*6)
		for i := start; i < start+chunk; i++ {
			if i > start {
				sb.WriteString(", ")
			}
			sb.WriteString("(?, ?, ?, ?, ?, ?)")
			at := db.FormatDate(base.Add(time.Duration(i) * time.Second))
			args = append(args, fmt.Sprintf("p%014d", i), at, at, fmt.Sprintf("post %d", i), "draft", ids[i%nUsers])
		}
		if _, err := tx.ExecContext(en.ctx, sb.String(), args...); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	recs, err := en.d.FindByIDs(en.ctx, users, ids)
	if err != nil || len(recs) != nUsers {
		b.Fatalf("users: %d %v", len(recs), err)
	}
	for _, r := range recs {
		var i int
		_, _ = fmt.Sscanf(r.ID(), "user%d", &i)
		if tokens[i], err = en.auth.IssueToken(users, r); err != nil {
			b.Fatal(err)
		}
	}
	h := en.auth.Middleware(en.e.Handler())
	body := `{"query":"{ posts(limit: 50) { id title status authorId } }"}`
	setRule := func(rule string) {
		c := *en.colls["posts"]
		c.ListRule = sp(rule)
		out, err := en.d.UpdateCollection(en.ctx, posts.ID, &c)
		if err != nil {
			b.Fatal(err)
		}
		en.colls["posts"] = out
	}
	run := func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			req := httptest.NewRequest("POST", "/graphql", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+tokens[i%nUsers])
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != http.StatusOK || strings.Contains(w.Body.String(), `"errors"`) || strings.Count(w.Body.String(), `"authorId"`) != 50 {
				b.Fatalf("status %d: %.300s", w.Code, w.Body.String())
			}
			if want := ids[i%nUsers]; en.colls["posts"].ListRule != nil && *en.colls["posts"].ListRule != "" && strings.Count(w.Body.String(), want) != 50 {
				b.Fatalf("the rule let other users' posts through: %.300s", w.Body.String())
			}
			i++
		}
	}
	b.Run("no rule", func(b *testing.B) { setRule(""); run(b) })
	b.Run("author = @request.auth.id", func(b *testing.B) { setRule("author = @request.auth.id"); run(b) })
}
