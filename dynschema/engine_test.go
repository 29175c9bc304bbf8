package dynschema

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/monobase/monobase/db"
)

func TestStatementsDoNotGrowWithRows(t *testing.T) {
	en := newEnv(t)
	en.blog()
	users := []db.Record{}
	for i := 0; i < 5; i++ {
		u, _ := en.user(fmt.Sprintf("u%d@example.com", i))
		users = append(users, u)
	}
	var tags []string
	for i := 0; i < 5; i++ {
		tags = append(tags, en.insert("tags", map[string]any{"name": fmt.Sprintf("t%d", i)}).ID())
	}
	for i := 0; i < 100; i++ {
		en.insert("posts", map[string]any{"title": fmt.Sprintf("p%d", i), "author": users[i%5].ID(), "tags": []string{tags[i%5], tags[(i+1)%5]}})
	}
	q := `query($n: Int) { posts(limit: $n) { title author { name postsViaAuthor(limit: 3) { title } } tags { name } } }`
	// Reads run as prepared statements cached by SQL text, so the count is
	// of statements executed, not compiled.
	var reads atomic.Int64
	en.d.ObserveReads(func(string) { reads.Add(1) })
	count := func(n int) (int64, int) {
		reads.Store(0)
		r := en.gql("", q, map[string]any{"n": n}).ok(t)
		var out struct{ Posts []json.RawMessage }
		r.decode(t, &out)
		return reads.Load(), len(out.Posts)
	}
	c10, n10 := count(10)
	c100, n100 := count(100)
	if n10 != 10 || n100 != 100 {
		t.Fatalf("got %d and %d posts", n10, n100)
	}
	// posts, their authors, the authors' posts, the tags: at most one
	// statement per level of the selection (single relations such as the
	// author are joined into their parent's statement).
	if c10 != c100 || c10 == 0 || c10 > 4 {
		t.Errorf("10 posts ran %d SQL statements, 100 posts %d; want the same, at most 4", c10, c100)
	}
	t.Logf("SQL statements run for the query: %d (10 posts) and %d (100 posts)", c10, c100)
}

func TestIntrospection(t *testing.T) {
	en := newEnv(t)
	en.blog()
	r := en.gql("", introspectionQuery, nil).ok(t)
	var out struct {
		Schema struct {
			QueryType struct{ Name string }
			Types     []struct {
				Kind, Name string
				Fields     []struct{ Name string }
			}
			Directives []struct{ Name string }
		} `json:"__schema"`
	}
	r.decode(t, &out)
	names := map[string]bool{}
	for _, ty := range out.Schema.Types {
		names[ty.Name] = true
	}
	for _, want := range []string{"Post", "PostWhere", "User", "AuthRecord", "Record", "__Schema", "DateTime", "PostStatus"} {
		if !names[want] {
			t.Errorf("type %s missing", want)
		}
	}
	if out.Schema.QueryType.Name != "Query" || len(out.Schema.Directives) == 0 {
		t.Errorf("got %+v", out.Schema.QueryType)
	}
	r = en.gql("", `{ __type(name: "Post") { name kind interfaces { name } fields { name type { kind ofType { name } } } } }`, nil).ok(t)
	if !strings.Contains(string(r.Data), `"interfaces":[{"name":"Record"}]`) {
		t.Errorf("got %s", r.Data)
	}
}

func TestSchemaSwapUnderLoad(t *testing.T) {
	en := newEnv(t)
	en.blog()
	en.insert("posts", map[string]any{"title": "x"})
	stop := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan string, 100)
	queries := 0
	var mu sync.Mutex
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body := `{"query":"{ posts { title author { name } } postsAggregate { count } }"}`
			for {
				select {
				case <-stop:
					return
				default:
				}
				resp, err := http.Post(en.srv.URL+"/graphql", "application/json", strings.NewReader(body))
				if err != nil {
					errs <- err.Error()
					return
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || !strings.HasPrefix(string(b), `{"data":{"posts":[{"title":"x"`) {
					select {
					case errs <- string(b):
					default:
					}
				}
				mu.Lock()
				queries++
				mu.Unlock()
			}
		}()
	}
	stopped := false
	halt := func() {
		if !stopped {
			stopped = true
			close(stop)
			wg.Wait()
		}
	}
	defer halt()
	for i := 0; i < 8; i++ {
		c := en.create(&db.Collection{Name: fmt.Sprintf("w%d_items", i), Type: db.TypeBase, Fields: []*db.Field{{Name: "n", Type: db.FieldNumber}}})
		r := en.gql("", fmt.Sprintf(`mutation { createW%dItem(input: {n: 1}) { n } }`, i), nil).ok(t)
		jsonEq(t, r.Data, fmt.Sprintf(`{"createW%dItem":{"n":1}}`, i))
		upd := *c
		upd.Fields = append(append([]*db.Field(nil), c.Fields...), &db.Field{Name: "label", Type: db.FieldText})
		if _, err := en.d.UpdateCollection(en.ctx, c.ID, &upd); err != nil {
			t.Fatal(err)
		}
		en.gql("", fmt.Sprintf(`{ w%dItems { label } }`, i), nil).ok(t)
		if i%2 == 0 {
			if err := en.d.DeleteCollection(en.ctx, c.ID); err != nil {
				t.Fatal(err)
			}
			if r := en.gql("", fmt.Sprintf(`{ w%dItems { n } }`, i), nil); r.Status == 200 && len(r.Errors) == 0 {
				t.Errorf("deleted collection still queryable: %s", r)
			}
		}
	}
	halt()
	close(errs)
	t.Logf("%d queries ran during the swaps", queries)
	for e := range errs {
		t.Errorf("concurrent query failed: %s", e)
	}
	t.Run("a change that breaks the schema is refused and the schema kept", func(t *testing.T) {
		before := en.e.SDL()
		_, err := en.d.CreateCollection(en.ctx, &db.Collection{Name: "post", Type: db.TypeBase})
		if err == nil || !strings.Contains(err.Error(), "clash") {
			t.Fatalf("got %v", err)
		}
		if en.e.SDL() != before {
			t.Error("SDL changed")
		}
		if _, err := en.d.Collection("post"); err == nil {
			t.Error("the collection was created")
		}
	})
}

