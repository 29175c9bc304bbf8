package dynschema

import (
	"bytes"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/monobase/monobase/db"
	"github.com/monobase/monobase/hook"
	"github.com/monobase/monobase/querycost"
)

// nestedEnv is the blog env with categories (a self relation, for depth)
// and comments (a relation to posts).
func nestedEnv(t *testing.T) *env {
	en := newEnv(t)
	en.blog()
	cats := en.create(&db.Collection{Name: "categories", Type: db.TypeBase, Fields: []*db.Field{
		{Name: "name", Type: db.FieldText, Required: true},
	}})
	withParent := *cats
	withParent.Fields = append(slices.Clone(cats.Fields), &db.Field{Name: "parent", Type: db.FieldRelation, Collection: cats.ID, MaxSelect: 1})
	c, err := en.d.UpdateCollection(en.ctx, "categories", &withParent)
	if err != nil {
		t.Fatalf("categories.parent: %v", err)
	}
	en.colls["categories"] = c
	en.create(&db.Collection{Name: "comments", Type: db.TypeBase, Fields: []*db.Field{
		{Name: "text", Type: db.FieldText},
		{Name: "post", Type: db.FieldRelation, Collection: en.colls["posts"].ID, MaxSelect: 1, Required: true},
	}})
	return en
}

// count returns the number of records of the collection (as a superuser).
func (en *env) count(coll string) int {
	en.t.Helper()
	c, err := en.d.Collection(coll)
	if err != nil {
		en.t.Fatal(err)
	}
	recs, _, err := en.d.ReadRecords(en.ctx, &db.Read{Collection: c, Limit: 10000})
	if err != nil {
		en.t.Fatal(err)
	}
	return len(recs)
}

// counts returns the record counts of posts, users, tags, categories and
// comments, to compare before and after a failed mutation.
func (en *env) counts() string {
	en.t.Helper()
	var b strings.Builder
	for _, c := range []string{"posts", "users", "tags", "categories", "comments"} {
		fmt.Fprintf(&b, "%s=%d ", c, en.count(c))
	}
	return b.String()
}

const postWithAuthorAndTags = `mutation($in: PostCreateInput!) { createPost(input: $in) { title author { email name } tags { name } } }`

func author(email string) map[string]any {
	return map[string]any{"email": email, "password": "password123", "passwordConfirm": "password123", "name": strings.Split(email, "@")[0]}
}

func tagInputs(names ...string) []any {
	out := make([]any, len(names))
	for i, n := range names {
		out[i] = map[string]any{"name": n}
	}
	return out
}

func TestNestedCreate(t *testing.T) {
	en := nestedEnv(t)
	super := en.superuser()
	t.Run("a post with its author and 3 tags", func(t *testing.T) {
		in := map[string]any{"title": "hello", "authorCreate": author("ann@example.com"), "tagsCreate": tagInputs("a", "b", "c")}
		r := en.gql(super, postWithAuthorAndTags, map[string]any{"in": in}).ok(t)
		jsonEq(t, r.Data, `{"createPost":{"title":"hello","author":{"email":"ann@example.com","name":"ann"},"tags":[{"name":"a"},{"name":"b"},{"name":"c"}]}}`)
		if got := en.counts(); got != "posts=1 users=1 tags=3 categories=0 comments=0 " {
			t.Errorf("stored %s", got)
		}
	})
	t.Run("connect and create together in a multi relation", func(t *testing.T) {
		old := en.insert("tags", db.RecordInput{"name": "old"})
		r := en.gql("", `mutation($t: ID!) { createPost(input: {title: "mixed", tags: [$t], tagsCreate: [{name: "new"}]}) { tags { name } } }`,
			map[string]any{"t": old.ID()}).ok(t)
		jsonEq(t, r.Data, `{"createPost":{"tags":[{"name":"old"},{"name":"new"}]}}`)
	})
	t.Run("a null nested input is not given", func(t *testing.T) {
		u, _ := en.user("nil@example.com")
		r := en.gql(super, `mutation($a: ID!) { createPost(input: {title: "t", author: $a, authorCreate: null, tagsCreate: null}) { author { email } tags { id } } }`,
			map[string]any{"a": u.ID()}).ok(t)
		jsonEq(t, r.Data, `{"createPost":{"author":{"email":"nil@example.com"},"tags":[]}}`)
	})
	t.Run("three levels deep", func(t *testing.T) {
		r := en.gql("", `mutation { createCategory(input: {name: "d", parentCreate: {name: "c", parentCreate: {name: "b", parentCreate: {name: "a"}}}}) {
			name parent { name parent { name parent { name parentId } } } } }`, nil).ok(t)
		jsonEq(t, r.Data, `{"createCategory":{"name":"d","parent":{"name":"c","parent":{"name":"b","parent":{"name":"a","parentId":null}}}}}`)
		if n := en.count("categories"); n != 4 {
			t.Errorf("%d categories, want 4", n)
		}
	})
	t.Run("a required relation may be created instead of given", func(t *testing.T) {
		r := en.gql("", `mutation { createComment(input: {text: "first", postCreate: {title: "p", tagsCreate: [{name: "x"}]}}) { text post { title tags { name } } } }`, nil).ok(t)
		jsonEq(t, r.Data, `{"createComment":{"text":"first","post":{"title":"p","tags":[{"name":"x"}]}}}`)
		r = en.gql("", `mutation { createComment(input: {text: "orphan"}) { id } }`, nil)
		if r.code() != "BAD_USER_INPUT" || r.fieldCode("post") == "" {
			t.Errorf("a comment without post or postCreate: %s", r)
		}
	})
}

