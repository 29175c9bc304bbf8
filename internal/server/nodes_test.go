package server

// Several nodes on one PostgreSQL database (package cluster): two servers
// on two ports share a fresh schema of the local PostgreSQL (or of
// MONOBASE_TEST_DB's server); these tests run on every run, whatever the
// suite's engine.

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/monobase/monobase/cluster"
	"github.com/monobase/monobase/internal/s3test"
	"github.com/monobase/monobase/internal/testdb"
	"github.com/monobase/monobase/ratelimit"
)

// natsURL is the NATS server of the tests.
const natsURL = "nats://127.0.0.1:4222"

// startNodes starts node A, gives it a superuser, a collection "posts"
// (TEXT title, open to anyone) and S3 file storage, then starts node B on
// the same database with events over events ("" for LISTEN/NOTIFY). It
// returns both nodes and a superuser token.
func startNodes(t *testing.T, events string) (a, b *ServeCommand, admin string) {
	t.Helper()
	dirA, dirB := t.TempDir(), t.TempDir()
	dsn := testdb.PostgresURL(t, dirA)
	mustCLI(t, "--dir", dirA, "--db", dsn, "superuser", "upsert", "admin@example.com", "admin-password")
	s3, err := s3test.Start("files")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s3.Close() })
	set := func(c *ServeCommand) {
		c.Database, c.Events, c.RateLimits = dsn, events, &ratelimit.Settings{}
	}
	a, _ = startServerWith(t, dirA, set)
	admin = signIn(t, a.URL(), "admin@example.com", "admin-password")
	useS3(t, a.URL(), admin, s3, "files") // several nodes need shared files
	mustGQL(t, a.URL()+"/graphql/admin", admin, `mutation {
		createCollection(input: {name: "posts", listRule: "", viewRule: "", createRule: "", updateRule: "",
			fields: [{name: "title", type: TEXT}, {name: "body", type: EDITOR}]}) { id }
	}`, nil)
	b, _ = startServerWith(t, dirB, set)
	return a, b, admin
}

// wsClient is a graphql-transport-ws connection.
type wsClient struct {
	t    *testing.T
	conn *websocket.Conn
	msgs chan wsMessage
	end  chan error // the read error that ended the connection
}

type wsMessage struct {
	ID      string          `json:"id"`
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload"`
}

// connectWS opens a socket to addr with the token (may be "") and reads
// its messages in the background.
func connectWS(t *testing.T, addr, token string) *wsClient {
	t.Helper()
	conn := dialGraphQLWS(t, addr)
	_ = conn.SetReadDeadline(time.Time{})
	init := map[string]any{}
	if token != "" {
		init["authToken"] = token
	}
	if err := conn.WriteJSON(map[string]any{"type": "connection_init", "payload": init}); err != nil {
		t.Fatal(err)
	}
	var ack wsMessage
	if err := conn.ReadJSON(&ack); err != nil || ack.Type != "connection_ack" {
		t.Fatalf("ack: %v %q %s", err, ack.Type, ack.Payload)
	}
	c := &wsClient{t: t, conn: conn, msgs: make(chan wsMessage, 1024), end: make(chan error, 1)}
	go func() {
		for {
			var m wsMessage
			if err := conn.ReadJSON(&m); err != nil {
				c.end <- err
				close(c.msgs)
				return
			}
			c.msgs <- m
		}
	}()
	return c
}

func (c *wsClient) subscribe(id, query string) {
	c.t.Helper()
	if err := c.conn.WriteJSON(map[string]any{"id": id, "type": "subscribe", "payload": map[string]any{"query": query}}); err != nil {
		c.t.Fatal(err)
	}
}

// next returns the next message, failing after 10 s.
func (c *wsClient) next() wsMessage {
	c.t.Helper()
	select {
	case m, ok := <-c.msgs:
		if !ok {
			c.t.Fatalf("the connection ended: %v", <-c.end)
		}
		return m
	case <-time.After(10 * time.Second):
		c.t.Fatal("no message in 10 s")
	}
	return wsMessage{}
}

