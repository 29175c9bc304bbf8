package dynschema

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/monobase/monobase/auth"
	"github.com/monobase/monobase/db"
	"github.com/monobase/monobase/subscriptions"
)

// Subscriptions follow their viewer (ws_session.go): a revoked token ends
// them with UNAUTHENTICATED, a change of the viewer's record refreshes the
// rule context.

// write runs f in a transaction and commits it.
func (en *env) write(f func(tx *db.Tx) error) {
	en.t.Helper()
	tx, err := en.d.Begin(en.ctx)
	if err != nil {
		en.t.Fatal(err)
	}
	if err := f(tx); err != nil {
		_ = tx.Rollback()
		en.t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		en.t.Fatal(err)
	}
}

// updateRecord sets fields of the record id of collection coll.
func (en *env) updateRecord(coll, id string, set db.RecordInput) {
	en.t.Helper()
	c, err := en.d.Collection(coll)
	if err != nil {
		en.t.Fatal(err)
	}
	en.write(func(tx *db.Tx) error { _, err := tx.Update(c, id, db.RecordPatch{Set: set}); return err })
}

// expectEnd asserts that operation id ends with an error of code, then
// completes (graphql-transport-ws and graphql-ws send the error as a
// next/data payload).
func (c *subClient) expectEnd(id, code string) {
	c.t.Helper()
	ev := c.next(id)
	if len(ev.Errors) == 0 || ev.Errors[0].Extensions["code"] != code {
		c.t.Fatalf("got %s %s, want an error %s", ev.Type, ev.raw, code)
	}
	if ev.Type != "error" {
		if ev := c.next(id); ev.Type != "complete" {
			c.t.Fatalf("then %s %s, want complete", ev.Type, ev.raw)
		}
	}
}

func TestSubscriptionRevokedToken(t *testing.T) {
	en := newEnv(t)
	en.subPosts()
	users, _ := en.d.Collection("users")
	const q = `subscription { postChanged { record { title } } }`
	revocations := []struct {
		name   string
		revoke func(rec db.Record)
	}{
		{"password change", func(rec db.Record) {
			en.updateRecord("users", rec.ID(), db.RecordInput{"password": "password456", "passwordConfirm": "password456"})
		}},
		{"tokenKey change", func(rec db.Record) {
			en.updateRecord("users", rec.ID(), db.RecordInput{"tokenKey": strings.Repeat(rec.ID(), 3)})
		}},
		{"record deleted", func(rec db.Record) {
			en.write(func(tx *db.Tx) error { _, err := tx.Delete(users, rec.ID()); return err })
		}},
		{"superuser password change", func(db.Record) {
			if err := en.d.UpsertSuperuser(en.ctx, "root@example.com", "another-password"); err != nil {
				t.Fatal(err)
			}
		}},
	}
	// A bystander keeps its subscription through every revocation.
	_, otherTok := en.user("bystander@example.com")
	bystander := en.connect(protoTransportWS, map[string]any{"authToken": otherTok})
	bystander.subscribe("b", q, nil)
	en.waitSubscribers("posts", 1)
	events := 0
	for i, r := range revocations {
		for _, proto := range []string{protoTransportWS, protoLegacyWS} {
			t.Run(r.name+" over "+proto, func(t *testing.T) {
				var rec db.Record
				var tok string
				if strings.HasPrefix(r.name, "superuser") {
					en.superToken = "" // a fresh superuser token
					tok = en.superuser()
				} else {
					rec, tok = en.user(fmt.Sprintf("u%d-%s@example.com", i, proto))
				}
				c := en.connect(proto, map[string]any{"Authorization": "Bearer " + tok})
				c.subscribe("1", q, nil)
				en.waitSubscribers("posts", 2)
				en.insert("posts", db.RecordInput{"title": "before"})
				events++
				if _, got := recordOf(t, c.next("1"), "postChanged"); got["title"] != "before" {
					t.Fatalf("got %v before the revocation", got)
				}

				r.revoke(rec)
				c.expectEnd("1", "UNAUTHENTICATED")
				en.waitSubscribers("posts", 1)
				en.insert("posts", db.RecordInput{"title": "after"})
				events++
				c.expectQuiet("1", 50*time.Millisecond)

				t.Run("later operations on the socket are refused", func(t *testing.T) {
					c.subscribe("2", q, nil)
					c.expectEnd("2", "UNAUTHENTICATED")
					c.subscribe("3", `query { posts { title } }`, nil)
					c.expectEnd("3", "UNAUTHENTICATED")
				})
			})
		}
	}
	t.Run("the bystander got every event", func(t *testing.T) {
		for i := range events {
			if _, got := recordOf(t, bystander.next("b"), "postChanged"); got["title"] == nil {
				t.Fatalf("event %d: %v", i, got)
			}
		}
		bystander.expectQuiet("b", 50*time.Millisecond)
	})
}

func TestSubscriptionTokenExpiry(t *testing.T) {
	en := newEnv(t)
	en.subPosts()
	en.auth.TokenDuration = 2 * time.Second // exp has a precision of one second
	_, tok := en.user("short@example.com")
	c := en.connect(protoTransportWS, map[string]any{"authToken": tok})
	c.subscribe("1", `subscription { postChanged { action } }`, nil)
	en.waitSubscribers("posts", 1)
	c.expectEnd("1", "UNAUTHENTICATED")
	en.waitSubscribers("posts", 0)
}

