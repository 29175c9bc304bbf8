package dynschema

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/monobase/monobase/db"
	"github.com/monobase/monobase/subscriptions"
)

// Realtime subscriptions end to end: a real server (httptest), real SQLite,
// gorilla/websocket clients speaking both subprotocols.

// subPosts creates a public posts collection (title, body, views) for the
// subscription tests.
func (en *env) subPosts() *db.Collection {
	en.t.Helper()
	return en.create(&db.Collection{Name: "posts", Type: db.TypeBase, Fields: []*db.Field{
		{Name: "title", Type: db.FieldText, Required: true},
		{Name: "body", Type: db.FieldEditor},
		{Name: "views", Type: db.FieldNumber},
	}})
}

func TestSubscriptionProtocols(t *testing.T) {
	for _, proto := range []string{protoTransportWS, protoLegacyWS} {
		t.Run(proto, func(t *testing.T) {
			en := newEnv(t)
			en.subPosts()
			c := en.connect(proto, nil)

			t.Run("a create over HTTP reaches the subscription after its commit", func(t *testing.T) {
				c.subscribe("1", `subscription { postChanged { action record { id title } } }`, nil)
				en.waitSubscribers("posts", 1)
				var out struct{ CreatePost struct{ ID string } }
				en.gql("", `mutation { createPost(input: {title: "hello"}) { id } }`, nil).ok(t).decode(t, &out)
				action, rec := recordOf(t, c.next("1"), "postChanged")
				if action != "CREATE" || rec["title"] != "hello" || rec["id"] != out.CreatePost.ID {
					t.Errorf("got %s %v, want CREATE of %s hello", action, rec, out.CreatePost.ID)
				}
			})

			t.Run("keep-alive answers the client", func(t *testing.T) {
				if proto == protoTransportWS {
					c.mustSend(wsMsg{Type: "ping"})
					c.nextOf("pong")
				} else if c.keepAlives.Load() == 0 {
					// graphql-ws: the server sends "ka" right after the ack
					// and then every 15 s.
					t.Error("no ka message")
				}
			})

			t.Run("stopping the operation completes it and unsubscribes", func(t *testing.T) {
				c.stop("1")
				en.waitSubscribers("posts", 0)
				if ev := c.next("1"); ev.Type != "complete" {
					t.Errorf("got %s %s, want complete", ev.Type, ev.raw)
				}
			})
		})
	}
}

