package graph_test

import (
	"bytes"
	"context"
	"encoding/json"
	"github.com/monobase/monobase/internal/dbtest"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/monobase/monobase/auth"
	"github.com/monobase/monobase/db"
	"github.com/monobase/monobase/graph"
)

const (
	rootEmail    = "root@example.com"
	rootPassword = "root-password-1"
	testSDL      = "type Query { hello: String }"
)

// server is the admin API over real HTTP on a fresh data dir, with one
// superuser and one users record.
type server struct {
	url       string
	db        *db.DB
	auth      *auth.Service
	rootToken string
	userToken string
}

func newServer(t *testing.T) *server {
	t.Helper()
	ctx := context.Background()
	d, err := dbtest.Open(t, ctx, t.TempDir())
	if err != nil {
		t.Fatalf("open db: %v", err)
	}
	t.Cleanup(func() { _ = d.Close() })
	a, err := auth.New(ctx, d)
	if err != nil {
		t.Fatalf("auth.New: %v", err)
	}
	if err := d.UpsertSuperuser(ctx, rootEmail, rootPassword); err != nil {
		t.Fatalf("upsert superuser: %v", err)
	}
	hs := httptest.NewServer(a.Middleware(graph.NewHandler(d, a, func() string { return testSDL })))
	t.Cleanup(hs.Close)
	s := &server{url: hs.URL, db: d, auth: a}

	users, err := d.Collection("users")
	if err != nil {
		t.Fatalf("users collection: %v", err)
	}
	tx, err := d.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	user, err := tx.Insert(users, db.RecordInput{"email": "ann@example.com", "password": "ann-password-1", "passwordConfirm": "ann-password-1"})
	if err != nil {
		t.Fatalf("insert user: %v", err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if s.userToken, err = a.IssueToken(users, user); err != nil {
		t.Fatal(err)
	}

	var out struct {
		AuthWithPassword struct{ Token string }
	}
	s.mustDo(t, "", signIn, map[string]any{"email": rootEmail, "password": rootPassword}, &out)
	s.rootToken = out.AuthWithPassword.Token
	return s
}

type gqlError struct {
	Message    string
	Path       []any
	Extensions struct {
		Code   string
		Fields map[string]struct{ Code, Message string }
	}
}

type response struct {
	Status int
	Data   json.RawMessage
	Errors []gqlError
}

// do posts a GraphQL request with token as a bearer token ("" for none).
func (s *server) do(t *testing.T, token, query string, vars map[string]any) response {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, err := http.NewRequest(http.MethodPost, s.url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	out := response{Status: res.StatusCode}
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("decode response %d %s: %v", res.StatusCode, raw, err)
	}
	return out
}

// mustDo runs the operation, fails on any error and decodes data into out.
func (s *server) mustDo(t *testing.T, token, query string, vars map[string]any, out any) {
	t.Helper()
	res := s.do(t, token, query, vars)
	if len(res.Errors) > 0 || res.Status != http.StatusOK {
		t.Fatalf("status %d, errors %+v", res.Status, res.Errors)
	}
	if out != nil {
		if err := json.Unmarshal(res.Data, out); err != nil {
			t.Fatalf("decode data %s: %v", res.Data, err)
		}
	}
}

// mustFail runs the operation and returns its one error, failing unless
// its code is code.
func (s *server) mustFail(t *testing.T, token, query string, vars map[string]any, code string) gqlError {
	t.Helper()
	res := s.do(t, token, query, vars)
	if len(res.Errors) != 1 || res.Errors[0].Extensions.Code != code {
		t.Fatalf("errors = %+v (data %s), want one %s", res.Errors, res.Data, code)
	}
	return res.Errors[0]
}

const signIn = `mutation($email: String!, $password: String!) {
  authWithPassword(email: $email, password: $password) { token record { id email created updated } }
}`

const collectionFields = `id name type system indexes listRule viewRule createRule updateRule deleteRule
  authRule manageRule viewQuery graphqlSingle graphqlList created updated
  fields { id name type required hidden system min max pattern autogeneratePattern onlyInt values
    maxSelect collection cascadeDelete maxSize mimeTypes thumbs protected onCreate onUpdate
    onlyDomains exceptDomains }`

type field struct {
	ID                  string
	Name                string
	Type                string
	Required            bool
	Hidden              bool
	System              bool
	Min, Max            *float64
	Pattern             *string
	AutogeneratePattern *string
	OnlyInt             *bool
	Values              []string
	MaxSelect           *int
	Collection          *string
	CascadeDelete       *bool
	MaxSize             *int
	MimeTypes           []string
	Thumbs              []string
	Protected           *bool
	OnCreate, OnUpdate  *bool
	OnlyDomains         []string
	ExceptDomains       []string
}

type collection struct {
	ID, Name, Type                                              string
	System                                                      bool
	Indexes                                                     []string
	ListRule, ViewRule, CreateRule, UpdateRule, DeleteRule      *string
	AuthRule, ManageRule, ViewQuery, GraphqlSingle, GraphqlList *string
	Created, Updated                                            string
	Fields                                                      []field
}

func (c collection) field(name string) *field {
	for i := range c.Fields {
		if c.Fields[i].Name == name {
			return &c.Fields[i]
		}
	}
	return nil
}

func (c collection) fieldNames() []string {
	var out []string
	for _, f := range c.Fields {
		out = append(out, f.Name)
	}
	return out
}

const createMutation = `mutation($input: CollectionInput!) { createCollection(input: $input) { ` + collectionFields + ` } }`
const updateMutation = `mutation($id: String!, $input: CollectionInput!) { updateCollection(idOrName: $id, input: $input) { ` + collectionFields + ` } }`

func (s *server) create(t *testing.T, input map[string]any) collection {
	t.Helper()
	var out struct{ CreateCollection collection }
	s.mustDo(t, s.rootToken, createMutation, map[string]any{"input": input}, &out)
	return out.CreateCollection
}

func (s *server) get(t *testing.T, idOrName string) *collection {
	t.Helper()
	var out struct{ Collection *collection }
	s.mustDo(t, s.rootToken, `query($id: String!) { collection(idOrName: $id) { `+collectionFields+` } }`,
		map[string]any{"id": idOrName}, &out)
	return out.Collection
}

func (s *server) names(t *testing.T) []string {
	t.Helper()
	var out struct{ Collections []collection }
	s.mustDo(t, s.rootToken, `{ collections { name } }`, nil, &out)
	var names []string
	for _, c := range out.Collections {
		names = append(names, c.Name)
	}
	return names
}

func str(s string) *string { return &s }

func TestSignIn(t *testing.T) {
	s := newServer(t)

	t.Run("right credentials return a working superuser token", func(t *testing.T) {
		var out struct {
			AuthWithPassword struct {
				Token  string
				Record struct{ ID, Email, Created, Updated string }
			}
		}
		s.mustDo(t, "", signIn, map[string]any{"email": rootEmail, "password": rootPassword}, &out)
		got := out.AuthWithPassword
		if got.Token == "" || got.Record.Email != rootEmail || len(got.Record.ID) != 15 ||
			!strings.HasSuffix(got.Record.Created, "Z") || len(got.Record.Created) != len("2006-01-02T15:04:05.000Z") {
			t.Fatalf("authWithPassword = %+v", got)
		}
		s.mustDo(t, got.Token, `{ collections { id } }`, nil, nil)
	})
	for _, tc := range []struct{ name, email, password string }{
		{"wrong password", rootEmail, "wrong-password"},
		{"unknown email", "nobody@example.com", rootPassword},
		{"a users record's credentials", "ann@example.com", "ann-password-1"},
	} {
		t.Run(tc.name+" is refused with invalid credentials", func(t *testing.T) {
			e := s.mustFail(t, "", signIn, map[string]any{"email": tc.email, "password": tc.password}, "BAD_USER_INPUT")
			if e.Message != "invalid credentials" {
				t.Fatalf("message = %q", e.Message)
			}
		})
	}
}

func TestAccess(t *testing.T) {
	s := newServer(t)
	ops := []struct{ name, query string }{
		{"collections", `{ collections { id } }`},
		{"collection", `{ collection(idOrName: "users") { id } }`},
		{"schemaSDL", `{ schemaSDL }`},
		{"createCollection", `mutation { createCollection(input: {name: "x"}) { id } }`},
		{"updateCollection", `mutation { updateCollection(idOrName: "users", input: {name: "users", type: AUTH}) { id } }`},
		{"deleteCollection", `mutation { deleteCollection(idOrName: "users") }`},
		{"importCollections", `mutation { importCollections(collections: [], deleteMissing: true) { id } }`},
	}
	for _, op := range ops {
		t.Run(op.name+" without a token is unauthenticated", func(t *testing.T) {
			e := s.mustFail(t, "", op.query, nil, "UNAUTHENTICATED")
			if len(e.Path) != 1 || e.Path[0] != op.name {
				t.Fatalf("path = %v", e.Path)
			}
		})
		t.Run(op.name+" with a users token is forbidden", func(t *testing.T) {
			s.mustFail(t, s.userToken, op.query, nil, "FORBIDDEN")
		})
	}
	if got := s.names(t); !slices.Contains(got, "users") {
		t.Fatalf("refused operations changed the collections: %v", got)
	}
	t.Run("an invalid token is HTTP 401", func(t *testing.T) {
		res := s.do(t, "not-a-token", `{ collections { id } }`, nil)
		if res.Status != http.StatusUnauthorized || len(res.Errors) != 1 || res.Errors[0].Extensions.Code != "UNAUTHENTICATED" {
			t.Fatalf("got %d %+v", res.Status, res.Errors)
		}
	})
	t.Run("introspection is open", func(t *testing.T) {
		var out struct {
			Schema struct{ MutationType struct{ Name string } } `json:"__schema"`
		}
		s.mustDo(t, "", `{ __schema { mutationType { name } } }`, nil, &out)
		if out.Schema.MutationType.Name != "Mutation" {
			t.Fatalf("introspection = %+v", out)
		}
	})
	t.Run("schemaSDL returns the application schema", func(t *testing.T) {
		var out struct{ SchemaSDL string }
		s.mustDo(t, s.rootToken, `{ schemaSDL }`, nil, &out)
		if out.SchemaSDL != testSDL {
			t.Fatalf("schemaSDL = %q", out.SchemaSDL)
		}
	})
	t.Run("GET serves queries but not mutations", func(t *testing.T) {
		for _, tc := range []struct {
			query string
			ok    bool
		}{
			{`{ collections { name } }`, true},
			{`mutation { deleteCollection(idOrName: "users") }`, false},
		} {
			req, _ := http.NewRequest(http.MethodGet, s.url+"?query="+url.QueryEscape(tc.query), nil)
			req.Header.Set("Authorization", "Bearer "+s.rootToken)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if got := !strings.Contains(string(body), `"errors"`); got != tc.ok {
				t.Fatalf("GET %s: %d %s", tc.query, res.StatusCode, body)
			}
		}
		if !slices.Contains(s.names(t), "users") {
			t.Fatal("a GET mutation deleted users")
		}
	})
	t.Run("a body over the limit is 413", func(t *testing.T) {
		big := `{"query":"{ collections { id } }","variables":{"pad":"` + strings.Repeat("x", graph.MaxBodyBytes) + `"}}`
		req, _ := http.NewRequest(http.MethodPost, s.url, strings.NewReader(big))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+s.rootToken)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		if res.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(body), "PAYLOAD_TOO_LARGE") {
			t.Fatalf("got %d %s", res.StatusCode, body)
		}
	})
}

