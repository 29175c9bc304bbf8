package main

import (
	"fmt"
	"math/rand/v2"
	"net/url"
	"strings"
	"time"
)

// gqlResponse is a GraphQL answer; errors fail the call.
type gqlResponse struct {
	Data   map[string]any             `json:"data"`
	Errors []struct{ Message string } `json:"errors"`
}

// gql runs one GraphQL operation on Monobase.
func gql(s *server, path, token, query string, vars map[string]any) (map[string]any, error) {
	var out gqlResponse
	auth := ""
	if token != "" {
		auth = "Bearer " + token
	}
	if err := call("POST", s.base+path, auth, map[string]any{"query": query, "variables": vars}, &out); err != nil {
		return nil, err
	}
	if len(out.Errors) > 0 {
		return nil, fmt.Errorf("%.80s: %s", query, out.Errors[0].Message)
	}
	return out.Data, nil
}

func runMonobase(c config, bin string) (result, error) {
	s, err := start(bin, c.env, "serve", "--http", "{addr}", "--dir", "{dir}")
	if err != nil {
		return result{}, err
	}
	defer s.stop()
	t0 := time.Now()
	data, err := gql(s, "/graphql/admin", "", `mutation($e: String!, $p: String!) { authWithPassword(email: $e, password: $p) { token } }`,
		map[string]any{"e": adminEmail, "p": adminPassword})
	if err != nil {
		return result{}, err
	}
	admin := field(data, "authWithPassword", "token")
	for _, q := range []string{
		`mutation { updateSettings(input: {rateLimits: {enabled: false}}) { rateLimits { enabled } } }`,
		`mutation { createCollection(input: {name: "bench_users", listRule: "", viewRule: "", createRule: "", updateRule: "", deleteRule: "",
			fields: [{name: "name", type: TEXT, required: true}, {name: "bio", type: TEXT}]}) { id } }`,
		`mutation { createCollection(input: {name: "bench_posts", listRule: "", viewRule: "", createRule: "", updateRule: "", deleteRule: "",
			fields: [{name: "title", type: TEXT, required: true}, {name: "body", type: EDITOR},
				{name: "views", type: NUMBER, onlyInt: true}, {name: "published", type: BOOL},
				{name: "author", type: RELATION, collection: "bench_users", maxSelect: 1}]}) { id } }`,
	} {
		if _, err := gql(s, "/graphql/admin", admin, q, nil); err != nil {
			return result{}, err
		}
	}
	users := make([]string, c.users)
	if err := parallel(c.users, func(i int) error {
		d, err := gql(s, "/graphql", "", `mutation($n: String!) { createBenchUser(input: {name: $n, bio: "Writes benchmark posts."}) { id } }`,
			map[string]any{"n": fmt.Sprintf("User %d", i)})
		if err == nil {
			users[i] = field(d, "createBenchUser", "id")
		}
		return err
	}); err != nil {
		return result{}, fmt.Errorf("seed users: %w", err)
	}
	posts := make([]string, c.posts)
	if err := parallel(c.posts, func(i int) error {
		d, err := gql(s, "/graphql", "", `mutation($t: String!, $b: String!, $v: Int!, $p: Boolean!, $a: ID!) {
			createBenchPost(input: {title: $t, body: $b, views: $v, published: $p, author: $a}) { id } }`, postVars(i, users))
		if err == nil {
			posts[i] = field(d, "createBenchPost", "id")
		}
		return err
	}); err != nil {
		return result{}, fmt.Errorf("seed posts: %w", err)
	}
	if err := parallel(c.posts, func(i int) error {
		_, err := gql(s, "/graphql", "", `query($id: ID!) { benchPost(id: $id) { id title views published created } }`, map[string]any{"id": posts[i]})
		return err
	}); err != nil {
		return result{}, fmt.Errorf("read by id: %w", err)
	}
	if err := parallel(c.posts/50, func(i int) error {
		_, err := gql(s, "/graphql", "", `query($o: Int!) { benchPosts(limit: 50, offset: $o) { id title views published author { id name } } }`,
			map[string]any{"o": i * 50})
		return err
	}); err != nil {
		return result{}, fmt.Errorf("pages: %w", err)
	}
	r := result{seconds: time.Since(t0).Seconds()}
	if r.median, r.last, err = idleRSS(s.cmd.Process.Pid, c.idle); err != nil {
		return result{}, err
	}
	r.runtime, err = goMemory(s, admin)
	return r, err
}

// field is data[root][name] as a string ("" when missing).
func field(data map[string]any, root, name string) string {
	obj, _ := data[root].(map[string]any)
	s, _ := obj[name].(string)
	return s
}

// postVars are the fields of post i, the same on both servers.
func postVars(i int, users []string) map[string]any {
	rnd := rand.New(rand.NewPCG(uint64(i), 2))
	return map[string]any{"t": fmt.Sprintf("Post %d", i), "b": fmt.Sprintf("<p>Some body text for post %d.</p>", i),
		"v": rnd.IntN(10000), "p": i%2 == 0, "a": users[rnd.IntN(len(users))]}
}