func TestSubscriptionViewerRefresh(t *testing.T) {
	en := newEnv(t)
	users, _ := en.d.Collection("users")
	u := *users
	u.Fields = append(append([]*db.Field{}, users.Fields...), &db.Field{Name: "role", Type: db.FieldText})
	if _, err := en.d.UpdateCollection(en.ctx, "users", &u); err != nil {
		t.Fatal(err)
	}
	// "sync" events always pass: receiving one means every earlier event
	// was checked.
	rule := `@request.auth.role = "editor" || title = "sync"`
	en.create(&db.Collection{Name: "notes", Type: db.TypeBase, ListRule: &rule, ViewRule: &rule, CreateRule: sp(""),
		Fields: []*db.Field{{Name: "title", Type: db.FieldText}}})
	rec, tok := en.user("ed@example.com")
	c := en.connect(protoTransportWS, map[string]any{"authToken": tok})
	c.subscribe("n", `subscription { noteChanged { record { title } } }`, nil)
	en.waitSubscribers("notes", 1)
	titles := func(n int) []string {
		t.Helper()
		var got []string
		for range n {
			_, r := recordOf(t, c.next("n"), "noteChanged")
			got = append(got, fmt.Sprint(r["title"]))
		}
		return got
	}

	en.insert("notes", db.RecordInput{"title": "a"})
	en.insert("notes", db.RecordInput{"title": "sync"})
	if got := titles(1); got[0] != "sync" {
		t.Fatalf("without the role got %q", got)
	}

	t.Run("the new role applies from the next event", func(t *testing.T) {
		en.updateRecord("users", rec.ID(), db.RecordInput{"role": "editor"})
		en.insert("notes", db.RecordInput{"title": "b"})
		if got := titles(1); got[0] != "b" {
			t.Fatalf("got %q, want b", got)
		}
	})
	t.Run("operations on the socket see it too", func(t *testing.T) {
		c.subscribe("q", `query { notes { title } }`, nil)
		ev := c.next("q")
		if ev.Type != "next" || len(ev.Errors) > 0 || !strings.Contains(string(ev.raw), `"a"`) {
			t.Fatalf("got %s %s, want every note", ev.Type, ev.raw)
		}
	})
	t.Run("a role taken away applies from the next event", func(t *testing.T) {
		en.updateRecord("users", rec.ID(), db.RecordInput{"role": "reader"})
		en.insert("notes", db.RecordInput{"title": "c"})
		en.insert("notes", db.RecordInput{"title": "sync"})
		if got := titles(1); got[0] != "sync" {
			t.Fatalf("got %q, want c skipped", got)
		}
	})
	t.Run("the subscription is still open", func(t *testing.T) {
		if n := en.e.Subscribers(en.colls["notes"].ID); n != 1 {
			t.Errorf("%d subscribers", n)
		}
	})
}

// TestWebSocketRegisterRechecks: a change committed while connection_init
// validated the token (before the session was registered to hear of it) is
// not missed.
func TestWebSocketRegisterRechecks(t *testing.T) {
	en := newSubEnv(t, subscriptions.Options{}, false)
	rec, tok := en.user("race@example.com")
	viewerOf := func() *auth.Viewer {
		ctx, err := en.auth.Authenticate(en.ctx, tok)
		if err != nil {
			t.Fatal(err)
		}
		return auth.ViewerFrom(ctx)
	}
	reg := &en.e.sockets

	v, seen := viewerOf(), reg.seq()
	en.updateRecord("users", rec.ID(), db.RecordInput{"name": "renamed"})
	l := &wsLink{}
	if err := reg.register(en.ctx, en.d, l, v, tok, seen); err != nil {
		t.Fatal(err)
	}
	defer reg.unregister(l)
	if got := l.currentViewer().Record["name"]; got != "renamed" {
		t.Errorf("viewer name %v, want the change made meanwhile", got)
	}

	v, seen = viewerOf(), reg.seq()
	en.updateRecord("users", rec.ID(), db.RecordInput{"password": "password456", "passwordConfirm": "password456"})
	l2 := &wsLink{}
	if err := reg.register(en.ctx, en.d, l2, v, tok, seen); err == nil || !strings.Contains(err.Error(), "invalid or expired") {
		t.Errorf("got %v, want the revoked token refused", err)
	}
}

func TestSubscriptionAuthCollectionDeleted(t *testing.T) {
	en := newEnv(t)
	en.subPosts()
	members := en.create(&db.Collection{Name: "members", Type: db.TypeAuth, AuthRule: sp("")})
	rec := en.insert("members", db.RecordInput{"email": "m@example.com", "password": "password123", "passwordConfirm": "password123"})
	tok, err := en.auth.IssueToken(members, rec)
	if err != nil {
		t.Fatal(err)
	}
	c := en.connect(protoTransportWS, map[string]any{"authToken": tok})
	c.subscribe("1", `subscription { postChanged { action } }`, nil)
	en.waitSubscribers("posts", 1)
	if err := en.d.DeleteCollection(en.ctx, "members"); err != nil {
		t.Fatal(err)
	}
	c.expectEnd("1", "UNAUTHENTICATED")
	en.waitSubscribers("posts", 0)
}
