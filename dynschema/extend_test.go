package dynschema

import (
	"context"
	"errors"
	"fmt"
	"github.com/monobase/monobase/internal/dbtest"
	"strings"
	"testing"
	"time"

	"github.com/monobase/monobase/apperr"
	"github.com/monobase/monobase/auth"
	"github.com/monobase/monobase/db"
	"github.com/monobase/monobase/subscriptions"
)

// extSDL is the app schema of the tests: a query of each kind of result,
// a mutation with an input and subscriptions.
const extSDL = `
extend type Query {
  hello(name: String!): String!
  stats(filter: StatsFilter = {min: 1}): Stats!
  kinds: [Kind!]!
  whoami: String
  failPlain: String
  failCoded: String
  boom: String
  nullInNonNull: String!
  wrongType: Int
  featured: Post
  search(q: SearchInput!): [SearchHit!]!
}
extend type Mutation {
  addTodo(input: TodoInput!): Todo!
  failTodo: Todo
}
extend type Subscription {
  ticks(n: Int!): Tick!
  forever: Int!
}
"""What the blog has."""
type Stats { posts: Int! latest: String kind: Kind! seen: String }
enum Kind { SMALL BIG }
input StatsFilter { min: Int = 0 kinds: [Kind!] }
type Todo { id: ID! title: String! done: Boolean! }
input TodoInput { title: String! done: Boolean = false tags: [String!] }
type Tick { n: Int! at: DateTime }
input SearchInput { text: String! limit: Int = 2 }
union SearchHit = Todo | Tick
`

// statsResult is a struct result: only the selected fields are written.
type statsResult struct {
	Posts  int     `json:"posts"`
	Latest *string `json:"latest"`
	Kind   string  `json:"kind"`
	Seen   string  `json:"seen"`
}

// extEnv is a server with the blog collections and the test extension;
// stopped receives the error of forever's context when it ends.
func extEnv(t *testing.T) (*env, chan error) {
	t.Helper()
	stopped := make(chan error, 1)
	var featured string
	r := map[string]Resolver{
		"Query.hello": func(ctx context.Context, args map[string]any) (any, error) {
			return "hi " + args["name"].(string), nil
		},
		"Query.stats": func(ctx context.Context, args map[string]any) (any, error) {
			f := args["filter"].(map[string]any)
			latest := "Go"
			return &statsResult{Posts: 3, Latest: &latest, Kind: "BIG", Seen: fmt.Sprintf("%T %v %T %v", f["min"], f["min"], f["kinds"], f["kinds"])}, nil
		},
		"Query.kinds": func(ctx context.Context, args map[string]any) (any, error) {
			return []string{"SMALL", "BIG"}, nil
		},
		"Query.whoami": func(ctx context.Context, args map[string]any) (any, error) {
			v := auth.ViewerFrom(ctx)
			if v == nil {
				return nil, nil
			}
			return v.Record["email"], nil
		},
		"Query.failPlain": func(ctx context.Context, args map[string]any) (any, error) {
			return nil, errors.New("the name is taken")
		},
		"Query.failCoded": func(ctx context.Context, args map[string]any) (any, error) {
			return nil, apperr.New(apperr.Forbidden, "staff only")
		},
		"Query.boom": func(ctx context.Context, args map[string]any) (any, error) {
			var m map[string]int
			m["x"] = 1 // panics
			return nil, nil
		},
		"Query.nullInNonNull": func(ctx context.Context, args map[string]any) (any, error) { return nil, nil },
		"Query.wrongType":     func(ctx context.Context, args map[string]any) (any, error) { return "seven", nil },
		"Query.featured": func(ctx context.Context, args map[string]any) (any, error) {
			return featured, nil
		},
		"Query.search": func(ctx context.Context, args map[string]any) (any, error) {
			q := args["q"].(map[string]any)
			return []any{
				map[string]any{"__typename": "Todo", "id": "t1", "title": q["text"], "done": true},
				map[string]any{"__typename": "Tick", "n": q["limit"]},
			}, nil
		},
		"Mutation.addTodo": func(ctx context.Context, args map[string]any) (any, error) {
			in := args["input"].(map[string]any)
			return map[string]any{"id": 7, "title": in["title"], "done": in["done"]}, nil
		},
		"Mutation.failTodo": func(ctx context.Context, args map[string]any) (any, error) {
			return nil, errors.New("todo list full")
		},
		"Subscription.ticks": func(ctx context.Context, args map[string]any) (any, error) {
			n := args["n"].(int)
			ch := make(chan Tick)
			go func() {
				defer close(ch)
				for i := 1; i <= n; i++ {
					select {
					case ch <- Tick{N: i, At: time.Date(2024, 5, 1, 12, 0, i, 0, time.UTC)}:
					case <-ctx.Done():
						return
					}
				}
			}()
			return (<-chan Tick)(ch), nil
		},
		"Subscription.forever": func(ctx context.Context, args map[string]any) (any, error) {
			ch := make(chan any)
			go func() {
				for i := 0; ; i++ {
					select {
					case ch <- i:
					case <-ctx.Done():
						stopped <- ctx.Err()
						return
					}
				}
			}()
			return ch, nil
		},
	}
	en := newConfigEnv(t, subscriptions.Options{}, func(c *Config) {
		// The extension refers to Post: the collection exists before the
		// engine is built.
		_, err := c.DB.CreateCollection(context.Background(), &db.Collection{Name: "posts", Type: db.TypeBase,
			ListRule: sp(""), ViewRule: sp("title != 'secret'"), CreateRule: sp(""),
			Fields: []*db.Field{{Name: "title", Type: db.FieldText}}})
		if err != nil {
			t.Fatal(err)
		}
		c.Schema = []Extension{{SDL: extSDL, Resolvers: r}}
	})
	featured = en.insert("posts", db.RecordInput{"title": "Hello"}).ID()
	return en, stopped
}

