package db

import (
	"context"
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/monobase/monobase/apperr"
)

// Tests of the bounds on input values and definitions (issue 9, items 11
// and 12): default maxima of TEXT, EDITOR and JSON, 32-bit integer fields,
// names of system fields and views over system tables.

func TestFieldDefaultMaxima(t *testing.T) {
	d := openTest(t)
	c := mustCreate(t, d, &Collection{Name: "notes", Fields: []*Field{
		{Name: "title", Type: FieldText},
		{Name: "zero", Type: FieldText, Max: fptr(0)},
		{Name: "long", Type: FieldText, Max: fptr(10000)},
		{Name: "body", Type: FieldEditor},
		{Name: "meta", Type: FieldJSON},
		{Name: "small", Type: FieldJSON, MaxSize: 10},
	}})
	big := strings.Repeat("x", DefaultEditorMaxSize)
	cases := []struct {
		name  string
		input RecordInput
		field string // the refused field, "" when accepted
		code  string
	}{
		{"TEXT at the default max", RecordInput{"title": strings.Repeat("é", DefaultTextMaxChars)}, "", ""},
		{"TEXT over the default max", RecordInput{"title": strings.Repeat("é", DefaultTextMaxChars+1)}, "title", "too_long"},
		{"TEXT of 30 MiB", RecordInput{"title": strings.Repeat("x", 30<<20)}, "title", "too_long"},
		{"TEXT with max 0 takes the default", RecordInput{"zero": strings.Repeat("x", DefaultTextMaxChars+1)}, "zero", "too_long"},
		{"TEXT with its own larger max", RecordInput{"long": strings.Repeat("x", 6000)}, "", ""},
		{"EDITOR at the default max", RecordInput{"body": big}, "", ""},
		{"EDITOR over the default max", RecordInput{"body": big + "x"}, "body", "too_large"},
		{"JSON over the default max", RecordInput{"meta": []any{big}}, "meta", "too_large"},
		{"JSON with its own max", RecordInput{"small": "0123456789"}, "small", "too_large"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := len(findAll(t, d, c))
			_, err := insert(t, d, c, tc.input)
			if tc.field == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			fe := fieldErrs(t, err)
			if fe[tc.field].Code != tc.code {
				t.Fatalf("errors = %v, want %s on %s", fe, tc.code, tc.field)
			}
			if n := len(findAll(t, d, c)); n != before {
				t.Fatalf("%d records after a refused insert, want %d", n, before)
			}
		})
	}

	t.Run("updates are bounded too", func(t *testing.T) {
		rec := mustInsert(t, d, c, RecordInput{"title": "a"})
		tx, err := d.Begin(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		_, err = tx.Update(c, rec.ID(), RecordPatch{Set: RecordInput{"title": strings.Repeat("x", DefaultTextMaxChars+1)}})
		if fieldErrs(t, err)["title"].Code != "too_long" {
			t.Fatalf("err = %v", err)
		}
	})

	t.Run("the definition keeps max unset", func(t *testing.T) {
		got, err := d.Collection("notes")
		if err != nil {
			t.Fatal(err)
		}
		if f := got.FieldByName("title"); f.Max != nil {
			t.Errorf("title max = %v, want unset", *f.Max)
		}
		if f := got.FieldByName("body"); f.MaxSize != 0 {
			t.Errorf("body maxSize = %d, want unset", f.MaxSize)
		}
		b, _ := json.Marshal(got.FieldByName("title"))
		if strings.Contains(string(b), `"max"`) {
			t.Errorf("the stored title field shows a max: %s", b)
		}
	})

	t.Run("FieldLimits replace the defaults", func(t *testing.T) {
		d.FieldLimits = FieldLimits{TextMaxChars: 3, EditorMaxSize: 4, JSONMaxSize: 5}
		defer func() { d.FieldLimits = FieldLimits{} }()
		_, err := insert(t, d, c, RecordInput{"title": "abcd", "body": "abcde", "meta": "abcdef", "long": "abcd"})
		fe := fieldErrs(t, err)
		for _, k := range []string{"title", "body", "meta"} {
			if _, ok := fe[k]; !ok {
				t.Errorf("%s accepted over its limit: %v", k, fe)
			}
		}
		if _, ok := fe["long"]; ok {
			t.Errorf("a field's own max lost to the default: %v", fe)
		}
	})
}

