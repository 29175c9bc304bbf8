package dynschema

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

func TestFieldTypesRoundTrip(t *testing.T) {
	en := newEnv(t)
	en.blog()
	u, _ := en.user("ann@example.com")
	tag := en.insert("tags", map[string]any{"name": "go"})
	r := en.gql("", `mutation($in: PostCreateInput!) { createPost(input: $in) {
		id title body views rank published status labels publishedAt
		author { id } authorId tags { name } tagsIds
		location { lon lat } meta website created updated cover { name } attachments { name } } }`,
		map[string]any{"in": map[string]any{
			"title": "Hello \"world\"", "body": "<p>hi</p>", "views": 2.5, "rank": 7, "published": true,
			"status": "published", "labels": []string{"in progress", "done"}, "publishedAt": "2024-05-06T07:08:09.000Z",
			"author": u.ID(), "tags": []string{tag.ID()}, "location": map[string]any{"lon": 13.4, "lat": 52.5},
			"meta": map[string]any{"a": []any{1, "x", true}}, "website": "https://example.com",
		}}).ok(t)
	var out struct {
		CreatePost map[string]any `json:"createPost"`
	}
	r.decode(t, &out)
	p := out.CreatePost
	id, _ := p["id"].(string)
	if len(id) != 15 {
		t.Fatalf("id %q", id)
	}
	want := map[string]any{
		"title": "Hello \"world\"", "body": "<p>hi</p>", "views": 2.5, "rank": 7.0, "published": true,
		"status": "published", "publishedAt": "2024-05-06T07:08:09.000Z", "authorId": u.ID(),
		"website": "https://example.com", "cover": nil,
	}
	for k, v := range want {
		if fmt.Sprint(p[k]) != fmt.Sprint(v) {
			t.Errorf("%s = %v, want %v", k, p[k], v)
		}
	}
	if b, _ := json.Marshal(p["location"]); string(b) != `{"lat":52.5,"lon":13.4}` {
		t.Errorf("location %s", b)
	}
	if b, _ := json.Marshal(p["meta"]); string(b) != `{"a":[1,"x",true]}` {
		t.Errorf("meta %s", b)
	}
	if b, _ := json.Marshal(p["labels"]); string(b) != `["in progress","done"]` {
		t.Errorf("labels %s", b)
	}
	if b, _ := json.Marshal(p["tags"]); string(b) != `[{"name":"go"}]` {
		t.Errorf("tags %s", b)
	}
	if b, _ := json.Marshal(p["attachments"]); string(b) != `[]` {
		t.Errorf("attachments %s", b)
	}

	t.Run("unset fields read null, lists read empty", func(t *testing.T) {
		r := en.gql("", `mutation { createPost(input: {title: "bare"}) { body views rank published status labels publishedAt author { id } authorId tags { id } tagsIds location { lon } meta website } }`, nil).ok(t)
		jsonEq(t, r.Data, `{"createPost":{"body":null,"views":null,"rank":null,"published":null,"status":null,"labels":[],"publishedAt":null,"author":null,"authorId":null,"tags":[],"tagsIds":[],"location":null,"meta":null,"website":null}}`)
	})
	t.Run("update sets, clears, increments, appends and removes", func(t *testing.T) {
		tag2 := en.insert("tags", map[string]any{"name": "sql"})
		r := en.gql("", `mutation($id: ID!, $in: PostUpdateInput!) { updatePost(id: $id, input: $in) { views rank body tagsIds labels } }`,
			map[string]any{"id": id, "in": map[string]any{"viewsIncrement": 1.5, "rankIncrement": 3, "body": nil,
				"tagsAppend": []string{tag2.ID()}, "labelsRemove": []string{"done"}}}).ok(t)
		jsonEq(t, r.Data, fmt.Sprintf(`{"updatePost":{"views":4,"rank":10,"body":null,"tagsIds":[%q,%q],"labels":["in progress"]}}`, tag.ID(), tag2.ID()))
		r = en.gql("", `mutation($id: ID!) { updatePost(id: $id, input: {tagsRemove: [$id]}) { id } }`, map[string]any{"id": id}).ok(t)
	})
	t.Run("a blank required field is BAD_USER_INPUT with fields", func(t *testing.T) {
		r := en.gql("", `mutation { createPost(input: {title: ""}) { id } }`, nil)
		if r.code() != "BAD_USER_INPUT" {
			t.Fatalf("got %s", r)
		}
		if _, ok := r.Errors[0].Extensions["fields"].(map[string]any)["title"]; !ok {
			t.Errorf("no fields.title in %s", r)
		}
		if string(r.Data) != "null" {
			t.Errorf("data %s", r.Data)
		}
	})
	t.Run("delete returns the record as it was", func(t *testing.T) {
		r := en.gql("", `mutation($id: ID!) { deletePost(id: $id) { id title } }`, map[string]any{"id": id}).ok(t)
		jsonEq(t, r.Data, fmt.Sprintf(`{"deletePost":{"id":%q,"title":"Hello \"world\""}}`, id))
		r = en.gql("", `query($id: ID!) { post(id: $id) { id } }`, map[string]any{"id": id}).ok(t)
		jsonEq(t, r.Data, `{"post":null}`)
	})
}