// goMemory reads the Go runtime's memory gauges from Monobase's /metrics.
func goMemory(s *server, token string) (string, error) {
	body, err := send("GET", s.base+"/metrics", "Bearer "+token, nil)
	if err != nil {
		return "", err
	}
	res := string(body)
	want := []struct{ metric, label string }{
		{"go_memstats_heap_inuse_bytes", "heap-inuse"},
		{"go_memstats_heap_idle_bytes", "heap-idle"},
		{"go_memstats_heap_released_bytes", "released"},
		{"go_memstats_stack_inuse_bytes", "stacks"},
		{"go_memstats_sys_bytes", "sys"},
		{"go_goroutines", "goroutines"},
	}
	var parts []string
	for _, w := range want {
		for _, line := range strings.Split(res, "\n") {
			if v, ok := strings.CutPrefix(line, w.metric+" "); ok {
				var f float64
				fmt.Sscan(v, &f)
				if w.label == "goroutines" {
					parts = append(parts, fmt.Sprintf("%s %.0f", w.label, f))
				} else {
					parts = append(parts, fmt.Sprintf("%s %.1f", w.label, f/(1<<20)))
				}
			}
		}
	}
	return strings.Join(parts, ", "), nil
}

func runPocketBase(c config, bin string) (result, error) {
	s, err := start(bin, nil, "serve", "--http", "{addr}", "--dir", "{dir}")
	if err != nil {
		return result{}, err
	}
	defer s.stop()
	t0 := time.Now()
	var auth struct{ Token string }
	if err := call("POST", s.base+"/api/collections/_superusers/auth-with-password", "",
		map[string]string{"identity": adminEmail, "password": adminPassword}, &auth); err != nil {
		return result{}, err
	}
	var usersColl struct{ ID string }
	if err := call("POST", s.base+"/api/collections", auth.Token, openRules(map[string]any{"name": "bench_users", "type": "base",
		"fields": []map[string]any{{"name": "name", "type": "text", "required": true}, {"name": "bio", "type": "text"}}}), &usersColl); err != nil {
		return result{}, err
	}
	if err := call("POST", s.base+"/api/collections", auth.Token, openRules(map[string]any{"name": "bench_posts", "type": "base",
		"fields": []map[string]any{{"name": "title", "type": "text", "required": true}, {"name": "body", "type": "editor"},
			{"name": "views", "type": "number", "onlyInt": true}, {"name": "published", "type": "bool"},
			{"name": "author", "type": "relation", "collectionId": usersColl.ID, "maxSelect": 1},
			{"name": "created", "type": "autodate", "onCreate": true}, {"name": "updated", "type": "autodate", "onCreate": true, "onUpdate": true}}}), nil); err != nil {
		return result{}, err
	}
	users := make([]string, c.users)
	if err := parallel(c.users, func(i int) error {
		var rec struct{ ID string }
		err := call("POST", s.base+"/api/collections/bench_users/records", "",
			map[string]any{"name": fmt.Sprintf("User %d", i), "bio": "Writes benchmark posts."}, &rec)
		users[i] = rec.ID
		return err
	}); err != nil {
		return result{}, fmt.Errorf("seed users: %w", err)
	}
	posts := make([]string, c.posts)
	if err := parallel(c.posts, func(i int) error {
		v := postVars(i, users)
		var rec struct{ ID string }
		err := call("POST", s.base+"/api/collections/bench_posts/records", "",
			map[string]any{"title": v["t"], "body": v["b"], "views": v["v"], "published": v["p"], "author": v["a"]}, &rec)
		posts[i] = rec.ID
		return err
	}); err != nil {
		return result{}, fmt.Errorf("seed posts: %w", err)
	}
	if err := parallel(c.posts, func(i int) error {
		return call("GET", s.base+"/api/collections/bench_posts/records/"+posts[i]+"?fields=id,title,views,published,created", "", nil, nil)
	}); err != nil {
		return result{}, fmt.Errorf("read by id: %w", err)
	}
	if err := parallel(c.posts/50, func(i int) error {
		q := url.Values{"page": {fmt.Sprint(i + 1)}, "perPage": {"50"}, "skipTotal": {"1"}, "expand": {"author"},
			"fields": {"id,title,views,published,expand.author.id,expand.author.name"}}
		return call("GET", s.base+"/api/collections/bench_posts/records?"+q.Encode(), "", nil, nil)
	}); err != nil {
		return result{}, fmt.Errorf("pages: %w", err)
	}
	r := result{seconds: time.Since(t0).Seconds()}
	r.median, r.last, err = idleRSS(s.cmd.Process.Pid, c.idle)
	return r, err
}

// openRules sets the five rules of the PocketBase collection c to "" (open
// to all, as the Monobase collections are) and returns c.
func openRules(c map[string]any) map[string]any {
	for _, r := range []string{"listRule", "viewRule", "createRule", "updateRule", "deleteRule"} {
		c[r] = ""
	}
	return c
}
