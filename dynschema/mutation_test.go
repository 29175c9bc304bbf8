package dynschema

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql"

	"github.com/monobase/monobase/apperr"
	"github.com/monobase/monobase/db"
	"github.com/monobase/monobase/subscriptions"
)

func TestMutationTransaction(t *testing.T) {
	en := newEnv(t)
	en.blog()
	t.Run("second root field fails: the first is rolled back", func(t *testing.T) {
		r := en.gql("", `mutation { a: createPost(input: {title: "kept?"}) { id } b: createPost(input: {title: ""}) { id } }`, nil)
		if r.code() != "BAD_USER_INPUT" || string(r.Data) != "null" {
			t.Fatalf("got %s", r)
		}
		if got := fmt.Sprint(r.Errors[0].Path); got != "[b]" {
			t.Errorf("error path %s", got)
		}
		r = en.gql("", `{ postsAggregate { count } }`, nil).ok(t)
		jsonEq(t, r.Data, `{"postsAggregate":{"count":0}}`)
	})
	t.Run("all root fields commit together and read their own writes", func(t *testing.T) {
		r := en.gql("", `mutation { a: createTag(input: {id: "tagaaaaaaaaaaaa", name: "a"}) { id } b: createPost(input: {title: "t", tags: ["tagaaaaaaaaaaaa"]}) { title tags { name } } }`, nil).ok(t)
		jsonEq(t, r.Data, `{"a":{"id":"tagaaaaaaaaaaaa"},"b":{"title":"t","tags":[{"name":"a"}]}}`)
	})
	t.Run("update of a missing record is NOT_FOUND", func(t *testing.T) {
		r := en.gql("", `mutation { updatePost(id: "nonexistent0000", input: {title: "x"}) { id } }`, nil)
		if r.code() != "NOT_FOUND" {
			t.Errorf("got %s", r)
		}
	})
}

func TestUploads(t *testing.T) {
	en := newEnv(t)
	en.blog()
	upload := func(query string, vars map[string]any, files map[string][]string, contents map[string]string) *gqlResp {
		var body bytes.Buffer
		w := multipart.NewWriter(&body)
		ops, _ := jsonMarshal(map[string]any{"query": query, "variables": vars})
		_ = w.WriteField("operations", string(ops))
		m, _ := jsonMarshal(files)
		_ = w.WriteField("map", string(m))
		for key, content := range contents {
			part, _ := w.CreateFormFile(key, key+".txt")
			_, _ = io.WriteString(part, content)
		}
		_ = w.Close()
		req, _ := http.NewRequest("POST", en.srv.URL+"/graphql", &body)
		req.Header.Set("Content-Type", w.FormDataContentType())
		return en.do(req)
	}
	r := upload(`mutation($c: Upload, $a: [Upload!]) { createPost(input: {title: "files", cover: $c, attachments: $a}) { id cover { name url } attachments { name } } }`,
		map[string]any{"c": nil, "a": []any{nil, nil}},
		map[string][]string{"0": {"variables.c"}, "1": {"variables.a.0"}, "2": {"variables.a.1"}},
		map[string]string{"0": "cover!", "1": "one", "2": "two"}).ok(t)
	var out struct {
		CreatePost struct {
			ID          string
			Cover       struct{ Name, URL string }
			Attachments []struct{ Name string }
		}
	}
	r.decode(t, &out)
	p := out.CreatePost
	if p.Cover.Name == "" || len(p.Attachments) != 2 || !strings.Contains(p.Cover.URL, p.Cover.Name) {
		t.Fatalf("got %s", r)
	}
	posts, _ := en.d.Collection("posts")
	b, err := os.ReadFile(filepath.Join(en.store.Root(), posts.ID, p.ID, p.Cover.Name))
	if err != nil || string(b) != "cover!" {
		t.Errorf("stored cover: %q, %v", b, err)
	}
	t.Run("a failed operation deletes its uploads", func(t *testing.T) {
		r := upload(`mutation($c: Upload) { createPost(input: {title: "", cover: $c}) { id } }`,
			map[string]any{"c": nil}, map[string][]string{"0": {"variables.c"}}, map[string]string{"0": "gone"})
		if r.code() != "BAD_USER_INPUT" {
			t.Fatalf("got %s", r)
		}
		n := 0
		_ = filepath.Walk(filepath.Join(en.store.Root(), posts.ID), func(path string, info os.FileInfo, err error) error {
			if err == nil && !info.IsDir() {
				n++
			}
			return nil
		})
		if n != 3 {
			t.Errorf("%d files stored, want the 3 of the first post", n)
		}
	})
}