func TestFiltersAndOrdering(t *testing.T) {
	en := newEnv(t)
	en.blog()
	ann, _ := en.user("ann@example.com")
	bob, _ := en.user("bob@example.com")
	go1 := en.insert("tags", map[string]any{"name": "go"})
	sql1 := en.insert("tags", map[string]any{"name": "sql"})
	en.insert("posts", map[string]any{"title": "alpha", "views": 10.0, "status": "draft", "author": ann.ID(), "tags": []string{go1.ID()}, "published": true})
	en.insert("posts", map[string]any{"title": "beta", "views": 20.0, "status": "published", "author": bob.ID(), "tags": []string{go1.ID(), sql1.ID()}})
	en.insert("posts", map[string]any{"title": "gamma", "views": 30.0, "status": "published", "author": ann.ID(), "tags": []string{sql1.ID()}, "published": false})
	en.insert("posts", map[string]any{"title": "delta"})

	cases := []struct {
		scenario, args, want string
	}{
		{"no arguments: creation order", ``, `alpha beta gamma delta`},
		{"eq", `where: {title: {eq: "beta"}}`, `beta`},
		{"ne", `where: {title: {ne: "beta"}}`, `alpha gamma delta`},
		{"in", `where: {title: {in: ["beta", "gamma"]}}`, `beta gamma`},
		{"notIn", `where: {title: {notIn: ["beta", "gamma"]}}`, `alpha delta`},
		{"contains", `where: {title: {contains: "mm"}}`, `gamma`},
		{"startsWith", `where: {title: {startsWith: "de"}}`, `delta`},
		{"endsWith", `where: {title: {endsWith: "ta"}}`, `beta delta`},
		{"gt on numbers", `where: {views: {gt: 10}}`, `beta gamma`},
		{"lte on numbers", `where: {views: {lte: 20}}`, `alpha beta`},
		{"isNull", `where: {views: {isNull: true}}`, `delta`},
		{"isNull false", `where: {views: {isNull: false}}`, `alpha beta gamma`},
		{"enum", `where: {status: {eq: published}}`, `beta gamma`},
		{"boolean", `where: {published: {eq: true}}`, `alpha`},
		{"_or", `where: {_or: [{title: {eq: "alpha"}}, {views: {gte: 30}}]}`, `alpha gamma`},
		{"_not", `where: {_not: {status: {eq: published}}}`, `alpha delta`},
		{"_and", `where: {_and: [{views: {gt: 5}}, {views: {lt: 25}}]}`, `alpha beta`},
		{"through a relation", `where: {author: {name: {eq: "bob"}}}`, `beta`},
		{"through a multi relation", `where: {tags: {name: {eq: "sql"}}}`, `beta gamma`},
		{"filter string", `filter: "views > 10 && title != 'gamma'"`, `beta`},
		{"where and filter combine", `where: {views: {gt: 10}}, filter: "title ~ 'am'"`, `gamma`},
		{"orderBy desc", `orderBy: [{views: DESC}]`, `gamma beta alpha delta`},
		{"orderBy asc puts nulls first", `orderBy: [{views: ASC}]`, `delta alpha beta gamma`},
		{"orderBy two keys", `orderBy: [{status: ASC}, {title: DESC}]`, `delta alpha gamma beta`},
		{"orderBy through a relation", `where: {author: {id: {isNull: false}}}, orderBy: [{author: {name: DESC}}, {title: ASC}]`, `beta alpha gamma`},
		{"sort string", `sort: "-views,title"`, `gamma beta alpha delta`},
		{"limit and offset", `orderBy: [{title: ASC}], limit: 2, offset: 1`, `beta delta`},
		{"offset past the end", `offset: 10`, ``},
		{"limit 0", `limit: 0`, ``},
	}
	for _, c := range cases {
		t.Run(c.scenario, func(t *testing.T) {
			q := `{ posts { title } }`
			if c.args != "" {
				q = `{ posts(` + c.args + `) { title } }`
			}
			r := en.gql("", q, nil).ok(t)
			var out struct{ Posts []struct{ Title string } }
			r.decode(t, &out)
			var got []string
			for _, p := range out.Posts {
				got = append(got, p.Title)
			}
			if strings.Join(got, " ") != c.want {
				t.Errorf("got %q, want %q", strings.Join(got, " "), c.want)
			}
		})
	}
	t.Run("limit above 1000 is BAD_USER_INPUT", func(t *testing.T) {
		r := en.gql("", `{ posts(limit: 1001) { id } }`, nil)
		if r.code() != "BAD_USER_INPUT" || string(r.Data) != "null" {
			t.Errorf("got %s", r)
		}
	})
	t.Run("negative offset is BAD_USER_INPUT", func(t *testing.T) {
		if r := en.gql("", `{ posts(offset: -1) { id } }`, nil); r.code() != "BAD_USER_INPUT" {
			t.Errorf("got %s", r)
		}
	})
	t.Run("a bad filter is BAD_USER_INPUT", func(t *testing.T) {
		if r := en.gql("", `{ posts(filter: "views >") { id } }`, nil); r.code() != "BAD_USER_INPUT" {
			t.Errorf("got %s", r)
		}
	})
	t.Run("aggregate computes count and numbers", func(t *testing.T) {
		r := en.gql("", `{ postsAggregate(where: {views: {gt: 0}}) { count sum { views } avg { views } min { views } max { views } } a: postsAggregate { count } }`, nil).ok(t)
		jsonEq(t, r.Data, `{"postsAggregate":{"count":3,"sum":{"views":60},"avg":{"views":20},"min":{"views":10},"max":{"views":30}},"a":{"count":4}}`)
	})
	t.Run("back-relations per parent with limit", func(t *testing.T) {
		r := en.gql("", `{ users(orderBy: [{name: ASC}]) { name postsViaAuthor(orderBy: [{views: DESC}], limit: 1) { title } all: postsViaAuthor { title } } }`, nil).ok(t)
		jsonEq(t, r.Data, `{"users":[{"name":"ann","postsViaAuthor":[{"title":"gamma"}],"all":[{"title":"alpha"},{"title":"gamma"}]},{"name":"bob","postsViaAuthor":[{"title":"beta"}],"all":[{"title":"beta"}]}]}`)
	})
	t.Run("back-relations through a multi relation", func(t *testing.T) {
		r := en.gql("", `{ tags(orderBy: [{name: ASC}]) { name postsViaTags(orderBy: [{title: ASC}], offset: 1) { title } } }`, nil).ok(t)
		jsonEq(t, r.Data, `{"tags":[{"name":"go","postsViaTags":[{"title":"beta"}]},{"name":"sql","postsViaTags":[{"title":"gamma"}]}]}`)
	})
}

