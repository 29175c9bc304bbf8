package dynschema

import (
	"fmt"
	"strings"
	"testing"

	"github.com/monobase/monobase/db"
)

// groupEnv is the blog with six posts by ann and bob.
func groupEnv(t *testing.T) (en *env, ann, bob db.Record) {
	en = newEnv(t)
	en.blog()
	ann, _ = en.user("ann@example.com")
	bob, _ = en.user("bob@example.com")
	for _, p := range []map[string]any{
		{"title": "a", "views": 10.0, "status": "published", "published": true, "author": ann.ID(), "publishedAt": "2024-01-05T10:00:00.000Z"},
		{"title": "b", "views": 20.0, "status": "published", "published": true, "author": ann.ID(), "publishedAt": "2024-01-28T23:00:00.000Z"},
		{"title": "c", "views": 30.0, "status": "published", "published": false, "author": bob.ID(), "publishedAt": "2024-02-01T00:00:00.000Z"},
		{"title": "d", "views": 1.0, "status": "draft", "author": bob.ID()},
		{"title": "e", "views": 2.0, "status": "draft"},
		{"title": "f"},
	} {
		en.insert("posts", p)
	}
	return en, ann, bob
}

func TestGroupBy(t *testing.T) {
	en, ann, bob := groupEnv(t)
	first, second := ann.ID(), bob.ID()
	if second < first {
		first, second = second, first
	}
	cases := []struct {
		scenario, query, want string
	}{
		{"one key with count and numbers; the null group first",
			`{ postsGroupBy(by: [status]) { key { status } count sum { views } avg { views } min { views } max { views } } }`,
			`[{"key":{"status":null},"count":1,"sum":{"views":0},"avg":{"views":null},"min":{"views":null},"max":{"views":null}},` +
				`{"key":{"status":"draft"},"count":2,"sum":{"views":3},"avg":{"views":1.5},"min":{"views":1},"max":{"views":2}},` +
				`{"key":{"status":"published"},"count":3,"sum":{"views":60},"avg":{"views":20},"min":{"views":10},"max":{"views":30}}]`},
		{"two keys", `{ postsGroupBy(by: [status, published], where: {status: {isNull: false}}) { key { status published } count } }`,
			`[{"key":{"status":"draft","published":null},"count":2},{"key":{"status":"published","published":false},"count":1},{"key":{"status":"published","published":true},"count":2}]`},
		{"a relation's id", `{ postsGroupBy(by: [authorId], orderBy: [{key: {authorId: ASC}}]) { key { authorId } count } }`,
			fmt.Sprintf(`[{"key":{"authorId":null},"count":2},{"key":{"authorId":%q},"count":2},{"key":{"authorId":%q},"count":2}]`, first, second)},
		{"a month", `{ postsGroupBy(by: [publishedAtMonth]) { key { publishedAtMonth } count } }`,
			`[{"key":{"publishedAtMonth":null},"count":3},{"key":{"publishedAtMonth":"2024-01-01T00:00:00.000Z"},"count":2},{"key":{"publishedAtMonth":"2024-02-01T00:00:00.000Z"},"count":1}]`},
		{"a day, with where and filter", `{ postsGroupBy(by: [publishedAtDay], where: {views: {gt: 5}}, filter: "views < 25") { key { publishedAtDay } count } }`,
			`[{"key":{"publishedAtDay":"2024-01-05T00:00:00.000Z"},"count":1},{"key":{"publishedAtDay":"2024-01-28T00:00:00.000Z"},"count":1}]`},
		{"orderBy count desc, limit", `{ postsGroupBy(by: [status], orderBy: [{count: DESC}], limit: 2) { key { status } count } }`,
			`[{"key":{"status":"published"},"count":3},{"key":{"status":"draft"},"count":2}]`},
		{"orderBy a sum, offset", `{ postsGroupBy(by: [status], orderBy: [{sum: {views: ASC}}], offset: 1) { key { status } } }`,
			`[{"key":{"status":"draft"}},{"key":{"status":"published"}}]`},
		{"orderBy a key desc", `{ postsGroupBy(by: [status], orderBy: [{key: {status: DESC}}]) { key { status } } }`,
			`[{"key":{"status":"published"}},{"key":{"status":"draft"}},{"key":{"status":null}}]`},
		{"limit 0", `{ postsGroupBy(by: [status], limit: 0) { count } }`, `[]`},
		{"aliases and __typename", `{ postsGroupBy(by: [status], where: {status: {eq: draft}}) { __typename k: key { __typename s: status } n: count total: sum { views } } }`,
			`[{"__typename":"PostGroup","k":{"__typename":"PostGroupKey","s":"draft"},"n":2,"total":{"views":3}}]`},
	}
	for _, c := range cases {
		t.Run(c.scenario, func(t *testing.T) {
			r := en.gql("", c.query, nil).ok(t)
			jsonEq(t, r.Data, `{"postsGroupBy":`+c.want+`}`)
		})
	}
	bad := []struct{ scenario, query, field string }{
		{"a key selected but not grouped by", `{ postsGroupBy(by: [status]) { key { title } } }`, "by"},
		{"an empty by", `{ postsGroupBy(by: []) { count } }`, "by"},
		{"orderBy a key not grouped by", `{ postsGroupBy(by: [status], orderBy: [{key: {title: ASC}}]) { count } }`, "orderBy"},
		{"a limit over the cap", `{ postsGroupBy(by: [status], limit: 1001) { count } }`, "limit"},
		{"a negative offset", `{ postsGroupBy(by: [status], offset: -1) { count } }`, "offset"},
		{"a bad filter", `{ postsGroupBy(by: [status], filter: "views >") { count } }`, "filter"},
	}
	for _, c := range bad {
		t.Run(c.scenario+" is BAD_USER_INPUT", func(t *testing.T) {
			r := en.gql("", c.query, nil)
			if r.code() != "BAD_USER_INPUT" || string(r.Data) != "null" {
				t.Fatalf("got %s", r)
			}
			if f, _ := r.Errors[0].Extensions["fields"].(map[string]any); f[c.field] == nil {
				t.Errorf("no message for %q: %s", c.field, r)
			}
		})
	}
}

