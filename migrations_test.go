package monobase

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/monobase/monobase/db"
	"github.com/monobase/monobase/internal/server"
	"github.com/monobase/monobase/internal/testdb"
)

func TestAddMigrationRunsOnMigrateUp(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "mb_data")
	app := New(Config{DataDir: dir})
	app.AddMigration("1733140000_posts", func(ctx context.Context, tx *MigrationTx) error {
		_, err := tx.SaveCollection(&db.Collection{Name: "posts", Fields: []*db.Field{{Name: "title", Type: db.FieldText}}})
		return err
	}, func(ctx context.Context, tx *MigrationTx) error { return tx.DeleteCollection("posts") })

	dbURL := testdb.URL(t, dir) // "" on SQLite
	getenv := func(k string) string {
		if k == "MONOBASE_DB" {
			return dbURL
		}
		return ""
	}
	run := func(args ...string) string {
		var out, errOut bytes.Buffer
		m := &server.Main{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut, Getenv: getenv, Ext: &app.ext}
		if err := m.Run(context.Background(), args); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, errOut.String())
		}
		return out.String()
	}
	if out := run("migrate", "up"); !strings.Contains(out, "Applied 1733140000_posts") {
		t.Fatalf("migrate up: %q", out)
	}
	if out := run("schema", "export"); !strings.Contains(out, `"name": "posts"`) {
		t.Fatalf("posts is not in the schema:\n%s", out)
	}
	if out := run("migrate", "down"); !strings.Contains(out, "Reverted 1733140000_posts") {
		t.Fatalf("migrate down: %q", out)
	}
	if out := run("schema", "export"); strings.Contains(out, `"name": "posts"`) {
		t.Fatalf("posts is still in the schema:\n%s", out)
	}
}