func TestNullPropagation(t *testing.T) {
	en := newEnv(t)
	en.blog()
	u, _ := en.user("ann@example.com")
	en.insert("posts", map[string]any{"title": "one", "author": u.ID()})
	en.insert("posts", map[string]any{"title": "two", "author": u.ID()})
	boom := errors.New("boom")
	if err := en.e.AroundFields(func(ctx context.Context, next graphql.Resolver) (any, error) {
		fc := graphql.GetFieldContext(ctx)
		if fc.Object == "User" && fc.Field.Name == "name" {
			return nil, apperr.New(apperr.Forbidden, "no names")
		}
		if fc.Object == "Post" && fc.Field.Name == "title" {
			if res, err := next(ctx); err != nil || res == "two" {
				return nil, boom
			}
		}
		return next(ctx)
	}); err != nil {
		t.Fatal(err)
	}
	t.Run("an error in a nullable field nulls only that field", func(t *testing.T) {
		r := en.gql("", `{ posts { author { name } } }`, nil)
		jsonEq(t, r.Data, `{"posts":[{"author":{"name":null}},{"author":{"name":null}}]}`)
		if len(r.Errors) != 2 || fmt.Sprint(r.Errors[1].Path) != "[posts 1 author name]" || r.code() != "FORBIDDEN" {
			t.Errorf("errors %s", r)
		}
	})
	t.Run("an error in a non-null field nulls the nearest nullable parent", func(t *testing.T) {
		r := en.gql("", `{ posts { title } x: __typename }`, nil)
		if string(r.Data) != "null" || len(r.Errors) != 1 || fmt.Sprint(r.Errors[0].Path) != "[posts 1 title]" {
			t.Errorf("got %s", r)
		}
		if r.code() != "INTERNAL_SERVER_ERROR" || r.Errors[0].Message != "internal server error" {
			t.Errorf("internal error leaked: %s", r)
		}
		r = en.gql("", `{ a: newsCount: postsAggregate { count } u: users { postsViaAuthor { title } } }`, nil)
		_ = r
	})
	t.Run("through a nullable relation the parent stays", func(t *testing.T) {
		r := en.gql("", `{ users { name postsViaAuthor { title } } }`, nil)
		if string(r.Data) != "null" || fmt.Sprint(r.Errors[len(r.Errors)-1].Path) != "[users 0 postsViaAuthor 1 title]" {
			t.Errorf("got %s", r)
		}
	})
}