// everyFieldType is a collection input with one field of each type.
func everyFieldType() map[string]any {
	return map[string]any{
		"name":       "posts",
		"listRule":   "",
		"viewRule":   "author = @request.auth.id",
		"createRule": "@request.auth.id != ''",
		"indexes":    []string{`CREATE INDEX "idx_posts_title" ON "posts" ("title")`},
		"fields": []map[string]any{
			{"name": "title", "type": "TEXT", "required": true, "min": 3, "max": 120, "pattern": "^[A-Za-z ]+$"},
			{"name": "slug", "type": "TEXT", "autogeneratePattern": "[a-z]{8}"},
			{"name": "body", "type": "EDITOR", "maxSize": 100000},
			{"name": "views", "type": "NUMBER", "min": 0, "onlyInt": true},
			{"name": "published", "type": "BOOL"},
			{"name": "contact", "type": "EMAIL", "onlyDomains": []string{"example.com"}},
			{"name": "homepage", "type": "URL", "exceptDomains": []string{"spam.example"}},
			{"name": "publishedAt", "type": "DATE"},
			{"name": "touched", "type": "AUTODATE", "onCreate": true, "onUpdate": true},
			{"name": "status", "type": "SELECT", "values": []string{"draft", "published"}, "maxSelect": 1},
			{"name": "cover", "type": "FILE", "maxSelect": 3, "maxSize": 1048576, "mimeTypes": []string{"image/png"}, "thumbs": []string{"100x100"}, "protected": true},
			{"name": "author", "type": "RELATION", "collection": "users", "maxSelect": 1, "cascadeDelete": true},
			{"name": "meta", "type": "JSON", "maxSize": 2000},
			{"name": "location", "type": "GEOPOINT"},
			{"name": "secret", "type": "PASSWORD", "min": 10},
		},
	}
}

