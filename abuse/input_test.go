package abuse

import (
	"bytes"
	"encoding/json"
	"math"
	"net/http"
	"strings"
	"testing"
)

// inputAttacks lists the cases of this group (harness_test.go runs them).
func inputAttacks() []attack {
	return []attack{
		{"input_text_without_max", textWithoutMax},
		{"input_nested_where", nestedWhere},
		{"input_int_increment_overflow", intIncrementOverflow},
		{"input_view_over_system_tables", viewOverSystemTables},
		{"input_field_named_like_a_system_field", systemFieldNames},
	}
}

// inpPosts creates, once per suite, the collection inp_posts that anyone
// may list, create and update: a TEXT title without max and an integer
// views.
func inpPosts(s *server) {
	s.t.Helper()
	r := s.GraphQL("/graphql/admin", s.AdminToken, `{ collection(idOrName: "inp_posts") { id } }`, nil)
	if r.Field("collection") != nil {
		return
	}
	s.CreateCollection(map[string]any{
		"name": "inp_posts", "listRule": "", "viewRule": "", "createRule": "", "updateRule": "",
		"fields": []any{
			map[string]any{"name": "title", "type": "TEXT"},
			map[string]any{"name": "views", "type": "NUMBER", "onlyInt": true},
		},
	})
}

const createInpPost = `mutation($in: InpPostCreateInput!) { createInpPost(input: $in) { id } }`

// textWithoutMax: a TEXT field without max takes at most 5,000 characters
// (PocketBase's default); 30 MiB sent anonymously is refused, by the body
// limit or by the field.
func textWithoutMax(t *testing.T, s *server) {
	inpPosts(s)
	r := s.GraphQL("/graphql", "", createInpPost, map[string]any{"in": map[string]any{"title": strings.Repeat("a", 5000)}})
	if r.Code() != "" || r.Field("createInpPost") == nil {
		t.Fatalf("5,000 characters refused: %s", tail(r.Body, 512))
	}
	r = s.GraphQL("/graphql", "", createInpPost, map[string]any{"in": map[string]any{"title": strings.Repeat("a", 6000)}})
	refused(t, r, 0, "BAD_USER_INPUT")
	if !bytes.Contains(r.Body, []byte(`"title"`)) || !bytes.Contains(r.Body, []byte("too_long")) {
		t.Errorf("the error does not name the title: %s", tail(r.Body, 512))
	}

	var body bytes.Buffer
	body.WriteString(`{"query":"mutation($in: InpPostCreateInput!) { createInpPost(input: $in) { id } }","variables":{"in":{"title":"`)
	body.Write(bytes.Repeat([]byte("a"), 30<<20))
	body.WriteString(`"}}}`)
	r = s.Post("/graphql", "application/json", &body, "")
	if r.Status != http.StatusRequestEntityTooLarge && r.Code() != "BAD_USER_INPUT" && r.Code() != "PAYLOAD_TOO_LARGE" {
		t.Errorf("a 30 MiB title: status %d, code %q: %s", r.Status, r.Code(), tail(r.Body, 512))
	}
	if r.Field("createInpPost") != nil {
		t.Errorf("a 30 MiB title was stored")
	}
	t.Logf("a 30 MiB title: status %d, code %s", r.Status, r.Code())
}

// nestedWhere: deep or huge where and filter inputs are BAD_USER_INPUT, not
// SQLite's "Expression tree is too large" as an internal error.
func nestedWhere(t *testing.T, s *server) {
	inpPosts(s)
	const list = `query($w: InpPostWhere, $f: String) { inpPosts(where: $w, filter: $f) { id } }`
	w := map[string]any{"title": map[string]any{"eq": "x"}}
	for range 3000 {
		w = map[string]any{"_not": w}
	}
	refused(t, s.GraphQL("/graphql", "", list, map[string]any{"w": w}), 0, "BAD_USER_INPUT")

	items := make([]any, 5000)
	for i := range items {
		items[i] = map[string]any{}
	}
	refused(t, s.GraphQL("/graphql", "", list, map[string]any{"w": map[string]any{"_or": items}}), 0, "BAD_USER_INPUT")

	for i := range items {
		items[i] = map[string]any{"title": map[string]any{"in": []string{"a", "b", "c"}}}
	}
	refused(t, s.GraphQL("/graphql", "", list, map[string]any{"w": map[string]any{"_or": items}}), 0, "BAD_USER_INPUT")

	deep := strings.Repeat("(", 1700) + "title = 'x'" + strings.Repeat(")", 1700)
	refused(t, s.GraphQL("/graphql", "", list, map[string]any{"f": deep}), 0, "BAD_USER_INPUT")
}