func TestLimits(t *testing.T) {
	en := newEnv(t)
	en.blog()
	t.Run("depth", func(t *testing.T) {
		q := "{ posts { author { postsViaAuthor { author { postsViaAuthor { author { postsViaAuthor { author { postsViaAuthor { author { postsViaAuthor { author { id" + strings.Repeat(" }", 13)
		r := en.gql("", q, nil)
		if r.code() != "DEPTH_LIMIT_EXCEEDED" {
			t.Errorf("got %s", r)
		}
	})
	t.Run("complexity", func(t *testing.T) {
		r := en.gql("", `{ posts(limit: 1000) { tags { postsViaTags(limit: 1000) { id } } } }`, nil)
		if r.code() != "COMPLEXITY_LIMIT_EXCEEDED" {
			t.Errorf("got %s", r)
		}
	})
	t.Run("body size", func(t *testing.T) {
		big := strings.Repeat(" ", 33<<20)
		req, _ := http.NewRequest("POST", en.srv.URL+"/graphql", strings.NewReader(`{"query":"{ __typename }`+big+`"}`))
		req.Header.Set("Content-Type", "application/json")
		r := en.do(req)
		if r.Status != http.StatusRequestEntityTooLarge || r.code() != "PAYLOAD_TOO_LARGE" {
			t.Errorf("got %d %s", r.Status, r.raw[:min(len(r.raw), 200)])
		}
	})
	t.Run("JSON body size", func(t *testing.T) {
		big := strings.Repeat(" ", 9<<20)
		req, _ := http.NewRequest("POST", en.srv.URL+"/graphql", strings.NewReader(`{"query":"{ __typename }`+big+`"}`))
		req.Header.Set("Content-Type", "application/json")
		r := en.do(req)
		if r.Status != http.StatusRequestEntityTooLarge || r.code() != "PAYLOAD_TOO_LARGE" {
			t.Errorf("a 9 MiB JSON body: got %d %s", r.Status, r.raw[:min(len(r.raw), 200)])
		}
	})
	t.Run("a browser GET redirects to the playground", func(t *testing.T) {
		req, _ := http.NewRequest("GET", en.srv.URL+"/graphql", nil)
		req.Header.Set("Accept", "text/html,application/xhtml+xml,*/*")
		resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/playground" {
			t.Errorf("got %d %s", resp.StatusCode, resp.Header.Get("Location"))
		}
	})
	t.Run("GET runs queries", func(t *testing.T) {
		req, _ := http.NewRequest("GET", en.srv.URL+"/graphql?query=%7B__typename%7D", nil)
		r := en.do(req).ok(t)
		jsonEq(t, r.Data, `{"__typename":"Query"}`)
	})
}