func TestNestedCreateRefusals(t *testing.T) {
	en := nestedEnv(t)
	super := en.superuser()
	tags := *en.colls["tags"]
	tags.CreateRule = sp(`@request.body.name != "forbidden"`)
	if _, err := en.d.UpdateCollection(en.ctx, "tags", &tags); err != nil {
		t.Fatal(err)
	}
	users := *en.colls["users"]
	users.CreateRule = nil // superusers only
	if _, err := en.d.UpdateCollection(en.ctx, "users", &users); err != nil {
		t.Fatal(err)
	}
	before := en.counts()
	cases := []struct {
		name, query string
		vars        map[string]any
		code, key   string // extensions.code and a key of extensions.fields
		fieldCode   string
	}{
		{"the nested collection's create rule refuses one tag", postWithAuthorAndTags,
			map[string]any{"in": map[string]any{"title": "t", "tagsCreate": tagInputs("ok", "forbidden", "ok2")}},
			"FORBIDDEN", "tagsCreate.1", "forbidden"},
		{"the nested collection has no create rule: superusers only", postWithAuthorAndTags,
			map[string]any{"in": map[string]any{"title": "t", "tagsCreate": tagInputs("a"), "authorCreate": author("bob@example.com")}},
			"FORBIDDEN", "authorCreate", "forbidden"},
		{"a nested record is invalid after others were created", postWithAuthorAndTags,
			map[string]any{"in": map[string]any{"title": "t", "tagsCreate": tagInputs("a", "b", "")}},
			"BAD_USER_INPUT", "tagsCreate.2.name", "required"},
		{"the parent is invalid after its children were created", postWithAuthorAndTags,
			map[string]any{"in": map[string]any{"title": "", "tagsCreate": tagInputs("a", "b")}},
			"BAD_USER_INPUT", "title", "required"},
		{"an invalid record three levels down", `mutation { createCategory(input: {name: "d", parentCreate: {name: "c", parentCreate: {name: "b", parentCreate: {name: ""}}}}) { id } }`,
			nil, "BAD_USER_INPUT", "parentCreate.parentCreate.parentCreate.name", "required"},
		{"a path through a list and a single relation", `mutation { createComment(input: {postCreate: {title: "p", tagsCreate: [{name: "x"}, {name: "forbidden"}]}}) { id } }`,
			nil, "FORBIDDEN", "postCreate.tagsCreate.1", "forbidden"},
		{"both author and authorCreate", `mutation { createPost(input: {title: "t", author: "aaaaaaaaaaaaaaa", authorCreate: {email: "c@example.com", password: "password123", passwordConfirm: "password123"}}) { id } }`,
			nil, "BAD_USER_INPUT", "authorCreate", "conflict"},
		{"more nested records than the cap", postWithAuthorAndTags,
			map[string]any{"in": map[string]any{"title": "t", "tagsCreate": tagInputs(slices.Repeat([]string{"x"}, MaxNestedRecords+1)...)}},
			"BAD_USER_INPUT", "input", "too_many"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := en.gql("", c.query, c.vars)
			if r.code() != c.code || r.fieldCode(c.key) != c.fieldCode || string(r.Data) != "null" {
				t.Fatalf("want %s with fields.%s.code %s, got %s", c.code, c.key, c.fieldCode, r)
			}
			if got := en.counts(); got != before {
				t.Errorf("stored %s, want %s (all rolled back)", got, before)
			}
		})
	}
	t.Run("the error message names the path", func(t *testing.T) {
		r := en.gql("", postWithAuthorAndTags, map[string]any{"in": map[string]any{"title": "t", "tagsCreate": tagInputs("ok", "forbidden")}})
		if !strings.HasPrefix(r.Errors[0].Message, "tagsCreate.1: the create rule of tags") {
			t.Errorf("message %q", r.Errors[0].Message)
		}
	})
	t.Run("a superuser may create the author", func(t *testing.T) {
		en.gql(super, postWithAuthorAndTags, map[string]any{"in": map[string]any{"title": "t", "authorCreate": author("bob@example.com")}}).ok(t)
	})
	t.Run("deeper than limits.maxDepth", func(t *testing.T) {
		s := en.e.LimitSettings()
		s.MaxDepth = 2
		if err := en.e.SetLimits(s); err != nil {
			t.Fatal(err)
		}
		defer func() { _ = en.e.SetLimits(querycost.DefaultLimitSettings()) }()
		before := en.count("categories")
		en.gql("", `mutation { createCategory(input: {name: "c", parentCreate: {name: "b", parentCreate: {name: "a"}}}) { id } }`, nil).ok(t)
		r := en.gql("", `mutation { createCategory(input: {name: "d", parentCreate: {name: "c", parentCreate: {name: "b", parentCreate: {name: "a"}}}}) { id } }`, nil)
		if r.code() != "BAD_USER_INPUT" || r.fieldCode("parentCreate.parentCreate.parentCreate") != "too_deep" {
			t.Fatalf("got %s", r)
		}
		if got, want := en.count("categories"), before+3; got != want {
			t.Errorf("%d categories, want %d", got, want)
		}
	})
}

