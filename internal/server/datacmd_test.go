package server

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/monobase/monobase/internal/testdb"
)

// runOn runs one command line on the data folder dir and the database
// dbURL ("sqlite" for SQLite in dir), whatever the test run's engine.
func runOn(t *testing.T, dir, dbURL string, args ...string) (string, error) {
	t.Helper()
	return runOnEnv(t, dir, dbURL, nil, args...)
}

// runOnEnv is runOn with the environment variables env.
func runOnEnv(t *testing.T, dir, dbURL string, env map[string]string, args ...string) (string, error) {
	t.Helper()
	var o, e bytes.Buffer
	m := &Main{Stdin: strings.NewReader(""), Stdout: &o, Stderr: &e, Getenv: func(k string) string { return env[k] }}
	err := m.Run(context.Background(), append([]string{"--dir", dir, "--db", dbURL}, args...))
	return o.String() + e.String(), err
}

// mustRunOn is runOn that fails the test on error.
func mustRunOn(t *testing.T, dir, dbURL string, args ...string) string {
	t.Helper()
	out, err := runOn(t, dir, dbURL, args...)
	if err != nil {
		t.Fatalf("monobase %v on %s: %v\n%s", args, dir, err, out)
	}
	return out
}

// seedEverything fills the server's database with a collection of every
// field type, relations (single, multiple, to an auth collection), an
// index, a view, a superuser, a user and settings; it returns the user's
// token and the application API's answers to compare after a move.
func seedEverything(t *testing.T, base string) (userToken string, answers map[string]any) {
	t.Helper()
	admin := signIn(t, base, "admin@example.com", "admin-password")
	mustGQL(t, base+"/graphql/admin", admin, `mutation { updateSettings(input: {rateLimits: {enabled: false}, meta: {appName: "moved"}}) { meta { appName } } }`, nil)
	tags := mustGQL(t, base+"/graphql/admin", admin, `mutation { createCollection(input: {name: "tags", listRule: "", viewRule: "", createRule: "",
		fields: [{name: "label", type: TEXT, required: true}],
		indexes: ["CREATE UNIQUE INDEX idx_tags_label ON tags (label)"]}) { id } }`, nil)["createCollection"].(map[string]any)["id"]
	users := mustGQL(t, base+"/graphql/admin", admin, `{ collection(idOrName: "users") { id } }`, nil)["collection"].(map[string]any)["id"]
	mustGQL(t, base+"/graphql/admin", admin, `mutation($tags: String!, $users: String!) { createCollection(input: {name: "items",
		listRule: "", viewRule: "", createRule: "",
		fields: [{name: "title", type: TEXT}, {name: "body", type: EDITOR}, {name: "price", type: NUMBER},
			{name: "count", type: NUMBER, onlyInt: true}, {name: "done", type: BOOL}, {name: "mail", type: EMAIL},
			{name: "site", type: URL}, {name: "due", type: DATE}, {name: "status", type: SELECT, values: ["a", "b", "c"], maxSelect: 1},
			{name: "flags", type: SELECT, values: ["x", "y", "z"], maxSelect: 3}, {name: "meta", type: JSON},
			{name: "place", type: GEOPOINT}, {name: "tags", type: RELATION, collection: $tags, maxSelect: 5},
			{name: "owner", type: RELATION, collection: $users, maxSelect: 1}, {name: "stamp", type: AUTODATE, onCreate: true}]}) { id } }`,
		map[string]any{"tags": tags, "users": users})
	mustGQL(t, base+"/graphql/admin", admin, `mutation { createCollection(input: {name: "titles", type: VIEW, listRule: "",
		viewQuery: "SELECT id, title, price FROM items"}) { id } }`, nil)

	uid := mustGQL(t, base+"/graphql", "", `mutation { createUser(input: {email: "ann@example.com", password: "ann-password-1", passwordConfirm: "ann-password-1", name: "Ann"}) { id } }`, nil)["createUser"].(map[string]any)["id"]
	t1 := mustGQL(t, base+"/graphql", "", `mutation { createTag(input: {label: "red"}) { id } }`, nil)["createTag"].(map[string]any)["id"]
	t2 := mustGQL(t, base+"/graphql", "", `mutation { createTag(input: {label: "blue"}) { id } }`, nil)["createTag"].(map[string]any)["id"]
	for i, in := range []map[string]any{
		{"title": "first", "body": "<p>hi</p>", "price": 12.5, "count": 3, "done": true, "mail": "a@example.com",
			"site": "https://example.com", "due": "2025-03-04 05:06:07.890Z", "status": "b", "flags": []string{"x", "z"},
			"meta": map[string]any{"n": 1, "list": []any{"a", true, nil}}, "place": map[string]any{"lon": 2.35, "lat": 48.85},
			"tags": []any{t1, t2}, "owner": uid},
		{"title": "second", "price": -0.25, "count": 0, "done": false},
		{},
	} {
		r := gql(t, base+"/graphql", "", `mutation($in: ItemCreateInput!) { createItem(input: $in) { id } }`, map[string]any{"in": in})
		if len(r.Errors) > 0 {
			t.Fatalf("createItem %d: %+v", i, r.Errors)
		}
	}
	tok := mustGQL(t, base+"/graphql", "", `mutation { userAuthWithPassword(identity: "ann@example.com", password: "ann-password-1") { token } }`, nil)
	userToken = tok["userAuthWithPassword"].(map[string]any)["token"].(string)
	return userToken, readEverything(t, base, userToken)
}

