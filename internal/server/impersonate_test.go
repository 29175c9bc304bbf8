package server

import "testing"

// TestServeImpersonate: a superuser impersonates a record on the admin
// API; the token reads as that record on /graphql and is not refreshable.
func TestServeImpersonate(t *testing.T) {
	dir := t.TempDir()
	mustCLI(t, "--dir", dir, "superuser", "upsert", "admin@example.com", "admin-password")
	c, _ := startServer(t, dir)
	app, admin := c.URL()+"/graphql", c.URL()+"/graphql/admin"
	data := mustGQL(t, app, "", `mutation { createUser(input: {email: "ann@example.com", password: "ann-password-1", passwordConfirm: "ann-password-1"}) { id } }`, nil)
	id := data["createUser"].(map[string]any)["id"].(string)

	root := signIn(t, c.URL(), "admin@example.com", "admin-password")
	data = mustGQL(t, admin, root, `mutation($id: ID!) { impersonate(collection: "users", recordId: $id) { token record } }`, map[string]any{"id": id})
	imp := data["impersonate"].(map[string]any)
	token := imp["token"].(string)
	if rec := imp["record"].(map[string]any); rec["email"] != "ann@example.com" {
		t.Fatalf("record = %v", rec)
	}
	me := mustGQL(t, app, token, `{ me { id } }`, nil)["me"].(map[string]any)
	if me["id"] != id {
		t.Fatalf("me = %v", me)
	}
	if r := gql(t, app, token, `mutation { userAuthRefresh { token } }`, nil); r.errCode() != "FORBIDDEN" {
		t.Fatalf("refresh: %+v", r.Errors)
	}
	// A record's token is no key to the admin API.
	if r := gql(t, admin, token, `mutation($id: ID!) { impersonate(collection: "users", recordId: $id) { token } }`, map[string]any{"id": id}); r.errCode() != "FORBIDDEN" {
		t.Fatalf("impersonate as a record: %+v", r.Errors)
	}
}
