package dynschema

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/monobase/monobase/db"
)

// TestJoinedRelationsMatchSeparateReads checks the single relations read
// by a join in their parent's statement (including pages picked by rowid)
// against the same lists read without the relation: same rows in the same
// order, each with the author its authorId names, or null when the author's
// view rule hides it or the id points nowhere.
func TestJoinedRelationsMatchSeparateReads(t *testing.T) {
	en := newEnv(t)
	en.blog()
	users := en.colls["users"]
	u := *users
	u.ViewRule = sp("name != 'hidden'")
	if _, err := en.d.UpdateCollection(en.ctx, "users", &u); err != nil {
		t.Fatal(err)
	}
	names := map[string]any{}
	var ids []string
	for i, name := range []string{"ann", "bob", "hidden", "cid"} {
		rec, _ := en.user(fmt.Sprintf("u%d@example.com", i))
		tx, err := en.d.Begin(en.ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Update(users, rec.ID(), db.RecordPatch{Set: db.RecordInput{"name": name}}); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, rec.ID())
		if name != "hidden" {
			names[rec.ID()] = name
		}
	}
	for i := 0; i < 40; i++ {
		in := db.RecordInput{"title": fmt.Sprintf("post %02d", (i*17)%40), "views": float64((i * 7) % 13)}
		if i%5 != 4 {
			in["author"] = ids[i%len(ids)]
		}
		en.insert("posts", in)
	}

	type post struct {
		ID, Title string
		AuthorID  *string `json:"authorId"`
		Author    *struct{ ID, Name string }
	}
	for _, args := range []string{
		``,
		`(limit: 5)`,
		`(limit: 5, offset: 3)`,
		`(limit: 5, offset: 20)`,
		`(limit: 50, offset: 38)`,
		`(offset: 100)`,
		`(orderBy: [{title: DESC}], limit: 7, offset: 2)`,
		`(sort: "-views,title", limit: 4)`,
		`(sort: "-views", limit: 6, offset: 9)`,
		`(where: {views: {gt: 5}}, limit: 3, offset: 6)`,
		`(where: {views: {gt: 5}}, orderBy: [{views: ASC}], limit: 30)`,
		`(filter: "title ~ '1'", limit: 50)`,
		`(orderBy: [{author: {name: DESC}}, {title: ASC}], limit: 8, offset: 4)`,
	} {
		t.Run("posts"+args, func(t *testing.T) {
			var joined, separate struct{ Posts []post }
			en.gql("", `{ posts`+args+` { id title author { id name } } }`, nil).ok(t).decode(t, &joined)
			en.gql("", `{ posts`+args+` { id title authorId } }`, nil).ok(t).decode(t, &separate)
			if len(joined.Posts) != len(separate.Posts) {
				t.Fatalf("%d posts joined, %d read separately", len(joined.Posts), len(separate.Posts))
			}
			for i, p := range joined.Posts {
				s := separate.Posts[i]
				if p.ID != s.ID || p.Title != s.Title {
					t.Fatalf("row %d: %s %q joined, %s %q read separately", i, p.ID, p.Title, s.ID, s.Title)
				}
				var want any
				if s.AuthorID != nil {
					want = names[*s.AuthorID]
				}
				var got any
				if p.Author != nil {
					got = p.Author.Name
					if p.Author.ID != *s.AuthorID {
						t.Errorf("row %d: author %s, authorId %s", i, p.Author.ID, *s.AuthorID)
					}
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("row %d (%s): author %v, want %v", i, p.Title, got, want)
				}
			}
		})
	}
	t.Run("a single record with a hidden author", func(t *testing.T) {
		var all struct{ Posts []post }
		en.gql("", `{ posts(limit: 100) { id authorId } }`, nil).ok(t).decode(t, &all)
		for _, p := range all.Posts {
			if p.AuthorID == nil || *p.AuthorID != ids[2] {
				continue
			}
			var one struct{ Post *post }
			en.gql("", `query($id: ID!) { post(id: $id) { id author { name } } }`, map[string]any{"id": p.ID}).ok(t).decode(t, &one)
			if one.Post == nil || one.Post.Author != nil {
				t.Fatalf("got %+v, want the post with a null author", one.Post)
			}
			return
		}
		t.Fatal("no post by the hidden user")
	})
	t.Run("back-relations with their records' authors", func(t *testing.T) {
		var out struct {
			Users []struct {
				ID             string
				PostsViaAuthor []post
			}
		}
		en.gql("", `{ users(limit: 10) { id postsViaAuthor(limit: 3, offset: 1) { id title author { id name } } } }`, nil).ok(t).decode(t, &out)
		if len(out.Users) != 4 {
			t.Fatalf("%d users", len(out.Users))
		}
		for _, u := range out.Users {
			if len(u.PostsViaAuthor) == 0 {
				t.Errorf("user %s: no posts", u.ID)
			}
			for _, p := range u.PostsViaAuthor {
				want := names[u.ID]
				var got any
				if p.Author != nil {
					got = p.Author.Name
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("user %s, post %s: author %v, want %v", u.ID, p.Title, got, want)
				}
			}
		}
	})
}
