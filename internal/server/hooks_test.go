package server

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/monobase/monobase/apperr"
	"github.com/monobase/monobase/auth"
	"github.com/monobase/monobase/hook"
	"github.com/monobase/monobase/ratelimit"
)

// hookServer is a server whose app hooks are reg, with a superuser, an
// open collection "posts" (title, slug) and "comments" (body, post: a
// relation to posts that cascades on delete), and a user ann.
type hookServer struct {
	srv   *ServeCommand
	reg   *hook.Registry
	dir   string
	base  string
	admin string
}

func newHookServer(t *testing.T, set func(*ServeCommand)) *hookServer {
	t.Helper()
	dir := t.TempDir()
	mustCLI(t, "--dir", dir, "superuser", "upsert", "admin@example.com", "admin-password")
	reg := &hook.Registry{}
	srv, _ := startServerWith(t, dir, func(c *ServeCommand) {
		c.RateLimits = &ratelimit.Settings{}
		c.Hooks = reg
		if set != nil {
			set(c)
		}
	})
	s := &hookServer{srv: srv, reg: reg, dir: dir, base: srv.URL()}
	s.admin = signIn(t, s.base, "admin@example.com", "admin-password")
	mustGQL(t, s.base+"/graphql/admin", s.admin, `mutation { createCollection(input: {name: "posts",
		listRule: "", viewRule: "", createRule: "", updateRule: "", deleteRule: "",
		fields: [{name: "title", type: TEXT}, {name: "slug", type: TEXT}]}) { id } }`, nil)
	mustGQL(t, s.base+"/graphql/admin", s.admin, `mutation { createCollection(input: {name: "comments",
		listRule: "", viewRule: "", createRule: "", updateRule: "", deleteRule: "",
		fields: [{name: "body", type: TEXT}, {name: "post", type: RELATION, collection: "posts", maxSelect: 1, cascadeDelete: true}]}) { id } }`, nil)
	mustGQL(t, s.base+"/graphql", "", `mutation { createUser(input: {email: "ann@example.com", password: "ann-password-1", passwordConfirm: "ann-password-1"}) { id } }`, nil)
	return s
}

func (s *hookServer) gql(t *testing.T, token, query string, vars map[string]any) *gqlResponse {
	t.Helper()
	return gql(t, s.base+"/graphql", token, query, vars)
}

// postsTitled returns the posts with that title.
func (s *hookServer) postsTitled(t *testing.T, title string) []map[string]any {
	t.Helper()
	data := mustGQL(t, s.base+"/graphql", "", `query($t: String!) { posts(where: {title: {eq: $t}}) { id title slug } }`, map[string]any{"t": title})
	var out []map[string]any
	for _, p := range data["posts"].([]any) {
		out = append(out, p.(map[string]any))
	}
	return out
}

func (s *hookServer) createPost(t *testing.T, title, slug string) string {
	t.Helper()
	data := mustGQL(t, s.base+"/graphql", "", `mutation($t: String!, $s: String) { createPost(input: {title: $t, slug: $s}) { id } }`,
		map[string]any{"t": title, "s": slug})
	return data["createPost"].(map[string]any)["id"].(string)
}

// bind binds fn on h for the test's duration.
func bind[T hook.Tagger](t *testing.T, h *hook.TaggedHook[T], fn func(T) error) {
	id := h.BindFunc(fn)
	t.Cleanup(func() { h.Unbind(id) })
}

// counter counts calls by key.
type counter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *counter) add(k string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[k]++
}

func (c *counter) get(k string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[k]
}