// waitSubscribed creates posts on node until one reaches c (the
// subscription starts asynchronously) and returns the title that did.
func waitSubscribed(t *testing.T, c *wsClient, node *ServeCommand) {
	t.Helper()
	for i := 0; ; i++ {
		if i == 100 {
			t.Fatal("no event reached the subscriber on the other node")
		}
		mustGQL(t, node.URL()+"/graphql", "", `mutation($t: String!) { createPost(input: {title: $t}) { id } }`,
			map[string]any{"t": fmt.Sprintf("warm-up %d", i)})
		select {
		case m, ok := <-c.msgs:
			if !ok {
				t.Fatalf("the connection ended: %v", <-c.end)
			}
			if m.Type == "complete" { // a subscription the test ended
				continue
			}
			if m.Type != "next" || !strings.Contains(string(m.Payload), "CREATE") {
				t.Fatalf("got %s %s, want a warm-up post", m.Type, m.Payload)
			}
			// Drain the warm-ups still on their way.
			for {
				select {
				case <-c.msgs:
					continue
				case <-time.After(300 * time.Millisecond):
				}
				return
			}
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// testEventsAcrossNodes: a subscriber on B gets the writes made on A, in
// their commit order, and a subscriber on A those made on B.
func testEventsAcrossNodes(t *testing.T, events string) {
	a, b, _ := startNodes(t, events)
	onB := connectWS(t, b.Addr(), "")
	onB.subscribe("1", `subscription { postChanged { action record { title } } }`)
	waitSubscribed(t, onB, a)

	const n = 30
	for i := range n {
		mustGQL(t, a.URL()+"/graphql", "", `mutation($t: String!) { createPost(input: {title: $t}) { id } }`,
			map[string]any{"t": fmt.Sprintf("post %02d", i)})
	}
	for i := range n {
		m := onB.next()
		want := fmt.Sprintf(`"title":"post %02d"`, i)
		if m.Type != "next" || !strings.Contains(string(m.Payload), want) || !strings.Contains(string(m.Payload), `"CREATE"`) {
			t.Fatalf("event %d on B = %s %s, want %s", i, m.Type, m.Payload, want)
		}
	}
	// A big record (over a NOTIFY's 8000 bytes) arrives whole.
	big := strings.Repeat("x", 20000)
	onB.subscribe("2", `subscription { postChanged { record { body } } }`)
	time.Sleep(200 * time.Millisecond) // the second subscription starts
	mustGQL(t, a.URL()+"/graphql", "", `mutation($b: String!) { createPost(input: {title: "big", body: $b}) { id } }`, map[string]any{"b": big})
	m := onB.next()
	if m.ID == "1" {
		m = onB.next()
	}
	if !strings.Contains(string(m.Payload), big) {
		t.Fatalf("big event on B = %.200s", m.Payload)
	}
	// Only subscription 1 from here on.
	if err := onB.conn.WriteJSON(map[string]any{"id": "2", "type": "complete"}); err != nil {
		t.Fatal(err)
	}

	if events == "" {
		// B's control connection dropped (terminated by the server): B
		// reconnects and events flow again.
		dropControl(t, b)
		waitSubscribed(t, onB, a)
	}

	// And the other way round.
	onA := connectWS(t, a.Addr(), "")
	onA.subscribe("1", `subscription { postChanged { action record { title } } }`)
	waitSubscribed(t, onA, b)
	mustGQL(t, b.URL()+"/graphql", "", `mutation { createPost(input: {title: "from B"}) { id } }`, nil)
	if m := onA.next(); !strings.Contains(string(m.Payload), `"title":"from B"`) {
		t.Fatalf("event on A = %s", m.Payload)
	}
}

func TestNodesEventsListenNotify(t *testing.T) { testEventsAcrossNodes(t, "") }

func TestNodesEventsNATS(t *testing.T) { testEventsAcrossNodes(t, natsURL) }

// TestNodesSchemaAndSettings: a collection created on A is served by B
// within 1 s, and a settings change on A is in force on B.
func TestNodesSchemaAndSettings(t *testing.T) {
	a, b, admin := startNodes(t, "")
	mustGQL(t, a.URL()+"/graphql/admin", admin, `mutation {
		createCollection(input: {name: "notes", listRule: "", viewRule: "", createRule: "",
			fields: [{name: "body", type: TEXT}]}) { id }
	}`, nil)
	created := time.Now()
	for {
		r := gql(t, b.URL()+"/graphql", "", `mutation { createNote(input: {body: "on B"}) { body } }`, nil)
		if len(r.Errors) == 0 {
			break
		}
		if time.Since(created) > time.Second {
			t.Fatalf("B does not serve the collection created on A after 1 s: %+v", r.Errors)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Deleted on A: gone from B's schema too.
	mustGQL(t, a.URL()+"/graphql/admin", admin, `mutation { deleteCollection(idOrName: "notes") }`, nil)
	changed := time.Now()
	for {
		r := gql(t, b.URL()+"/graphql", "", `mutation { createNote(input: {body: "b"}) { body } }`, nil)
		if r.errCode() == "GRAPHQL_VALIDATION_FAILED" {
			break
		}
		if time.Since(changed) > time.Second {
			t.Fatalf("B still serves the collection deleted on A after 1 s: %+v %v", r.Errors, r.Data)
		}
		time.Sleep(20 * time.Millisecond)
	}

	// settings.cors changed on A: B answers the new origin's preflight.
	const origin = "https://app.example.com"
	mustGQL(t, a.URL()+"/graphql/admin", admin, `mutation($o: [String!]) { updateSettings(input: {cors: {allowedOrigins: $o}}) { cors { allowedOrigins } } }`,
		map[string]any{"o": []string{origin}})
	deadline := time.Now().Add(5 * time.Second)
	for {
		req, _ := http.NewRequest(http.MethodOptions, b.URL()+"/graphql", nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.Header.Get("Access-Control-Allow-Origin") == origin {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("B does not allow the origin set on A: %v", res.Header)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestNodesTokens: a token issued on A works on B (the signing secret is
// in the database), and a revocation on A (the password changed) closes
// the socket that token opened on B.
func TestNodesTokens(t *testing.T) {
	a, b, admin := startNodes(t, "")
	// The superuser's token from A on B's admin API.
	if names := collectionNames(t, b.URL(), admin); !contains(names, "posts") {
		t.Fatalf("collections on B with A's token: %v", names)
	}
	mustGQL(t, a.URL()+"/graphql", admin, `mutation { createUser(input: {email: "u@example.com", password: "password123", passwordConfirm: "password123"}) { id } }`, nil)
	data := mustGQL(t, a.URL()+"/graphql", "", `mutation { userAuthWithPassword(identity: "u@example.com", password: "password123") { token record { id } } }`, nil)
	res := data["userAuthWithPassword"].(map[string]any)
	token := res["token"].(string)
	id := res["record"].(map[string]any)["id"].(string)

	me := gql(t, b.URL()+"/graphql", token, `query($id: ID!) { user(id: $id) { email } }`, map[string]any{"id": id})
	if len(me.Errors) > 0 || !strings.Contains(fmt.Sprint(me.Data), "u@example.com") {
		t.Fatalf("A's user token on B: %+v %v", me.Errors, me.Data)
	}
	sock := connectWS(t, b.Addr(), token)
	sock.subscribe("1", `subscription { postChanged { action } }`)
	waitSubscribed(t, sock, a)

	mustGQL(t, a.URL()+"/graphql", admin, `mutation($id: ID!) { updateUser(id: $id, input: {password: "password456", passwordConfirm: "password456"}) { id } }`,
		map[string]any{"id": id})
	for {
		m, ok := <-sock.msgs
		if !ok {
			break // the socket was closed
		}
		if m.Type == "error" || m.Type == "complete" {
			if !strings.Contains(string(m.Payload), "revoked") && m.Type == "error" {
				t.Fatalf("socket on B got %s %s, want the revocation", m.Type, m.Payload)
			}
			break
		}
		if m.Type != "next" {
			t.Fatalf("socket on B got %s %s", m.Type, m.Payload)
		}
	}
	// The token no longer works on B over HTTP either.
	if r := gql(t, b.URL()+"/graphql", token, `query($id: ID!) { user(id: $id) { email } }`, map[string]any{"id": id}); r.errCode() != "UNAUTHENTICATED" {
		t.Fatalf("revoked token on B: %+v %v", r.Errors, r.Data)
	}
}

// TestNodesRefuseLocalFiles: with files on the local disk a second node on
// the same database refuses to start, with a clear error; once the first
// stops, it starts.
func TestNodesRefuseLocalFiles(t *testing.T) {
	dirA, dirB := t.TempDir(), t.TempDir()
	dsn := testdb.PostgresURL(t, dirA)
	logs := &syncBuffer{}
	a, _ := startServerWith(t, dirA, func(c *ServeCommand) { c.Database = dsn; c.Stderr = logs; c.Logger = nil })
	if !strings.Contains(logs.String(), "local disk") {
		t.Errorf("no warning about local files in the log: %s", logs.String())
	}
	b := NewServeCommand(&syncBuffer{}, &syncBuffer{})
	b.Dir, b.Database, b.HTTP = dirB, dsn, "127.0.0.1:0"
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := b.Run(ctx)
	if err == nil {
		_ = b.Close()
		t.Fatal("a second node with local files started")
	}
	if !errors.Is(err, cluster.ErrOtherNode) || !strings.Contains(err.Error(), "S3") {
		t.Fatalf("error = %v, want cluster.ErrOtherNode naming S3", err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	c, _ := startServerWith(t, dirB, func(c *ServeCommand) { c.Database = dsn })
	if n, err := c.node.LiveNodes(ctx); err != nil || n != 1 {
		t.Fatalf("live nodes = %d, %v; want 1", n, err)
	}
}

// dropControl terminates the PostgreSQL control connection of node c.
func dropControl(t *testing.T, c *ServeCommand) {
	t.Helper()
	db, err := sql.Open("postgres", c.Database)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	err = db.QueryRow(`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1`,
		"monobase-node-"+c.node.ID()).Scan(&n)
	if err != nil || n != 1 {
		t.Fatalf("terminated %d control connections: %v", n, err)
	}
}

// TestNodesSameOrderEverywhere: with LISTEN/NOTIFY, writes made on both
// nodes at once reach the subscribers of both nodes in one order, the
// commit order (a node's own changes come back through PostgreSQL too).
func TestNodesSameOrderEverywhere(t *testing.T) {
	a, b, _ := startNodes(t, "")
	onA := connectWS(t, a.Addr(), "")
	onA.subscribe("1", `subscription { postChanged { action record { title } } }`)
	waitSubscribed(t, onA, b)
	onB := connectWS(t, b.Addr(), "")
	onB.subscribe("1", `subscription { postChanged { action record { title } } }`)
	waitSubscribed(t, onB, a)
	drain := func(c *wsClient) {
		for {
			select {
			case <-c.msgs:
			case <-time.After(300 * time.Millisecond):
				return
			}
		}
	}
	drain(onA)

	const n = 40
	done := make(chan struct{}, 2)
	for _, node := range []*ServeCommand{a, b} {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := range n {
				mustGQL(t, node.URL()+"/graphql", "", `mutation($t: String!) { createPost(input: {title: $t}) { id } }`,
					map[string]any{"t": fmt.Sprintf("%s %02d", node.Addr(), i)})
			}
		}()
	}
	<-done
	<-done
	titles := func(c *wsClient) []string {
		out := make([]string, 0, 2*n)
		for range 2 * n {
			var p struct {
				Data struct {
					PostChanged struct {
						Record struct{ Title string } `json:"record"`
					} `json:"postChanged"`
				} `json:"data"`
			}
			if err := json.Unmarshal(c.next().Payload, &p); err != nil {
				t.Fatal(err)
			}
			out = append(out, p.Data.PostChanged.Record.Title)
		}
		return out
	}
	gotA, gotB := titles(onA), titles(onB)
	if strings.Join(gotA, "|") != strings.Join(gotB, "|") {
		t.Fatalf("the nodes delivered in different orders:\nA: %v\nB: %v", gotA, gotB)
	}
}

// TestNodesFileTokens: a protected file uploaded on A is served by B
// (files on S3), with a file token issued by either node.
func TestNodesFileTokens(t *testing.T) {
	a, b, admin := startNodes(t, "")
	owned := "owner = @request.auth.id"
	mustGQL(t, a.URL()+"/graphql/admin", admin, `mutation($in: CollectionInput!) { createCollection(input: $in) { id } }`,
		map[string]any{"in": map[string]any{
			"name": "docs", "listRule": owned, "viewRule": owned, "createRule": owned,
			"fields": []any{
				map[string]any{"name": "owner", "type": "RELATION", "collection": "users", "required": true},
				map[string]any{"name": "file", "type": "FILE", "protected": true, "maxSelect": 1},
			},
		}})
	ownerID, ownerToken := signUp(t, a.URL(), "owner@example.com")
	status, raw := postMultipart(t, a.URL()+"/graphql", ownerToken,
		`mutation($f: Upload, $o: ID!) { createDoc(input: {owner: $o, file: $f}) { file { url } } }`,
		map[string]any{"f": nil, "o": ownerID}, "f", "secret.txt", []byte("top secret"))
	var created struct {
		Data struct {
			CreateDoc struct{ File struct{ URL string } }
		}
	}
	if err := json.Unmarshal(raw, &created); err != nil || created.Data.CreateDoc.File.URL == "" {
		t.Fatalf("upload on A: status %d, %s", status, raw)
	}
	path := created.Data.CreateDoc.File.URL
	deadline := time.Now().Add(time.Second) // B's schema has docs within 1 s
	for {
		res, body := httpGet(t, b.URL()+path+"?token="+fileToken(t, a.URL(), ownerToken))
		if res.StatusCode == http.StatusOK && string(body) == "top secret" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("B with A's file token: %d %q", res.StatusCode, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if res, body := httpGet(t, a.URL()+path+"?token="+fileToken(t, b.URL(), ownerToken)); res.StatusCode != http.StatusOK || string(body) != "top secret" {
		t.Fatalf("A with B's file token: %d %q", res.StatusCode, body)
	}
	if res, _ := httpGet(t, b.URL()+path); res.StatusCode != http.StatusNotFound {
		t.Fatalf("B without a token: %d, want 404", res.StatusCode)
	}
}
