package dynschema

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/monobase/monobase/db"
)

// groupBenchRows is the size of the table BenchmarkGroupBy100k groups.
const groupBenchRows = 100_000

// groupBenchEnv is the blog with 20 users and groupBenchRows posts (three
// statuses, views 0-999, a publishedAt spread over 24 months), and a pool
// of its own on the same SQLite file, opened as the engine's readers are.
func groupBenchEnv(b *testing.B) (*env, *sql.DB) {
	en := newEnv(b)
	en.blog()
	var users []string
	for i := range 20 {
		u := en.insert("users", db.RecordInput{"email": fmt.Sprintf("u%d@example.com", i), "password": "password123", "passwordConfirm": "password123"})
		users = append(users, u.ID())
	}
	posts, _ := en.d.Collection("posts")
	statuses := []any{"draft", "published", nil}
	const batch = 5000
	for start := 0; start < groupBenchRows; start += batch {
		tx, err := en.d.Begin(en.ctx)
		if err != nil {
			b.Fatal(err)
		}
		for i := start; i < start+batch; i++ {
			at := time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i%730) * 24 * time.Hour)
			if _, err := tx.Insert(posts, db.RecordInput{"title": fmt.Sprintf("post %d", i), "views": float64(i * 7 % 1000),
				"status": statuses[i%3], "author": users[i%len(users)], "publishedAt": db.FormatDate(at)}); err != nil {
				_ = tx.Rollback()
				b.Fatal(err)
			}
		}
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
	}
	conn, err := sql.Open("sqlite", filepath.Join(en.d.Dir, db.FileName)+"?_pragma=busy_timeout(5000)&_pragma=query_only(1)")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { conn.Close() })
	return en, conn
}

// BenchmarkGroupBy100k runs a groupBy over 100,000 posts as a GraphQL
// request (in process, through the auth middleware and the engine) and
// the same grouping written by hand in SQL on the same database, in turn
// in the same loop; it reports each one's time and their ratio.
//
//	go test ./dynschema -run '^$' -bench GroupBy100k -benchtime 20x
func BenchmarkGroupBy100k(b *testing.B) {
	en, conn := groupBenchEnv(b)
	h := en.auth.Middleware(en.e.Handler())
	cases := []struct {
		name, query, sql string
		cols             int
	}{
		{"status-author",
			`{ postsGroupBy(by: [status, authorId], orderBy: [{count: DESC}], limit: 100) { key { status authorId } count sum { views } avg { views } } }`,
			`SELECT status, author, COUNT(*), TOTAL(views), AVG(views) FROM posts GROUP BY status, author ORDER BY COUNT(*) DESC, status, author LIMIT 100`, 5},
		{"month",
			`{ postsGroupBy(by: [publishedAtMonth], where: {views: {gte: 100}}, limit: 100) { key { publishedAtMonth } count max { views } } }`,
			`SELECT substr(publishedAt, 1, 7), COUNT(*), MAX(views) FROM posts WHERE views >= ? GROUP BY 1 ORDER BY 1 LIMIT 100`, 3},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			body, _ := json.Marshal(map[string]string{"query": c.query})
			stmt, err := conn.Prepare(c.sql)
			if err != nil {
				b.Fatal(err)
			}
			defer stmt.Close()
			var args []any
			if c.cols == 3 {
				args = []any{100}
			}
			handSQL := func() int {
				rows, err := stmt.Query(args...)
				if err != nil {
					b.Fatal(err)
				}
				defer rows.Close()
				vals := make([]any, c.cols)
				ptrs := make([]any, c.cols)
				for i := range vals {
					ptrs[i] = &vals[i]
				}
				n := 0
				for rows.Next() {
					if err := rows.Scan(ptrs...); err != nil {
						b.Fatal(err)
					}
					n++
				}
				if err := rows.Err(); err != nil {
					b.Fatal(err)
				}
				return n
			}
			if n := handSQL(); n == 0 {
				b.Fatal("the hand-written SQL found no group")
			}
			benchRequest(b, h, string(body)) // warm both statement caches
			var gql, hand time.Duration
			b.ReportAllocs()
			for b.Loop() {
				t0 := time.Now()
				benchRequest(b, h, string(body))
				t1 := time.Now()
				handSQL()
				hand += time.Since(t1)
				gql += t1.Sub(t0)
			}
			b.ReportMetric(float64(gql.Microseconds())/float64(b.N)/1000, "groupBy-ms/op")
			b.ReportMetric(float64(hand.Microseconds())/float64(b.N)/1000, "sql-ms/op")
			b.ReportMetric(float64(gql)/float64(hand), "ratio")
		})
	}
}
