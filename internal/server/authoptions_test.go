package server

import (
	"strings"
	"testing"
)

// TestAuthOptionsOnTheServer checks what needs the whole server: the MFA
// rule is compiled like every rule, and the schema export carries no
// OAuth2 client secret.
func TestAuthOptionsOnTheServer(t *testing.T) {
	dir := t.TempDir()
	mustCLI(t, "--dir", dir, "superuser", "upsert", "admin@example.com", "admin-password")
	srv, _ := startServer(t, dir)
	admin := srv.URL() + "/graphql/admin"
	token := signIn(t, srv.URL(), "admin@example.com", "admin-password")
	const update = `mutation($in: CollectionInput!) { updateCollection(idOrName: "users", input: $in) { id } }`

	res := gql(t, admin, token, update, map[string]any{"in": map[string]any{"name": "users", "type": "AUTH",
		"mfa": map[string]any{"enabled": true, "rule": "nosuchfield = 1"}}})
	if res.errCode() != "BAD_USER_INPUT" || !strings.Contains(res.Errors[0].Message, "mfa.rule") {
		t.Fatalf("a bad MFA rule: %+v", res.Errors)
	}

	mustGQL(t, admin, token, update, map[string]any{"in": map[string]any{"name": "users", "type": "AUTH",
		"mfa":    map[string]any{"enabled": true, "rule": "verified = true"},
		"oauth2": map[string]any{"enabled": true, "providers": []any{map[string]any{"name": "github", "clientId": "gh-id", "clientSecret": "gh-secret"}}}}})
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	out := mustCLI(t, "--dir", dir, "schema", "export")
	if strings.Contains(out, "gh-secret") || !strings.Contains(out, `"clientId": "gh-id"`) || !strings.Contains(out, `"rule": "verified = true"`) {
		t.Fatalf("export:\n%s", out)
	}
}
