package server

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"testing"
)

// signUp creates a users record through the public API and returns its id
// and token.
func signUp(t *testing.T, base, email string) (id, token string) {
	t.Helper()
	mustGQL(t, base+"/graphql", "", `mutation($e: String!) { createUser(input: {email: $e, password: "secret-pass-1", passwordConfirm: "secret-pass-1"}) { id } }`,
		map[string]any{"e": email})
	data := mustGQL(t, base+"/graphql", "", `mutation($e: String!) { userAuthWithPassword(identity: $e, password: "secret-pass-1") { token record { id } } }`,
		map[string]any{"e": email})
	a := data["userAuthWithPassword"].(map[string]any)
	return a["record"].(map[string]any)["id"].(string), a["token"].(string)
}

// fileToken asks the application API for a file token.
func fileToken(t *testing.T, base, token string) string {
	t.Helper()
	data := mustGQL(t, base+"/graphql", token, `mutation { fileToken }`, nil)
	return data["fileToken"].(string)
}

func TestProtectedFiles(t *testing.T) {
	dir := t.TempDir()
	mustCLI(t, "--dir", dir, "superuser", "upsert", "admin@example.com", "admin-password")
	srv, _ := startServer(t, dir)
	base := srv.URL()
	admin := signIn(t, base, "admin@example.com", "admin-password")
	owned := "owner = @request.auth.id"
	mustGQL(t, base+"/graphql/admin", admin, `mutation($in: CollectionInput!) { createCollection(input: $in) { id } }`,
		map[string]any{"in": map[string]any{
			"name": "docs", "listRule": owned, "viewRule": owned, "createRule": owned,
			"fields": []any{
				map[string]any{"name": "owner", "type": "RELATION", "collection": "users", "required": true},
				map[string]any{"name": "file", "type": "FILE", "protected": true, "maxSelect": 1},
			},
		}})
	ownerID, ownerToken := signUp(t, base, "owner@example.com")
	_, otherToken := signUp(t, base, "other@example.com")

	// Upload through the GraphQL multipart request spec.
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	ops, _ := json.Marshal(map[string]any{
		"query":     `mutation($f: Upload, $o: ID!) { createDoc(input: {owner: $o, file: $f}) { file { url } } }`,
		"variables": map[string]any{"f": nil, "o": ownerID},
	})
	_ = w.WriteField("operations", string(ops))
	_ = w.WriteField("map", `{"0": ["variables.f"]}`)
	part, _ := w.CreateFormFile("0", "secret.txt")
	_, _ = io.WriteString(part, "top secret")
	_ = w.Close()
	req, _ := http.NewRequest(http.MethodPost, base+"/graphql", &body)
	req.Header.Set("Content-Type", w.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+ownerToken)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(res.Body)
	res.Body.Close()
	var created struct {
		Data struct {
			CreateDoc struct{ File struct{ URL string } }
		}
	}
	if err := json.Unmarshal(raw, &created); err != nil || created.Data.CreateDoc.File.URL == "" {
		t.Fatalf("upload: status %d, %s", res.StatusCode, raw)
	}
	fileURL := base + created.Data.CreateDoc.File.URL

	get := func(t *testing.T, url string) (int, string) {
		t.Helper()
		res, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	t.Run("without a token the protected file is not found", func(t *testing.T) {
		if status, _ := get(t, fileURL); status != http.StatusNotFound {
			t.Fatalf("status = %d, want 404", status)
		}
	})
	t.Run("the owner's file token downloads it", func(t *testing.T) {
		status, got := get(t, fileURL+"?token="+fileToken(t, base, ownerToken))
		if status != http.StatusOK || got != "top secret" {
			t.Fatalf("status = %d, body %q", status, got)
		}
	})
	t.Run("another user's file token does not", func(t *testing.T) {
		if status, _ := get(t, fileURL+"?token="+fileToken(t, base, otherToken)); status != http.StatusNotFound {
			t.Fatalf("status = %d, want 404", status)
		}
	})
	t.Run("a sign-in token is not a file token", func(t *testing.T) {
		if status, _ := get(t, fileURL+"?token="+ownerToken); status != http.StatusUnauthorized {
			t.Fatalf("status = %d, want 401", status)
		}
	})
	t.Run("anonymous callers get no file token", func(t *testing.T) {
		if r := gql(t, base+"/graphql", "", `mutation { fileToken }`, nil); r.errCode() != "UNAUTHENTICATED" {
			t.Fatalf("code = %q, want UNAUTHENTICATED", r.errCode())
		}
	})
}
