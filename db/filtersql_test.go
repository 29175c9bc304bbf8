package db

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/monobase/monobase/apperr"
	"github.com/monobase/monobase/db/filter"
)

// fsqlID turns a short test name ("p1") into a valid 15-char record id.
func fsqlID(short string) string { return short + strings.Repeat("0", 15-len(short)) }

// fsqlShort is the inverse of fsqlID.
func fsqlShort(id string) string { return strings.TrimRight(id, "0") }

func fsqlRule(s string) *string { return &s }

// fsqlFixture is a database with users (and their teams), tags, posts and
// comments, built through the public API.
type fsqlFixture struct {
	d                                *DB
	users, teams, tags, posts, notes *Collection
	members, comments, reviews       *Collection
	u1, u2, u3                       Record
}

func fsqlOpen(t testing.TB) *fsqlFixture {
	t.Helper()
	ctx := context.Background()
	d := openTest(t)
	create := func(c *Collection) *Collection {
		t.Helper()
		out, err := d.CreateCollection(ctx, c)
		if err != nil {
			t.Fatalf("create %s: %v", c.Name, err)
		}
		return out
	}
	fx := &fsqlFixture{d: d}
	fx.teams = create(&Collection{Name: "teams", ListRule: fsqlRule(""), Fields: []*Field{
		{Name: "name", Type: FieldText},
	}})
	users, err := d.Collection("users")
	if err != nil {
		t.Fatal(err)
	}
	u := *users
	u.Fields = append(slices.Clone(users.Fields),
		&Field{Name: "team", Type: FieldRelation, Collection: fx.teams.ID, MaxSelect: 1},
		&Field{Name: "roles", Type: FieldSelect, Values: []string{"admin", "editor", "viewer"}, MaxSelect: 3},
		&Field{Name: "pin", Type: FieldText, Hidden: true},
	)
	if fx.users, err = d.UpdateCollection(ctx, "users", &u); err != nil {
		t.Fatalf("update users: %v", err)
	}
	fx.tags = create(&Collection{Name: "tags", ListRule: fsqlRule(""), Fields: []*Field{
		{Name: "name", Type: FieldText},
		{Name: "color", Type: FieldText},
	}})
	fx.posts = create(&Collection{Name: "posts", ListRule: fsqlRule(""), Fields: []*Field{
		{Name: "title", Type: FieldText},
		{Name: "status", Type: FieldSelect, Values: []string{"draft", "published"}, MaxSelect: 1},
		{Name: "public", Type: FieldBool},
		{Name: "views", Type: FieldNumber},
		{Name: "author", Type: FieldRelation, Collection: "users", MaxSelect: 1},
		{Name: "editors", Type: FieldRelation, Collection: "users", MaxSelect: 5},
		{Name: "tags", Type: FieldRelation, Collection: "tags", MaxSelect: 5},
		{Name: "meta", Type: FieldJSON},
		{Name: "location", Type: FieldGeoPoint},
		{Name: "published", Type: FieldDate},
		{Name: "secret", Type: FieldText, Hidden: true},
	}})
	fx.comments = create(&Collection{Name: "comments", ListRule: fsqlRule(""), Fields: []*Field{
		{Name: "post", Type: FieldRelation, Collection: "posts", MaxSelect: 1},
		{Name: "body", Type: FieldText},
		{Name: "mentions", Type: FieldRelation, Collection: "posts", MaxSelect: 5},
	}})
	// reviews are visible when their post is published (a rule with a path).
	fx.reviews = create(&Collection{Name: "reviews", ListRule: fsqlRule("post.status = 'published'"), Fields: []*Field{
		{Name: "post", Type: FieldRelation, Collection: "posts", MaxSelect: 1},
		{Name: "body", Type: FieldText},
	}})
	// members is superusers-only (nil list rule): usable in rules only.
	fx.members = create(&Collection{Name: "members", Fields: []*Field{
		{Name: "user", Type: FieldRelation, Collection: "users", MaxSelect: 1},
		{Name: "team", Type: FieldRelation, Collection: "teams", MaxSelect: 1},
		{Name: "role", Type: FieldText},
	}})
	// notes are visible to their owner only.
	fx.notes = create(&Collection{Name: "notes", ListRule: fsqlRule("owner = @request.auth.id"), Fields: []*Field{
		{Name: "owner", Type: FieldRelation, Collection: "users", MaxSelect: 1},
		{Name: "text", Type: FieldText},
		{Name: "post", Type: FieldRelation, Collection: "posts", MaxSelect: 1},
	}})

	tx, err := d.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	ins := func(c *Collection, in RecordInput) Record {
		t.Helper()
		rec, err := tx.Insert(c, in)
		if err != nil {
			t.Fatalf("insert into %s: %v", c.Name, err)
		}
		return rec
	}
	ins(fx.teams, RecordInput{"id": fsqlID("t1"), "name": "red team"})
	ins(fx.teams, RecordInput{"id": fsqlID("t2"), "name": "blue team"})
	fx.u1 = ins(fx.users, RecordInput{"id": fsqlID("u1"), "email": "alice@example.com", "emailVisibility": true,
		"password": "password1", "passwordConfirm": "password1", "name": "Alice", "team": fsqlID("t1"),
		"roles": []string{"admin", "editor"}, "pin": "1234"})
	fx.u2 = ins(fx.users, RecordInput{"id": fsqlID("u2"), "email": "bob@example.com", "emailVisibility": false,
		"password": "password1", "passwordConfirm": "password1", "name": "Bob", "team": fsqlID("t2"),
		"roles": []string{"viewer"}, "pin": "9999"})
	fx.u3 = ins(fx.users, RecordInput{"id": fsqlID("u3"), "email": "carol@example.com",
		"password": "password1", "passwordConfirm": "password1", "name": "Carol"})
	ins(fx.tags, RecordInput{"id": fsqlID("g1"), "name": "go", "color": "red"})
	ins(fx.tags, RecordInput{"id": fsqlID("g2"), "name": "sql", "color": "blue"})
	ins(fx.tags, RecordInput{"id": fsqlID("g3"), "name": "web", "color": "red"})
	ins(fx.posts, RecordInput{"id": fsqlID("p1"), "title": "Hello World", "status": "published", "public": true,
		"views": 10, "author": fsqlID("u1"), "editors": []string{fsqlID("u2")},
		"tags": []string{fsqlID("g1"), fsqlID("g2")}, "meta": map[string]any{"a": map[string]any{"b": 1}, "n": 5, "list": []any{"x", "y"}},
		"location": map[string]any{"lon": 13.405, "lat": 52.52}, "published": "2024-01-15T10:00:00.000Z", "secret": "s1"})
	ins(fx.posts, RecordInput{"id": fsqlID("p2"), "title": "Draft post", "status": "draft", "public": false,
		"views": 0, "author": fsqlID("u2"), "tags": []string{fsqlID("g1")}, "meta": map[string]any{"a": map[string]any{"b": 2}},
		"location": map[string]any{"lon": 2.3522, "lat": 48.8566}, "published": "2024-03-01T00:00:00.000Z"})
	ins(fx.posts, RecordInput{"id": fsqlID("p3"), "title": "100% real_news", "status": "published",
		"views": 5.5, "editors": []string{fsqlID("u1"), fsqlID("u2")}})
	ins(fx.posts, RecordInput{"id": fsqlID("p4"), "status": "published", "author": fsqlID("u1"),
		"editors": []string{fsqlID("u1")}, "tags": []string{fsqlID("g3"), fsqlID("g1")}, "views": 7})
	ins(fx.comments, RecordInput{"id": fsqlID("c1"), "post": fsqlID("p1"), "body": "nice", "mentions": []string{fsqlID("p2"), fsqlID("p3")}})
	ins(fx.comments, RecordInput{"id": fsqlID("c2"), "post": fsqlID("p1"), "body": "meh"})
	ins(fx.comments, RecordInput{"id": fsqlID("c3"), "post": fsqlID("p2"), "body": "nice", "mentions": []string{fsqlID("p3")}})
	ins(fx.reviews, RecordInput{"id": fsqlID("r1"), "post": fsqlID("p1"), "body": "good"})
	ins(fx.reviews, RecordInput{"id": fsqlID("r2"), "post": fsqlID("p2"), "body": "bad"})
	ins(fx.members, RecordInput{"id": fsqlID("m1"), "user": fsqlID("u1"), "team": fsqlID("t1"), "role": "owner"})
	ins(fx.members, RecordInput{"id": fsqlID("m2"), "user": fsqlID("u2"), "team": fsqlID("t1"), "role": "guest"})
	ins(fx.notes, RecordInput{"id": fsqlID("n1"), "owner": fsqlID("u1"), "text": "alice on p1", "post": fsqlID("p1")})
	ins(fx.notes, RecordInput{"id": fsqlID("n2"), "owner": fsqlID("u2"), "text": "bob on p2", "post": fsqlID("p2")})
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	return fx
}