func TestGroupByRules(t *testing.T) {
	en := newEnv(t)
	en.blog()
	ann, annTok := en.user("ann@example.com")
	bob, bobTok := en.user("bob@example.com")
	en.create(&db.Collection{Name: "expenses", Type: db.TypeBase,
		ListRule: sp("owner = @request.auth.id"), ViewRule: sp("owner = @request.auth.id"),
		Fields: []*db.Field{
			{Name: "kind", Type: db.FieldText},
			{Name: "amount", Type: db.FieldNumber},
			{Name: "owner", Type: db.FieldRelation, Collection: en.colls["users"].ID, MaxSelect: 1},
		}})
	en.create(&db.Collection{Name: "hidden", Type: db.TypeBase, Fields: []*db.Field{{Name: "kind", Type: db.FieldText}}})
	for _, e := range []map[string]any{
		{"kind": "food", "amount": 10.0, "owner": ann.ID()},
		{"kind": "food", "amount": 5.0, "owner": bob.ID()},
		{"kind": "rent", "amount": 100.0, "owner": bob.ID()},
	} {
		en.insert("expenses", e)
	}
	q := `{ expensesGroupBy(by: [kind]) { key { kind } count sum { amount } } }`
	cases := []struct{ scenario, token, want string }{
		{"anonymous sees no group", "", `[]`},
		{"ann sees her rows only", annTok, `[{"key":{"kind":"food"},"count":1,"sum":{"amount":10}}]`},
		{"bob sees his", bobTok, `[{"key":{"kind":"food"},"count":1,"sum":{"amount":5}},{"key":{"kind":"rent"},"count":1,"sum":{"amount":100}}]`},
		{"a superuser sees all", en.superuser(), `[{"key":{"kind":"food"},"count":2,"sum":{"amount":15}},{"key":{"kind":"rent"},"count":1,"sum":{"amount":100}}]`},
	}
	for _, c := range cases {
		t.Run(c.scenario, func(t *testing.T) {
			jsonEq(t, en.gql(c.token, q, nil).ok(t).Data, `{"expensesGroupBy":`+c.want+`}`)
		})
	}
	t.Run("a filter cannot reach around the rule", func(t *testing.T) {
		r := en.gql(annTok, `{ expensesGroupBy(by: [ownerId], filter: "owner != ''") { key { ownerId } count } }`, nil).ok(t)
		jsonEq(t, r.Data, fmt.Sprintf(`{"expensesGroupBy":[{"key":{"ownerId":%q},"count":1}]}`, ann.ID()))
	})
	t.Run("a superusers-only list rule is FORBIDDEN", func(t *testing.T) {
		c := *en.colls["hidden"]
		c.ListRule = nil
		if _, err := en.d.UpdateCollection(en.ctx, "hidden", &c); err != nil {
			t.Fatal(err)
		}
		if r := en.gql(annTok, `{ hiddenGroupBy(by: [kind]) { count } }`, nil); r.code() != "FORBIDDEN" {
			t.Errorf("got %s", r)
		}
	})
}

