package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/monobase/monobase/internal/testdb"
)

// TestBlog builds the example, runs `serve` on a fresh data folder and
// uses it over HTTP: the hook's slug and spam refusal, publishPost under
// the update rule, the route, introspection and the app's command.
func TestBlog(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "blog")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	data := filepath.Join(dir, "data")
	// On a PostgreSQL test run (MONOBASE_TEST_DB), --db comes from MONOBASE_DB.
	env := os.Environ()
	if u := testdb.URL(t, data); u != "" {
		env = append(env, "MONOBASE_DB="+u)
	}
	command := func(args ...string) *exec.Cmd {
		c := exec.Command(bin, args...)
		c.Env = env
		return c
	}
	if out, err := command("superuser", "upsert", "admin@example.com", "admin-password", "--dir", data).CombinedOutput(); err != nil {
		t.Fatalf("superuser: %v\n%s", err, out)
	}
	out, err := command("stats").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "feed.json") {
		t.Fatalf("blog stats: %v\n%s", err, out)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	var logs bytes.Buffer
	srv := command("serve", "--http", addr, "--dir", data)
	srv.Stdout, srv.Stderr = &logs, &logs
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Process.Kill(); srv.Wait() })
	base := "http://" + addr
	for i := 0; ; i++ {
		if res, err := http.Get(base + "/health"); err == nil {
			res.Body.Close()
			break
		}
		if i > 200 {
			t.Fatalf("the server did not start:\n%s", logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}

	gql := func(path, token, query string, vars map[string]any) (data map[string]any, errs []map[string]any) {
		t.Helper()
		body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
		req, _ := http.NewRequest(http.MethodPost, base+path, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var out struct {
			Data   map[string]any   `json:"data"`
			Errors []map[string]any `json:"errors"`
		}
		if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
			t.Fatal(err)
		}
		return out.Data, out.Errors
	}
	code := func(errs []map[string]any) string {
		if len(errs) == 0 {
			return ""
		}
		ext, _ := errs[0]["extensions"].(map[string]any)
		c, _ := ext["code"].(string)
		return c
	}

	d, errs := gql("/graphql", "", `mutation { createPost(input: {title: "Hello, World!"}) { id slug published } }`, nil)
	if len(errs) > 0 {
		t.Fatalf("createPost: %v\n%s", errs, logs.String())
	}
	post := d["createPost"].(map[string]any)
	if post["slug"] != "hello-world" || post["published"] == true {
		t.Fatalf("created %v, want the slug hello-world, not published", post)
	}
	id := post["id"].(string)

	_, errs = gql("/graphql", "", `mutation { createPost(input: {title: "Cheap SPAM"}) { id } }`, nil)
	if code(errs) != "BAD_USER_INPUT" || !strings.Contains(fmt.Sprint(errs[0]["message"]), "no spam") {
		t.Fatalf("spam: %v, want BAD_USER_INPUT no spam", errs)
	}
	if d, _ := gql("/graphql", "", `{ postsAggregate { count } }`, nil); fmt.Sprint(d["postsAggregate"]) != "map[count:1]" {
		t.Fatalf("posts after the refused one: %v", d)
	}

	// A guest may not publish: the update rule wants a signed-in caller.
	if _, errs = gql("/graphql", "", `mutation($id: ID!) { publishPost(id: $id) { id } }`, map[string]any{"id": id}); len(errs) == 0 {
		t.Fatal("a guest published a post")
	}
	d, errs = gql("/graphql/admin", "", `mutation { authWithPassword(email: "admin@example.com", password: "admin-password") { token } }`, nil)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	token := d["authWithPassword"].(map[string]any)["token"].(string)
	d, errs = gql("/graphql", token, `mutation($id: ID!) { publishPost(id: $id) { slug published } }`, map[string]any{"id": id})
	if len(errs) > 0 || fmt.Sprint(d["publishPost"]) != "map[published:true slug:hello-world]" {
		t.Fatalf("publishPost as a superuser: %v %v", d, errs)
	}

	res, err := http.Get(base + "/feed.json")
	if err != nil {
		t.Fatal(err)
	}
	var feed []map[string]any
	json.NewDecoder(res.Body).Decode(&feed)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || len(feed) != 1 || feed[0]["slug"] != "hello-world" {
		t.Fatalf("GET /feed.json = %d %v", res.StatusCode, feed)
	}

	d, _ = gql("/graphql", "", `{ __type(name: "Mutation") { fields { name } } }`, nil)
	if !strings.Contains(fmt.Sprint(d), "publishPost") {
		t.Fatalf("publishPost is not in the introspection: %v", d)
	}
}
