package db

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/monobase/monobase/apperr"
)

// everyType is a collection with one field of every type.
func everyType(name, relTarget string) *Collection {
	return &Collection{
		Name: name, Type: TypeBase,
		Fields: []*Field{
			{Name: "title", Type: FieldText, Required: true, Min: fptr(2), Max: fptr(50), Pattern: `^[A-Za-z ]+$`},
			{Name: "body", Type: FieldEditor, MaxSize: 1000},
			{Name: "views", Type: FieldNumber, Min: fptr(0), OnlyInt: true},
			{Name: "score", Type: FieldNumber},
			{Name: "published", Type: FieldBool},
			{Name: "contact", Type: FieldEmail, ExceptDomains: []string{"spam.com"}},
			{Name: "homepage", Type: FieldURL},
			{Name: "due", Type: FieldDate},
			{Name: "touched", Type: FieldAutodate, OnUpdate: true},
			{Name: "status", Type: FieldSelect, Values: []string{"draft", "live"}},
			{Name: "tags", Type: FieldSelect, Values: []string{"a", "b", "c"}, MaxSelect: 2},
			{Name: "cover", Type: FieldFile},
			{Name: "gallery", Type: FieldFile, MaxSelect: 5},
			{Name: "owner", Type: FieldRelation, Collection: relTarget},
			{Name: "editors", Type: FieldRelation, Collection: relTarget, MaxSelect: 10},
			{Name: "meta", Type: FieldJSON},
			{Name: "place", Type: FieldGeoPoint},
			{Name: "secret", Type: FieldPassword, Min: fptr(4)},
		},
		ListRule: sptr(""),
	}
}

func TestCollectionWithEveryFieldType(t *testing.T) {
	ctx := context.Background()
	d := openTest(t)
	users, _ := d.Collection("users")
	u := mustInsert(t, d, users, RecordInput{"email": "a@example.com", "password": "password1", "passwordConfirm": "password1"})
	c := mustCreate(t, d, everyType("things", "users"))

	t.Run("relation targets given by name are stored as ids", func(t *testing.T) {
		if got := c.FieldByName("owner").Collection; got != users.ID {
			t.Fatalf("owner.collection = %q, want %q", got, users.ID)
		}
	})
	t.Run("every field is a column of the right type", func(t *testing.T) {
		got := columnTypes(t, d, "things")
		want := map[string]string{"id": "TEXT", "created": "TEXT", "updated": "TEXT", "views": "REAL", "published": "INTEGER", "tags": "TEXT", "meta": "TEXT"}
		if d.Engine() == EnginePostgres {
			want = map[string]string{"id": "text", "created": "text", "updated": "text", "views": "double precision", "published": "bigint", "tags": "text", "meta": "text"}
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("column %s: %q, want %q", k, got[k], v)
			}
		}
		if len(got) != len(c.Fields) {
			t.Errorf("%d columns for %d fields", len(got), len(c.Fields))
		}
	})

	in := RecordInput{
		"title": "Hello World", "body": "<p>hi</p>", "views": int64(3), "score": 1.5,
		"published": true, "contact": "me@example.com", "homepage": "https://example.com/x",
		"due": "2024-05-06 07:08:09.000Z", "status": "live", "tags": []any{"b", "a", "b"},
		"cover": "c.png", "gallery": []string{"1.png", "2.png"}, "owner": u.ID(),
		"editors": []any{u.ID()}, "meta": map[string]any{"k": []any{1.0, "x"}},
		"place": map[string]any{"lon": 13.4, "lat": 52.5}, "secret": "hunter2",
	}
	rec := mustInsert(t, d, c, in)
	empty := mustInsert(t, d, c, RecordInput{"title": "Empty"})

	t.Run("insert returns canonical values and find decodes the same", func(t *testing.T) {
		want := Record{
			"title": "Hello World", "body": "<p>hi</p>", "views": 3.0, "score": 1.5, "published": true,
			"contact": "me@example.com", "homepage": "https://example.com/x", "due": "2024-05-06T07:08:09.000Z",
			"status": "live", "tags": []string{"b", "a"}, "cover": "c.png", "gallery": []string{"1.png", "2.png"},
			"owner": u.ID(), "editors": []string{u.ID()}, "meta": map[string]any{"k": []any{1.0, "x"}},
			"place": GeoPoint{Lon: 13.4, Lat: 52.5},
		}
		found, err := d.FindByIDs(ctx, c, []string{rec.ID()})
		if err != nil || len(found) != 1 {
			t.Fatalf("find: %v %v", found, err)
		}
		for _, r := range []Record{rec, found[0]} {
			for k, v := range want {
				if !reflect.DeepEqual(r[k], v) {
					t.Errorf("%s = %#v, want %#v", k, r[k], v)
				}
			}
			if len(r.ID()) != 15 || r["created"] == nil || r["touched"] != nil {
				t.Errorf("id/created not filled or the onUpdate-only autodate set: %v", r)
			}
			if h, _ := r["secret"].(string); !strings.HasPrefix(h, "$2") {
				t.Errorf("password not hashed: %q", h)
			}
		}
		if !reflect.DeepEqual(rec, found[0]) {
			t.Errorf("insert result and find differ:\n%#v\n%#v", rec, found[0])
		}
	})
	t.Run("unset fields read as null and lists as empty", func(t *testing.T) {
		found, _ := d.FindByIDs(ctx, c, []string{empty.ID()})
		r := found[0]
		for _, k := range []string{"body", "views", "published", "contact", "due", "status", "cover", "owner", "meta", "place", "secret"} {
			if r[k] != nil {
				t.Errorf("%s = %#v, want nil", k, r[k])
			}
		}
		for _, k := range []string{"tags", "gallery", "editors"} {
			if l, ok := r[k].([]string); !ok || l == nil || len(l) != 0 {
				t.Errorf("%s = %#v, want []string{}", k, r[k])
			}
		}
	})
	t.Run("the registry describes every type", func(t *testing.T) {
		if len(FieldTypes()) != 14 {
			t.Fatalf("%d types", len(FieldTypes()))
		}
		if s := FieldTypeInfo(FieldRelation); s == nil || !s.CanBeMultiple || s.Column != "TEXT" {
			t.Fatalf("relation spec %+v", s)
		}
		if FieldTypeInfo("NOPE") != nil {
			t.Fatal("unknown type has a spec")
		}
	})
}

