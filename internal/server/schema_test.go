package server

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// fixtureCollections creates, on the admin API, collections that use
// relations (to users, to each other, multiple), selects, files, rules and
// indexes.
func fixtureCollections(t *testing.T, base, token string) {
	t.Helper()
	for _, q := range []string{
		`mutation { createCollection(input: {name: "tags", listRule: "", viewRule: "",
			fields: [{name: "label", type: TEXT, required: true, max: 40}],
			indexes: ["CREATE UNIQUE INDEX idx_tags_label ON tags (label)"]}) { id } }`,
		`mutation { createCollection(input: {name: "posts", listRule: "", viewRule: "", createRule: "@request.auth.id != ''",
			fields: [
				{name: "title", type: TEXT, required: true, min: 1, max: 200},
				{name: "body", type: EDITOR},
				{name: "views", type: NUMBER, onlyInt: true, min: 0},
				{name: "published", type: BOOL},
				{name: "status", type: SELECT, values: ["draft", "live"], maxSelect: 1},
				{name: "author", type: RELATION, collection: "users", maxSelect: 1},
				{name: "tags", type: RELATION, collection: "tags", maxSelect: 10},
				{name: "cover", type: FILE, maxSelect: 1, maxSize: 1048576, mimeTypes: ["image/png"]},
				{name: "meta", type: JSON},
				{name: "place", type: GEOPOINT},
				{name: "due", type: DATE}
			]}) { id } }`,
	} {
		mustGQL(t, base+"/graphql/admin", token, q, nil)
	}
}

// normalizedExport decodes an export and drops what legitimately differs
// between two data folders: timestamps, and the ids of the collections every
// data folder creates on first start (users), which an import matches by name.
func normalizedExport(t *testing.T, data []byte) []map[string]any {
	t.Helper()
	var list []map[string]any
	if err := json.Unmarshal(data, &list); err != nil {
		t.Fatalf("export is not a JSON array: %v\n%s", err, data)
	}
	for _, c := range list {
		delete(c, "created")
		delete(c, "updated")
		if c["name"] == "users" {
			delete(c, "id")
			fields, _ := c["fields"].([]any)
			for _, f := range fields {
				if m, ok := f.(map[string]any); ok {
					delete(m, "id")
				}
			}
		}
	}
	return list
}

func TestSchemaExportImport(t *testing.T) {
	src := t.TempDir()
	mustCLI(t, "--dir", src, "superuser", "upsert", "admin@example.com", "admin-password")
	srv, _ := startServer(t, src)
	token := signIn(t, srv.URL(), "admin@example.com", "admin-password")
	fixtureCollections(t, srv.URL(), token)
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}

	file := filepath.Join(t.TempDir(), "schema.json")
	mustCLI(t, "--dir", src, "schema", "export", file)
	exported, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("export without FILE writes the same JSON to stdout", func(t *testing.T) {
		stdout := mustCLI(t, "--dir", src, "schema", "export")
		if stdout != string(exported) {
			t.Errorf("stdout export differs from the file export")
		}
	})

	t.Run("export leaves out _superusers and keeps creation order", func(t *testing.T) {
		var names []string
		for _, c := range normalizedExport(t, exported) {
			names = append(names, c["name"].(string))
		}
		if want := []string{"users", "tags", "posts"}; !reflect.DeepEqual(names, want) {
			t.Errorf("exported collections = %v, want %v", names, want)
		}
	})

	t.Run("relation targets are written as names", func(t *testing.T) {
		if !strings.Contains(string(exported), `"collection": "users"`) || !strings.Contains(string(exported), `"collection": "tags"`) {
			t.Errorf("relation targets are not names:\n%s", exported)
		}
	})

	dst := t.TempDir()
	out := mustCLI(t, "--dir", dst, "schema", "import", file)
	if !strings.Contains(out, "Imported 3 collections") {
		t.Errorf("import output = %q", out)
	}

	t.Run("import into an empty data folder reproduces the collections", func(t *testing.T) {
		again := []byte(mustCLI(t, "--dir", dst, "schema", "export"))
		got, want := normalizedExport(t, again), normalizedExport(t, exported)
		if !reflect.DeepEqual(got, want) {
			gj, _ := json.MarshalIndent(got, "", "  ")
			wj, _ := json.MarshalIndent(want, "", "  ")
			t.Errorf("re-export differs.\ngot:\n%s\nwant:\n%s", gj, wj)
		}
	})

	t.Run("importing the same file again changes nothing", func(t *testing.T) {
		before := mustCLI(t, "--dir", dst, "schema", "export")
		mustCLI(t, "--dir", dst, "schema", "import", file)
		after := mustCLI(t, "--dir", dst, "schema", "export")
		if !reflect.DeepEqual(normalizedExport(t, []byte(before)), normalizedExport(t, []byte(after))) {
			t.Error("a second import changed the collections")
		}
	})

	t.Run("the imported schema serves GraphQL", func(t *testing.T) {
		srv, _ := startServer(t, dst)
		data := mustGQL(t, srv.URL()+"/graphql", "", `{ posts { id title author { id } tags { label } } tags { label } }`, nil)
		if _, ok := data["posts"].([]any); !ok {
			t.Errorf("posts = %v", data["posts"])
		}
	})

	t.Run("--delete-missing drops collections not in the file", func(t *testing.T) {
		only := filepath.Join(t.TempDir(), "only-users.json")
		var list []json.RawMessage
		if err := json.Unmarshal(exported, &list); err != nil {
			t.Fatal(err)
		}
		data, _ := json.Marshal(list[:1]) // users only
		if err := os.WriteFile(only, data, 0o644); err != nil {
			t.Fatal(err)
		}
		// posts relates to tags and both are dropped together.
		mustCLI(t, "--dir", dst, "schema", "import", "--delete-missing", only)
		var names []string
		for _, c := range normalizedExport(t, []byte(mustCLI(t, "--dir", dst, "schema", "export"))) {
			names = append(names, c["name"].(string))
		}
		if !reflect.DeepEqual(names, []string{"users"}) {
			t.Errorf("collections after --delete-missing = %v, want [users]", names)
		}
	})

	t.Run("an invalid file changes nothing", func(t *testing.T) {
		bad := filepath.Join(t.TempDir(), "bad.json")
		if err := os.WriteFile(bad, []byte(`[{"name": "Bad Name!", "type": "BASE", "fields": []}]`), 0o644); err != nil {
			t.Fatal(err)
		}
		before := mustCLI(t, "--dir", dst, "schema", "export")
		if _, _, err := runCLI(t, "--dir", dst, "schema", "import", bad); err == nil {
			t.Fatal("an invalid collection name was imported")
		}
		if after := mustCLI(t, "--dir", dst, "schema", "export"); after != before {
			t.Error("a failed import changed the collections")
		}
	})

	t.Run("a file that is not JSON is refused", func(t *testing.T) {
		bad := filepath.Join(t.TempDir(), "bad.json")
		if err := os.WriteFile(bad, []byte(`not json`), 0o644); err != nil {
			t.Fatal(err)
		}
		_, _, err := runCLI(t, "--dir", dst, "schema", "import", bad)
		if err == nil || !strings.Contains(err.Error(), "not a JSON array") {
			t.Errorf("err = %v", err)
		}
	})
}