// ids runs the filter against c and returns the short ids of the matches.
func (fx *fsqlFixture) ids(t testing.TB, c *Collection, src string, req *RequestInfo, rule bool) ([]string, Cond, error) {
	t.Helper()
	e, err := filter.Parse(src)
	if err != nil {
		return nil, Cond{}, err
	}
	var cond Cond
	if rule {
		cond, err = fx.d.CompileRule(c, "r", e, req)
	} else {
		cond, err = fx.d.CompileFilter(c, "r", e, req)
	}
	if err != nil {
		return nil, cond, err
	}
	rows, err := fx.d.readers.DB.QueryContext(context.Background(),
		`SELECT "r"."id" FROM `+filterQuote(c.Name)+` AS "r" WHERE `+cond.SQL+` ORDER BY "r"."id"`, cond.Args...)
	if err != nil {
		t.Fatalf("query %q\nSQL: %s\nargs: %v\nerr: %v", src, cond.SQL, cond.Args, err)
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		out = append(out, fsqlShort(id))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out, cond, nil
}

func (fx *fsqlFixture) auth(r Record) *RequestInfo {
	return &RequestInfo{AuthCollection: fx.users, Auth: r}
}

func TestCompileFilterMatches(t *testing.T) {
	fx := fsqlOpen(t)
	super := &RequestInfo{Superuser: true}
	type tc struct {
		name   string
		coll   *Collection
		filter string
		req    *RequestInfo
		rule   bool
		want   string // short ids, space separated
	}
	cases := []tc{
		{name: "equality on text", filter: "title = 'Hello World'", want: "p1"},
		{name: "double quotes", filter: `title = "Hello World"`, want: "p1"},
		{name: "not equal keeps unset values", filter: "title != 'Hello World'", want: "p2 p3 p4"},
		{name: "null means unset or empty", filter: "title = null", want: "p4"},
		{name: "empty string means unset or empty", filter: "title = ''", want: "p4"},
		{name: "not null", filter: "title != null", want: "p1 p2 p3"},
		{name: "numbers", filter: "views > 5", want: "p1 p3 p4"},
		{name: "float and lte", filter: "views <= 5.5", want: "p2 p3"},
		{name: "negative number", filter: "views > -1", want: "p1 p2 p3 p4"},
		{name: "bool true", filter: "public = true", want: "p1"},
		{name: "bool false does not match unset", filter: "public = false", want: "p2"},
		{name: "bool not true matches unset", filter: "public != true", want: "p2 p3 p4"},
		{name: "and binds tighter than or", filter: "status = 'draft' || views > 6 && public = true", want: "p1 p2"},
		{name: "parentheses", filter: "(status = 'draft' || views > 6) && public = true", want: "p1"},
		{name: "comments are ignored", filter: "views > 6 // popular\n && status = 'published' // only live", want: "p1 p4"},
		{name: "like contains, case-insensitive", filter: "title ~ 'hello'", want: "p1"},
		{name: "like with an explicit wildcard", filter: "title ~ 'D%post'", want: "p2"},
		{name: "like escapes underscore", filter: "title ~ 'o_World'", want: ""},
		{name: "like underscore literal", filter: "title ~ 'real_news'", want: "p3"},
		{name: "like percent escaped", filter: `title ~ '100\%'`, want: "p3"},
		{name: "not like keeps unset", filter: "title !~ 'o'", want: "p3 p4"},
		{name: "id", filter: "id = '" + fsqlID("p2") + "'", want: "p2"},
		{name: "date compared with storage format", filter: "published > '2024-02-01T00:00:00.000Z'", want: "p2"},
		{name: "date literal in another format", filter: "published = '2024-01-15 10:00:00'", want: "p1"},
		{name: "date prefix", filter: "published >= '2024-01-15' && published < '2024-01-16'", want: "p1"},
		{name: "lower modifier", filter: "title:lower = 'hello world'", want: "p1"},
		{name: "literal on the left", filter: "10 = views", want: "p1"},

		// SQLite's conversions, on every engine
		{name: "number against text that is a number", filter: "views = '10'", want: "p1"},
		{name: "number against a decimal text", filter: "views > ' 5.25'", want: "p1 p3 p4"},
		{name: "numbers sort before other text", filter: "views < 'abc'", want: "p1 p2 p3 p4"},
		{name: "no number is above text", filter: "views >= 'abc'", want: ""},
		{name: "no number equals other text", filter: "views = 'abc'", want: ""},
		{name: "every number differs from other text", filter: "views != 'abc'", want: "p1 p2 p3 p4"},
		{name: "text against a number compares text", filter: "status != 1 && views = 0", want: "p2"},
		{name: "like on a number reads its text (5.0)", filter: "views ~ '.0'", want: "p1 p2 p4"},
		{name: "like on a decimal", filter: "views ~ '5.5'", want: "p3"},
		{name: "bool against a number", filter: "public = 1", want: "p1"},
		{name: "json number against numeric text is text", filter: "meta.n = 5 && meta.n != '5'", want: "p1"},
		{name: "constants: a number is below text", filter: "1 < 'a' && 2 < '1' && views = 0", want: "p2"},
		{name: "like pattern ending in a lone escape matches nothing", filter: `title ~ 'a\\%'`, want: ""},

		// JSON and geo
		{name: "json path", filter: "meta.a.b = 2", want: "p2"},
		{name: "json path number compare", filter: "meta.n > 1", want: "p1"},
		{name: "json array index", filter: "meta.list.1 = 'y'", want: "p1"},
		{name: "json missing is null", filter: "meta.a.b = null", want: "p3 p4"},
		{name: "geopoint part", filter: "location.lat > 50", want: "p1"},
		{name: "geoDistance within 1000 km of Berlin", filter: "geoDistance(location.lon, location.lat, 13.4, 52.5) < 100", want: "p1"},
		{name: "geoDistance Berlin-Paris about 878 km", filter: "geoDistance(location.lon, location.lat, 13.405, 52.52) > 870 && geoDistance(location.lon, location.lat, 13.405, 52.52) < 885", want: "p2"},

		// single relations
		{name: "single relation path", filter: "author.name = 'Alice'", req: super, want: "p1 p4"},
		{name: "relation id shortcut", filter: "author.id = '" + fsqlID("u2") + "'", want: "p2"},
		{name: "relation column", filter: "author = '" + fsqlID("u2") + "'", want: "p2"},
		{name: "unset relation reads as empty", filter: "author.name = ''", req: super, want: "p3"},
		{name: "not equal through a relation keeps unset", filter: "author.name != 'Alice'", req: super, want: "p2 p3"},
		{name: "two levels", filter: "author.team.name = 'blue team'", req: super, want: "p2"},
		{name: "relation path or plain field", filter: "author.name = 'Bob' || views = 7", req: super, want: "p2 p4"},

		// multi relations
		{name: "any tag", filter: "tags.name ?= 'go'", want: "p1 p2 p4"},
		{name: "all tags", filter: "tags.name = 'go'", want: "p2"},
		{name: "all tags not equal (empty counts)", filter: "tags.name != 'go'", want: "p3"},
		{name: "any tag not equal", filter: "tags.name ?!= 'go'", want: "p1 p3 p4"},
		{name: "any like", filter: "tags.name ?~ 'q'", want: "p1"},
		{name: "same tag for both conditions", filter: "tags.name ?= 'web' && tags.color ?= 'red'", want: "p4"},
		{name: "same tag cannot be two names", filter: "tags.name ?= 'go' && tags.name ?= 'sql'", want: ""},
		{name: "all tags red", filter: "tags.color = 'red'", want: "p2 p4"},
		{name: "multi relation to users", filter: "editors.name ?= 'Bob'", req: super, want: "p1 p3"},
		{name: "each modifier any", filter: "tags:each ?= '" + fsqlID("g3") + "'", want: "p4"},
		{name: "bare multi field with any operator is each", filter: "tags ?= '" + fsqlID("g2") + "'", want: "p1"},
		{name: "bare multi field with like is its JSON text", filter: "tags ~ '" + fsqlID("g2") + "'", want: "p1"},
		{name: "empty multi field", filter: "tags = ''", want: "p3"},
		{name: "empty multi field by null", filter: "editors = null", want: "p2"},
		{name: "non-empty multi field", filter: "tags != null", want: "p1 p2 p4"},
		{name: "length modifier", filter: "tags:length = 2", want: "p1 p4"},
		{name: "length zero", filter: "editors:length = 0", want: "p2"},
		{name: "each all", filter: "editors:each = '" + fsqlID("u1") + "'", want: "p4"},

		// back-relations
		{name: "back relation any", coll: fx.posts, filter: "comments_via_post.body ?= 'meh'", want: "p1"},
		{name: "back relation all", coll: fx.posts, filter: "comments_via_post.body = 'nice'", want: "p2"},
		{name: "back relation of a multi field", coll: fx.posts, filter: "comments_via_mentions.body ?= 'nice'", want: "p2 p3"},
		{name: "back relation from users", coll: fx.users, filter: "posts_via_author.title ?= 'Draft post'", req: super, want: "u2"},
		{name: "back relation length of nothing", coll: fx.posts, filter: "comments_via_post.id = null", want: "p3 p4"},

		// comments on posts through relation from another collection
		{name: "relation from comments", coll: fx.comments, filter: "post.author.name = 'Alice'", req: super, want: "c1 c2"},
		{name: "relation then multi", coll: fx.comments, filter: "post.tags.name ?= 'sql'", want: "c1 c2"},

		// @request
		{name: "request auth id", filter: "author = @request.auth.id", req: fx.auth(fx.u1), rule: true, want: "p1 p4"},
		{name: "anonymous auth id is empty", filter: "author = @request.auth.id", req: nil, rule: true, want: "p3"},
		{name: "guarded anonymous", filter: "@request.auth.id != '' && author = @request.auth.id", req: nil, rule: true, want: ""},
		{name: "typical rule", filter: "author = @request.auth.id && (status = 'published' || public = true)", req: fx.auth(fx.u2), rule: true, want: ""},
		{name: "typical rule owner", filter: "author = @request.auth.id || (status = 'published' && public = true)", req: fx.auth(fx.u2), rule: true, want: "p1 p2"},
		{name: "auth relation path", filter: "author.team = @request.auth.team", req: fx.auth(fx.u2), rule: true, want: "p2"},
		{name: "auth relation join", filter: "@request.auth.team.name = 'red team' && views > 6", req: fx.auth(fx.u1), rule: true, want: "p1 p4"},
		{name: "auth relation join fails", filter: "@request.auth.team.name = 'red team'", req: fx.auth(fx.u2), rule: true, want: ""},
		{name: "auth multi select any", filter: "@request.auth.roles:each ?= 'admin'", req: fx.auth(fx.u1), rule: true, want: "p1 p2 p3 p4"},
		{name: "auth multi select any fails", filter: "@request.auth.roles:each ?= 'admin'", req: fx.auth(fx.u2), rule: true, want: ""},
		{name: "auth collection name", filter: "@request.auth.collectionName = 'users' && views = 0", req: fx.auth(fx.u2), rule: true, want: "p2"},
		{name: "auth hidden field in a rule", filter: "@request.auth.pin = '1234' && views = 0", req: fx.auth(fx.u1), rule: true, want: "p2"},
		{name: "unknown auth field reads null", filter: "@request.auth.nope = null && views = 0", req: fx.auth(fx.u1), rule: true, want: "p2"},
		{name: "body value", filter: "@request.body.title = title", req: &RequestInfo{Body: map[string]any{"title": "Draft post"}}, rule: true, want: "p2"},
		{name: "body isset", filter: "@request.body.views:isset = true && views = 0", req: &RequestInfo{Body: map[string]any{"views": 3.0}}, rule: true, want: "p2"},
		{name: "body not set", filter: "@request.body.views:isset = false", req: &RequestInfo{Body: map[string]any{"title": "x"}}, rule: true, want: "p1 p2 p3 p4"},
		{name: "body changed", filter: "@request.body.title:changed = true", req: &RequestInfo{Body: map[string]any{"title": "Hello World"}}, rule: true, want: "p2 p3 p4"},
		{name: "body unchanged when absent", filter: "@request.body.title:changed = false", req: &RequestInfo{Body: map[string]any{}}, rule: true, want: "p1 p2 p3 p4"},
		{name: "body number sent as text", filter: "@request.body.views > views", req: &RequestInfo{Body: map[string]any{"views": "6"}}, rule: true, want: "p2 p3"},
		{name: "body length", filter: "@request.body.tags:length > 1 && views = 0", req: &RequestInfo{Body: map[string]any{"tags": []any{"a", "b"}}}, rule: true, want: "p2"},
		{name: "body each all", filter: "@request.body.tags:each ?= '" + fsqlID("g2") + "' && views = 0", req: &RequestInfo{Body: map[string]any{"tags": []any{fsqlID("g2")}}}, rule: true, want: "p2"},
		{name: "body relation path", filter: "@request.body.author.name = 'Bob' && views = 0", req: &RequestInfo{Body: map[string]any{"author": fsqlID("u2")}}, rule: true, want: "p2"},
		{name: "body lower", filter: "@request.body.title:lower = title:lower", req: &RequestInfo{Body: map[string]any{"title": "DRAFT POST"}}, rule: true, want: "p2"},
		{name: "body unknown key nested", filter: "@request.body.extra.a = 1 && views = 0", req: &RequestInfo{Body: map[string]any{"extra": map[string]any{"a": 1.0}}}, rule: true, want: "p2"},
		{name: "query and headers", filter: "@request.query.q = 'x' && @request.headers.x_token = 'abc' && views = 0", req: &RequestInfo{Query: map[string]string{"q": "x"}, Headers: map[string]string{"x_token": "abc"}}, rule: true, want: "p2"},
		{name: "missing header is null", filter: "@request.headers.nope = null && views = 0", req: &RequestInfo{}, rule: true, want: "p2"},
		{name: "method and context", filter: "@request.method = 'GET' && @request.context = 'default' && views = 0", req: &RequestInfo{Method: "GET", Context: "default"}, rule: true, want: "p2"},

		// @collection
		{name: "collection any row", coll: fx.users, filter: "@collection.members.user ?= id", rule: true, want: "u1 u2"},
		{name: "collection same row", coll: fx.users, filter: "@collection.members.user ?= id && @collection.members.role ?= 'owner'", rule: true, want: "u1"},
		{name: "collection aliases are independent", coll: fx.users, filter: "@collection.members:a.user ?= id && @collection.members:b.role ?= 'owner'", rule: true, want: "u1 u2"},
		{name: "collection all rows", coll: fx.users, filter: "@collection.members.team = '" + fsqlID("t1") + "' && verified = false", rule: true, want: "u1 u2 u3"},
		{name: "collection membership rule", coll: fx.teams, filter: "@collection.members.team ?= id && @collection.members.user ?= @request.auth.id", req: fx.auth(fx.u2), rule: true, want: "t1"},
		{name: "collection relation path", coll: fx.teams, filter: "@collection.members.user.name ?= 'Bob' && @collection.members.team ?= id", rule: true, want: "t1"},

		// macros
		{name: "now macro", filter: "published < @now", want: "p1 p2"},
		{name: "year macro", filter: "@year > 2000 && views = 0", want: "p2"},
		{name: "todayStart", filter: "published < @todayStart && published > @yearStart", want: ""},

		// visibility of related collections for clients
		{name: "client sees only own user through relation", filter: "author.name = 'Alice'", req: fx.auth(fx.u1), want: "p1 p4"},
		{name: "other users read as unset", filter: "author.name = 'Bob'", req: fx.auth(fx.u1), want: ""},
		{name: "hidden email does not match", coll: fx.users, filter: "email = 'bob@example.com'", req: &RequestInfo{Superuser: false}, want: ""},
		{name: "visible email matches", coll: fx.users, filter: "email = 'alice@example.com'", req: &RequestInfo{Superuser: false}, want: "u1"},
		{name: "superuser sees hidden email", coll: fx.users, filter: "email = 'bob@example.com'", req: super, want: "u2"},
		{name: "back relation obeys list rule", coll: fx.posts, filter: "notes_via_post.text ?~ 'on'", req: fx.auth(fx.u2), want: "p2"},
		{name: "superuser hidden field", filter: "secret = 's1'", req: super, want: "p1"},
		{name: "related list rule with a path: visible", filter: "reviews_via_post.body ?= 'good'", req: fx.auth(fx.u2), want: "p1"},
		{name: "related list rule with a path: hidden", filter: "reviews_via_post.body ?= 'bad'", req: fx.auth(fx.u2), want: ""},
		{name: "related list rule with a path: superuser", filter: "reviews_via_post.body ?= 'bad'", req: super, want: "p2"},
		{name: "related list rule: all visible reviews", filter: "reviews_via_post.body = 'good'", req: nil, want: "p1"},
		{name: "body geopoint path", filter: "@request.body.location.lat > 50 && views = 0", req: &RequestInfo{Body: map[string]any{"location": GeoPoint{Lon: 1, Lat: 51}}}, rule: true, want: "p2"},

		// empty and trivial
		{name: "empty filter is true", filter: "", want: "p1 p2 p3 p4"},
		{name: "constant comparison", filter: "1 = 1 && views = 0", want: "p2"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			coll := c.coll
			if coll == nil {
				coll = fx.posts
			}
			got, cond, err := fx.ids(t, coll, c.filter, c.req, c.rule)
			if err != nil {
				t.Fatalf("filter %q: %v", c.filter, err)
			}
			want := strings.Fields(c.want)
			if want == nil {
				want = []string{}
			}
			if !slices.Equal(got, want) {
				t.Fatalf("filter %q\n got %v\nwant %v\nSQL: %s\nargs: %v", c.filter, got, want, cond.SQL, cond.Args)
			}
		})
	}
}