func TestIntFieldsStay32Bit(t *testing.T) {
	ctx := context.Background()
	d := openTest(t)
	c := mustCreate(t, d, &Collection{Name: "counters", Fields: []*Field{
		{Name: "views", Type: FieldNumber, OnlyInt: true},
		{Name: "score", Type: FieldNumber},
		{Name: "capped", Type: FieldNumber, OnlyInt: true, Min: fptr(0), Max: fptr(10)},
	}})
	rec := mustInsert(t, d, c, RecordInput{"views": math.MaxInt32 - 1, "score": 0, "capped": 9})
	update := func(p RecordPatch) error {
		tx, err := d.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		if _, err := tx.Update(c, rec.ID(), p); err != nil {
			return err
		}
		return tx.Commit()
	}
	current := func() Record {
		recs := findAll(t, d, c)
		if len(recs) != 1 {
			t.Fatalf("records: %v", recs)
		}
		return recs[0]
	}
	cases := []struct {
		name  string
		patch RecordPatch
		field string // refused field, "" when accepted
		code  string
	}{
		{"increment up to MaxInt32", RecordPatch{Increment: map[string]float64{"views": 1}}, "", ""},
		{"increment past MaxInt32", RecordPatch{Increment: map[string]float64{"views": 1}}, "views", "too_large"},
		{"set past MaxInt32", RecordPatch{Set: RecordInput{"views": float64(math.MaxInt32) + 1}}, "views", "too_large"},
		{"set below MinInt32", RecordPatch{Set: RecordInput{"views": float64(math.MinInt32) - 1}}, "views", "too_small"},
		{"a float field is not bounded to 32 bits", RecordPatch{Increment: map[string]float64{"score": 3e9}}, "", ""},
		{"increment past the field's max", RecordPatch{Increment: map[string]float64{"capped": 2}}, "capped", "too_large"},
		{"increment below the field's min", RecordPatch{Increment: map[string]float64{"capped": -10}}, "capped", "too_small"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := current()
			err := update(tc.patch)
			if tc.field == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if fe := fieldErrs(t, err); fe[tc.field].Code != tc.code {
				t.Fatalf("errors = %v, want %s on %s", fe, tc.code, tc.field)
			}
			after := current()
			for _, k := range []string{"views", "score", "capped", "updated"} {
				if after[k] != before[k] {
					t.Errorf("%s changed from %v to %v by a refused update", k, before[k], after[k])
				}
			}
		})
	}
	if got := current()["views"]; got != float64(math.MaxInt32) {
		t.Errorf("views = %v, want %d", got, math.MaxInt32)
	}

	t.Run("turning onlyInt on checks the stored values", func(t *testing.T) {
		for _, v := range []float64{3e9, 1.5} {
			if err := update(RecordPatch{Set: RecordInput{"score": v}}); err != nil {
				t.Fatal(err)
			}
			n := cloneCollection(c)
			n.FieldByName("score").OnlyInt = true
			before := schemaState(t, d)
			_, err := d.UpdateCollection(ctx, c.ID, n)
			if fe := fieldErrs(t, err); fe["fields.2.onlyInt"].Code != "invalid" {
				t.Fatalf("value %v: errors = %v", v, fe)
			}
			if schemaState(t, d) != before {
				t.Fatal("a refused change changed the schema")
			}
		}
		if err := update(RecordPatch{Set: RecordInput{"score": 42}}); err != nil {
			t.Fatal(err)
		}
		n := cloneCollection(c)
		n.FieldByName("score").OnlyInt = true
		if _, err := d.UpdateCollection(ctx, c.ID, n); err != nil {
			t.Fatalf("integer values refused: %v", err)
		}
	})
}