func TestNestedUpdate(t *testing.T) {
	en := nestedEnv(t)
	super := en.superuser()
	keep := en.insert("tags", db.RecordInput{"name": "keep"})
	drop := en.insert("tags", db.RecordInput{"name": "drop"})
	extra := en.insert("tags", db.RecordInput{"name": "extra"})
	p := en.insert("posts", db.RecordInput{"title": "p", "tags": []string{keep.ID(), drop.ID()}})
	const upd = `mutation($id: ID!, $in: PostUpdateInput!) { updatePost(id: $id, input: $in) { author { name } tags { name } } }`
	t.Run("authorCreate, tagsCreate, tagsAppend and tagsRemove together", func(t *testing.T) {
		in := map[string]any{"authorCreate": author("cy@example.com"), "tagsCreate": tagInputs("new1", "new2"),
			"tagsAppend": []any{extra.ID()}, "tagsRemove": []any{drop.ID()}}
		r := en.gql(super, upd, map[string]any{"id": p.ID(), "in": in}).ok(t)
		jsonEq(t, r.Data, `{"updatePost":{"author":{"name":"cy"},"tags":[{"name":"keep"},{"name":"extra"},{"name":"new1"},{"name":"new2"}]}}`)
	})
	t.Run("tags replaces, tagsCreate adds after it", func(t *testing.T) {
		in := map[string]any{"tags": []any{keep.ID()}, "tagsCreate": tagInputs("new3")}
		r := en.gql(super, upd, map[string]any{"id": p.ID(), "in": in}).ok(t)
		jsonEq(t, r.Data, `{"updatePost":{"author":{"name":"cy"},"tags":[{"name":"keep"},{"name":"new3"}]}}`)
	})
	t.Run("the update rule sees the created author's id", func(t *testing.T) {
		posts := *en.colls["posts"]
		posts.UpdateRule = sp(`@request.body.author != ""`)
		if _, err := en.d.UpdateCollection(en.ctx, "posts", &posts); err != nil {
			t.Fatal(err)
		}
		r := en.gql("", upd, map[string]any{"id": p.ID(), "in": map[string]any{"authorCreate": author("dee@example.com")}}).ok(t)
		jsonEq(t, r.Data, `{"updatePost":{"author":{"name":"dee"},"tags":[{"name":"keep"},{"name":"new3"}]}}`)
	})
	t.Run("a missing record is NOT_FOUND and nothing is created", func(t *testing.T) {
		before := en.counts()
		r := en.gql(super, upd, map[string]any{"id": "nonexistent0000", "in": map[string]any{"tagsCreate": tagInputs("z")}})
		if r.code() != "NOT_FOUND" || en.counts() != before {
			t.Fatalf("got %s; stored %s, before %s", r, en.counts(), before)
		}
	})
	t.Run("both author and authorCreate", func(t *testing.T) {
		before := en.count("users")
		// author: null is not given: the created author is set.
		en.gql(super, upd, map[string]any{"id": p.ID(), "in": map[string]any{"author": nil, "authorCreate": author("x@example.com")}}).ok(t)
		r := en.gql(super, upd, map[string]any{"id": p.ID(), "in": map[string]any{"author": "aaaaaaaaaaaaaaa", "authorCreate": author("y@example.com")}})
		if r.code() != "BAD_USER_INPUT" || r.fieldCode("authorCreate") != "conflict" {
			t.Fatalf("got %s", r)
		}
		if got := en.count("users"); got != before+1 {
			t.Errorf("%d users, want %d", got, before+1)
		}
	})
}