// intIncrementOverflow: an integer field is a GraphQL Int (32 bits); an
// increment past it is refused and changes nothing.
func intIncrementOverflow(t *testing.T, s *server) {
	inpPosts(s)
	r := s.GraphQL("/graphql", "", createInpPost, map[string]any{"in": map[string]any{"title": "counter", "views": math.MaxInt32}})
	id, _ := r.Field("createInpPost", "id").(string)
	if id == "" {
		t.Fatalf("create: %s", tail(r.Body, 512))
	}
	const upd = `mutation($id: ID!, $in: InpPostUpdateInput!) { updateInpPost(id: $id, input: $in) { views } }`
	for _, in := range []map[string]any{
		{"viewsIncrement": 1},
		{"viewsIncrement": math.MaxInt32},
		{"views": 1 << 40},
	} {
		refused(t, s.GraphQL("/graphql", "", upd, map[string]any{"id": id, "in": in}), 0, "BAD_USER_INPUT")
	}
	r = s.GraphQL("/graphql", "", `query($id: ID!) { inpPost(id: $id) { views } }`, map[string]any{"id": id})
	if n, _ := r.Field("inpPost", "views").(float64); n != math.MaxInt32 || r.Code() != "" {
		t.Errorf("after refused increments: %s", tail(r.Body, 512))
	}
}

// viewOverSystemTables: a VIEW collection may not read _superusers,
// _params or any other system table, however the query is written.
func viewOverSystemTables(t *testing.T, s *server) {
	inpPosts(s)
	const create = `mutation($in: CollectionInput!) { createCollection(input: $in) { id } }`
	for _, q := range []string{
		`SELECT id, password FROM _superusers`,
		`SELECT key AS id, value AS v FROM main."_params"`,
		`WITH x AS (SELECT * FROM [_superusers]) SELECT id, tokenKey FROM x`,
		`SELECT p.id, (SELECT password FROM _superusers LIMIT 1) AS h FROM inp_posts p`,
		`SELECT name AS id, sql FROM sqlite_master`,
	} {
		r := s.GraphQL("/graphql/admin", s.AdminToken, create, map[string]any{"in": map[string]any{"name": "inp_leak", "type": "VIEW", "viewQuery": q}})
		refused(t, r, 0, "BAD_USER_INPUT")
		if !bytes.Contains(r.Body, []byte("viewQuery")) {
			t.Errorf("%s: the error does not name viewQuery: %s", q, tail(r.Body, 512))
		}
	}
	r := s.GraphQL("/graphql/admin", s.AdminToken, `{ collection(idOrName: "inp_leak") { id } }`, nil)
	if r.Field("collection") != nil {
		t.Errorf("a view over a system table was created")
	}
}

// systemFieldNames: a field named like a system field with other options
// is refused, not silently ignored.
func systemFieldNames(t *testing.T, s *server) {
	const create = `mutation($in: CollectionInput!) { createCollection(input: $in) { id } }`
	for _, f := range []map[string]any{
		{"name": "id", "type": "TEXT", "max": 100},
		{"name": "id", "type": "NUMBER"},
		{"name": "created", "type": "TEXT"},
		{"name": "updated", "type": "AUTODATE", "onCreate": true, "hidden": true},
	} {
		r := s.GraphQL("/graphql/admin", s.AdminToken, create, map[string]any{"in": map[string]any{"name": "inp_ids", "fields": []any{f}}})
		refused(t, r, 0, "BAD_USER_INPUT")
		var body struct {
			Errors []struct {
				Extensions struct {
					Fields map[string]any `json:"fields"`
				} `json:"extensions"`
			} `json:"errors"`
		}
		_ = json.Unmarshal(r.Body, &body)
		named := false
		for _, e := range body.Errors {
			for k := range e.Extensions.Fields {
				named = named || strings.HasPrefix(k, "fields.0.")
			}
		}
		if !named {
			t.Errorf("%v: the error does not name the field: %s", f, tail(r.Body, 512))
		}
	}
}