func TestFieldsNamedLikeSystemFields(t *testing.T) {
	ctx := context.Background()
	d := openTest(t)
	cases := []struct {
		name   string
		typ    CollectionType
		fields []*Field
		key    string // the refused key, "" when accepted
	}{
		{"id of another type", TypeBase, []*Field{{Name: "id", Type: FieldNumber}}, "fields.0.type"},
		{"id with a max", TypeBase, []*Field{{Name: "id", Type: FieldText, Max: fptr(100)}}, "fields.0.max"},
		{"id with a pattern", TypeBase, []*Field{{Name: "id", Type: FieldText, Pattern: "^[0-9]+$"}}, "fields.0.pattern"},
		{"id hidden", TypeBase, []*Field{{Name: "id", Hidden: true}}, "fields.0.hidden"},
		{"ID in another case", TypeBase, []*Field{{Name: "ID", Type: FieldText}}, "fields.0.name"},
		{"created as text", TypeBase, []*Field{{Name: "created", Type: FieldText}}, "fields.0.type"},
		{"updated required", TypeBase, []*Field{{Name: "updated", Type: FieldAutodate, OnCreate: true, Required: true}}, "fields.0.required"},
		{"email with a max", TypeAuth, []*Field{{Name: "email", Type: FieldEmail, MaxSize: 10}}, "fields.0.maxSize"},
		{"password as text", TypeAuth, []*Field{{Name: "password", Type: FieldText}}, "fields.0.type"},
		{"tokenKey with a shorter max", TypeAuth, []*Field{{Name: "tokenKey", Type: FieldText, Max: fptr(10)}}, "fields.0.max"},
		{"verified required", TypeAuth, []*Field{{Name: "verified", Type: FieldBool, Required: true}}, "fields.0.required"},
		{"expand", TypeBase, []*Field{{Name: "expand", Type: FieldText}}, "fields.0.name"},
		{"id listed as it is", TypeBase, []*Field{{Name: "id"}, {Name: "title", Type: FieldText}}, ""},
		{"id sent back whole", TypeBase, []*Field{systemField("id")}, ""},
		{"email with its domains", TypeAuth, []*Field{{Name: "email", Type: FieldEmail, OnlyDomains: []string{"example.com"}}}, ""},
		{"password with a longer min", TypeAuth, []*Field{{Name: "password", Type: FieldPassword, Min: fptr(12)}}, ""},
		{"email in a base collection is a user field", TypeBase, []*Field{{Name: "email", Type: FieldText, Max: fptr(9)}}, ""},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := schemaState(t, d)
			_, err := d.CreateCollection(ctx, &Collection{Name: "c" + string(rune('a'+i)), Type: tc.typ, Fields: tc.fields})
			if tc.key == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			fe := fieldErrs(t, err)
			if _, ok := fe[tc.key]; !ok {
				t.Fatalf("errors = %v, want one on %s", fe, tc.key)
			}
			if schemaState(t, d) != before {
				t.Fatal("a refused definition changed the schema")
			}
		})
	}

	t.Run("a definition read back updates unchanged", func(t *testing.T) {
		users, err := d.Collection("users")
		if err != nil {
			t.Fatal(err)
		}
		got, err := d.UpdateCollection(ctx, "users", cloneCollection(users))
		if err != nil {
			t.Fatalf("refused: %v", err)
		}
		if toJSON(t, got.Fields) != toJSON(t, users.Fields) {
			t.Errorf("fields changed:\n%s\n%s", toJSON(t, got.Fields), toJSON(t, users.Fields))
		}
	})
	t.Run("an update can't change a fixed option of a system field", func(t *testing.T) {
		users, _ := d.Collection("users")
		n := cloneCollection(users)
		n.FieldByName("tokenKey").Min = fptr(1)
		_, err := d.UpdateCollection(ctx, "users", n)
		for k := range fieldErrs(t, err) {
			if !strings.HasSuffix(k, ".min") {
				t.Errorf("error on %s, want on the tokenKey's min", k)
			}
		}
	})
}