func TestHooksRecordWrites(t *testing.T) {
	s := newHookServer(t, nil)
	posts := func(h *hook.Hook[*hook.RecordEvent]) *hook.TaggedHook[*hook.RecordEvent] {
		return hook.NewTagged(h, "posts")
	}

	t.Run("a before-create hook changes the record that is stored", func(t *testing.T) {
		bind(t, posts(&s.reg.RecordCreate), func(e *hook.RecordEvent) error {
			e.Record.Set("slug", strings.ToUpper(e.Record.GetString("slug")))
			return e.Next()
		})
		r := s.gql(t, "", `mutation { createPost(input: {title: "upper", slug: "hello-world"}) { slug } }`, nil)
		if got := r.Data["createPost"].(map[string]any)["slug"]; got != "HELLO-WORLD" {
			t.Fatalf("answered slug %v, want HELLO-WORLD (%+v)", got, r.Errors)
		}
		if got := s.postsTitled(t, "upper"); len(got) != 1 || got[0]["slug"] != "HELLO-WORLD" {
			t.Fatalf("stored %v", got)
		}
	})

	t.Run("a value a hook sets is validated as input", func(t *testing.T) {
		bind(t, posts(&s.reg.RecordCreate), func(e *hook.RecordEvent) error {
			e.Record.Set("nope", "x")
			return e.Next()
		})
		r := s.gql(t, "", `mutation { createPost(input: {title: "invalid"}) { id } }`, nil)
		if r.errCode() != "BAD_USER_INPUT" || len(s.postsTitled(t, "invalid")) != 0 {
			t.Fatalf("errors %+v, want BAD_USER_INPUT and nothing stored", r.Errors)
		}
	})

	t.Run("a plain error rejects the write as BAD_USER_INPUT, an apperr keeps its code", func(t *testing.T) {
		bind(t, posts(&s.reg.RecordCreate), func(e *hook.RecordEvent) error {
			switch title := e.Record.GetString("title"); {
			case strings.Contains(title, "spam"):
				return errors.New("no spam")
			case title == "secret":
				return apperr.New(apperr.Forbidden, "not you")
			}
			return e.Next()
		})
		r := s.gql(t, "", `mutation { createPost(input: {title: "buy spam now"}) { id } }`, nil)
		if r.errCode() != "BAD_USER_INPUT" || r.Errors[0].Message != "no spam" {
			t.Fatalf("errors %+v, want BAD_USER_INPUT no spam", r.Errors)
		}
		if got := s.postsTitled(t, "buy spam now"); len(got) != 0 {
			t.Fatalf("the rejected post was stored: %v", got)
		}
		r = s.gql(t, "", `mutation { createPost(input: {title: "secret"}) { id } }`, nil)
		if r.errCode() != "FORBIDDEN" || r.Errors[0].Message != "not you" {
			t.Fatalf("errors %+v, want FORBIDDEN not you", r.Errors)
		}
	})

	t.Run("after-commit hooks run once on success and never for a rollback", func(t *testing.T) {
		var commits, afters counter
		bind(t, posts(&s.reg.RecordAfterCreateCommit), func(e *hook.RecordEvent) error {
			commits.add(e.Record.GetString("title"))
			return e.Next()
		})
		bind(t, posts(&s.reg.RecordAfterCreate), func(e *hook.RecordEvent) error {
			afters.add(e.Record.GetString("title"))
			if e.Record.Id() == "" {
				t.Errorf("the after hook's record has no id")
			}
			return e.Next()
		})
		// The second root field fails: the whole mutation rolls back.
		r := s.gql(t, "", `mutation { a: createPost(input: {title: "rolled back"}) { id } b: updatePost(id: "missing", input: {title: "x"}) { id } }`, nil)
		if r.errCode() != "NOT_FOUND" {
			t.Fatalf("errors %+v, want NOT_FOUND", r.Errors)
		}
		if afters.get("rolled back") != 1 || commits.get("rolled back") != 0 || len(s.postsTitled(t, "rolled back")) != 0 {
			t.Fatalf("after %d, after-commit %d (want 1, 0), stored %v", afters.get("rolled back"), commits.get("rolled back"), s.postsTitled(t, "rolled back"))
		}
		s.createPost(t, "committed", "")
		if commits.get("committed") != 1 {
			t.Fatalf("after-commit ran %d times, want 1", commits.get("committed"))
		}
	})

	t.Run("an after hook's error rolls the write back", func(t *testing.T) {
		bind(t, posts(&s.reg.RecordAfterCreate), func(e *hook.RecordEvent) error {
			if e.Record.GetString("title") == "after fails" {
				return errors.New("not after all")
			}
			return e.Next()
		})
		r := s.gql(t, "", `mutation { createPost(input: {title: "after fails"}) { id } }`, nil)
		if r.errCode() != "BAD_USER_INPUT" || r.Errors[0].Message != "not after all" || len(s.postsTitled(t, "after fails")) != 0 {
			t.Fatalf("errors %+v, want BAD_USER_INPUT and nothing stored", r.Errors)
		}
	})

	t.Run("the hook's context carries the viewer", func(t *testing.T) {
		var viewer *auth.Viewer
		bind(t, posts(&s.reg.RecordCreate), func(e *hook.RecordEvent) error {
			viewer = auth.ViewerFrom(e.Context)
			return e.Next()
		})
		data := mustGQL(t, s.base+"/graphql", "", `mutation { userAuthWithPassword(identity: "ann@example.com", password: "ann-password-1") { token record { id } } }`, nil)
		a := data["userAuthWithPassword"].(map[string]any)
		s.gql(t, a["token"].(string), `mutation { createPost(input: {title: "by ann"}) { id } }`, nil)
		if viewer == nil || viewer.ID() != a["record"].(map[string]any)["id"] {
			t.Fatalf("viewer %+v, want ann", viewer)
		}
	})

	t.Run("update hooks see the merged record and the original", func(t *testing.T) {
		id := s.createPost(t, "old title", "old")
		var original string
		var commits counter
		bind(t, posts(&s.reg.RecordUpdate), func(e *hook.RecordEvent) error {
			original = e.Original.GetString("title")
			e.Record.Set("slug", strings.ToLower(strings.ReplaceAll(e.Record.GetString("title"), " ", "-")))
			return e.Next()
		})
		bind(t, posts(&s.reg.RecordAfterUpdateCommit), func(e *hook.RecordEvent) error {
			commits.add(e.Original.GetString("title") + ">" + e.Record.GetString("title"))
			return e.Next()
		})
		r := s.gql(t, "", `mutation($id: ID!) { updatePost(id: $id, input: {title: "New Title"}) { slug } }`, map[string]any{"id": id})
		if len(r.Errors) > 0 || r.Data["updatePost"].(map[string]any)["slug"] != "new-title" {
			t.Fatalf("update: %+v %v", r.Errors, r.Data)
		}
		if original != "old title" || commits.get("old title>New Title") != 1 {
			t.Fatalf("original %q, commits %v", original, commits.n)
		}
		if got := s.postsTitled(t, "New Title"); len(got) != 1 || got[0]["slug"] != "new-title" {
			t.Fatalf("stored %v", got)
		}
	})

	t.Run("delete hooks: a rejection keeps the record, cascades get after-commit hooks", func(t *testing.T) {
		bind(t, posts(&s.reg.RecordDelete), func(e *hook.RecordEvent) error {
			if e.Record.GetString("title") == "keep me" {
				return errors.New("this one stays")
			}
			return e.Next()
		})
		var deleted counter
		bind(t, hook.NewTagged(&s.reg.RecordAfterDeleteCommit), func(e *hook.RecordEvent) error {
			deleted.add(e.Collection.Name)
			return e.Next()
		})
		keep := s.createPost(t, "keep me", "")
		r := s.gql(t, "", `mutation($id: ID!) { deletePost(id: $id) { id } }`, map[string]any{"id": keep})
		if r.errCode() != "BAD_USER_INPUT" || r.Errors[0].Message != "this one stays" || len(s.postsTitled(t, "keep me")) != 1 {
			t.Fatalf("errors %+v, want BAD_USER_INPUT and the post kept", r.Errors)
		}
		if deleted.get("posts") != 0 {
			t.Fatal("after-commit delete ran for a refused delete")
		}
		gone := s.createPost(t, "with comments", "")
		for range 2 {
			mustGQL(t, s.base+"/graphql", "", `mutation($p: ID!) { createComment(input: {body: "hi", post: $p}) { id } }`, map[string]any{"p": gone})
		}
		mustGQL(t, s.base+"/graphql", "", `mutation($id: ID!) { deletePost(id: $id) { id } }`, map[string]any{"id": gone})
		if deleted.get("posts") != 1 || deleted.get("comments") != 2 {
			t.Fatalf("after-commit deletes %v, want 1 post and 2 comments", deleted.n)
		}
	})

	t.Run("tagged hooks run for their collection only", func(t *testing.T) {
		var n counter
		bind(t, hook.NewTagged(&s.reg.RecordCreate, "comments"), func(e *hook.RecordEvent) error {
			n.add(e.Collection.Name)
			return e.Next()
		})
		id := s.createPost(t, "tagged", "")
		mustGQL(t, s.base+"/graphql", "", `mutation($p: ID!) { createComment(input: {body: "hi", post: $p}) { id } }`, map[string]any{"p": id})
		if n.get("comments") != 1 || n.get("posts") != 0 {
			t.Fatalf("calls %v", n.n)
		}
	})

	t.Run("a panicking hook fails its request, naming it; the next works", func(t *testing.T) {
		h := posts(&s.reg.RecordCreate)
		id := h.Bind(&hook.Handler[*hook.RecordEvent]{ID: "explodes-on-boom", Func: func(e *hook.RecordEvent) error {
			if e.Record.GetString("title") == "boom" {
				panic("kaboom")
			}
			return e.Next()
		}})
		t.Cleanup(func() { h.Unbind(id) })
		r := s.gql(t, "", `mutation { createPost(input: {title: "boom"}) { id } }`, nil)
		if r.errCode() != "INTERNAL_SERVER_ERROR" || !strings.Contains(r.Errors[0].Message, "explodes-on-boom") {
			t.Fatalf("errors %+v, want INTERNAL_SERVER_ERROR naming the hook", r.Errors)
		}
		if len(s.postsTitled(t, "boom")) != 0 {
			t.Fatal("the post of the panicking hook was stored")
		}
		s.createPost(t, "after the panic", "")
	})
}