func TestCompileFilterErrors(t *testing.T) {
	fx := fsqlOpen(t)
	client := fx.auth(fx.u1)
	cases := []struct {
		name   string
		coll   *Collection
		filter string
		req    *RequestInfo
		msg    string // substring of the message
		pos    int
	}{
		{name: "unknown field", filter: "views > 1 && nope = 1", msg: `unknown field "nope" at position 14`, pos: 14},
		{name: "unknown field in a path", filter: "author.nope = 1", req: &RequestInfo{Superuser: true}, msg: `unknown field "author.nope"`, pos: 1},
		{name: "not a relation", filter: "title.x = 1", msg: `field "title" is not a relation`},
		{name: "hidden field", filter: "secret = 's1'", req: client, msg: `field "secret" cannot be filtered`},
		{name: "password", coll: fx.users, filter: "password ~ '$2'", req: client, msg: `field "password" cannot be filtered`},
		{name: "tokenKey", coll: fx.users, filter: "tokenKey != ''", req: client, msg: `field "tokenKey" cannot be filtered`},
		{name: "hidden field through a relation", filter: "author.pin = '1234'", req: client, msg: `field "pin" cannot be filtered`},
		{name: "request for clients", filter: "author = @request.auth.id", req: client, msg: `only superusers can filter by "@request.auth.id"`},
		{name: "collection for clients", filter: "@collection.members.user ?= author", req: client, msg: `only superusers can filter by`},
		{name: "superusers-only relation target", coll: fx.users, filter: "members_via_user.role ?= 'owner'", req: client, msg: `visible to superusers only`},
		{name: "isset outside body", filter: "title:isset = true", req: &RequestInfo{Superuser: true}, msg: `:isset applies to @request.body fields only`},
		{name: "length on text", filter: "title:length > 1", msg: `:length applies to select, relation and file fields`},
		{name: "each on number", filter: "views:each > 1", msg: `:each applies to select, relation and file fields`},
		{name: "six relation levels are fine", coll: fx.comments, filter: "post.author.posts_via_author.author.posts_via_author.author.name ?= 'x'", req: &RequestInfo{Superuser: true}, msg: ""},
		{name: "seven are too many", coll: fx.comments, filter: "post.author.posts_via_author.author.posts_via_author.author.posts_via_author.title ?= 'x'", req: &RequestInfo{Superuser: true}, msg: "too many relation levels"},
		{name: "unknown collection", filter: "@collection.nope.x = 1", req: &RequestInfo{Superuser: true}, msg: `unknown collection "nope"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			coll := c.coll
			if coll == nil {
				coll = fx.posts
			}
			_, cond, err := fx.ids(t, coll, c.filter, c.req, false)
			if c.msg == "" {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("filter %q compiled to %s, want error %q", c.filter, cond.SQL, c.msg)
			}
			e := apperr.As(err)
			if e == nil || e.Code != apperr.Invalid {
				t.Fatalf("want BAD_USER_INPUT, got %v", err)
			}
			if !strings.Contains(e.Message, c.msg) {
				t.Fatalf("message %q does not contain %q", e.Message, c.msg)
			}
			if c.pos != 0 && e.Pos != c.pos {
				t.Fatalf("Pos = %d, want %d", e.Pos, c.pos)
			}
		})
	}
}

// fsqlQuery runs a compiled condition and returns short ids.
func (fx *fsqlFixture) query(t testing.TB, c *Collection, cond Cond) []string {
	t.Helper()
	rows, err := fx.d.readers.DB.QueryContext(context.Background(),
		`SELECT "r"."id" FROM `+filterQuote(c.Name)+` AS "r" WHERE `+cond.SQL+` ORDER BY "r"."id"`, cond.Args...)
	if err != nil {
		t.Fatalf("query\nSQL: %s\nargs: %v\nerr: %v", cond.SQL, cond.Args, err)
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		out = append(out, fsqlShort(id))
	}
	return out
}

func fsqlCmp(path string, op filter.Op, v any) *filter.Compare {
	right := filter.Operand(&filter.Literal{Value: v})
	if items, ok := v.([]any); ok {
		l := &filter.List{}
		for _, it := range items {
			l.Items = append(l.Items, &filter.Literal{Value: it})
		}
		right = l
	}
	return &filter.Compare{Left: &filter.Ident{Parts: strings.Split(path, ".")}, Op: op, Right: right}
}

// The typed `where` input builds ASTs directly, with operators that the
// text syntax does not have and with Not.
func TestCompileWhereAST(t *testing.T) {
	fx := fsqlOpen(t)
	super := &RequestInfo{Superuser: true}
	cases := []struct {
		name string
		e    filter.Expr
		want string
	}{
		{"contains is literal", fsqlCmp("title", filter.Contains, "0% r"), "p3"},
		{"contains escapes wildcards", fsqlCmp("title", filter.Contains, "%"), "p3"},
		{"contains underscore literally", fsqlCmp("title", filter.Contains, "o_W"), ""},
		{"notContains keeps unset", fsqlCmp("title", filter.NotContains, "o"), "p3 p4"},
		{"startsWith", fsqlCmp("title", filter.StartsWith, "dra"), "p2"},
		{"endsWith", fsqlCmp("title", filter.EndsWith, "_news"), "p3"},
		{"raw like pattern", fsqlCmp("title", filter.RawLike, "H%d"), "p1"},
		{"in", fsqlCmp("views", filter.In, []any{0.0, 7.0}), "p2 p4"},
		{"in with null", fsqlCmp("title", filter.In, []any{"Draft post", nil}), "p2 p4"},
		{"in empty list", fsqlCmp("views", filter.In, []any{}), ""},
		{"notIn keeps null", fsqlCmp("title", filter.NotIn, []any{"Draft post"}), "p1 p3 p4"},
		{"notIn with null", fsqlCmp("title", filter.NotIn, []any{"Draft post", nil}), "p1 p3"},
		{"notIn empty list", fsqlCmp("views", filter.NotIn, []any{}), "p1 p2 p3 p4"},
		{"in on a multi path is any-of", fsqlCmp("tags.name", filter.In, []any{"web"}), "p4"},
		{"contains on a multi path is any-of", fsqlCmp("tags.name", filter.Contains, "q"), "p1"},
		{"not", &filter.Not{X: fsqlCmp("views", filter.Gt, 5.0)}, "p2"},
		{"not keeps nulls", &filter.Not{X: fsqlCmp("title", filter.Eq, "Draft post")}, "p1 p3 p4"},
		{"not any tag", &filter.Not{X: fsqlCmp("tags.name", filter.AnyEq, "go")}, "p3"},
		{"not of a group with a relation", &filter.Not{X: &filter.Group{Op: filter.Or, Items: []filter.Expr{
			fsqlCmp("author.name", filter.Eq, "Alice"), fsqlCmp("views", filter.Eq, 0.0)}}}, "p3"},
		{"empty and is true", &filter.Group{Op: filter.And}, "p1 p2 p3 p4"},
		{"empty or is false", &filter.Group{Op: filter.Or}, ""},
		{"nested empty groups", &filter.Group{Op: filter.And, Items: []filter.Expr{&filter.Group{Op: filter.Or}, fsqlCmp("views", filter.Eq, 0.0)}}, ""},
		{"int literal from Go", fsqlCmp("views", filter.Eq, 7), "p4"},
		{"bool literal", fsqlCmp("public", filter.Eq, true), "p1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cond, err := fx.d.CompileFilter(fx.posts, "r", c.e, super)
			if err != nil {
				t.Fatalf("%s: %v", filter.String(c.e), err)
			}
			got := fx.query(t, fx.posts, cond)
			want := strings.Fields(c.want)
			if want == nil {
				want = []string{}
			}
			if !slices.Equal(got, want) {
				t.Fatalf("%s\n got %v\nwant %v\nSQL: %s\nargs: %v", filter.String(c.e), got, want, cond.SQL, cond.Args)
			}
		})
	}

	t.Run("in needs a list", func(t *testing.T) {
		e := &filter.Compare{Left: &filter.Ident{Parts: []string{"views"}}, Op: filter.In, Right: &filter.Literal{Value: 1.0}, Pos: 4}
		_, err := fx.d.CompileFilter(fx.posts, "r", e, super)
		if e := apperr.As(err); e == nil || e.Code != apperr.Invalid || e.Pos != 5 {
			t.Fatalf("want BAD_USER_INPUT at 5, got %v", err)
		}
	})
	t.Run("identifiers from the where input are checked, never written", func(t *testing.T) {
		for _, parts := range [][]string{{`title" OR 1=1 --`}, {"meta", `a') OR 1=1 --`}, {"@collection", `posts" x`, "id"}} {
			e := &filter.Compare{Left: &filter.Ident{Parts: parts}, Op: filter.Eq, Right: &filter.Literal{Value: "x"}}
			cond, err := fx.d.CompileFilter(fx.posts, "r", e, super)
			if apperr.CodeOf(err) != apperr.Invalid {
				t.Fatalf("%q: want BAD_USER_INPUT, got %v (SQL %s)", parts, err, cond.SQL)
			}
		}
	})
	t.Run("too many expressions", func(t *testing.T) {
		g := &filter.Group{Op: filter.Or}
		for range filter.MaxExprs + 1 {
			g.Items = append(g.Items, fsqlCmp("views", filter.Eq, 1.0))
		}
		_, err := fx.d.CompileFilter(fx.posts, "r", g, super)
		if e := apperr.As(err); e == nil || !strings.Contains(e.Message, "too many expressions") {
			t.Fatalf("want too many expressions, got %v", err)
		}
	})
}

func TestCompileFilterInjection(t *testing.T) {
	fx := fsqlOpen(t)
	super := &RequestInfo{Superuser: true}
	for _, src := range []string{
		`title = "x' OR 1=1 --"`,
		`title = 'x\' OR 1=1 --'`,
		`title = "x\" OR 1=1 --"`,
		`title ~ "'; DROP TABLE posts; --"`,
		`author.name = "' OR ''='"`,
		`meta.a = "1' OR '1'='1"`,
		`tags.name ?= "') OR 1=1 --"`,
	} {
		t.Run(src, func(t *testing.T) {
			got, cond, err := fx.ids(t, fx.posts, src, super, false)
			if err != nil {
				return // refused: fine
			}
			if len(got) != 0 {
				t.Fatalf("%s matched %v (SQL %s)", src, got, cond.SQL)
			}
		})
	}
	for _, src := range []string{
		`"title" = 'x'`,
		`title" = 'x' OR 1=1 --`,
		`title = 'x' OR 1=1`,
		`title = 'x'; DROP TABLE posts`,
		"title = `x`",
		`@collection.posts".x = 1`,
	} {
		t.Run("refused "+src, func(t *testing.T) {
			got, cond, err := fx.ids(t, fx.posts, src, super, false)
			if err == nil && len(got) != 0 {
				t.Fatalf("%s matched %v (SQL %s)", src, got, cond.SQL)
			}
		})
	}
	t.Run("a quote in the alias is quoted", func(t *testing.T) {
		e, _ := filter.Parse("views = 0")
		cond, err := fx.d.CompileFilter(fx.posts, `r"x`, e, super)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(cond.SQL, `"r""x"."views"`) {
			t.Fatalf("alias not quoted: %s", cond.SQL)
		}
	})
	t.Run("the table is still there", func(t *testing.T) {
		if got, _, _ := fx.ids(t, fx.posts, "", nil, false); len(got) != 4 {
			t.Fatalf("posts: %v", got)
		}
	})
}

func TestCompileSort(t *testing.T) {
	fx := fsqlOpen(t)
	super := &RequestInfo{Superuser: true}
	cases := []struct {
		name, sort string
		req        *RequestInfo
		want       string
	}{
		{"descending number", "-views", nil, "p1 p4 p3 p2"},
		{"text then id", "status,-views", nil, "p2 p1 p4 p3"},
		{"single relation path", "author.name,views", super, "p3 p4 p1 p2"},
		{"two levels descending", "-author.team.name,views", super, "p4 p1 p2 p3"},
		{"json path", "-meta.a.b,views", nil, "p2 p1 p3 p4"},
		{"length", "-tags:length,views", nil, "p4 p1 p2 p3"},
		{"client sort through a relation obeys its list rule", "author.name,views", fx.auth(fx.u2), "p3 p4 p1 p2"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			items, err := filter.ParseSort(c.sort)
			if err != nil {
				t.Fatal(err)
			}
			order, err := fx.d.CompileSort(fx.posts, "r", items, c.req)
			if err != nil {
				t.Fatalf("sort %q: %v", c.sort, err)
			}
			recs, err := fx.d.Find(context.Background(), &Query{Collection: fx.posts, Alias: "r", OrderBy: order})
			if err != nil {
				t.Fatalf("find with %v: %v", order, err)
			}
			var got []string
			for _, r := range recs {
				got = append(got, fsqlShort(r.ID()))
			}
			if strings.Join(got, " ") != c.want {
				t.Fatalf("sort %q: got %v, want %s (ORDER BY %v)", c.sort, got, c.want, order)
			}
		})
	}
	t.Run("random", func(t *testing.T) {
		items, _ := filter.ParseSort("@random")
		order, err := fx.d.CompileSort(fx.posts, "r", items, nil)
		if err != nil || len(order) != 1 || order[0].SQL != "RANDOM()" {
			t.Fatalf("got %v, %v", order, err)
		}
		if recs, err := fx.d.Find(context.Background(), &Query{Collection: fx.posts, OrderBy: order}); err != nil || len(recs) != 4 {
			t.Fatalf("find: %d, %v", len(recs), err)
		}
	})
	for _, c := range []struct{ name, sort, msg string }{
		{"multi path", "tags.name", "cannot sort by"},
		{"back relation", "comments_via_post.body", "cannot sort by"},
		{"hidden field", "secret", "cannot be filtered"},
		{"unknown field", "nope", "unknown field"},
	} {
		t.Run("refused "+c.name, func(t *testing.T) {
			items, err := filter.ParseSort(c.sort)
			if err != nil {
				t.Fatal(err)
			}
			_, err = fx.d.CompileSort(fx.posts, "r", items, fx.auth(fx.u1))
			if e := apperr.As(err); e == nil || e.Code != apperr.Invalid || !strings.Contains(e.Message, c.msg) {
				t.Fatalf("want BAD_USER_INPUT %q, got %v", c.msg, err)
			}
		})
	}
}

