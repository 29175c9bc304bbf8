// Command blog is an example app built on Monobase as a Go framework:
//
//   - a Go migration creates the posts collection (anyone reads and writes
//     drafts; only signed-in users publish);
//   - a hook fills a post's slug from its title and refuses spam;
//   - a custom GraphQL mutation, publishPost, publishes a post as its
//     caller (the access rules decide);
//   - a route, GET /feed.json, lists the published posts;
//   - a command, `blog stats`, counts the posts.
//
// Run it like the monobase command: go run ./examples/blog serve
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"unicode"

	"github.com/monobase/monobase"
	"github.com/monobase/monobase/db"
)

func main() {
	if err := newApp("./blog_data").Start(); err != nil {
		os.Exit(monobase.ExitCode(err))
	}
}

// newApp builds the blog on the data folder dir.
func newApp(dir string) *monobase.App {
	app := monobase.New(monobase.Config{DataDir: dir})
	app.AddMigration("1764633600_create_posts", createPosts, dropPosts)

	app.OnRecordCreate("posts").BindFunc(func(e *monobase.RecordEvent) error {
		title := e.Record.GetString("title")
		if strings.Contains(strings.ToLower(title), "spam") {
			return errors.New("no spam") // the client sees BAD_USER_INPUT "no spam"
		}
		if e.Record.GetString("slug") == "" {
			e.Record.Set("slug", slugify(title))
		}
		return e.Next()
	})

	app.ExtendSchema(`extend type Mutation { publishPost(id: ID!): Post! }`, monobase.Resolvers{
		"Mutation.publishPost": func(ctx context.Context, args map[string]any) (any, error) {
			// Runs as the caller: the posts' update rule decides.
			_, err := app.Execute(ctx, `mutation($id: ID!) { updatePost(id: $id, input: {published: true}) { id } }`,
				map[string]any{"id": args["id"]})
			if err != nil {
				return nil, err
			}
			return args["id"], nil // a collection type is answered from the record's id
		},
	})

	app.OnServe().BindFunc(func(se *monobase.ServeEvent) error {
		se.Router.HandleFunc("GET /feed.json", func(w http.ResponseWriter, r *http.Request) {
			data, err := app.Execute(r.Context(), `{ posts(filter: "published = true", sort: "-created") { title slug } }`, nil)
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(data["posts"])
		})
		return se.Next()
	})

	app.AddCommand("stats", "stats                                    count the posts", func(ctx context.Context, args []string) error {
		fmt.Println("run `serve` and open /feed.json to see the published posts")
		return nil
	})
	return app
}

// createPosts is the migration that creates the posts collection.
func createPosts(ctx context.Context, tx *monobase.MigrationTx) error {
	anyone, signedIn := "", `@request.auth.id != ""`
	_, err := tx.SaveCollection(&db.Collection{
		Name: "posts", Type: db.TypeBase,
		ListRule: &anyone, ViewRule: &anyone, CreateRule: &anyone, UpdateRule: &signedIn,
		Fields: []*db.Field{
			{Name: "title", Type: db.FieldText, Required: true},
			{Name: "slug", Type: db.FieldText},
			{Name: "body", Type: db.FieldEditor},
			{Name: "published", Type: db.FieldBool},
			{Name: "created", Type: db.FieldAutodate, OnCreate: true},
		},
	})
	return err
}

func dropPosts(ctx context.Context, tx *monobase.MigrationTx) error {
	return tx.DeleteCollection("posts")
}

// slugify turns a title into lower-case words joined by hyphens.
func slugify(title string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(title) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			b.WriteRune(r)
			dash = false
		} else {
			dash = true
		}
	}
	return b.String()
}