func TestCreateCollection(t *testing.T) {
	s := newServer(t)
	users := s.get(t, "users")
	created := s.create(t, everyFieldType())

	t.Run("the created collection reads back the same by name and id", func(t *testing.T) {
		byName, byID := s.get(t, "posts"), s.get(t, created.ID)
		if byName == nil || byID == nil {
			t.Fatal("collection not found")
		}
		a, _ := json.Marshal(created)
		b, _ := json.Marshal(byName)
		c, _ := json.Marshal(byID)
		if !bytes.Equal(a, b) || !bytes.Equal(a, c) {
			t.Fatalf("created %s\nby name %s\nby id %s", a, b, c)
		}
	})
	t.Run("collection attributes", func(t *testing.T) {
		c := created
		if c.Type != "BASE" || c.System || c.ListRule == nil || *c.ListRule != "" || c.UpdateRule != nil ||
			c.ViewRule == nil || *c.ViewRule != "author = @request.auth.id" || len(c.Indexes) != 1 ||
			c.ViewQuery != nil || c.GraphqlSingle != nil || c.Created == "" {
			t.Fatalf("collection = %+v", c)
		}
	})
	t.Run("system fields come first and are flagged", func(t *testing.T) {
		for _, name := range []string{"id", "created", "updated"} {
			if f := created.field(name); f == nil || !f.System {
				t.Fatalf("system field %s = %+v", name, f)
			}
		}
	})
	t.Run("every field type keeps its options", func(t *testing.T) {
		types := map[string]bool{}
		for _, f := range created.Fields {
			types[f.Type] = true
			if !f.System && f.ID == "" {
				t.Fatalf("field %s has no id", f.Name)
			}
		}
		if len(types) != 14 {
			t.Fatalf("field types = %v, want all 14", types)
		}
		checks := []struct {
			field string
			ok    func(f *field) bool
		}{
			{"title", func(f *field) bool {
				return f.Required && *f.Min == 3 && *f.Max == 120 && *f.Pattern == "^[A-Za-z ]+$" && f.OnlyInt == nil && f.Values == nil
			}},
			{"slug", func(f *field) bool { return *f.AutogeneratePattern == "[a-z]{8}" && f.Min == nil }},
			{"body", func(f *field) bool { return *f.MaxSize == 100000 && f.Pattern == nil }},
			{"views", func(f *field) bool { return *f.OnlyInt && *f.Min == 0 && f.Max == nil && f.MaxSize == nil }},
			{"published", func(f *field) bool { return f.OnlyInt == nil && f.Collection == nil }},
			{"contact", func(f *field) bool {
				return slices.Equal(f.OnlyDomains, []string{"example.com"}) && f.ExceptDomains != nil && len(f.ExceptDomains) == 0
			}},
			{"homepage", func(f *field) bool { return slices.Equal(f.ExceptDomains, []string{"spam.example"}) }},
			{"publishedAt", func(f *field) bool { return f.Type == "DATE" && f.OnCreate == nil }},
			{"touched", func(f *field) bool { return *f.OnCreate && *f.OnUpdate }},
			{"status", func(f *field) bool {
				return slices.Equal(f.Values, []string{"draft", "published"}) && *f.MaxSelect == 1
			}},
			{"cover", func(f *field) bool {
				return *f.MaxSelect == 3 && *f.MaxSize == 1048576 && slices.Equal(f.MimeTypes, []string{"image/png"}) &&
					slices.Equal(f.Thumbs, []string{"100x100"}) && *f.Protected
			}},
			{"author", func(f *field) bool { return *f.Collection == users.ID && *f.CascadeDelete && *f.MaxSelect == 1 }},
			{"meta", func(f *field) bool { return *f.MaxSize == 2000 }},
			{"location", func(f *field) bool { return f.Type == "GEOPOINT" && f.MaxSize == nil }},
			{"secret", func(f *field) bool { return *f.Min == 10 && f.Pattern != nil }},
		}
		for _, c := range checks {
			f := created.field(c.field)
			if f == nil || !c.ok(f) {
				j, _ := json.Marshal(f)
				t.Errorf("field %s = %s", c.field, j)
			}
		}
	})
	t.Run("the table exists and takes records", func(t *testing.T) {
		c, err := s.db.Collection("posts")
		if err != nil {
			t.Fatal(err)
		}
		tx, err := s.db.Begin(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		if _, err := tx.Insert(c, db.RecordInput{"title": "Hello world", "views": 3.0}); err != nil {
			t.Fatalf("insert: %v", err)
		}
	})
}

func TestUpdateCollection(t *testing.T) {
	s := newServer(t)
	created := s.create(t, map[string]any{
		"name": "notes",
		"fields": []map[string]any{
			{"name": "title", "type": "TEXT"},
			{"name": "body", "type": "EDITOR"},
		},
	})
	ctx := context.Background()
	c, _ := s.db.Collection("notes")
	tx, _ := s.db.Begin(ctx)
	rec, err := tx.Insert(c, db.RecordInput{"title": "kept", "body": "gone"})
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}

	title := created.field("title")
	var out struct{ UpdateCollection collection }
	s.mustDo(t, s.rootToken, updateMutation, map[string]any{"id": "notes", "input": map[string]any{
		"name":     "memos",
		"listRule": "",
		"fields": []map[string]any{
			{"id": title.ID, "name": "heading", "type": "TEXT", "max": 50},
			{"name": "pinned", "type": "BOOL"},
		},
	}}, &out)
	got := out.UpdateCollection

	t.Run("rename, add and drop apply", func(t *testing.T) {
		if got.ID != created.ID || got.Name != "memos" {
			t.Fatalf("collection = %s %s", got.ID, got.Name)
		}
		names := got.fieldNames()
		if !slices.Contains(names, "heading") || !slices.Contains(names, "pinned") ||
			slices.Contains(names, "title") || slices.Contains(names, "body") || !slices.Contains(names, "id") {
			t.Fatalf("fields = %v", names)
		}
		if h := got.field("heading"); h.ID != title.ID || *h.Max != 50 {
			t.Fatalf("heading = %+v", h)
		}
		if got.ListRule == nil || *got.ListRule != "" {
			t.Fatalf("listRule = %v", got.ListRule)
		}
		if s.get(t, "notes") != nil || s.get(t, "memos") == nil {
			t.Fatal("old name still found or new name missing")
		}
	})
	t.Run("a renamed field keeps its data", func(t *testing.T) {
		memos, err := s.db.Collection("memos")
		if err != nil {
			t.Fatal(err)
		}
		recs, err := s.db.FindByIDs(ctx, memos, []string{rec.ID()})
		if err != nil || len(recs) != 1 {
			t.Fatalf("find: %v %v", recs, err)
		}
		if recs[0]["heading"] != "kept" {
			t.Fatalf("record = %v", recs[0])
		}
		if _, ok := recs[0]["body"]; ok {
			t.Fatalf("dropped field still read: %v", recs[0])
		}
	})
	t.Run("a missing collection is NOT_FOUND", func(t *testing.T) {
		s.mustFail(t, s.rootToken, updateMutation, map[string]any{"id": "nope", "input": map[string]any{"name": "nope"}}, "NOT_FOUND")
	})
}