func TestSubscriptionAuth(t *testing.T) {
	en := newEnv(t)
	ownerRule := "owner = @request.auth.id"
	en.create(&db.Collection{Name: "notes", Type: db.TypeBase,
		ListRule: &ownerRule, ViewRule: &ownerRule, CreateRule: sp(""),
		Fields: []*db.Field{
			{Name: "title", Type: db.FieldText},
			{Name: "owner", Type: db.FieldRelation, Collection: "users", MaxSelect: 1},
		}})
	alice, aliceTok := en.user("alice@example.com")
	bob, bobTok := en.user("bob@example.com")
	const q = `subscription { noteChanged { record { title } } }`

	viewers := []struct {
		name    string
		payload map[string]any
		want    []string
	}{
		{"anonymous", nil, nil},
		{"alice with Authorization: Bearer", map[string]any{"Authorization": "Bearer " + aliceTok}, []string{"alice's"}},
		{"bob with authToken", map[string]any{"authToken": bobTok}, []string{"bob's"}},
		{"bob with a lower-case authorization", map[string]any{"authorization": bobTok}, []string{"bob's"}},
		{"a superuser", map[string]any{"Authorization": "Bearer " + en.superuser()}, []string{"alice's", "bob's"}},
	}
	clients := make([]*subClient, len(viewers))
	for i, v := range viewers {
		clients[i] = en.connect(protoTransportWS, v.payload)
		clients[i].subscribe("n", q, nil)
	}
	en.waitSubscribers("notes", len(viewers))
	en.insert("notes", db.RecordInput{"title": "alice's", "owner": alice.ID()})
	en.insert("notes", db.RecordInput{"title": "bob's", "owner": bob.ID()})
	for i, v := range viewers {
		t.Run(v.name+" receives only what its list rule lets it see", func(t *testing.T) {
			for _, want := range v.want {
				_, rec := recordOf(t, clients[i].next("n"), "noteChanged")
				if rec["title"] != want {
					t.Errorf("got %v, want %s", rec["title"], want)
				}
			}
			clients[i].expectQuiet("n", 150*time.Millisecond)
		})
	}

	for _, proto := range []string{protoTransportWS, protoLegacyWS} {
		for _, bad := range []map[string]any{
			{"Authorization": "Bearer not-a-token"},
			{"authToken": "eyJhbGciOiJIUzI1NiJ9.e30.invalid"},
		} {
			t.Run(fmt.Sprintf("%s: a bad token %v closes the socket with 4403", proto, bad), func(t *testing.T) {
				c := en.dialWS(proto, nil)
				c.init(bad)
				code, _ := c.closeCode(5 * time.Second)
				if code != 4403 {
					t.Errorf("close code %d (%v), want 4403", code, c.readErr)
				}
			})
		}
	}

	t.Run("a token revoked by a tokenKey change is refused too", func(t *testing.T) {
		users, _ := en.d.Collection("users")
		tx, err := en.d.Begin(en.ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Update(users, bob.ID(), db.RecordPatch{Set: db.RecordInput{"password": "password456", "passwordConfirm": "password456"}}); err != nil {
			_ = tx.Rollback()
			t.Fatalf("change bob's password: %v", err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		c := en.dialWS(protoTransportWS, nil)
		c.init(map[string]any{"authToken": bobTok})
		if code, _ := c.closeCode(5 * time.Second); code != 4403 {
			t.Errorf("close code %d, want 4403", code)
		}
	})
}

func TestWebSocketOrigin(t *testing.T) {
	for _, dev := range []bool{false, true} {
		en := newSubEnv(t, subscriptions.Options{}, dev)
		host := strings.TrimPrefix(en.srv.URL, "http://")
		tests := []struct {
			origin string
			ok     bool
		}{
			{"", true},                                // not a browser
			{"http://" + host, true},                  // same host
			{"http://evil.example:8080", dev},         // another site: only in dev mode
			{"http://127.0.0.1:1", dev},               // another port is another origin
			{"::not a url", dev},                      // unparsable
			{strings.ToUpper("http://" + host), true}, // host names compare case-insensitively
		}
		for _, tt := range tests {
			t.Run(fmt.Sprintf("dev=%v origin %q", dev, tt.origin), func(t *testing.T) {
				h := http.Header{}
				if tt.origin != "" {
					h.Set("Origin", tt.origin)
				}
				c, resp, err := en.tryDialWS(protoTransportWS, h)
				if tt.ok != (err == nil) {
					status := 0
					if resp != nil {
						status = resp.StatusCode
					}
					t.Fatalf("upgrade err %v (HTTP %d), want ok=%v", err, status, tt.ok)
				}
				if err != nil && resp.StatusCode != http.StatusForbidden {
					t.Errorf("refused with HTTP %d, want 403", resp.StatusCode)
				}
				if c != nil {
					_ = c.conn.Close()
				}
			})
		}
	}
}

func TestSubscriptionArguments(t *testing.T) {
	en := newEnv(t)
	en.subPosts()
	const aID = "aaaaaaaaaaaaaaa"
	subs := []struct {
		name string
		args string
		vars map[string]any
		want []string // "ACTION title"
	}{
		{"no argument: every change", ``, nil,
			[]string{"CREATE alpha", "CREATE beta", "UPDATE alpha2", "DELETE beta", "CREATE gamma"}},
		{"actions [DELETE]", `(actions: [DELETE])`, nil, []string{"DELETE beta"}},
		{"actions [CREATE, UPDATE] as a variable", `(actions: $acts)`, map[string]any{"acts": []string{"CREATE", "UPDATE"}},
			[]string{"CREATE alpha", "CREATE beta", "UPDATE alpha2", "CREATE gamma"}},
		{"id: one record", `(id: "` + aID + `")`, nil, []string{"CREATE alpha", "UPDATE alpha2"}},
		{"where views >= 5 (checked on each event's state)", `(where: {views: {gte: 5}})`, nil,
			[]string{"CREATE beta", "UPDATE alpha2", "DELETE beta"}},
		{"filter on the title", `(filter: "title ~ 'alpha'")`, nil, []string{"CREATE alpha", "UPDATE alpha2"}},
		{"where and filter combine with AND", `(where: {views: {gte: 5}}, filter: "title ~ 'beta'")`, nil,
			[]string{"CREATE beta", "DELETE beta"}},
		{"id and actions combine", `(id: "` + aID + `", actions: [UPDATE])`, nil, []string{"UPDATE alpha2"}},
	}
	c := en.connect(protoTransportWS, nil)
	for i, s := range subs {
		q := `subscription { postChanged` + s.args + ` { action record { title } } }`
		if s.vars != nil {
			q = `subscription($acts: [ChangeAction!]) { postChanged` + s.args + ` { action record { title } } }`
		}
		c.subscribe(fmt.Sprint(i), q, s.vars)
	}
	en.waitSubscribers("posts", len(subs))

	var b struct{ CreatePost struct{ ID string } }
	en.gql("", `mutation { createPost(input: {id: "`+aID+`", title: "alpha", views: 1}) { id } }`, nil).ok(t)
	en.gql("", `mutation { createPost(input: {title: "beta", views: 5}) { id } }`, nil).ok(t).decode(t, &b)
	en.gql("", `mutation { updatePost(id: "`+aID+`", input: {title: "alpha2", views: 10}) { id } }`, nil).ok(t)
	en.gql("", `mutation($id: ID!) { deletePost(id: $id) { id } }`, map[string]any{"id": b.CreatePost.ID}).ok(t)
	en.gql("", `mutation { createPost(input: {title: "gamma"}) { id } }`, nil).ok(t)

	for i, s := range subs {
		t.Run(s.name, func(t *testing.T) {
			var got []string
			for range s.want {
				action, rec := recordOf(t, c.next(fmt.Sprint(i)), "postChanged")
				got = append(got, action+" "+fmt.Sprint(rec["title"]))
			}
			if fmt.Sprint(got) != fmt.Sprint(s.want) {
				t.Errorf("got %q, want %q", got, s.want)
			}
			c.expectQuiet(fmt.Sprint(i), 100*time.Millisecond)
		})
	}

	t.Run("an invalid filter is an error, then the operation completes", func(t *testing.T) {
		c.subscribe("bad", `subscription { postChanged(filter: "title ~") { action } }`, nil)
		ev := c.next("bad")
		if len(ev.Errors) == 0 {
			t.Fatalf("got %s %s, want errors", ev.Type, ev.raw)
		}
		if code, _ := ev.Errors[0].Extensions["code"].(string); code != "BAD_USER_INPUT" {
			t.Errorf("code %q, want BAD_USER_INPUT: %s", code, ev.raw)
		}
		if ev.Type != "error" {
			if next := c.next("bad"); next.Type != "complete" {
				t.Errorf("then %s, want complete", next.Type)
			}
		}
	})
}

func TestSubscriptionRulesPerViewer(t *testing.T) {
	en := newEnv(t)
	rule := "owner = @request.auth.id || published = true"
	en.create(&db.Collection{Name: "notes", Type: db.TypeBase,
		ListRule: &rule, ViewRule: &rule, CreateRule: sp(""), UpdateRule: &rule, DeleteRule: &rule,
		Fields: []*db.Field{
			{Name: "title", Type: db.FieldText},
			{Name: "published", Type: db.FieldBool},
			{Name: "owner", Type: db.FieldRelation, Collection: "users", MaxSelect: 1},
		}})
	owner, ownerTok := en.user("owner@example.com")
	_, otherTok := en.user("other@example.com")
	superTok := en.superuser()
	const sel = `{ action record { title published owner { id email } } }`

	viewers := []struct {
		name  string
		token string
		want  []string // "ACTION title published"
	}{
		{"the owner", ownerTok, []string{"CREATE draft false", "UPDATE draft true", "UPDATE draft false", "UPDATE final true", "DELETE final true"}},
		{"a superuser", superTok, []string{"CREATE draft false", "UPDATE draft true", "UPDATE draft false", "UPDATE final true", "DELETE final true"}},
		{"another user", otherTok, []string{"UPDATE draft true", "UPDATE final true", "DELETE final true"}},
		{"anonymous", "", []string{"UPDATE draft true", "UPDATE final true", "DELETE final true"}},
	}
	clients := make([]*subClient, len(viewers))
	for i, v := range viewers {
		var p map[string]any
		if v.token != "" {
			p = map[string]any{"Authorization": "Bearer " + v.token}
		}
		clients[i] = en.connect(protoTransportWS, p)
		clients[i].subscribe("all", `subscription { noteChanged `+sel+` }`, nil)
	}
	en.waitSubscribers("notes", len(viewers))

	notes, _ := en.d.Collection("notes")
	write := func(f func(tx *db.Tx) error) {
		t.Helper()
		tx, err := en.d.Begin(en.ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := f(tx); err != nil {
			_ = tx.Rollback()
			t.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	update := func(id string, set db.RecordInput) {
		write(func(tx *db.Tx) error { _, err := tx.Update(notes, id, db.RecordPatch{Set: set}); return err })
	}
	rec := en.insert("notes", db.RecordInput{"title": "draft", "published": false, "owner": owner.ID()})
	id := rec.ID()
	update(id, db.RecordInput{"published": true})
	update(id, db.RecordInput{"published": false})
	update(id, db.RecordInput{"title": "final", "published": true})

	// What each viewer's query returns for the record now, to compare with
	// the last UPDATE event (same permissions, nested relation included).
	queried := make([]json.RawMessage, len(viewers))
	for i, v := range viewers {
		var out struct{ Note json.RawMessage }
		en.gql(v.token, `query($id: ID!) { note(id: $id) { title published owner { id email } } }`, map[string]any{"id": id}).ok(t).decode(t, &out)
		queried[i] = out.Note
	}
	write(func(tx *db.Tx) error { _, err := tx.Delete(notes, id); return err })

	for i, v := range viewers {
		t.Run(v.name+" gets the events its rule allows, at each event's state", func(t *testing.T) {
			var got []string
			var lastUpdate map[string]any
			for range v.want {
				action, r := recordOf(t, clients[i].next("all"), "noteChanged")
				got = append(got, fmt.Sprint(action, " ", r["title"], " ", r["published"]))
				if action == "UPDATE" {
					lastUpdate = r
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(v.want) {
				t.Errorf("got %q, want %q", got, v.want)
			}
			clients[i].expectQuiet("all", 100*time.Millisecond)
			b, _ := json.Marshal(lastUpdate)
			jsonEq(t, b, string(queried[i]))
		})
	}
	t.Run("the nested relation obeys the users rules per viewer", func(t *testing.T) {
		if !strings.Contains(string(queried[0]), "owner@example.com") || !strings.Contains(string(queried[1]), "owner@example.com") {
			t.Errorf("owner and superuser must see the owner: %s, %s", queried[0], queried[1])
		}
		if strings.Contains(string(queried[2]), "owner@example.com") || strings.Contains(string(queried[3]), "owner@example.com") {
			t.Errorf("others must not see the owner: %s, %s", queried[2], queried[3])
		}
	})

	t.Run("@request.context is realtime for subscriptions", func(t *testing.T) {
		live := `@request.context = "realtime"`
		en.create(&db.Collection{Name: "feeds", Type: db.TypeBase, ListRule: &live, ViewRule: &live, CreateRule: sp(""),
			Fields: []*db.Field{{Name: "title", Type: db.FieldText}}})
		c := en.connect(protoTransportWS, nil)
		c.subscribe("f", `subscription { feedChanged { record { title } } }`, nil)
		en.waitSubscribers("feeds", 1)
		en.insert("feeds", db.RecordInput{"title": "live only"})
		if _, rec := recordOf(t, c.next("f"), "feedChanged"); rec["title"] != "live only" {
			t.Errorf("got %v", rec)
		}
		var out struct{ Feeds []any }
		en.gql("", `{ feeds { title } }`, nil).ok(t).decode(t, &out)
		if len(out.Feeds) != 0 {
			t.Errorf("an HTTP query (context default) listed %v", out.Feeds)
		}
	})

	t.Run("with id the view rule applies, without it the list rule", func(t *testing.T) {
		en.create(&db.Collection{Name: "vaults", Type: db.TypeBase, ListRule: nil, ViewRule: sp(""),
			Fields: []*db.Field{{Name: "title", Type: db.FieldText}}})
		c := en.connect(protoTransportWS, nil)
		c.subscribe("list", `subscription { vaultChanged { record { title } } }`, nil)
		ev := c.next("list")
		if len(ev.Errors) == 0 || ev.Errors[0].Extensions["code"] != "FORBIDDEN" {
			t.Fatalf("got %s %s, want FORBIDDEN", ev.Type, ev.raw)
		}
		const vid = "vvvvvvvvvvvvvvv"
		c.subscribe("one", `subscription { vaultChanged(id: "`+vid+`") { action record { title } } }`, nil)
		en.waitSubscribers("vaults", 1)
		en.insert("vaults", db.RecordInput{"title": "other"})
		en.insert("vaults", db.RecordInput{"id": vid, "title": "mine"})
		if action, rec := recordOf(t, c.next("one"), "vaultChanged"); action != "CREATE" || rec["title"] != "mine" {
			t.Errorf("got %s %v", action, rec)
		}
	})
}

func TestSubscriptionCommitOrder(t *testing.T) {
	en := newEnv(t)
	posts := en.subPosts()
	c := en.connect(protoTransportWS, nil)
	c.subscribe("1", `subscription { postChanged { action record { id views } } }`, nil)
	en.waitSubscribers("posts", 1)

	t.Run("a rolled-back transaction sends nothing", func(t *testing.T) {
		tx, err := en.d.Begin(en.ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Insert(posts, db.RecordInput{"title": "never", "views": -1}); err != nil {
			t.Fatal(err)
		}
		if err := tx.Rollback(); err != nil {
			t.Fatal(err)
		}
		// A mutation of two root fields whose second fails is rolled back
		// as a whole.
		r := en.gql("", `mutation {
			a: createPost(input: {id: "ddddddddddddddd", title: "first", views: -2}) { id }
			b: createPost(input: {id: "ddddddddddddddd", title: "duplicate", views: -3}) { id }
		}`, nil)
		if len(r.Errors) == 0 {
			t.Fatalf("the duplicate id was accepted: %s", r)
		}
		en.insert("posts", db.RecordInput{"title": "committed", "views": 0})
		if _, rec := recordOf(t, c.next("1"), "postChanged"); rec["views"] != 0.0 {
			t.Errorf("first event is %v, want the committed record (views 0)", rec)
		}
	})

	t.Run("changes of one record arrive in commit order", func(t *testing.T) {
		rec := en.insert("posts", db.RecordInput{"title": "counter", "views": 0})
		const updates = 40
		for i := 1; i <= updates; i++ {
			tx, _ := en.d.Begin(en.ctx)
			if _, err := tx.Update(posts, rec.ID(), db.RecordPatch{Set: db.RecordInput{"views": float64(i)}}); err != nil {
				t.Fatal(err)
			}
			if err := tx.Commit(); err != nil {
				t.Fatal(err)
			}
		}
		tx, _ := en.d.Begin(en.ctx)
		if _, err := tx.Delete(posts, rec.ID()); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		if action, r := recordOf(t, c.next("1"), "postChanged"); action != "CREATE" || r["views"] != 0.0 {
			t.Fatalf("got %s %v, want CREATE views 0", action, r)
		}
		for i := 1; i <= updates; i++ {
			action, r := recordOf(t, c.next("1"), "postChanged")
			if action != "UPDATE" || r["views"] != float64(i) {
				t.Fatalf("event %d: got %s views %v, want UPDATE views %d", i, action, r["views"], i)
			}
		}
		if action, r := recordOf(t, c.next("1"), "postChanged"); action != "DELETE" || r["views"] != float64(updates) {
			t.Fatalf("got %s %v, want DELETE with the last state", action, r)
		}
	})
}

func TestSubscriptionCollectionDeleted(t *testing.T) {
	en := newEnv(t)
	en.subPosts()
	en.create(&db.Collection{Name: "drafts", Type: db.TypeBase, Fields: []*db.Field{{Name: "title", Type: db.FieldText}}})
	for _, proto := range []string{protoTransportWS, protoLegacyWS} {
		t.Run(proto, func(t *testing.T) {
			c := en.connect(proto, nil)
			c.subscribe("d", `subscription { draftChanged { action } }`, nil)
			c.subscribe("p", `subscription { postChanged { record { title } } }`, nil)
			en.waitSubscribers("drafts", 1)
			en.waitSubscribers("posts", 1)

			t.Run("a schema change keeps the subscriptions", func(t *testing.T) {
				posts, _ := en.d.Collection("posts")
				p := *posts
				p.Fields = append(append([]*db.Field{}, posts.Fields...), &db.Field{Name: "summary_" + strings.ReplaceAll(proto, "-", "_"), Type: db.FieldText})
				if _, err := en.d.UpdateCollection(en.ctx, "posts", &p); err != nil {
					t.Fatal(err)
				}
				en.insert("posts", db.RecordInput{"title": "after the change"})
				if _, rec := recordOf(t, c.next("p"), "postChanged"); rec["title"] != "after the change" {
					t.Errorf("got %v", rec)
				}
			})

			t.Run("deleting the collection ends its subscription with an error, then completes", func(t *testing.T) {
				if err := en.d.DeleteCollection(en.ctx, "drafts"); err != nil {
					t.Fatal(err)
				}
				ev := c.next("d")
				if ev.Type != "next" || len(ev.Errors) == 0 || ev.Errors[0].Extensions["code"] != "NOT_FOUND" ||
					!strings.Contains(ev.Errors[0].Message, "drafts was deleted") {
					t.Fatalf("got %s %s, want an error saying drafts was deleted", ev.Type, ev.raw)
				}
				if ev := c.next("d"); ev.Type != "complete" {
					t.Errorf("then %s, want complete", ev.Type)
				}
			})

			t.Run("the other subscription on the socket goes on", func(t *testing.T) {
				en.insert("posts", db.RecordInput{"title": "still here"})
				if _, rec := recordOf(t, c.next("p"), "postChanged"); rec["title"] != "still here" {
					t.Errorf("got %v", rec)
				}
			})
			c.stop("p")
			en.waitSubscribers("posts", 0)
			// Recreate drafts for the next protocol.
			en.create(&db.Collection{Name: "drafts", Type: db.TypeBase, Fields: []*db.Field{{Name: "title", Type: db.FieldText}}})
		})
	}
}

// TestSubscriptionSharesWork checks that subscribers with the same viewer
// and operation share the rule check and the rendering of an event: the
// SQL statements per event do not grow with the number of subscribers.
func TestSubscriptionSharesWork(t *testing.T) {
	en := newEnv(t)
	en.subPosts()
	// @now keeps the check in SQL (a filter of the record's own fields
	// alone is evaluated in memory, with no statement: sub_viewers_test.go).
	const q = `subscription { postChanged(filter: "views >= 0 && created <= @now") { action record { id title } } }`
	var reads atomic.Int64
	en.d.ObserveReads(func(string) { reads.Add(1) })
	defer en.d.ObserveReads(nil)
	statements := func(n int) int64 {
		clients := make([]*subClient, n)
		for i := range clients {
			clients[i] = en.connect(protoTransportWS, nil)
			clients[i].subscribe("1", q, nil)
		}
		en.waitSubscribers("posts", n)
		en.insert("posts", db.RecordInput{"title": "warm", "views": 1}) // caches warm
		for _, c := range clients {
			c.next("1")
		}
		before := reads.Load()
		en.insert("posts", db.RecordInput{"title": "counted", "views": 1})
		for _, c := range clients {
			if _, rec := recordOf(t, c.next("1"), "postChanged"); rec["title"] != "counted" {
				t.Fatalf("got %v", rec)
			}
		}
		after := reads.Load()
		for _, c := range clients {
			c.stop("1")
		}
		en.waitSubscribers("posts", 0)
		return after - before
	}
	one := statements(1)
	many := statements(40)
	t.Logf("SQL statements for one event: %d with 1 subscriber, %d with 40", one, many)
	if one == 0 {
		t.Fatal("the filter check ran no SQL at all: the test measures nothing")
	}
	if many > one+2 {
		t.Errorf("40 subscribers cost %d statements, 1 costs %d: the work is not shared", many, one)
	}
}

// TestSubscriptionRuleChange: running subscriptions follow the rules as they
// are when an event happens, not as they were when they started.
func TestSubscriptionRuleChange(t *testing.T) {
	en := newEnv(t)
	en.subPosts()
	c := en.connect(protoTransportWS, nil)
	c.subscribe("1", `subscription { postChanged { record { title } } }`, nil)
	en.waitSubscribers("posts", 1)
	setListRule := func(rule *string) {
		t.Helper()
		posts, _ := en.d.Collection("posts")
		p := *posts
		p.ListRule = rule
		if _, err := en.d.UpdateCollection(en.ctx, "posts", &p); err != nil {
			t.Fatal(err)
		}
	}
	en.insert("posts", db.RecordInput{"title": "before", "views": 1})
	if _, rec := recordOf(t, c.next("1"), "postChanged"); rec["title"] != "before" {
		t.Fatalf("got %v", rec)
	}

	t.Run("a tightened list rule applies to the next event", func(t *testing.T) {
		setListRule(sp("views > 10"))
		en.insert("posts", db.RecordInput{"title": "hidden now", "views": 1})
		en.insert("posts", db.RecordInput{"title": "still visible", "views": 20})
		if _, rec := recordOf(t, c.next("1"), "postChanged"); rec["title"] != "still visible" {
			t.Errorf("got %v, want the post that passes the new rule", rec)
		}
	})
	t.Run("a rule that shuts the viewer out ends the subscription with FORBIDDEN", func(t *testing.T) {
		setListRule(nil)
		en.insert("posts", db.RecordInput{"title": "superusers only", "views": 20})
		ev := c.next("1")
		if len(ev.Errors) == 0 || ev.Errors[0].Extensions["code"] != "FORBIDDEN" {
			t.Fatalf("got %s %s, want FORBIDDEN", ev.Type, ev.raw)
		}
		if ev := c.next("1"); ev.Type != "complete" {
			t.Errorf("then %s, want complete", ev.Type)
		}
		en.waitSubscribers("posts", 0)
	})
}