// readEverything returns what the application API answers about the
// seeded data (records with their relations, the view, the user).
func readEverything(t *testing.T, base, userToken string) map[string]any {
	t.Helper()
	data := mustGQL(t, base+"/graphql", "", `{
		items { id title body price count done mail site due status flags meta place { lon lat } tags { id label } owner { id } stamp created updated }
		titles { id title price }
		tags { id label } }`, nil)
	data["me"] = mustGQL(t, base+"/graphql", userToken, `{ me { id email ... on User { name created } } }`, nil)["me"]
	return data
}

// exportLines returns an export-data file's lines without the header's
// engine (the one thing that differs between engines).
func exportLines(t *testing.T, file string) []string {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasSuffix(file, ".gz") {
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		if raw, err = io.ReadAll(zr); err != nil {
			t.Fatal(err)
		}
	}
	lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
	var h map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &h); err != nil {
		t.Fatalf("header: %v", err)
	}
	delete(h, "engine")
	first, _ := json.Marshal(h)
	lines[0] = string(first)
	return lines
}

// TestExportImportDataRoundTrip moves a SQLite data folder to the test
// run's engine (PostgreSQL on the PostgreSQL pass of scripts/test.sh) and
// back to SQLite: the exports of the three are identical row for row, the
// API answers the same, the user signs in with the same password and the
// token issued before the move stays valid.
func TestExportImportDataRoundTrip(t *testing.T) {
	tmp := t.TempDir()
	dirA, dirB, dirC := filepath.Join(tmp, "a"), filepath.Join(tmp, "b"), filepath.Join(tmp, "c")
	dbB := testdb.URL(t, dirB)
	if dbB == "" {
		dbB = "sqlite"
	}
	fileA, fileB, fileC := filepath.Join(tmp, "a.jsonl"), filepath.Join(tmp, "b.jsonl.gz"), filepath.Join(tmp, "c.jsonl")

	mustRunOn(t, dirA, "sqlite", "superuser", "upsert", "admin@example.com", "admin-password")
	srvA, _ := startServerWith(t, dirA, func(c *ServeCommand) { c.Database = "sqlite" })
	userToken, before := seedEverything(t, srvA.URL())
	if out := mustRunOn(t, dirA, "sqlite", "export-data", fileA); !strings.Contains(out, "Exported 5 collections") {
		t.Fatalf("export-data: %s", out)
	}

	// A → B (the run's engine) → C (SQLite).
	if out := mustRunOn(t, dirB, dbB, "import-data", fileA); !strings.Contains(out, "Imported 5 collections") {
		t.Fatalf("import-data: %s", out)
	}
	mustRunOn(t, dirB, dbB, "export-data", fileB)
	mustRunOn(t, dirC, "sqlite", "import-data", fileB)
	mustRunOn(t, dirC, "sqlite", "export-data", fileC)
	a, b, c := exportLines(t, fileA), exportLines(t, fileB), exportLines(t, fileC)
	if !reflect.DeepEqual(a, b) {
		t.Errorf("the export of %s differs from the SQLite original:\n%s\n---\n%s", dbB, strings.Join(a, "\n"), strings.Join(b, "\n"))
	}
	if !reflect.DeepEqual(a, c) {
		t.Errorf("the export after SQLite → %s → SQLite differs from the original:\n%s\n---\n%s", dbB, strings.Join(a, "\n"), strings.Join(c, "\n"))
	}

	// A second import into a database that has data is refused.
	if out, err := runOn(t, dirC, "sqlite", "import-data", fileA); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("import-data into a non-empty database: %v\n%s", err, out)
	}

	for name, where := range map[string][2]string{"B": {dirB, dbB}, "C": {dirC, "sqlite"}} {
		srv, _ := startServerWith(t, where[0], func(c *ServeCommand) { c.Database = where[1] })
		base := srv.URL()
		if after := readEverything(t, base, userToken); !reflect.DeepEqual(before, after) {
			t.Errorf("%s: the API answers differently after the move:\nbefore %v\nafter  %v", name, before, after)
		}
		mustGQL(t, base+"/graphql", "", `mutation { userAuthWithPassword(identity: "ann@example.com", password: "ann-password-1") { token } }`, nil)
		admin := signIn(t, base, "admin@example.com", "admin-password")
		got := mustGQL(t, base+"/graphql/admin", admin, `{ settings { meta { appName } } }`, nil)
		if !strings.Contains(mustJSON(t, got), `"appName":"moved"`) {
			t.Errorf("%s: settings after the move: %v", name, got)
		}
		// The unique index came along.
		if r := gql(t, base+"/graphql", "", `mutation { createTag(input: {label: "red"}) { id } }`, nil); r.errCode() != "BAD_USER_INPUT" {
			t.Errorf("%s: a duplicate tag label: %+v, want BAD_USER_INPUT", name, r.Errors)
		}
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
