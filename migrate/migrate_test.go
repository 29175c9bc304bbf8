package migrate

import (
	"context"
	"errors"
	"github.com/monobase/monobase/internal/dbtest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/monobase/monobase/db"
)

func openDB(t *testing.T, dir string) *db.DB {
	t.Helper()
	d, err := dbtest.Open(t, context.Background(), dir)
	if err != nil {
		t.Fatalf("open %s: %v", dir, err)
	}
	t.Cleanup(func() { _ = d.Close() })
	return d
}

func writeJSON(t *testing.T, dir, name, body string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".json"), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func count(t *testing.T, d *db.DB, collection string) int64 {
	t.Helper()
	c, err := d.Collection(collection)
	if err != nil {
		t.Fatalf("collection %s: %v", collection, err)
	}
	n, err := d.Count(context.Background(), &db.Query{Collection: c})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func hasCollection(d *db.DB, name string) bool {
	_, err := d.Collection(name)
	return err == nil
}

func appliedNames(t *testing.T, d *db.DB) []string {
	t.Helper()
	list, err := d.AppliedMigrations(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range list {
		out = append(out, m.Name)
	}
	return out
}

const createPosts = `{
  "up": [
    {"op": "upsertCollections", "collections": [
      {"name": "posts", "listRule": "", "fields": [{"name": "title", "type": "TEXT", "required": true}]}
    ]},
    {"op": "createRecord", "collection": "posts", "id": "hello0000000001", "record": {"title": "Hello"}}
  ],
  "down": [{"op": "deleteCollection", "collection": "posts"}]
}`

func TestJSONMigrationUpAndDown(t *testing.T) {
	ctx := context.Background()
	base := t.TempDir()
	data, mdir := filepath.Join(base, "mb_data"), filepath.Join(base, "mb_migrations")
	writeJSON(t, mdir, "1700000000_create_posts", createPosts)
	writeJSON(t, mdir, "1700000100_more_posts", `{
	  "up": [{"op": "createRecord", "collection": "posts", "record": {"title": "Second"}},
	         {"op": "updateRecord", "collection": "posts", "id": "hello0000000001", "record": {"title": "Hello again"}}],
	  "down": [{"op": "updateRecord", "collection": "posts", "id": "hello0000000001", "record": {"title": "Hello"}}]
	}`)
	d := openDB(t, data)
	r := &Runner{DB: d, Dir: mdir}

	names, err := r.Up(ctx)
	if err != nil {
		t.Fatalf("up: %v", err)
	}
	if want := []string{"1700000000_create_posts", "1700000100_more_posts"}; !slices.Equal(names, want) {
		t.Fatalf("up applied %v, want %v", names, want)
	}
	if n := count(t, d, "posts"); n != 2 {
		t.Fatalf("posts has %d records, want 2", n)
	}
	rec := mustRecord(t, d, "posts", "hello0000000001")
	if rec["title"] != "Hello again" {
		t.Fatalf("title = %v, want Hello again", rec["title"])
	}

	t.Run("up again does nothing", func(t *testing.T) {
		names, err := r.Up(ctx)
		if err != nil || len(names) != 0 {
			t.Fatalf("second up applied %v, %v; want nothing", names, err)
		}
	})

	t.Run("the state is on disk", func(st *testing.T) {
		if err := d.Close(); err != nil {
			st.Fatal(err)
		}
		nd, err := dbtest.Open(t, ctx, data)
		if err != nil {
			st.Fatal(err)
		}
		t.Cleanup(func() { _ = nd.Close() }) // when the whole test ends
		d = nd
		r.DB = d
		if got := appliedNames(st, d); len(got) != 2 {
			st.Fatalf("applied after reopen: %v", got)
		}
		if n := count(st, d, "posts"); n != 2 {
			st.Fatalf("posts has %d records after reopen, want 2", n)
		}
	})

	t.Run("down 1 reverts the last", func(t *testing.T) {
		names, err := r.Down(ctx, 1)
		if err != nil || !slices.Equal(names, []string{"1700000100_more_posts"}) {
			t.Fatalf("down 1: %v, %v", names, err)
		}
		if rec := mustRecord(t, d, "posts", "hello0000000001"); rec["title"] != "Hello" {
			t.Fatalf("title after down = %v, want Hello", rec["title"])
		}
		if got := appliedNames(t, d); !slices.Equal(got, []string{"1700000000_create_posts"}) {
			t.Fatalf("applied after down: %v", got)
		}
	})

	t.Run("down again drops the collection", func(t *testing.T) {
		if _, err := r.Down(ctx, 1); err != nil {
			t.Fatal(err)
		}
		if hasCollection(d, "posts") {
			t.Fatal("posts still exists")
		}
		if got := appliedNames(t, d); len(got) != 0 {
			t.Fatalf("applied after down: %v", got)
		}
	})

	t.Run("status lists both as pending", func(t *testing.T) {
		st, err := r.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(st) != 2 || !st[0].Applied.IsZero() || !st[1].Applied.IsZero() || !strings.HasSuffix(st[0].Source, "1700000000_create_posts.json") {
			t.Fatalf("status: %+v", st)
		}
	})
}

func mustRecord(t *testing.T, d *db.DB, collection, id string) db.Record {
	t.Helper()
	c, err := d.Collection(collection)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := d.FindByIDs(context.Background(), c, []string{id})
	if err != nil || len(recs) != 1 {
		t.Fatalf("record %s/%s: %v, %v", collection, id, recs, err)
	}
	return recs[0]
}

func TestGoMigrationsAndDownN(t *testing.T) {
	ctx := context.Background()
	d := openDB(t, t.TempDir())
	var order []string
	step := func(name string) Migration {
		return Migration{
			Name: name,
			Up: func(ctx context.Context, tx *Tx) error {
				_, err := tx.CreateRecord("notes", map[string]any{"text": name})
				return err
			},
			Down: func(ctx context.Context, tx *Tx) error {
				order = append(order, name)
				c, _ := tx.Collection("notes")
				list, err := findAll(tx, c)
				if err != nil {
					return err
				}
				for _, r := range list {
					if r["text"] == name {
						return tx.DeleteRecord("notes", r.ID())
					}
				}
				return errors.New("record of " + name + " not found")
			},
		}
	}
	r := &Runner{DB: d, Go: []Migration{
		step("3_third"), step("2_second"), // registered out of order: applied by name
		{
			Name: "1_notes",
			Up: func(ctx context.Context, tx *Tx) error {
				_, err := tx.SaveCollection(&db.Collection{Name: "notes", Fields: []*db.Field{{Name: "text", Type: db.FieldText}}})
				return err
			},
			Down: func(ctx context.Context, tx *Tx) error { return tx.DeleteCollection("notes") },
		},
	}}
	names, err := r.Up(ctx)
	if err != nil || !slices.Equal(names, []string{"1_notes", "2_second", "3_third"}) {
		t.Fatalf("up: %v, %v", names, err)
	}
	if n := count(t, d, "notes"); n != 2 {
		t.Fatalf("notes has %d records, want 2", n)
	}
	names, err = r.Down(ctx, 2)
	if err != nil || !slices.Equal(names, []string{"3_third", "2_second"}) || !slices.Equal(order, names) {
		t.Fatalf("down 2: %v (ran %v), %v", names, order, err)
	}
	if n := count(t, d, "notes"); n != 0 {
		t.Fatalf("notes has %d records after down 2, want 0", n)
	}
	if got := appliedNames(t, d); !slices.Equal(got, []string{"1_notes"}) {
		t.Fatalf("applied: %v", got)
	}
	if _, err := r.Down(ctx, 0); err == nil {
		t.Fatal("down 0 should fail")
	}
}

// findAll reads every record of c inside the migration.
func findAll(tx *Tx, c *db.Collection) ([]db.Record, error) {
	return tx.DB().Find(&db.Query{Collection: c})
}

func TestFailedMigrationChangesNothing(t *testing.T) {
	ctx := context.Background()
	base := t.TempDir()
	mdir := filepath.Join(base, "mb_migrations")
	d := openDB(t, filepath.Join(base, "mb_data"))
	boom := errors.New("boom")
	var later bool
	r := &Runner{DB: d, Dir: mdir, Go: []Migration{
		{Name: "1_ok", Up: func(ctx context.Context, tx *Tx) error {
			_, err := tx.SaveCollection(&db.Collection{Name: "kept", Fields: []*db.Field{{Name: "a", Type: db.FieldText}}})
			return err
		}},
		{Name: "2_fails", Up: func(ctx context.Context, tx *Tx) error {
			if _, err := tx.SaveCollection(&db.Collection{Name: "tags", Fields: []*db.Field{{Name: "label", Type: db.FieldText}}}); err != nil {
				return err
			}
			if _, err := tx.CreateRecord("tags", map[string]any{"label": "x"}); err != nil {
				return err
			}
			if _, err := tx.CreateRecord("kept", map[string]any{"a": "written before the failure"}); err != nil {
				return err
			}
			return boom
		}},
		{Name: "3_later", Up: func(ctx context.Context, tx *Tx) error { later = true; return nil }},
	}}
	names, err := r.Up(ctx)
	if !errors.Is(err, boom) || !slices.Equal(names, []string{"1_ok"}) {
		t.Fatalf("up: %v, %v; want 1_ok then boom", names, err)
	}
	if hasCollection(d, "tags") {
		t.Fatal("the failed migration's collection exists")
	}
	if n := count(t, d, "kept"); n != 0 {
		t.Fatalf("the failed migration's record was written (%d)", n)
	}
	if later {
		t.Fatal("a migration after the failed one ran")
	}
	if got := appliedNames(t, d); !slices.Equal(got, []string{"1_ok"}) {
		t.Fatalf("applied: %v", got)
	}

	t.Run("a JSON migration with a bad record", func(t *testing.T) {
		r := &Runner{DB: d, Dir: mdir}
		writeJSON(t, mdir, "5_bad", `{"up": [
		  {"op": "upsertCollections", "collections": [{"name": "posts", "fields": [{"name": "title", "type": "TEXT", "required": true}]}]},
		  {"op": "createRecord", "collection": "posts", "record": {"title": ""}}
		], "down": []}`)
		_, err := r.Up(ctx)
		if err == nil || !strings.Contains(err.Error(), "5_bad") || !strings.Contains(err.Error(), "title") {
			t.Fatalf("up of a bad record: %v", err)
		}
		if hasCollection(d, "posts") {
			t.Fatal("posts was created by a failed migration")
		}
		// Its table is gone too: the fixed migration creates it.
		writeJSON(t, mdir, "5_bad", createPosts)
		if _, err := r.Up(ctx); err != nil {
			t.Fatalf("up of the fixed migration: %v", err)
		}
		if n := count(t, d, "posts"); n != 1 {
			t.Fatalf("posts has %d records, want 1", n)
		}
	})

	t.Run("a JSON file that is not a migration runs nothing", func(t *testing.T) {
		writeJSON(t, mdir, "6_good", `{"up": [{"op": "createRecord", "collection": "posts", "record": {"title": "x"}}], "down": []}`)
		writeJSON(t, mdir, "7_typo", `{"up": [{"op": "createRecords", "collection": "posts"}], "down": []}`)
		r := &Runner{DB: d, Dir: mdir}
		if _, err := r.Up(ctx); err == nil || !strings.Contains(err.Error(), "createRecords") {
			t.Fatalf("up with an unknown op: %v", err)
		}
		if n := count(t, d, "posts"); n != 1 {
			t.Fatalf("posts has %d records, want 1 (6_good must wait for 7_typo to be fixed)", n)
		}
	})
}

func TestRelationsAndCascadeInsideOneMigration(t *testing.T) {
	ctx := context.Background()
	d := openDB(t, t.TempDir())
	r := &Runner{DB: d, Go: []Migration{{Name: "1_blog", Up: func(ctx context.Context, tx *Tx) error {
		_, err := tx.SaveCollections(
			&db.Collection{Name: "comments", Fields: []*db.Field{
				{Name: "post", Type: db.FieldRelation, Collection: "posts", MaxSelect: 1, CascadeDelete: true}}},
			&db.Collection{Name: "posts", Fields: []*db.Field{{Name: "title", Type: db.FieldText}}},
		)
		if err != nil {
			return err
		}
		p, err := tx.CreateRecord("posts", map[string]any{"title": "a"})
		if err != nil {
			return err
		}
		if _, err := tx.CreateRecord("comments", map[string]any{"post": p.ID()}); err != nil {
			return err
		}
		if _, err := tx.CreateRecord("comments", map[string]any{"post": "nosuchpost00001"}); err == nil {
			return errors.New("a relation to a missing post was accepted")
		}
		// The cascade follows the relation created in this migration.
		return tx.DeleteRecord("posts", p.ID())
	}}}}
	if _, err := r.Up(ctx); err != nil {
		t.Fatal(err)
	}
	if n := count(t, d, "comments"); n != 0 {
		t.Fatalf("comments has %d records, want 0 (cascade)", n)
	}
}

func TestCreate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "mb_migrations")
	now := time.Unix(1733140000, 0)
	path, err := Create(dir, "Create Posts!", now)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(path) != "1733140000_create_posts.json" {
		t.Fatalf("path %s", path)
	}
	f, err := ReadFile(path)
	if err != nil || len(f.Up) != 0 || len(f.Down) != 0 {
		t.Fatalf("read the new file: %+v, %v", f, err)
	}
	if _, err := Create(dir, "create posts", now); err == nil {
		t.Fatal("a second file of the same name was written")
	}
	if _, err := Create(dir, "!!", now); err == nil {
		t.Fatal("an empty name was accepted")
	}
}
