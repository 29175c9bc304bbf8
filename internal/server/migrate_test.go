package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"github.com/monobase/monobase/internal/dbtest"
	"github.com/monobase/monobase/internal/testdb"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/monobase/monobase/db"
	"github.com/monobase/monobase/migrate"
)

// migrationFiles returns the names of the JSON files of dir, in name order.
func migrationFiles(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if name, ok := strings.CutSuffix(e.Name(), ".json"); ok {
			out = append(out, name)
		}
	}
	return out
}

// sameSchema fails t when the normalized exports of a and b differ.
func sameSchema(t *testing.T, a, b string) {
	t.Helper()
	got, want := normalizedExport(t, []byte(a)), normalizedExport(t, []byte(b))
	if !reflect.DeepEqual(got, want) {
		gj, _ := json.MarshalIndent(got, "", "  ")
		wj, _ := json.MarshalIndent(want, "", "  ")
		t.Fatalf("the schemas differ.\ngot:\n%s\nwant:\n%s", gj, wj)
	}
}

func TestAutomigrateReplaysOnAFreshDataFolder(t *testing.T) {
	base := t.TempDir()
	src, migs := filepath.Join(base, "mb_data"), filepath.Join(base, "mb_migrations")
	mustCLI(t, "--dir", src, "superuser", "upsert", "admin@example.com", "admin-password")
	srv, _ := startServerWith(t, src, func(c *ServeCommand) {
		c.RateLimits = nil
		if err := c.ParseFlags([]string{"--automigrate", "--http", "127.0.0.1:0"}, func(string) string { return "" }); err != nil {
			t.Fatal(err)
		}
	})
	admin := srv.URL() + "/graphql/admin"
	token := signIn(t, srv.URL(), "admin@example.com", "admin-password")

	fixtureCollections(t, srv.URL(), token) // created tags, created posts
	tags := mustGQL(t, admin, token, `{ collection(idOrName: "tags") { fields { id name } } }`, nil)
	var labelID string
	for _, f := range tags["collection"].(map[string]any)["fields"].([]any) {
		if f := f.(map[string]any); f["name"] == "label" {
			labelID = f["id"].(string)
		}
	}
	for _, step := range []struct {
		query string
		vars  map[string]any
	}{
		// A rename (by field id) and a new field.
		{`mutation($id: String!) { updateCollection(idOrName: "tags", input: {name: "tags", listRule: "", viewRule: "",
			fields: [{id: $id, name: "name", type: TEXT, required: true, max: 40}, {name: "color", type: TEXT}],
			indexes: ["CREATE UNIQUE INDEX idx_tags_label ON tags (name)"]}) { id } }`, map[string]any{"id": labelID}},
		// The collection every data folder creates on first start.
		{`mutation { updateCollection(idOrName: "users", input: {name: "users", type: AUTH,
			fields: [{name: "name", type: TEXT, max: 255}, {name: "bio", type: EDITOR}]}) { id } }`, nil},
		{`mutation { createCollection(input: {name: "scratch", fields: [{name: "x", type: NUMBER}]}) { id } }`, nil},
		{`mutation { deleteCollection(idOrName: "scratch") }`, nil},
		// Two collections at once, one relating to the other.
		{`mutation { importCollections(collections: [
			{name: "comments", fields: [{name: "post", type: RELATION, collection: "posts", maxSelect: 1, cascadeDelete: true},
			                            {name: "author", type: RELATION, collection: "authors", maxSelect: 1}]},
			{name: "authors", fields: [{name: "nick", type: TEXT}]}]) { id } }`, nil},
		{`mutation { createCollection(input: {name: "titles", type: VIEW, listRule: "",
			viewQuery: "SELECT id, title FROM posts"}) { id } }`, nil},
		// Only a secret changes: no definition does, no file.
		{`mutation { updateCollection(idOrName: "users", input: {name: "users", type: AUTH,
			oauth2: {enabled: false, providers: [{name: "github", clientId: "gh-id", clientSecret: "gh-secret"}]}}) { id } }`, nil},
		{`mutation { updateCollection(idOrName: "users", input: {name: "users", type: AUTH,
			oauth2: {enabled: false, providers: [{name: "github", clientId: "gh-id", clientSecret: "another-secret"}]}}) { id } }`, nil},
	} {
		mustGQL(t, admin, token, step.query, step.vars)
	}
	res := gql(t, admin, token, `mutation { createCollection(input: {name: "Bad Name"}) { id } }`, nil)
	if res.errCode() != "BAD_USER_INPUT" {
		t.Fatalf("a refused change: %+v", res.Errors)
	}
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}

	files := migrationFiles(t, migs)
	var kinds []string
	for _, f := range files {
		_, kind, _ := strings.Cut(f, "_")
		kinds = append(kinds, kind)
	}
	want := []string{"created_tags", "created_posts", "updated_tags", "updated_users", "created_scratch", "deleted_scratch",
		"changed_collections", "created_titles", "updated_users"}
	if !slices.Equal(kinds, want) {
		t.Fatalf("migration files (in name order) = %v, want %v", files, want)
	}

	for _, f := range files {
		data, err := os.ReadFile(filepath.Join(migs, f+".json"))
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(data, []byte("secret")) || bytes.Contains(data, []byte(`"created": "`)) || bytes.Contains(data, []byte(`"updated": "`)) {
			t.Fatalf("%s holds a client secret or a timestamp:\n%s", f, data)
		}
	}

	t.Run("they are recorded as applied where they were written", func(t *testing.T) {
		out := mustCLI(t, "--dir", src, "migrate", "up")
		if !strings.Contains(out, "No pending migrations.") {
			t.Fatalf("migrate up on the source folder: %q", out)
		}
		status := mustCLI(t, "--dir", src, "migrate", "status")
		if strings.Contains(status, "pending") || strings.Count(status, "applied") != len(files) {
			t.Fatalf("status:\n%s", status)
		}
	})

	srcSchema := mustCLI(t, "--dir", src, "schema", "export")
	fresh := filepath.Join(t.TempDir(), "data")
	testdb.URL(t, fresh) // on PostgreSQL: its schema lives as long as this test, not its first subtest
	t.Run("migrate up on a fresh data folder gives the same schema", func(t *testing.T) {
		out := mustCLI(t, "--dir", fresh, "migrate", "--migrations", migs, "up")
		if strings.Count(out, "Applied ") != len(files) {
			t.Fatalf("migrate up: %q", out)
		}
		sameSchema(t, mustCLI(t, "--dir", fresh, "schema", "export"), srcSchema)
	})

	t.Run("down to the start gives a fresh folder's schema", func(t *testing.T) {
		out := mustCLI(t, "--dir", fresh, "migrate", "--migrations", migs, "down", "9")
		if strings.Count(out, "Reverted ") != 9 || !strings.HasPrefix(out, "Reverted "+files[len(files)-1]) {
			t.Fatalf("migrate down 8: %q", out)
		}
		empty := filepath.Join(t.TempDir(), "empty")
		sameSchema(t, mustCLI(t, "--dir", fresh, "schema", "export"), mustCLI(t, "--dir", empty, "schema", "export"))
	})

	t.Run("serve applies the pending migrations at start", func(t *testing.T) {
		other := filepath.Join(t.TempDir(), "data")
		srv, _ := startServerWith(t, other, func(c *ServeCommand) { c.Migrations.Dir = migs })
		data := mustGQL(t, srv.URL()+"/graphql", "", `{ titles { id title } tags { name color } }`, nil)
		if _, ok := data["titles"].([]any); !ok {
			t.Fatalf("titles = %v", data)
		}
		if err := srv.Close(); err != nil {
			t.Fatal(err)
		}
		sameSchema(t, mustCLI(t, "--dir", other, "schema", "export"), srcSchema)
	})
}