// Tick is a subscription event: a struct read through its json tags.
type Tick struct {
	N  int       `json:"n"`
	At time.Time `json:"at"`
}

func TestExtendQuery(t *testing.T) {
	en, _ := extEnv(t)
	t.Run("scalar result, literal and variable arguments", func(t *testing.T) {
		r := en.gql("", `query($n: String!) { a: hello(name: "Ann") b: hello(name: $n) __typename }`, map[string]any{"n": "Bob"}).ok(t)
		jsonEq(t, r.Data, `{"a":"hi Ann","b":"hi Bob","__typename":"Query"}`)
	})
	t.Run("object result: only the selected fields, defaults coerced", func(t *testing.T) {
		r := en.gql("", `{ stats { __typename posts kind seen } }`, nil).ok(t)
		jsonEq(t, r.Data, `{"stats":{"__typename":"Stats","posts":3,"kind":"BIG","seen":"int 1 <nil> <nil>"}}`)
		r = en.gql("", `query($k: [Kind!]) { stats(filter: {min: 5, kinds: $k}) { seen latest } }`, map[string]any{"k": []string{"BIG"}}).ok(t)
		jsonEq(t, r.Data, `{"stats":{"seen":"int 5 []interface {} [BIG]","latest":"Go"}}`)
	})
	t.Run("list of enums", func(t *testing.T) {
		jsonEq(t, en.gql("", `{ kinds }`, nil).ok(t).Data, `{"kinds":["SMALL","BIG"]}`)
	})
	t.Run("union result resolved by __typename, input defaults", func(t *testing.T) {
		r := en.gql("", `{ search(q: {text: "go"}) { __typename ... on Todo { title done } ... on Tick { n } } }`, nil).ok(t)
		jsonEq(t, r.Data, `{"search":[{"__typename":"Todo","title":"go","done":true},{"__typename":"Tick","n":2}]}`)
	})
	t.Run("the resolver sees the viewer", func(t *testing.T) {
		jsonEq(t, en.gql("", `{ whoami }`, nil).ok(t).Data, `{"whoami":null}`)
		_, tok := en.user("ann@example.com")
		jsonEq(t, en.gql(tok, `{ whoami }`, nil).ok(t).Data, `{"whoami":"ann@example.com"}`)
	})
	t.Run("a collection's type is read with the view rule", func(t *testing.T) {
		jsonEq(t, en.gql("", `{ featured { title } }`, nil).ok(t).Data, `{"featured":{"title":"Hello"}}`)
	})
	t.Run("errors: plain, coded, panic, null, wrong type", func(t *testing.T) {
		cases := []struct{ field, code, msg string }{
			{"failPlain", "BAD_USER_INPUT", "the name is taken"},
			{"failCoded", "FORBIDDEN", "staff only"},
			{"boom", "INTERNAL_SERVER_ERROR", "internal server error"},
			{"wrongType", "INTERNAL_SERVER_ERROR", "internal server error"},
		}
		for _, c := range cases {
			r := en.gql("", `{ `+c.field+` hello(name: "x") }`, nil)
			if r.code() != c.code || r.Errors[0].Message != c.msg || fmt.Sprint(r.Errors[0].Path) != "["+c.field+"]" {
				t.Fatalf("%s: got %s, want %s %q at its path", c.field, r, c.code, c.msg)
			}
			jsonEq(t, r.Data, `{"`+c.field+`":null,"hello":"hi x"}`)
		}
		r := en.gql("", `{ nullInNonNull hello(name: "x") }`, nil)
		if len(r.Errors) != 1 || string(r.Data) != "null" {
			t.Fatalf("null in a non-null root field: got %s, want data null and one error", r)
		}
	})
}