func TestNestedCreateHooks(t *testing.T) {
	en := nestedEnv(t)
	reg := &hook.Registry{}
	en.e.cfg.Hooks = reg
	var created []string
	reg.RecordCreate.BindFunc(func(e *hook.RecordEvent) error {
		if e.Collection.Name == "tags" {
			if e.Record.GetString("name") == "stop" {
				return fmt.Errorf("no stop tags")
			}
			e.Record.Set("name", strings.ToUpper(e.Record.GetString("name")))
		}
		if err := e.Next(); err != nil {
			return err
		}
		created = append(created, e.Collection.Name)
		return nil
	})
	var committed []string
	reg.RecordAfterCreateCommit.BindFunc(func(e *hook.RecordEvent) error {
		committed = append(committed, e.Collection.Name)
		return e.Next()
	})
	r := en.gql("", `mutation { createComment(input: {text: "c", postCreate: {title: "p", tagsCreate: [{name: "a"}, {name: "b"}]}}) { post { tags { name } } } }`, nil).ok(t)
	jsonEq(t, r.Data, `{"createComment":{"post":{"tags":[{"name":"A"},{"name":"B"}]}}}`)
	want := []string{"tags", "tags", "posts", "comments"} // children before their parents
	if !slices.Equal(created, want) || !slices.Equal(committed, want) {
		t.Errorf("create hooks ran for %v, after-commit for %v; want %v", created, committed, want)
	}
	created, committed = nil, nil
	before := en.counts()
	r = en.gql("", `mutation { createPost(input: {title: "p", tagsCreate: [{name: "a"}, {name: "stop"}]}) { id } }`, nil)
	if r.code() != "BAD_USER_INPUT" || !strings.HasPrefix(r.Errors[0].Message, "tagsCreate.1: no stop tags") {
		t.Fatalf("got %s", r)
	}
	if len(committed) != 0 || en.counts() != before {
		t.Errorf("after-commit hooks ran for %v; stored %s, before %s", committed, en.counts(), before)
	}
}

// uploadOne posts query with one file as the variable f (multipart).
func (en *env) uploadOne(query, content string) *gqlResp {
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	ops, _ := jsonMarshal(map[string]any{"query": query, "variables": map[string]any{"f": nil}})
	_ = w.WriteField("operations", string(ops))
	_ = w.WriteField("map", `{"0": ["variables.f"]}`)
	part, _ := w.CreateFormFile("0", "cover.txt")
	_, _ = io.WriteString(part, content)
	_ = w.Close()
	req, _ := http.NewRequest("POST", en.srv.URL+"/graphql", &body)
	req.Header.Set("Content-Type", w.FormDataContentType())
	return en.do(req)
}

func TestNestedCreateUploads(t *testing.T) {
	en := nestedEnv(t)
	r := en.uploadOne(`mutation($f: Upload) { createComment(input: {text: "c", postCreate: {title: "with cover", cover: $f}}) { post { id cover { name } } } }`, "the cover").ok(t)
	var out struct {
		CreateComment struct {
			Post struct {
				ID    string
				Cover struct{ Name string }
			}
		}
	}
	r.decode(t, &out)
	p := out.CreateComment.Post
	if !strings.HasPrefix(p.Cover.Name, "cover") {
		t.Fatalf("cover %q", p.Cover.Name)
	}
	rc, err := en.store.Open(en.ctx, en.colls["posts"].ID, p.ID, p.Cover.Name)
	if err != nil {
		t.Fatalf("the nested record's file is not stored: %v", err)
	}
	got, _ := io.ReadAll(rc)
	_ = rc.Close()
	if string(got) != "the cover" {
		t.Errorf("stored %q", got)
	}
}

func TestNestedUploadRemovedOnFailure(t *testing.T) {
	en := nestedEnv(t)
	reg := &hook.Registry{}
	en.e.cfg.Hooks = reg
	var postID, cover string
	reg.RecordAfterCreate.BindFunc(func(e *hook.RecordEvent) error {
		if e.Collection.Name == "posts" {
			postID, cover = e.Record.Id(), e.Record.GetString("cover")
		}
		return e.Next()
	})
	// The post and its file are written, then the comment's id is refused.
	r := en.uploadOne(`mutation($f: Upload) { createComment(input: {id: "BAD ID", postCreate: {title: "with cover", cover: $f}}) { id } }`, "the cover")
	if r.code() != "BAD_USER_INPUT" || r.fieldCode("id") == "" {
		t.Fatalf("got %s", r)
	}
	if cover == "" {
		t.Fatal("the nested post was not written before the comment failed: the test proves nothing")
	}
	if rc, err := en.store.Open(en.ctx, en.colls["posts"].ID, postID, cover); err == nil {
		_ = rc.Close()
		t.Errorf("the nested post's file %s is still stored after the rollback", cover)
	}
	if n := en.count("posts"); n != 0 {
		t.Errorf("%d posts stored", n)
	}
}
