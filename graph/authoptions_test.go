package graph_test

import (
	"encoding/json"
	"strings"
	"testing"
)

const authOptionsQuery = `query($n: String!) { collection(idOrName: $n) {
  authToken { duration } passwordAuth { enabled identityFields }
  oauth2 { enabled mappedFields { id name username avatarUrl }
    providers { name clientId clientSecretSet displayName pkce authUrl tokenUrl userInfoUrl scopes } }
  otp { enabled duration length } mfa { enabled duration rule }
  emailTemplates { verification { subject body } otp { subject body } authAlert { subject body } } } }`

const updateAuthOptions = `mutation($n: String!, $in: CollectionInput!) { updateCollection(idOrName: $n, input: $in) { id } }`

func authOptions(t *testing.T, s *server, name string) map[string]any {
	t.Helper()
	var out struct{ Collection map[string]any }
	s.mustDo(t, s.rootToken, authOptionsQuery, map[string]any{"n": name}, &out)
	return out.Collection
}

func jsonOf(v any) string { b, _ := json.Marshal(v); return string(b) }

func TestAuthOptionsDefaults(t *testing.T) {
	s := newServer(t)
	got := jsonOf(authOptions(t, s, "users"))
	want := `{"authToken":{"duration":604800},"emailTemplates":{"authAlert":null,"otp":null,"verification":null},` +
		`"mfa":{"duration":1800,"enabled":false,"rule":null},` +
		`"oauth2":{"enabled":false,"mappedFields":{"avatarUrl":null,"id":null,"name":null,"username":null},"providers":[]},` +
		`"otp":{"duration":180,"enabled":false,"length":8},"passwordAuth":{"enabled":true,"identityFields":["email"]}}`
	if got != want {
		t.Fatalf("defaults:\n got %s\nwant %s", got, want)
	}
	s.create(t, map[string]any{"name": "notes", "type": "BASE"})
	if got := jsonOf(authOptions(t, s, "notes")); !strings.Contains(got, `"authToken":null`) || !strings.Contains(got, `"oauth2":null`) {
		t.Fatalf("a BASE collection has auth options: %s", got)
	}
}

func TestAuthOptionsRoundTripAndSecrets(t *testing.T) {
	s := newServer(t)
	in := map[string]any{
		"name": "users", "type": "AUTH",
		"fields":    []any{map[string]any{"name": "name", "type": "TEXT"}},
		"authToken": map[string]any{"duration": 3600},
		"oauth2": map[string]any{"enabled": true, "mappedFields": map[string]any{"name": "name"},
			"providers": []any{
				map[string]any{"name": "github", "clientId": "gh-id", "clientSecret": "gh-secret"},
				map[string]any{"name": "corp", "clientId": "c-id", "clientSecret": "c-secret", "displayName": "Corp SSO",
					"authUrl": "https://sso.example.com/auth", "tokenUrl": "https://sso.example.com/token",
					"userInfoUrl": "https://sso.example.com/me", "scopes": []any{"openid", "email"}},
			}},
		"otp":            map[string]any{"enabled": true, "length": 6},
		"mfa":            map[string]any{"enabled": true, "rule": "verified = true"},
		"emailTemplates": map[string]any{"otp": map[string]any{"subject": "Your code", "body": "Code: {OTP}"}},
	}
	s.mustDo(t, s.rootToken, updateAuthOptions, map[string]any{"n": "users", "in": in}, nil)
	got := authOptions(t, s, "users")
	js := jsonOf(got)
	for _, want := range []string{
		`"authToken":{"duration":3600}`, `"otp":{"duration":180,"enabled":true,"length":6}`,
		`"mfa":{"duration":1800,"enabled":true,"rule":"verified = true"}`,
		`"otp":{"body":"Code: {OTP}","subject":"Your code"}`,
		`{"authUrl":null,"clientId":"gh-id","clientSecretSet":true,"displayName":null,"name":"github","pkce":true`,
		`"displayName":"Corp SSO"`, `"scopes":["openid","email"]`, `"mappedFields":{"avatarUrl":null,"id":null,"name":"name","username":null}`,
	} {
		if !strings.Contains(js, want) {
			t.Errorf("missing %s in %s", want, js)
		}
	}
	if strings.Contains(js, "secret\"") || strings.Contains(js, "gh-secret") {
		t.Fatalf("a secret is readable: %s", js)
	}

	// An update that leaves the secret out keeps it; one that leaves the
	// whole group out keeps the group.
	in["oauth2"].(map[string]any)["providers"] = []any{map[string]any{"name": "github", "clientId": "gh-id-2"}}
	s.mustDo(t, s.rootToken, updateAuthOptions, map[string]any{"n": "users", "in": in}, nil)
	c, err := s.db.Collection("users")
	if err != nil {
		t.Fatal(err)
	}
	if p := c.AuthOpts().OAuth2.Provider("github"); p == nil || p.ClientSecret != "gh-secret" || p.ClientID != "gh-id-2" {
		t.Fatalf("provider after update = %+v", p)
	}
	delete(in, "oauth2")
	delete(in, "otp")
	s.mustDo(t, s.rootToken, updateAuthOptions, map[string]any{"n": "users", "in": in}, nil)
	if c, _ = s.db.Collection("users"); !c.AuthOpts().OAuth2.Enabled || !c.AuthOpts().OTP.Enabled || c.AuthOpts().OTP.Length != 6 {
		t.Fatalf("groups left out changed: %+v %+v", c.AuthOpts().OAuth2, c.AuthOpts().OTP)
	}
}

func TestAuthOptionsInvalid(t *testing.T) {
	s := newServer(t)
	in := map[string]any{
		"name": "users", "type": "AUTH",
		"authToken":    map[string]any{"duration": 0},
		"passwordAuth": map[string]any{"identityFields": []any{"nickname"}},
		"oauth2": map[string]any{"providers": []any{
			map[string]any{"name": "corp", "clientId": "x"},
			map[string]any{"name": "Bad Name", "clientId": ""},
		}},
		"otp":            map[string]any{"length": 2},
		"emailTemplates": map[string]any{"otp": map[string]any{"subject": "a\nb", "body": ""}},
	}
	e := s.mustFail(t, s.rootToken, updateAuthOptions, map[string]any{"n": "users", "in": in}, "BAD_USER_INPUT")
	for _, k := range []string{"authToken.duration", "passwordAuth.identityFields", "oauth2.providers.0.authUrl",
		"oauth2.providers.0.tokenUrl", "oauth2.providers.0.userInfoUrl", "oauth2.providers.1.name", "oauth2.providers.1.clientId",
		"otp.length", "emailTemplates.otp.subject", "emailTemplates.otp.body"} {
		if _, ok := e.Extensions.Fields[k]; !ok {
			t.Errorf("no error for %s in %+v", k, e.Extensions.Fields)
		}
	}
	// Nothing changed.
	if got := jsonOf(authOptions(t, s, "users")); !strings.Contains(got, `"authToken":{"duration":604800}`) {
		t.Fatalf("a refused update changed the options: %s", got)
	}
}