func TestInvalidDefinitions(t *testing.T) {
	s := newServer(t)
	s.create(t, map[string]any{"name": "tags", "fields": []map[string]any{{"name": "label", "type": "TEXT"}}})
	before := s.names(t)
	tagsBefore, _ := json.Marshal(s.get(t, "tags"))

	cases := []struct {
		name     string
		query    string
		input    map[string]any
		wantKey  string
		wantText string // in the field message
	}{
		{"duplicate collection name", createMutation,
			map[string]any{"name": "tags"}, "name", ""},
		{"relation to a missing collection", createMutation,
			map[string]any{"name": "posts", "fields": []map[string]any{{"name": "tag", "type": "RELATION", "collection": "missing"}}},
			"fields.0.collection", ""},
		{"bad field name", createMutation,
			map[string]any{"name": "posts", "fields": []map[string]any{{"name": "bad name", "type": "TEXT"}}},
			"fields.0.name", ""},
		{"duplicate field name", createMutation,
			map[string]any{"name": "posts", "fields": []map[string]any{{"name": "a", "type": "TEXT"}, {"name": "a", "type": "BOOL"}}},
			"fields.1.name", ""},
		{"bad collection name", createMutation,
			map[string]any{"name": "Bad-Name"}, "name", ""},
		{"rule that does not parse", createMutation,
			map[string]any{"name": "posts", "fields": []map[string]any{{"name": "title", "type": "TEXT"}}, "listRule": "title = 'x' &&"},
			"listRule", "position"},
		{"update into a bad rule", updateMutation,
			map[string]any{"name": "tags", "fields": []map[string]any{{"name": "label", "type": "TEXT"}}, "updateRule": "label ="},
			"updateRule", "position"},
		{"update renaming onto an existing collection", updateMutation,
			map[string]any{"name": "users", "fields": []map[string]any{{"name": "label", "type": "TEXT"}}},
			"name", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name+" is BAD_USER_INPUT and changes nothing", func(t *testing.T) {
			vars := map[string]any{"input": tc.input}
			if tc.query == updateMutation {
				vars["id"] = "tags"
			}
			e := s.mustFail(t, s.rootToken, tc.query, vars, "BAD_USER_INPUT")
			fe, ok := e.Extensions.Fields[tc.wantKey]
			if !ok || fe.Message == "" || !strings.Contains(fe.Message, tc.wantText) {
				t.Fatalf("fields = %+v, want key %q containing %q (message %q)", e.Extensions.Fields, tc.wantKey, tc.wantText, e.Message)
			}
			if strings.HasSuffix(tc.wantKey, "Rule") && !strings.Contains(e.Message, tc.wantKey) {
				t.Fatalf("message %q does not name the rule", e.Message)
			}
			if after := s.names(t); !slices.Equal(after, before) {
				t.Fatalf("collections %v, before %v", after, before)
			}
			if tagsAfter, _ := json.Marshal(s.get(t, "tags")); !bytes.Equal(tagsAfter, tagsBefore) {
				t.Fatalf("tags changed:\n%s\n%s", tagsBefore, tagsAfter)
			}
		})
	}
}