func TestUpdateCollection(t *testing.T) {
	ctx := context.Background()
	d := openTest(t)
	c := mustCreate(t, d, &Collection{Name: "posts", Fields: []*Field{
		{Name: "title", Type: FieldText},
		{Name: "views", Type: FieldNumber},
		{Name: "tag", Type: FieldSelect, Values: []string{"a", "b"}},
	}, Indexes: []string{`CREATE INDEX idx_posts_title ON posts (title)`}})
	rec := mustInsert(t, d, c, RecordInput{"title": "one", "views": 7, "tag": "a"})

	edit := func(c *Collection, fn func(n *Collection)) *Collection {
		n := cloneCollection(c)
		fn(n)
		return n
	}

	t.Run("renaming the collection and a field keeps the data", func(t *testing.T) {
		n := edit(c, func(n *Collection) {
			n.Name = "articles"
			n.FieldByName("title").Name = "headline"
		})
		got, err := d.UpdateCollection(ctx, "posts", n)
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != c.ID || got.Name != "articles" {
			t.Fatalf("got %s %s", got.ID, got.Name)
		}
		if !strings.Contains(got.Indexes[0], `ON "articles"`) {
			t.Errorf("index not rewritten: %s", got.Indexes[0])
		}
		if _, err := d.Collection("posts"); !apperr.Is(err, apperr.NotFound) {
			t.Errorf("old name still resolves: %v", err)
		}
		recs := findAll(t, d, got)
		if len(recs) != 1 || recs[0]["headline"] != "one" || recs[0]["views"] != 7.0 || recs[0].ID() != rec.ID() {
			t.Fatalf("records after rename: %v", recs)
		}
		c = got
	})

	t.Run("fields are added and dropped", func(t *testing.T) {
		n := edit(c, func(n *Collection) {
			n.Fields = []*Field{n.FieldByName("headline"), n.FieldByName("tag"), {Name: "summary", Type: FieldText}, {Name: "labels", Type: FieldSelect, Values: []string{"x"}, MaxSelect: 3}}
		})
		got, err := d.UpdateCollection(ctx, c.ID, n)
		if err != nil {
			t.Fatal(err)
		}
		if got.FieldByName("views") != nil || got.FieldByName("summary") == nil || got.FieldByName("id") == nil || got.FieldByName("created") == nil {
			t.Fatalf("fields: %v", names(got))
		}
		recs := findAll(t, d, got)
		if _, ok := recs[0]["views"]; ok || recs[0]["summary"] != nil || len(recs[0]["labels"].([]string)) != 0 || recs[0]["headline"] != "one" {
			t.Fatalf("record: %v", recs[0])
		}
		c = got
	})

	t.Run("a single select becomes multiple and keeps its value", func(t *testing.T) {
		n := edit(c, func(n *Collection) { n.FieldByName("tag").MaxSelect = 2 })
		got, err := d.UpdateCollection(ctx, c.ID, n)
		if err != nil {
			t.Fatal(err)
		}
		recs := findAll(t, d, got)
		if !reflect.DeepEqual(recs[0]["tag"], []string{"a"}) {
			t.Fatalf("tag = %#v", recs[0]["tag"])
		}
		c = got
	})

	t.Run("swapping two field names works", func(t *testing.T) {
		n := edit(c, func(n *Collection) {
			n.FieldByName("headline").Name = "tmp"
			n.FieldByName("summary").Name = "headline"
			n.FieldByName("tmp").Name = "summary"
		})
		got, err := d.UpdateCollection(ctx, c.ID, n)
		if err != nil {
			t.Fatal(err)
		}
		recs := findAll(t, d, got)
		if recs[0]["summary"] != "one" || recs[0]["headline"] != nil {
			t.Fatalf("record: %v", recs[0])
		}
		c = got
	})

	t.Run("an incompatible type change is refused and nothing changes", func(t *testing.T) {
		before := schemaState(t, d)
		n := edit(c, func(n *Collection) { n.FieldByName("summary").Type = FieldNumber })
		_, err := d.UpdateCollection(ctx, c.ID, n)
		fe := fieldErrs(t, err)
		if _, ok := fe["fields.1.type"]; !ok {
			t.Fatalf("fields: %v", fe)
		}
		if after := schemaState(t, d); after != before {
			t.Fatalf("schema changed:\n%s\n---\n%s", before, after)
		}
	})

	t.Run("a compatible type change is allowed", func(t *testing.T) {
		n := edit(c, func(n *Collection) { n.FieldByName("summary").Type = FieldEditor })
		if _, err := d.UpdateCollection(ctx, c.ID, n); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("a failing index rolls back the renames before it", func(t *testing.T) {
		c, _ = d.Collection(c.ID)
		before := schemaState(t, d)
		n := edit(c, func(n *Collection) {
			n.Name = "renamed"
			n.FieldByName("summary").Name = "sum"
			n.Indexes = []string{`CREATE INDEX idx_bad ON renamed (nope)`}
		})
		fe := fieldErrs(t, func() error { _, err := d.UpdateCollection(ctx, c.ID, n); return err }())
		if _, ok := fe["indexes.0"]; !ok {
			t.Fatalf("fields: %v", fe)
		}
		if after := schemaState(t, d); after != before {
			t.Fatalf("schema changed:\n%s\n---\n%s", before, after)
		}
		if recs := findAll(t, d, c); recs[0]["summary"] != "one" {
			t.Fatalf("data changed: %v", recs[0])
		}
	})
}

func names(c *Collection) []string {
	var out []string
	for _, f := range c.Fields {
		out = append(out, f.Name)
	}
	return out
}

func TestInvalidDefinitionsChangeNothing(t *testing.T) {
	ctx := context.Background()
	d := openTest(t)
	mustCreate(t, d, &Collection{Name: "posts", Fields: []*Field{{Name: "title", Type: FieldText}}})
	su, _ := d.Collection(SuperusersCollection)

	cases := []struct {
		name string
		def  *Collection
		key  string
	}{
		{"bad collection name", &Collection{Name: "Posts2"}, "name"},
		{"leading underscore is reserved", &Collection{Name: "_mine"}, "name"},
		{"duplicate collection name", &Collection{Name: "posts"}, "name"},
		{"unknown collection type", &Collection{Name: "x", Type: "TABLE"}, "type"},
		{"bad field name", &Collection{Name: "x", Fields: []*Field{{Name: "1abc", Type: FieldText}}}, "fields.0.name"},
		{"field names clash case-insensitively", &Collection{Name: "x", Fields: []*Field{{Name: "title", Type: FieldText}, {Name: "Title", Type: FieldText}}}, "fields.1.name"},
		{"field clashes with a system field", &Collection{Name: "x", Fields: []*Field{{Name: "Created", Type: FieldText}}}, "fields.0.name"},
		{"auth field clashes with email", &Collection{Name: "x", Type: TypeAuth, Fields: []*Field{{Name: "Email", Type: FieldText}}}, "fields.0.name"},
		{"reserved field name", &Collection{Name: "x", Fields: []*Field{{Name: "passwordConfirm", Type: FieldText}}}, "fields.0.name"},
		{"unknown field type", &Collection{Name: "x", Fields: []*Field{{Name: "a", Type: "BLOB"}}}, "fields.0.type"},
		{"select without values", &Collection{Name: "x", Fields: []*Field{{Name: "a", Type: FieldSelect}}}, "fields.0.values"},
		{"negative maxSelect", &Collection{Name: "x", Fields: []*Field{{Name: "a", Type: FieldSelect, Values: []string{"v"}, MaxSelect: -1}}}, "fields.0.maxSelect"},
		{"min above max", &Collection{Name: "x", Fields: []*Field{{Name: "a", Type: FieldNumber, Min: fptr(5), Max: fptr(1)}}}, "fields.0.min"},
		{"pattern does not compile", &Collection{Name: "x", Fields: []*Field{{Name: "a", Type: FieldText, Pattern: "("}}}, "fields.0.pattern"},
		{"relation without target", &Collection{Name: "x", Fields: []*Field{{Name: "a", Type: FieldRelation}}}, "fields.0.collection"},
		{"relation to a missing collection", &Collection{Name: "x", Fields: []*Field{{Name: "a", Type: FieldRelation, Collection: "nope"}}}, "fields.3.collection"},
		{"relation to a system collection", &Collection{Name: "x", Fields: []*Field{{Name: "a", Type: FieldRelation, Collection: su.ID}}}, "fields.0.collection"},
		{"autodate that never fires", &Collection{Name: "x", Fields: []*Field{{Name: "a", Type: FieldAutodate}}}, "fields.0.onCreate"},
		{"derived name clash", &Collection{Name: "x", Fields: []*Field{{Name: "author", Type: FieldRelation, Collection: "posts"}, {Name: "authorId", Type: FieldText}}}, "fields.0.name"},
		{"index on another table", &Collection{Name: "x", Indexes: []string{"CREATE INDEX i1 ON posts (title)"}}, "indexes.0"},
		{"index that is not an index", &Collection{Name: "x", Indexes: []string{"DROP TABLE posts"}}, "indexes.0"},
		{"index with two statements", &Collection{Name: "x", Fields: []*Field{{Name: "a", Type: FieldText}}, Indexes: []string{"CREATE INDEX i1 ON x (a); DROP TABLE posts"}}, "indexes.0"},
		{"index on a missing column", &Collection{Name: "x", Indexes: []string{"CREATE INDEX i1 ON x (nope)"}}, "indexes.0"},
		{"duplicate index names", &Collection{Name: "x", Fields: []*Field{{Name: "a", Type: FieldText}}, Indexes: []string{"CREATE INDEX i1 ON x (a)", "CREATE INDEX I1 ON x (a)"}}, "indexes.1"},
		{"view without a query", &Collection{Name: "x", Type: TypeView}, "viewQuery"},
		{"view query that is not a select", &Collection{Name: "x", Type: TypeView, ViewQuery: "DELETE FROM posts"}, "viewQuery"},
		{"view query with two statements", &Collection{Name: "x", Type: TypeView, ViewQuery: "SELECT id FROM posts; DROP TABLE posts"}, "viewQuery"},
		{"view query that does not prepare", &Collection{Name: "x", Type: TypeView, ViewQuery: "SELECT id, nope FROM posts"}, "viewQuery"},
		{"view without an id column", &Collection{Name: "x", Type: TypeView, ViewQuery: "SELECT title FROM posts"}, "viewQuery"},
	}
	// Fix the one case whose key depends on the index given.
	cases[15].key = "fields.0.collection"
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := schemaState(t, d)
			_, err := d.CreateCollection(ctx, tc.def)
			fe := fieldErrs(t, err)
			if _, ok := fe[tc.key]; !ok {
				t.Errorf("want a message on %q, got %v", tc.key, fe)
			}
			if after := schemaState(t, d); after != before {
				t.Errorf("schema changed:\n%s\n---\n%s", before, after)
			}
		})
	}

	t.Run("system collections can't be deleted or renamed", func(t *testing.T) {
		if err := d.DeleteCollection(ctx, SuperusersCollection); !apperr.Is(err, apperr.Invalid) {
			t.Fatalf("delete: %v", err)
		}
		n := cloneCollection(su)
		n.Name = "admins"
		_, err := d.UpdateCollection(ctx, su.ID, n)
		if _, ok := fieldErrs(t, err)["name"]; !ok {
			t.Fatalf("rename: %v", err)
		}
	})
}