func TestHooksSignIn(t *testing.T) {
	s := newHookServer(t, nil)
	mustGQL(t, s.base+"/graphql", "", `mutation { createUser(input: {email: "bob@example.com", password: "bob-password-1", passwordConfirm: "bob-password-1"}) { id } }`, nil)
	users := func(h *hook.Hook[*hook.AuthEvent]) *hook.TaggedHook[*hook.AuthEvent] {
		return hook.NewTagged(h, "users")
	}
	var methods counter
	bind(t, users(&s.reg.RecordAuth), func(e *hook.AuthEvent) error {
		methods.add(e.Method)
		if e.Token != "" {
			t.Errorf("the before hook has a token")
		}
		if e.Record.GetString("email") == "bob@example.com" {
			return apperr.New(apperr.Forbidden, "bob is banned")
		}
		return e.Next()
	})
	var tokens []string
	bind(t, users(&s.reg.RecordAfterAuth), func(e *hook.AuthEvent) error {
		tokens = append(tokens, e.Token)
		return e.Next()
	})
	const signInOp = `mutation($e: String!, $p: String!) { userAuthWithPassword(identity: $e, password: $p) { token } }`
	r := s.gql(t, "", signInOp, map[string]any{"e": "bob@example.com", "p": "bob-password-1"})
	if r.errCode() != "FORBIDDEN" || r.Errors[0].Message != "bob is banned" || len(tokens) != 0 {
		t.Fatalf("bob: %+v, after hooks %v", r.Errors, tokens)
	}
	r = s.gql(t, "", signInOp, map[string]any{"e": "bob@example.com", "p": "wrong"})
	if r.errCode() != "BAD_USER_INPUT" || methods.get("password") != 1 {
		t.Fatalf("a wrong password: %+v; the before hook ran %d times (want 1: not for bad credentials)", r.Errors, methods.get("password"))
	}
	data := mustGQL(t, s.base+"/graphql", "", signInOp, map[string]any{"e": "ann@example.com", "p": "ann-password-1"})
	token := data["userAuthWithPassword"].(map[string]any)["token"].(string)
	if len(tokens) != 1 || tokens[0] != token {
		t.Fatalf("after hooks saw %v, want the issued token", tokens)
	}
	mustGQL(t, s.base+"/graphql", token, `mutation { userAuthRefresh { token } }`, nil)
	if methods.get("refresh") != 1 || len(tokens) != 2 {
		t.Fatalf("refresh: methods %v, after hooks %d", methods.n, len(tokens))
	}
}