func TestDeleteCollection(t *testing.T) {
	s := newServer(t)
	s.create(t, map[string]any{"name": "drafts"})
	const del = `mutation($id: String!) { deleteCollection(idOrName: $id) }`

	t.Run("delete removes the collection", func(t *testing.T) {
		var out struct{ DeleteCollection bool }
		s.mustDo(t, s.rootToken, del, map[string]any{"id": "drafts"}, &out)
		if !out.DeleteCollection || s.get(t, "drafts") != nil {
			t.Fatalf("delete = %v, collection still there: %v", out.DeleteCollection, s.get(t, "drafts") != nil)
		}
	})
	t.Run("a missing collection is NOT_FOUND", func(t *testing.T) {
		s.mustFail(t, s.rootToken, del, map[string]any{"id": "drafts"}, "NOT_FOUND")
	})
	t.Run("the superusers collection can't be deleted", func(t *testing.T) {
		s.mustFail(t, s.rootToken, del, map[string]any{"id": db.SuperusersCollection}, "BAD_USER_INPUT")
		if s.get(t, db.SuperusersCollection) == nil {
			t.Fatal("_superusers deleted")
		}
	})
}

func TestImportCollections(t *testing.T) {
	s := newServer(t)
	const imp = `mutation($cs: [CollectionInput!]!, $del: Boolean) {
  importCollections(collections: $cs, deleteMissing: $del) { ` + collectionFields + ` } }`
	s.create(t, map[string]any{"name": "legacy"})

	authors := map[string]any{"name": "authors", "fields": []map[string]any{{"name": "name", "type": "TEXT", "required": true}}}
	books := map[string]any{"name": "books", "listRule": "", "fields": []map[string]any{
		{"name": "title", "type": "TEXT"},
		{"name": "author", "type": "RELATION", "collection": "authors", "maxSelect": 1},
	}}

	t.Run("import creates collections relating to each other by name", func(t *testing.T) {
		var out struct{ ImportCollections []collection }
		s.mustDo(t, s.rootToken, imp, map[string]any{"cs": []any{authors, books}}, &out)
		if len(out.ImportCollections) != 2 {
			t.Fatalf("imported %d", len(out.ImportCollections))
		}
		a, b := s.get(t, "authors"), s.get(t, "books")
		if a == nil || b == nil || *b.field("author").Collection != a.ID {
			t.Fatalf("authors %v books %v", a, b)
		}
		if names := s.names(t); !slices.Contains(names, "legacy") || !slices.Contains(names, "users") {
			t.Fatalf("import without deleteMissing deleted collections: %v", names)
		}
	})
	t.Run("a bad rule in an import is keyed by its position in the list", func(t *testing.T) {
		bad := map[string]any{"name": "broken", "listRule": "(("}
		e := s.mustFail(t, s.rootToken, imp, map[string]any{"cs": []any{authors, bad}}, "BAD_USER_INPUT")
		if _, ok := e.Extensions.Fields["collections.1.listRule"]; !ok {
			t.Fatalf("fields = %+v", e.Extensions.Fields)
		}
		if s.get(t, "broken") != nil {
			t.Fatal("broken collection created")
		}
	})
	t.Run("import with deleteMissing updates listed ones and deletes the others", func(t *testing.T) {
		authors2 := map[string]any{"name": "authors", "fields": []map[string]any{
			{"name": "name", "type": "TEXT", "required": true},
			{"name": "bio", "type": "EDITOR"},
		}}
		s.mustDo(t, s.rootToken, imp, map[string]any{"cs": []any{authors2}, "del": true}, nil)
		names := s.names(t)
		for _, gone := range []string{"legacy", "books", "users"} {
			if slices.Contains(names, gone) {
				t.Fatalf("%s survived deleteMissing: %v", gone, names)
			}
		}
		if !slices.Contains(names, db.SuperusersCollection) {
			t.Fatalf("system collection deleted: %v", names)
		}
		if a := s.get(t, "authors"); a == nil || a.field("bio") == nil {
			t.Fatalf("authors not updated: %+v", a)
		}
	})
}

func TestAuthRuleDefault(t *testing.T) {
	s := newServer(t)
	t.Run("an auth collection without authRule lets any record sign in", func(t *testing.T) {
		c := s.create(t, map[string]any{"name": "members", "type": "AUTH"})
		if c.AuthRule == nil || *c.AuthRule != "" {
			t.Fatalf("authRule = %v, want \"\"", c.AuthRule)
		}
	})
	t.Run("an explicit null authRule stays null", func(t *testing.T) {
		c := s.create(t, map[string]any{"name": "locked", "type": "AUTH", "authRule": nil})
		if c.AuthRule != nil {
			t.Fatalf("authRule = %q, want null", *c.AuthRule)
		}
	})
	t.Run("a base collection has no auth rules", func(t *testing.T) {
		c := s.create(t, map[string]any{"name": "notes"})
		if c.AuthRule != nil || c.ManageRule != nil {
			t.Fatalf("authRule = %v, manageRule = %v, want null", c.AuthRule, c.ManageRule)
		}
	})
}