// wsClient speaks graphql-transport-ws.
type wsClient struct {
	t *testing.T
	c *websocket.Conn
}

func (en *env) ws(t *testing.T, payload map[string]any) *wsClient {
	url := "ws" + strings.TrimPrefix(en.srv.URL, "http") + "/graphql"
	c, _, err := websocket.DefaultDialer.Dial(url, http.Header{"Sec-WebSocket-Protocol": {"graphql-transport-ws"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	w := &wsClient{t: t, c: c}
	w.send(map[string]any{"type": "connection_init", "payload": payload})
	return w
}

func (w *wsClient) send(m map[string]any) {
	if err := w.c.WriteJSON(m); err != nil {
		w.t.Fatal(err)
	}
}

// next returns the next message that is not a ping or keep-alive.
func (w *wsClient) next() (map[string]any, error) {
	for {
		_ = w.c.SetReadDeadline(time.Now().Add(5 * time.Second))
		var m map[string]any
		if err := w.c.ReadJSON(&m); err != nil {
			return nil, err
		}
		if m["type"] == "ping" || m["type"] == "ka" {
			continue
		}
		return m, nil
	}
}

func TestSubscriptionOverWebSocket(t *testing.T) {
	en := newEnv(t)
	en.blog()
	_, tok := en.user("ann@example.com")
	w := en.ws(t, map[string]any{"Authorization": "Bearer " + tok})
	if m, err := w.next(); err != nil || m["type"] != "connection_ack" {
		t.Fatalf("got %v %v", m, err)
	}
	w.send(map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{
		"query": `subscription { postChanged(actions: [CREATE], where: {title: {startsWith: "hello"}}) { action record { title author { name } } } }`}})
	time.Sleep(100 * time.Millisecond)
	en.gql(tok, `mutation { createPost(input: {title: "skip me"}) { id } }`, nil).ok(t)
	en.gql(tok, `mutation { me: createPost(input: {title: "hello world"}) { id } }`, nil).ok(t)
	m, err := w.next()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(m)
	if !strings.Contains(string(b), `"payload":{"data":{"postChanged":{"action":"CREATE","record":{"author":null,"title":"hello world"}}}}`) {
		t.Errorf("got %s", b)
	}
	t.Run("deleting the collection ends the subscription with an error", func(t *testing.T) {
		tags := en.colls["tags"]
		w.send(map[string]any{"id": "2", "type": "subscribe", "payload": map[string]any{"query": `subscription { tagChanged { action } }`}})
		time.Sleep(100 * time.Millisecond)
		posts := en.colls["posts"]
		upd := *posts
		var keep []*db.Field
		for _, f := range posts.Fields {
			if f.Name != "tags" {
				keep = append(keep, f)
			}
		}
		upd.Fields = keep
		if _, err := en.d.UpdateCollection(en.ctx, posts.ID, &upd); err != nil {
			t.Fatal(err)
		}
		if err := en.d.DeleteCollection(en.ctx, tags.ID); err != nil {
			t.Fatal(err)
		}
		var got []string
		for len(got) < 2 {
			m, err := w.next()
			if err != nil {
				t.Fatalf("after %v: %v", got, err)
			}
			b, _ := json.Marshal(m)
			got = append(got, string(b))
		}
		if !strings.Contains(got[0], `"id":"2"`) || !strings.Contains(got[0], "NOT_FOUND") || !strings.Contains(got[1], `"type":"complete"`) {
			t.Errorf("got %v", got)
		}
	})
	t.Run("a bad token closes the socket with 4403", func(t *testing.T) {
		w := en.ws(t, map[string]any{"authToken": "bad"})
		for {
			_, err := w.next()
			if err == nil {
				continue
			}
			if !websocket.IsCloseError(err, 4403) {
				t.Errorf("got %v", err)
			}
			break
		}
	})
}
