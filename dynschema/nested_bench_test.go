package dynschema

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/monobase/monobase/db"
)

// BenchmarkNestedCreate creates an article with its author and 3 tags, in
// each iteration both ways over loopback HTTP: one mutation with
// authorCreate and tagsCreate, and 5 separate mutations (the author, the 3
// tags, then the article with their ids). It reports the time of each way
// per article (nested-ns/op, separate-ns/op) and separate/nested (ratio),
// measured in the same run. The author is a base collection: an auth
// collection's author would add a bcrypt hash to both ways alike.
//
//	go test ./dynschema -run '^$' -bench BenchmarkNestedCreate -benchtime 2000x
func BenchmarkNestedCreate(b *testing.B) {
	en := newEnv(b)
	authors := en.create(&db.Collection{Name: "authors", Type: db.TypeBase, Fields: []*db.Field{{Name: "name", Type: db.FieldText, Required: true}}})
	tags := en.create(&db.Collection{Name: "tags", Type: db.TypeBase, Fields: []*db.Field{{Name: "name", Type: db.FieldText, Required: true}}})
	en.create(&db.Collection{Name: "articles", Type: db.TypeBase, Fields: []*db.Field{
		{Name: "title", Type: db.FieldText, Required: true},
		{Name: "author", Type: db.FieldRelation, Collection: authors.ID, MaxSelect: 1},
		{Name: "tags", Type: db.FieldRelation, Collection: tags.ID, MaxSelect: 10},
	}})
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4, DisableCompression: true}}
	post := func(query string, vars map[string]any) json.RawMessage {
		body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
		res, err := c.Post(en.srv.URL+"/graphql", "application/json", bytes.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		defer res.Body.Close()
		var out struct {
			Data   json.RawMessage
			Errors []any
		}
		if err := json.NewDecoder(res.Body).Decode(&out); err != nil || len(out.Errors) > 0 {
			b.Fatalf("status %d: %v %v", res.StatusCode, err, out.Errors)
		}
		return out.Data
	}
	id := func(data json.RawMessage) string {
		var m map[string]struct{ ID string }
		_ = json.Unmarshal(data, &m)
		for _, v := range m {
			return v.ID
		}
		return ""
	}
	const nested = `mutation($t: String!, $a: String!) { createArticle(input: {title: $t, authorCreate: {name: $a},
		tagsCreate: [{name: "go"}, {name: "sql"}, {name: "graphql"}]}) { id } }`
	const author = `mutation($n: String!) { createAuthor(input: {name: $n}) { id } }`
	const tag = `mutation($n: String!) { createTag(input: {name: $n}) { id } }`
	const article = `mutation($t: String!, $a: ID!, $tags: [ID!]) { createArticle(input: {title: $t, author: $a, tags: $tags}) { id } }`
	var nestedT, separateT time.Duration
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		name := fmt.Sprintf("author %d", i)
		start := time.Now()
		post(nested, map[string]any{"t": "nested", "a": name})
		mid := time.Now()
		a := id(post(author, map[string]any{"n": name}))
		ids := []string{id(post(tag, map[string]any{"n": "go"})), id(post(tag, map[string]any{"n": "sql"})), id(post(tag, map[string]any{"n": "graphql"}))}
		post(article, map[string]any{"t": "separate", "a": a, "tags": ids})
		end := time.Now()
		nestedT += mid.Sub(start)
		separateT += end.Sub(mid)
	}
	if b.N > 0 && nestedT > 0 {
		b.ReportMetric(float64(nestedT.Nanoseconds())/float64(b.N), "nested-ns/op")
		b.ReportMetric(float64(separateT.Nanoseconds())/float64(b.N), "separate-ns/op")
		b.ReportMetric(float64(separateT)/float64(nestedT), "ratio")
	}
}