func TestHooksServer(t *testing.T) {
	var serves, terminates counter
	var termErr error
	reg := &hook.Registry{}
	reg.Serve.BindFunc(func(e *hook.ServeEvent) error {
		serves.add("serve")
		e.Router.HandleFunc("GET /hello/{name}", func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, "hi "+r.PathValue("name"))
		})
		e.Router.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "home") })
		return e.Next()
	})
	reg.Request.BindFunc(func(e *hook.RequestEvent) error {
		switch e.Request.URL.Path {
		case "/teapot":
			e.Response.WriteHeader(http.StatusTeapot)
			return nil // answered here: not routed
		case "/refused":
			return apperr.New(apperr.Forbidden, "go away")
		case "/explode":
			panic("request boom")
		}
		return e.Next()
	})
	dir := t.TempDir()
	mustCLI(t, "--dir", dir, "superuser", "upsert", "admin@example.com", "admin-password")
	c := NewServeCommand(&syncBuffer{}, &syncBuffer{})
	c.Dir, c.HTTP, c.Hooks = dir, "127.0.0.1:0", reg
	c.RateLimits = &ratelimit.Settings{}
	c.Origins = []string{"https://app.example"}
	reg.Terminate.BindFunc(func(e *hook.TerminateEvent) error {
		terminates.add("terminate")
		// The database is still open.
		_, termErr = countSuperusers(e.Context, c.DB())
		return e.Next()
	})
	withTestDB(t, c)
	if err := c.Run(context.Background()); err != nil {
		t.Fatalf("serve: %v", err)
	}
	closed := false
	t.Cleanup(func() {
		if !closed {
			_ = c.Close()
		}
	})
	base := c.URL()
	get := func(t *testing.T, path string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", base+path, nil)
		req.Header.Set("Origin", "https://app.example")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		raw, _ := io.ReadAll(res.Body)
		return res, string(raw)
	}
	checkRoutes := func(t *testing.T) {
		res, body := get(t, "/hello/ann")
		if res.StatusCode != 200 || body != "hi ann" {
			t.Fatalf("GET /hello/ann: %d %q", res.StatusCode, body)
		}
		if got := res.Header.Get("Access-Control-Allow-Origin"); got != "https://app.example" {
			t.Fatalf("the app's route is not behind CORS: Access-Control-Allow-Origin %q", got)
		}
		pre, _ := http.NewRequest("OPTIONS", base+"/hello/ann", nil)
		pre.Header.Set("Origin", "https://app.example")
		pre.Header.Set("Access-Control-Request-Method", "GET")
		if res, err := http.DefaultClient.Do(pre); err != nil || res.StatusCode/100 != 2 || res.Header.Get("Access-Control-Allow-Origin") != "https://app.example" {
			t.Fatalf("preflight of the app's route: %v %+v", err, res)
		} else {
			res.Body.Close()
		}
		if res, body := get(t, "/"); res.StatusCode != 200 || body != "home" {
			t.Fatalf("GET /: %d %q (the app's GET /{$} wins over the dashboard redirect)", res.StatusCode, body)
		}
		if res, _ := get(t, "/graphql?query=%7B__typename%7D"); res.StatusCode != 200 {
			t.Fatalf("GET /graphql: %d", res.StatusCode)
		}
		if res, body := get(t, "/nope/nope"); res.StatusCode != 404 || !strings.Contains(body, "no route") {
			t.Fatalf("an unknown path: %d %q", res.StatusCode, body)
		}
	}
	t.Run("routes added by OnServe answer behind the middleware", checkRoutes)

	t.Run("request hooks answer, refuse or panic without routing", func(t *testing.T) {
		if res, _ := get(t, "/teapot"); res.StatusCode != http.StatusTeapot {
			t.Fatalf("/teapot: %d", res.StatusCode)
		}
		if res, body := get(t, "/refused"); res.StatusCode != 403 || !strings.Contains(body, "go away") || !strings.Contains(body, "FORBIDDEN") {
			t.Fatalf("/refused: %d %s", res.StatusCode, body)
		}
		res, body := get(t, "/explode")
		if res.StatusCode != 500 || !strings.Contains(body, "TestHooksServer.func") {
			t.Fatalf("/explode: %d %s, want 500 naming the hook", res.StatusCode, body)
		}
		if res, _ := get(t, "/hello/x"); res.StatusCode != 200 {
			t.Fatalf("after the panic: %d", res.StatusCode)
		}
	})

	t.Run("the app's routes survive a restore's rebuild", func(t *testing.T) {
		admin := signIn(t, base, "admin@example.com", "admin-password")
		mustGQL(t, base+"/graphql/admin", admin, `mutation { createBackup(name: "b.zip") { name } }`, nil)
		if data := mustGQL(t, base+"/graphql/admin", admin, `mutation { restoreBackup(name: "b.zip") }`, nil); data["restoreBackup"] != true {
			t.Fatalf("restore: %v", data)
		}
		checkRoutes(t)
		if serves.get("serve") != 1 {
			t.Fatalf("the serve hook ran %d times, want once", serves.get("serve"))
		}
	})

	t.Run("terminate runs on shutdown with the database open", func(t *testing.T) {
		closed = true
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
		if terminates.get("terminate") != 1 || termErr != nil {
			t.Fatalf("terminate ran %d times, its query: %v", terminates.get("terminate"), termErr)
		}
	})
}