// A client filter and the list rule through db.Find, as the list query
// uses them.
func TestCompileFilterWithFind(t *testing.T) {
	fx := fsqlOpen(t)
	req := fx.auth(fx.u1)
	rule, err := filter.ParseCached(*fx.notes.ListRule)
	if err != nil {
		t.Fatal(err)
	}
	ruleCond, err := fx.d.CompileRule(fx.notes, "r", rule, req)
	if err != nil {
		t.Fatal(err)
	}
	userFilter, _ := filter.Parse("post.title ~ 'world' || text ~ 'bob'")
	filterCond, err := fx.d.CompileFilter(fx.notes, "r", userFilter, req)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := fx.d.Find(context.Background(), &Query{Collection: fx.notes, Alias: "r", Where: []Cond{ruleCond, filterCond}})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || fsqlShort(recs[0].ID()) != "n1" {
		t.Fatalf("got %v", recs)
	}
	n, err := fx.d.Count(context.Background(), &Query{Collection: fx.notes, Alias: "r", Where: []Cond{filterCond}})
	if err != nil || n != 2 {
		t.Fatalf("count without the rule = %d, %v; want 2", n, err)
	}
}

func TestFilterMacros(t *testing.T) {
	old := filterNow
	defer func() { filterNow = old }()
	filterNow = func() time.Time { return time.Date(2024, 2, 29, 13, 14, 15, 16_000_000, time.FixedZone("x", 3600)) }
	fc := newFilterCompiler(nil, nil, true)
	s := &filterScope{fc: fc, base: &Collection{}, alias: `"r"`}
	want := map[string]any{
		"@now": "2024-02-29T12:14:15.016Z", "@yesterday": "2024-02-28T12:14:15.016Z", "@tomorrow": "2024-03-01T12:14:15.016Z",
		"@second": int64(15), "@minute": int64(14), "@hour": int64(12), "@weekday": int64(4), "@day": int64(29),
		"@month": int64(2), "@year": int64(2024),
		"@todayStart": "2024-02-29T00:00:00.000Z", "@todayEnd": "2024-02-29T23:59:59.999Z",
		"@monthStart": "2024-02-01T00:00:00.000Z", "@monthEnd": "2024-02-29T23:59:59.999Z",
		"@yearStart": "2024-01-01T00:00:00.000Z", "@yearEnd": "2024-12-31T23:59:59.999Z",
	}
	for name := range filter.Macros {
		v := s.macro(name)
		if len(v.args) != 1 || v.args[0] != want[name] {
			t.Errorf("%s = %v, want %v", name, v.args, want[name])
		}
	}
}

