package dynschema

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/monobase/monobase/db"
)

// TestSQLInjection sends injection attempts through every string position a
// client controls. Ann may see only her own record of "vaults"; every
// attempt must end in an error or in rows she may see, never in Bob's
// secret, and the tables must survive.
func TestSQLInjection(t *testing.T) {
	en := newEnv(t)
	ann, annTok := en.user("ann@example.com")
	bob, _ := en.user("bob@example.com")
	users, _ := en.d.Collection("users")
	gate := ownerRule + " || @request.headers.x_token = 'open sesame' || @request.query.k = 'open sesame'"
	en.create(&db.Collection{Name: "vaults", ListRule: sp(gate), ViewRule: sp(gate),
		CreateRule: sp(`@request.body.title != 'forbidden'`), UpdateRule: sp(ownerRule), DeleteRule: sp(ownerRule),
		Fields: []*db.Field{
			{Name: "title", Type: db.FieldText},
			{Name: "views", Type: db.FieldNumber},
			{Name: "author", Type: db.FieldRelation, Collection: users.ID, MaxSelect: 1},
		}})
	en.insert("vaults", db.RecordInput{"title": "ann's note", "views": 1.0, "author": ann.ID()})
	secret := en.insert("vaults", db.RecordInput{"title": "bob's secret", "views": 2.0, "author": bob.ID()})

	payloads := []string{
		`' OR '1'='1`, `' OR 1=1 --`, `") OR 1=1 --`, `'; DROP TABLE vaults; --`, `x' UNION SELECT * FROM vaults --`,
		`%`, `_`, `\`, `\'`, `' || '`, `*/ OR 1=1 /*`, "\x00", `"`, `''`, `1); DELETE FROM vaults; --`,
	}
	check := func(t *testing.T, r *gqlResp) {
		t.Helper()
		if strings.Contains(r.String(), "bob's secret") || strings.Contains(r.String(), secret.ID()) {
			t.Fatalf("leaked: %s", r)
		}
		if r.code() == "INTERNAL_SERVER_ERROR" {
			t.Errorf("internal error (the SQL broke?): %s", r)
		}
	}
	type attempt struct {
		name, query string
		vars        map[string]any
	}
	var attempts []attempt
	for i, p := range payloads {
		q := func(name, query string, vars map[string]any) {
			attempts = append(attempts, attempt{fmt.Sprintf("%s #%d", name, i), query, vars})
		}
		list := `query($s: String) { vaults(%s) { title } }`
		q("filter as a whole", fmt.Sprintf(list, "filter: $s"), map[string]any{"s": p})
		q("filter string value", fmt.Sprintf(list, "filter: $s"), map[string]any{"s": fmt.Sprintf("title = %q", p)})
		q("filter single-quoted value", fmt.Sprintf(list, "filter: $s"), map[string]any{"s": "title ~ '" + p + "'"})
		q("filter after a valid one", fmt.Sprintf(list, "filter: $s"), map[string]any{"s": "views > 0 " + p})
		q("sort", fmt.Sprintf(list, "sort: $s"), map[string]any{"s": p})
		q("sort after a field", fmt.Sprintf(list, "sort: $s"), map[string]any{"s": "-title," + p})
		for _, op := range []string{"eq", "ne", "contains", "notContains", "startsWith", "endsWith", "like", "gt", "lt"} {
			q("where "+op, fmt.Sprintf(`query($s: String) { vaults(where: {title: {%s: $s}}) { title } }`, op), map[string]any{"s": p})
		}
		q("where in", `query($s: String!) { vaults(where: {title: {in: [$s]}, _or: [{title: {notIn: [$s]}}]}) { title } }`, map[string]any{"s": p})
		q("where through a relation", `query($s: String) { vaults(where: {author: {name: {eq: $s}}}) { title } }`, map[string]any{"s": p})
		q("where id", `query($s: ID) { vaults(where: {id: {eq: $s}}) { title } }`, map[string]any{"s": p})
		q("single id", `query($s: ID!) { vault(id: $s) { title } }`, map[string]any{"s": p})
		q("aggregate filter", `query($s: String) { vaultsAggregate(filter: $s) { count } }`, map[string]any{"s": p})
		q("connection filter", `query($s: String) { vaultsConnection(filter: $s) { totalCount edges { node { title } } } }`, map[string]any{"s": p})
		cur := base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprintf(`[%q, %q]`, p, p)))
		q("connection after cursor", `query($s: String) { vaultsConnection(after: $s) { totalCount edges { node { title } } } }`, map[string]any{"s": cur})
		q("connection before cursor", `query($s: String) { vaultsConnection(last: 5, before: $s) { edges { node { title } } } }`, map[string]any{"s": cur})
		q("raw cursor", `query($s: String) { vaultsConnection(after: $s) { edges { node { title } } } }`, map[string]any{"s": p})
		q("back-relation filter", `query($s: String) { me { ... on User { vaultsViaAuthor(filter: $s) { title } } } }`, map[string]any{"s": p})
		q("update id", `mutation($s: ID!) { updateVault(id: $s, input: {title: "x"}) { title } }`, map[string]any{"s": p})
		q("delete id", `mutation($s: ID!) { deleteVault(id: $s) { title } }`, map[string]any{"s": p})
		q("create body against a body rule", `mutation($s: String) { createVault(input: {title: $s}) { title } }`, map[string]any{"s": p})
	}
	attempts = append(attempts,
		attempt{"the filter cannot reach @collection", `{ vaults(filter: "@collection.vaults.title ?= 'bob''s secret'") { title } }`, nil},
		attempt{"the filter cannot read @request", `{ vaults(filter: "@request.auth.id = ''") { title } }`, nil},
		attempt{"an orderBy outside the enum", `{ vaults(orderBy: [{title: "ASC; DROP TABLE vaults"}]) { title } }`, nil},
	)
	for _, a := range attempts {
		t.Run(a.name, func(t *testing.T) {
			check(t, en.gql(annTok, a.query, a.vars))
		})
	}

	t.Run("request values bound by the rule", func(t *testing.T) {
		for _, p := range payloads {
			check(t, en.gqlWith(annTok, "k="+url.QueryEscape(p), nil, `{ vaults { title } }`, nil))
			if strings.ContainsRune(p, 0) {
				continue // not a valid header value: net/http refuses it
			}
			for _, h := range []http.Header{{"X-Token": {p}}, {"X-Token": {"open sesame' OR '1'='1"}}} {
				check(t, en.gqlWith(annTok, "", h, `{ vaults { title } }`, nil))
			}
		}
		// The gate itself still works: the rule reads the request values.
		r := en.gqlWith("", "", http.Header{"X-Token": {"open sesame"}}, `query($id: ID!) { vault(id: $id) { title } }`, map[string]any{"id": secret.ID()}).ok(t)
		jsonEq(t, r.Data, `{"vault":{"title":"bob's secret"}}`)
	})

	t.Run("the data survived", func(t *testing.T) {
		r := en.gql(en.superuser(), `{ vaults(orderBy: [{title: ASC}], filter: "title ~ 'note' || title ~ 'secret'") { title } users { email } }`, nil).ok(t)
		jsonEq(t, r.Data, `{"vaults":[{"title":"ann's note"},{"title":"bob's secret"}],"users":[{"email":"ann@example.com"},{"email":"bob@example.com"}]}`)
	})
	t.Run("Ann still sees her own record", func(t *testing.T) {
		r := en.gql(annTok, `{ vaults { title } }`, nil).ok(t)
		jsonEq(t, r.Data, `{"vaults":[{"title":"ann's note"}]}`)
	})
}
