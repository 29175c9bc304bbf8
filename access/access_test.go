package access

import (
	"context"
	"github.com/monobase/monobase/internal/dbtest"
	"net/http"
	"testing"

	"github.com/monobase/monobase/apperr"
	"github.com/monobase/monobase/auth"
	"github.com/monobase/monobase/db"
)

func sp(s string) *string { return &s }

// world is a database with the users auth collection and posts (author,
// a relation to users, and status), two users and their posts.
type world struct {
	ctx          context.Context
	d            *db.DB
	users, posts *db.Collection
	alice, bob   db.Record // users
	boss         db.Record // a user who manages users (manageRule)
	aPost, bPost db.Record // posts of alice and bob
}

func newWorld(t *testing.T) *world {
	t.Helper()
	ctx := context.Background()
	d, err := dbtest.Open(t, ctx, t.TempDir())
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { _ = d.Close() })
	w := &world{ctx: ctx, d: d}
	users, err := d.Collection("users")
	if err != nil {
		t.Fatal(err)
	}
	u := *users
	u.ListRule, u.ViewRule = sp(""), sp("")
	u.ManageRule = sp(`@request.auth.email = "boss@example.com"`)
	u.AuthRule = sp("verified = true")
	if w.users, err = d.UpdateCollection(ctx, "users", &u); err != nil {
		t.Fatalf("update users: %v", err)
	}
	w.posts, err = d.CreateCollection(ctx, &db.Collection{
		Name: "posts", Type: db.TypeBase,
		ListRule:   sp(`status = "published" || author = @request.auth.id`),
		ViewRule:   sp(`author = @request.auth.id`),
		CreateRule: sp(`@request.auth.id != "" && @request.body.title != "spam"`),
		UpdateRule: sp(`author = @request.auth.id`),
		DeleteRule: nil,
		Fields: []*db.Field{
			{Name: "title", Type: db.FieldText},
			{Name: "status", Type: db.FieldSelect, Values: []string{"draft", "published"}, MaxSelect: 1},
			{Name: "author", Type: db.FieldRelation, Collection: w.users.ID, MaxSelect: 1},
		},
	})
	if err != nil {
		t.Fatalf("create posts: %v", err)
	}
	user := func(email string, verified bool) db.Record {
		return w.insert(t, w.users, db.RecordInput{"email": email, "password": "password123", "passwordConfirm": "password123", "verified": verified})
	}
	w.alice, w.bob, w.boss = user("alice@example.com", true), user("bob@example.com", false), user("boss@example.com", true)
	w.aPost = w.insert(t, w.posts, db.RecordInput{"title": "a", "status": "draft", "author": w.alice.ID()})
	w.bPost = w.insert(t, w.posts, db.RecordInput{"title": "b", "status": "draft", "author": w.bob.ID()})
	return w
}