func TestHooksServeErrorStopsTheStart(t *testing.T) {
	dir := t.TempDir()
	reg := &hook.Registry{}
	reg.Serve.BindFunc(func(e *hook.ServeEvent) error { return errors.New("no routes today") })
	c := NewServeCommand(&syncBuffer{}, &syncBuffer{})
	c.Dir, c.HTTP, c.Hooks = dir, "127.0.0.1:0", reg
	withTestDB(t, c)
	err := c.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "no routes today") {
		t.Fatalf("Run: %v, want the serve hook's error", err)
	}
	// Everything was closed again: the same data folder starts.
	startServer(t, dir)
}

// TestMainPassesHooks checks that an app's hooks (Main.Ext, as the root
// package sets it) reach the served engine.
func TestMainPassesHooks(t *testing.T) {
	dir := t.TempDir()
	reg := &hook.Registry{}
	var created counter
	reg.RecordAfterCreateCommit.BindFunc(func(e *hook.RecordEvent) error {
		created.add(e.Collection.Name)
		return e.Next()
	})
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan *ServeCommand, 1)
	m := &Main{Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: io.Discard, Getenv: testEnv(t, dir, nil),
		Ext: &Extensions{Hooks: reg}, Started: func(c *ServeCommand) { started <- c }}
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx, []string{"serve", "--dir", dir, "--http", "127.0.0.1:0"}) }()
	var c *ServeCommand
	select {
	case c = <-started:
	case err := <-done:
		t.Fatalf("serve: %v", err)
	}
	mustGQL(t, c.URL()+"/graphql", "", `mutation { createUser(input: {email: "x@example.com", password: "x-password-1", passwordConfirm: "x-password-1"}) { id } }`, nil)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if created.get("users") != 1 {
		t.Fatalf("after-commit calls %v", created.n)
	}
}