func TestRulesAndAuth(t *testing.T) {
	en := newEnv(t)
	en.blog()
	ann, annTok := en.user("ann@example.com")
	bob, bobTok := en.user("bob@example.com")
	secrets := en.create(&db.Collection{Name: "secrets", Type: db.TypeBase,
		ListRule: sp("owner = @request.auth.id"), ViewRule: sp("owner = @request.auth.id"),
		CreateRule: sp("owner = @request.auth.id"), UpdateRule: sp("owner = @request.auth.id && @request.body.text != 'nope'"),
		DeleteRule: nil,
		Fields: []*db.Field{
			{Name: "text", Type: db.FieldText},
			{Name: "owner", Type: db.FieldRelation, Collection: en.colls["users"].ID, MaxSelect: 1},
		}})
	_ = secrets
	s1 := en.insert("secrets", map[string]any{"text": "ann's", "owner": ann.ID()})
	en.insert("secrets", map[string]any{"text": "bob's", "owner": bob.ID()})

	cases := []struct {
		scenario, token, query, wantData, wantCode string
	}{
		{"anonymous lists nothing", "", `{ secrets { text } }`, `{"secrets":[]}`, ""},
		{"the owner lists her own", annTok, `{ secrets { text } }`, `{"secrets":[{"text":"ann's"}]}`, ""},
		{"another user cannot view it", bobTok, fmt.Sprintf(`{ secret(id: %q) { text } }`, s1.ID()), `{"secret":null}`, ""},
		{"a superuser sees everything", en.superuser(), `{ secretsAggregate { count } }`, `{"secretsAggregate":{"count":2}}`, ""},
		{"update of a record the viewer cannot view is NOT_FOUND", bobTok, fmt.Sprintf(`mutation { updateSecret(id: %q, input: {text: "x"}) { id } }`, s1.ID()), `null`, "NOT_FOUND"},
		{"update the rule denies is FORBIDDEN", annTok, fmt.Sprintf(`mutation { updateSecret(id: %q, input: {text: "nope"}) { id } }`, s1.ID()), `null`, "FORBIDDEN"},
		{"update the rule allows", annTok, fmt.Sprintf(`mutation { updateSecret(id: %q, input: {text: "new"}) { text } }`, s1.ID()), `{"updateSecret":{"text":"new"}}`, ""},
		{"a nil delete rule is FORBIDDEN", annTok, fmt.Sprintf(`mutation { deleteSecret(id: %q) { id } }`, s1.ID()), `null`, "FORBIDDEN"},
		{"create the rule denies is FORBIDDEN and rolled back", annTok, fmt.Sprintf(`mutation { createSecret(input: {text: "x", owner: %q}) { id } }`, bob.ID()), `null`, "FORBIDDEN"},
		{"relations to records the viewer cannot view read null", bobTok, `{ users(orderBy: [{name: ASC}]) { name secretsViaOwner { text } } }`, `{"users":[{"name":"ann","secretsViaOwner":[]},{"name":"bob","secretsViaOwner":[{"text":"bob's"}]}]}`, ""},
		{"me is the viewer's record", annTok, `{ me { __typename id ... on User { name email } } }`, fmt.Sprintf(`{"me":{"__typename":"User","id":%q,"name":"ann","email":"ann@example.com"}}`, ann.ID()), ""},
		{"me is null when anonymous", "", `{ me { id } }`, `{"me":null}`, ""},
		{"me is null for superusers", en.superuser(), `{ me { id } }`, `{"me":null}`, ""},
		{"other users' emails are hidden", bobTok, fmt.Sprintf(`{ user(id: %q) { email } }`, ann.ID()), `{"user":{"email":null}}`, ""},
		{"wrong password is a generic BAD_USER_INPUT", "", `mutation { userAuthWithPassword(identity: "ann@example.com", password: "wrong") { token } }`, `null`, "BAD_USER_INPUT"},
		{"unknown identity is the same error", "", `mutation { userAuthWithPassword(identity: "nobody@example.com", password: "password123") { token } }`, `null`, "BAD_USER_INPUT"},
		{"refresh needs a viewer", "", `mutation { userAuthRefresh { token } }`, `null`, "UNAUTHENTICATED"},
	}
	for _, c := range cases {
		t.Run(c.scenario, func(t *testing.T) {
			r := en.gql(c.token, c.query, nil)
			if r.code() != c.wantCode {
				t.Fatalf("code %q, want %q: %s", r.code(), c.wantCode, r)
			}
			jsonEq(t, r.Data, c.wantData)
		})
	}
	t.Run("sign in, then use the token", func(t *testing.T) {
		r := en.gql("", `mutation { userAuthWithPassword(identity: "ANN@example.com", password: "password123") { token record { id email } } }`, nil).ok(t)
		var out struct{ UserAuthWithPassword struct{ Token string } }
		r.decode(t, &out)
		r = en.gql(out.UserAuthWithPassword.Token, `{ me { id } }`, nil).ok(t)
		jsonEq(t, r.Data, fmt.Sprintf(`{"me":{"id":%q}}`, ann.ID()))
		r = en.gql(out.UserAuthWithPassword.Token, `mutation { userAuthRefresh { token record { id } } }`, nil).ok(t)
	})
	t.Run("an invalid token is UNAUTHENTICATED 401", func(t *testing.T) {
		r := en.gql("garbage", `{ me { id } }`, nil)
		if r.Status != 401 || r.code() != "UNAUTHENTICATED" {
			t.Errorf("got %d %s", r.Status, r)
		}
	})
}

// TestOperationTimeout checks that an operation past its deadline is
// answered as TIMEOUT and writes nothing, queries and mutations alike
// (db's TestDeadlineStopsAStatement shows the deadline stops SQL).
func TestOperationTimeout(t *testing.T) {
	en := newLimitsEnv(t, subscriptions.Options{}, false, Limits{Timeout: time.Nanosecond})
	en.blog()
	for _, q := range []string{`{ posts { id title } }`, `mutation { createTag(input: {name: "x"}) { id } }`} {
		r := en.gql("", q, nil)
		if r.code() != "TIMEOUT" {
			t.Errorf("%s: got %d %s", q, r.Status, r.raw)
		}
	}
	n, err := en.d.Count(en.ctx, &db.Query{Collection: en.colls["tags"]})
	if err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("a timed-out create left %d tags", n)
	}
}