var fsqlUpdate = flag.Bool("filtersql.update", false, "rewrite testdata/filtersql.golden")

// The SQL of representative filters, to review changes to the compiler.
func TestCompileFilterGolden(t *testing.T) {
	fx := fsqlOpen(t)
	cases := []struct {
		src  string
		req  *RequestInfo
		rule bool
	}{
		{"author = @request.auth.id && (status = 'published' || public = true)", fx.auth(fx.u1), true},
		{"title = null || title != 'x'", nil, false},
		{"title ~ 'abc' && views > 10", nil, false},
		{"author.name = 'Alice'", fx.auth(fx.u1), false},
		{"author.team.name = 'red team'", &RequestInfo{Superuser: true}, false},
		{"tags.name ?= 'go' && tags.color ?= 'red'", nil, false},
		{"tags.name = 'go'", nil, false},
		{"comments_via_post.body ?= 'nice'", nil, false},
		{"@collection.members.user ?= @request.auth.id && @collection.members.team ?= author.team", fx.auth(fx.u1), true},
		{"@request.body.title:changed = false && @request.body.tags:each ?= tags:each", &RequestInfo{Body: map[string]any{"title": "x", "tags": []any{"a"}}}, true},
		{"geoDistance(location.lon, location.lat, 13.4, 52.5) < 25", nil, false},
	}
	var b strings.Builder
	for _, c := range cases {
		e, err := filter.Parse(c.src)
		if err != nil {
			t.Fatal(err)
		}
		var cond Cond
		if c.rule {
			cond, err = fx.d.CompileRule(fx.posts, "r", e, c.req)
		} else {
			cond, err = fx.d.CompileFilter(fx.posts, "r", e, c.req)
		}
		if err != nil {
			t.Fatalf("%s: %v", c.src, err)
		}
		fx.query(t, fx.posts, cond) // valid SQL
		args := make([]string, len(cond.Args))
		for i, a := range cond.Args {
			args[i] = fmt.Sprintf("%#v", a)
		}
		fmt.Fprintf(&b, "%s\n  %s\n  [%s]\n\n", c.src, cond.SQL, strings.Join(args, ", "))
	}
	checkGolden(t, goldenName(fx.d, "filtersql"), "filtersql.update", *fsqlUpdate, b.String())
}