func TestOnSchemaChange(t *testing.T) {
	ctx := context.Background()
	d := openTest(t)

	t.Run("an error rolls the change back", func(t *testing.T) {
		before := schemaState(t, d)
		boom := errors.New("schema does not compile")
		d.OnSchemaChange = func(ctx context.Context, all []*Collection) (func(), error) {
			if all[len(all)-1].Name != "posts" {
				t.Errorf("last collection = %s", all[len(all)-1].Name)
			}
			return nil, boom
		}
		_, err := d.CreateCollection(ctx, &Collection{Name: "posts", Fields: []*Field{{Name: "title", Type: FieldText}}})
		if !errors.Is(err, boom) {
			t.Fatalf("err = %v", err)
		}
		if after := schemaState(t, d); after != before {
			t.Fatalf("schema changed:\n%s\n---\n%s", before, after)
		}
	})

	t.Run("apply runs after the commit with the new snapshot in place", func(t *testing.T) {
		var seen []string
		d.OnSchemaChange = func(ctx context.Context, all []*Collection) (func(), error) {
			seen = append(seen, "check")
			return func() {
				if _, err := d.Collection("posts"); err != nil {
					t.Errorf("snapshot not swapped before apply: %v", err)
				}
				var n int
				_ = d.readers.DB.QueryRow(`SELECT COUNT(*) FROM "_collections" WHERE "name" = 'posts'`).Scan(&n)
				if n != 1 {
					t.Errorf("not committed before apply")
				}
				seen = append(seen, "apply")
			}, nil
		}
		mustCreate(t, d, &Collection{Name: "posts"})
		if strings.Join(seen, ",") != "check,apply" {
			t.Fatalf("calls: %v", seen)
		}
	})
}