func (w *world) insert(t *testing.T, c *db.Collection, in db.RecordInput) db.Record {
	t.Helper()
	tx, err := w.d.Begin(w.ctx)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := tx.Insert(c, in)
	if err != nil {
		_ = tx.Rollback()
		t.Fatalf("insert into %s: %v", c.Name, err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	return rec
}

func (w *world) viewer(rec db.Record) *auth.Viewer {
	if rec == nil {
		return nil
	}
	return &auth.Viewer{Collection: w.users, Record: rec}
}

func (w *world) as(rec db.Record) *Request {
	return New(w.d, nil, w.viewer(rec), Info{Method: http.MethodPost})
}

var superuser = &auth.Viewer{Superuser: true}

func TestRuleDecisions(t *testing.T) {
	w := newWorld(t)
	for _, tc := range []struct {
		name        string
		viewer      *auth.Viewer
		op          Op
		allowed     bool
		hasWhere    bool
		requireCode apperr.Code
	}{
		{name: "an expression is a condition", viewer: w.viewer(w.alice), op: List, allowed: true, hasWhere: true},
		{name: "anonymous gets the same condition", op: View, allowed: true, hasWhere: true},
		{name: "a nil rule is superusers only", viewer: w.viewer(w.alice), op: Delete, requireCode: apperr.Forbidden},
		{name: "superusers bypass a nil rule", viewer: superuser, op: Delete, allowed: true},
		{name: "superusers bypass an expression", viewer: superuser, op: View, allowed: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := New(w.d, &Rules{}, tc.viewer, Info{})
			dec, err := r.Rule(w.posts, tc.op)
			if err != nil {
				t.Fatal(err)
			}
			if dec.Allowed != tc.allowed || (dec.Where != nil) != tc.hasWhere {
				t.Fatalf("decision = %+v, want allowed %t, a condition %t", dec, tc.allowed, tc.hasWhere)
			}
			_, err = r.Require(w.posts, tc.op)
			if got := apperr.CodeOf(err); err != nil && got != tc.requireCode || err == nil && tc.requireCode != "" {
				t.Fatalf("Require: %v, want %q", err, tc.requireCode)
			}
		})
	}
	t.Run("an empty rule lets anyone", func(t *testing.T) {
		dec, err := w.as(nil).Rule(w.users, List)
		if err != nil || !dec.Allowed || dec.Where != nil {
			t.Fatalf("decision = %+v, %v", dec, err)
		}
	})
	t.Run("a rule that does not parse is an error", func(t *testing.T) {
		c := *w.posts
		c.ListRule = sp("title = ")
		if _, err := w.as(w.alice).Rule(&c, List); err == nil {
			t.Fatal("no error")
		}
	})
}

func TestCheckRecords(t *testing.T) {
	w := newWorld(t)
	for _, tc := range []struct {
		name   string
		viewer db.Record
		op     Op
		id     string
		want   bool
	}{
		{"the author views her post", w.alice, View, w.aPost.ID(), true},
		{"another user does not", w.bob, View, w.aPost.ID(), false},
		{"anonymous does not", nil, View, w.aPost.ID(), false},
		{"a missing record does not pass", w.alice, View, "missing", false},
		{"a nil rule refuses", w.alice, Delete, w.aPost.ID(), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := w.as(tc.viewer).Check(w.ctx, w.posts, tc.op, tc.id, nil)
			if err != nil || got != tc.want {
				t.Fatalf("Check = %t, %v; want %t", got, err, tc.want)
			}
		})
	}
	t.Run("CanView reads the rule in the protectedFile context", func(t *testing.T) {
		c := *w.posts
		c.ViewRule = sp(`@request.context = "protectedFile" && @request.method = "GET"`)
		for _, info := range []struct {
			info Info
			want bool
		}{
			{Info{Method: http.MethodGet, Context: "protectedFile"}, true},
			{Info{Method: http.MethodGet}, false},
			{Info{Method: http.MethodPost, Context: "protectedFile"}, false},
		} {
			got, err := CanView(w.ctx, w.d, &c, w.aPost.ID(), nil, info.info)
			if err != nil || got != info.want {
				t.Errorf("%+v: CanView = %t, %v; want %t", info.info, got, err, info.want)
			}
		}
	})
}