func TestConnection(t *testing.T) {
	en := newEnv(t)
	en.blog()
	for i := 1; i <= 5; i++ {
		views := any(float64(i % 3))
		if i == 4 {
			views = nil
		}
		en.insert("posts", map[string]any{"title": fmt.Sprintf("p%d", i), "views": views})
	}
	type page struct {
		PostsConnection struct {
			Edges []struct {
				Cursor string
				Node   struct{ Title string }
			}
			PageInfo struct {
				HasNextPage, HasPreviousPage bool
				StartCursor, EndCursor       *string
			}
			TotalCount int
		}
	}
	get := func(args string) page {
		r := en.gql("", `{ postsConnection(`+args+`) { edges { cursor node { title } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } totalCount } }`, nil).ok(t)
		var p page
		r.decode(t, &p)
		return p
	}
	titles := func(p page) string {
		var s []string
		for _, e := range p.PostsConnection.Edges {
			s = append(s, e.Node.Title)
		}
		return strings.Join(s, " ")
	}
	for _, order := range []string{`orderBy: [{views: DESC}, {title: ASC}]`, `orderBy: [{views: ASC}]`, ``} {
		t.Run("walk forward and back with "+order, func(t *testing.T) {
			all := titles(get(order + " first: 100"))
			var fwd []string
			after := ""
			for i := 0; i < 10; i++ {
				args := order + " first: 2"
				if after != "" {
					args += fmt.Sprintf(` after: %q`, after)
				}
				p := get(args)
				if p.PostsConnection.TotalCount != 5 {
					t.Fatalf("totalCount %d", p.PostsConnection.TotalCount)
				}
				fwd = append(fwd, titles(p))
				if !p.PostsConnection.PageInfo.HasNextPage {
					break
				}
				after = *p.PostsConnection.PageInfo.EndCursor
			}
			if strings.Join(fwd, " ") != all {
				t.Errorf("forward pages %q, all %q", fwd, all)
			}
			var back []string
			before := ""
			for i := 0; i < 10; i++ {
				args := order + " last: 2"
				if before != "" {
					args += fmt.Sprintf(` before: %q`, before)
				}
				p := get(args)
				back = append([]string{titles(p)}, back...)
				if !p.PostsConnection.PageInfo.HasPreviousPage {
					break
				}
				before = *p.PostsConnection.PageInfo.StartCursor
			}
			if strings.Join(back, " ") != all {
				t.Errorf("backward pages %q, all %q", back, all)
			}
		})
	}
	t.Run("first 0 gives no edges and null cursors", func(t *testing.T) {
		p := get("first: 0")
		if len(p.PostsConnection.Edges) != 0 || p.PostsConnection.PageInfo.EndCursor != nil || p.PostsConnection.TotalCount != 5 {
			t.Errorf("got %+v", p)
		}
	})
	t.Run("a foreign cursor is BAD_USER_INPUT", func(t *testing.T) {
		if r := en.gql("", `{ postsConnection(after: "bm9wZQ") { totalCount } }`, nil); r.code() != "BAD_USER_INPUT" {
			t.Errorf("got %s", r)
		}
	})
	t.Run("first above 1000 is BAD_USER_INPUT", func(t *testing.T) {
		if r := en.gql("", `{ postsConnection(first: 1001) { totalCount } }`, nil); r.code() != "BAD_USER_INPUT" {
			t.Errorf("got %s", r)
		}
	})
}
