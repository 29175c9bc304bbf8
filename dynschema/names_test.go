package dynschema

import (
	"strings"
	"testing"

	"github.com/monobase/monobase/apperr"
	"github.com/monobase/monobase/db"
)

func TestSingularize(t *testing.T) {
	cases := map[string]string{
		"posts": "post", "categories": "category", "boxes": "box", "people": "person",
		"status": "status", "news": "news", "statuses": "status", "addresses": "address",
		"matches": "match", "wishes": "wish", "movies": "movie", "wolves": "wolf",
		"heroes": "hero", "users": "user", "series": "series", "analyses": "analysis",
		"class": "class", "data": "data", "children": "child", "houses": "house",
		"quizzes": "quiz", "buses": "bus", "tags": "tag", "post": "post",
	}
	for in, want := range cases {
		if got := singularize(in); got != want {
			t.Errorf("singularize(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNamesFor(t *testing.T) {
	cases := []struct {
		name, single, list string
		want               collNames
	}{
		{"posts", "", "", collNames{Type: "Post", Single: "post", List: "posts", Base: "post"}},
		{"blog_posts", "", "", collNames{Type: "BlogPost", Single: "blogPost", List: "blogPosts", Base: "blogPost"}},
		{"news", "", "", collNames{Type: "News", Single: "newsById", List: "news", Base: "news"}},
		{"people", "", "", collNames{Type: "Person", Single: "person", List: "people", Base: "person"}},
		{"status", "", "", collNames{Type: "Status", Single: "statusById", List: "status", Base: "status"}},
		{"posts", "article", "articles", collNames{Type: "Article", Single: "article", List: "articles", Base: "article"}},
		{"user_categories", "", "", collNames{Type: "UserCategory", Single: "userCategory", List: "userCategories", Base: "userCategory"}},
	}
	for _, c := range cases {
		if got := namesFor(c.name, c.single, c.list); got != c.want {
			t.Errorf("namesFor(%q, %q, %q) = %+v, want %+v", c.name, c.single, c.list, got, c.want)
		}
	}
}

func TestCompileRefusesClashes(t *testing.T) {
	cases := []struct {
		scenario string
		colls    []*db.Collection
		wantMsg  string
	}{
		{"two collections with the same type name", []*db.Collection{
			coll("a", "posts", db.TypeBase), coll("b", "post", db.TypeBase)}, "clashes"},
		{"a collection named like a built-in type", []*db.Collection{
			coll("a", "files", db.TypeBase)}, "File"},
		{"a collection whose type is Query", []*db.Collection{
			coll("a", "queries", db.TypeBase)}, "Query"},
		{"a field clashing with a relation id field", []*db.Collection{
			coll("u", "users", db.TypeAuth),
			coll("a", "posts", db.TypeBase,
				&db.Field{Name: "author", Type: db.FieldRelation, Collection: "u", MaxSelect: 1},
				&db.Field{Name: "authorId", Type: db.FieldText})}, "authorId"},
		{"an override that is not a GraphQL name", func() []*db.Collection {
			c := coll("a", "posts", db.TypeBase)
			c.GraphQLSingle = "my-post"
			return []*db.Collection{c}
		}(), "not a valid GraphQL name"},
		{"an override clashing with me", func() []*db.Collection {
			c := coll("a", "posts", db.TypeBase)
			c.GraphQLSingle = "me"
			return []*db.Collection{c}
		}(), "Query.me"},
	}
	for _, c := range cases {
		t.Run(c.scenario, func(t *testing.T) {
			_, _, err := loadSchema(c.colls)
			if err == nil {
				t.Fatal("no error")
			}
			if !apperr.Is(err, apperr.Invalid) || len(apperr.As(err).Fields) == 0 {
				t.Fatalf("want BAD_USER_INPUT with fields, got %v", err)
			}
			if !strings.Contains(err.Error(), c.wantMsg) {
				t.Errorf("error %q does not mention %q", err, c.wantMsg)
			}
		})
	}
}

func TestSystemCollectionsAreHidden(t *testing.T) {
	m, s, err := loadSchema(fixtureCollections())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(m.sdl, "Superuser") || s.Types["Superuser"] != nil {
		t.Error("the _superusers collection is exposed")
	}
	if strings.Contains(m.sdl, "secret") == false {
		t.Log("hidden field is only in inputs")
	}
	post := s.Types["Post"]
	if post.Fields.ForName("secret") != nil {
		t.Error("hidden field secret is in the output type")
	}
	user := s.Types["User"]
	for _, f := range []string{"password", "tokenKey"} {
		if user.Fields.ForName(f) != nil {
			t.Errorf("User exposes %s", f)
		}
	}
	if s.Types["UserCreateInput"].Fields.ForName("passwordConfirm") == nil {
		t.Error("UserCreateInput has no passwordConfirm")
	}
	if s.Types["PostLabels"] != nil {
		t.Error("select values that are not GraphQL names must give String, not an enum")
	}
	if s.Types["PostStatus"] == nil {
		t.Error("no PostStatus enum")
	}
}