func TestCheckCreatedAndUpdated(t *testing.T) {
	w := newWorld(t)
	t.Run("the create rule reads @request.body", func(t *testing.T) {
		r := w.as(w.alice)
		if err := r.CheckCreated(w.ctx, w.posts, w.aPost.ID(), map[string]any{"title": "fine"}); err != nil {
			t.Fatalf("fine body: %v", err)
		}
		err := r.CheckCreated(w.ctx, w.posts, w.aPost.ID(), map[string]any{"title": "spam"})
		if apperr.CodeOf(err) != apperr.Forbidden {
			t.Fatalf("spam body: %v, want FORBIDDEN", err)
		}
	})
	t.Run("only managers set verified on create", func(t *testing.T) {
		c := *w.users
		c.CreateRule = sp("")
		body := map[string]any{"email": "new@example.com", "verified": true}
		err := w.as(w.alice).CheckCreated(w.ctx, &c, w.bob.ID(), body)
		if e := apperr.As(err); e == nil || e.Code != apperr.Invalid || e.Fields["verified"].Code != "forbidden" {
			t.Fatalf("alice: %v, want BAD_USER_INPUT on verified", err)
		}
		if err := w.as(w.boss).CheckCreated(w.ctx, &c, w.bob.ID(), body); err != nil {
			t.Fatalf("boss: %v", err)
		}
	})
	t.Run("an update may not hand the record to someone else", func(t *testing.T) {
		tx, err := w.d.Begin(w.ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = tx.Rollback() }()
		patch := db.RecordPatch{Set: db.RecordInput{"author": w.bob.ID()}}
		if _, err := tx.Update(w.posts, w.aPost.ID(), patch); err != nil {
			t.Fatal(err)
		}
		err = w.as(w.alice).CheckUpdated(tx.Context(), w.posts, w.aPost, map[string]any{"author": w.bob.ID()})
		if apperr.CodeOf(err) != apperr.Forbidden {
			t.Fatalf("CheckUpdated = %v, want FORBIDDEN", err)
		}
	})
	t.Run(":changed keeps its value from before the write", func(t *testing.T) {
		c := *w.posts
		c.UpdateRule = sp(`@request.body.title:changed = false || status = "draft"`)
		tx, err := w.d.Begin(w.ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = tx.Rollback() }()
		body := map[string]any{"title": "new", "status": "published"}
		if _, err := tx.Update(&c, w.aPost.ID(), db.RecordPatch{Set: body}); err != nil {
			t.Fatal(err)
		}
		// After the write the title equals the body's, but :changed still
		// compares with the stored "a": the rule fails on a published post.
		if err := w.as(w.alice).CheckUpdated(tx.Context(), &c, w.aPost, body); apperr.CodeOf(err) != apperr.Forbidden {
			t.Fatalf("changed title: %v, want FORBIDDEN", err)
		}
		same := map[string]any{"title": "a", "status": "published"}
		if err := w.as(w.alice).CheckUpdated(tx.Context(), &c, w.aPost, same); err != nil {
			t.Fatalf("same title: %v", err)
		}
	})
}