func TestViewsCantReadSystemTables(t *testing.T) {
	ctx := context.Background()
	d := openTest(t)
	mustCreate(t, d, &Collection{Name: "posts", Fields: []*Field{{Name: "title", Type: FieldText}}})
	// A plain view (not a collection) over _superusers: a view
	// collection over it reads _superusers too.
	if _, err := d.writer.DB.ExecContext(ctx, `CREATE VIEW "hidden_admins" AS SELECT "id", "password" FROM "_superusers"`); err != nil {
		t.Fatal(err)
	}
	refused := map[string]string{
		"plain":                 `SELECT id, password FROM _superusers`,
		"alias and quoting":     `SELECT s.id AS id, s."password" AS p FROM "_superusers" AS s`,
		"main prefix":           `SELECT key AS id, value AS v FROM main._params`,
		"brackets":              `SELECT key AS id, value AS v FROM [_params]`,
		"CTE":                   `WITH x AS (SELECT * FROM _superusers) SELECT id, email FROM x`,
		"scalar subquery":       `SELECT p.id, (SELECT password FROM _superusers LIMIT 1) AS h FROM posts p`,
		"in the WHERE only":     `SELECT id FROM posts WHERE EXISTS (SELECT 1 FROM _superusers WHERE substr(password, 1, 4) = '$2a$')`,
		"union":                 `SELECT id, title FROM posts UNION ALL SELECT id, tokenKey FROM _superusers`,
		"an index only":         `SELECT email AS id FROM _superusers ORDER BY email`,
		"definitions":           `SELECT id, data FROM _collections`,
		"migrations":            `SELECT CAST(id AS TEXT) AS id, name FROM _migrations`,
		"schema":                `SELECT name AS id, sql FROM sqlite_schema`,
		"schema by an old name": `SELECT name AS id, sql FROM SQLITE_MASTER`,
		"a view over a view":    `SELECT id, password AS p FROM hidden_admins`,
	}
	if d.Engine() == EnginePostgres {
		// SQLite's names and syntax become PostgreSQL's: the schema
		// prefix is the current schema, the catalogs are pg_catalog's and
		// information_schema's, and SQL run from text must not escape.
		delete(refused, "brackets")
		delete(refused, "schema by an old name")
		refused["union"] = `SELECT id, title FROM posts UNION ALL SELECT id, "tokenKey" FROM _superusers`
		refused["main prefix"] = `SELECT key AS id, value AS v FROM ` + quoteIdent(pgSchemaName(t, d)) + `._params`
		refused["schema"] = `SELECT relname::text AS id, relkind::text AS k FROM pg_class`
		refused["information_schema"] = `SELECT table_name::text AS id FROM information_schema.tables`
		refused["catalog functions"] = `SELECT p.id, pg_catalog.query_to_xml('SELECT password FROM _superusers', true, false, '')::text AS x FROM posts p`
		refused["another schema"] = `SELECT nspname::text AS id FROM pg_namespace`
	}
	for name, q := range refused {
		t.Run(name, func(t *testing.T) {
			before := schemaState(t, d)
			_, err := d.CreateCollection(ctx, &Collection{Name: "leak", Type: TypeView, ViewQuery: q})
			fe := fieldErrs(t, err)
			if fe["viewQuery"].Code != "forbidden" {
				t.Fatalf("errors = %v, want forbidden on viewQuery", fe)
			}
			if schemaState(t, d) != before {
				t.Fatal("a refused view changed the schema")
			}
		})
	}
	t.Run("views over user collections work", func(t *testing.T) {
		v := mustCreate(t, d, &Collection{Name: "titles", Type: TypeView,
			ViewQuery: `SELECT p.id, p.title, u.email FROM posts p LEFT JOIN users u ON u.id = p.title`})
		n := cloneCollection(v)
		n.ViewQuery = `SELECT id, password FROM _superusers`
		_, err := d.UpdateCollection(ctx, v.ID, n)
		if fieldErrs(t, err)["viewQuery"].Code != "forbidden" {
			t.Fatalf("update to a system table: %v", err)
		}
	})
}

// pgSchemaName returns the PostgreSQL schema d works in.
func pgSchemaName(t *testing.T, d *DB) string {
	t.Helper()
	var n string
	if err := d.readers.DB.QueryRow(`SELECT current_schema()`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestFieldLimitsErrorsAreBadUserInput(t *testing.T) {
	// NormalizeValue (the exported form) applies the defaults too.
	_, err := NormalizeValue(&Field{Name: "t", Type: FieldText}, strings.Repeat("x", DefaultTextMaxChars+1))
	if !apperr.Is(err, apperr.Invalid) || apperr.As(err).Fields["t"].Code != "too_long" {
		t.Fatalf("err = %v", err)
	}
}