func TestReopenKeepsEverything(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	d, err := openWith(t, dir)
	if err != nil {
		t.Fatal(err)
	}
	users, _ := d.Collection("users")
	mustInsert(t, d, users, RecordInput{"email": "x@example.com", "password": "password1", "passwordConfirm": "password1"})
	c := mustCreate(t, d, everyType("things", "users"))
	mustInsert(t, d, c, RecordInput{"title": "Kept"})
	if err := d.SetParam(ctx, "jwt_secret", []byte("s3cret")); err != nil {
		t.Fatal(err)
	}
	before := d.Collections()
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}

	d2 := openDir(t, dir)
	after := d2.Collections()
	if !reflect.DeepEqual(toJSON(t, before), toJSON(t, after)) {
		t.Fatalf("collections differ after reopen")
	}
	c2, _ := d2.Collection("things")
	if recs := findAll(t, d2, c2); len(recs) != 1 || recs[0]["title"] != "Kept" {
		t.Fatalf("records: %v", recs)
	}
	if v, ok, err := d2.Param(ctx, "jwt_secret"); err != nil || !ok || string(v) != "s3cret" {
		t.Fatalf("param: %q %v %v", v, ok, err)
	}

	t.Run("a deleted users collection stays deleted", func(t *testing.T) {
		if err := d2.DeleteCollection(ctx, "things"); err != nil {
			t.Fatal(err)
		}
		if err := d2.DeleteCollection(ctx, "users"); err != nil {
			t.Fatal(err)
		}
		_ = d2.Close()
		d3 := openDir(t, dir)
		if _, err := d3.Collection("users"); !apperr.Is(err, apperr.NotFound) {
			t.Fatalf("users came back: %v", err)
		}
	})
}

func toJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := jsonMarshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestDeleteCollection(t *testing.T) {
	ctx := context.Background()
	d := openTest(t)
	mustCreate(t, d, &Collection{Name: "authors"})
	mustCreate(t, d, &Collection{Name: "books", Fields: []*Field{{Name: "writer", Type: FieldRelation, Collection: "authors"}}})

	t.Run("a referenced collection is refused naming the reference", func(t *testing.T) {
		err := d.DeleteCollection(ctx, "authors")
		e := apperr.As(err)
		if e == nil || e.Code != apperr.Invalid || !strings.Contains(e.Error(), "books.writer") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("deleting the referencing one first works", func(t *testing.T) {
		if err := d.DeleteCollection(ctx, "books"); err != nil {
			t.Fatal(err)
		}
		if err := d.DeleteCollection(ctx, "authors"); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"books", "authors"} {
			if cols := columnTypes(t, d, name); len(cols) != 0 {
				t.Fatalf("the table %s is left: %v", name, cols)
			}
		}
	})
	t.Run("a missing collection is NOT_FOUND", func(t *testing.T) {
		if err := d.DeleteCollection(ctx, "nope"); !apperr.Is(err, apperr.NotFound) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestViewCollection(t *testing.T) {
	ctx := context.Background()
	d := openTest(t)
	posts := mustCreate(t, d, &Collection{Name: "posts", Fields: []*Field{{Name: "title", Type: FieldText}, {Name: "views", Type: FieldNumber}}})
	mustInsert(t, d, posts, RecordInput{"title": "a", "views": 2})
	mustInsert(t, d, posts, RecordInput{"title": "b", "views": 5})
	jsonObject := "json_object" // SQLite's; PostgreSQL's takes arrays
	if d.Engine() == EnginePostgres {
		jsonObject = "json_build_object"
	}
	v := mustCreate(t, d, &Collection{Name: "popular", Type: TypeView,
		ViewQuery: "SELECT id, title, views, views * 2 AS doubled, " + jsonObject + "('t', title) AS info FROM posts WHERE views > 3;"})

	t.Run("fields are inferred from the columns", func(t *testing.T) {
		want := map[string]FieldType{"id": FieldText, "title": FieldText, "views": FieldNumber, "doubled": FieldNumber, "info": FieldText}
		for n, ty := range want {
			if f := v.FieldByName(n); f == nil || f.Type != ty {
				t.Errorf("field %s = %+v, want %s", n, f, ty)
			}
		}
	})
	t.Run("records are read through the view", func(t *testing.T) {
		recs := findAll(t, d, v)
		if len(recs) != 1 || recs[0]["title"] != "b" || recs[0]["doubled"] != 10.0 {
			t.Fatalf("records: %v", recs)
		}
	})
	t.Run("views are read-only", func(t *testing.T) {
		if _, err := insert(t, d, v, RecordInput{"title": "x"}); !apperr.Is(err, apperr.Invalid) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("renaming the source table and column follows into the view", func(t *testing.T) {
		n := cloneCollection(posts)
		n.Name = "articles"
		n.FieldByName("title").Name = "headline"
		if _, err := d.UpdateCollection(ctx, posts.ID, n); err != nil {
			t.Fatal(err)
		}
		v2, _ := d.Collection("popular")
		if !strings.Contains(v2.ViewQuery, "articles") {
			t.Errorf("view query not updated: %s", v2.ViewQuery)
		}
		if recs := findAll(t, d, v2); len(recs) != 1 {
			t.Fatalf("records: %v", recs)
		}
		posts, _ = d.Collection("articles")
	})
	t.Run("dropping a column the view uses is refused", func(t *testing.T) {
		before := schemaState(t, d)
		n := cloneCollection(posts)
		n.Fields = []*Field{n.FieldByName("headline")}
		if _, err := d.UpdateCollection(ctx, posts.ID, n); !apperr.Is(err, apperr.Invalid) {
			t.Fatalf("err = %v", err)
		}
		if after := schemaState(t, d); after != before {
			t.Fatalf("schema changed")
		}
	})
	t.Run("deleting the source table is refused", func(t *testing.T) {
		if err := d.DeleteCollection(ctx, "articles"); !apperr.Is(err, apperr.Invalid) {
			t.Fatalf("err = %v", err)
		}
		if _, err := d.Collection("articles"); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("the view itself can be deleted", func(t *testing.T) {
		if err := d.DeleteCollection(ctx, "popular"); err != nil {
			t.Fatal(err)
		}
	})
}

func TestImportCollections(t *testing.T) {
	ctx := context.Background()
	d := openTest(t)
	old := mustCreate(t, d, &Collection{Name: "legacy"})
	got, err := d.ImportCollections(ctx, []*Collection{
		{Name: "comments", Fields: []*Field{{Name: "post", Type: FieldRelation, Collection: "posts", CascadeDelete: true}}},
		{Name: "posts", Fields: []*Field{{Name: "title", Type: FieldText}}},
	}, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].FieldByName("post").Collection != got[1].ID {
		t.Fatalf("imported: %v", got)
	}
	if _, err := d.Collection(old.ID); !apperr.Is(err, apperr.NotFound) {
		t.Errorf("legacy not deleted: %v", err)
	}
	if _, err := d.Collection(SuperusersCollection); err != nil {
		t.Errorf("system collection deleted: %v", err)
	}

	t.Run("re-import matches by name and keeps data", func(t *testing.T) {
		posts := got[1]
		mustInsert(t, d, posts, RecordInput{"title": "x"})
		n := cloneCollection(posts)
		n.ID = ""
		n.Fields = append(n.Fields, &Field{Name: "body", Type: FieldEditor})
		out, err := d.ImportCollections(ctx, []*Collection{n}, false)
		if err != nil {
			t.Fatal(err)
		}
		if out[0].ID != posts.ID || len(findAll(t, d, out[0])) != 1 {
			t.Fatalf("import: %v", out[0])
		}
	})
	t.Run("a bad entry refuses the whole import", func(t *testing.T) {
		before := schemaState(t, d)
		_, err := d.ImportCollections(ctx, []*Collection{{Name: "fine"}, {Name: "Bad"}}, false)
		if _, ok := fieldErrs(t, err)["collections.1.name"]; !ok {
			t.Fatalf("err = %v", err)
		}
		if after := schemaState(t, d); after != before {
			t.Fatal("schema changed")
		}
	})
}

func TestDefinitionRoundTrip(t *testing.T) {
	ctx := context.Background()
	d := openTest(t)
	mustCreate(t, d, everyType("things", "users"))
	mustCreate(t, d, &Collection{Name: "nodes", Fields: []*Field{{Name: "parent", Type: FieldRelation, Collection: "nodes"}}})
	mustCreate(t, d, &Collection{Name: "v", Type: TypeView, ViewQuery: "SELECT id, title FROM things"})

	t.Run("a collection may relate to itself", func(t *testing.T) {
		n, _ := d.Collection("nodes")
		if n.FieldByName("parent").Collection != n.ID {
			t.Fatalf("parent -> %s", n.FieldByName("parent").Collection)
		}
	})
	t.Run("sending a definition back unchanged changes nothing but updated", func(t *testing.T) {
		for _, c := range d.Collections() {
			got, err := d.UpdateCollection(ctx, c.ID, c)
			if err != nil {
				t.Fatalf("%s: %v", c.Name, err)
			}
			a, b := cloneCollection(c), cloneCollection(got)
			a.Updated, b.Updated = time.Time{}, time.Time{}
			if toJSON(t, a) != toJSON(t, b) {
				t.Errorf("%s changed:\n%s\n%s", c.Name, toJSON(t, a), toJSON(t, b))
			}
		}
	})
	t.Run("an auth collection keeps its system fields when they are left out", func(t *testing.T) {
		u, _ := d.Collection("users")
		n := cloneCollection(u)
		n.Fields = []*Field{u.FieldByName("name"), u.FieldByName("avatar"), {Name: "bio", Type: FieldText}}
		got, err := d.UpdateCollection(ctx, "users", n)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"id", "email", "password", "tokenKey", "verified", "created", "updated", "bio"} {
			if got.FieldByName(name) == nil {
				t.Errorf("lost %s", name)
			}
		}
	})
	t.Run("system field options that may change do", func(t *testing.T) {
		u, _ := d.Collection("users")
		n := cloneCollection(u)
		n.FieldByName("password").Min = fptr(12)
		n.FieldByName("email").OnlyDomains = []string{"Example.com"}
		n.FieldByName("tokenKey").Hidden = false
		got, err := d.UpdateCollection(ctx, "users", n)
		if err != nil {
			t.Fatal(err)
		}
		if *got.FieldByName("password").Min != 12 || got.FieldByName("email").OnlyDomains[0] != "example.com" || !got.FieldByName("tokenKey").Hidden {
			t.Fatalf("fields: %+v %+v %+v", got.FieldByName("password"), got.FieldByName("email"), got.FieldByName("tokenKey"))
		}
		n = cloneCollection(got)
		n.FieldByName("email").Type = FieldText
		if _, err := d.UpdateCollection(ctx, "users", n); !apperr.Is(err, apperr.Invalid) {
			t.Fatalf("type change of a system field: %v", err)
		}
	})
}

func TestUniqueIndexes(t *testing.T) {
	ctx := context.Background()
	d := openTest(t)
	c := mustCreate(t, d, &Collection{Name: "tags", Fields: []*Field{
		{Name: "name", Type: FieldText}, {Name: "slug", Type: FieldText}, {Name: "kind", Type: FieldText},
	}, Indexes: []string{
		`CREATE UNIQUE INDEX idx_tags_name ON tags (name COLLATE NOCASE)`,
		`CREATE UNIQUE INDEX idx_tags_slug_kind ON tags (slug, kind)`,
		`CREATE UNIQUE INDEX idx_tags_lower ON tags (lower(kind)) WHERE slug = 'x'`,
	}})
	mustInsert(t, d, c, RecordInput{"name": "Go", "slug": "s", "kind": "k"})

	t.Run("COLLATE NOCASE makes a unique index ignore case", func(t *testing.T) {
		_, err := insert(t, d, c, RecordInput{"name": "GO"})
		if fe := fieldErrs(t, err); fe["name"].Code != "duplicate" {
			t.Fatalf("errors = %v, want duplicate on name", fe)
		}
	})
	t.Run("a unique index on columns names each of them", func(t *testing.T) {
		_, err := insert(t, d, c, RecordInput{"name": "other", "slug": "s", "kind": "k"})
		fe := fieldErrs(t, err)
		if fe["slug"].Code != "duplicate" || fe["kind"].Code != "duplicate" {
			t.Fatalf("errors = %v, want duplicate on slug and kind", fe)
		}
	})
	t.Run("a unique expression index is named in the message", func(t *testing.T) {
		mustInsert(t, d, c, RecordInput{"name": "a", "slug": "x", "kind": "K"})
		_, err := insert(t, d, c, RecordInput{"name": "b", "slug": "x", "kind": "k"})
		fe := fieldErrs(t, err)
		if fe[""].Code != "duplicate" || !strings.Contains(fe[""].Message, "idx_tags_lower") {
			t.Fatalf("errors = %v, want duplicate naming idx_tags_lower", fe)
		}
	})
	t.Run("renames keep the indexes working and rewrite their definitions", func(t *testing.T) {
		n := cloneCollection(c)
		n.Name = "labels"
		n.FieldByName("name").Name = "title"
		got, err := d.UpdateCollection(ctx, c.ID, n)
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Indexes) != 3 || !strings.Contains(got.Indexes[0], `ON "labels"`) || !strings.Contains(got.Indexes[0], "title") {
			t.Fatalf("indexes: %q", got.Indexes)
		}
		_, err = insert(t, d, got, RecordInput{"title": "gO"})
		if fe := fieldErrs(t, err); fe["title"].Code != "duplicate" {
			t.Fatalf("errors = %v, want duplicate on title", fe)
		}
		same, err := d.UpdateCollection(ctx, got.ID, got)
		if err != nil || !reflect.DeepEqual(same.Indexes, got.Indexes) {
			t.Fatalf("an unchanged definition changed its indexes: %q, %v", same.Indexes, err)
		}
	})
}