func TestGroupBySchema(t *testing.T) {
	en := newEnv(t)
	en.blog()
	t.Run("the key type lists what can be grouped by", func(t *testing.T) {
		r := en.gql("", `{ __type(name: "PostGroupField") { enumValues { name } } }`, nil).ok(t)
		got := string(r.Data)
		for _, want := range []string{"status", "views", "rank", "published", "title", "authorId", "publishedAtMonth", "createdDay", "updatedHour"} {
			if !strings.Contains(got, `"`+want+`"`) {
				t.Errorf("%s missing from %s", want, got)
			}
		}
		for _, not := range []string{"id", "body", "labels", "tags", "tagsIds", "cover", "location", "meta"} {
			if strings.Contains(got, `"`+not+`"`) {
				t.Errorf("%s listed in %s", not, got)
			}
		}
	})
	t.Run("a collection whose names the group types need keeps its own; the other loses groupBy only", func(t *testing.T) {
		en.create(&db.Collection{Name: "user_groups", Type: db.TypeBase, Fields: []*db.Field{
			{Name: "title", Type: db.FieldText},
			{Name: "key", Type: db.FieldSelect, Values: []string{"a", "b"}, MaxSelect: 1},
		}})
		en.insert("user_groups", map[string]any{"title": "x", "key": "a"})
		r := en.gql("", `{ userGroups { title key } userGroupsGroupBy(by: [key]) { key { key } count } }`, nil).ok(t)
		jsonEq(t, r.Data, `{"userGroups":[{"title":"x","key":"a"}],"userGroupsGroupBy":[{"key":{"key":"a"},"count":1}]}`)
		if r := en.gql("", `{ usersGroupBy(by: [name]) { count } }`, nil); r.code() != "GRAPHQL_VALIDATION_FAILED" {
			t.Errorf("usersGroupBy should be gone: %s", r)
		}
		en.gql("", `{ postsGroupBy(by: [status]) { count } }`, nil).ok(t)
	})
	t.Run("query cost counts the groups", func(t *testing.T) {
		q := `{ postsGroupBy(by: [status], limit: %d) { key { status } count sum { views } avg { views } } }`
		if r := en.gql("", fmt.Sprintf(q, 1000), nil); r.code() != "COMPLEXITY_LIMIT_EXCEEDED" {
			t.Errorf("1,000 groups: got %s", r)
		}
		en.gql("", fmt.Sprintf(q, 100), nil).ok(t)
	})
}