func TestAuthRules(t *testing.T) {
	w := newWorld(t)
	check := func(rec db.Record, pw string) bool { return pw == "password123" }
	for _, tc := range []struct {
		name   string
		viewer db.Record
		body   map[string]any
		oldPw  string
		fields []string // BAD_USER_INPUT keys; nil: allowed
	}{
		{name: "a new password with the current one", viewer: w.bob, body: map[string]any{"password": "new-password"}, oldPw: "password123"},
		{name: "a new password without the current one", viewer: w.bob, body: map[string]any{"password": "new-password"}, fields: []string{"oldPassword"}},
		{name: "a wrong current password", viewer: w.bob, body: map[string]any{"password": "new-password"}, oldPw: "nope", fields: []string{"oldPassword"}},
		{name: "email and verified need manage access", viewer: w.bob, body: map[string]any{"email": "b2@example.com", "verified": true}, fields: []string{"email", "verified"}},
		{name: "the same email in other case is no change", viewer: w.bob, body: map[string]any{"email": "BOB@example.com"}},
		{name: "a manager changes them", viewer: w.boss, body: map[string]any{"email": "b2@example.com", "verified": true, "password": "x"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := w.as(tc.viewer).CheckAuthUpdate(w.ctx, w.users, w.bob, tc.body, tc.oldPw, check)
			if tc.fields == nil {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			e := apperr.As(err)
			if e == nil || e.Code != apperr.Invalid || len(e.Fields) != len(tc.fields) {
				t.Fatalf("err = %v, want BAD_USER_INPUT on %v", err, tc.fields)
			}
			for _, f := range tc.fields {
				if _, ok := e.Fields[f]; !ok {
					t.Errorf("no error on %s: %v", f, e.Fields)
				}
			}
		})
	}
	t.Run("the auth rule sees the signing-in record as @request.auth", func(t *testing.T) {
		r := w.as(nil)
		if err := r.CheckAuthRule(w.ctx, w.users, w.alice); err != nil {
			t.Fatalf("verified alice: %v", err)
		}
		if err := r.CheckAuthRule(w.ctx, w.users, w.bob); apperr.CodeOf(err) != apperr.Forbidden {
			t.Fatalf("unverified bob: %v, want FORBIDDEN", err)
		}
		c := *w.users
		c.AuthRule = nil
		if err := r.CheckAuthRule(w.ctx, &c, w.alice); apperr.CodeOf(err) != apperr.Forbidden {
			t.Fatalf("nil authRule: %v, want FORBIDDEN", err)
		}
	})
	t.Run("manage access", func(t *testing.T) {
		for _, tc := range []struct {
			viewer *auth.Viewer
			want   bool
		}{{w.viewer(w.boss), true}, {w.viewer(w.alice), false}, {nil, false}, {superuser, true}} {
			got, err := New(w.d, nil, tc.viewer, Info{}).CanManage(w.ctx, w.users, w.bob.ID(), nil)
			if err != nil || got != tc.want {
				t.Errorf("viewer %v: CanManage = %t, %v; want %t", tc.viewer, got, err, tc.want)
			}
		}
	})
}

func TestRequestInfo(t *testing.T) {
	w := newWorld(t)
	h := http.Header{"X-Tenant-Id": {"t1", "t2"}}
	r := New(w.d, nil, w.viewer(w.alice), Info{Method: "GET", Headers: h, RawQuery: "a=1&a=2&b=x"})
	ri := r.RequestInfo()
	if ri.Context != "default" || ri.Method != "GET" || ri.Auth.ID() != w.alice.ID() || ri.AuthCollection != w.users {
		t.Fatalf("request info = %+v", ri)
	}
	if ri.Headers["x_tenant_id"] != "t1" || ri.Query["a"] != "1" || ri.Query["b"] != "x" {
		t.Fatalf("headers %v, query %v", ri.Headers, ri.Query)
	}
	if r.RequestInfo() != ri {
		t.Error("RequestInfo is built again")
	}
	if as := r.As(nil).RequestInfo(); as.Auth != nil || as.Headers["x_tenant_id"] != "t1" {
		t.Errorf("As(nil): %+v", as)
	}
}

func TestValidateRules(t *testing.T) {
	w := newWorld(t)
	all := w.d.Collections()
	if err := ValidateRules(all); err != nil {
		t.Fatalf("the current collections: %v", err)
	}
	for _, tc := range []struct {
		name string
		edit func(posts *db.Collection) []*db.Collection // edits posts in place
		key  string
	}{
		{"a rule naming a missing field", func(p *db.Collection) []*db.Collection {
			p.ViewRule = sp("nope = 1")
			return nil
		}, "viewRule"},
		{"a rule that does not parse", func(p *db.Collection) []*db.Collection {
			p.UpdateRule = sp("author = ")
			return nil
		}, "updateRule"},
		{"a dropped field a rule reads", func(p *db.Collection) []*db.Collection {
			var keep []*db.Field
			for _, f := range p.Fields {
				if f.Name != "author" {
					keep = append(keep, f)
				}
			}
			p.Fields = keep
			return nil
		}, "listRule"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			next := make([]*db.Collection, len(all))
			copy(next, all)
			for i, c := range next {
				if c.ID == w.posts.ID {
					p := *c
					tc.edit(&p)
					next[i] = &p
				}
			}
			err := ValidateRules(next)
			e := apperr.As(err)
			if e == nil || e.Code != apperr.Invalid || e.Fields[tc.key].Code != "invalid_rule" {
				t.Fatalf("err = %v, want BAD_USER_INPUT on %s", err, tc.key)
			}
		})
	}
}