func TestMigrateCLI(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "mb_data")
	path := strings.TrimSpace(mustCLI(t, "--dir", dir, "migrate", "create", "add posts"))
	if filepath.Dir(path) != filepath.Join(base, "mb_migrations") || !strings.HasSuffix(path, "_add_posts.json") {
		t.Fatalf("migrate create printed %q", path)
	}
	if err := os.WriteFile(path, []byte(`{
	  "up": [{"op": "upsertCollections", "collections": [{"name": "posts", "listRule": "", "fields": [{"name": "title", "type": "TEXT"}]}]},
	         {"op": "createRecord", "collection": "posts", "record": {"title": "first"}}],
	  "down": [{"op": "deleteCollection", "collection": "posts"}]
	}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if out := mustCLI(t, "--dir", dir, "migrate", "status"); !strings.Contains(out, "pending") {
		t.Fatalf("status before up: %q", out)
	}
	mustCLI(t, "--dir", dir, "migrate", "up")
	if out := mustCLI(t, "--dir", dir, "schema", "export"); !strings.Contains(out, `"name": "posts"`) {
		t.Fatalf("posts is not in the schema after up:\n%s", out)
	}
	mustCLI(t, "--dir", dir, "migrate", "down")
	if out := mustCLI(t, "--dir", dir, "schema", "export"); strings.Contains(out, `"name": "posts"`) {
		t.Fatalf("posts is still in the schema after down:\n%s", out)
	}
	if out := mustCLI(t, "--dir", dir, "migrate", "down"); !strings.Contains(out, "No applied migrations.") {
		t.Fatalf("down with nothing applied: %q", out)
	}

	t.Run("bad command lines", func(t *testing.T) {
		for _, args := range [][]string{{"migrate"}, {"migrate", "down", "0"}, {"migrate", "down", "x"}, {"migrate", "create"}, {"migrate", "sideways"}} {
			if _, _, err := runCLI(t, append([]string{"--dir", dir}, args...)...); !IsUsage(err) {
				t.Errorf("%v: err = %v, want a usage error", args, err)
			}
		}
	})

	t.Run("a failing migration fails serve's start", func(t *testing.T) {
		if err := os.WriteFile(filepath.Join(base, "mb_migrations", "9999999999_bad.json"),
			[]byte(`{"up": [{"op": "createRecord", "collection": "nosuch", "record": {}}], "down": []}`), 0o644); err != nil {
			t.Fatal(err)
		}
		c := NewServeCommand(&bytes.Buffer{}, &syncBuffer{})
		c.Dir, c.HTTP = dir, "127.0.0.1:0"
		withTestDB(t, c)
		err := c.Run(context.Background())
		if err == nil {
			_ = c.Close()
			t.Fatal("serve started with a migration that fails")
		}
		if !strings.Contains(err.Error(), "9999999999_bad") {
			t.Fatalf("err = %v", err)
		}
		// The migration before it was applied; the failed one was not.
		out := mustCLI(t, "--dir", dir, "migrate", "status")
		if !strings.Contains(out, "_add_posts") || !strings.Contains(out, "9999999999_bad") || strings.Count(out, "pending") != 1 {
			t.Fatalf("status:\n%s", out)
		}
	})
}

// TestGoMigrationsOfTheApp runs an app's Go migrations through Main, as
// the root package's AddMigration registers them.
func TestGoMigrationsOfTheApp(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "mb_data")
	m := func() *Main {
		return &Main{Stdin: strings.NewReader(""), Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}, Getenv: testEnv(t, dir, nil),
			Ext: &Extensions{Migrations: []migrate.Migration{{
				Name: "1733140000_seed",
				Up: func(ctx context.Context, tx *migrate.Tx) error {
					if _, err := tx.SaveCollection(&db.Collection{Name: "notes", Fields: []*db.Field{{Name: "text", Type: db.FieldText}}}); err != nil {
						return err
					}
					_, err := tx.CreateRecord("notes", map[string]any{"text": "hello"})
					return err
				},
				Down: func(ctx context.Context, tx *migrate.Tx) error { return tx.DeleteCollection("notes") },
			}, {
				Name: "1733140001_refused",
				Up: func(ctx context.Context, tx *migrate.Tx) error {
					if _, err := tx.CreateRecord("notes", map[string]any{"text": "never"}); err != nil {
						return err
					}
					return errors.New("refused")
				},
			}}}}
	}
	err := m().Run(context.Background(), []string{"--dir", dir, "migrate", "up"})
	if err == nil || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("migrate up: %v", err)
	}
	d, err := dbtest.Open(t, context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	c, err := d.Collection("notes")
	if err != nil {
		t.Fatal(err)
	}
	n, err := d.Count(context.Background(), &db.Query{Collection: c})
	applied, aerr := d.AppliedMigrations(context.Background())
	_ = d.Close()
	if err != nil || aerr != nil || n != 1 || len(applied) != 1 || applied[0].Name != "1733140000_seed" {
		t.Fatalf("notes has %d records (%v), applied %v (%v); want 1 and the seed only", n, err, applied, aerr)
	}
}