// goldenName is the golden file of name for d's engine: SQLite's SQL in
// name.golden, PostgreSQL's in name.pg.golden.
func goldenName(d *DB, name string) string {
	if d.Engine() == EnginePostgres {
		return name + ".pg.golden"
	}
	return name + ".golden"
}

// checkGolden compares got with testdata/name, first writing it there when
// update is set (the test flag named flagName).
func checkGolden(t *testing.T, name, flagName string, update bool, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -%s)", err, flagName)
	}
	if string(want) != got {
		t.Fatalf("SQL differs from %s (rerun with -%s and review the diff):\n%s", path, flagName, got)
	}
}

// BenchmarkCompileRule parses (uncached) and compiles a typical rule.
func BenchmarkCompileRule(b *testing.B) {
	users := &Collection{ID: "_pb_users_auth_", Name: "users", Type: TypeAuth, Fields: []*Field{
		{Name: "id", Type: FieldText, System: true}, {Name: "email", Type: FieldEmail},
	}}
	posts := &Collection{ID: "posts_id", Name: "posts", Fields: []*Field{
		{Name: "id", Type: FieldText, System: true}, {Name: "created", Type: FieldAutodate}, {Name: "updated", Type: FieldAutodate},
		{Name: "title", Type: FieldText}, {Name: "status", Type: FieldSelect, Values: []string{"draft", "published"}, MaxSelect: 1},
		{Name: "public", Type: FieldBool}, {Name: "author", Type: FieldRelation, Collection: users.ID, MaxSelect: 1},
	}}
	lookup := func(s string) (*Collection, error) {
		if s == users.ID || s == users.Name {
			return users, nil
		}
		return posts, nil
	}
	req := &RequestInfo{AuthCollection: users, Auth: Record{"id": "abcdefghijklmno"}}
	const rule = "author = @request.auth.id && (status = 'published' || public = true)"
	b.Run("parse+compile", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			e, err := filter.Parse(rule)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := newFilterCompiler(lookup, req, true).compile(posts, "r", e); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("cached parse+compile", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			e, err := filter.ParseCached(rule)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := newFilterCompiler(lookup, req, true).compile(posts, "r", e); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("relation path", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			e, err := filter.Parse("author.email = 'a@b.c' && status = 'published'")
			if err != nil {
				b.Fatal(err)
			}
			if _, err := newFilterCompiler(lookup, req, true).compile(posts, "r", e); err != nil {
				b.Fatal(err)
			}
		}
	})
}