func TestExtendRecordRule(t *testing.T) {
	en, _ := extEnv(t)
	posts, _ := en.d.Collection("posts")
	tx, err := en.d.Begin(en.ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The featured post becomes one the view rule hides.
	id := en.gql("", `{ featured { id } }`, nil).ok(t)
	var got struct{ Featured struct{ ID string } }
	id.decode(t, &got)
	if _, err := tx.Update(posts, got.Featured.ID, db.RecordPatch{Set: db.RecordInput{"title": "secret"}}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	r := en.gql("", `{ featured { title } }`, nil)
	if r.code() != "NOT_FOUND" {
		t.Fatalf("got %s, want NOT_FOUND", r)
	}
	jsonEq(t, en.gql(en.superuser(), `{ featured { title } }`, nil).ok(t).Data, `{"featured":{"title":"secret"}}`)
}

func TestExtendMutation(t *testing.T) {
	en, _ := extEnv(t)
	r := en.gql("", `mutation($in: TodoInput!) { addTodo(input: $in) { id title done __typename } }`,
		map[string]any{"in": map[string]any{"title": "write docs"}}).ok(t)
	jsonEq(t, r.Data, `{"addTodo":{"id":"7","title":"write docs","done":false,"__typename":"Todo"}}`)
	// A custom mutation's error rolls back the generated writes of the
	// operation, as any root field's does.
	r = en.gql("", `mutation { createPost(input: {title: "kept?"}) { id } failTodo { id } }`, nil)
	if r.code() != "BAD_USER_INPUT" || r.Errors[0].Message != "todo list full" {
		t.Fatalf("got %s, want BAD_USER_INPUT todo list full", r)
	}
	jsonEq(t, en.gql("", `{ postsAggregate { count } }`, nil).ok(t).Data, `{"postsAggregate":{"count":1}}`)
}

func TestExtendIntrospectionAndSDL(t *testing.T) {
	en, _ := extEnv(t)
	r := en.gql("", `{ __type(name: "Stats") { kind description fields { name type { kind name ofType { name } } } }
	  q: __schema { queryType { fields { name args { name type { kind ofType { name } } } } } subscriptionType { fields { name } } } }`, nil).ok(t)
	var got struct {
		Type struct {
			Kind, Description string
			Fields            []struct{ Name string }
		} `json:"__type"`
		Q struct {
			QueryType struct {
				Fields []struct {
					Name string
					Args []struct{ Name string }
				}
			}
			SubscriptionType struct{ Fields []struct{ Name string } }
		}
	}
	r.decode(t, &got)
	if got.Type.Kind != "OBJECT" || got.Type.Description != "What the blog has." || len(got.Type.Fields) != 4 {
		t.Fatalf("Stats: got %+v", got.Type)
	}
	names := map[string]bool{}
	for _, f := range got.Q.QueryType.Fields {
		names[f.Name] = true
		if f.Name == "hello" && (len(f.Args) != 1 || f.Args[0].Name != "name") {
			t.Fatalf("hello's args: %+v", f.Args)
		}
	}
	for _, n := range []string{"hello", "stats", "featured", "posts", "post", "me"} {
		if !names[n] {
			t.Fatalf("Query has no %s beside the generated fields: %v", n, names)
		}
	}
	subs := fmt.Sprint(got.Q.SubscriptionType.Fields)
	if !strings.Contains(subs, "ticks") || !strings.Contains(subs, "postChanged") {
		t.Fatalf("Subscription fields: %s", subs)
	}
	sdl := en.e.SDL()
	for _, want := range []string{"hello(name: String!): String!", "type Stats {", "createPost(input: PostCreateInput!): Post!"} {
		if !strings.Contains(sdl, want) {
			t.Fatalf("SDL lacks %q:\n%s", want, sdl)
		}
	}
}

// TestExtendSurvivesRebuild: a collection created at runtime rebuilds the
// schema; the custom fields stay, and a collection whose names clash with
// them is refused with BAD_USER_INPUT naming the clash.
func TestExtendSurvivesRebuild(t *testing.T) {
	en, _ := extEnv(t)
	en.create(&db.Collection{Name: "notes", Type: db.TypeBase, Fields: []*db.Field{{Name: "text", Type: db.FieldText}}})
	r := en.gql("", `{ hello(name: "again") notes { id } }`, nil).ok(t)
	jsonEq(t, r.Data, `{"hello":"hi again","notes":[]}`)
	if !strings.Contains(en.e.SDL(), "hello(name: String!)") || !strings.Contains(en.e.SDL(), "type Note implements Record") {
		t.Fatal("the SDL after the rebuild lacks the custom or the new fields")
	}
	for _, c := range []struct{ name, want string }{
		{"hellos", "the field Query.hello of the Go schema extension clashes with a field of collection hellos"},
		{"todos", "the type Todo of the Go schema extension clashes with the type of collection todos"},
	} {
		_, err := en.d.CreateCollection(en.ctx, &db.Collection{Name: c.name, Type: db.TypeBase, Fields: []*db.Field{{Name: "x", Type: db.FieldText}}})
		if !apperr.Is(err, apperr.Invalid) || !strings.Contains(err.Error(), c.want) {
			t.Fatalf("create %s: got %v, want BAD_USER_INPUT with %q", c.name, err, c.want)
		}
	}
	// A refused change changed nothing.
	jsonEq(t, en.gql("", `{ hello(name: "still") }`, nil).ok(t).Data, `{"hello":"hi still"}`)
	if _, err := en.d.Collection("hellos"); err == nil {
		t.Fatal("the refused collection exists")
	}
	// Deleting a collection the extension refers to is refused too.
	if err := en.d.DeleteCollection(en.ctx, "posts"); !apperr.Is(err, apperr.Invalid) {
		t.Fatalf("delete posts: got %v, want BAD_USER_INPUT (Post is used by the extension)", err)
	}
}

func TestExtendSubscription(t *testing.T) {
	en, stopped := extEnv(t)
	for _, proto := range []string{protoTransportWS, protoLegacyWS} {
		t.Run(proto, func(t *testing.T) {
			c := en.connect(proto, nil)
			c.subscribe("t", `subscription { ticks(n: 3) { n at __typename } }`, nil)
			for i := 1; i <= 3; i++ {
				ev := c.next("t")
				want := fmt.Sprintf(`{"ticks":{"n":%d,"at":"2024-05-01T12:00:%02d.000Z","__typename":"Tick"}}`, i, i)
				got, _ := jsonMarshal(ev.Data)
				if ev.Type != "next" || len(ev.Errors) > 0 {
					t.Fatalf("event %d: %s", i, ev.raw)
				}
				jsonEq(t, got, want)
			}
			if ev := c.next("t"); ev.Type != "complete" {
				t.Fatalf("after the channel closed: got %s %s, want complete", ev.Type, ev.raw)
			}
		})
	}
	t.Run("the client stops: the resolver's context ends", func(t *testing.T) {
		c := en.connect(protoTransportWS, nil)
		c.subscribe("f", `subscription { forever }`, nil)
		for range 3 {
			if ev := c.next("f"); ev.Type != "next" {
				t.Fatalf("got %s", ev.raw)
			}
		}
		c.stop("f")
		select {
		case err := <-stopped:
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("ctx ended with %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("the resolver's context did not end after the client stopped")
		}
	})
}

func TestExtendChecks(t *testing.T) {
	hello := func(context.Context, map[string]any) (any, error) { return "hi", nil }
	cases := []struct {
		name string
		ext  Extension
		want string
	}{
		{"no resolver", Extension{SDL: `extend type Query { a: Int b: Int }`, Resolvers: map[string]Resolver{"Query.a": hello}}, "Query.b has no resolver"},
		{"resolver without field", Extension{SDL: `extend type Query { a: Int }`, Resolvers: map[string]Resolver{"Query.a": hello, "Query.z": hello}}, "the resolver Query.z has no field"},
		{"not a root type", Extension{SDL: `extend type Post { a: Int }`}, "only Query, Mutation and Subscription"},
		{"a root type defined", Extension{SDL: `type Query { a: Int }`}, "add fields with extend type Query"},
		{"bad SDL", Extension{SDL: `extend type Query { a: }`}, "schema extension 0"},
		{"unknown type", Extension{SDL: `extend type Query { a: Nope }`, Resolvers: map[string]Resolver{"Query.a": hello}}, "Nope"},
		{"clash with a built-in field", Extension{SDL: `extend type Query { me: Int }`, Resolvers: map[string]Resolver{"Query.me": hello}}, "clashes with a built-in field"},
		{"clash with a built-in type", Extension{SDL: `extend type Query { a: PageInfo } type PageInfo { x: Int }`, Resolvers: map[string]Resolver{"Query.a": hello}}, "clashes with the built-in type PageInfo"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d, err := dbtest.Open(t, context.Background(), t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			_, err = New(context.Background(), Config{DB: d, Schema: []Extension{c.ext}})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error with %q", err, c.want)
			}
		})
	}
	t.Run("a clash with a collection at start", func(t *testing.T) {
		d, err := dbtest.Open(t, context.Background(), t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		if _, err := d.CreateCollection(context.Background(), &db.Collection{Name: "posts", Type: db.TypeBase}); err != nil {
			t.Fatal(err)
		}
		ext := Extension{SDL: `extend type Mutation { createPost: Int }`, Resolvers: map[string]Resolver{"Mutation.createPost": hello}}
		_, err = New(context.Background(), Config{DB: d, Schema: []Extension{ext}})
		if !apperr.Is(err, apperr.Invalid) || !strings.Contains(err.Error(), "Mutation.createPost of the Go schema extension clashes with a field of collection posts") {
			t.Fatalf("got %v", err)
		}
		if err := Validate(d.Collections(), ext); err == nil {
			t.Fatal("Validate with the extension accepted the clash")
		}
	})
}

func TestExtendQueryCost(t *testing.T) {
	en := newConfigEnv(t, subscriptions.Options{}, func(c *Config) {
		c.Limits.Query.MaxComplexity = 3
		c.Schema = []Extension{{SDL: `extend type Query { n: Int }`, Resolvers: map[string]Resolver{
			"Query.n": func(context.Context, map[string]any) (any, error) { return 1, nil },
		}}}
	})
	en.gql("", `{ a: n b: n c: n }`, nil).ok(t)
	if r := en.gql("", `{ a: n b: n c: n d: n }`, nil); len(r.Errors) == 0 || r.Data != nil && string(r.Data) != "null" {
		t.Fatalf("over the complexity limit: got %s, want refused", r)
	}
}

func TestAsObject(t *testing.T) {
	type Base struct {
		ID    string `json:"id"`
		Title string `json:"title"`
	}
	type post struct {
		Base
		Title  string `json:"title"` // the outer field wins
		Secret string `json:"-"`
		Plain  int
		hidden int
	}
	got, err := asObject(&post{Base: Base{ID: "p1", Title: "inner"}, Title: "outer", Secret: "s", Plain: 2, hidden: 3})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"id": "p1", "title": "outer", "Plain": 2}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if _, err := asObject(42); err == nil {
		t.Fatal("a number is not an object")
	}
}
