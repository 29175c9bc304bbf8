package dynschema

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/monobase/monobase/auth"
	"github.com/monobase/monobase/db"
	"github.com/monobase/monobase/files"
	"github.com/monobase/monobase/subscriptions"
)

// env is a real server: SQLite in a temp dir, the auth service, local file
// storage, the hub and the engine behind the auth middleware.
type env struct {
	t     testing.TB
	ctx   context.Context
	d     *db.DB
	auth  *auth.Service
	hub   *subscriptions.Hub
	store *files.Store
	e     *Engine
	srv   *httptest.Server
	colls map[string]*db.Collection

	superToken string
}

func newEnv(t testing.TB) *env {
	t.Helper()
	return newLimitsEnv(t, subscriptions.Options{}, false, Limits{})
}

// hookUp sets d's change hooks to e and hub as cmd/monobase's wiring does.
func hookUp(d *db.DB, e *Engine, hub *subscriptions.Hub) {
	d.OnSchemaChange = e.PrepareSchema
	d.OnRecordChange = func(ev db.RecordEvent) {
		e.RecordChanged(ev)
		if hub != nil {
			hub.Publish(ev)
		}
	}
}

func sp(s string) *string { return &s }

// create creates a collection through db (as the admin API does); rules
// default to "" (anyone).
func (en *env) create(c *db.Collection) *db.Collection {
	en.t.Helper()
	rules := []**string{&c.ListRule, &c.ViewRule, &c.CreateRule, &c.UpdateRule, &c.DeleteRule}
	set := false
	for _, r := range rules {
		set = set || *r != nil
	}
	for _, r := range rules {
		if !set {
			*r = sp("")
		}
	}
	out, err := en.d.CreateCollection(en.ctx, c)
	if err != nil {
		en.t.Fatalf("create collection %s: %v", c.Name, err)
	}
	en.colls[out.Name] = out
	return out
}

// blog creates tags and posts (relations to users and tags) and opens the
// users collection's rules for the tests.
func (en *env) blog() {
	en.t.Helper()
	users, err := en.d.Collection("users")
	if err != nil {
		en.t.Fatal(err)
	}
	u := *users
	u.ListRule, u.ViewRule = sp(""), sp("")
	users, err = en.d.UpdateCollection(en.ctx, "users", &u)
	if err != nil {
		en.t.Fatalf("open users: %v", err)
	}
	en.colls["users"] = users
	tags := en.create(&db.Collection{Name: "tags", Type: db.TypeBase, Fields: []*db.Field{
		{Name: "name", Type: db.FieldText, Required: true},
	}})
	en.create(&db.Collection{Name: "posts", Type: db.TypeBase, Fields: []*db.Field{
		{Name: "title", Type: db.FieldText, Required: true},
		{Name: "body", Type: db.FieldEditor},
		{Name: "views", Type: db.FieldNumber},
		{Name: "rank", Type: db.FieldNumber, OnlyInt: true},
		{Name: "published", Type: db.FieldBool},
		{Name: "status", Type: db.FieldSelect, Values: []string{"draft", "published"}, MaxSelect: 1},
		{Name: "labels", Type: db.FieldSelect, Values: []string{"in progress", "done"}, MaxSelect: 2},
		{Name: "publishedAt", Type: db.FieldDate},
		{Name: "author", Type: db.FieldRelation, Collection: users.ID, MaxSelect: 1},
		{Name: "tags", Type: db.FieldRelation, Collection: tags.ID, MaxSelect: 10},
		{Name: "cover", Type: db.FieldFile, MaxSelect: 1},
		{Name: "attachments", Type: db.FieldFile, MaxSelect: 5},
		{Name: "location", Type: db.FieldGeoPoint},
		{Name: "meta", Type: db.FieldJSON},
		{Name: "website", Type: db.FieldURL},
	}})
}

// insert writes a record directly through db.
func (en *env) insert(coll string, in db.RecordInput) db.Record {
	en.t.Helper()
	c, err := en.d.Collection(coll)
	if err != nil {
		en.t.Fatal(err)
	}
	tx, err := en.d.Begin(en.ctx)
	if err != nil {
		en.t.Fatal(err)
	}
	rec, err := tx.Insert(c, in)
	if err != nil {
		_ = tx.Rollback()
		en.t.Fatalf("insert into %s: %v", coll, err)
	}
	if err := tx.Commit(); err != nil {
		en.t.Fatal(err)
	}
	return rec
}

// user creates a user and returns it with a token.
func (en *env) user(email string) (db.Record, string) {
	en.t.Helper()
	rec := en.insert("users", db.RecordInput{"email": email, "password": "password123", "passwordConfirm": "password123", "name": strings.Split(email, "@")[0]})
	c, _ := en.d.Collection("users")
	tok, err := en.auth.IssueToken(c, rec)
	if err != nil {
		en.t.Fatal(err)
	}
	return rec, tok
}

// superuser returns a superuser token.
func (en *env) superuser() string {
	en.t.Helper()
	if en.superToken != "" {
		return en.superToken
	}
	if err := en.d.UpsertSuperuser(en.ctx, "root@example.com", "password123"); err != nil {
		en.t.Fatal(err)
	}
	c, _ := en.d.Collection(db.SuperusersCollection)
	rec, err := en.d.FindAuthRecord(en.ctx, c, "root@example.com")
	if err != nil {
		en.t.Fatal(err)
	}
	en.superToken, err = en.auth.IssueToken(c, rec)
	if err != nil {
		en.t.Fatal(err)
	}
	return en.superToken
}

type gqlError struct {
	Message    string         `json:"message"`
	Path       []any          `json:"path"`
	Extensions map[string]any `json:"extensions"`
	Locations  []any          `json:"locations"`
}

type gqlResp struct {
	Status int
	Data   json.RawMessage `json:"data"`
	Errors []gqlError      `json:"errors"`
	raw    []byte
}

// code returns the extensions.code of the first error.
func (r *gqlResp) code() string {
	if len(r.Errors) == 0 {
		return ""
	}
	c, _ := r.Errors[0].Extensions["code"].(string)
	return c
}

// decode decodes data into v.
func (r *gqlResp) decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Data, v); err != nil {
		t.Fatalf("decode %s: %v", r.Data, err)
	}
}

func (r *gqlResp) String() string { return string(r.raw) }

// ok fails the test when the response has errors.
func (r *gqlResp) ok(t testing.TB) *gqlResp {
	t.Helper()
	if len(r.Errors) > 0 || r.Status != 200 {
		t.Fatalf("unexpected errors (status %d): %s", r.Status, r.raw)
	}
	return r
}

// gql posts a query as JSON.
func (en *env) gql(token, query string, vars map[string]any) *gqlResp {
	en.t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, _ := http.NewRequest("POST", en.srv.URL+"/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return en.do(req)
}

func (en *env) do(req *http.Request) *gqlResp {
	en.t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		en.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := &gqlResp{Status: resp.StatusCode, raw: raw}
	if err := json.Unmarshal(raw, out); err != nil {
		en.t.Fatalf("response is not JSON (status %d): %s", resp.StatusCode, raw)
	}
	return out
}

// jsonEq compares a JSON document with the expected one, ignoring layout.
func jsonEq(t testing.TB, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("got invalid JSON %s: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("want invalid JSON %s: %v", want, err)
	}
	gb, _ := json.Marshal(g)
	wb, _ := json.Marshal(w)
	if !bytes.Equal(gb, wb) {
		t.Errorf("got  %s\nwant %s", gb, wb)
	}
}

func fmtID(i int) string { return fmt.Sprintf("id%013d", i) }

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }
