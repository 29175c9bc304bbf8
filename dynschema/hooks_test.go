package dynschema

import (
	"errors"
	"strings"
	"testing"

	"github.com/monobase/monobase/apperr"
	"github.com/monobase/monobase/db"
	"github.com/monobase/monobase/hook"
)

// hookEnv is the blog env with an app hook registry.
func hookEnv(t *testing.T) (*env, *hook.Registry) {
	en := newEnv(t)
	en.blog()
	reg := &hook.Registry{}
	en.e.cfg.Hooks = reg
	return en, reg
}

func (en *env) post(id string) db.Record {
	en.t.Helper()
	recs, _, err := en.d.ReadRecords(en.ctx, &db.Read{Collection: en.colls["posts"], IDs: []string{id}})
	if err != nil || len(recs) != 1 {
		en.t.Fatalf("read post %s: %v %v", id, err, recs)
	}
	return recs[0]
}

func TestHookUpdateKeepsModifiers(t *testing.T) {
	en, reg := hookEnv(t)
	p := en.insert("posts", db.RecordInput{"title": "p", "views": 5.0})
	var seen float64
	reg.RecordUpdate.BindFunc(func(e *hook.RecordEvent) error {
		seen = e.Record.GetFloat("views")
		if e.Record.GetString("title") == "reset" {
			e.Record.Set("views", 100.0)
		}
		return e.Next()
	})
	const upd = `mutation($id: ID!, $t: String!) { updatePost(id: $id, input: {title: $t, viewsIncrement: 2}) { views } }`
	en.gql("", upd, map[string]any{"id": p.ID(), "t": "plus"}).ok(t)
	if seen != 7 || en.post(p.ID())["views"] != 7.0 {
		t.Fatalf("the hook saw %v, stored %v; want 7 and 7 (the increment applied)", seen, en.post(p.ID())["views"])
	}
	en.gql("", upd, map[string]any{"id": p.ID(), "t": "reset"}).ok(t)
	if got := en.post(p.ID())["views"]; got != 100.0 {
		t.Fatalf("stored views %v, want the hook's 100 (replacing the increment)", got)
	}
}

func TestHookStopsAndPanics(t *testing.T) {
	en, reg := hookEnv(t)
	p := en.insert("posts", db.RecordInput{"title": "p"})
	id := reg.RecordUpdate.BindFunc(func(e *hook.RecordEvent) error { return nil }) // never calls Next
	r := en.gql("", `mutation($id: ID!) { updatePost(id: $id, input: {title: "changed"}) { id } }`, map[string]any{"id": p.ID()})
	if r.code() != "BAD_USER_INPUT" || !strings.Contains(r.Errors[0].Message, "stopped by a hook") || en.post(p.ID())["title"] != "p" {
		t.Fatalf("%s; stored %v", r, en.post(p.ID())["title"])
	}
	reg.RecordUpdate.Unbind(id)
	reg.RecordDelete.Bind(&hook.Handler[*hook.RecordEvent]{ID: "no-deletes", Func: func(e *hook.RecordEvent) error { panic("never") }})
	r = en.gql("", `mutation($id: ID!) { deletePost(id: $id) { id } }`, map[string]any{"id": p.ID()})
	if r.code() != "INTERNAL_SERVER_ERROR" || r.Errors[0].Message != "hook no-deletes panicked" {
		t.Fatalf("%s", r)
	}
	en.post(p.ID()) // still there
}

// TestHookSeesTheTransaction checks that e.Context carries the mutation's
// transaction: a hook of the second root field reads the first one's
// record, which is not committed yet.
func TestHookSeesTheTransaction(t *testing.T) {
	en, reg := hookEnv(t)
	var n int64 = -1
	reg.RecordCreate.BindFunc(func(e *hook.RecordEvent) error {
		if e.Record.GetString("title") == "second" {
			var err error
			n, err = en.d.Count(e.Context, &db.Query{Collection: e.Collection,
				Where: []db.Cond{{SQL: `r."title" = ?`, Args: []any{"first"}}}})
			if err != nil {
				return err
			}
		}
		return e.Next()
	})
	en.gql("", `mutation { a: createPost(input: {title: "first"}) { id } b: createPost(input: {title: "second"}) { id } }`, nil).ok(t)
	if n != 1 {
		t.Fatalf("the hook counted %d posts titled first, want 1", n)
	}
}

// TestHookErrorCodes checks how a before hook's error reaches the client.
func TestHookErrorCodes(t *testing.T) {
	for _, tt := range []struct {
		err      error
		code     string
		message  string
		internal bool
	}{
		{errors.New("no spam"), "BAD_USER_INPUT", "no spam", false},
		{apperr.New(apperr.NotFound, "gone"), "NOT_FOUND", "gone", false},
		{apperr.Wrap(errors.New("db down"), "boom"), "INTERNAL_SERVER_ERROR", "internal server error", true},
	} {
		en, reg := hookEnv(t)
		reg.RecordCreate.BindFunc(func(e *hook.RecordEvent) error { return tt.err })
		r := en.gql("", `mutation { createPost(input: {title: "x"}) { id } }`, nil)
		if r.code() != tt.code || r.Errors[0].Message != tt.message {
			t.Errorf("%v: %s, want %s %q", tt.err, r, tt.code, tt.message)
		}
	}
}
